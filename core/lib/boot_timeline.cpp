#include "core/lib/boot_timeline.hpp"

#include "core/lib/log.hpp"

namespace bulkhead {

bool BootTimeline::mark(const char* phase, uint64_t ticks) {
  if (count_ == max_phases) return false;
  marks_[count_++] = {phase, ticks};
  return true;
}

void BootTimeline::report(uint64_t frequency) const {
  for (size_t i = 0; i < count_; ++i) {
    log::fact("boot-phase {} ticks {} ns {}", marks_[i].phase, marks_[i].ticks, ticks_to_ns(marks_[i].ticks, frequency));
  }
}

}  // namespace bulkhead
