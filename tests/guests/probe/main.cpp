// The probe guest: reads /chosen/bootargs and runs the tests `probe.tests=a,b,c` names,
// in that order, on vCPU 0. See tests/README.md for the bootargs and the output lines.
#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"
#include "tests.hpp"
#include "timer.hpp"

extern "C" {
uint64_t entry_counters[2];
uint64_t entry_el1_controls[probe::max_vcpus][2];

// The compiler may emit calls to these even in freestanding code. Byte loops: RAM is
// Device memory with the MMU off, so no unaligned wide accesses.
void* memset(void* destination, int value, size_t size) {
  auto* d = static_cast<volatile uint8_t*>(destination);
  for (size_t i = 0; i < size; ++i) d[i] = static_cast<uint8_t>(value);
  return destination;
}

void* memcpy(void* destination, const void* source, size_t size) {
  auto* d = static_cast<volatile uint8_t*>(destination);
  const auto* s = static_cast<const volatile uint8_t*>(source);
  for (size_t i = 0; i < size; ++i) d[i] = s[i];
  return destination;
}
}

namespace probe {
namespace {

Settings current;

// QEMU starts a bare-metal ELF (the dma benchmark's plain-QEMU run, benchmarks.py) with
// x0 = 0 and its device tree at the base of RAM (hw/arm/boot.c); a partition's boot vCPU
// gets x0 = its device tree.
constexpr uint64_t qemu_virt_bare_metal_dtb = 0x40000000;

struct TestEntry {
  const char* name;
  void (*run)();
};

constexpr TestEntry all_tests[] = {
    {"smp", test_smp},
    {"vtimer", test_vtimer},
    {"ptimer", test_ptimer},
    {"suspend", test_suspend},
    {"sgi", test_sgi},
    {"gic-registers", test_gic_registers},
    {"fp", test_fp},
    {"isolation", test_isolation},
    {"exec-fault", test_exec_fault},
    {"fault-loop", test_fault_loop},
    {"reset-loop", test_reset_loop},
    {"bench", test_bench},
    {"entry", test_entry},
    {"traps", test_traps},
    {"restart-state", test_restart_state},
    {"pmu", test_pmu},
    {"actlr", test_actlr},
    {"impdef", test_impdef},
    {"set-way", test_set_way},
    {"pci-enumerate", test_pci_enumerate},
    {"pci-bars", test_pci_bars},
    {"pci-registers", test_pci_registers},
    {"pci-move", test_pci_move},
    {"pci-decode", test_pci_decode},
    {"pci-power-on", test_pci_power_on},
    {"pci-forbidden", test_pci_forbidden},
    {"pci-intx", test_pci_intx},
    {"pci-bus-master", test_pci_bus_master},
    {"pci-hold", test_pci_hold},
    {"park", test_park},
    {"msi", test_msi},
    {"msi-bench", test_msi_bench},
    {"pci-reset-dirty", test_pci_reset_dirty},
    {"dma-own", test_dma_own},
    {"dma-isolation", test_dma_isolation},
    {"dma-watch", test_dma_watch},
    {"dma-bench", test_dma_bench},
    {"console-flood", test_console_flood},
    {"console-witness", test_console_witness},
    {"cpu-on-race", test_cpu_on_race},
    {"waker-untouched", test_waker_untouched},
    {"sgi-wfi", test_sgi_wfi},
    {"disabled-pending", test_disabled_pending},
    {"level-eoi-first", test_level_eoi_first},
    {"other-vcpu-ppi", test_other_vcpu_ppi},
};

// A test name from the bootargs, kept for the result lines.
char name_buffer[32];

const char* copy_name(Text name) {
  uint32_t n = 0;
  for (; n < name.length && n + 1 < sizeof(name_buffer); ++n) name_buffer[n] = name.data[n];
  name_buffer[n] = '\0';
  return name_buffer;
}

void read_settings(uint64_t dtb) {
  current.guest = read_guest_dt(dtb);
  const char* args = current.guest.bootargs;
  current.isolation = bootarg(args, "probe.isolation");
  uint64_t value = 0;
  if (parse_number(bootarg(args, "probe.faults"), value)) current.faults = value;
  current.fault_address = current.guest.ram_base + current.guest.ram_size;
  if (parse_number(bootarg(args, "probe.fault-address"), value)) current.fault_address = value;
  if (parse_number(bootarg(args, "probe.cpus"), value)) current.guest.vcpu_count = static_cast<uint32_t>(value);
  if (parse_number(bootarg(args, "probe.reset-from"), value)) current.reset_from = static_cast<uint32_t>(value);
  current.wake_redistributors = !bootarg(args, "probe.waker").equals("untouched");
}

}  // namespace

const Settings& settings() { return current; }

void finish() {
  put_text("probe: done passed ");
  put_decimal(passed_count());
  put_text(" failed ");
  put_decimal(failed_count());
  end_line();
  psci::power_off();
}

}  // namespace probe

extern "C" [[noreturn]] void probe_main(uint64_t dtb) {
  using namespace probe;
  read_settings(dtb != 0 ? dtb : qemu_virt_bare_metal_dtb);
  timer::install_hooks();
  uint64_t sleep_ms = 0;
  if (parse_number(bootarg(current.guest.bootargs, "probe.sleep-first-ms"), sleep_ms)) sleep_first(sleep_ms);
  set_current_test("boot");
  if (!current.guest.valid) {
    begin_fail();
    put_text("no valid device tree at x0 ");
    put_hex(dtb);
    end_line();
    finish();
  }
  put_text("probe: start vcpus ");
  put_decimal(current.guest.vcpu_count);
  put_text(" ram ");
  put_hex(current.guest.ram_base);
  put_text(" size ");
  put_hex(current.guest.ram_size);
  end_line();
  Text list = bootarg(current.guest.bootargs, "probe.tests");
  if (list.empty()) fail("no probe.tests= in /chosen/bootargs");
  while (!list.empty()) {
    const Text name = next_item(list, ',');
    set_current_test(copy_name(name));
    const TestEntry* test = nullptr;
    for (const TestEntry& entry : all_tests) {
      if (name.equals(entry.name)) test = &entry;
    }
    if (test == nullptr) {
      fail("unknown test");
      continue;
    }
    test->run();
  }
  finish();
}
