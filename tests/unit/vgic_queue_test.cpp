#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <new>

#include "core/vgic/list_register.hpp"
#include "core/vgic/sgi.hpp"
#include "core/vgic/virq_queue.hpp"

using namespace bulkhead::vgic;

namespace {
Virq virq(uint16_t intid, uint8_t priority, bool hardware = false) {
  Virq v;
  v.intid = intid;
  v.priority = priority;
  v.hardware = hardware;
  v.physical_intid = hardware ? intid : 0;
  return v;
}

uint32_t lr_intid(uint64_t lr) { return decode_list_register(lr).virtual_intid; }
LrState lr_state(uint64_t lr) { return decode_list_register(lr).state; }
uint64_t with_state(uint64_t lr, LrState state) {
  ListRegister decoded = decode_list_register(lr);
  decoded.state = state;
  return encode_list_register(decoded);
}
}  // namespace

TEST_CASE("vgic list registers: ICH_LR_EL2 bit layout") {
  ListRegister timer;
  timer.virtual_intid = 27;
  timer.physical_intid = 27;
  timer.priority = 0xa0;
  timer.group1 = true;
  timer.hardware = true;
  timer.state = LrState::pending;
  // State [63:62] = 01, HW [61], Group [60], Priority [55:48], pINTID [44:32], vINTID [31:0].
  CHECK(encode_list_register(timer) == 0x70a0001b0000001bull);

  ListRegister uart;
  uart.virtual_intid = 33;
  uart.priority = 0x80;
  uart.eoi_maintenance = true;  // bit 41 when HW = 0
  uart.state = LrState::active;
  CHECK(encode_list_register(uart) == 0x8080020000000021ull);

  ListRegister both;
  both.virtual_intid = 1019;
  both.physical_intid = 1019;
  both.hardware = true;
  both.eoi_maintenance = true;  // not encodable with HW = 1: those bits are the pINTID
  both.priority = 0xf8;
  both.state = LrState::pending_active;
  const uint64_t encoded = encode_list_register(both);
  CHECK(encoded == 0xe0f803fb000003fbull);
  const ListRegister decoded = decode_list_register(encoded);
  CHECK(decoded.virtual_intid == 1019);
  CHECK(decoded.physical_intid == 1019);
  CHECK(decoded.hardware);
  CHECK_FALSE(decoded.group1);
  CHECK_FALSE(decoded.eoi_maintenance);
  CHECK(decoded.priority == 0xf8);
  CHECK(decoded.state == LrState::pending_active);
  CHECK(decode_list_register(0x8080020000000021ull).eoi_maintenance);
  CHECK(decode_list_register(0).state == LrState::invalid);

  CHECK(ich_hcr::en == 1);
  CHECK(ich_hcr::uie == 2);
  CHECK(ich_hcr::npie == 8);
  // QEMU cortex-a57 ICH_VTR_EL2: PRIbits 5, PREbits 5, 4 list registers.
  CHECK(list_register_count(0x90000003) == 4);
  CHECK(priority_bits(0x90000003) == 5);
}

TEST_CASE("vgic queue: highest priority first, ties by INTID, overflow stays queued") {
  VirqQueue queue;
  const uint8_t priorities[6] = {0x80, 0x40, 0x40, 0xa0, 0x10, 0x80};
  for (uint16_t i = 0; i < 6; ++i) REQUIRE(queue.add_pending(virq(static_cast<uint16_t>(40 + i), priorities[i])));
  CHECK(queue.size() == 6);
  uint64_t lrs[4] = {};
  const FillResult fill = queue.fill(lrs, 4);
  CHECK(fill.used == 4);
  CHECK(fill.left_out == 2);
  CHECK(lr_intid(lrs[0]) == 44);  // 0x10
  CHECK(lr_intid(lrs[1]) == 41);  // 0x40, lower INTID first
  CHECK(lr_intid(lrs[2]) == 42);  // 0x40
  CHECK(lr_intid(lrs[3]) == 40);  // 0x80 before 45 (0x80) and 43 (0xa0)
  for (uint64_t lr : lrs) CHECK(lr_state(lr) == LrState::pending);
  CHECK(decode_list_register(lrs[0]).priority == 0x10);
  CHECK(decode_list_register(lrs[0]).group1);
  // Maintenance: refill when the guest has taken what it was offered, or has drained the LRs.
  CHECK(fill.underflow);
  CHECK(fill.no_pending);
  CHECK(fill.maintenance_bits() == (ich_hcr::uie | ich_hcr::npie));

  // The guest acknowledges 44 (pending -> active): nothing else changed.
  uint64_t after[4] = {with_state(lrs[0], LrState::active), lrs[1], lrs[2], lrs[3]};
  LrTransition transitions[4];
  REQUIRE(queue.fold_back(after, 4, transitions) == 1);
  CHECK(transitions[0].intid == 44);
  CHECK(transitions[0].pending_consumed);
  CHECK(transitions[0].active_changed);
  CHECK(transitions[0].active);
  CHECK(queue.state_of(44) == LrState::active);
  CHECK(queue.size() == 6);

  // Refill: the active one stays, the waiting ones keep waiting.
  const FillResult second = queue.fill(lrs, 4);
  CHECK(second.left_out == 2);
  CHECK(lr_intid(lrs[0]) == 44);
  CHECK(lr_state(lrs[0]) == LrState::active);

  // The guest EOIs 44 (active -> invalid) and takes and completes 41 (pending -> invalid).
  uint64_t done[4] = {with_state(lrs[0], LrState::invalid), with_state(lrs[1], LrState::invalid), lrs[2], lrs[3]};
  REQUIRE(queue.fold_back(done, 4, transitions) == 2);
  CHECK(transitions[0].intid == 44);
  CHECK_FALSE(transitions[0].pending_consumed);
  CHECK(transitions[0].active_changed);
  CHECK_FALSE(transitions[0].active);
  CHECK(transitions[1].intid == 41);
  CHECK(transitions[1].pending_consumed);
  CHECK_FALSE(transitions[1].active);
  CHECK(queue.state_of(44) == LrState::invalid);
  CHECK(queue.state_of(41) == LrState::invalid);
  CHECK(queue.size() == 4);

  // Everything left now fits: no maintenance needed.
  const FillResult third = queue.fill(lrs, 4);
  CHECK(third.used == 4);
  CHECK(third.left_out == 0);
  CHECK(third.maintenance_bits() == 0);
  CHECK(lr_intid(lrs[0]) == 42);
  CHECK(lr_intid(lrs[1]) == 40);
  CHECK(lr_intid(lrs[2]) == 45);
  CHECK(lr_intid(lrs[3]) == 43);
}

