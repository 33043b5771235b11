// The boot CPU's service duties while partitions run, as decisions: when to write the
// next console line, when to look at console input again, when to poll devices that have
// no wired interrupt, and when the EL2 timer must fire for any of these. Portable: the
// target (core/boot/console_input.cpp) reads the clock and the interrupt it took, asks
// here, and does what the answer says.
//
// Two modes share these decisions:
//   - serving only: the boot CPU runs no guest and loops (write a line, sleep in WFI when
//     there is nothing to write, take one interrupt);
//   - serving beside a guest: CPU 0 runs a partition's vCPU; each exit to EL2 that has
//     service work runs one bounded step (at most one line, one interrupt) and goes back
//     to the guest. With more lines queued, the timer brings the next step after
//     `guest_slice_us`, so the guest keeps running between lines.
#pragma once

#include <cstdint>

namespace bulkhead::console {

// What console_work() did (core/boot/system.hpp): `more` lines are queued; `retry_soon`:
// nothing to write, but held input or a full partition UART waits; `idle`: nothing.
enum class ConsoleWork : uint8_t { idle, more, retry_soon };

// Which of its interrupts the serving CPU took for a step (none: a step without one).
enum class ServiceInterrupt : uint8_t { none, console_input, timer, device, other };

struct ServiceSetup {
  bool console_input = false;  // the physical UART's receive interrupt is wired
  bool timer = false;          // the EL2 timer exists (else nothing is polled or retried)
  uint32_t poll_ms = 0;        // devices without a wired interrupt are polled this often (0: none)
  uint64_t ticks_per_ms = 0;   // the counter's frequency / 1000
};

// What a step does about the interrupt it took, before writing a line.
struct ServiceActions {
  bool device = false;        // handle_device_interrupt(intid)
  bool poll_devices = false;  // handle_device_interrupt(0): the poll period is up
  bool read_input = false;    // offer held and new UART bytes to console_input(), then input_done()
};

// The EL2 timer as it must be after a step: `change` false leaves it as it is;
// `deadline` 0 switches it off, otherwise the counter value it fires at.
struct TimerSetting {
  bool change = false;
  uint64_t deadline = 0;
};

class SystemService {
 public:
  // Held input and full UARTs are looked at again this often.
  static constexpr uint64_t retry_us = 1000;
  // Beside a guest, the time the guest runs between two console lines while more are
  // queued: it gets at least this share of CPU 0 during a flood of output.
  static constexpr uint64_t guest_slice_us = 100;

  constexpr SystemService() = default;
  // Starts (or restarts, after the timer was used for something else) at `now`.
  void start(const ServiceSetup& setup, uint64_t now);

  // Something else used the EL2 timer (a reset wait): the next after_work() sets it again.
  void timer_lost() { armed_known_ = false; }
  // Serving beside a guest (true) or alone (false).
  void set_beside_guest(bool beside) { beside_guest_ = beside; }
  bool beside_guest() const { return beside_guest_; }

  // Step, part 1: the interrupt taken at `now`.
  ServiceActions take(ServiceInterrupt taken, uint64_t now);
  // After read_input: whether a byte is still held (the partition could not take it).
  void input_done(bool holding) { holding_ = holding; }
  bool holding() const { return holding_; }
  // Step, part 2: what console_work() returned; the timer as it must be now.
  TimerSetting after_work(ConsoleWork work, uint64_t now);
  // Serving alone: sleep in WFI before the next interrupt (nothing more to write).
  static bool sleeps_after(ConsoleWork work) { return work != ConsoleWork::more; }

 private:
  uint64_t ticks(uint64_t us) const { return setup_.ticks_per_ms * us / 1000; }
  static uint64_t earliest(uint64_t a, uint64_t b) { return a == 0 ? b : (b == 0 || b > a ? a : b); }

  ServiceSetup setup_;
  bool beside_guest_ = false;
  bool holding_ = false;
  // When each reason for the timer falls due (0: not wanted).
  uint64_t poll_due_ = 0;
  uint64_t retry_due_ = 0;
  uint64_t slice_due_ = 0;
  uint64_t armed_ = 0;        // the deadline the timer was last set to (0: off)
  bool armed_known_ = false;  // false: the timer is to be set again whatever it holds
};

}  // namespace bulkhead::console
