#include "core/lib/boot_timeline.hpp"

#include "core/lib/log.hpp"

namespace bulkhead {

bool BootTimeline::mark(const char* phase, uint64_t ticks, const char* partition) {
  if (count_ == max_phases) return false;
  marks_[count_++] = {phase, ticks, partition};
  return true;
}

void BootTimeline::report(uint64_t frequency) const {
  for (size_t i = 0; i < count_; ++i) {
    const Mark& entry = marks_[i];
    const uint64_t ns = ticks_to_ns(entry.ticks, frequency);
    if (entry.partition != nullptr) {
      log::fact("boot-phase {} ticks {} ns {} partition {}", entry.phase, entry.ticks, ns, entry.partition);
    } else {
      log::fact("boot-phase {} ticks {} ns {}", entry.phase, entry.ticks, ns);
    }
  }
}

}  // namespace bulkhead
