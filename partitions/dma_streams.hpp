// Which StreamIDs a PCI function's DMA arrives at the SMMU with: the bridge between
// pci/ (requester IDs, iommu-map) and smmu/ (streams attached to a partition's context).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "pci/topology.hpp"
#include "smmu/driver.hpp"

namespace bulkhead::partitions {

// The function's StreamIDs at the firmware's SMMU: its own requester ID's and, when a
// bridge above substitutes another requester ID (pci/routing.hpp), that alias's too.
// Count 0 when the host bridge's iommu-map does not lead to the SMMU. `label` (the
// SBDF text) is kept by pointer.
smmu::FunctionStreams function_streams(const PlatformInfo& platform, const pci::PciTopology& topology,
                                       const pci::Function& function, const char* label);

// Every StreamID of every enumerated function, without repeats, for the stream table's
// level-2 tables at bring-up. Returns how many were written (at most `capacity`).
size_t present_streams(const PlatformInfo& platform, const pci::PciTopology& topology, uint32_t* streams,
                       size_t capacity);

}  // namespace bulkhead::partitions