TEST_CASE("vgic queue: active interrupts keep their LR ahead of more urgent pending ones") {
  VirqQueue queue;
  REQUIRE(queue.set(virq(50, 0xf0), LrState::active));
  REQUIRE(queue.add_pending(virq(51, 0x00)));
  uint64_t lrs[2] = {};
  queue.fill(lrs, 2);
  CHECK(lr_intid(lrs[0]) == 50);
  CHECK(lr_intid(lrs[1]) == 51);
  // An edge interrupt re-triggered while active becomes pending+active.
  REQUIRE(queue.add_pending(virq(50, 0xf0)));
  CHECK(queue.state_of(50) == LrState::pending_active);
}

TEST_CASE("vgic queue: maintenance requests that cannot fire at once") {
  VirqQueue queue;
  for (uint16_t i = 0; i < 3; ++i) REQUIRE(queue.set(virq(static_cast<uint16_t>(60 + i), 0x80), LrState::active));
  REQUIRE(queue.add_pending(virq(70, 0x80)));
  uint64_t lrs[3] = {};
  const FillResult all_active = queue.fill(lrs, 3);
  CHECK(all_active.left_out == 1);
  CHECK(all_active.underflow);
  CHECK_FALSE(all_active.no_pending);  // no LR is pending: NPIE would fire immediately

  VirqQueue single;
  REQUIRE(single.add_pending(virq(33, 0x80)));
  REQUIRE(single.add_pending(virq(34, 0x80)));
  uint64_t one[1] = {};
  const FillResult with_one = single.fill(one, 1);
  CHECK(with_one.left_out == 1);
  CHECK_FALSE(with_one.underflow);  // with one LR, "at most one valid" is always true
  CHECK(with_one.no_pending);
}

TEST_CASE("vgic queue: unused list registers are written invalid") {
  VirqQueue queue;
  REQUIRE(queue.add_pending(virq(33, 0x80)));
  uint64_t lrs[4] = {1, 2, 3, 4};
  const FillResult fill = queue.fill(lrs, 4);
  CHECK(fill.used == 1);
  CHECK(lrs[1] == 0);
  CHECK(lrs[3] == 0);
  CHECK(fill.maintenance_bits() == 0);
}

TEST_CASE("vgic queue: hardware interrupts never sit in an LR as pending+active") {
  VirqQueue queue;
  REQUIRE(queue.set(virq(40, 0x80, true), LrState::pending_active));
  uint64_t lrs[4] = {};
  queue.fill(lrs, 4);
  const ListRegister lr = decode_list_register(lrs[0]);
  CHECK(lr.hardware);
  CHECK(lr.physical_intid == 40);
  CHECK(lr.state == LrState::active);
  // The guest deactivates it: the pending part remains for the next fill.
  uint64_t after[4] = {with_state(lrs[0], LrState::invalid), 0, 0, 0};
  LrTransition transitions[4];
  REQUIRE(queue.fold_back(after, 4, transitions) == 1);
  CHECK_FALSE(transitions[0].pending_consumed);
  CHECK(queue.state_of(40) == LrState::pending);
}

TEST_CASE("vgic queue: an LR the guest did not touch reports nothing") {
  VirqQueue queue;
  REQUIRE(queue.add_pending(virq(33, 0x80)));
  uint64_t lrs[4] = {};
  queue.fill(lrs, 4);
  LrTransition transitions[4];
  CHECK(queue.fold_back(lrs, 4, transitions) == 0);
  CHECK(queue.state_of(33) == LrState::pending);
  // A list register holding another INTID than the one written is ignored.
  queue.fill(lrs, 4);
  uint64_t foreign[4] = {encode_list_register({34, 0, 0x80, true, false, false, LrState::invalid}), 0, 0, 0};
  CHECK(queue.fold_back(foreign, 4, transitions) == 0);
  // fold_back without a preceding fill sees nothing.
  CHECK(queue.fold_back(lrs, 4, transitions) == 0);
}

