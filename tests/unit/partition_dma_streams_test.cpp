// Which StreamIDs a function's DMA arrives with: its own and its bridge alias.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "partitions/dma_streams.hpp"
#include "tests/sim/pci_harness.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

struct Topology {
  Topology() {
    SimFunction& pcie_to_pci = ecam.root().pcie_pci_bridge(3);  // secondary bus 1
    pcie_to_pci.secondary()->endpoint(1);
    SimFunction& port = ecam.root().root_port(6);  // PCIe below: no alias
    port.secondary()->pcie_endpoint(0);
    ecam.root().endpoint(2);
    platform = test::smmu_platform();
    harness.add_host(platform.pcie_hosts[0], &ecam);
    REQUIRE(harness.enumerate());
  }
  SimEcam ecam;
  PciHarness harness;
  PlatformInfo platform;
};

}  // namespace

TEST_CASE("dma streams: a function's own StreamID, and its alias behind a PCIe-to-PCI bridge") {
  Topology t;
  const smmu::FunctionStreams plain = partitions::function_streams(t.platform, *t.harness.topology,
                                                                   t.harness.function(0, 0, 2, 0), "0000:00:02.0");
  CHECK(plain.count == 1);
  CHECK(plain.stream_ids[0] == 0x10);
  CHECK(std::string(plain.label) == "0000:00:02.0");
  const smmu::FunctionStreams behind = partitions::function_streams(t.platform, *t.harness.topology,
                                                                    t.harness.function(0, 1, 1, 0), "0000:01:01.0");
  CHECK(behind.count == 2);
  CHECK(behind.stream_ids[0] == 0x108);  // its own requester ID
  CHECK(behind.stream_ids[1] == 0x100);  // (secondary bus, 00.0): what the bridge sends upstream
  const smmu::FunctionStreams pcie = partitions::function_streams(t.platform, *t.harness.topology,
                                                                  t.harness.function(0, 2, 0, 0), "0000:02:00.0");
  CHECK(pcie.count == 1);
  CHECK(pcie.stream_ids[0] == 0x200);
}

TEST_CASE("dma streams: no StreamIDs where the iommu-map does not lead to the SMMU") {
  Topology t;
  t.platform.smmu.phandle = 0x1234;  // the iommu-map names another IOMMU
  CHECK(partitions::function_streams(t.platform, *t.harness.topology, t.harness.function(0, 0, 2, 0), "").count == 0);
  t.platform.smmu.present = false;
  CHECK(partitions::function_streams(t.platform, *t.harness.topology, t.harness.function(0, 0, 2, 0), "").count == 0);
}

TEST_CASE("dma streams: every present StreamID once, for the level-2 stream tables") {
  Topology t;
  uint32_t streams[16] = {};
  const size_t count = partitions::present_streams(t.platform, *t.harness.topology, streams, 16);
  std::vector<uint32_t> got(streams, streams + count);
  std::sort(got.begin(), got.end());
  std::vector<uint32_t> expected;
  for (size_t i = 0; i < t.harness.topology->function_count; ++i) {
    const pci::Function& f = t.harness.topology->functions[i];
    expected.push_back(f.address.bdf.requester_id());
    expected.push_back(f.dma.requester_id);
  }
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  CHECK(got == expected);
  CHECK(std::find(got.begin(), got.end(), 0x100u) != got.end());
  CHECK(partitions::present_streams(t.platform, *t.harness.topology, streams, 2) == 2);  // capacity respected
}
