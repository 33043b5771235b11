// Interrupt delivery as guests written for KVM or real GICv3 hardware expect it (issue
// 17), through the model of vgic_lr_model.hpp (the target's exit path, GICv3 LR
// semantics): no GICR_WAKER handshake needed, SGIs to a vCPU idle in WFI, disabled
// hardware interrupts with their line raised, level hardware interrupts the guest EOIs
// before it clears the device, and another vCPU's hardware PPIs.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "tests/unit/vgic_lr_model.hpp"

using namespace bulkhead::vgic;
using lr_model::Machine;
using lr_model::no_vcpu;

namespace {

void check_clean(const Machine& m) {
  for (const std::string& violation : m.violations) FAIL_CHECK(violation);
}
uint64_t sgi_to(uint8_t vcpu, uint32_t sgi) { return (uint64_t{sgi} << icc_sgi1r::intid_shift) | (1u << vcpu); }
uint64_t sgi_to_others(uint32_t sgi) { return (uint64_t{sgi} << icc_sgi1r::intid_shift) | icc_sgi1r::irm; }
uint64_t sgi_register(uint8_t vcpu, uint64_t bank_register) {
  return Machine::redistributor(vcpu) + gicr::sgi_base + bank_register;
}
uint64_t spi_register(uint64_t bank_register, uint32_t intid) {
  return lr_model::distributor_base + bank_register + 4 * uint64_t{intid / 32};
}
uint32_t spi_bit(uint32_t intid) { return 1u << (intid % 32); }

// What Linux does at boot (Machine::boot_plain), every interrupt at priority 0x80.
std::unique_ptr<Machine> booted(uint8_t vcpus, unsigned lrs) {
  auto m = std::make_unique<Machine>(vcpus, lrs);
  REQUIRE(m->configured());
  m->boot_plain(0x80);
  return m;
}

}  // namespace

TEST_CASE("vgic delivery: a guest that never touches GICR_WAKER gets its SGIs, timer and device interrupts") {
  // Test suites and RTOSes enable the distributor and their interrupts and never clear
  // GICR_WAKER.ProcessorSleep; KVM delivers to them all the same.
  Machine m(2, 4);
  REQUIRE(m.configured());
  for (uint8_t k = 0; k < 2; ++k) m.first_entry(k);
  m.guest_write(0, lr_model::distributor_base + gicd::ctlr, 4, 0x13);
  m.guest_write(0, spi_register(gic_bank::isenabler, 33), 4, spi_bit(33) | spi_bit(40));
  for (uint8_t k = 0; k < 2; ++k) m.guest_write(k, sgi_register(k, gic_bank::isenabler), 4, 0xffffffff);
  for (uint8_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(m.read(Machine::redistributor(k) + gicr::waker) == (gicr::waker_processor_sleep | gicr::waker_children_asleep));
  }
  m.guest_send_sgi(1, sgi_to(0, 3), true);  // an SGI from the other vCPU
  REQUIRE(m.deliver_kick(0));
  CHECK(m.lr_state_of(0, 3) == LrState::pending);
  m.physical_line(1, 27, true);  // vCPU 1's timer
  lr_model::Random random(1);
  REQUIRE(m.fire_physical(random));
  CHECK(m.lr_state_of(1, 27) == LrState::pending);
  m.device_line(no_vcpu, 0, 33, true);  // a device SPI, routed to vCPU 0
  REQUIRE(m.deliver_kick(0));
  CHECK(m.lr_state_of(0, 33) == LrState::pending);
  for (uint8_t k : {uint8_t{0}, uint8_t{0}, uint8_t{1}}) {
    REQUIRE(m.guest_acknowledge(k));
    REQUIRE(m.guest_eoi(k));
  }
  CHECK(m.acks_of(0, 3) == 1);
  CHECK(m.acks_of(0, 33) == 1);
  CHECK(m.acks_of(1, 27) == 1);
  // The register itself still reads back what a guest that does the handshake expects.
  m.guest_write(0, Machine::redistributor(0) + gicr::waker, 4, 0);
  CHECK(m.read(Machine::redistributor(0) + gicr::waker) == 0);
  m.guest_write(0, Machine::redistributor(0) + gicr::waker, 4, gicr::waker_processor_sleep);
  CHECK(m.read(Machine::redistributor(0) + gicr::waker) == (gicr::waker_processor_sleep | gicr::waker_children_asleep));
  m.guest_send_sgi(1, sgi_to(0, 4), true);  // asleep again: delivered all the same
  REQUIRE(m.deliver_kick(0));
  CHECK(m.lr_state_of(0, 4) == LrState::pending);
  check_clean(m);
}

