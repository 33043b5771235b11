// Targeted sequences for the list-register fast path (fold/sync/add_pending_here), run
// through the model of vgic_lr_model.hpp (the target's exit path, GICv3 LR semantics).
//
// The "Found by the model" tests reproduce defects the model test found (each was marked
// should_fail until fixed); each says what went wrong and checks the architectural outcome.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/vgic/virq_queue.hpp"
#include "tests/unit/vgic_lr_model.hpp"

using namespace bulkhead::vgic;
using lr_model::Machine;
using lr_model::no_vcpu;

namespace {

std::unique_ptr<Machine> machine(uint8_t vcpus, unsigned lrs, uint8_t priority = 0x80) {
  auto m = std::make_unique<Machine>(vcpus, lrs);
  REQUIRE(m->configured());
  m->boot_plain(priority);
  return m;
}
void check_clean(const Machine& m) {
  for (const std::string& violation : m.violations) FAIL_CHECK(violation);
}
uint64_t sgi_to(uint8_t vcpu, uint32_t sgi) { return (uint64_t{sgi} << icc_sgi1r::intid_shift) | (1u << vcpu); }
uint64_t irouter(uint32_t intid) { return lr_model::distributor_base + gicd::irouter + 8 * uint64_t{intid}; }
uint64_t spi_register(uint64_t bank_register, uint32_t intid) {
  return lr_model::distributor_base + bank_register + 4 * uint64_t{intid / 32};
}
void nothing() {}

Virq virq(uint16_t intid, uint8_t priority, bool hardware = false) {
  Virq v;
  v.intid = intid;
  v.priority = priority;
  v.hardware = hardware;
  v.physical_intid = hardware ? intid : 0;
  return v;
}

}  // namespace

TEST_CASE("vgic fast path: all LRs acknowledged while entries wait: NPIE fires once, then UIE brings them in") {
  auto m = machine(1, 2);
  m->cpu[0].eoi_mode_split = true;
  m->set_priority(0, 1, 0x40);
  m->set_priority(0, 2, 0x40);
  m->set_priority(0, 3, 0x80);
  for (const uint32_t sgi : {1u, 2u, 3u}) m->guest_send_sgi(0, sgi_to(0, sgi), true);
  REQUIRE(m->lr_state_of(0, 1) == LrState::pending);
  REQUIRE(m->lr_state_of(0, 2) == LrState::pending);
  REQUIRE(m->lr_state_of(0, 3) == LrState::invalid);  // waits
  CHECK(m->cpu[0].hcr == (ich_hcr::en | ich_hcr::uie | ich_hcr::npie));

  REQUIRE(m->guest_acknowledge(0));
  REQUIRE(m->guest_eoi(0));  // priority drop only: still active
  CHECK_FALSE(m->cpu[0].maintenance_asserted());
  REQUIRE(m->guest_acknowledge(0));
  REQUIRE(m->guest_eoi(0));
  // Both LRs acknowledged: no LR pending, NP fires.
  REQUIRE(m->cpu[0].misr() == ich_misr::no_pending);
  m->exit(0, "maintenance", false, nothing);
  // Both active interrupts keep their LRs; NPIE is not asked for again (it would fire at
  // once); UIE is, and cannot fire while two LRs are valid.
  CHECK(m->lr_state_of(0, 1) == LrState::active);
  CHECK(m->lr_state_of(0, 2) == LrState::active);
  CHECK(m->lr_state_of(0, 3) == LrState::invalid);
  CHECK(m->cpu[0].hcr == (ich_hcr::en | ich_hcr::uie));
  CHECK_FALSE(m->cpu[0].maintenance_asserted());

  REQUIRE(m->guest_deactivate(0, 1));
  REQUIRE(m->cpu[0].misr() == ich_misr::underflow);
  m->exit(0, "maintenance", false, nothing);
  CHECK(m->lr_state_of(0, 3) == LrState::pending);
  CHECK(m->lr_state_of(0, 2) == LrState::active);
  CHECK(m->cpu[0].hcr == ich_hcr::en);  // everything fits again
  REQUIRE(m->guest_acknowledge(0));
  CHECK(m->acks_of(0, 3) == 1);
  check_clean(*m);
}

