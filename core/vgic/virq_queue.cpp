#include "core/vgic/virq_queue.hpp"

namespace bulkhead::vgic {

void VirqQueue::clear() {
  count_ = 0;
  written_count_ = 0;
}

size_t VirqQueue::find(uint32_t intid) const {
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].virq.intid == intid) return i;
  }
  return capacity;
}

void VirqQueue::remove(size_t index) {
  // Order does not matter: fill selects by urgency.
  entries_[index] = entries_[count_ - 1];
  --count_;
}

bool VirqQueue::set(const Virq& virq, LrState state) {
  const size_t index = find(virq.intid);
  if (state == LrState::invalid) {
    if (index < capacity) remove(index);
    return true;
  }
  if (index < capacity) {
    entries_[index] = {virq, state};
    return true;
  }
  if (count_ == capacity) return false;
  entries_[count_++] = {virq, state};
  return true;
}

bool VirqQueue::add_pending(const Virq& virq) {
  const size_t index = find(virq.intid);
  if (index < capacity) {
    entries_[index].virq = virq;
    entries_[index].state = make_state(true, has_active(entries_[index].state));
    return true;
  }
  return set(virq, LrState::pending);
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
  if (lr_count > max_list_registers) lr_count = max_list_registers;
  bool placed[capacity] = {};
  FillResult result;
  bool pending_offered = false;
  for (size_t slot = 0; slot < lr_count; ++slot) {
    size_t best = capacity;
    for (size_t i = 0; i < count_; ++i) {
      if (!placed[i] && (best == capacity || more_urgent(entries_[i], entries_[best]))) best = i;
    }
    if (best == capacity) break;
    placed[best] = true;
    const Entry& entry = entries_[best];
    LrState state = entry.state;
    if (entry.virq.hardware && state == LrState::pending_active) state = LrState::active;
    ListRegister lr;
    lr.virtual_intid = entry.virq.intid;
    lr.physical_intid = entry.virq.physical_intid;
    lr.priority = entry.virq.priority;
    lr.group1 = entry.virq.group1;
    lr.hardware = entry.virq.hardware;
    lr.state = state;
    list_registers[slot] = encode_list_register(lr);
    written_[slot] = {entry.virq.intid, state};
    pending_offered = pending_offered || has_pending(state);
    ++result.used;
  }
  for (size_t slot = result.used; slot < lr_count; ++slot) list_registers[slot] = 0;
  written_count_ = result.used;
  result.left_out = count_ - result.used;
  result.underflow = result.left_out > 0 && lr_count > 1;
  result.no_pending = result.left_out > 0 && pending_offered;
  return result;
}

size_t VirqQueue::fold_back(const uint64_t* list_registers, size_t lr_count, LrTransition* transitions) {
  const size_t count = lr_count < written_count_ ? lr_count : written_count_;
  size_t reported = 0;
  for (size_t slot = 0; slot < count; ++slot) {
    const Written written = written_[slot];
    const ListRegister lr = decode_list_register(list_registers[slot]);
    if (lr.virtual_intid != written.intid) continue;  // not what we wrote: nothing to learn
    const bool pending_consumed = has_pending(written.state) && !has_pending(lr.state);
    const bool active_changed = pending_consumed || has_active(written.state) != has_active(lr.state);
    if (!pending_consumed && !active_changed) continue;
    transitions[reported++] = {written.intid, pending_consumed, active_changed, has_active(lr.state)};
    const size_t index = find(written.intid);
    if (index == capacity) continue;
    Entry& entry = entries_[index];
    const bool pending = has_pending(entry.state) && !pending_consumed;
    const bool active = active_changed ? has_active(lr.state) : has_active(entry.state);
    entry.state = make_state(pending, active);
    if (entry.state == LrState::invalid) remove(index);
  }
  written_count_ = 0;
  return reported;
}

}  // namespace bulkhead::vgic
