// One vCPU's virtual interrupts waiting for, or sitting in, its list registers, and what
// the hardware LRs hold.
//
// Placement. `fill` places the most urgent entries into the N list registers the CPU has
// (4 on QEMU's cortex-a57): active ones first (an active interrupt must stay visible so
// the guest can deactivate it), then pending ones by priority (lower value first), ties
// by lower INTID. What does not fit stays queued and `fill` asks for a maintenance
// interrupt so the target can refill:
//   - NPIE (no LR pending) when some LR holds a pending entry: fires once the guest has
//     acknowledged everything it was offered;
//   - UIE (underflow, at most one valid LR) with two or more LRs: fires once the guest has
//     deactivated enough. NPIE alone would fire at once when every LR holds an active
//     interrupt; UIE alone with one LR would fire at once, so neither is used then.
// `sync` is the cheap path the target takes on every entry: it rewrites only the LRs
// whose content must change (an entry added or changed since, an LR to clear) and puts
// new entries into free LRs. Whenever everything fits, the LRs then hold exactly what
// `fill` would put there, so no priority order is lost (the CPU interface itself picks
// the most urgent valid LR); when an entry finds no free LR, `sync` falls back to `fill`.
// Nothing changed since the last sync: nothing is written at all.
//
// Read-back. Only LRs written with a valid entry (`live_mask`) can change: the guest
// acknowledges (pending -> active) and deactivates (-> invalid), nothing else. `fold_back`
// compares each live LR with what was written. The difference is what the guest did:
// acknowledged the pending interrupt (pending consumed) and/or changed its active state.
// Only that difference is applied, to the entry and reported to the caller, so changes
// another CPU made to the entry meanwhile (a guest ICPENDR write, a new pending SGI) are
// not undone by a stale LR. The LR's new content becomes the baseline; entries neither
// pending nor active afterwards leave the queue.
//
// Level-triggered interrupts: the queue only sees the latch; the owner re-queues a
// level interrupt whose line is still asserted after the guest consumed it.
// Hardware-backed entries never go into an LR as pending+active: the pending part waits
// until the active one is deactivated (the physical interrupt can only be active once).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/vgic/interrupt.hpp"
#include "core/vgic/list_register.hpp"

namespace bulkhead::vgic {

struct Virq {
  uint16_t intid = 0;
  uint16_t physical_intid = 0;  // hardware only
  uint8_t priority = 0;
  bool group1 = true;
  bool hardware = false;
};

struct FillResult {
  size_t used = 0;      // LRs written with a valid entry (the rest were written invalid)
  size_t left_out = 0;  // entries still waiting
  bool underflow = false;
  bool no_pending = false;
  // OR into ICH_HCR_EL2 (with En).
  uint64_t maintenance_bits() const { return (underflow ? ich_hcr::uie : 0) | (no_pending ? ich_hcr::npie : 0); }
};

// What one sync wrote: bit n of `written` set = list_registers[n] holds the new value of
// LR n, which the target must write; the other LRs keep what the hardware holds.
struct SyncResult {
  uint32_t written = 0;
  uint64_t maintenance = 0;  // ICH_HCR_EL2 maintenance bits now wanted
};

// What the guest did to one interrupt while it sat in a list register. No default
// member values: arrays of them are filled before they are read, and an exit should not
// pay for clearing them.
struct LrTransition {
  uint16_t intid;
  bool pending_consumed;  // acknowledged: clear the pending latch
  bool active_changed;    // then the active state is `active`
  bool active;
};

class VirqQueue {
 public:
  static constexpr size_t capacity = private_interrupt_count + max_owned_spis;
  static constexpr size_t max_list_registers = 16;