TEST_CASE("vgic fast path: NPIE is not asked for while the LRs hold only active and pending+active interrupts") {
  // Found by the model: fill/place_all counted a pending+active LR as "a pending entry
  // offered" and asked for NPIE; NP means no LR in the pending state (pending+active is
  // not), so the maintenance interrupt fired at once, and after every exit, as nothing
  // changed: the vCPU livelocked.
  auto m = machine(1, 2);
  m->cpu[0].eoi_mode_split = true;
  m->set_priority(0, 33, 0x40);  // a virtual level line (the UART's)
  m->set_priority(0, 1, 0x60);
  m->set_priority(0, 2, 0xa0);
  m->device_line(0, 0, 33, true);
  m->guest_send_sgi(0, sgi_to(0, 1), true);
  m->guest_send_sgi(0, sgi_to(0, 2), true);
  REQUIRE(m->lr_state_of(0, 33) == LrState::pending);
  REQUIRE(m->lr_state_of(0, 1) == LrState::pending);
  REQUIRE(m->lr_state_of(0, 2) == LrState::invalid);
  REQUIRE(m->guest_acknowledge(0));  // 33
  REQUIRE(m->guest_eoi(0));          // priority drop; the line stays up
  REQUIRE(m->guest_acknowledge(0));  // SGI 1
  REQUIRE(m->cpu[0].maintenance_asserted());
  m->exit(0, "maintenance", false, nothing);
  REQUIRE(m->lr_state_of(0, 33) == LrState::pending_active);  // pending again: its line is up
  REQUIRE(m->lr_state_of(0, 1) == LrState::active);
  CHECK_MESSAGE(!m->cpu[0].maintenance_asserted(), "ICH_HCR_EL2 = " << Machine::hex(m->cpu[0].hcr)
                                                                     << ": NPIE with no LR in the pending state fires at once");
  check_clean(*m);
}

TEST_CASE("vgic fast path: with one LR, an interrupt waiting behind an active one still gets in") {
  // Found by the model: with a single LR holding an active interrupt, neither UIE (fires
  // at once with one LR) nor NPIE (no pending LR) can be used, so nothing was asked for
  // and the waiting interrupt waited for an unrelated exit (a guest idling in WFI waited
  // forever). Now the LR asks for EOI maintenance (ICH_LR.EOI, HW = 0): it fires on the
  // deactivation.
  auto m = machine(1, 1);
  m->set_priority(0, 1, 0x40);
  m->set_priority(0, 2, 0x80);
  m->guest_send_sgi(0, sgi_to(0, 1), true);
  m->guest_send_sgi(0, sgi_to(0, 2), true);
  REQUIRE(m->lr_state_of(0, 1) == LrState::pending);
  REQUIRE(m->guest_acknowledge(0));
  REQUIRE(m->cpu[0].maintenance_asserted());  // NP
  m->exit(0, "maintenance", false, nothing);
  REQUIRE(m->lr_state_of(0, 1) == LrState::active);
  CHECK((m->cpu[0].lr[0] & ich_lr::eoi) != 0);
  REQUIRE(m->guest_eoi(0));  // EOImode 0: deactivated, the LR is free
  CHECK_MESSAGE(m->cpu[0].maintenance_asserted(), "SGI 2 waits and no maintenance interrupt will bring it in");
  CHECK(m->cpu[0].misr() == ich_misr::eoi);
  m->exit(0, "maintenance", false, nothing);
  CHECK(m->lr_state_of(0, 2) == LrState::pending);
  CHECK_FALSE(m->cpu[0].maintenance_asserted());
  REQUIRE(m->guest_acknowledge(0));
  CHECK(m->acks_of(0, 2) == 1);
  check_clean(*m);
}

