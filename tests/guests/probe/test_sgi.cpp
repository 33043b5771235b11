// sgi: SGIs between vCPUs and to self through the trapped ICC_SGI1R_EL1 / ICC_SGI0R_EL1
// and GICR_ISPENDR0; IRM broadcast; targets that are no vCPU; the Group 1 enable;
// priority order and the priority mask; more pending than there are list registers;
// Group 0 as FIQ; and the active state with EOImode = 1 (needs 2 vCPUs).
#include "console.hpp"
#include "gic.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

constexpr uint64_t sgi_frame = gic::redistributors + gic::sgi_base;  // vCPU 0's

bool wait_count(uint32_t vcpu, uint32_t intid, uint32_t before) {
  return wait_change(gic::record(vcpu).count[intid], before, 200000);
}

bool delivered(const char* what, uint32_t vcpu, uint32_t intid, uint32_t before) {
  if (wait_count(vcpu, intid, before)) return true;
  return fail_not_taken(what, "SGI", intid, vcpu, "200 ms");
}

// Which vCPUs an SGI reaches: by target list both ways, IRM, self, GICR_ISPENDR0, an
// absent affinity, and the distributor's Group 1 enable.
bool check_targets(uint32_t vcpus) {
  gic::IrqRecord& mine = gic::record(0);
  const gic::IrqRecord& other = gic::record(1);
  uint32_t before = other.count[1];
  gic::send_sgi(gic::sgi_to(1, 1u << 1));
  if (!delivered("0 -> 1", 1, 1, before)) return false;
  before = mine.count[2];
  if (!smp::run(1, smp::Command::send_sgi, gic::sgi_to(2, 1u << 0))) {
    fail("vcpu 1 did not take the send-sgi command");
    return false;
  }
  if (!delivered("1 -> 0", 0, 2, before)) return false;
  if (!expect_hex("SGI 2 taken by vcpu 1 (not targeted)", other.count[2], 0)) return false;

  // IRM = 1: every vCPU but the sender.
  uint32_t others_before[max_vcpus] = {};
  for (uint32_t v = 0; v < vcpus && v < max_vcpus; ++v) others_before[v] = gic::record(v).count[3];
  gic::send_sgi(gic::sgi_broadcast(3));
  for (uint32_t v = 1; v < vcpus && v < max_vcpus; ++v) {
    if (smp::slot(v).online != 0 && !delivered("broadcast", v, 3, others_before[v])) return false;
  }
  delay_us(2000);
  if (!expect_hex("broadcast SGI 3 taken by its sender", since(mine.count[3], others_before[0]), 0)) return false;

  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0));
  if (!delivered("self", 0, 4, before)) return false;
  before = mine.count[4];
  write32(sgi_frame + gic::ispendr, 1u << 4);
  if (!delivered("GICR_ISPENDR0", 0, 4, before)) return false;

  // Affinity 0.1.0 is no vCPU of this partition: target list bit 0 there is not vCPU 0.
  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0) | (uint64_t{1} << 16));
  delay_us(2000);
  if (!expect_hex("SGI 4 sent to Aff1 = 1 taken by vcpu 0 (Aff1 = 0)", since(mine.count[4], before), 0)) return false;

  // GICD_CTLR.EnableGrp1 gates SGIs too: held pending while it is clear.
  const uint32_t ctlr = read32(gic::distributor + gic::gicd_ctlr);
  write32(gic::distributor + gic::gicd_ctlr, ctlr & gic::ctlr_enable_grp0);
  before = mine.count[4];
  gic::send_sgi(gic::sgi_to(4, 1u << 0));
  delay_us(2000);
  const uint32_t taken_while_disabled = since(mine.count[4], before);
  write32(gic::distributor + gic::gicd_ctlr, ctlr & (gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1));
  const bool taken_when_enabled = wait_count(0, 4, before);
  return expect_hex("SGI taken while GICD_CTLR.EnableGrp1 = 0", taken_while_disabled, 0) &&
         expect_hex("SGI taken once EnableGrp1 = 1 again", taken_when_enabled ? 1 : 0, 1);
}

