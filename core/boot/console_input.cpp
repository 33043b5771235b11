#include "core/boot/console_input.hpp"

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/system.hpp"

namespace bulkhead::boot {
namespace {

constexpr uint64_t retry_ms = 1;

// The EL2 timer: `ms` from now, or off (0).
void arm_timer(uint64_t ms) {
  if (ms != 0) arch::sysreg::cnthp_tval_el2::write(arch::counter_frequency() * ms / 1000);
  arch::sysreg::cnthp_ctl_el2::write(ms != 0 ? arch::timer_control::enable : 0);  // IMASK clear
  arch::instruction_barrier();
}

bool is_device_interrupt(const DeviceInterrupts& devices, uint32_t intid) {
  for (size_t i = 0; i < devices.count; ++i) {
    if (devices.intids[i] == intid) return true;
  }
  return false;
}

}  // namespace

void serve_system_interrupts(const PlatformInfo& platform, arch::Pl011Console& uart, uint32_t console_intid) {
  const uint64_t redistributor = platform.gic.present ? arch::gic::init_this_cpu(platform.gic) : 0;
  if (redistributor == 0) arch::park_forever();
  const uint32_t timer_intid = arch::Intid::from_dt_ppi(platform.timer.hypervisor_ppi).value();
  arch::gic::set_ppi_enabled(redistributor, timer_intid, platform.timer.present);
  const bool console = arch::Intid(console_intid).is_spi();
  if (console) {
    arch::gic::route_spi(platform.gic, console_intid, arch::own_mpidr());
    arch::gic::enable_spi(platform.gic, console_intid, true);
    uart.set_receive_interrupt(true);
  }
  const DeviceInterrupts devices = device_interrupts();
  for (size_t i = 0; i < devices.count; ++i) {
    arch::gic::enable_spi(platform.gic, devices.intids[i], false);
    arch::gic::set_spi_edge(platform.gic, devices.intids[i], devices.edge[i]);
    arch::gic::route_spi(platform.gic, devices.intids[i], arch::own_mpidr());
    arch::gic::enable_spi(platform.gic, devices.intids[i], true);
  }
  // An edge the device sent before its SPI was set up here is lost, and an SMMU signals
  // only a queue going non-empty: serve once now, so nothing waits for the next edge.
  if (devices.count != 0) handle_device_interrupt(0);
  const uint64_t poll_ms = platform.timer.present ? devices.poll_ms : 0;
  asm volatile("msr daifset, #0xf");  // WFI still wakes on a pending interrupt
  arm_timer(poll_ms);
  uint8_t held = 0;
  bool holding = false;
  bool retrying = false;  // the timer runs at retry_ms for held input or console work
  for (;;) {
    // Console output first, one line at a time, with the interrupts looked at in between.
    const ConsoleWork work = console_work();
    if (work != ConsoleWork::more) arch::wait_for_interrupt();
    const bool retry = holding || work == ConsoleWork::retry_soon;
    if (retry != retrying && platform.timer.present) {
      retrying = retry;
      arm_timer(retry ? retry_ms : poll_ms);
    }
    const uint32_t pending = arch::gic::acknowledge();
    if (arch::Intid(pending).is_special()) continue;
    if (is_device_interrupt(devices, pending)) handle_device_interrupt(pending);
    if (pending == timer_intid && poll_ms != 0) handle_device_interrupt(0);
    if (console && (pending == console_intid || pending == timer_intid)) {
      for (;;) {
        if (!holding && !uart.read_byte(held)) break;
        holding = !console_input(held);
        if (holding) break;
      }
      uart.set_receive_interrupt(!holding);
    }
    if (pending == timer_intid) arm_timer(retrying && platform.timer.present ? retry_ms : poll_ms);
    arch::gic::priority_drop(pending);
    arch::gic::deactivate(pending);
  }
}

}  // namespace bulkhead::boot