TEST_CASE("vgic fast path: a maintenance request does not outlive the entries that waited") {
  // Found by the model: an entry waiting for an LR left the queue through requeue (here
  // its level line drops, in its own vCPU's exit) without marking the queue for a sync, so
  // UIE/NPIE stayed in ICH_HCR_EL2. Once the guest freed an LR, U fired; the exit found
  // nothing to place and did not sync, so ICH_HCR_EL2 kept UIE and U fired again at once,
  // after every exit: livelock.
  auto m = machine(1, 2);
  m->set_priority(0, 1, 0x40);
  m->set_priority(0, 2, 0x40);
  m->set_priority(0, 33, 0x80);
  m->guest_send_sgi(0, sgi_to(0, 1), true);
  m->guest_send_sgi(0, sgi_to(0, 2), true);
  m->device_line(0, 0, 33, true);
  REQUIRE(m->lr_state_of(0, 33) == LrState::invalid);  // waits
  REQUIRE((m->cpu[0].hcr & ich_hcr::uie) != 0);
  m->device_line(0, 0, 33, false);  // the guest's access to the device clears it
  CHECK_MESSAGE(m->cpu[0].hcr == ich_hcr::en, "nothing waits any more: ICH_HCR_EL2 = " << Machine::hex(m->cpu[0].hcr));
  REQUIRE(m->guest_acknowledge(0));
  REQUIRE(m->guest_eoi(0));
  CHECK_MESSAGE(!m->cpu[0].maintenance_asserted(),
                "ICH_HCR_EL2 = " << Machine::hex(m->cpu[0].hcr) << ", one LR valid: U fires for nothing");
  m->exit(0, "hvc", false, nothing);
  CHECK_FALSE(m->cpu[0].maintenance_asserted());
  check_clean(*m);
}

TEST_CASE("vgic fast path: a level line dropped while its vCPU runs does not lose the acknowledgement racing it") {
  // Found by the model: vCPU 1's access to a device (a UART read) drops the level line of
  // SPI 33 while vCPU 0 runs with 33 pending in an LR. set_line removes 33's entry at once
  // (stale LR). vCPU 0's guest acknowledges 33 before the kick lands; its exit folds the
  // acknowledgement (33 becomes active) but the entry is gone, so nothing re-queues the
  // active interrupt and sync clears the LR. The guest's EOI then finds no LR: 33 stays
  // active forever, and its next assertion shows as pending+active, which a guest can never
  // acknowledge. The console of a partition would stop.
  auto m = machine(2, 4);
  m->device_line(no_vcpu, 0, 33, true);  // console input: the UART raises its line
  REQUIRE(m->deliver_kick(0));
  REQUIRE(m->lr_state_of(0, 33) == LrState::pending);
  m->device_line(1, 0, 33, false);  // vCPU 1 reads the UART
  REQUIRE(m->kicked(0));
  REQUIRE(m->guest_acknowledge(0));  // just before the kick arrives
  m->deliver_kick(0);
  CHECK_MESSAGE(m->lr_state_of(0, 33) == LrState::active, "vCPU 0's guest holds 33 active; its LR is gone");
  REQUIRE(m->guest_eoi(0));
  m->exit(0, "hvc", false, nothing);
  CHECK_MESSAGE(!m->gic.interrupt(0, 33)->active, "33 stays active after the guest's EOI");
  m->device_line(no_vcpu, 0, 33, true);
  m->deliver_kick(0);
  CHECK_MESSAGE(m->lr_state_of(0, 33) == LrState::pending, "33's next assertion cannot be taken");
  check_clean(*m);
}