  // Drops every entry; the LRs the hardware holds stay known, so the next sync clears
  // the ones no entry needs any more.
  void clear();
  // Inserts or replaces the entry for virq.intid with this state; `invalid` removes it.
  // False only when full (the interrupt stays pending at its source). Inline, as the
  // other per-exit operations: an interrupt pended on the fast path lands here.
  bool set(const Virq& virq, LrState state) {
    const size_t index = find(virq.intid);
    if (state == LrState::invalid) {
      if (index < capacity) remove(index);
      return true;
    }
    if (index < capacity) {
      Entry& entry = entries_[index];
      if (entry.state != state || entry.virq.priority != virq.priority || entry.virq.group1 != virq.group1) {
        flags_ |= flag_dirty;
      }
      entry.virq = virq;
      entry.state = state;
      return true;
    }
    if (count_ == capacity) return false;
    Entry& entry = entries_[count_++];
    entry.virq = virq;
    entry.state = state;
    entry.slot = no_slot;
    flags_ |= flag_dirty;
    return true;
  }
  // Makes a new interrupt pending straight in a free LR when the queue is otherwise in
  // step with the LRs and nothing waits for one: the next sync only writes that LR. For
  // the vCPU making the call, which syncs before it runs again (another vCPU's LRs would
  // read back as if the guest had consumed it). Otherwise as add_pending.
  bool add_pending_here(const Virq& virq) {
    const uint32_t free = ~live_ & lr_mask_;
    if (flags_ != 0 || stale_ != 0 || maintenance_ != 0 || free == 0 || count_ == capacity ||
        find(virq.intid) != capacity) {
      return add_pending(virq);
    }
    const auto slot = static_cast<uint8_t>(__builtin_ctz(free));
    Entry& entry = entries_[count_++];
    entry.virq = virq;
    entry.state = LrState::pending;
    entry.slot = slot;
    write_slot(slot, entry);
    unwritten_ |= uint32_t{1} << slot;
    flags_ |= flag_unwritten;
    return true;
  }
  // Makes the interrupt pending (pending+active if it is active). False when full.
  bool add_pending(const Virq& virq) {
    const size_t index = find(virq.intid);
    const bool active = index < capacity && has_active(entries_[index].state);
    return set(virq, make_state(true, active));
  }
  LrState state_of(uint32_t intid) const;
  size_t size() const { return count_; }
  // Some entry or LR differs from what the hardware holds: the next sync writes LRs.
  bool dirty() const { return (flags_ & flag_dirty) != 0; }
  // The owner asks for the queue to be rebuilt from the interrupt state before the next
  // sync (it changed in ways not worth patching entry by entry).
  void request_rebuild() { flags_ |= flag_rebuild; }
  bool rebuild_requested() const { return (flags_ & flag_rebuild) != 0; }
  void rebuild_done() { flags_ &= static_cast<uint8_t>(~flag_rebuild); }
  // The LRs may need writing: a rebuild is due or an entry changed. One load: this is
  // asked on every exit.
  bool needs_sync() const { return flags_ != 0; }

  // Writes all `lr_count` list register values (at most max_list_registers).
  FillResult fill(uint64_t* list_registers, size_t lr_count);
  // Brings the LRs in line with the entries, writing as few as possible (see above):
  // calls `write_lr(slot, value)` for each LR that changes; returns the ICH_HCR_EL2
  // maintenance bits now wanted. Inline: it runs on every entry after a change.
  template <typename WriteLr>
  uint64_t sync(size_t lr_count, WriteLr&& write_lr);
  // The same into an array: list_registers[n] for each LR n written (SyncResult::written).
  SyncResult sync(uint64_t* list_registers, size_t lr_count) {
    SyncResult result;
    result.maintenance = sync(lr_count, [&](size_t slot, uint64_t value) {
      list_registers[slot] = value;
      result.written |= uint32_t{1} << slot;
    });
    return result;
  }
  // Bit n: LR n holds a valid entry, as last written or read back.
  uint32_t live_mask() const { return live_; }
  // Reads back the live list registers through `read_lr(slot, written_value)` (the LR's
  // value now; the target may answer from ICH_ELRSR_EL2 without reading the LR when it
  // is empty: the written value with State 0) and calls `on_transition(LrTransition)`
  // once per LR the guest changed. Inline: it runs on every exit with a live LR.
  template <typename ReadLr, typename OnTransition>
  void fold(size_t lr_count, ReadLr&& read_lr, OnTransition&& on_transition);
  // The same from an array (list_registers[n] for each live n; the others are not read),
  // writing the transitions into `transitions` (room for lr_count); returns how many.
  size_t fold_back(const uint64_t* list_registers, size_t lr_count, LrTransition* transitions) {
    size_t count = 0;
    fold(
        lr_count, [list_registers](size_t slot, uint64_t) { return list_registers[slot]; },
        [&](const LrTransition& transition) { transitions[count++] = transition; });
    return count;
  }

