// One vCPU's virtual interrupts waiting for, or sitting in, its list registers, and what
// the hardware LRs hold.
//
// Placement. `fill` places the most urgent entries into the N list registers the CPU has
// (4 on QEMU's cortex-a57), with one exception: an active interrupt already in an LR
// keeps it (the guest may be handling it: its EOI or DIR must find it there, or it would
// stay active forever; the CPU interface has no other way to deactivate it). Then active
// ones (an active interrupt must stay visible so the guest can deactivate it), then
// pending ones by priority (lower value first), ties by lower INTID. Only actives the
// guest never took (GICD/GICR_ISACTIVER writes) can therefore wait outside the LRs. What
// does not fit stays queued and `fill` asks for a maintenance interrupt that fires once
// an LR can be refilled, and never at once:
//   - NPIE (no LR pending) when some LR is in the pending state (pending+active is not
//     "pending" for ICH_MISR_EL2.NP): fires once the guest has acknowledged them all;
//   - UIE (underflow: at most one valid LR) with two or more LRs: fires once the guest
//     has deactivated all but one;
//   - with a single LR holding an active interrupt neither can be used (both would fire
//     at once): that LR asks for EOI maintenance (ICH_LR.EOI, which needs HW = 0: a
//     hardware-backed interrupt is then written as a virtual one and EL2 deactivates its
//     physical interrupt itself, LrTransition::physical_deactivate).
// A virtual level-triggered interrupt whose line is asserted also asks for EOI
// maintenance (Virq::level_resample), as KVM does: its deactivation makes it pending
// again at once, which only an exit can show the guest.
//
// Acknowledgement check. A hardware-backed level interrupt is pending only while its
// physical line is asserted, and the guest can clear the device (untrapped) between the
// moment EL2 put it in an LR and its acknowledgement. While an LR offers one pending, the
// control bits `sync` returns include ICH_HCR_EL2.TALL0/TALL1: the guest's next access to
// an ICC_* register of either group (its IAR read first of all) traps, the owner samples
// the line and withdraws what dropped (`for_each_checked`), and `suspend_check` lets the
// guest's access run natively when EL2 returns to it. The next fold arms the check again.
// The check is needed only when the guest cannot take the interrupt at once: a guest
// entered with the interrupt unmasked, in no handler (no active priority), and that
// interrupt (its line seen asserted in this very exit) the most urgent one its LRs
// offer, takes the exception before it runs one
// instruction, so nothing of its own can clear the device first (`taken_at_once`; the
// owner then leaves the check off, as KVM, which has none). A guest that EOIs before it
// clears its device meets the re-fire inside its handler, interrupts masked: checked.
//
// `sync` is the cheap path the target takes on every entry: it rewrites only the LRs
// whose content must change (an entry added or changed since, an LR to clear) and puts
// new entries into free LRs. Whenever everything fits, the LRs then hold exactly what
// `fill` would put there, so no priority order is lost (the CPU interface itself picks
// the most urgent valid LR); when an entry finds no free LR, `sync` falls back to `fill`.
// Nothing changed since the last sync: nothing is written at all.
//
// Read-back. Only LRs written with a valid entry (`live_mask`) can change: the guest
// acknowledges (pending -> active) and deactivates (-> invalid), nothing else. `fold`
// compares each live LR with what was written. The difference is what the guest did:
// acknowledged the pending interrupt (pending consumed) and/or changed its active state.
// Only that difference is applied, to the entry and reported to the caller, so changes
// another CPU made to the entry meanwhile (a guest ICPENDR write, a new pending SGI) are
// not undone by a stale LR. The LR's new content becomes the baseline; entries neither
// pending nor active afterwards leave the queue. An LR the owner asked to hear about
// (`watch`) is reported when it still offers its interrupt pending at the next fold: the
// guest has not taken it.
//
// The queue only sees states; the owner (VirtualGic) re-queues an interrupt the guest
// consumed that is still pending (a level line, a new pend) after each fold.
// Hardware-backed entries never go into an LR as pending+active: the pending part waits
// until the active one is deactivated (the physical interrupt can only be active once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "core/lib/bits.hpp"
#include "core/lib/unset_array.hpp"
#include "core/vgic/interrupt.hpp"
#include "core/vgic/list_register.hpp"
#include "core/vgic/virq.hpp"

