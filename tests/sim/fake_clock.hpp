// The poll clock of simulated hardware (lib/mmio_window.hpp): it moves only when read,
// so a 1 s bound costs a bounded number of polls.
#pragma once

#include <cstdint>

#include "core/lib/mmio_window.hpp"

namespace bulkhead::sim {

class FakeClock final : public lib::PollClock {
 public:
  uint64_t now_us() override { return now_ += step_us; }
  void relax() override { now_ += step_us; }
  void advance(uint64_t us) { now_ += us; }
  uint64_t now() const { return now_; }
  uint64_t step_us = 100;

 private:
  uint64_t now_ = 0;
};

}  // namespace bulkhead::sim