TEST_CASE("vgic fast path: a new pend arriving after the guest took the previous one is not lost") {
  // Found by the model: the vGIC clears an interrupt's pending latch only when it folds
  // the guest's acknowledgement, at that vCPU's next exit. Until then a new SGI (or a rising
  // edge, or GICD_ISPENDR) finds the latch still set, is merged into the old pend (no
  // kick), and the fold then clears it: the new pend is lost. A guest that takes an IPI and
  // completes it without exiting loses the next IPI of the same number (Linux: a call-
  // function IPI lost, smp_call_function waiting forever).
  auto m = machine(2, 4);
  struct Source {
    const char* what;
    uint16_t intid;
  };
  for (const Source source : {Source{"SGI 3 from vCPU 1", 3}, Source{"a rising edge of SPI 34", 34},
                              Source{"GICD_ISPENDR for SPI 48 by vCPU 1", 48}}) {
    const std::string what = source.what;
    CAPTURE(what);
    const auto pend = [&] {
      if (source.intid == 3) {
        m->guest_send_sgi(1, sgi_to(0, 3), true);
      } else if (source.intid == 34) {
        m->device_line(no_vcpu, 0, 34, false);
        m->device_line(no_vcpu, 0, 34, true);
      } else {
        m->guest_write(1, spi_register(gic_bank::ispendr, 48), 4, 1u << (48 % 32));
      }
    };
    pend();
    REQUIRE(m->deliver_kick(0));
    REQUIRE(m->lr_state_of(0, source.intid) == LrState::pending);
    REQUIRE(m->guest_acknowledge(0));
    REQUIRE(m->guest_eoi(0));  // taken and completed, no exit
    pend();                     // the next one
    CHECK_MESSAGE(m->kicked(0), "vCPU 0 is not told");
    m->exit(0, "hvc", false, nothing);
    CHECK_MESSAGE(m->lr_state_of(0, source.intid) == LrState::pending, "the second pend is lost");
    if (m->lr_state_of(0, source.intid) == LrState::pending) {
      REQUIRE(m->guest_acknowledge(0));
      REQUIRE(m->guest_eoi(0));
      m->exit(0, "hvc", false, nothing);
    }
    CHECK(m->acks_of(0, source.intid) == m->pends_of(0, source.intid));
  }
  check_clean(*m);
}

TEST_CASE("vgic fast path: re-routing an SPI its old vCPU holds active keeps its deactivation") {
  // Found by the model: GICD_IROUTER moves an active SPI at once: the old vCPU's rebuild
  // drops it from its LRs, the new vCPU's shows it active. The old vCPU's guest (still in
  // its handler) then deactivates it: no LR holds it, so nothing is deactivated, and the
  // new vCPU's guest never took it: it stays active forever and is never delivered again.
  // On a GIC the deactivation reaches the distributor whatever the routing (KVM keeps an
  // active interrupt on its vCPU until it is deactivated). Linux moves interrupts between
  // CPUs at any time (irqbalance).
  auto m = machine(2, 4);
  m->device_line(no_vcpu, 0, 34, true);  // edge SPI 34, routed to vCPU 0
  REQUIRE(m->deliver_kick(0));
  REQUIRE(m->guest_acknowledge(0));
  m->guest_write(1, irouter(34), 8, 1);  // vCPU 1 moves it to vCPU 1 while vCPU 0 handles it
  m->deliver_kick(0);
  CHECK_MESSAGE(m->lr_state_of(0, 34) == LrState::active, "vCPU 0's guest holds 34 active; its LR is gone");
  CHECK_MESSAGE(m->lr_state_of(1, 34) == LrState::invalid, "vCPU 1's LRs show 34, which vCPU 0's guest holds");
  REQUIRE(m->guest_eoi(0));
  m->exit(0, "hvc", false, nothing);
  CHECK_MESSAGE(!m->gic.interrupt(0, 34)->active, "vCPU 0's EOI is lost: 34 stays active");
  m->device_line(no_vcpu, 0, 34, false);
  m->device_line(no_vcpu, 0, 34, true);
  m->deliver_kick(1);
  CHECK_MESSAGE(m->lr_state_of(1, 34) == LrState::pending, "34's next edge cannot be taken");
  check_clean(*m);
}

TEST_CASE("vgic fast path: re-routing an SPI pending in a running vCPU's LR delivers it once") {
  // Found by the model: the SPI is moved at once; the new vCPU (here the one writing
  // GICD_IROUTER) loads it from its own exit while the old vCPU still runs with it pending
  // in an LR. Both guests can acknowledge it: one edge, two interrupts. The old vCPU's fold
  // then changes the SPI's state without telling the new vCPU (no kick, no queue update),
  // whose LR goes on offering it. KVM avoids this by moving an interrupt only once it has
  // left the old vCPU's LRs.
  auto m = machine(2, 4);
  m->device_line(no_vcpu, 0, 34, true);
  REQUIRE(m->deliver_kick(0));
  REQUIRE(m->lr_state_of(0, 34) == LrState::pending);
  m->guest_write(1, irouter(34), 8, 1);
  CHECK_MESSAGE(m->lr_state_of(1, 34) == LrState::invalid, "34 is offered on vCPU 1 while pending in vCPU 0's LR");
  REQUIRE(m->guest_acknowledge(0));  // before the kick lands
  m->guest_acknowledge(1);
  CHECK_MESSAGE(m->acks_of(0, 34) == 1, "one edge, acknowledged " << m->acks_of(0, 34) << " times");
  check_clean(*m);
}

