// vtimer, ptimer: the EL1 timers' PPIs, forwarded by the hypervisor as hardware-backed
// virtual interrupts.
#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

constexpr uint8_t timer_priority = 0xa0;

// Made pending by software (GICR_ISPENDR0) with the timer off: delivered once, and the
// hardware-backed PPI must still work afterwards (checked by the armed step).
bool check_software_pending(timer::Kind kind, uint32_t ppi, gic::IrqRecord& r) {
  const uint32_t software_before = r.count[ppi];
  timer::set_control(kind, 0);
  write32(gic::sgi_frame(0) + gic::ispendr, 1u << ppi);
  irqs_on();
  const bool software_taken = wait_change(r.count[ppi], software_before, 200000);
  delay_us(500);
  irqs_off();
  return expect_hex("interrupts after GICR_ISPENDR0 with the timer off", since(r.count[ppi], software_before),
                    software_taken ? 1 : 0) &&
         expect_hex("PPI made pending by GICR_ISPENDR0 taken", software_taken ? 1 : 0, 1);
}

// Masked (IMASK): the condition shows in ISTATUS but nothing is delivered.
bool check_masked(timer::Kind kind, uint32_t ppi, const gic::IrqRecord& r) {
  timer::set_timer(kind, 0);
  timer::set_control(kind, timer::ctl_enable | timer::ctl_imask);
  const uint32_t masked_before = r.count[ppi];
  irqs_on();
  delay_us(500);
  const uint64_t masked_control = timer::control(kind);
  irqs_off();
  timer::set_control(kind, 0);
  return expect_hex("CTL with IMASK and the condition met (ENABLE|IMASK|ISTATUS)", masked_control, 7) &&
         expect_hex("interrupts taken while IMASK was set", since(r.count[ppi], masked_before), 0);
}

// When the interrupt was taken, in the timer's own count: the handler's stamp is CNTVCT;
// for the physical timer add CNTPCT - CNTVCT (constant; its upper bound, so that a
// reading error never makes the interrupt look early).
uint64_t taken_at(timer::Kind kind, const gic::IrqRecord& r, uint32_t ppi) {
  uint64_t taken = r.stamp[ppi];
  if (kind == timer::Kind::physical_timer) {
    uint64_t low = 0;
    uint64_t high = 0;
    counter_offset(low, high);
    taken += high;
  }
  return taken;
}

bool fail_with(const char* what, uint64_t first, const char* between, uint64_t second) {
  begin_fail();
  put_text(what);
  put_hex(first);
  put_text(between);
  put_hex(second);
  end_line();
  return false;
}

// Armed for 1 ms: ISTATUS clear until then, one interrupt after. Every reading is
// bracketed by counter reads, so a host that stalls this vCPU cannot fail the test.
// `elapsed`: ticks from arming to the interrupt.
bool check_armed(timer::Kind kind, uint32_t ppi, gic::IrqRecord& r, uint64_t& elapsed) {
  const uint64_t one_ms = counter_frequency() / 1000;
  const uint32_t before = r.count[ppi];
  r.timer_control = 0;
  const uint64_t start = timer::count(kind);
  timer::set_timer(kind, one_ms);
  const uint64_t written = timer::count(kind);
  timer::set_control(kind, timer::ctl_enable);
  const uint64_t armed_control = timer::control(kind);
  const uint64_t armed_count = timer::count(kind);
  const uint64_t compare = timer::compare(kind);
  irqs_on();
  const bool fired = wait_change(r.count[ppi], before, 1000000);
  irqs_off();
  timer::set_control(kind, 0);
  if ((compare < start + one_ms || compare > written + one_ms) &&
      !expect_hex("CVAL after TVAL = 1 ms (count when written + 1 ms)", compare, start + one_ms)) {
    return false;
  }
  if (armed_count < compare && !expect_hex("CTL right after arming (ENABLE, ISTATUS clear)", armed_control, timer::ctl_enable)) {
    return false;
  }
  if (!fired) return fail_with("no interrupt within 1 s of a 1 ms timer: ppi ", ppi, " count ", r.count[ppi]);
  if (!expect_hex("interrupts taken", since(r.count[ppi], before), 1) ||
      !expect_hex("CTL in the handler (ENABLE|ISTATUS)", r.timer_control & 5, 5)) {
    return false;
  }
  const uint64_t taken = taken_at(kind, r, ppi);
  if (taken < compare) return fail_with("interrupt taken before CVAL: at ", taken, " CVAL ", compare);
  elapsed = taken - start;
  if (elapsed < one_ms) return fail_with("elapsed ticks expected >= ", one_ms, " got ", elapsed);
  return expect_hex("ICC_RPR_EL1 in the handler", r.running_priority[ppi], timer_priority);
}

