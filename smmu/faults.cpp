#include "smmu/faults.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::smmu {

bool FaultLog::take(Bucket& bucket) {
  const uint64_t now = clock_.now_us();
  if (!bucket.started) {
    bucket.started = true;
    bucket.refilled_at_us = now;
  }
  const uint64_t earned = (now - bucket.refilled_at_us) / refill_us;
  if (earned > 0) {
    bucket.tokens = earned >= burst - bucket.tokens ? burst : bucket.tokens + static_cast<uint32_t>(earned);
    bucket.refilled_at_us += earned * refill_us;
  }
  if (bucket.tokens == 0) {
    ++bucket.suppressed;
    return false;
  }
  --bucket.tokens;
  return true;
}

void FaultLog::report(const DmaEvent& event, const StreamOwner& owner) {
  const bool owned = owner.owned && owner.partition < max_contexts;
  Bucket& bucket = buckets_[owned ? owner.partition : max_contexts];
  ++bucket.total;
  const uint64_t dropped = bucket.suppressed;
  if (!take(bucket)) return;
  bucket.suppressed = 0;
  const char* access = access_name(event.access);
  if (owned) {
    if (dropped != 0) log::fact("partition {} dma-fault suppressed {}", owner.partition_name, dropped);
    if (event.has_address) {
      log::fact("partition {} dma-fault sbdf {} iova {} {} reason {}", owner.partition_name, owner.function,
                hex(event.address), access, event.reason);
    } else {
      log::fact("partition {} dma-fault sbdf {} iova none {} reason {}", owner.partition_name, owner.function, access,
                event.reason);
    }
    return;
  }
  if (dropped != 0) log::fact("dma-fault unowned suppressed {}", dropped);
  if (event.has_address) {
    log::fact("dma-fault unowned sid {} iova {} {} reason {}", hex(event.stream_id), hex(event.address), access,
              event.reason);
  } else {
    log::fact("dma-fault unowned sid {} iova none {} reason {}", hex(event.stream_id), access, event.reason);
  }
}

void FaultLog::overflow() {
  ++overflows_;
  if (take(overflow_bucket_)) log::fact("smmu-v3 event-queue overflow: events were lost");
}

void FaultLog::reset_partition(size_t partition) {
  if (partition >= max_contexts) return;
  Bucket& bucket = buckets_[partition];
  bucket.tokens = burst;
  bucket.started = false;  // what was suppressed before is still reported with the next line
}

}  // namespace bulkhead::smmu
