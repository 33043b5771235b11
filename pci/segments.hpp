// Segment (PCI domain) numbers for the host bridges of the firmware device tree.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::pci {

struct SegmentAssignment {
  bool valid = false;  // false: the host bridge is not enumerated
  bool from_dt = false;
  uint16_t number = 0;
};

// One entry of `out` per host, in DT order. `linux,pci-domain` is honoured; a host
// without it gets the lowest number that no host claims explicitly and no earlier host
// was given, so the same DTB always yields the same numbers. When two hosts claim the
// same number the first (in DT order) keeps it and the later one is rejected with an
// error naming both. Returns false when any host was rejected.
bool assign_segments(const PcieHostInfo* hosts, size_t host_count, SegmentAssignment* out);

}  // namespace bulkhead::pci
