#include "core/console/system_service.hpp"

namespace bulkhead::console {

void SystemService::start(const ServiceSetup& setup, uint64_t now) {
  setup_ = setup;
  poll_due_ = setup_.timer && setup_.poll_ms != 0 ? now + setup_.ticks_per_ms * setup_.poll_ms : 0;
  retry_due_ = 0;
  slice_due_ = 0;
  armed_known_ = false;  // whatever the timer holds is set again by the next after_work()
}

ServiceActions SystemService::take(ServiceInterrupt taken, uint64_t now) {
  ServiceActions actions;
  actions.device = taken == ServiceInterrupt::device;
  actions.read_input = setup_.console_input && taken == ServiceInterrupt::console_input;
  if (taken != ServiceInterrupt::timer) return actions;
  // The timer fired: its condition holds until it is set again, so it always is.
  armed_known_ = false;
  actions.read_input = setup_.console_input;  // held input, or bytes whose interrupt was off
  if (poll_due_ != 0 && now >= poll_due_) {
    actions.poll_devices = true;
    poll_due_ = now + setup_.ticks_per_ms * setup_.poll_ms;
  }
  if (retry_due_ != 0 && now >= retry_due_) retry_due_ = 0;
  if (slice_due_ != 0 && now >= slice_due_) slice_due_ = 0;
  return actions;
}

TimerSetting SystemService::after_work(ConsoleWork work, uint64_t now) {
  if (!setup_.timer) return {};
  const bool retry = holding_ || work == ConsoleWork::retry_soon;
  if (!retry) {
    retry_due_ = 0;
  } else if (retry_due_ == 0) {
    retry_due_ = now + ticks(retry_us);
  }
  // Alone, more lines are written at once; beside a guest, after its slice.
  const bool slice = beside_guest_ && work == ConsoleWork::more;
  if (!slice) {
    slice_due_ = 0;
  } else if (slice_due_ == 0) {
    slice_due_ = now + ticks(guest_slice_us);
  }
  const uint64_t deadline = earliest(earliest(poll_due_, retry_due_), slice_due_);
  if (armed_known_ && deadline == armed_) return {};
  armed_known_ = true;
  armed_ = deadline;
  return {true, deadline};
}

}  // namespace bulkhead::console
