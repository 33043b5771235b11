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

void arm_retry_timer(bool armed) {
  if (armed) arch::sysreg::cnthp_tval_el2::write(arch::counter_frequency() * retry_ms / 1000);
  arch::sysreg::cnthp_ctl_el2::write(armed ? arch::timer_control::enable : 0);  // IMASK clear
  arch::instruction_barrier();
}

}  // namespace

void serve_console_input(const PlatformInfo& platform, arch::Pl011Console& uart, uint32_t intid) {
  const uint64_t redistributor =
      arch::Intid(intid).is_spi() && platform.gic.present ? arch::gic::init_this_cpu(platform.gic) : 0;
  if (redistributor == 0) arch::park_forever();
  const uint32_t timer_intid = arch::Intid::from_dt_ppi(platform.timer.hypervisor_ppi).value();
  arch::gic::set_ppi_enabled(redistributor, timer_intid, platform.timer.present);
  arch::gic::route_spi(platform.gic, intid, arch::own_mpidr());
  arch::gic::enable_spi(platform.gic, intid, true);
  uart.set_receive_interrupt(true);
  asm volatile("msr daifset, #0xf");  // WFI still wakes on a pending interrupt
  uint8_t held = 0;
  bool holding = false;
  for (;;) {
    arch::wait_for_interrupt();
    const uint32_t pending = arch::gic::acknowledge();
    if (arch::Intid(pending).is_special()) continue;
    if (pending == intid || pending == timer_intid) {
      for (;;) {
        if (!holding && !uart.read_byte(held)) break;
        holding = !console_input(held);
        if (holding) break;
      }
      uart.set_receive_interrupt(!holding);
      arm_retry_timer(holding && platform.timer.present);
    }
    arch::gic::priority_drop(pending);
    arch::gic::deactivate(pending);
  }
}

}  // namespace bulkhead::boot
