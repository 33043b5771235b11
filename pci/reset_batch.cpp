// Resetting several functions side by side: see reset_batch.hpp.
#include "pci/reset_batch.hpp"

namespace bulkhead::pci {
namespace {

// Begins every job; returns how many are running (the others have failed already).
size_t begin_all(ResetJob* jobs, size_t count, const PciTopology& topology, ResetClock clock,
                 ResetBatchResult& result) {
  size_t running = 0;
  for (size_t i = 0; i < count; ++i) {
    ResetJob& job = jobs[i];
    job.finished = true;  // until it has begun
    job.wake_at = 0;      // the first poll starts it at once
    const bool ready = job.config != nullptr && job.function != nullptr;
    if (!ready) job.reset = FunctionReset();  // nothing of a last run to report
    if (!ready || !job.reset.begin(*job.config, topology, *job.function, clock)) {
      ++result.failed;
      continue;
    }
    job.finished = false;
    ++running;
  }
  return running;
}

// Polls the job if it is due at `now`; true when it has just ended.
bool poll_if_due(ResetJob& job, uint64_t now, ResetBatchResult& result) {
  if (job.wake_at > now) return false;
  const ResetStep step = job.reset.poll(now);
  if (step.status == ResetStatus::wait) {
    job.wake_at = step.wake_at;
    return false;
  }
  job.finished = true;
  if (step.status == ResetStatus::done) {
    ++result.done;
  } else {
    ++result.failed;
  }
  return true;
}

}  // namespace

ResetBatchResult reset_side_by_side(ResetJob* jobs, size_t count, const PciTopology& topology, ResetClock clock,
                                    ResetWaiter& waiter) {
  ResetBatchResult result;
  size_t running = begin_all(jobs, count, topology, clock, result);
  while (running != 0) {
    const uint64_t now = waiter.now();
    uint64_t earliest = ~uint64_t{0};
    for (size_t i = 0; i < count; ++i) {
      ResetJob& job = jobs[i];
      if (job.finished) continue;
      if (poll_if_due(job, now, result)) {
        --running;
      } else if (job.wake_at < earliest) {
        earliest = job.wake_at;
      }
    }
    if (running != 0 && earliest > now) {
      waiter.sleep_until(earliest);
      ++result.sleeps;
    }
  }
  return result;
}

}  // namespace bulkhead::pci
