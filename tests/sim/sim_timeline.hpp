// Simulated time for the simulated ECAM (sim_ecam.hpp): the current time, set by the
// test, and every configuration access and device operation with the time it happened,
// so a test can assert order and waits ("FLR initiated at t, next access at t + 100 ms").
// The simulated functions also note every access the PCI Express rules forbid (during an
// FLR, a power-state transition, a bus reset or the wait after it) as a violation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pci/config_access.hpp"

namespace bulkhead::sim {

class SimFunction;

struct SimEvent {
  enum class Kind : uint8_t {
    read,               // a config read (value: what it returned)
    write,              // a config write (value: what was written)
    flr,                // an FLR (PCI Express or Advanced Features) was initiated
    power_state,        // PowerState changed (value: the new state)
    bus_reset_assert,   // a bridge asserted Secondary Bus Reset
    bus_reset_release,  // ... and released it
    function_reset,     // a function's registers went back to power-on values
  };
  uint64_t time = 0;  // microseconds
  Kind kind = Kind::read;
  pci::Bdf bdf;  // where the access came in; for function_reset, where the function sits
  uint16_t offset = 0;
  uint8_t width = 0;
  uint32_t value = 0;
  const SimFunction* function = nullptr;  // nullptr: nothing answered there
};

struct SimTimeline {
  uint64_t now = 0;  // microseconds; the test advances it
  std::vector<SimEvent> events;
  std::vector<std::string> violations;  // accesses the rules forbid, with their time

  void record(SimEvent::Kind kind, pci::Bdf bdf, const SimFunction* function, uint16_t offset = 0, uint8_t width = 0,
              uint32_t value = 0) {
    events.push_back({now, kind, bdf, offset, width, value, function});
  }
  // Index of the first event of `kind` (for `function`, unless nullptr) at or after
  // index `from`; events.size() when there is none.
  size_t find(SimEvent::Kind kind, const SimFunction* function = nullptr, size_t from = 0) const {
    for (size_t i = from; i < events.size(); ++i) {
      if (events[i].kind == kind && (function == nullptr || events[i].function == function)) return i;
    }
    return events.size();
  }
  // Index of the first config read or write reaching `function` after index `after`.
  size_t next_access(const SimFunction* function, size_t after) const {
    for (size_t i = after + 1; i < events.size(); ++i) {
      const bool access = events[i].kind == SimEvent::Kind::read || events[i].kind == SimEvent::Kind::write;
      if (access && events[i].function == function) return i;
    }
    return events.size();
  }
};

}  // namespace bulkhead::sim
