#include "core/vgic/virq_queue.hpp"

namespace bulkhead::vgic {

void VirqQueue::clear() {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].slot != no_slot) stale_ |= uint32_t{1} << entries_[i].slot;
  }
  count_ = 0;
  if (stale_ != 0 || overflow_) flags_ |= flag_dirty;
}

void VirqQueue::forget_list_registers() {
  for (size_t i = 0; i < count_; ++i) {
    entries_[i].slot = no_slot;
    entries_[i].eoi = false;
  }
  for (size_t slot = 0; slot < max_list_registers; ++slot) held_[slot] = Held{};
  live_ = 0;
  stale_ = 0;
  watched_ = 0;
  checked_ = 0;
  unwritten_ = 0;
  maintenance_ = 0;
  overflow_ = false;
  rare_ = 0;
  flags_ = static_cast<uint8_t>((flags_ & ~flag_unwritten) | flag_dirty);
}

void VirqQueue::end_rebuild() {
  for (size_t i = 0; i < count_;) {
    if (entries_[i].seen) {
      ++i;
    } else {
      remove(i);  // the last entry moved here: look at this index again
    }
  }
  flags_ &= static_cast<uint8_t>(~flag_rebuild);
}

LrState VirqQueue::state_of(uint32_t intid) const {
  const size_t index = find(intid);
  return index < capacity ? entries_[index].state : LrState::invalid;
}

bool VirqQueue::more_urgent(const Entry& left, const Entry& right) {
  const bool left_active = has_active(left.state);
  if (left_active != has_active(right.state)) return left_active;
  if (left.virq.priority != right.virq.priority) return left.virq.priority < right.virq.priority;
  return left.virq.intid < right.virq.intid;
}

FillResult VirqQueue::fill(uint64_t* list_registers, size_t lr_count) {
  FillResult result;
  place_all(list_registers, lr_count, &result);
  return result;
}

void VirqQueue::place_all(uint64_t* list_registers, size_t lr_count, FillResult* report) {
  if (lr_count > max_list_registers) lr_count = max_list_registers;
  lr_mask_ = (uint32_t{1} << lr_count) - 1;
  unwritten_ = 0;  // every LR is rewritten
  flags_ &= static_cast<uint8_t>(~flag_unwritten);
  // Active interrupts in an LR keep it: the guest may be handling them (see the header).
  uint32_t kept = 0;
  for (size_t i = 0; i < count_; ++i) {
    Entry& entry = entries_[i];
    entry.eoi = false;
    const uint8_t slot = entry.slot;
    const bool keeps = slot < lr_count && (kept & (uint32_t{1} << slot)) == 0 && has_active(entry.state) &&
                       held_[slot].intid == entry.virq.intid && has_active(held_[slot].state);
    if (keeps) {
      kept |= uint32_t{1} << slot;
    } else {
      entry.slot = no_slot;
    }
  }
  live_ = 0;
  stale_ = 0;
  watched_ = 0;
  checked_ = 0;
  size_t used = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].slot == no_slot) continue;
    list_registers[entries_[i].slot] = write_slot(entries_[i].slot, entries_[i]);
    ++used;
  }
  for (size_t slot = 0; slot < lr_count; ++slot) {
    if ((kept & (uint32_t{1} << slot)) != 0) continue;
    size_t best = capacity;
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].slot == no_slot && (best == capacity || more_urgent(entries_[i], entries_[best]))) best = i;
    }
    if (best == capacity) {
      list_registers[slot] = 0;
      held_[slot] = {};
      continue;
    }
    Entry& entry = entries_[best];
    entry.slot = static_cast<uint8_t>(slot);
    list_registers[slot] = write_slot(slot, entry);
    ++used;
  }
  const size_t left_out = count_ - used;
  bool pending_offered = false;  // an LR in the pending state (pending+active is not)
  for (size_t slot = 0; slot < lr_count; ++slot) pending_offered = pending_offered || held_[slot].state == LrState::pending;
  const bool underflow = left_out > 0 && lr_count > 1;
  const bool no_pending = left_out > 0 && pending_offered;
  // One LR holding an active interrupt: only its deactivation can make room.
  bool eoi = false;
  if (left_out > 0 && lr_count == 1 && has_active(held_[0].state)) {
    const size_t index = find(held_[0].intid);
    if (index < capacity) {
      entries_[index].eoi = true;
      list_registers[0] = write_slot(0, entries_[index]);
      eoi = true;
    }
  }
  maintenance_ = (underflow ? ich_hcr::uie : 0) | (no_pending ? ich_hcr::npie : 0);
  overflow_ = left_out > 0;
  // Nothing more to write until something changes (a maintenance exit, typically).
  flags_ &= static_cast<uint8_t>(~(flag_dirty | flag_control));
  if (report != nullptr) *report = {used, left_out, underflow, no_pending, eoi, checked_ != 0 && (rare_ & rare_suspended) == 0};
}