// SGI 5 (0xa0) then SGI 6 (0x80) pended while masked: 6 is acknowledged first; then the
// priority mask holds 5 back.
bool check_priorities() {
  gic::IrqRecord& mine = gic::record(0);
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
    return false;
  }
  if (!expect_hex("GICR_ISPENDR0 bits 5-6 while masked", pending & 0x60, 0x60) ||
      !expect_hex("first acknowledged (priority 0x80 before 0xa0)", mine.order[0], 6) ||
      !expect_hex("second acknowledged", mine.order[1], 5) ||
      !expect_hex("ICC_RPR_EL1 while handling SGI 6", mine.running_priority[6], 0x80) ||
      !expect_hex("ICC_RPR_EL1 while handling SGI 5", mine.running_priority[5], 0xa0)) {
    return false;
  }
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
  write8(sgi_frame + gic::ipriorityr + 5, 0x80);
  write8(sgi_frame + gic::ipriorityr + 6, 0x80);
  return expect_hex("SGI 5 (priority 0xa0) taken with PMR 0x90", taken_while_masked, 0) &&
         expect_hex("SGI 5 taken once PMR is 0xff", taken_after ? 1 : 0, 1);
}

// More pending than the hypervisor has list registers: SGIs 8..15 with priorities 0xf0
// (SGI 8) down to 0x80 (SGI 15), pended while masked, all taken, the highest first.
bool check_burst() {
  gic::IrqRecord& mine = gic::record(0);
  irqs_off();
  uint32_t before[16] = {};
  for (uint32_t sgi = 8; sgi < 16; ++sgi) {
    gic::enable_private(sgi, static_cast<uint8_t>(0xf0 - 0x10 * (sgi - 8)));
    before[sgi] = mine.count[sgi];
  }
  gic::clear_order(0);
  for (uint32_t sgi = 8; sgi < 16; ++sgi) gic::send_sgi(gic::sgi_to(sgi, 1u << 0));
  irqs_on();
  bool all = true;
  for (uint32_t sgi = 8; sgi < 16; ++sgi) all = all && wait_count(0, sgi, before[sgi]);
  irqs_off();
  for (uint32_t sgi = 8; sgi < 16; ++sgi) gic::disable_private(sgi);
  if (!all) {
    fail("not all of SGIs 8..15 pended together were taken within 200 ms");
    return false;
  }
  if (!expect_hex("SGIs taken in the burst", mine.order_length, 8)) return false;
  for (uint32_t i = 0; i < 8; ++i) {
    if (!expect_hex("burst acknowledge order (15 first)", mine.order[i], 15 - i)) return false;
  }
  return true;
}

// SGI 10 as Group 0 arrives as an FIQ when sent through ICC_SGI0R_EL1; a Group 1 SGI
// sent through ICC_SGI0R_EL1 is not forwarded.
bool check_group0() {
  gic::IrqRecord& mine = gic::record(0);
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
  const uint32_t group1_by_sgi0r = since(mine.count[4], group1_before);
  const uint32_t group0_as_irq = since(mine.count[10], irqs);
  // ICC_ASGI1R_EL1 ("Group 1 for the other Security state") with one Security state: there
  // is no other Group 1, so it reaches Group 0 SGIs only (KVM; QEMU's GICv3 with DS = 1).
  const uint32_t asgi_fiqs = mine.fiq_count[10];
  const uint32_t asgi_irqs = mine.count[4];
  PROBE_WRITE_SYSREG(S3_0_C12_C11_6, gic::sgi_to(10, 1u << 0));  // ICC_ASGI1R_EL1
  PROBE_WRITE_SYSREG(S3_0_C12_C11_6, gic::sgi_to(4, 1u << 0));
  isb();
  delay_us(2000);
  const uint32_t asgi_group0 = since(mine.fiq_count[10], asgi_fiqs);
  const uint32_t asgi_group1 = since(mine.count[4], asgi_irqs);
  asm volatile("msr daifset, #3" ::: "memory");
  gic::disable_private(10);
  PROBE_WRITE_SYSREG(ICC_IGRPEN0_EL1, 0);
  isb();
  write32(sgi_frame + gic::igroupr, groups);
  write32(gic::distributor + gic::gicd_ctlr, enables);
  return expect_hex("Group 0 SGI 10 by ICC_SGI0R_EL1 taken as FIQ", fiq_taken ? 1 : 0, 1) &&
         expect_hex("Group 0 SGI 10 taken as IRQ", group0_as_irq, 0) &&
         expect_hex("Group 1 SGI 4 by ICC_SGI0R_EL1 taken", group1_by_sgi0r, 0) &&
         expect_hex("Group 0 SGI 10 by ICC_ASGI1R_EL1 taken as FIQ", asgi_group0, 1) &&
         expect_hex("Group 1 SGI 4 by ICC_ASGI1R_EL1 taken", asgi_group1, 0);
}

