// vtimer, ptimer: the EL1 timers' PPIs, forwarded by the hypervisor as hardware-backed
// virtual interrupts. sgi: SGIs between vCPUs through the trapped ICC_SGI1R_EL1, IRM
// broadcast, and delivery in priority order.
#include "console.hpp"
#include "gic.hpp"
#include "smp.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

constexpr uint8_t timer_priority = 0xa0;

void timer_test(timer::Kind kind, const char* counter_name) {
  const uint32_t ppi = timer::ppi(kind);
  const uint64_t one_ms = counter_frequency() / 1000;
  gic::IrqRecord& r = gic::record(0);
  gic::init_this_cpu();
  irqs_off();
  gic::enable_private(ppi, timer_priority);

  // Made pending by software (GICR_ISPENDR0) with the timer off: delivered once, and the
  // hardware-backed PPI must still work afterwards (checked below).
  const uint32_t software_before = r.count[ppi];
  timer::set_control(kind, 0);
  write32(gic::sgi_frame(0) + gic::ispendr, 1u << ppi);
  irqs_on();
  const bool software_taken = wait_change(r.count[ppi], software_before, 200000);
  delay_us(500);
  irqs_off();
  EXPECT_HEX("interrupts after GICR_ISPENDR0 with the timer off", since(r.count[ppi], software_before), software_taken ? 1 : 0);
  EXPECT_HEX("PPI made pending by GICR_ISPENDR0 taken", software_taken ? 1 : 0, 1);

  // Masked (IMASK): the condition shows in ISTATUS but nothing is delivered.
  timer::set_timer(kind, 0);
  timer::set_control(kind, timer::ctl_enable | timer::ctl_imask);
  const uint32_t masked_before = r.count[ppi];
  irqs_on();
  delay_us(500);
  const uint64_t masked_control = timer::control(kind);
  irqs_off();
  timer::set_control(kind, 0);
  EXPECT_HEX("CTL with IMASK and the condition met (ENABLE|IMASK|ISTATUS)", masked_control, 7);
  EXPECT_HEX("interrupts taken while IMASK was set", since(r.count[ppi], masked_before), 0);

  // Armed for 1 ms: ISTATUS clear until then, one interrupt after. Every reading is
  // bracketed by counter reads, so a host that stalls this vCPU cannot fail the test.
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
  if (compare < start + one_ms || compare > written + one_ms) {
    EXPECT_HEX("CVAL after TVAL = 1 ms (count when written + 1 ms)", compare, start + one_ms);
  }
  if (armed_count < compare) {
    EXPECT_HEX("CTL right after arming (ENABLE, ISTATUS clear)", armed_control, timer::ctl_enable);
  }
  if (!fired) {
    begin_fail();
    put_text("no interrupt ");
    put_decimal(ppi);
    put_text(" within 1 s of a 1 ms timer");
    end_line();
    return;
  }
  EXPECT_HEX("interrupts taken", since(r.count[ppi], before), 1);
  EXPECT_HEX("CTL in the handler (ENABLE|ISTATUS)", r.timer_control & 5, 5);
  // The handler's stamp is CNTVCT; for the physical timer add CNTPCT - CNTVCT (constant;
  // its upper bound, so that a reading error never makes the interrupt look early).
  uint64_t taken = r.stamp[ppi];
  if (kind == timer::Kind::physical_timer) {
    uint64_t low = 0;
    uint64_t high = 0;
    counter_offset(low, high);
    taken += high;
  }
  if (taken < compare) {
    begin_fail();
    put_text("interrupt taken before CVAL: at ");
    put_hex(taken);
    put_text(" CVAL ");
    put_hex(compare);
    end_line();
    return;
  }
  const uint64_t elapsed = taken - start;
  if (elapsed < one_ms) {
    begin_fail();
    put_text("elapsed expected >= ");
    put_decimal(one_ms);
    put_text(" ticks got ");
    put_decimal(elapsed);
    end_line();
    return;
  }
  EXPECT_HEX("ICC_RPR_EL1 in the handler", r.running_priority[ppi], timer_priority);
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

bool wait_count(uint32_t vcpu, uint32_t intid, uint32_t before) {
  gic::IrqRecord& r = gic::record(vcpu);
  return wait_change(r.count[intid], before, 200000);
}

bool sgi_delivered(const char* what, uint32_t vcpu, uint32_t intid, uint32_t before) {
  if (wait_count(vcpu, intid, before)) return true;
  begin_fail();
  put_text(what);
  put_text(": SGI ");
  put_decimal(intid);
  put_text(" not taken by vcpu ");
  put_decimal(vcpu);
  put_text(" within 200 ms");
  end_line();
  return false;
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

void test_sgi() {
  const uint32_t vcpus = settings().guest.vcpu_count;
  if (vcpus < 2) {
    EXPECT_HEX("vCPUs for the sgi test (at least 2)", vcpus, 2);
  }
  if (!smp::ensure_online(1)) return;
  gic::init_this_cpu();
  for (uint32_t sgi = 1; sgi < 8; ++sgi) gic::enable_private(sgi, 0x80);
  gic::IrqRecord& mine = gic::record(0);
  gic::IrqRecord& other = gic::record(1);
  irqs_on();

  // vCPU 0 -> vCPU 1 and back, by target list.
  uint32_t before = other.count[1];
  gic::send_sgi(gic::sgi_to(1, 1u << 1));
  if (!sgi_delivered("0 -> 1", 1, 1, before)) return;
  before = mine.count[2];
  if (!smp::run(1, smp::Command::send_sgi, gic::sgi_to(2, 1u << 0))) {
    fail("vcpu 1 did not take the send-sgi command");
    return;
  }
  if (!sgi_delivered("1 -> 0", 0, 2, before)) return;
  EXPECT_HEX("SGI 2 taken by vcpu 1 (not targeted)", other.count[2], 0);

  // IRM = 1: every vCPU but the sender.
  uint32_t others_before[max_vcpus] = {};
  for (uint32_t v = 0; v < vcpus && v < max_vcpus; ++v) others_before[v] = gic::record(v).count[3];
  gic::send_sgi(gic::sgi_broadcast(3));
  for (uint32_t v = 1; v < vcpus && v < max_vcpus; ++v) {
    if (smp::slot(v).online == 0) continue;
    if (!sgi_delivered("broadcast", v, 3, others_before[v])) return;
  }
  delay_us(2000);
  EXPECT_HEX("broadcast SGI 3 taken by its sender", since(mine.count[3], others_before[0]), 0);

  // To itself, by ICC_SGI1R_EL1 and by GICR_ISPENDR0.
  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0));
  if (!sgi_delivered("self", 0, 4, before)) return;
  before = mine.count[4];
  write32(gic::sgi_frame(0) + gic::ispendr, 1u << 4);
  if (!sgi_delivered("GICR_ISPENDR0", 0, 4, before)) return;

  // Affinity 0.1.0 is no vCPU of this partition: target list bit 0 there is not vCPU 0.
  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0) | (uint64_t{1} << 16));
  delay_us(2000);
  EXPECT_HEX("SGI 4 sent to Aff1 = 1 taken by vcpu 0 (Aff1 = 0)", since(mine.count[4], before), 0);

  // GICD_CTLR.EnableGrp1 gates SGIs too: held pending while it is clear.
  const uint32_t ctlr = read32(gic::distributor + gic::gicd_ctlr);
  write32(gic::distributor + gic::gicd_ctlr, ctlr & gic::ctlr_enable_grp0);
  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0));
  delay_us(2000);
  const uint32_t taken_while_disabled = since(mine.count[4], before);
  write32(gic::distributor + gic::gicd_ctlr, ctlr & (gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1));
  const bool taken_when_enabled = wait_count(0, 4, before);
  EXPECT_HEX("SGI taken while GICD_CTLR.EnableGrp1 = 0", taken_while_disabled, 0);
  EXPECT_HEX("SGI taken once EnableGrp1 = 1 again", taken_when_enabled ? 1 : 0, 1);

  // Priority order: SGI 5 (0xa0) then SGI 6 (0x80) made pending while masked; the
  // higher priority (lower value) must be acknowledged first.
  const uint64_t sgi_frame = gic::sgi_frame(0);
  write8(sgi_frame + gic::ipriorityr + 5, 0xa0);
  write8(sgi_frame + gic::ipriorityr + 6, 0x80);
  irqs_off();
  gic::clear_order(0);
  const uint32_t before5 = mine.count[5];
  const uint32_t before6 = mine.count[6];
  gic::send_sgi(gic::sgi_to(5, 1u << 0));
  gic::send_sgi(gic::sgi_to(6, 1u << 0));
  const uint32_t pending = read32(sgi_frame + gic::ispendr);
  irqs_on();
  if (!wait_count(0, 5, before5) || !wait_count(0, 6, before6)) {
    fail("SGIs 5 and 6 were not both taken within 200 ms");
    return;
  }
  EXPECT_HEX("GICR_ISPENDR0 bits 5-6 while masked", pending & 0x60, 0x60);
  EXPECT_HEX("first acknowledged (priority 0x80 before 0xa0)", mine.order[0], 6);
  EXPECT_HEX("second acknowledged", mine.order[1], 5);
  EXPECT_HEX("ICC_RPR_EL1 while handling SGI 6", mine.running_priority[6], 0x80);
  EXPECT_HEX("ICC_RPR_EL1 while handling SGI 5", mine.running_priority[5], 0xa0);

  // The priority mask: 0x90 holds back SGI 5 (0xa0) until it is opened again.
  irqs_off();
  PROBE_WRITE_SYSREG(ICC_PMR_EL1, 0x90);
  isb();
  const uint32_t masked_before = mine.count[5];
  gic::send_sgi(gic::sgi_to(5, 1u << 0));
  irqs_on();
  delay_us(2000);
  const uint32_t taken_while_masked = since(mine.count[5], masked_before);
  PROBE_WRITE_SYSREG(ICC_PMR_EL1, 0xff);
  isb();
  const bool taken_after = wait_count(0, 5, masked_before);
  EXPECT_HEX("SGI 5 (priority 0xa0) taken with PMR 0x90", taken_while_masked, 0);
  EXPECT_HEX("SGI 5 taken once PMR is 0xff", taken_after ? 1 : 0, 1);
  write8(sgi_frame + gic::ipriorityr + 5, 0x80);
  write8(sgi_frame + gic::ipriorityr + 6, 0x80);

  // More pending than the hypervisor has list registers: SGIs 8..15 with priorities
  // 0xf0 (SGI 8) down to 0x80 (SGI 15), all pended while masked, must all be taken, the
  // highest priority first.
  irqs_off();
  uint32_t burst_before[16] = {};
  for (uint32_t sgi = 8; sgi < 16; ++sgi) {
    gic::enable_private(sgi, static_cast<uint8_t>(0xf0 - 0x10 * (sgi - 8)));
    burst_before[sgi] = mine.count[sgi];
  }
  gic::clear_order(0);
  for (uint32_t sgi = 8; sgi < 16; ++sgi) gic::send_sgi(gic::sgi_to(sgi, 1u << 0));
  irqs_on();
  const bool burst_done = wait_for([&mine, &burst_before] {
    for (uint32_t sgi = 8; sgi < 16; ++sgi) {
      if (mine.count[sgi] == burst_before[sgi]) return false;
    }
    return true;
  }, 200000);
  irqs_off();
  for (uint32_t sgi = 8; sgi < 16; ++sgi) gic::disable_private(sgi);
  if (!burst_done) {
    fail("not all of SGIs 8..15 pended together were taken within 200 ms");
    return;
  }
  EXPECT_HEX("SGIs taken in the burst", mine.order_length, 8);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_HEX("burst acknowledge order (15 first)", mine.order[i], 15 - i);

  // Group 0: SGI 10 as Group 0 arrives as an FIQ when sent through ICC_SGI0R_EL1; a
  // Group 1 SGI sent through ICC_SGI0R_EL1 is not forwarded.
  const uint32_t groups = read32(sgi_frame + gic::igroupr);
  const uint32_t enables = read32(gic::distributor + gic::gicd_ctlr) & (gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1);
  write32(sgi_frame + gic::igroupr, groups & ~(1u << 10));
  write32(gic::distributor + gic::gicd_ctlr, enables | gic::ctlr_enable_grp0);
  PROBE_WRITE_SYSREG(ICC_IGRPEN0_EL1, 1);
  isb();
  gic::enable_private(10, 0x80);
  const uint32_t fiqs = mine.fiq_count[10];
  const uint32_t irqs = mine.count[10];
  const uint32_t group1_before = mine.count[4];
  asm volatile("msr daifclr, #3" ::: "memory");
  gic::send_group0_sgi(gic::sgi_to(10, 1u << 0));
  gic::send_group0_sgi(gic::sgi_to(4, 1u << 0));
  const bool fiq_taken = wait_change(mine.fiq_count[10], fiqs, 200000);
  delay_us(2000);
  asm volatile("msr daifset, #3" ::: "memory");
  gic::disable_private(10);
  PROBE_WRITE_SYSREG(ICC_IGRPEN0_EL1, 0);
  isb();
  write32(sgi_frame + gic::igroupr, groups);
  write32(gic::distributor + gic::gicd_ctlr, enables);
  EXPECT_HEX("Group 0 SGI 10 by ICC_SGI0R_EL1 taken as FIQ", fiq_taken ? 1 : 0, 1);
  EXPECT_HEX("Group 0 SGI 10 taken as IRQ", since(mine.count[10], irqs), 0);
  EXPECT_HEX("Group 1 SGI 4 by ICC_SGI0R_EL1 taken", since(mine.count[4], group1_before), 0);
  begin_pass();
  put_text("0->1 1->0 broadcast(irm) self ispendr, aff1 miss, grp1 gate, priority order, pmr, 8-sgi burst, group 0 fiq, ");
  put_decimal(vcpus);
  put_text(" vcpus");
  end_line();
}

}  // namespace probe