namespace bulkhead::vgic {

class VirqQueue {
 public:
  static constexpr size_t capacity = private_interrupt_count + max_owned_spis;
  static constexpr size_t max_list_registers = 16;

  // Drops every entry; the LRs the hardware holds stay known, so the next sync clears
  // the ones no entry needs any more.
  void clear();
  // The vCPU stopped: its LRs are gone (the entries stay, placed again when it restarts).
  void forget_list_registers();
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
      if (entry.state != state || entry.virq.priority != virq.priority || entry.virq.group1 != virq.group1 ||
          entry.virq.level_resample != virq.level_resample || entry.virq.checked != virq.checked) {
        flags_ |= flag_dirty;
      }
      copy_virq(entry.virq, virq);
      entry.state = state;
      entry.seen = true;
      return true;
    }
    if (count_ == capacity) return false;
    Entry& entry = entries_.construct(count_++);
    copy_virq(entry.virq, virq);
    entry.state = state;
    entry.slot = no_slot;
    entry.seen = true;
    entry.eoi = false;
    flags_ |= flag_dirty;
    return true;
  }
  // Removes the entry for `intid`, if any (as set() with `invalid`).
  void drop(uint32_t intid) {
    const size_t index = find(intid);
    if (index < capacity) remove(index);
  }
  // Makes a new interrupt pending straight in a free LR when the queue is otherwise in
  // step with the LRs and nothing waits for one: the next sync only writes that LR. For
  // the vCPU making the call, which syncs before it runs again (another vCPU's LRs would
  // read back as if the guest had consumed it). Otherwise as add_pending.
  bool add_pending_here(const Virq& virq) { return place_here(virq) || add_pending(virq); }
  // add_pending_here()'s fast path alone: false (nothing changed) when it does not apply,
  // and the caller then calls add_pending(). Always inline, so that the caller's Virq
  // stays in registers (the interrupt exit builds one).
  [[gnu::always_inline]] bool place_here(const Virq& virq) {
    const uint32_t free = ~live_ & lr_mask_;
    if ((flags_ & ~flag_control) != 0 || stale_ != 0 || overflow_ || free == 0 || count_ == capacity ||
        find(virq.intid) != capacity) {
      return false;
    }
    const auto slot = static_cast<uint8_t>(__builtin_ctz(free));
    Entry& entry = entries_.construct(count_++);
    copy_virq(entry.virq, virq);
    entry.state = LrState::pending;
    entry.slot = slot;
    entry.seen = true;
    entry.eoi = false;
    write_slot(slot, entry);
    unwritten_ |= uint32_t{1} << slot;
    flags_ |= flag_unwritten;
    return true;
  }
  // VirtualGic::refire: hardware-backed `intid` fires again after the guest finished
  // with the pend its LR offered (`empty_lrs`: ICH_ELRSR_EL2), that LR the only live one,
  // its entry the only one, pending and in step: a fold and the new pend would change
  // nothing but that LR's write. Its slot, or no_list_register (nothing changed).
  static constexpr size_t no_list_register = max_list_registers;
  [[gnu::always_inline]] size_t refire_slot(uint32_t intid, uint64_t empty_lrs) const {
    if (count_ != 1 || entries_[0].virq.intid != intid) return no_list_register;  // the usual refusal first
    const Entry& entry = entries_[0];
    const uint8_t slot = entry.slot;
    if (!entry.virq.hardware || entry.state != LrState::pending || slot == no_slot || live_ != uint32_t{1} << slot ||
        ((empty_lrs >> slot) & 1) == 0 || flags_ != 0 || stale_ != 0 || overflow_ || (rare_ & rare_watched) != 0) {
      return no_list_register;
    }
    const Held& held = held_[slot];
    const bool in_step = held.intid == intid && held.state == LrState::pending && (held.value & ich_lr::hardware) != 0;
    return in_step ? slot : no_list_register;
  }
  // refire_slot()'s LR value, to write again; a suspended check is armed again, as by a fold.
  uint64_t refire(size_t slot) {
    rare_ = 0;
    return held_[slot % max_list_registers].value;
  }
  // Makes the interrupt pending (pending+active if it is active). False when full.
  bool add_pending(const Virq& virq) {
    const size_t index = find(virq.intid);
    const bool active = index < capacity && has_active(entries_[index].state);
    return set(virq, make_state(true, active));
  }
  LrState state_of(uint32_t intid) const;
  // The interrupt is in an LR of this queue (as last written or read back): a running
  // guest may be acknowledging or deactivating it.
  bool in_list_register(uint32_t intid) const { return held_state(intid) != LrState::invalid; }
  // Its LR offers it pending (pending, or pending+active): a running guest may have taken
  // that pend already.
  bool offered_pending(uint32_t intid) const { return has_pending(held_state(intid)); }
  // Report the interrupt at the next fold if its LR still offers it pending then.
  void watch(uint32_t intid) {
    const size_t index = find(intid);
    if (index == capacity || entries_[index].slot == no_slot) return;
    watched_ |= uint32_t{1} << entries_[index].slot;
    rare_ |= rare_watched;
  }
  size_t size() const { return count_; }
  // Some entry or LR differs from what the hardware holds: the next sync writes LRs.
  bool dirty() const { return (flags_ & flag_dirty) != 0; }
  // The owner asks for the queue to be rebuilt from the interrupt state before the next
  // sync (it changed in ways not worth patching entry by entry).
  void request_rebuild() { flags_ |= flag_rebuild; }
  // The owner has work for this vCPU's exit: its next exit syncs (and so asks the owner).
  void request_sync() { flags_ |= flag_control; }
  bool rebuild_requested() const { return (flags_ & flag_rebuild) != 0; }
  // A rebuild: begin_rebuild(), set() every interrupt that belongs here, end_rebuild()
  // drops the entries not set since. Entries keep their LRs, so an active one the guest
  // holds keeps its LR and nothing unchanged is written again.
  void begin_rebuild() {
    for (size_t i = 0; i < count_; ++i) entries_[i].seen = false;
  }
  void end_rebuild();
  // The LRs or ICH_HCR_EL2 may need writing: a rebuild is due, an entry changed, the
  // acknowledgement check is to be armed again. One load: this is asked on every exit.
  bool needs_sync() const { return flags_ != 0; }

  // Calls `visit(intid)` for each LR that offers a checked interrupt pending.
  template <typename Visit>
  void for_each_checked(Visit&& visit) const {
    for (uint32_t checked = checked_; checked != 0; checked &= checked - 1) visit(held_[__builtin_ctz(checked)].intid);
  }
  // A trapped ICC_* access was the check: the guest's access runs natively once EL2
  // returns to it (the check is off until the next fold, or an LR newly offering a
  // checked interrupt).
  void suspend_check() {
    if (checked_ == 0 || (rare_ & rare_suspended) != 0) return;
    rare_ |= rare_suspended;
    flags_ |= flag_control;
  }
  // The one LR offering a checked interrupt pending holds `sampled_intid` (its line seen
  // asserted just now) and what `guest` takes at once on entry: the most urgent interrupt
  // the LRs offer (no other LR pending at the same or a more urgent priority: on a tie the
  // CPU interface may pick either), unmasked, its group enabled, above the priority mask,
  // and the guest in no handler. Then the check is not needed (see the header).
  bool taken_at_once(const GuestInterruptMask& guest, uint16_t sampled_intid) const {
    if (guest.handling || checked_ == 0 || (checked_ & (checked_ - 1)) != 0) return false;
    const Held& checked = held_[__builtin_ctz(checked_)];
    if (checked.intid != sampled_intid || !signalled_at_once(guest, checked.value)) return false;
    const uint8_t priority = lr_priority(checked.value);
    for (uint32_t others = live_ & ~checked_; others != 0; others &= others - 1) {
      const Held& held = held_[__builtin_ctz(others)];
      if (has_pending(held.state) && lr_priority(held.value) <= priority) return false;
    }
    return true;
  }
  // The guest, in no handler, is signalled an LR holding `value` as soon as it runs
  // (unmasked, group enabled, above the priority mask): taken_at_once's test of one LR.
  static bool signalled_at_once(const GuestInterruptMask& guest, uint64_t value) {
    const bool group1 = (value & ich_lr::group1) != 0;
    const bool signalled = group1 ? !guest.irqs_masked && guest.group1_enabled : !guest.fiqs_masked && guest.group0_enabled;
    return !guest.handling && signalled && lr_priority(value) < guest.priority_mask;
  }
  // The ICH_HCR_EL2 bits wanted besides En: maintenance requests and the check.
  uint64_t control_bits() const {
    return maintenance_ | (checked_ != 0 && (rare_ & rare_suspended) == 0 ? ich_hcr::tall0 | ich_hcr::tall1 : 0);
  }

  // Writes all `lr_count` list register values (at most max_list_registers).
  FillResult fill(uint64_t* list_registers, size_t lr_count);
  // Brings the LRs in line with the entries, writing as few as possible (see above):
  // calls `write_lr(slot, value)` for each LR that changes; returns the ICH_HCR_EL2 bits
  // now wanted besides En (control_bits()). Inline: it runs on every entry after a change.
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
  // once per LR the guest changed, then `on_still_pending(intid)` for each watched LR
  // that still offers its interrupt pending. Inline: it runs on every exit with a live LR.
  template <typename ReadLr, typename OnTransition, typename OnStillPending>
  void fold(size_t lr_count, ReadLr&& read_lr, OnTransition&& on_transition, OnStillPending&& on_still_pending);
  template <typename ReadLr, typename OnTransition>
  void fold(size_t lr_count, ReadLr&& read_lr, OnTransition&& on_transition) {
    fold(lr_count, read_lr, on_transition, [](uint16_t) {});
  }
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
  static uint8_t lr_priority(uint64_t value) { return static_cast<uint8_t>(value >> ich_lr::priority_shift); }
  struct Entry {
    Virq virq;
    LrState state = LrState::invalid;
    uint8_t slot = no_slot;  // the LR holding it
    bool seen = false;       // set since begin_rebuild()
    bool eoi = false;        // its LR asks for EOI maintenance (a single LR, entries waiting)
  };
  // What LR n holds: the hardware's content as last written or read back (an LR the
  // guest did not touch reads back exactly this value).
  struct Held {
    uint64_t value = 0;
    uint16_t intid = 0;
    LrState state = LrState::invalid;
    bool hardware_backed = false;  // its entry is (the LR may say HW = 0: EOI maintenance)
    bool checked = false;          // its entry is a checked interrupt
  };

  size_t find(uint32_t intid) const {  // capacity when absent
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].virq.intid == intid) return i;
    }
    return capacity;
  }
  LrState held_state(uint32_t intid) const {
    const size_t index = find(intid);
    if (index == capacity || entries_[index].slot == no_slot) return LrState::invalid;
    const Held& held = held_[entries_[index].slot];
    return held.intid == intid ? held.state : LrState::invalid;
  }
  void remove(size_t index) {
    // An LR still holding it must be cleared by the next sync. Order does not matter:
    // placement selects by urgency. An entry that waited: the maintenance request made
    // for it may no longer be needed (it would fire for nothing, and again after every
    // exit).
    const uint8_t slot = entries_[index].slot;
    if (slot != no_slot && (live_ & (uint32_t{1} << slot)) != 0) {
      stale_ |= uint32_t{1} << slot;
      flags_ |= flag_dirty;
    } else if (slot == no_slot && overflow_) {
      flags_ |= flag_dirty;
    }
    --count_;
    if (index != count_) move_entry(index, count_);
  }
  // Field by field: a whole-struct copy becomes a memcpy call in the freestanding build.
  static void copy_virq(Virq& target, const Virq& source) {
    target.intid = source.intid;
    target.physical_intid = source.physical_intid;
    target.priority = source.priority;
    target.group1 = source.group1;
    target.hardware = source.hardware;
    target.level_resample = source.level_resample;
    target.checked = source.checked;
  }
  void move_entry(size_t to, size_t from) {
    Entry& target = entries_[to];
    const Entry& source = entries_[from];
    copy_virq(target.virq, source.virq);
    target.state = source.state;
    target.slot = source.slot;
    target.seen = source.seen;
    target.eoi = source.eoi;
  }
  // What fold does to the entry of an LR the guest changed (`held` before the change).
  struct TransitionResult {
    LrTransition transition;
    bool freed;  // the LR is free afterwards
  };
  TransitionResult apply_transition(size_t slot, uint64_t value, size_t index);
  // What fold() does with one LR the guest changed (out of line: once per interrupt, and
  // the loop over the untouched LRs stays small). True when the guest did something:
  // `folded_` says what.
  bool fold_one(size_t slot, uint64_t value);
  // An LR read back invalid that still asks for EOI maintenance keeps signalling it (and
  // is not empty in ICH_ELRSR_EL2) until it is written again: the next sync does.
  void clear_if_signalling(size_t slot, uint64_t value) {
    if ((value & (ich_lr::state_mask | ich_lr::hardware | ich_lr::eoi)) != ich_lr::eoi) return;
    stale_ |= uint32_t{1} << slot;
    flags_ |= flag_dirty;
  }
  // LR `slot` now holds `held` (as written or read back): its check bit follows.
  void update_checked(size_t slot) {
    const Held& held = held_[slot];
    const uint32_t bit = uint32_t{1} << slot;
    checked_ = held.checked && held.state == LrState::pending ? checked_ | bit : checked_ & ~bit;
  }
  void after_fold();
  static bool more_urgent(const Entry& left, const Entry& right);
  // The state an entry is written to its LR with (hardware: never pending+active).
  static LrState lr_form(const Entry& entry) {
    return entry.virq.hardware && entry.state == LrState::pending_active ? LrState::active : entry.state;
  }
  // The LR value for `entry` (with EOI maintenance a hardware-backed one is written as
  // virtual, HW = 0).
  // encode_list_register()'s layout, built directly: it runs for every LR written.
  [[gnu::always_inline]] static uint64_t encode(const Entry& entry) {
    const Virq& virq = entry.virq;
    uint64_t value = virq.intid | (uint64_t{virq.priority} << ich_lr::priority_shift) |
                     (virq.group1 ? ich_lr::group1 : 0) |
                     (uint64_t{static_cast<uint8_t>(lr_form(entry))} << ich_lr::state_shift);
    if (virq.hardware && !entry.eoi) {
      value |= ich_lr::hardware | ((uint64_t{virq.physical_intid} << ich_lr::physical_shift) & ich_lr::physical_mask);
    } else if (entry.eoi || virq.level_resample) {
      value |= ich_lr::eoi;
    }
    return value;
  }
  // Records `entry` as LR `slot`'s content and returns the value to write there.
  [[gnu::always_inline]] uint64_t write_slot(size_t slot, const Entry& entry) {
    const uint64_t value = encode(entry);
    Held& held = held_[slot];
    held.value = value;
    held.intid = entry.virq.intid;
    held.state = lr_form(entry);
    held.hardware_backed = entry.virq.hardware;
    held.checked = entry.virq.checked;
    live_ |= uint32_t{1} << slot;
    update_checked(slot);
    // A newly offered checked interrupt has not been checked.
    if (held.checked && held.state == LrState::pending) rare_ &= static_cast<uint8_t>(~rare_suspended);
    return value;
  }
  // fill() without its report: places by urgency and records the maintenance bits.
  void place_all(uint64_t* list_registers, size_t lr_count, FillResult* report);

  // The entries, each constructed when it is added (set, place_here): nothing reads an
  // entry at or past count_, and every addition writes all of the new entry's fields. Not
  // constructed with the queue, so that a VM's queues (16 vCPUs x 160 entries, each with
  // non-zero defaults) cost nothing to construct before its first instruction.
  class EntryStore {
   public:
    EntryStore() {}  // NOLINT: `= default` would construct all `capacity` entries
    Entry& operator[](size_t i) { return slots_[i].entry; }
    const Entry& operator[](size_t i) const { return slots_[i].entry; }
    // Begins the life of entry `i` (its defaults, which the caller then writes over).
    Entry& construct(size_t i) { return *new (&slots_[i].entry) Entry; }

   private:
    union Slot {
      Slot() {}  // NOLINT: leaves `entry` unconstructed
      Entry entry;
    };
    Slot slots_[capacity];
  };
  EntryStore entries_;
  UnsetArray<uint64_t, max_list_registers> scratch_;  // sync's fallback placement (place_all writes it)
  size_t count_ = 0;
  Held held_[max_list_registers] = {};
  uint32_t live_ = 0;
  uint32_t stale_ = 0;    // LRs whose entry left the queue (or that signal EOI): to be written
  uint32_t watched_ = 0;  // live LRs to report at the next fold if they still offer pending
  uint32_t checked_ = 0;  // live LRs offering a checked interrupt pending
  uint64_t maintenance_ = 0;
  bool freed_ = false;  // the fold under way freed an LR
  LrTransition folded_ = {};  // fold_one()'s
  bool overflow_ = false;  // the last placement left entries waiting (maintenance_ asks for them)
  static constexpr uint8_t flag_dirty = 1;
  static constexpr uint8_t flag_rebuild = 2;
  static constexpr uint8_t flag_unwritten = 4;  // LRs placed by add_pending_here, to write
  static constexpr uint8_t flag_control = 8;    // only the ICH_HCR_EL2 bits may have changed
  uint32_t unwritten_ = 0;
  uint32_t lr_mask_ = 0;  // the LRs the target has (from its last fill or sync)
  uint8_t flags_ = 0;
  // What fold() looks at only when it is set (one load on every exit).
  static constexpr uint8_t rare_suspended = 1;  // the check is off (see suspend_check)
  static constexpr uint8_t rare_watched = 2;    // watched_ is not empty
  uint8_t rare_ = 0;
};