// EOImode = 1: the handler's EOI only drops the priority, SGI 11 stays active (as
// GICR_ISACTIVER0 shows, across exits), a second SGI 11 waits pending until ICC_DIR_EL1
// deactivates the first, then arrives.
bool check_active_state() {
  gic::IrqRecord& mine = gic::record(0);
  const uint32_t bit = 1u << 11;
  irqs_off();
  PROBE_WRITE_SYSREG(ICC_CTLR_EL1, 2);  // EOImode
  isb();
  gic::enable_private(11, 0x80);
  const uint32_t before = mine.count[11];
  gic::send_sgi(gic::sgi_to(11, 1u << 0));
  irqs_on();
  const bool first = wait_count(0, 11, before);
  irqs_off();
  const uint32_t active = read32(sgi_frame + gic::isactiver);
  gic::send_sgi(gic::sgi_to(11, 1u << 0));
  irqs_on();
  delay_us(2000);
  irqs_off();
  const uint32_t taken_while_active = since(mine.count[11], before);
  const uint32_t pending = read32(sgi_frame + gic::ispendr);
  PROBE_WRITE_SYSREG(S3_0_C12_C11_1, 11);  // ICC_DIR_EL1
  isb();
  irqs_on();
  const bool second = wait_count(0, 11, before + 1);
  irqs_off();
  PROBE_WRITE_SYSREG(S3_0_C12_C11_1, 11);
  isb();
  const uint32_t active_after = read32(sgi_frame + gic::isactiver);
  PROBE_WRITE_SYSREG(ICC_CTLR_EL1, 0);
  isb();
  gic::disable_private(11);
  return expect_hex("SGI 11 taken (EOImode 1)", first ? 1 : 0, 1) &&
         expect_hex("GICR_ISACTIVER0 SGI 11 after the EOI", active & bit, bit) &&
         expect_hex("SGI 11 taken again while active", taken_while_active, 1) &&
         expect_hex("GICR_ISPENDR0 SGI 11 while active", pending & bit, bit) &&
         expect_hex("second SGI 11 taken after ICC_DIR_EL1", second ? 1 : 0, 1) &&
         expect_hex("GICR_ISACTIVER0 SGI 11 after the second ICC_DIR_EL1", active_after & bit, 0);
}

}  // namespace

void test_sgi() {
  const uint32_t vcpus = settings().guest.vcpu_count;
  if (vcpus < 2) {
    EXPECT_HEX("vCPUs for the sgi test (at least 2)", vcpus, 2);
  }
  if (!smp::ensure_online(1)) return;
  gic::init_this_cpu();
  for (uint32_t sgi = 1; sgi < 8; ++sgi) gic::enable_private(sgi, 0x80);
  irqs_on();
  const bool ok = check_targets(vcpus) && check_priorities() && check_burst() && check_group0() && check_active_state();
  irqs_off();
  if (!ok) return;
  begin_pass();
  put_text("0->1 1->0 broadcast(irm) self ispendr, aff1 miss, grp1 gate, priority order, pmr, 8-sgi burst, group 0 fiq, ");
  put_text("eoimode 1 active state, ");
  put_decimal(vcpus);
  put_text(" vcpus");
  end_line();
}

}  // namespace probe
