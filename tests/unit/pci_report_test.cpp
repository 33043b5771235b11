#include <doctest/doctest.h>

#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

// QEMU-like: gpex host bridge, a root port with an e1000e-like endpoint, a virtio-net-like
// conventional endpoint on the root bus.
void build_small(SimEcam& ecam) {
  ecam.root().add(0, 0, 0x1b36, 0x0008, 0x060000);
  ecam.root().root_port(1).pin(1);
  ecam.root()
      .endpoint(2, 0, 0x1af4, 0x1000, 0x020000)
      .bar(0, BarType::io32, 0x20)
      .bar(1, BarType::mem32, 0x1000)
      .bar(4, BarType::mem64, 0x4000, true)
      .rom(0x40000)
      .pin(1)
      .msix(3, 1, 0, 1, 0x800);
  SimBus& below = *ecam.root().find(1, 0)->secondary();
  below.pcie_endpoint(0)
      .bar(0, BarType::mem32, 0x20000)
      .bar(2, BarType::io32, 0x20)
      .bar(3, BarType::mem32, 0x4000)
      .pin(1)
      .msi(0, true, false)
      .msix(5, 3, 0, 3, 0x2000)
      .pm();
}

}  // namespace

TEST_CASE("pci: golden report of a small QEMU-like topology") {
  SimEcam ecam;
  build_small(ecam);
  PciHarness h;
  h.add_host(qemu_host(), &ecam);
  REQUIRE(h.enumerate());
  CHECK(h.errors.empty());
  const std::string expected =
      "bulkhead: pci-segment 0000 host /pcie@10000000 source assigned buses 00-ff ecam 0x4010000000\n"
      "bulkhead: pci 0000:00:00.0 1b36:0008 class 060000 kind host-bridge\n"
      "bulkhead: pci-stream 0000:00:00.0 rid 0x0000 stream-id 0x0 its-device-id 0x0\n"
      "bulkhead: pci 0000:00:01.0 1b36:000c class 060400 kind root-port\n"
      "bulkhead: pci-bridge 0000:00:01.0 buses 00/01/01 io 0x1000-0x1fff mem 0x10000000-0x100fffff pref none\n"
      "bulkhead: pci-cap 0000:00:01.0 pcie type root-port\n"
      "bulkhead: pci-irq 0000:00:01.0 pin A spi 4\n"
      "bulkhead: pci-stream 0000:00:01.0 rid 0x0008 stream-id 0x8 its-device-id 0x8\n"
      "bulkhead: pci 0000:00:02.0 1af4:1000 class 020000 kind endpoint\n"
      "bulkhead: pci-bar 0000:00:02.0 0 io addr 0x3eff2000 size 0x20 bus-addr 0x2000\n"
      "bulkhead: pci-bar 0000:00:02.0 1 mem32 addr 0x10140000 size 0x1000\n"
      "bulkhead: pci-bar 0000:00:02.0 4 mem64 pref addr 0x8000000000 size 0x4000\n"
      "bulkhead: pci-bar 0000:00:02.0 rom mem32 addr 0x10100000 size 0x40000\n"
      "bulkhead: pci-cap 0000:00:02.0 msix table-size 3 table bar 1 offset 0x0 pba bar 1 offset 0x800\n"
      "bulkhead: pci-irq 0000:00:02.0 pin A spi 5\n"
      "bulkhead: pci-stream 0000:00:02.0 rid 0x0010 stream-id 0x10 its-device-id 0x10\n"
      "bulkhead: pci 0000:01:00.0 8086:10d3 class 020000 kind endpoint\n"
      "bulkhead: pci-bar 0000:01:00.0 0 mem32 addr 0x10000000 size 0x20000\n"
      "bulkhead: pci-bar 0000:01:00.0 2 io addr 0x3eff1000 size 0x20 bus-addr 0x1000\n"
      "bulkhead: pci-bar 0000:01:00.0 3 mem32 addr 0x10020000 size 0x4000\n"
      "bulkhead: pci-cap 0000:01:00.0 pcie type endpoint\n"
      "bulkhead: pci-cap 0000:01:00.0 pm\n"
      "bulkhead: pci-cap 0000:01:00.0 msi vectors 1 64bit yes mask no\n"
      "bulkhead: pci-cap 0000:01:00.0 msix table-size 5 table bar 3 offset 0x0 pba bar 3 offset 0x2000\n"
      "bulkhead: pci-irq 0000:01:00.0 pin A spi 4\n"
      "bulkhead: pci-stream 0000:01:00.0 rid 0x0100 stream-id 0x100 its-device-id 0x100\n";
  const std::vector<std::string> report = h.report();
  REQUIRE(!report.empty());
  CHECK(joined(std::vector<std::string>(report.begin(), report.end() - 1)) == expected);
  CHECK(report.back().rfind("bulkhead: pci-summary 0000 functions 4 bridges 1 unusable 0 config-accesses ", 0) == 0);
}