TEST_CASE("vgic fast path: more active interrupts than LRs do not lose a deactivation") {
  // Found by the model (GICD/GICR_ISACTIVER writes, as a guest restoring state makes
  // them): three active interrupts and two LRs; placement keeps the two most urgent, the
  // interrupt the guest is handling loses its LR, and its EOI deactivates nothing (no
  // LRENPIE/EOIcount handling): it stays active forever.
  auto m = machine(1, 2);
  m->set_priority(0, 1, 0x80);
  m->set_priority(0, 2, 0x40);
  m->set_priority(0, 3, 0x40);
  m->guest_send_sgi(0, sgi_to(0, 1), true);
  REQUIRE(m->guest_acknowledge(0));
  m->guest_write(0, Machine::redistributor(0) + gicr::sgi_base + gic_bank::isactiver, 4, 0b1100);
  REQUIRE(m->guest_eoi(0));  // SGI 1, EOImode 0
  m->exit(0, "hvc", false, nothing);
  CHECK_MESSAGE(!m->gic.interrupt(0, 1)->active, "the guest's EOI of SGI 1 is lost");
  check_clean(*m);
}

TEST_CASE("vgic fast path: a remote vCPU's interrupt changed while it runs: its LRs stay stale until its own exit") {
  auto m = machine(2, 4);
  m->guest_write(0, irouter(33), 8, 1);  // the UART SPI to vCPU 1
  m->device_line(no_vcpu, 1, 33, true);
  REQUIRE(m->deliver_kick(1));
  REQUIRE(m->lr_state_of(1, 33) == LrState::pending);
  const lr_model::CpuInterface before = m->cpu[1];
  // vCPU 0 raises 33's priority and disables it while vCPU 1 runs.
  m->set_priority(0, 33, 0x20);
  m->guest_write(0, spi_register(gic_bank::icenabler, 33), 4, 1u << (33 % 32));
  CHECK(std::equal(before.lr, before.lr + 4, m->cpu[1].lr));  // vCPU 0's exits wrote none of vCPU 1's LRs
  CHECK(before.hcr == m->cpu[1].hcr);
  CHECK(m->kicked(1));
  CHECK(m->gic.needs_sync(1));
  CHECK_FALSE(m->gic.needs_sync(0));
  // vCPU 1's guest takes it from its stale LR before the kick lands: a pending interrupt,
  // only disabled since, so the acknowledgement stands.
  REQUIRE(m->guest_acknowledge(1));
  REQUIRE(m->deliver_kick(1));
  CHECK(m->lr_state_of(1, 33) == LrState::active);  // kept for its deactivation
  for (unsigned n = 0; n < 4; ++n) {
    const ListRegister lr = decode_list_register(m->cpu[1].lr[n]);
    if (lr.virtual_intid == 33 && lr.state != LrState::invalid) CHECK(lr.priority == 0x20);
  }
  REQUIRE(m->guest_eoi(1));
  m->exit(1, "hvc", false, nothing);
  CHECK(m->lr_state_of(1, 33) == LrState::invalid);  // its line is up, but it is disabled
  CHECK_FALSE(m->gic.interrupt(1, 33)->active);
  CHECK(m->gic.interrupt(1, 33)->pending());
  m->guest_write(1, spi_register(gic_bank::isenabler, 33), 4, 1u << (33 % 32));
  CHECK(m->lr_state_of(1, 33) == LrState::pending);
  check_clean(*m);
}

