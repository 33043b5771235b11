// The machine-readable boot report of pci/: one fact per line (grammar in pci/README.md).
#pragma once

#include "pci/topology.hpp"

namespace bulkhead::pci {

// Every segment, then every function in table order (bus, then device/function).
void report_topology(const PciTopology& topology);
void report_segment(const PciTopology& topology, const Segment& segment);
void report_function(const Function& function);

}  // namespace bulkhead::pci
