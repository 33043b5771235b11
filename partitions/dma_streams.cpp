#include "partitions/dma_streams.hpp"

#include "pci/routing.hpp"

namespace bulkhead::partitions {

smmu::FunctionStreams function_streams(const PlatformInfo& platform, const pci::PciTopology& topology,
                                       const pci::Function& function, const char* label) {
  smmu::FunctionStreams streams;
  streams.label = label;
  if (!platform.smmu.present || function.segment_index >= topology.segment_count) return streams;
  const pci::Segment& segment = topology.segments[function.segment_index];
  if (segment.host_index >= platform.pcie_host_count) return streams;
  const IdMap& map = platform.pcie_hosts[segment.host_index].iommu_map;
  const uint16_t ids[2] = {function.address.bdf.requester_id(), pci::dma_requester_id(topology, function)};
  for (const uint16_t requester_id : ids) {
    const pci::MappedId mapped = pci::map_requester_id(map, requester_id);
    if (!mapped.found || mapped.target_phandle != platform.smmu.phandle) continue;
    if (streams.count == 1 && streams.stream_ids[0] == mapped.id) continue;
    streams.stream_ids[streams.count++] = mapped.id;
  }
  return streams;
}

size_t present_streams(const PlatformInfo& platform, const pci::PciTopology& topology, uint32_t* streams,
                       size_t capacity) {
  size_t count = 0;
  for (size_t i = 0; i < topology.function_count; ++i) {
    const smmu::FunctionStreams f = function_streams(platform, topology, topology.functions[i], "");
    for (size_t s = 0; s < f.count; ++s) {
      bool seen = false;
      for (size_t k = 0; k < count && !seen; ++k) seen = streams[k] == f.stream_ids[s];
      if (!seen && count < capacity) streams[count++] = f.stream_ids[s];
    }
  }
  return count;
}

}  // namespace bulkhead::partitions