TEST_CASE("vgic fast path: an exit that changed nothing writes no LR and keeps the maintenance request") {
  VirqQueue queue;
  for (uint16_t intid = 40; intid < 46; ++intid) REQUIRE(queue.add_pending(virq(intid, 0x80)));
  uint64_t lrs[4] = {};
  const FillResult fill = queue.fill(lrs, 4);
  REQUIRE(fill.left_out == 2);
  CHECK_FALSE(queue.needs_sync());
  LrTransition transitions[4];
  CHECK(queue.fold_back(lrs, 4, transitions) == 0);
  CHECK_FALSE(queue.needs_sync());
  uint64_t written[4] = {};
  const SyncResult sync = queue.sync(written, 4);
  CHECK(sync.written == 0);
  CHECK(sync.maintenance == fill.maintenance_bits());
  // Only live LRs are read back, and an LR whose state is gone (ICH_ELRSR_EL2) need not be.
  unsigned reads = 0;
  queue.fold(4, [&](size_t slot, uint64_t value) {
    ++reads;
    return slot == 0 ? value & ~ich_lr::state_mask : value;  // LR 0 deactivated (ELRSR)
  }, [](const LrTransition&) {});
  CHECK(reads == 4);
  CHECK(queue.live_mask() == 0b1110);
  CHECK(queue.needs_sync());  // an entry waits and an LR is free
}

TEST_CASE("vgic fast path: add_pending_here places directly only when the queue is in step with the LRs") {
  uint64_t lrs[4] = {};
  SUBCASE("clean, a free LR: that LR only, no rebuild of the rest") {
    VirqQueue queue;
    REQUIRE(queue.add_pending(virq(33, 0x80)));
    queue.sync(lrs, 4);
    REQUIRE(queue.live_mask() == 0b1);
    REQUIRE(queue.add_pending_here(virq(27, 0x40, true)));
    CHECK_FALSE(queue.dirty());
    CHECK(queue.needs_sync());
    uint64_t written[4] = {};
    const SyncResult sync = queue.sync(written, 4);
    CHECK(sync.written == 0b10);
    const ListRegister lr = decode_list_register(written[1]);
    CHECK(lr.virtual_intid == 27);
    CHECK(lr.hardware);
    CHECK(lr.physical_intid == 27);
    CHECK(lr.state == LrState::pending);
    CHECK(lr.priority == 0x40);
    CHECK(sync.maintenance == 0);
    CHECK(queue.live_mask() == 0b11);
    CHECK_FALSE(queue.needs_sync());
  }
  SUBCASE("already queued (active): made pending+active the ordinary way") {
    VirqQueue queue;
    REQUIRE(queue.set(virq(40, 0x80), LrState::active));
    queue.sync(lrs, 4);
    REQUIRE(queue.add_pending_here(virq(40, 0x80)));
    CHECK(queue.dirty());
    CHECK(queue.state_of(40) == LrState::pending_active);
    uint64_t written[4] = {};
    CHECK(queue.sync(written, 4).written == 0b1);
    CHECK(decode_list_register(written[0]).state == LrState::pending_active);
  }
  SUBCASE("an entry changed since the last sync: no shortcut") {
    VirqQueue queue;
    REQUIRE(queue.add_pending(virq(33, 0x80)));
    queue.sync(lrs, 4);
    REQUIRE(queue.set(virq(33, 0x80), LrState::pending_active));
    REQUIRE(queue.add_pending_here(virq(34, 0x80)));
    CHECK(queue.dirty());
    uint64_t written[4] = {};
    CHECK(queue.sync(written, 4).written == 0b11);
    CHECK(decode_list_register(written[0]).state == LrState::pending_active);
    CHECK(decode_list_register(written[1]).virtual_intid == 34);
  }
  SUBCASE("entries wait for an LR: placed by urgency, not into the first free LR") {
    VirqQueue queue;
    for (uint16_t intid = 40; intid < 45; ++intid) REQUIRE(queue.add_pending(virq(intid, 0x80)));
    REQUIRE(queue.fill(lrs, 4).left_out == 1);
    REQUIRE(queue.add_pending_here(virq(27, 0x00, true)));  // the most urgent of all
    CHECK(queue.dirty());
    uint64_t written[4] = {};
    const SyncResult sync = queue.sync(written, 4);
    bool placed = false;
    for (const uint64_t value : written) placed = placed || decode_list_register(value).virtual_intid == 27;
    CHECK(placed);
    CHECK(sync.maintenance != 0);  // two wait now
  }
  SUBCASE("no free LR: no shortcut") {
    VirqQueue queue;
    for (uint16_t intid = 40; intid < 44; ++intid) REQUIRE(queue.add_pending(virq(intid, 0x80)));
    REQUIRE(queue.fill(lrs, 4).left_out == 0);
    REQUIRE(queue.add_pending_here(virq(27, 0x40, true)));
    CHECK(queue.dirty());
    uint64_t written[4] = {};
    const SyncResult sync = queue.sync(written, 4);
    CHECK(decode_list_register(written[0]).virtual_intid == 27);  // most urgent first
    CHECK(sync.maintenance == (ich_hcr::uie | ich_hcr::npie));
  }
  SUBCASE("an LR still to be cleared: not reused before it is") {
    VirqQueue queue;
    REQUIRE(queue.add_pending(virq(33, 0x80)));
    queue.sync(lrs, 4);
    REQUIRE(queue.set(virq(33, 0x80), LrState::invalid));  // LR 0 is stale now
    REQUIRE(queue.add_pending_here(virq(27, 0x40, true)));
    CHECK(queue.dirty());
    uint64_t written[4] = {};
    const SyncResult sync = queue.sync(written, 4);
    CHECK((sync.written & 0b1) != 0);
    unsigned valid = 0;
    for (unsigned n = 0; n < 4; ++n) {
      if ((sync.written >> n & 1u) != 0 && decode_list_register(written[n]).state != LrState::invalid) {
        ++valid;
        CHECK(decode_list_register(written[n]).virtual_intid == 27);
      }
    }
    CHECK(valid == 1);
    CHECK(queue.live_mask() != 0);
  }
}

