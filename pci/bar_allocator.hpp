// Placing BARs and bridge windows in the host bridge's address windows (`ranges`), and
// programming them: window sizes bottom-up, addresses top-down, largest first.
#pragma once

#include "core/platform/platform.hpp"
#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// Allocates and programs the BARs, ROMs and bridge windows of one scanned segment, then
// sets each bridge's final command register (forwarding on). A BAR that cannot be placed
// makes its function unusable (logged); the rest is still placed. Returns false if any
// function was made unusable.
bool allocate_resources(PciTopology& topology, const Segment& segment, const PcieHostInfo& host, ConfigAccessor& config);

}  // namespace bulkhead::pci