TEST_CASE("vgic delivery: the same SGI sent again and again to a vCPU idle in WFI arrives every time") {
  // WFI is not trapped: the target vCPU exits only for the kick. Its guest takes the SGI
  // and completes it without exiting, then waits again; the next SGI of the same number
  // used to find the old pending latch (cleared only at that vCPU's next exit), be merged
  // into it, send no kick, and be lost.
  auto m = booted(2, 4);
  for (unsigned round = 1; round <= 20; ++round) {
    CAPTURE(round);
    m->guest_send_sgi(1, sgi_to(0, 5), true);
    REQUIRE(m->deliver_kick(0));  // WFI ends on the kick
    REQUIRE(m->lr_state_of(0, 5) == LrState::pending);
    REQUIRE(m->guest_acknowledge(0));
    REQUIRE(m->guest_eoi(0));  // and back into WFI, no exit
  }
  CHECK(m->acks_of(0, 5) == 20);
  CHECK(m->pends_of(0, 5) == 20);
  check_clean(*m);
}

TEST_CASE("vgic delivery: an IRM = 1 broadcast in a loop reaches every other vCPU every time") {
  auto m = booted(3, 4);
  for (unsigned round = 1; round <= 20; ++round) {
    CAPTURE(round);
    m->guest_send_sgi(0, sgi_to_others(6), true);
    CHECK(m->lr_state_of(0, 6) == LrState::invalid);  // not to itself
    for (uint8_t k = 1; k < 3; ++k) {
      CAPTURE(k);
      REQUIRE(m->deliver_kick(k));
      REQUIRE(m->guest_acknowledge(k));
      REQUIRE(m->guest_eoi(k));
    }
  }
  for (uint8_t k = 1; k < 3; ++k) CHECK(m->acks_of(k, 6) == 20);
  CHECK(m->acks_of(0, 6) == 0);
  check_clean(*m);
}

TEST_CASE("vgic delivery: a disabled hardware interrupt with its line raised reads pending and is delivered once enabled") {
  auto m = booted(2, 4);
  // The timer PPI of vCPU 1 and the device SPI 40 (routed to vCPU 0), disabled by their guest.
  m->guest_write(1, sgi_register(1, gic_bank::icenabler), 4, 1u << 27);
  m->guest_write(0, spi_register(gic_bank::icenabler, 40), 4, spi_bit(40));
  m->physical_line(1, 27, true);  // the timer condition is met
  m->physical_line(0, 40, true);  // the device asserts its interrupt
  lr_model::Random random(3);
  CHECK_FALSE(m->fire_physical(random));  // physically disabled: EL2 takes nothing
  CHECK((m->read(sgi_register(1, gic_bank::ispendr)) & (1u << 27)) != 0);
  CHECK((m->read(sgi_register(1, gic_bank::icpendr)) & (1u << 27)) != 0);
  CHECK((m->read(spi_register(gic_bank::ispendr, 40)) & spi_bit(40)) != 0);
  CHECK((m->read(sgi_register(0, gic_bank::ispendr)) & (1u << 27)) == 0);  // vCPU 0's timer: line low
  // Enabled again, by vCPU 0 for vCPU 1's PPI too: each is delivered, once.
  m->guest_write(0, sgi_register(1, gic_bank::isenabler), 4, 1u << 27);
  m->guest_write(0, spi_register(gic_bank::isenabler, 40), 4, spi_bit(40));
  CHECK(m->kicked(1));
  REQUIRE(m->deliver_kick(1));  // vCPU 1's CPU enables its own PPI
  while (m->fire_physical(random)) {
  }
  CHECK(m->lr_state_of(1, 27) == LrState::pending);
  CHECK(m->lr_state_of(0, 40) == LrState::pending);
  REQUIRE(m->guest_acknowledge(1));
  REQUIRE(m->guest_acknowledge(0));
  m->physical_line(1, 27, false);  // the handlers silence the devices
  m->physical_line(0, 40, false);
  REQUIRE(m->guest_eoi(1));
  REQUIRE(m->guest_eoi(0));
  CHECK_FALSE(m->fire_physical(random));
  CHECK(m->acks_of(1, 27) == 1);
  CHECK(m->acks_of(0, 40) == 1);
  // Lines low again: nothing reads pending.
  CHECK((m->read(sgi_register(1, gic_bank::ispendr)) & (1u << 27)) == 0);
  CHECK((m->read(spi_register(gic_bank::ispendr, 40)) & spi_bit(40)) == 0);
  check_clean(*m);
}