 private:
  static constexpr uint8_t no_slot = 0xff;
  struct Entry {
    Virq virq;
    LrState state = LrState::invalid;
    uint8_t slot = no_slot;  // the LR holding it
  };
  // What LR n holds: the hardware's content as last written or read back (an LR the
  // guest did not touch reads back exactly this value).
  struct Held {
    uint64_t value = 0;
    uint16_t intid = 0;
    LrState state = LrState::invalid;
  };

  size_t find(uint32_t intid) const {  // capacity when absent
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].virq.intid == intid) return i;
    }
    return capacity;
  }
  void remove(size_t index) {
    // An LR still holding it must be cleared by the next sync. Order does not matter:
    // placement selects by urgency.
    const uint8_t slot = entries_[index].slot;
    if (slot != no_slot && (live_ & (uint32_t{1} << slot)) != 0) {
      stale_ |= uint32_t{1} << slot;
      flags_ |= flag_dirty;
    }
    --count_;
    if (index != count_) move_entry(index, count_);
  }
  // Field by field: a whole-struct copy becomes a memcpy call in the freestanding build.
  void move_entry(size_t to, size_t from) {
    Entry& target = entries_[to];
    const Entry& source = entries_[from];
    target.virq.intid = source.virq.intid;
    target.virq.physical_intid = source.virq.physical_intid;
    target.virq.priority = source.virq.priority;
    target.virq.group1 = source.virq.group1;
    target.virq.hardware = source.virq.hardware;
    target.state = source.state;
    target.slot = source.slot;
  }
  // What fold_back does to the entry of an LR the guest changed (`held` before the
  // change); true when the LR is free afterwards.
  struct TransitionResult {
    LrTransition transition;
    bool freed;  // the LR is free afterwards
  };
  TransitionResult apply_transition(size_t slot, uint64_t value, size_t index);
  void after_fold(bool freed, bool changed);
  static bool more_urgent(const Entry& left, const Entry& right);
  // The state an entry is written to its LR with (hardware: never pending+active).
  static LrState lr_form(const Entry& entry) {
    return entry.virq.hardware && entry.state == LrState::pending_active ? LrState::active : entry.state;
  }
  static uint64_t encode(const Entry& entry, LrState state) {
    ListRegister lr;
    lr.virtual_intid = entry.virq.intid;
    lr.physical_intid = entry.virq.physical_intid;
    lr.priority = entry.virq.priority;
    lr.group1 = entry.virq.group1;
    lr.hardware = entry.virq.hardware;
    lr.state = state;
    return encode_list_register(lr);
  }
  // Records `entry` as LR `slot`'s content and returns the value to write there.
  uint64_t write_slot(size_t slot, const Entry& entry) {
    const LrState state = lr_form(entry);
    const uint64_t value = encode(entry, state);
    Held& held = held_[slot];
    held.value = value;
    held.intid = entry.virq.intid;
    held.state = state;
    live_ |= uint32_t{1} << slot;
    return value;
  }
  // fill() without its report: places by urgency and records the maintenance bits.
  void place_all(uint64_t* list_registers, size_t lr_count, FillResult* report);

  uint64_t scratch_[max_list_registers] = {};  // a full placement's LR values (sync's fallback)
  Entry entries_[capacity] = {};
  size_t count_ = 0;
  Held held_[max_list_registers] = {};
  uint32_t live_ = 0;
  uint32_t stale_ = 0;  // live LRs whose entry left the queue: to be written invalid
  uint64_t maintenance_ = 0;
  static constexpr uint8_t flag_dirty = 1;
  static constexpr uint8_t flag_rebuild = 2;
  static constexpr uint8_t flag_unwritten = 4;  // LRs placed by add_pending_here, not yet written
  uint32_t unwritten_ = 0;
  uint32_t lr_mask_ = 0;  // the LRs the target has (from its last fill or sync)
  uint8_t flags_ = 0;
};

