#include "core/boot/el2_memory_map.hpp"

#include "core/arch/aarch64/memory.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/runtime.hpp"
#include "core/lib/log.hpp"

extern "C" char _start[];
extern "C" char _end[];

namespace bulkhead::boot {
namespace {

constexpr uint64_t block_2m = 2ull << 20;
constexpr size_t table_pages = 48;

BULKHEAD_NOINIT alignas(4096) uint64_t table_memory[table_pages][512];

class StaticPagePool final : public PagePool {
 public:
  // The early map's pages are written with the MMU off, straight to memory, and later
  // read through the cacheable map by the table walker: clean and invalidate each page
  // so that no stale line from before entry hides the zeros (and, with the MMU on, so
  // the zeros are in memory too).
  uint64_t allocate_zeroed_page() override {
    if (used_ == table_pages) return 0;
    uint64_t* page = table_memory[used_++];
    rt::fill(page, 0, sizeof(table_memory[0]));  // aligned stores: fine with the MMU off too
    arch::clean_invalidate_to_poc(page, sizeof(table_memory[0]));
    return reinterpret_cast<uint64_t>(page);
  }
  uint64_t* pointer(uint64_t physical) override { return reinterpret_cast<uint64_t*>(physical); }

 private:
  size_t used_ = 0;
};

constinit StaticPagePool pool;
constinit PageTable table(pool);

constexpr uint64_t round_down(uint64_t value, uint64_t to) { return value & ~(to - 1); }
constexpr uint64_t round_up(uint64_t value, uint64_t to) { return (value + to - 1) & ~(to - 1); }

constexpr MapAttributes image_attributes{MemoryType::normal_write_back, true, true};
constexpr MapAttributes ram_attributes{MemoryType::normal_write_back, true, false};
constexpr MapAttributes device_attributes{MemoryType::device_nGnRE, true, false};

// Maps [base, end) minus the image range, which is mapped executable on its own.
MapResult map_outside_image(uint64_t base, uint64_t end, MapAttributes attributes) {
  const AddressRange image = image_range();
  if (base < image.base) {
    const uint64_t stop = end < image.base ? end : image.base;
    const MapResult r = table.map(base, base, stop - base, attributes);
    if (r != MapResult::ok) return r;
  }
  if (end > image.end()) {
    const uint64_t start = base > image.end() ? base : image.end();
    return table.map(start, start, end - start, attributes);
  }
  return MapResult::ok;
}

bool report(MapResult result, const char* what, const AddressRange& range) {
  if (result == MapResult::ok) return true;
  log::error("el2 map {} {} size {}: {}", what, hex(range.base), hex(range.size), map_result_name(result));
  return false;
}

}  // namespace

AddressRange image_range() {
  const uint64_t base = round_down(reinterpret_cast<uint64_t>(_start), block_2m);
  return {base, round_up(reinterpret_cast<uint64_t>(_end), block_2m) - base};
}

bool build_early_map(uint64_t dtb_address, uint64_t dtb_size, uint64_t uart_base) {
  if (!table.initialise()) return false;
  const AddressRange image = image_range();
  if (table.map(image.base, image.base, image.size, image_attributes) != MapResult::ok) return false;
  if (dtb_address != 0 && dtb_size != 0) {
    const uint64_t base = round_down(dtb_address, block_2m);
    const uint64_t end = round_up(dtb_address + dtb_size, block_2m);
    if (map_outside_image(base, end, ram_attributes) != MapResult::ok) return false;
  }
  return table.map(round_down(uart_base, 4096), round_down(uart_base, 4096), 4096, device_attributes) == MapResult::ok;
}

MmuSettings mmu_settings() {
  // Physical address size from the CPU, capped at the 48 bits our tables produce.
  uint64_t pa_range = arch::sysreg::id_aa64mmfr0_el1::read() & 0xf;
  if (pa_range > 5) pa_range = 5;
  const uint64_t tcr = (64 - PageTable::input_bits)  // T0SZ
                       | (1ull << 8) | (1ull << 10)   // inner/outer write-back walks
                       | (3ull << 12)                 // inner shareable
                       | (pa_range << 16)             // PS
                       | (1ull << 23) | (1ull << 31); // RES1
  return {mair_value, tcr, table.root()};
}

bool map_ram(const AddressRange& range, const char* what) {
  const uint64_t base = round_down(range.base, 4096);
  const uint64_t end = round_up(range.end(), 4096);
  const bool ok = report(map_outside_image(base, end, ram_attributes), what, range);
  arch::data_barrier();
  arch::instruction_barrier();
  return ok;
}

bool map_device(const AddressRange& range, const char* what) {
  const uint64_t base = round_down(range.base, 4096);
  const uint64_t end = round_up(range.end(), 4096);
  const bool ok = report(table.map(base, base, end - base, device_attributes), what, range);
  arch::data_barrier();
  arch::instruction_barrier();
  return ok;
}

}  // namespace bulkhead::boot
