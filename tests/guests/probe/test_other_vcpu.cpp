// Issue 17's cases where one vCPU acts on another (tests/configs/probe-delivery.dts):
// - other-vcpu-ppi: vCPU 0 enables, disables, clears the pending and the active state of
//   vCPU 1's virtual timer PPI through vCPU 1's redistributor, and reads its pending
//   state; each takes effect on vCPU 1's timer exactly as the guest asked.
// - cpu-on-race: vCPUs 0 and 1 call PSCI CPU_ON for vCPU 2 at the same moment, round
//   after round: exactly one gets SUCCESS, the other ALREADY_ON or ON_PENDING (PSCI 1.1),
//   and vCPU 2 starts once, with the winner's context id.
#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"
#include "smp.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

constexpr uint8_t test_priority = 0xa0;
constexpr uint64_t wait_us = 1000000;  // must arrive: see test_delivery.cpp
constexpr uint64_t quiet_us = 5000;
constexpr uint32_t target = 1;  // the vCPU whose PPI vCPU 0 changes
constexpr uint32_t ppi = gic::virtual_timer_ppi;
constexpr uint32_t ppi_bit = 1u << ppi;

uint64_t target_frame() { return gic::sgi_frame(target); }

// Run on the target vCPU (smp::Command::call).
void own_timer_fire_now() {
  timer::set_timer(timer::Kind::virtual_timer, 0);
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_enable);
}
void own_timer_disable_ppi() { gic::disable_private(ppi); }
void own_eoimode_1() {
  PROBE_WRITE_SYSREG(ICC_CTLR_EL1, 2);
  isb();
}
void own_eoimode_0() {
  PROBE_WRITE_SYSREG(ICC_CTLR_EL1, 0);
  isb();
}
// A trapped access: the vCPU exits, so what its guest did in its list registers is known.
void own_trapped_read() { (void)read32(gic::rd_base(target) + gic::gicr_ctlr); }

bool on_target(void (*function)()) {
  if (smp::run(target, smp::Command::call, reinterpret_cast<uint64_t>(function))) return true;
  fail("vcpu 1 did not finish a call within 1 s");
  return false;
}

uint32_t target_count() { return gic::record(target).count[ppi]; }

bool arrives(const char* what, uint32_t before) {
  const bool arrived = wait_change(gic::record(target).count[ppi], before, wait_us);
  if (!arrived) {
    // Late or lost: a second chance tells which, and what the redistributor says.
    const uint32_t bits = read32(target_frame() + gic::ispendr) & ppi_bit;
    const uint32_t enabled = read32(target_frame() + gic::isenabler) & ppi_bit;
    const uint32_t active = read32(target_frame() + gic::isactiver) & ppi_bit;
    const bool late = wait_change(gic::record(target).count[ppi], before, 2000000);
    begin_note();
    put_text(what);
    put_text(": not taken within 1 s; pending ");
    put_hex(bits);
    put_text(" enabled ");
    put_hex(enabled);
    put_text(" active ");
    put_hex(active);
    put_text(late ? ", taken within 2 s more" : ", not taken within 2 s more");
    end_line();
  }
  delay_us(quiet_us);
  return expect_hex(what, since(gic::record(target).count[ppi], before), arrived ? 1 : 0) &&
         expect_hex(what, arrived ? 1 : 0, 1);
}

// vCPU 1 disables its own PPI 27 and meets the timer's condition; vCPU 0 sees it pending
// and enables it: vCPU 1 takes it.
bool check_enable() {
  if (!on_target(own_timer_disable_ppi)) return false;
  write8(target_frame() + gic::ipriorityr + ppi, test_priority);
  const uint32_t before = target_count();
  if (!on_target(own_timer_fire_now)) return false;
  delay_us(1000);
  const uint32_t pending = read32(target_frame() + gic::ispendr) & ppi_bit;
  const uint32_t taken_disabled = since(gic::record(target).count[ppi], before);
  write32(target_frame() + gic::isenabler, ppi_bit);
  return expect_hex("vcpu 1's GICR_ISPENDR0 PPI 27 (disabled, condition met) read by vcpu 0", pending, ppi_bit) &&
         expect_hex("vcpu 1's timer interrupts while disabled", taken_disabled, 0) &&
         arrives("vcpu 1's timer after vcpu 0 enabled it", before);
}

