// Resetting several functions side by side: see reset_batch.hpp.
#include "pci/reset_batch.hpp"

namespace bulkhead::pci {

ResetBatchResult reset_side_by_side(ResetJob* jobs, size_t count, const PciTopology& topology, ResetClock clock,
                                    ResetWaiter& waiter) {
  ResetBatchResult result;
  size_t running = 0;
  for (size_t i = 0; i < count; ++i) {
    ResetJob& job = jobs[i];
    job.finished = true;  // until it has begun
    job.wake_at = 0;      // the first poll starts it at once
    if (job.config == nullptr || job.function == nullptr ||
        !job.reset.begin(*job.config, topology, *job.function, clock)) {
      if (job.config == nullptr || job.function == nullptr) job.reset = FunctionReset();  // nothing of a last run
      ++result.failed;
      continue;
    }
    job.finished = false;
    ++running;
  }
  while (running != 0) {
    const uint64_t now = waiter.now();
    uint64_t earliest = ~uint64_t{0};
    for (size_t i = 0; i < count; ++i) {
      ResetJob& job = jobs[i];
      if (job.finished) continue;
      if (job.wake_at <= now) {
        const ResetStep step = job.reset.poll(now);
        if (step.status != ResetStatus::wait) {
          job.finished = true;
          --running;
          if (step.status == ResetStatus::done) {
            ++result.done;
          } else {
            ++result.failed;
          }
          continue;
        }
        job.wake_at = step.wake_at;
      }
      if (job.wake_at < earliest) earliest = job.wake_at;
    }
    if (running == 0) break;
    if (earliest > now) {
      waiter.sleep_until(earliest);
      ++result.sleeps;
    }
  }
  return result;
}

}  // namespace bulkhead::pci
