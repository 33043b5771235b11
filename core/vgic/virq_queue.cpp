#include "core/vgic/virq_queue.hpp"

namespace bulkhead::vgic {

void VirqQueue::clear() {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].slot != no_slot) stale_ |= uint32_t{1} << entries_[i].slot;
  }
  count_ = 0;
  if (stale_ != 0) flags_ |= flag_dirty;
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
  for (size_t i = 0; i < count_; ++i) entries_[i].slot = no_slot;
  live_ = 0;
  stale_ = 0;
  size_t used = 0;
  bool pending_offered = false;
  for (size_t slot = 0; slot < lr_count; ++slot) {
    size_t best = capacity;
    for (size_t i = 0; i < count_; ++i) {
      if (entries_[i].slot == no_slot && (best == capacity || more_urgent(entries_[i], entries_[best]))) best = i;
    }
    if (best == capacity) break;
    Entry& entry = entries_[best];
    entry.slot = static_cast<uint8_t>(slot);
    list_registers[slot] = write_slot(slot, entry);
    pending_offered = pending_offered || has_pending(held_[slot].state);
    ++used;
  }
  for (size_t slot = used; slot < lr_count; ++slot) {
    list_registers[slot] = 0;
    held_[slot] = {};
  }
  const size_t left_out = count_ - used;
  const bool underflow = left_out > 0 && lr_count > 1;
  const bool no_pending = left_out > 0 && pending_offered;
  maintenance_ = (underflow ? ich_hcr::uie : 0) | (no_pending ? ich_hcr::npie : 0);
  flags_ &= static_cast<uint8_t>(~flag_dirty);
  if (report != nullptr) *report = {used, left_out, underflow, no_pending};
}

VirqQueue::TransitionResult VirqQueue::apply_transition(size_t slot, uint64_t value, size_t index) {
  Held& held = held_[slot];
  const ListRegister lr = decode_list_register(value);
  LrTransition transition{held.intid, false, false, false};
  if (lr.virtual_intid != held.intid || lr.state == held.state) return {transition, false};  // not ours, or no change
  transition.pending_consumed = has_pending(held.state) && !has_pending(lr.state);
  transition.active_changed = transition.pending_consumed || has_active(held.state) != has_active(lr.state);
  transition.active = has_active(lr.state);
  held.value = value;
  held.state = lr.state;
  const bool free = lr.state == LrState::invalid;
  if (free) {
    live_ &= ~(uint32_t{1} << slot);
    stale_ &= ~(uint32_t{1} << slot);
  }
  if (index == capacity) return {transition, free};
  Entry& entry = entries_[index];
  const bool pending = has_pending(entry.state) && !transition.pending_consumed;
  const bool active = transition.active_changed ? transition.active : has_active(entry.state);
  entry.state = make_state(pending, active);
  if (free) entry.slot = no_slot;
  if (entry.state == LrState::invalid) {
    remove(index);
  } else if (entry.slot == no_slot || lr_form(entry) != lr.state) {
    flags_ |= flag_dirty;  // it needs an LR again, or its LR says less than it should
  }
  return {transition, free};
}

void VirqQueue::after_fold(bool freed, bool changed) {
  // A freed LR can take an entry that is waiting for one; and while entries wait, any
  // change means the maintenance request must be recomputed (the NPIE that just fired
  // would fire again at once).
  if ((flags_ & flag_dirty) != 0 || !(freed || (changed && maintenance_ != 0))) return;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].slot == no_slot) {
      flags_ |= flag_dirty;
      return;
    }
  }
}

}  // namespace bulkhead::vgic
