#include <doctest/doctest.h>

#include "core/console/system_service.hpp"

using namespace bulkhead::console;

namespace {

constexpr uint64_t ms = 1000;  // counter ticks per millisecond in these tests
constexpr uint64_t start_time = 50 * ms;

ServiceSetup wired(uint32_t poll_ms = 0) { return {.console_input = true, .timer = true, .poll_ms = poll_ms, .ticks_per_ms = ms}; }

}  // namespace

TEST_CASE("system service: alone and idle, the timer stays off unless devices are polled") {
  SystemService service;
  service.start(wired(), start_time);
  const TimerSetting first = service.after_work(ConsoleWork::idle, start_time);
  CHECK(first.change);
  CHECK(first.deadline == 0);
  CHECK_FALSE(service.after_work(ConsoleWork::idle, start_time + 5).change);  // already off
  CHECK(SystemService::sleeps_after(ConsoleWork::idle));
  CHECK(SystemService::sleeps_after(ConsoleWork::retry_soon));
  CHECK_FALSE(SystemService::sleeps_after(ConsoleWork::more));
}

TEST_CASE("system service: devices without an interrupt are polled when their period is up, not at every timer") {
  SystemService service;
  service.start(wired(10), start_time);
  CHECK(service.after_work(ConsoleWork::idle, start_time).deadline == start_time + 10 * ms);
  // Held input makes the timer fire every millisecond: no poll before the 10 ms are up.
  service.input_done(true);
  CHECK(service.after_work(ConsoleWork::idle, start_time).deadline == start_time + 1 * ms);
  ServiceActions actions = service.take(ServiceInterrupt::timer, start_time + 1 * ms);
  CHECK_FALSE(actions.poll_devices);
  CHECK(actions.read_input);
  CHECK(service.after_work(ConsoleWork::idle, start_time + 1 * ms).deadline == start_time + 2 * ms);
  service.input_done(false);
  // Input taken: back to the poll period, counted from the start, not from the last retry.
  CHECK(service.after_work(ConsoleWork::idle, start_time + 1 * ms + 5).deadline == start_time + 10 * ms);
  actions = service.take(ServiceInterrupt::timer, start_time + 10 * ms);
  CHECK(actions.poll_devices);
  CHECK_FALSE(actions.device);
  CHECK(service.after_work(ConsoleWork::idle, start_time + 10 * ms).deadline == start_time + 20 * ms);
}

TEST_CASE("system service: the fired timer is always set again, even to the same deadline") {
  SystemService service;
  service.start(wired(), start_time);
  CHECK(service.after_work(ConsoleWork::retry_soon, start_time).deadline == start_time + 1 * ms);
  CHECK_FALSE(service.after_work(ConsoleWork::retry_soon, start_time + 10).change);  // the retry stays due
  (void)service.take(ServiceInterrupt::timer, start_time + 1 * ms);
  const TimerSetting again = service.after_work(ConsoleWork::retry_soon, start_time + 1 * ms);
  CHECK(again.change);
  CHECK(again.deadline == start_time + 2 * ms);
  // A reset wait used the timer meanwhile: set again although nothing changed here.
  service.timer_lost();
  const TimerSetting restored = service.after_work(ConsoleWork::retry_soon, start_time + 1 * ms + 10);
  CHECK(restored.change);
  CHECK(restored.deadline == start_time + 2 * ms);
  CHECK(service.after_work(ConsoleWork::idle, start_time + 1 * ms + 20).deadline == 0);
}

TEST_CASE("system service: interrupts map to their actions") {
  SystemService service;
  service.start(wired(), start_time);
  CHECK(service.take(ServiceInterrupt::console_input, start_time).read_input);
  CHECK_FALSE(service.take(ServiceInterrupt::console_input, start_time).device);
  CHECK(service.take(ServiceInterrupt::device, start_time).device);
  CHECK_FALSE(service.take(ServiceInterrupt::device, start_time).read_input);
  const ServiceActions other = service.take(ServiceInterrupt::other, start_time);  // the kick SGI
  CHECK_FALSE(other.read_input);
  CHECK_FALSE(other.device);
  CHECK_FALSE(other.poll_devices);
  const ServiceActions none = service.take(ServiceInterrupt::none, start_time);
  CHECK_FALSE(none.read_input);
  CHECK_FALSE(none.poll_devices);

  SystemService output_only;
  output_only.start({.console_input = false, .timer = true, .poll_ms = 0, .ticks_per_ms = ms}, start_time);
  CHECK_FALSE(output_only.take(ServiceInterrupt::timer, start_time).read_input);
}

TEST_CASE("system service: beside a guest, more output waits for the guest's slice, alone it does not") {
  SystemService alone;
  alone.start(wired(), start_time);
  CHECK(alone.after_work(ConsoleWork::more, start_time).deadline == 0);

  SystemService beside;
  beside.start(wired(10), start_time);
  beside.set_beside_guest(true);
  const uint64_t slice = SystemService::guest_slice_us * ms / 1000;
  CHECK(beside.after_work(ConsoleWork::more, start_time).deadline == start_time + slice);
  // A step before the slice is up (another exit) keeps the deadline: the guest is not
  // interrupted more often because it exits more often.
  CHECK_FALSE(beside.after_work(ConsoleWork::more, start_time + slice / 2).change);
  const ServiceActions fired = beside.take(ServiceInterrupt::timer, start_time + slice);
  CHECK_FALSE(fired.poll_devices);
  CHECK(beside.after_work(ConsoleWork::more, start_time + slice).deadline == start_time + 2 * slice);
  // The queues empty: only the poll period is left.
  CHECK(beside.after_work(ConsoleWork::idle, start_time + 2 * slice).deadline == start_time + 10 * ms);
}

TEST_CASE("system service: without the EL2 timer nothing is armed, polled or retried") {
  SystemService service;
  service.start({.console_input = true, .timer = false, .poll_ms = 10, .ticks_per_ms = ms}, start_time);
  service.set_beside_guest(true);
  service.input_done(true);
  CHECK_FALSE(service.after_work(ConsoleWork::more, start_time).change);
  CHECK_FALSE(service.after_work(ConsoleWork::retry_soon, start_time + 20 * ms).change);
  CHECK(service.take(ServiceInterrupt::console_input, start_time).read_input);
}