template <typename ReadLr, typename OnTransition, typename OnStillPending>
void VirqQueue::fold(size_t lr_count, ReadLr&& read_lr, OnTransition&& on_transition,
                     OnStillPending&& on_still_pending) {
  const uint32_t in_range = lr_count >= 32 ? ~0u : (uint32_t{1} << lr_count) - 1;
  const uint32_t live_before = live_ & in_range;
  uint32_t touched = 0;
  for (uint32_t live = live_before; live != 0; live &= live - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(live));
    const uint64_t value = read_lr(slot, held_[slot].value);
    if (value == held_[slot].value) continue;  // untouched: the common case, one compare
    touched |= uint32_t{1} << slot;
    if (fold_one(slot, value)) on_transition(folded_);
  }
  if (touched != 0) after_fold();
  // A new exit: the check, if suspended, is armed again; watched LRs the guest did not
  // touch still offer their interrupt.
  if (rare_ != 0) {
    flags_ |= flag_control;
    if ((rare_ & rare_watched) != 0) {
      for (uint32_t still = watched_ & live_before & ~touched; still != 0; still &= still - 1) {
        const Held& held = held_[__builtin_ctz(still)];
        if (has_pending(held.state)) on_still_pending(held.intid);
      }
      watched_ = 0;
    }
    rare_ = 0;
  }
}

