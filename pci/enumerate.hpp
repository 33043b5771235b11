// The boot entry point of pci/: find every function behind every host bridge, number
// the buses, size and place BARs, program bridge windows, parse capabilities, route
// interrupts and requester IDs, and record it all in a PciTopology.
#pragma once

#include <cstddef>

#include "core/platform/platform.hpp"
#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// accessors[i] reaches the ECAM of hosts[i] (addressed by absolute bus number; see
// ecam_offset()); nullptr skips that host. Hosts are enumerated one after another in
// DT order. Errors are logged as they are found and never stop the other hosts or
// functions; returns false if there was any. `out` is valid either way. Report it with
// report_topology() (pci/pci_report.hpp).
bool enumerate_hosts(const PcieHostInfo* hosts, size_t host_count, ConfigAccessor* const* accessors,
                     PciTopology& out);

inline bool enumerate_all(const PlatformInfo& platform, ConfigAccessor* const* accessors, PciTopology& out) {
  return enumerate_hosts(platform.pcie_hosts, platform.pcie_host_count, accessors, out);
}

// Function kind from the PCI Express device/port type when present, else the header.
FunctionKind derive_kind(const Function& function);

}  // namespace bulkhead::pci
