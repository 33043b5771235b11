// The boot CPU's path from the first C++ instruction to the boot report.
#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/memory.hpp"
#include "core/arch/aarch64/pl011.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/console_input.hpp"
#include "core/boot/el2_memory_map.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/bootargs.hpp"
#include "core/lib/crc32.hpp"
#include "core/lib/held_lines.hpp"
#include "core/lib/log.hpp"
#include "core/lib/psci.hpp"
#include "core/lib/runtime.hpp"
#include "core/lib/version.hpp"
#include "core/platform/firmware_dt.hpp"
#include "core/platform/platform_report.hpp"
#include BULKHEAD_BOARD_HEADER

extern "C" void mmu_switch_on(uint64_t mair, uint64_t tcr, uint64_t ttbr0);
// entry.S prints early fatal errors (before any C++) on this UART.
extern "C" const uint64_t bulkhead_board_uart_base = bulkhead::board::default_uart_base;

namespace bulkhead::boot {
namespace {

constexpr uint64_t max_dtb_size = 2ull << 20;  // as Linux: a larger blob is not a DTB

constinit arch::Pl011Console console;
// The boot report waits here until the partitions have started (or a power-off, a
// crash on the boot CPU); then lines go straight to the UART. Flushed by name, not
// through log::LineSink, so that no path that logs can reach a flush of it.
constinit HeldLines<arch::Pl011Console> held_report;
BULKHEAD_NOINIT alignas(8) constinit char held_report_storage[32 * 1024];
// Filled by read_firmware_dt() (which zeroes it first) before anything reads it.
BULKHEAD_NOINIT constinit BootStorage<PlatformInfo> platform_storage;
constinit PsciConduit conduit_for_power = board::default_psci_conduit;
constinit uint64_t boot_mpidr = ~0ull;
constinit bool hold = false;
constinit BootContext context;
constinit uint32_t console_input_intid = 0;  // 0: output only

uint32_t read_be32(const volatile uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// How much to map for the DTB, read with the MMU off (byte loads only). An invalid
// header still gets one page mapped so the reader can say what is wrong with it.
uint64_t dtb_map_size(uint64_t dtb) {
  if (dtb == 0 || (dtb & 7) != 0) return 0;
  const auto* header = reinterpret_cast<const volatile uint8_t*>(dtb);
  if (read_be32(header) != 0xd00dfeed) return 4096;
  const uint64_t total = read_be32(header + 4);
  return total < 4096 ? 4096 : (total > max_dtb_size ? max_dtb_size : total);
}

const char* describe_dtb_pointer(uint64_t dtb) {
  if (dtb == 0) return "no firmware dtb: x0 is 0 at entry";
  return "firmware dtb pointer in x0 is not 8-byte aligned";
}

void attach_console(bool dt_ok) {
  const PlatformInfo& platform = platform_storage.get();
  uint64_t uart = board::default_uart_base;
  const char* source = "board-default";
  if (dt_ok && platform.uart.present) {
    uart = platform.uart.registers.base;
    source = "stdout-path";
    if (uart != board::default_uart_base && !map_device(platform.uart.registers, "uart")) {
      uart = board::default_uart_base;
      source = "board-default";
    }
  }
  console.attach(uart);
  held_report.hold(&console, held_report_storage, sizeof(held_report_storage));
  log::set_output(&held_report);
  log::fact("version {} board {}", version, board::name);
  if (source[0] == 's') {
    log::fact("console {} source {} {}", hex(uart), source, platform.uart.path.text);
    console_input_intid = platform.uart.has_spi ? arch::Intid::from_dt_spi(platform.uart.spi).value() : 0;
  } else {
    log::fact("console {} source {}", hex(uart), source);
    console_input_intid = arch::Intid::from_dt_spi(board::default_uart_spi).value();
  }
}

// RAM must be mapped: payloads are placed and partitions scrubbed through it.
bool map_platform_memory() {
  const PlatformInfo& platform = platform_storage.get();
  bool ram_mapped = true;
  for (size_t i = 0; i < platform.ram_count; ++i) ram_mapped &= map_ram(platform.ram[i], "ram");
  if (platform.gic.present) {
    map_device(platform.gic.distributor, "gic-v3 distributor");
    for (size_t i = 0; i < platform.gic.redistributor_region_count; ++i) {
      map_device(platform.gic.redistributors[i], "gic-v3 redistributors");
    }
    if (platform.gic.its_present) map_device(platform.gic.its, "gic-v3 its");
  }
  if (platform.smmu.present) map_device(platform.smmu.registers, "smmu-v3");
  for (size_t i = 0; i < platform.pcie_host_count; ++i) {
    const PcieHostInfo& host = platform.pcie_hosts[i];
    context.ecam_mapped[i] = map_device(host.ecam, "pcie ecam");
    // Its I/O space: partitions reach their functions' I/O BARs through it (vPCI).
    for (size_t w = 0; w < host.window_count; ++w) {
      if (host.windows[w].space == PciSpace::io) map_device({host.windows[w].cpu_address, host.windows[w].size}, "pcie io");
    }
  }
  return ram_mapped;
}

[[noreturn]] void run_selftest(const char* name) {
  log::fact("selftest {}", name);
  if (rt::compare_strings(name, "crash") == 0) {
    // Address 0 is never mapped at EL2: this must end in a crash report.
    const uint64_t value = *reinterpret_cast<volatile uint64_t*>(uint64_t{0});  // NOLINT(clang-analyzer-core.NullDereference): on purpose
    log::error("selftest crash: reading address 0 returned {}", hex(value));
  } else {
    log::error("unknown selftest '{}' in bulkhead.selftest", name);
  }
  power_off("selftest");
}

}  // namespace

bool is_boot_cpu() { return arch::own_mpidr() == boot_mpidr; }
bool hold_requested() { return hold; }
PsciConduit power_conduit() { return conduit_for_power; }

void power_off(const char* reason) {
  log::fact("power-off reason {}", reason);
  log::flush_output();        // the shared console's queues, into the held report if still held
  held_report.flush_output();  // the boot report, then all of that
  arch::system_off(conduit_for_power);
}

}  // namespace bulkhead::boot

extern "C" [[noreturn]] void bulkhead_stop_after_fatal(const char* reason) { bulkhead::boot::power_off(reason); }

// First C++ of the boot CPU: stack and BSS ready, MMU off, x0 from the boot loader.
extern "C" [[noreturn]] void boot_primary(uint64_t dtb) {
  using namespace bulkhead;
  using namespace bulkhead::boot;
  mark_boot_phase("entry");  // reset, firmware, the image's entry and BSS
  PlatformInfo& platform = platform_storage.get();
  boot_mpidr = arch::own_mpidr();
  const uint64_t dtb_size = dtb_map_size(dtb);
  if (!build_early_map(dtb, dtb_size, board::default_uart_base)) arch::system_off(conduit_for_power);
  const MmuSettings mmu = mmu_settings();
  mmu_switch_on(mmu.mair, mmu.tcr, mmu.ttbr0);
  use_crc32_instructions(IdAa64Isar0{BULKHEAD_READ_SYSREG(id_aa64isar0_el1)}.has_crc32());
  if (arch::dc_zva().block_bytes != 0) rt::set_block_zeroer({arch::zero_blocks, arch::dc_zva().block_bytes});

  FirmwareDtError dt_error{};
  const bool dt_ok = dtb_size != 0 && read_firmware_dt(reinterpret_cast<const void*>(dtb), dtb_size, platform, dt_error);
  mark_boot_phase("firmware-dt");  // the early map, the MMU on, the DT checked and read
  attach_console(dt_ok);
  log::fact("firmware-dtb {} size {}", hex(dtb), hex(dtb_size));
  log::fact("el 2");
  if (dtb_size == 0) {
    log::error("{}", describe_dtb_pointer(dtb));
    power_off("firmware-dtb");
  }
  if (!dt_ok) {
    log::error("firmware dtb at {}: {}", hex(dtb), dt_error.message);
    power_off("firmware-dtb");
  }
  if (platform.psci.conduit != PsciConduit::smc) {
    log::error("psci: {}; the firmware must offer PSCI through smc to a hypervisor at EL2",
               platform.psci.conduit == PsciConduit::hvc ? "method hvc cannot reach firmware from EL2" : "no /psci node");
    power_off("firmware-dtb");
  }
  conduit_for_power = platform.psci.conduit;
  if (!map_platform_memory()) power_off("el2-map");
  report_platform(platform);
  const int64_t psci_version = arch::firmware_call(conduit_for_power, psci::version);
  log::fact("psci-version {}.{}", static_cast<uint64_t>(psci_version) >> 16, static_cast<uint64_t>(psci_version) & 0xffff);
  mark_boot_phase("platform");  // the console, RAM and devices mapped, the platform report

  bool boot_cpu_listed = false;
  for (size_t i = 0; i < platform.cpu_count; ++i) boot_cpu_listed |= platform.cpus[i].mpidr == boot_mpidr;
  if (!boot_cpu_listed) {
    log::error("boot cpu mpidr {} is not listed under /cpus", hex(boot_mpidr));
    power_off("firmware-dtb");
  }
  const CpuBringUpResult cpus = bring_up_secondary_cpus(platform, boot_mpidr);
  for (size_t i = 0; i < platform.cpu_count; ++i) {
    if (cpu_is_online(i)) log::fact("cpu {} mpidr {} online", i, hex(platform.cpus[i].mpidr));
  }
  log::fact("cpus online {} of {}", cpus.online, platform.cpu_count);
  if (cpus.failed != 0) power_off("cpu-bring-up");
  mark_boot_phase("cpus");

  char selftest[32];
  if (bootarg_value(platform.bootargs, "bulkhead.selftest", selftest, sizeof(selftest))) run_selftest(selftest);
  context.platform = &platform;
  for (size_t i = 0; i < platform.cpu_count; ++i) context.cpu_online[i] = cpu_is_online(i);
  context.hypervisor_image = image_range();
  context.firmware_dtb = {dtb, dtb_size};
  if (const char* failure = run_system(context)) power_off(failure);
  report_boot_timeline();
  log::fact("boot-complete");
  hold = bootarg_present(platform.bootargs, "bulkhead.hold");
  if (hold) log::fact("hold: bulkhead.hold set, machine stays up");
  held_report.flush_output();  // the boot report, first (from here on lines go straight to the UART)
  log::flush_output();  // queued since partitions started; the console loop or a park follows
  if (partitions_running()) {
    // The partitions' CPUs take it from here; the last partition off powers off.
    if (console_input_intid != 0) {
      log::fact("boot cpu idle: partitions running; console input intid {}", console_input_intid);
    } else {
      log::fact("boot cpu idle: partitions running; console output only");
    }
    serve_system_interrupts(platform, boot::console, console_input_intid);  // not bulkhead::console
  }
  if (hold) arch::park_forever();
  power_off("done");
}