TEST_CASE("vgic delivery: a level hardware interrupt the guest EOIs before it clears the device is delivered once") {
  // The guest's EOI deactivates the physical interrupt (HW = 1) while its line is still
  // asserted: it fires again at once and EL2 makes the virtual one pending again. The guest
  // then clears the device and unmasks: on hardware the interrupt is no longer pending.
  auto m = booted(2, 4);
  lr_model::Random random(5);
  struct Source {
    const char* what;
    uint8_t vcpu;
    uint16_t intid;
  };
  for (const Source source : {Source{"the timer PPI of vCPU 0", 0, 27}, Source{"SPI 40 routed to vCPU 1", 1, 40}}) {
    const std::string what = source.what;
    CAPTURE(what);
    if (source.intid == 40) m->guest_write(0, lr_model::distributor_base + gicd::irouter + 8 * 40, 8, 1);
    m->physical_line(source.vcpu, source.intid, true);
    REQUIRE(m->fire_physical(random));
    REQUIRE(m->lr_state_of(source.vcpu, source.intid) == LrState::pending);
    REQUIRE(m->guest_acknowledge(source.vcpu));
    REQUIRE(m->guest_eoi(source.vcpu));  // EOImode 0: the physical interrupt is deactivated
    REQUIRE(m->fire_physical(random));   // still asserted: it fires again, EL2 takes it
    REQUIRE(m->lr_state_of(source.vcpu, source.intid) == LrState::pending);
    m->physical_line(source.vcpu, source.intid, false);  // the guest clears the device
    CHECK_FALSE(m->guest_acknowledge(source.vcpu));       // its IAR reads a spurious INTID
    CHECK(m->lr_state_of(source.vcpu, source.intid) == LrState::invalid);
    CHECK(m->acks_of(source.vcpu, source.intid) == 1);
    // Released: the next assertion is taken and delivered again.
    m->physical_line(source.vcpu, source.intid, true);
    REQUIRE(m->fire_physical(random));
    REQUIRE(m->guest_acknowledge(source.vcpu));
    m->physical_line(source.vcpu, source.intid, false);
    REQUIRE(m->guest_eoi(source.vcpu));
    CHECK(m->acks_of(source.vcpu, source.intid) == 2);
    CHECK_FALSE(m->fire_physical(random));
  }
  CHECK(m->stats.withdrawn_at_acknowledge == 2);
  check_clean(*m);
}