TEST_CASE("vgic fast path: hardware interrupts on the running vCPU take the shortcut only when nothing is pending a rebuild") {
  auto m = machine(2, 4);
  // Timer PPI 27 on vCPU 0, taken on its own CPU: one LR written, no rebuild.
  m->physical_line(0, 27, true);
  lr_model::Random random(7);
  const unsigned writes = m->stats.lr_writes;
  REQUIRE(m->fire_physical(random));
  CHECK(m->lr_state_of(0, 27) == LrState::pending);
  CHECK(m->stats.lr_writes == writes + 1);
  REQUIRE(m->guest_acknowledge(0));
  m->physical_line(0, 27, false);  // the guest's handler silences the timer
  REQUIRE(m->guest_eoi(0));
  // A register write by vCPU 1 marks vCPU 0 for a rebuild; the next hardware interrupt on
  // vCPU 0 goes through the rebuild, and is there all the same.
  m->guest_write(1, Machine::redistributor(0) + gicr::sgi_base + gic_bank::ispendr, 4, 1u << 5);
  REQUIRE(m->gic.queue(0).rebuild_requested());
  m->physical_line(0, 30, true);
  REQUIRE(m->fire_physical(random));
  CHECK(m->lr_state_of(0, 30) == LrState::pending);
  CHECK(m->lr_state_of(0, 5) == LrState::pending);
  CHECK(m->lr_state_of(0, 27) == LrState::invalid);
  check_clean(*m);
}

