#include "core/arch/aarch64/el2_sleep.hpp"

#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"

namespace bulkhead::arch {
namespace {

// CNTHP_TVAL_EL2 is a signed 32-bit down-counter: longer waits take several rounds.
constexpr uint64_t longest_timer_ticks = 0x7fffffff;

}  // namespace

void sleep_until(const PlatformInfo& platform, uint64_t deadline) {
  const uint64_t redistributor = platform.gic.present ? gic::this_cpu_redistributor(platform.gic) : 0;
  if (!platform.timer.present || redistributor == 0) {
    while (counter() < deadline) asm volatile("yield");
    return;
  }
  const uint32_t timer_intid = Intid::from_dt_ppi(platform.timer.hypervisor_ppi).value();
  uint64_t daif = 0;
  asm volatile("mrs %0, daif\n msr daifset, #0x2" : "=r"(daif)::"memory");  // IRQs wake WFI, none is taken
  const uint32_t enables = gic::private_enables(redistributor);
  gic::set_private_enables(redistributor, Intid(timer_intid).bit());
  for (uint64_t now = counter(); now < deadline; now = counter()) {
    const uint64_t ticks = deadline - now < longest_timer_ticks ? deadline - now : longest_timer_ticks;
    sysreg::cnthp_tval_el2::write(ticks);
    sysreg::cnthp_ctl_el2::write(timer_control::enable);  // IMASK clear: the PPI asserts at the deadline
    instruction_barrier();
    wait_for_interrupt();
  }
  sysreg::cnthp_ctl_el2::write(0);  // the level PPI drops: nothing stays pending
  instruction_barrier();
  gic::set_private_enables(redistributor, enables);
  asm volatile("msr daif, %0" ::"r"(daif) : "memory");
}

}  // namespace bulkhead::arch