template <typename WriteLr>
uint64_t VirqQueue::sync(size_t lr_count, WriteLr&& write_lr) {
  // LRs placed when their interrupt arrived: written now, whatever else happens.
  for (uint32_t unwritten = unwritten_; unwritten != 0; unwritten &= unwritten - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(unwritten));
    write_lr(slot, held_[slot].value);
  }
  unwritten_ = 0;
  flags_ &= static_cast<uint8_t>(~(flag_unwritten | flag_control));
  if ((flags_ & flag_dirty) == 0) return control_bits();
  if (lr_count > max_list_registers) lr_count = max_list_registers;
  lr_mask_ = (uint32_t{1} << lr_count) - 1;
  // LRs whose entry left the queue, or that must stop signalling EOI maintenance.
  for (uint32_t stale = stale_; stale != 0; stale &= stale - 1) {
    const auto slot = static_cast<size_t>(__builtin_ctz(stale));
    held_[slot].value = 0;
    held_[slot].state = LrState::invalid;
    write_lr(slot, uint64_t{0});
  }
  live_ &= ~stale_;
  watched_ &= ~stale_;
  checked_ &= ~stale_;
  stale_ = 0;
  // Entries in an LR whose content changed, then entries without an LR into free ones.
  uint32_t free = ~live_ & lr_mask_;
  size_t waiting = 0;
  for (size_t i = 0; i < count_; ++i) {
    Entry& entry = entries_[i];
    if (entry.slot == no_slot) {
      ++waiting;
      continue;
    }
    const Held& held = held_[entry.slot];
    if (held.intid != entry.virq.intid || held.value != encode(entry)) write_lr(entry.slot, write_slot(entry.slot, entry));
  }
  if (waiting > static_cast<size_t>(count_ones(free))) {
    // Everything does not fit: place by urgency, as from scratch.
    place_all(scratch_.data(), lr_count, nullptr);
    for (size_t slot = 0; slot < lr_count; ++slot) write_lr(slot, scratch_[slot]);
    return control_bits();
  }
  for (size_t i = 0; waiting != 0 && i < count_; ++i) {
    Entry& entry = entries_[i];
    if (entry.slot != no_slot) continue;
    const auto slot = static_cast<uint8_t>(__builtin_ctz(free));
    free &= free - 1;
    --waiting;
    entry.slot = slot;
    write_lr(slot, write_slot(slot, entry));
  }
  // Everything is placed: no maintenance interrupt is needed.
  maintenance_ = 0;
  overflow_ = false;
  flags_ &= static_cast<uint8_t>(~flag_dirty);
  return control_bits();
}

}  // namespace bulkhead::vgic