VirqQueue::TransitionResult VirqQueue::apply_transition(size_t slot, uint64_t value, size_t index) {
  Held& held = held_[slot];
  const ListRegister lr = decode_list_register(value);
  LrTransition transition{held.intid, false, false, false, false, index == capacity};
  if (lr.virtual_intid != held.intid || lr.state == held.state) {
    // Not ours, or no change of state: nothing the guest did.
    return {transition, false};
  }
  transition.pending_consumed = has_pending(held.state) && !has_pending(lr.state);
  transition.active_changed = transition.pending_consumed || has_active(held.state) != has_active(lr.state);
  transition.active = has_active(lr.state);
  transition.physical_deactivate =
      held.hardware_backed && !lr.hardware && has_active(held.state) && !has_active(lr.state);
  held.value = value;
  held.state = lr.state;
  update_checked(slot);
  const bool free = lr.state == LrState::invalid;
  if (free) {
    live_ &= ~(uint32_t{1} << slot);
    stale_ &= ~(uint32_t{1} << slot);
    clear_if_signalling(slot, value);
  }
  if (index == capacity) return {transition, free};
  Entry& entry = entries_[index];
  const bool pending = has_pending(entry.state) && !transition.pending_consumed;
  const bool active = transition.active_changed ? transition.active : has_active(entry.state);
  entry.state = make_state(pending, active);
  if (free) {
    entry.slot = no_slot;
    entry.eoi = false;
  }
  if (entry.state == LrState::invalid) {
    remove(index);
    transition.left = true;
  } else if (entry.slot == no_slot || lr_form(entry) != lr.state) {
    flags_ |= flag_dirty;  // it needs an LR again, or its LR says less than it should
  }
  return {transition, free};
}

bool VirqQueue::fold_one(size_t slot, uint64_t value) {
  Held& held = held_[slot];
  if (held.checked) flags_ |= flag_control;  // the check follows what the guest took
  const size_t index = find(held.intid);
  if (static_cast<uint32_t>(value) != held.intid || list_register_state(value) != LrState::invalid ||
      index == capacity || entries_[index].state != held.state) {
    const TransitionResult result = apply_transition(slot, value, index);
    freed_ = freed_ || result.freed;
    folded_ = result.transition;
    // Neither consumed nor (de)activated: not the guest's doing.
    return folded_.pending_consumed || folded_.active_changed;
  }
  // Deactivated, and nothing happened to the entry since it was written (the usual end of
  // an interrupt): it leaves the queue and the LR is free.
  folded_.intid = held.intid;
  folded_.pending_consumed = has_pending(held.state);
  folded_.active_changed = true;
  folded_.active = false;
  folded_.physical_deactivate = held.hardware_backed && (value & ich_lr::hardware) == 0;
  folded_.left = true;
  const uint32_t bit = uint32_t{1} << slot;
  held.value = 0;
  held.state = LrState::invalid;
  live_ &= ~bit;
  stale_ &= ~bit;
  checked_ &= ~bit;
  entries_[index].slot = no_slot;
  remove(index);
  clear_if_signalling(slot, value);
  freed_ = true;
  return true;
}

void VirqQueue::after_fold() {
  // A freed LR can take an entry that is waiting for one; and while entries wait, any
  // change means the maintenance request must be recomputed (the NPIE that just fired
  // would fire again at once; an LR that became pending needs NPIE).
  const bool freed = freed_;
  freed_ = false;
  if ((flags_ & flag_dirty) != 0 || !(freed || overflow_)) return;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].slot == no_slot) {
      flags_ |= flag_dirty;
      return;
    }
  }
}

}  // namespace bulkhead::vgic
