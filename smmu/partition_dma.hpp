// The two orderings DMA isolation rests on, as functions that cannot be called in the
// wrong order:
//  - start: every stream of every function points at the partition's context and the
//    SMMU has synced, and only then may the guest enable bus mastering;
//  - stop or restart: bus mastering off, every stream back to abort, the context's TLB
//    entries invalidated and synced, and only then may the partition's RAM be scrubbed
//    or reused.
#pragma once

#include <cstddef>

#include "smmu/driver.hpp"

namespace bulkhead::smmu {

// The bus-master enable of a partition's functions, by their index in the list given
// to connect/disconnect (vPCI and the physical command register live elsewhere).
class BusMastering {
 public:
  // From now on the guest's writes to the command register may set Bus Master Enable.
  virtual void permit(size_t function) = 0;
  // Bus Master Enable cleared in the physical function, and guest writes may not set it.
  virtual void disable(size_t function) = 0;

 protected:
  ~BusMastering() = default;
};

// Start: attach every stream (one CMD_SYNC), then permit bus mastering function by
// function. False: nothing is permitted (the streams that were attached go back to
// abort when the SMMU still works).
bool connect_partition_dma(Driver& driver, ContextId context, const FunctionStreams* functions, size_t count,
                           BusMastering& bus_mastering);

// Stop: disable bus mastering of every function, then detach the context's streams,
// invalidate its TLB entries and sync. True: the partition's RAM may be scrubbed and
// reused. False: the SMMU did not confirm (it is stuck); the RAM must not be reused.
bool disconnect_partition_dma(Driver& driver, ContextId context, size_t function_count, BusMastering& bus_mastering);

}  // namespace bulkhead::smmu
