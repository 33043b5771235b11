// The boot-report fact for a function on a partition's virtual bus (grammar in
// partitions/README.md, "Partition report").
#pragma once

#include <cstdint>

#include "core/lib/format.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci::vpci {

// Which guest window a standard guest places the BAR in: `io`, `mem32`, or `mem64` (the
// prefetchable 64-bit window, for 64-bit prefetchable BARs; other 64-bit BARs go below
// 4 GiB, since a prefetchable window must not hold non-prefetchable BARs).
const char* guest_window_name(const Bar& bar);

// Writes "partition NAME pci SSSS:BB:DD.F vbdf 00:SS.0" and, per implemented BAR,
// " bar N guest-window mem32|mem64|io size 0xSIZE" with the size the guest sees.
void write_function_fact(Sink& out, const char* partition, const Function& function, uint8_t slot);

}  // namespace bulkhead::pci::vpci