TEST_CASE("vgic fast path: clear() and reset() leave the LRs still holding entries to be cleared") {
  VirqQueue queue;
  for (uint16_t intid = 40; intid < 43; ++intid) REQUIRE(queue.add_pending(virq(intid, 0x80)));
  uint64_t lrs[4] = {};
  queue.fill(lrs, 4);
  REQUIRE(queue.live_mask() == 0b111);
  queue.clear();
  CHECK(queue.size() == 0);
  CHECK(queue.needs_sync());
  uint64_t written[4] = {~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
  const SyncResult sync = queue.sync(written, 4);
  CHECK(sync.written == 0b111);
  for (unsigned n = 0; n < 3; ++n) CHECK(written[n] == 0);
  CHECK(queue.live_mask() == 0);
  CHECK(queue.sync(written, 4).written == 0);

  // A partition reset: every vCPU's live LRs are written invalid at its next entry.
  auto m = machine(2, 4);
  m->guest_send_sgi(0, (uint64_t{2} << icc_sgi1r::intid_shift) | 0b11, true);
  m->deliver_kick(1);
  REQUIRE(m->lr_state_of(0, 2) == LrState::pending);
  REQUIRE(m->lr_state_of(1, 2) == LrState::pending);
  m->gic.reset();
  for (uint8_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(m->gic.needs_sync(k));
    uint64_t values[4] = {};
    std::copy(m->cpu[k].lr, m->cpu[k].lr + 4, values);
    const SyncResult after = m->gic.sync(k, values, 4);
    CHECK(after.written != 0);
    for (const uint64_t value : values) CHECK(list_register_state(value) == LrState::invalid);
    CHECK(after.maintenance == 0);
    CHECK(m->gic.queue(k).live_mask() == 0);
  }
}

TEST_CASE("vgic fast path: taken_at_once only for the one checked LR an unmasked idle guest takes first") {
  Virq timer = virq(27, 0x40, true);
  timer.checked = true;
  GuestInterruptMask idle;
  idle.irqs_masked = false;
  idle.fiqs_masked = false;
  idle.group0_enabled = true;
  idle.group1_enabled = true;
  idle.priority_mask = 0xff;
  idle.handling = false;
  constexpr uint64_t check_bits = ich_hcr::tall0 | ich_hcr::tall1;
  uint64_t lrs[4] = {};
  VirqQueue queue;
  REQUIRE(queue.add_pending(timer));
  REQUIRE((queue.sync(lrs, 4).maintenance & check_bits) == check_bits);  // armed: the owner decides
  CHECK(queue.taken_at_once(idle, 27));
  CHECK_FALSE(queue.taken_at_once(GuestInterruptMask{}, 27));  // the default: masked, in a handler
  CHECK_FALSE(queue.taken_at_once(idle, 30));  // its line was not just seen asserted
  GuestInterruptMask guest = idle;
  SUBCASE("IRQs masked") { guest.irqs_masked = true; }
  SUBCASE("in a handler") { guest.handling = true; }
  SUBCASE("Group 1 disabled") { guest.group1_enabled = false; }
  SUBCASE("the priority mask lets it through only below 0x40") { guest.priority_mask = 0x40; }
  SUBCASE("another LR pending at the same priority") { REQUIRE(queue.add_pending(virq(33, 0x40))); }
  SUBCASE("another LR pending, more urgent") { REQUIRE(queue.add_pending(virq(33, 0x20))); }
  SUBCASE("a second checked LR") {
    Virq other = virq(30, 0x60, true);
    other.checked = true;
    REQUIRE(queue.add_pending(other));
  }
  queue.sync(lrs, 4);
  CHECK_FALSE(queue.taken_at_once(guest, 27));
}

TEST_CASE("vgic fast path: taken_at_once with a less urgent LR pending, and for Group 0 by PSTATE.F") {
  GuestInterruptMask idle;
  idle.irqs_masked = false;
  idle.fiqs_masked = false;
  idle.group0_enabled = true;
  idle.group1_enabled = true;
  idle.priority_mask = 0xff;
  idle.handling = false;
  uint64_t lrs[4] = {};
  VirqQueue queue;
  Virq timer = virq(27, 0x40, true);
  timer.checked = true;
  timer.group1 = false;
  REQUIRE(queue.add_pending(timer));
  REQUIRE(queue.add_pending(virq(33, 0x80)));  // less urgent: taken after
  queue.sync(lrs, 4);
  CHECK(queue.taken_at_once(idle, 27));
  GuestInterruptMask fiqs_masked = idle;
  fiqs_masked.fiqs_masked = true;
  CHECK_FALSE(queue.taken_at_once(fiqs_masked, 27));
  GuestInterruptMask irqs_masked = idle;
  irqs_masked.irqs_masked = true;
  CHECK(queue.taken_at_once(irqs_masked, 27));  // a virtual FIQ: PSTATE.I does not mask it
}
