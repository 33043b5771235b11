// The interrupt exit's fast path (VirtualGic::refire, VirqQueue::refire_slot): when a
// hardware interrupt firing again goes straight back into the LR its guest has just
// finished with, and when the full path (fold, hardware_interrupt, sync) runs instead.
// Run through the model of vgic_lr_model.hpp, which tries the fast path first as
// handle_irq_exit() does and checks every LR and ICH_HCR_EL2 value it leaves.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "core/vgic/virtual_gic.hpp"
#include "tests/unit/vgic_lr_model.hpp"

using namespace bulkhead::vgic;
using lr_model::Machine;

namespace {

constexpr uint16_t timer = 27;  // the virtual timer PPI, hardware-backed in the model

std::unique_ptr<Machine> machine(uint8_t vcpus, unsigned lrs) {
  auto m = std::make_unique<Machine>(vcpus, lrs);
  REQUIRE(m->configured());
  m->boot_plain(0x80);
  return m;
}
void check_clean(const Machine& m) {
  for (const std::string& violation : m.violations) FAIL_CHECK(violation);
}

// The timer fires on vCPU 0 (the full path: it has no entry yet), and its guest takes it
// and EOIs it with the line still asserted: the physical interrupt can fire again.
void timer_taken_and_finished(Machine& m, lr_model::Random& random) {
  m.physical_line(0, timer, true);
  REQUIRE(m.fire_physical(random));
  REQUIRE(m.lr_state_of(0, timer) == LrState::pending);
  REQUIRE(m.guest_acknowledge(0));
  REQUIRE(m.guest_eoi(0));
  REQUIRE(m.lr_state_of(0, timer) == LrState::invalid);
}

// What refire() answers now for the timer on vCPU 0, without changing anything when it
// refuses (nothing written).
bool refire_applies(Machine& m) {
  unsigned writes = 0;
  uint64_t control = 0;
  const bool taken = m.gic.refire(
      0, timer, m.cpu[0].elrsr(), [&](size_t, uint64_t) { ++writes; }, [&] { return m.guest_mask(0); }, control);
  CHECK(writes == (taken ? 1u : 0u));
  return taken;
}

}  // namespace

TEST_CASE("vgic refire: a hardware interrupt firing again goes back into the LR its guest finished with") {
  auto m = machine(1, 4);
  lr_model::Random random(3);
  timer_taken_and_finished(*m, random);
  const unsigned writes = m->stats.lr_writes;
  const unsigned syncs = m->stats.syncs;
  REQUIRE(m->fire_physical(random));
  CHECK(m->stats.refires == 1);
  CHECK(m->stats.lr_writes == writes + 1);  // that LR only
  CHECK(m->stats.syncs == syncs);           // no fold, no sync
  CHECK(m->lr_state_of(0, timer) == LrState::pending);
  CHECK_FALSE(m->gic.needs_sync(0));
  // The guest is masked: its acknowledgement is checked (TALL1), as after a full sync.
  CHECK((m->cpu[0].hcr & ich_hcr::tall1) != 0);
  // Taken and finished again, and again the fast path; then the line drops for good.
  REQUIRE(m->guest_acknowledge(0));
  REQUIRE(m->guest_eoi(0));
  REQUIRE(m->fire_physical(random));
  CHECK(m->stats.refires == 2);
  REQUIRE(m->guest_acknowledge(0));
  m->physical_line(0, timer, false);
  REQUIRE(m->guest_eoi(0));
  m->drain(random);
  check_clean(*m);
}

TEST_CASE("vgic refire: an unmasked idle guest takes it at once, without the acknowledgement check") {
  auto m = machine(1, 4);
  lr_model::Random random(5);
  timer_taken_and_finished(*m, random);
  m->guest_unmask(0);
  const unsigned at_once = m->stats.hardware_level_at_once;
  REQUIRE(m->fire_physical(random));
  CHECK(m->stats.refires == 1);
  CHECK(m->stats.hardware_level_at_once == at_once + 1);
  m->physical_line(0, timer, false);
  m->drain(random);
  check_clean(*m);
}

TEST_CASE("vgic refire: anything unusual takes the full path, which nothing about the fast path changed") {
  auto m = machine(2, 4);
  lr_model::Random random(9);
  SUBCASE("the first interrupt: no entry, no LR") {
    m->physical_line(0, timer, true);
    CHECK_FALSE(refire_applies(*m));
  }
  SUBCASE("the guest has not finished with it: its LR is not empty") {
    m->physical_line(0, timer, true);
    REQUIRE(m->fire_physical(random));
    CHECK_FALSE(refire_applies(*m));  // still pending in its LR
    REQUIRE(m->guest_acknowledge(0));
    CHECK_FALSE(refire_applies(*m));  // active in its LR
  }
  SUBCASE("another interrupt is live in an LR") {
    timer_taken_and_finished(*m, random);
    m->guest_send_sgi(0, (uint64_t{3} << icc_sgi1r::intid_shift) | 1u, true);  // SGI 3 to itself
    REQUIRE(m->lr_state_of(0, 3) == LrState::pending);
    CHECK_FALSE(refire_applies(*m));
    REQUIRE(m->fire_physical(random));
    CHECK(m->stats.refires == 0);
    CHECK(m->lr_state_of(0, timer) == LrState::pending);
  }
  SUBCASE("a rebuild is due (another vCPU reprioritised it)") {
    timer_taken_and_finished(*m, random);
    m->guest_write(1, Machine::redistributor(0) + gicr::sgi_base + gic_bank::ipriorityr + timer, 1, 0x40);
    REQUIRE(m->gic.queue(0).rebuild_requested());
    CHECK_FALSE(refire_applies(*m));
    REQUIRE(m->fire_physical(random));
    CHECK(m->stats.refires == 0);
    CHECK(m->lr_state_of(0, timer) == LrState::pending);
  }
  SUBCASE("a software pend came on top of the line (GICR_ISPENDR0 by its own vCPU)") {
    timer_taken_and_finished(*m, random);
    m->guest_write(0, Machine::redistributor(0) + gicr::sgi_base + gic_bank::ispendr, 4, 1u << timer);
    CHECK_FALSE(refire_applies(*m));
  }
  SUBCASE("the interrupt is not the one its LR held") {
    timer_taken_and_finished(*m, random);
    unsigned writes = 0;
    uint64_t control = 0;
    CHECK_FALSE(m->gic.refire(
        0, 30, m->cpu[0].elrsr(), [&](size_t, uint64_t) { ++writes; }, [&] { return m->guest_mask(0); }, control));
    CHECK_FALSE(m->gic.refire(
        1, timer, m->cpu[1].elrsr(), [&](size_t, uint64_t) { ++writes; }, [&] { return m->guest_mask(1); }, control));
    CHECK(writes == 0);
    CHECK(refire_applies(*m));  // and for the right one, on the right vCPU, it applies
  }
  m->physical_line(0, timer, false);
  m->drain(random);
  check_clean(*m);
}