TEST_CASE("vgic delivery: another vCPU's hardware PPIs change on that vCPU's CPU, as the guest asked") {
  // vCPU 0 disables, pends, activates and clears vCPU 1's timer PPI 30. A PPI exists only
  // in the redistributor of the CPU running vCPU 1: the requests wait there (the model
  // records a violation for any PPI event that reaches another CPU).
  auto m = booted(2, 4);
  m->guest_write(0, sgi_register(1, gic_bank::icenabler), 4, 1u << 30);
  CHECK(m->gic.needs_attention(1));
  CHECK(m->kicked(1));
  REQUIRE(m->deliver_kick(1));
  CHECK_FALSE(m->gic.needs_attention(1));
  lr_model::Random random(9);
  m->physical_line(1, 30, true);
  CHECK_FALSE(m->fire_physical(random));  // disabled on vCPU 1's CPU
  m->guest_write(0, sgi_register(1, gic_bank::isenabler), 4, 1u << 30);
  REQUIRE(m->deliver_kick(1));
  REQUIRE(m->fire_physical(random));
  CHECK(m->lr_state_of(1, 30) == LrState::pending);
  // Cleared by vCPU 0 while pending: vCPU 1's physical interrupt is released there, fires
  // again (its line is still up) and is pending again, as on hardware.
  m->guest_write(0, sgi_register(1, gic_bank::icpendr), 4, 1u << 30);
  REQUIRE(m->deliver_kick(1));
  REQUIRE(m->fire_physical(random));
  CHECK(m->lr_state_of(1, 30) == LrState::pending);
  m->physical_line(1, 30, false);
  m->guest_write(0, sgi_register(1, gic_bank::icpendr), 4, 1u << 30);
  REQUIRE(m->deliver_kick(1));
  CHECK_FALSE(m->fire_physical(random));
  CHECK(m->lr_state_of(1, 30) == LrState::invalid);
  CHECK((m->read(sgi_register(1, gic_bank::ispendr)) & (1u << 30)) == 0);
  check_clean(*m);
}

TEST_CASE("vgic delivery: another vCPU deactivates an interrupt the holder's guest took without an exit") {
  // vCPU 1's guest (EOImode 1) takes its timer PPI 30 from its LR and drops its priority,
  // without an exit: its LR holds it active, the virtual state still says pending. vCPU
  // 0 then clears its active state (GICR_ICACTIVER0): vCPU 1's fold applies that after
  // what its guest did, its LR lets it go and its CPU deactivates the physical PPI, so
  // the next assertion is delivered. Before, the write found it inactive and was lost:
  // the PPI stayed active on vCPU 1's CPU, its timer never interrupted again.
  auto m = booted(2, 4);
  lr_model::Random random(11);
  m->cpu[1].eoi_mode_split = true;
  m->physical_line(1, 30, true);
  REQUIRE(m->fire_physical(random));
  REQUIRE(m->lr_state_of(1, 30) == LrState::pending);
  REQUIRE(m->guest_acknowledge(1));
  m->physical_line(1, 30, false);  // the guest stops its timer
  REQUIRE(m->guest_eoi(1));        // priority drop only
  REQUIRE(m->lr_state_of(1, 30) == LrState::active);
  m->guest_write(0, sgi_register(1, gic_bank::icactiver), 4, 1u << 30);
  CHECK(m->kicked(1));
  REQUIRE(m->deliver_kick(1));
  CHECK(m->lr_state_of(1, 30) == LrState::invalid);
  CHECK((m->read(sgi_register(1, gic_bank::isactiver)) & (1u << 30)) == 0);
  m->physical_line(1, 30, true);
  REQUIRE(m->fire_physical(random));
  CHECK(m->lr_state_of(1, 30) == LrState::pending);
  CHECK(m->stats.withdrawn_at_acknowledge == 0);
  check_clean(*m);
}