// vCPU 0 disables vCPU 1's PPI 27; vCPU 1's timer fires: nothing until vCPU 0 enables it.
bool check_disable() {
  write32(target_frame() + gic::icenabler, ppi_bit);
  const uint32_t enabled = read32(target_frame() + gic::isenabler) & ppi_bit;
  const uint32_t before = target_count();
  if (!on_target(own_timer_fire_now)) return false;
  delay_us(quiet_us);
  const uint32_t taken_disabled = since(gic::record(target).count[ppi], before);
  write32(target_frame() + gic::isenabler, ppi_bit);
  return expect_hex("vcpu 1's GICR_ISENABLER0 PPI 27 after vcpu 0 disabled it", enabled, 0) &&
         expect_hex("vcpu 1's timer interrupts after vcpu 0 disabled it", taken_disabled, 0) &&
         arrives("vcpu 1's timer after vcpu 0 enabled it again", before);
}

// vCPU 0 pends vCPU 1's disabled PPI 27 (timer off), then clears it: enabling it
// delivers nothing.
bool check_clear_pending() {
  write32(target_frame() + gic::icenabler, ppi_bit);
  write32(target_frame() + gic::ispendr, ppi_bit);
  const uint32_t pending = read32(target_frame() + gic::ispendr) & ppi_bit;
  write32(target_frame() + gic::icpendr, ppi_bit);
  const uint32_t cleared = read32(target_frame() + gic::ispendr) & ppi_bit;
  const uint32_t before = target_count();
  write32(target_frame() + gic::isenabler, ppi_bit);
  delay_us(quiet_us);
  return expect_hex("vcpu 1's PPI 27 after vcpu 0's GICR_ISPENDR0", pending, ppi_bit) &&
         expect_hex("vcpu 1's PPI 27 after vcpu 0's GICR_ICPENDR0", cleared, 0) &&
         expect_hex("vcpu 1's timer interrupts after the pend was cleared", since(gic::record(target).count[ppi], before), 0);
}

// vCPU 1 takes its timer with EOImode 1 (active after the EOI), then vCPU 0 clears the
// active state: vCPU 1's next timer interrupt arrives (its physical PPI was deactivated
// too, on its CPU). `exit_first`: vCPU 1 makes a trapped access before, so vCPU 0 can
// read the active state; without it, vCPU 1's guest took the interrupt from its list
// register without an exit, and the clear must still take effect.
bool check_clear_active(bool exit_first) {
  if (!on_target(own_eoimode_1)) return false;
  const uint32_t before = target_count();
  if (!on_target(own_timer_fire_now)) return false;
  const bool first = wait_change(gic::record(target).count[ppi], before, wait_us);
  delay_us(1000);
  if (exit_first && !on_target(own_trapped_read)) return false;
  const uint32_t active = read32(target_frame() + gic::isactiver) & ppi_bit;
  write32(target_frame() + gic::icactiver, ppi_bit);
  delay_us(1000);
  const uint32_t after_clear = read32(target_frame() + gic::isactiver) & ppi_bit;
  if (!on_target(own_eoimode_0)) return false;
  const uint32_t second_before = target_count();
  if (!on_target(own_timer_fire_now)) return false;
  return expect_hex("vcpu 1's timer taken with EOImode 1", first ? 1 : 0, 1) &&
         (!exit_first ||
          expect_hex("vcpu 1's GICR_ISACTIVER0 PPI 27 after its EOI (EOImode 1) and an exit", active, ppi_bit)) &&
         expect_hex("vcpu 1's GICR_ISACTIVER0 PPI 27 after vcpu 0's GICR_ICACTIVER0", after_clear, 0) &&
         arrives(exit_first ? "vcpu 1's next timer after vcpu 0 deactivated the last"
                            : "vcpu 1's next timer after vcpu 0 deactivated the last, taken without an exit",
                 second_before);
}

// The race: vCPU 1 spins until `race_go` reaches the round vCPU 0 armed, then calls
// CPU_ON, as vCPU 0 does right after setting it.
constexpr uint32_t race_target = 2;
volatile uint32_t race_armed = 0;
volatile uint32_t race_go = 0;
volatile int64_t race_result[2];
volatile uint64_t race_context[2];

