// Drives function resets (pci/reset.hpp) against functions enumerated on the simulated
// ECAM, calling poll() at exactly each wake-up time it asks for, on the ECAM's timeline.
#pragma once

#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "pci/reset.hpp"
#include "tests/sim/pci_harness.hpp"

namespace bulkhead::sim {

constexpr uint64_t us_per_ms = 1000;                   // the timeline counts microseconds
constexpr pci::ResetClock test_clock{us_per_ms};       // so ticks are microseconds
constexpr uint64_t reset_start = 5'000 * us_per_ms;    // well after enumeration (at 0)

inline constexpr uint64_t ms(uint64_t milliseconds) { return milliseconds * us_per_ms; }

struct ResetFixture {
  SimEcam ecam;
  PciHarness harness;
  pci::FunctionReset reset;
  std::vector<uint64_t> wakes;  // every wake-up time poll() asked for, in order
  size_t first_event = 0;       // timeline index where the last run() started
  pci::ResetStatus status = pci::ResetStatus::failed;  // of the last poll

  ResetFixture() { harness.add_host(qemu_host(), &ecam); }

  SimBus& root() { return ecam.root(); }
  SimTimeline& timeline() { return ecam.timeline(); }
  void enumerate() {
    if (!harness.enumerate()) throw std::runtime_error("enumeration failed: " + joined(harness.errors));
  }
  const pci::Function& function(uint8_t bus, uint8_t device, uint8_t function_number = 0) const {
    return harness.function(0, bus, device, function_number);
  }

  // Resets `f` from `start` to its end; returns the final status. Each wake-up must lie
  // in the future, so the run ends.
  pci::ResetStatus run(const pci::Function& f, uint64_t start = reset_start) {
    if (!begin(f, start)) return pci::ResetStatus::failed;
    return advance(std::numeric_limits<uint64_t>::max());
  }

  // Begins a reset of `f` at `start` without polling it yet.
  bool begin(const pci::Function& f, uint64_t start = reset_start) {
    timeline().now = start;
    first_event = timeline().events.size();
    wakes.clear();
    status = pci::ResetStatus::wait;
    return reset.begin(ecam, *harness.topology, f, test_clock);
  }

  // Polls the reset at now, then at each wake-up time up to `until`; returns the status
  // (wait: the next wake-up lies after `until`, and the time is left there).
  pci::ResetStatus advance(uint64_t until) {
    for (int calls = 0; calls < 100'000; ++calls) {
      const pci::ResetStep step = reset.poll(timeline().now);
      status = step.status;
      if (step.status != pci::ResetStatus::wait) return step.status;
      if (step.wake_at <= timeline().now) throw std::runtime_error("a wait that does not advance time");
      if (step.wake_at > until) return step.status;
      wakes.push_back(step.wake_at);
      timeline().now = step.wake_at;
    }
    throw std::runtime_error("the reset did not end");
  }

  // The events of the last run() for `sim` (and, with `bridge`, for it too), as text:
  // "+T read|write 0xOFF/W 0xVALUE" or "+T flr" etc., T in microseconds from the start.
  std::vector<std::string> trace(const SimFunction* sim, const SimFunction* bridge = nullptr) {
    std::vector<std::string> lines;
    const SimTimeline& t = timeline();
    const uint64_t start = reset_start;
    for (size_t i = first_event; i < t.events.size(); ++i) {
      const SimEvent& e = t.events[i];
      if (e.function != sim && (bridge == nullptr || e.function != bridge)) continue;
      lines.push_back(event_text(e, start, e.function == bridge ? "bridge " : ""));
    }
    return lines;
  }

  static std::string event_text(const SimEvent& e, uint64_t start, const char* who) {
    char text[96];
    const long long at = static_cast<long long>(e.time) - static_cast<long long>(start);
    int length = 0;
    switch (e.kind) {
      case SimEvent::Kind::read:
      case SimEvent::Kind::write:
        length = std::snprintf(text, sizeof(text), "+%lld %s%s 0x%x/%d 0x%x", at, who,
                               e.kind == SimEvent::Kind::read ? "read" : "write", e.offset, e.width, e.value);
        break;
      case SimEvent::Kind::power_state:
        length = std::snprintf(text, sizeof(text), "+%lld %spower-state D%u", at, who, e.value);
        break;
      case SimEvent::Kind::flr:
      case SimEvent::Kind::bus_reset_assert:
      case SimEvent::Kind::bus_reset_release:
      case SimEvent::Kind::function_reset:
        length = std::snprintf(text, sizeof(text), "+%lld %s%s", at, who, operation_name(e.kind));
        break;
    }
    return std::string(text, length > 0 ? static_cast<size_t>(length) : 0);
  }

  static const char* operation_name(SimEvent::Kind kind) {
    switch (kind) {
      case SimEvent::Kind::flr: return "flr";
      case SimEvent::Kind::bus_reset_assert: return "bus-reset on";
      case SimEvent::Kind::bus_reset_release: return "bus-reset off";
      case SimEvent::Kind::function_reset: return "function-reset";
      default: return "?";
    }
  }
};

}  // namespace bulkhead::sim
