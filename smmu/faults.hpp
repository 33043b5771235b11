// DMA fault lines, rate-limited per partition: who owns a stream comes from the caller
// (StreamOwnership), what happened from the event record (commands.hpp).
//
//   bulkhead: partition NAME dma-fault sbdf SSSS:BB:DD.F iova 0xADDR|none read|write|unknown reason TEXT
//   bulkhead: dma-fault unowned sid 0xSID iova 0xADDR|none read|write|unknown reason TEXT
//   bulkhead: partition NAME dma-fault suppressed N     (N lines were dropped by the rate limit)
//   bulkhead: dma-fault unowned suppressed N
//   bulkhead: smmu-v3 event-queue overflow: events were lost
#pragma once

#include <cstddef>
#include <cstdint>

#include "smmu/commands.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::smmu {

constexpr size_t max_contexts = 8;  // one DMA context per partition (partitions::max_partitions)

struct StreamOwner {
  bool owned = false;
  size_t partition = 0;              // rate-limit slot, below max_contexts
  const char* partition_name = "";
  const char* function = "";         // the function's SBDF, "SSSS:BB:DD.F"
};

class StreamOwnership {
 public:
  virtual StreamOwner owner_of(uint32_t stream_id) const = 0;

 protected:
  ~StreamOwnership() = default;
};

// A token bucket per partition and one for unowned streams: `burst` lines at once, then
// one more per `refill_us`; what the limit drops is counted and reported when lines flow
// again. A faulting device therefore cannot flood the console, and one partition's
// faults never use another's budget.
class FaultLog {
 public:
  static constexpr uint32_t burst = 8;
  static constexpr uint64_t refill_us = 1000000;

  constexpr explicit FaultLog(Clock& clock) : clock_(clock) {}
  void report(const DmaEvent& event, const StreamOwner& owner);
  void overflow();
  // The partition restarted: a fresh budget (its counters stay).
  void reset_partition(size_t partition);

  uint64_t faults(size_t partition) const { return partition < max_contexts ? buckets_[partition].total : 0; }
  uint64_t unowned_faults() const { return buckets_[max_contexts].total; }
  uint64_t overflows() const { return overflows_; }

 private:
  struct Bucket {
    uint32_t tokens = burst;
    bool started = false;
    uint64_t refilled_at_us = 0;
    uint64_t suppressed = 0;
    uint64_t total = 0;
  };
  // True when a line may be printed now.
  bool take(Bucket& bucket);

  Clock& clock_;
  Bucket buckets_[max_contexts + 1];  // the last one: unowned streams
  Bucket overflow_bucket_;
  uint64_t overflows_ = 0;
};

}  // namespace bulkhead::smmu