void race_cpu_on() {
  while (race_go != race_armed) relax();
  race_result[1] = smp::cpu_on(race_target, race_context[1], false);
}

bool wait_off(uint32_t vcpu) {
  return wait_for([vcpu] { return psci::hvc(psci::affinity_info_64, vcpu, 0) == psci::affinity_off; }, 1000000);
}

}  // namespace

void test_other_vcpu_ppi() {
  if (!smp::ensure_online(target)) return;
  gic::init_this_cpu();
  const bool ok = check_enable() && check_disable() && check_clear_pending() && check_clear_active(true) &&
                  check_clear_active(false);
  if (!ok) return;
  begin_pass();
  put_text("vcpu 0 on vcpu 1's timer PPI: pending read, enable, disable, clear-pending, clear-active (after an exit, ");
  put_text("and of one taken without an exit) each as asked");
  end_line();
}

void test_cpu_on_race() {
  constexpr uint32_t rounds = 20;
  const uint32_t vcpus = settings().guest.vcpu_count;
  if (vcpus < 3) EXPECT_HEX("vCPUs for cpu-on-race (at least 3)", vcpus, 3);
  if (!smp::ensure_online(1)) return;
  if (smp::slot(race_target).online != 0) {
    if (!smp::run(race_target, smp::Command::cpu_off) || !wait_off(race_target)) {
      fail("vcpu 2 did not power off before the race");
      return;
    }
  }
  uint32_t pending_seen = 0;
  uint32_t already_on_seen = 0;
  uint32_t wins[2] = {};
  for (uint32_t round = 1; round <= rounds; ++round) {
    race_context[0] = smp::context_for(race_target, 2 * round);
    race_context[1] = smp::context_for(race_target, 2 * round + 1);
    race_result[1] = 1;
    race_armed = round;
    const uint32_t boots = smp::slot(race_target).boots;
    dsb();
    const uint32_t request = smp::post(1, smp::Command::call, reinterpret_cast<uint64_t>(&race_cpu_on));
    delay_us(uint64_t{50} * (round % 5));  // vCPU 1 spinning (or still about to), at varying points
    race_go = round;
    dsb();
    for (uint32_t spin = 0; spin < 8 * (round % 8); ++spin) relax();  // either may be first
    race_result[0] = smp::cpu_on(race_target, race_context[0], false);
    if (!smp::wait_done(1, request) || !smp::wait_report(race_target, boots)) {
      fail("a racing CPU_ON did not return, or vcpu 2 did not start, within 1 s");
      return;
    }
    delay_us(2000);  // a second start would have reported in by now
    const int64_t results[2] = {race_result[0], race_result[1]};
    const uint32_t winners = (results[0] == psci::success ? 1 : 0) + (results[1] == psci::success ? 1 : 0);
    EXPECT_HEX("CPU_ON callers that got SUCCESS", winners, 1);
    const uint32_t winner = results[0] == psci::success ? 0 : 1;
    const int64_t loser = results[1 - winner];
    if (loser != psci::already_on && loser != psci::on_pending) {
      EXPECT_SIGNED("the losing CPU_ON (ALREADY_ON -4 or ON_PENDING -5)", loser, psci::already_on);
    }
    (loser == psci::on_pending ? pending_seen : already_on_seen) += 1;
    wins[winner] += 1;
    EXPECT_HEX("vcpu 2 starts per round", smp::slot(race_target).boots - boots, 1);
    EXPECT_HEX("vcpu 2's context id (the winner's)", smp::slot(race_target).context, race_context[winner]);
    if (!smp::run(race_target, smp::Command::cpu_off) || !wait_off(race_target)) {
      fail("vcpu 2 did not power off after the round");
      return;
    }
  }
  begin_pass();
  put_decimal(rounds);
  put_text(" rounds: one SUCCESS each (vcpu 0 ");
  put_decimal(wins[0]);
  put_text(", vcpu 1 ");
  put_decimal(wins[1]);
  put_text("), the other ON_PENDING ");
  put_decimal(pending_seen);
  put_text(" ALREADY_ON ");
  put_decimal(already_on_seen);
  end_line();
}

}  // namespace probe
