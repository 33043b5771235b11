// The end of the boot timeline: when each partition's guest was first entered.
// Target-only, internal to partitions/boot.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::boot {

// Called by a CPU about to enter vCPU `vcpu` of partition `index` (named `name`). The
// first time vCPU 0 of that partition is entered after boot, reads the counter and
// prints `bulkhead: partition NAME first-entry ticks N ns N`; restarts and other vCPUs
// print nothing.
void note_guest_entry(size_t index, const char* name, uint32_t vcpu);

}  // namespace bulkhead::boot
