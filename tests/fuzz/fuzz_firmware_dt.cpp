// libFuzzer target: the firmware DT reader (read_firmware_dt(): the one-pass check and
// index of core/lib/fdt_index, then every lookup through it) on arbitrary bytes, seeded
// with QEMU's DTBs. Besides memory safety and UB, it checks that the index gives
// fdt_check_full()'s verdict and that what the reader accepts respects its capacities.
#include <libfdt.h>

#include <cstring>
#include <vector>

#include "core/lib/fdt_index.hpp"
#include "core/platform/firmware_dt.hpp"
#include "fuzz_support.hpp"

namespace {

// A property whose length wraps libfdt's 32-bit offsets: the index refuses it
// (fdt_index.hpp), libfdt may not. Walked with libfdt's own steps.
bool has_wrapping_property(const void* fdt) {
  int next = 0;
  for (int offset = 0; offset >= 0; offset = next) {
    const uint32_t tag = fdt_next_tag(fdt, offset, &next);
    if (tag == FDT_END || next < 0) return false;
    if (tag == FDT_PROP) {
      const auto* length = static_cast<const fdt32_t*>(fdt_offset_ptr(fdt, offset + 4, 4));
      if (length != nullptr && uint64_t{static_cast<uint32_t>(offset)} + 12 + fdt32_ld(length) > UINT32_MAX) return true;
    }
    if (next <= offset) return false;
  }
  return false;
}

// libfdt 1.6.1's fdt_check_full() dereferences a null name (fdt_get_name() fails) when a
// tree older than version 16 has a root whose name holds no '/': that oracle cannot be
// asked. The root is the first FDT_BEGIN_NODE (a second one at depth 1 fails earlier).
bool root_name_crashes_libfdt(const void* fdt) {
  if (fdt_version(fdt) >= 0x10) return false;
  int next = 0;
  for (int offset = 0; offset >= 0; offset = next) {
    const uint32_t tag = fdt_next_tag(fdt, offset, &next);
    if (tag == FDT_END || next < 0 || next <= offset) return false;
    if (tag == FDT_BEGIN_NODE) {
      const auto* name = static_cast<const char*>(fdt_offset_ptr(fdt, offset + 4, 1));
      return name != nullptr && std::strchr(name, '/') == nullptr;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Copy blob = fuzz::exact_copy(data, size);
  static std::vector<bulkhead::fdt::IndexedNode> nodes(4096);
  bulkhead::fdt::Index index(nodes.data(), nodes.size());
  if (size >= sizeof(fdt_header)) {
    const void* fdt = blob.bytes.get();
    const int indexed = index.build(fdt, size);
    // (The libfdt walks below only over a header that fits.)
    const bool walkable = fdt_check_header(fdt) == 0 && fdt_totalsize(fdt) <= size;
    if (walkable && root_name_crashes_libfdt(fdt)) {
      if (indexed == 0) fuzz::invariant_failed("fdt::Index accepts an old tree whose root name has no '/'");
    } else {
      const int expected = fdt_check_full(fdt, size);
      if (indexed != expected && !(indexed == -FDT_ERR_BADSTRUCTURE && walkable && has_wrapping_property(fdt))) {
        fuzz::invariant_failed("fdt::Index and fdt_check_full() disagree");
      }
    }
  }
  static bulkhead::PlatformInfo platform;
  bulkhead::FirmwareDtError error;
  if (bulkhead::read_firmware_dt(blob.bytes.get(), size, platform, error)) {
    if (platform.ram_count == 0 || platform.ram_count > bulkhead::max_ram_ranges) fuzz::invariant_failed("RAM ranges");
    if (platform.cpu_count == 0 || platform.cpu_count > bulkhead::max_cpus) fuzz::invariant_failed("CPU count");
    if (platform.pcie_host_count > bulkhead::max_pcie_hosts) fuzz::invariant_failed("host bridges");
  } else if (error.message[0] == '\0') {
    fuzz::invariant_failed("a refused DTB without a message");
  }
  return 0;
}