void timer_test(timer::Kind kind, const char* counter_name) {
  const uint32_t ppi = timer::ppi(kind);
  gic::IrqRecord& r = gic::record(0);
  gic::init_this_cpu();
  irqs_off();
  gic::enable_private(ppi, timer_priority);
  uint64_t elapsed = 0;
  if (!check_software_pending(kind, ppi, r) || !check_masked(kind, ppi, r) || !check_armed(kind, ppi, r, elapsed)) {
    return;
  }
  begin_pass();
  put_text("ppi ");
  put_decimal(ppi);
  put_text(" after ");
  put_decimal(elapsed * 1000000 / counter_frequency());
  put_text(" us of ");
  put_text(counter_name);
  put_text(" (1 ms armed), istatus set, imask respected");
  end_line();
}

}  // namespace

void test_vtimer() {
  // The hypervisor offsets the virtual counter per partition (CNTVOFF_EL2): at the first
  // instruction it was small, and behind the physical one.
  const uint64_t limit = 10 * counter_frequency();
  if (entry_counters[1] >= limit || entry_counters[1] > entry_counters[0]) {
    begin_fail();
    put_text("CNTVCT at entry expected < 10 s and <= CNTPCT ");
    put_hex(entry_counters[0]);
    put_text(" got ");
    put_hex(entry_counters[1]);
    end_line();
    return;
  }
  timer_test(timer::Kind::virtual_timer, "CNTVCT");
}

void test_ptimer() { timer_test(timer::Kind::physical_timer, "CNTPCT"); }

// suspend: PSCI CPU_SUSPEND is a wait for interrupt. With IRQs masked in PSTATE (as an
// idle loop calls it) it returns once the armed virtual timer's interrupt is pending,
// not at once; the interrupt is then taken when PSTATE unmasks it.
void test_suspend() {
  constexpr auto kind = timer::Kind::virtual_timer;
  const uint32_t ppi = timer::ppi(kind);
  gic::IrqRecord& r = gic::record(0);
  gic::init_this_cpu();
  irqs_off();
  gic::enable_private(ppi, timer_priority);
  EXPECT_SIGNED("PSCI_FEATURES(CPU_SUSPEND): original power_state format", psci::hvc(psci::features, psci::cpu_suspend_64),
                psci::success);
  EXPECT_SIGNED("CPU_SUSPEND powerdown with its entry outside RAM",
                psci::hvc(psci::cpu_suspend_64, psci::power_state_powerdown, 0x10, 0), psci::invalid_address);
  const uint32_t before = r.count[ppi];
  const uint64_t start = timer::count(kind);
  timer::set_timer(kind, 2 * counter_frequency() / 1000);
  timer::set_control(kind, timer::ctl_enable);
  uint32_t calls = 0;
  int64_t status = psci::success;
  while ((timer::control(kind) & timer::ctl_istatus) == 0 && calls < 1000 && status == psci::success) {
    status = psci::hvc(psci::cpu_suspend_64, psci::power_state_standby, 0, 0);
    ++calls;
  }
  const uint64_t woke = timer::count(kind);
  irqs_on();
  const bool taken = wait_change(r.count[ppi], before, 100000);
  irqs_off();
  timer::set_control(kind, 0);
  EXPECT_SIGNED("CPU_SUSPEND (standby)", status, psci::success);
  // One call, or a few if something else woke the vCPU: never a busy loop.
  if (calls > 3) {
    begin_fail();
    put_text("CPU_SUSPEND returned ");
    put_decimal(calls);
    put_text(" times within a 2 ms timer: it does not wait for an interrupt");
    end_line();
    return;
  }
  EXPECT_HEX("timer interrupt taken after CPU_SUSPEND returned", taken ? 1 : 0, 1);
  begin_pass();
  put_text("standby woke by the vtimer after ");
  put_decimal((woke - start) * 1000000 / counter_frequency());
  put_text(" us in ");
  put_decimal(calls);
  put_text(" call(s); powerdown checks its entry");
  end_line();
}

}  // namespace probe