template <typename ReadLr, typename OnTransition>
void VirqQueue::fold(size_t lr_count, ReadLr&& read_lr, OnTransition&& on_transition) {
  const uint32_t in_range = lr_count >= 32 ? ~0u : (uint32_t{1} << lr_count) - 1;
  bool freed = false;
  bool changed = false;
  for (uint32_t live = live_ & in_range; live != 0; live &= live - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(live));
    Held& held = held_[slot];
    const uint64_t value = read_lr(slot, held.value);
    if (value == held.value) continue;  // untouched: the common case, one compare
    const size_t index = find(held.intid);
    LrTransition transition;
    if (static_cast<uint32_t>(value) == held.intid && list_register_state(value) == LrState::invalid &&
        index < capacity && entries_[index].state == held.state) {
      // Deactivated, and nothing happened to the entry since it was written (the usual
      // end of an interrupt): it leaves the queue and the LR is free.
      transition.intid = held.intid;
      transition.pending_consumed = has_pending(held.state);
      transition.active_changed = true;
      transition.active = false;
      held.value = 0;
      held.state = LrState::invalid;
      live_ &= ~(uint32_t{1} << slot);
      entries_[index].slot = no_slot;
      remove(index);
      freed = true;
    } else {
      const TransitionResult result = apply_transition(slot, value, index);
      freed = freed || result.freed;
      transition = result.transition;
      if (!transition.pending_consumed && !transition.active_changed) continue;
    }
    changed = true;
    on_transition(transition);
  }
  if (freed || changed) after_fold(freed, changed);
}

template <typename WriteLr>
uint64_t VirqQueue::sync(size_t lr_count, WriteLr&& write_lr) {
  // LRs placed when their interrupt arrived: written now, whatever else happens.
  for (uint32_t unwritten = unwritten_; unwritten != 0; unwritten &= unwritten - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(unwritten));
    write_lr(slot, held_[slot].value);
  }
  unwritten_ = 0;
  flags_ &= static_cast<uint8_t>(~flag_unwritten);
  if ((flags_ & flag_dirty) == 0) return maintenance_;
  if (lr_count > max_list_registers) lr_count = max_list_registers;
  lr_mask_ = (uint32_t{1} << lr_count) - 1;
  // LRs whose entry left the queue.
  for (uint32_t stale = stale_; stale != 0; stale &= stale - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(stale));
    held_[slot].value = 0;
    held_[slot].state = LrState::invalid;
    write_lr(slot, uint64_t{0});
  }
  live_ &= ~stale_;
  stale_ = 0;
  // Entries in an LR whose content changed, then entries without an LR into free ones.
  uint32_t free = ~live_ & ((uint32_t{1} << lr_count) - 1);
  for (size_t i = 0; i < count_; ++i) {
    Entry& entry = entries_[i];
    if (entry.slot != no_slot) {
      const Held& held = held_[entry.slot];
      if (held.intid != entry.virq.intid || held.state != lr_form(entry)) {
        write_lr(entry.slot, write_slot(entry.slot, entry));
      }
      continue;
    }
    if (free == 0) {
      // Everything does not fit: place by urgency, as from scratch.
      place_all(scratch_, lr_count, nullptr);
      for (size_t slot = 0; slot < lr_count; ++slot) write_lr(slot, scratch_[slot]);
      return maintenance_;
    }
    const auto slot = static_cast<uint8_t>(__builtin_ctz(free));
    free &= free - 1;
    entry.slot = slot;
    write_lr(slot, write_slot(slot, entry));
  }
  // Everything is placed: no maintenance interrupt is needed.
  maintenance_ = 0;
  flags_ &= static_cast<uint8_t>(~flag_dirty);
  return 0;
}

}  // namespace bulkhead::vgic
