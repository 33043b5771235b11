// The boot timeline: the counter reading at the end of each boot phase, reported as
// `bulkhead: boot-phase NAME ticks N ns N`, so an integrator can see, and budget, where
// boot time goes on their hardware. Portable; the target supplies the readings.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead {

// Counter ticks as nanoseconds, without overflow for any 64-bit reading.
constexpr uint64_t ticks_to_ns(uint64_t ticks, uint64_t frequency) {
  if (frequency == 0) return 0;
  constexpr uint64_t ns_per_second = 1000000000;
  return ticks / frequency * ns_per_second + ticks % frequency * ns_per_second / frequency;
}

class BootTimeline {
 public:
  // The boot's own 8 phases, then a plan, a load and a start per partition (at most 8).
  static constexpr size_t max_phases = 32;

  // `phase` (a string that lives for ever) ended at counter reading `ticks`; a phase of
  // one partition names it (a string that lives for ever too). False once max_phases are
  // recorded: the phases are fixed in the code, so that is a bug.
  bool mark(const char* phase, uint64_t ticks, const char* partition = nullptr);
  // `bulkhead: boot-phase NAME ticks N ns N[ partition NAME]`, one line per phase in the
  // order marked.
  void report(uint64_t frequency) const;
  size_t count() const { return count_; }

 private:
  struct Mark {
    const char* phase = nullptr;
    uint64_t ticks = 0;
    const char* partition = nullptr;
  };
  Mark marks_[max_phases] = {};
  size_t count_ = 0;
};

}  // namespace bulkhead