TEST_CASE("vgic delivery: another vCPU's deactivation of an interrupt the holder has not taken changes nothing") {
  // The same write while vCPU 1's guest has not acknowledged the interrupt: it is not
  // active, so it stays pending in vCPU 1's LR and is taken once.
  auto m = booted(2, 4);
  lr_model::Random random(12);
  m->physical_line(1, 30, true);
  REQUIRE(m->fire_physical(random));
  REQUIRE(m->lr_state_of(1, 30) == LrState::pending);
  m->guest_write(0, sgi_register(1, gic_bank::icactiver), 4, 1u << 30);
  REQUIRE(m->deliver_kick(1));
  CHECK(m->lr_state_of(1, 30) == LrState::pending);
  REQUIRE(m->guest_acknowledge(1));
  m->physical_line(1, 30, false);
  REQUIRE(m->guest_eoi(1));
  CHECK(m->acks_of(1, 30) == 1);
  CHECK(m->lr_state_of(1, 30) == LrState::invalid);
  check_clean(*m);
}

TEST_CASE("vgic delivery: a level hardware interrupt an unmasked idle guest takes at once is not trapped") {
  // KVM's way for the common case: the guest takes the exception before it runs one
  // instruction, so it cannot clear its device first; its IAR read runs natively.
  auto m = booted(1, 4);
  lr_model::Random random(7);
  for (uint32_t round = 1; round <= 3; ++round) {
    CAPTURE(round);
    m->guest_unmask(0);  // idles with interrupts on
    m->physical_line(0, 27, true);
    REQUIRE(m->fire_physical(random));  // the exit takes it; the entry's guest takes it at once
    CHECK((m->cpu[0].hcr & (ich_hcr::tall0 | ich_hcr::tall1)) == 0);
    CHECK(m->lr_state_of(0, 27) == LrState::active);
    m->physical_line(0, 27, false);  // its handler silences the timer, then EOIs
    REQUIRE(m->guest_eoi(0));
    CHECK(m->acks_of(0, 27) == round);
  }
  CHECK(m->stats.icc_traps == 0);
  CHECK(m->stats.hardware_level_at_once == 3);
  // Masked (in a handler, say), the same interrupt is checked at its acknowledgement.
  m->physical_line(0, 27, true);
  REQUIRE(m->fire_physical(random));
  CHECK((m->cpu[0].hcr & (ich_hcr::tall0 | ich_hcr::tall1)) != 0);
  m->physical_line(0, 27, false);
  CHECK_FALSE(m->guest_acknowledge(0));  // withdrawn: a spurious INTID
  CHECK(m->stats.icc_traps == 1);
  CHECK(m->acks_of(0, 27) == 3);
  check_clean(*m);
}

TEST_CASE("vgic delivery: unmasked, but something as or more urgent is offered too: the level interrupt is checked") {
  for (const uint8_t sgi_priority : {uint8_t{0x40}, uint8_t{0x80}}) {
    CAPTURE(sgi_priority);
    auto m = booted(1, 4);
    lr_model::Random random(9);
    m->set_priority(0, 27, 0x80);
    m->set_priority(0, 5, sgi_priority);
    m->guest_send_sgi(0, (uint64_t{5} << icc_sgi1r::intid_shift) | 1u, true);  // SGI 5 to itself
    REQUIRE(m->lr_state_of(0, 5) == LrState::pending);
    m->physical_line(0, 27, true);
    REQUIRE(m->fire_physical(random));
    REQUIRE(m->lr_state_of(0, 27) == LrState::pending);
    // The guest may take SGI 5 first (more urgent, or a tie), and the timer only after
    // that handler: its acknowledgement is checked.
    CHECK((m->cpu[0].hcr & (ich_hcr::tall0 | ich_hcr::tall1)) != 0);
    m->guest_unmask(0);  // takes what it is offered first: through the trap
    CHECK(m->stats.icc_traps == 1);
    CHECK(m->stats.hardware_level_at_once == 0);
    REQUIRE(m->guest_eoi(0));
    if (m->lr_state_of(0, 27) == LrState::pending) REQUIRE(m->guest_acknowledge(0));
    m->physical_line(0, 27, false);
    REQUIRE(m->guest_eoi(0));
    CHECK(m->acks_of(0, 27) == 1);
    CHECK(m->acks_of(0, 5) == 1);
    check_clean(*m);
  }
}