TEST_CASE("vgic queue: capacity and removal") {
  VirqQueue queue;
  for (size_t i = 0; i < VirqQueue::capacity; ++i) REQUIRE(queue.add_pending(virq(static_cast<uint16_t>(i), 0x80)));
  CHECK_FALSE(queue.add_pending(virq(500, 0x80)));
  CHECK(queue.set(virq(3, 0x80), LrState::invalid));
  CHECK(queue.size() == VirqQueue::capacity - 1);
  CHECK(queue.add_pending(virq(500, 0x80)));
  queue.clear();
  CHECK(queue.size() == 0);
}

TEST_CASE("vgic sgi: ICC_SGI1R_EL1 decoding") {
  // INTID 3 to TargetList {1, 3} of four vCPUs.
  SgiTargets targets = decode_sgi1r((3ull << 24) | 0b1010, 0, 4);
  CHECK(targets.intid == 3);
  CHECK(targets.vcpus == 0b1010);
  // Bits naming no vCPU of the partition are ignored.
  targets = decode_sgi1r((15ull << 24) | 0xffff, 0, 3);
  CHECK(targets.intid == 15);
  CHECK(targets.vcpus == 0b111);
  // Self is a valid target.
  CHECK(decode_sgi1r(0b1, 0, 2).vcpus == 0b1);
  // Another cluster (Aff1, Aff2, Aff3) or range is no vCPU of ours.
  CHECK(decode_sgi1r((1ull << 16) | 1, 0, 4).vcpus == 0);
  CHECK(decode_sgi1r((1ull << 32) | 1, 0, 4).vcpus == 0);
  CHECK(decode_sgi1r((1ull << 48) | 1, 0, 4).vcpus == 0);
  CHECK(decode_sgi1r((1ull << 44) | 1, 0, 16).vcpus == 0);
  CHECK(decode_sgi1r((15ull << 44) | 1, 0, 16).vcpus == 0);
  // IRM = 1: everybody but the sender, whatever the affinity fields say.
  targets = decode_sgi1r(icc_sgi1r::irm | (7ull << 24) | (5ull << 16), 2, 4);
  CHECK(targets.intid == 7);
  CHECK(targets.vcpus == 0b1011);
  CHECK(decode_sgi1r(icc_sgi1r::irm, 0, 1).vcpus == 0);
  CHECK(decode_sgi1r(icc_sgi1r::irm, 15, 16).vcpus == 0x7fff);
}

TEST_CASE("vgic queue: a watched LR the guest left alone is no transition") {
  // watch() asks the next fold to report an LR that still offers its interrupt pending
  // (VirtualGic decides a second pend there); fold_back has no one to tell, and the LR
  // the guest did not touch is no transition either way.
  VirqQueue queue;
  REQUIRE(queue.add_pending(virq(40, 0x80)));
  uint64_t lrs[4] = {};
  REQUIRE(queue.fill(lrs, 4).used == 1);
  queue.watch(40);
  CHECK(queue.offered_pending(40));
  LrTransition transitions[4];
  CHECK(queue.fold_back(lrs, 4, transitions) == 0);
  CHECK(queue.offered_pending(40));
}

TEST_CASE("vgic queue: entries are not constructed with the queue, and nothing reads one before it is added") {
  // A queue default-initialised over garbage (as vcpu::Vm is at boot) behaves as a fresh one.
  alignas(VirqQueue) static unsigned char storage[sizeof(VirqQueue)];
  std::memset(storage, 0xa5, sizeof storage);
  VirqQueue& dirty = *new (storage) VirqQueue;
  VirqQueue clean;
  for (VirqQueue* queue : {&dirty, &clean}) {
    REQUIRE(queue->add_pending(virq(40, 0x80)));
    REQUIRE(queue->set(virq(41, 0x40, true), LrState::pending_active));
    REQUIRE(queue->add_pending_here(virq(42, 0x20)));
    queue->drop(40);
    REQUIRE(queue->add_pending(virq(43, 0x10)));
  }
  CHECK(dirty.size() == clean.size());
  uint64_t dirty_lrs[4] = {};
  uint64_t clean_lrs[4] = {};
  const FillResult dirty_fill = dirty.fill(dirty_lrs, 4);
  const FillResult clean_fill = clean.fill(clean_lrs, 4);
  CHECK(dirty_fill.used == clean_fill.used);
  CHECK(dirty_fill.maintenance_bits() == clean_fill.maintenance_bits());
  for (size_t slot = 0; slot < 4; ++slot) CHECK(dirty_lrs[slot] == clean_lrs[slot]);
  for (const uint16_t intid : {40, 41, 42, 43, 44}) CHECK(dirty.state_of(intid) == clean.state_of(intid));
  dirty.~VirqQueue();
}
