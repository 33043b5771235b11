#include <doctest/doctest.h>

#include "pci/routing.hpp"
#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

TEST_CASE("pci routing: the INTx swizzle") {
  CHECK(pci::swizzle_pin(1, 0) == 1);
  CHECK(pci::swizzle_pin(1, 1) == 2);
  CHECK(pci::swizzle_pin(4, 1) == 1);
  CHECK(pci::swizzle_pin(2, 3) == 1);
  CHECK(pci::swizzle_pin(3, 31) == 2);
}

TEST_CASE("pci routing: interrupt-map lookup under the mask") {
  PcieHostInfo host = qemu_host();
  // QEMU virt: slot s pin p -> SPI 3 + (s + p - 1) % 4; only slot bits 12:11 count.
  CHECK(pci::lookup_interrupt(host, {0, 0, 0}, 1).spi == 3);
  CHECK(pci::lookup_interrupt(host, {0, 2, 0}, 1).spi == 5);
  CHECK(pci::lookup_interrupt(host, {0, 3, 0}, 4).spi == 5);
  CHECK(pci::lookup_interrupt(host, {0, 5, 3}, 2).spi == 5);  // slot 5 masks to slot 1
  CHECK(pci::lookup_interrupt(host, {0, 5, 3}, 2).trigger == 4);
  CHECK(pci::lookup_interrupt(host, {0, 1, 0}, 1).found);
  // Without interrupt-map-mask every bit counts: slot 5 has no entry.
  host.interrupt_map_mask[0] = host.interrupt_map_mask[3] = 0;
  CHECK_FALSE(pci::lookup_interrupt(host, {0, 5, 0}, 2).found);
  CHECK(pci::lookup_interrupt(host, {0, 1, 0}, 2).spi == 5);
  host.interrupt_map_count = 0;
  CHECK_FALSE(pci::lookup_interrupt(host, {0, 1, 0}, 2).found);
}

TEST_CASE("pci routing: msi-map and iommu-map translate requester IDs") {
  IdMap map;
  map.entries[0] = {0x0100, 0x11, 0x2000, 0x100};
  map.entries[1] = {0x0000, 0x22, 0x0, 0x20};
  map.count = 2;
  CHECK(pci::map_requester_id(map, 0x0100).id == 0x2000);
  CHECK(pci::map_requester_id(map, 0x01ff).id == 0x20ff);
  CHECK(pci::map_requester_id(map, 0x0100).target_phandle == 0x11);
  CHECK(pci::map_requester_id(map, 0x0008).id == 0x8);
  CHECK(pci::map_requester_id(map, 0x0008).target_phandle == 0x22);
  CHECK_FALSE(pci::map_requester_id(map, 0x0020).found);
  CHECK_FALSE(pci::map_requester_id(map, 0x0200).found);
  map.mask = 0xff;
  CHECK(pci::map_requester_id(map, 0x0310).id == 0x10);
  CHECK_FALSE(pci::map_requester_id(IdMap{}, 0x0).found);
}

TEST_CASE("pci routing: legacy interrupts through a switch, and unrouted pins") {
  SimEcam ecam;
  SimFunction& up = ecam.root().root_port(1).secondary()->upstream_port(0);
  up.secondary()->downstream_port(1).secondary()->pcie_endpoint(0).pin(2);
  ecam.root().endpoint(2).pin(3);
  ecam.root().endpoint(3);  // no pin
  PcieHostInfo host = qemu_host();
  host.iommu_map.entries[0] = {0x0100, smmu_phandle, 0x4000, 0x100};  // bus 1 only
  host.msi_map.mask = 0xff;
  PciHarness h;
  h.add_host(host, &ecam);
  REQUIRE(h.enumerate());
  // 03:00.0 INTB: stays B at the downstream port (device 0 below it), becomes C
  // crossing the switch (downstream port is device 1), stays C at the upstream port,
  // then the root port (slot 1) routes pin C to SPI 3 + (1 + 3 - 1) % 4 = 6.
  const pci::Function& deep = h.function(0, 3, 0, 0);
  CHECK(deep.interrupt.pin == 2);
  CHECK(deep.interrupt.routed);
  CHECK(deep.interrupt.spi == 6);
  const pci::Function& root_device = h.function(0, 0, 2, 0);
  CHECK(root_device.interrupt.spi == 3 + (2 + 3 - 1) % 4);
  CHECK(h.function(0, 0, 3, 0).interrupt.pin == 0);

  const auto report = joined(h.report());
  CHECK(report.find("bulkhead: pci-irq 0000:03:00.0 pin B spi 6\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-irq 0000:00:03.0") == std::string::npos);
  // StreamIDs only for bus 1; ITS DeviceIDs masked to 8 bits.
  CHECK(report.find("bulkhead: pci-stream 0000:01:00.0 rid 0x0100 stream-id 0x4000 its-device-id 0x0\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-stream 0000:03:00.0 rid 0x0300 stream-id none its-device-id 0x0\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-stream 0000:00:02.0 rid 0x0010 stream-id none its-device-id 0x10\n") != std::string::npos);

  host.interrupt_map_count = 0;
  host.msi_map.count = 0;
  PciHarness unmapped;
  SimEcam again;
  again.root().endpoint(2).pin(1);
  unmapped.add_host(host, &again);
  REQUIRE(unmapped.enumerate());
  const auto lines = joined(unmapped.report());
  CHECK(lines.find("bulkhead: pci-irq 0000:00:02.0 pin A spi none\n") != std::string::npos);
  CHECK(lines.find("bulkhead: pci-stream 0000:00:02.0 rid 0x0010 stream-id none its-device-id none\n") != std::string::npos);
}

TEST_CASE("pci routing: requester-ID aliases behind conventional bridges") {
  SimEcam ecam;
  SimFunction& pcie_to_pci = ecam.root().pcie_pci_bridge(3);  // secondary bus 1
  pcie_to_pci.secondary()->endpoint(1);
  pcie_to_pci.secondary()->endpoint(2);
  SimFunction& nested = pcie_to_pci.secondary()->pci_bridge(4);  // 01:04.0, secondary bus 2
  nested.secondary()->endpoint(0);
  SimFunction& conventional = ecam.root().pci_bridge(5);  // secondary bus 3
  conventional.secondary()->endpoint(7);
  SimFunction& port = ecam.root().root_port(6);  // PCIe below: no alias
  port.secondary()->pcie_endpoint(0);
  PciHarness h;
  h.add_host(qemu_host(), &ecam);
  REQUIRE(h.enumerate());
  CHECK(h.function(0, 1, 1, 0).dma.requester_id == 0x0100);
  CHECK(h.function(0, 1, 2, 0).dma.requester_id == 0x0100);
  CHECK(h.function(0, 2, 0, 0).dma.requester_id == 0x0100);  // 01:04.0 aliases, then the PCIe-to-PCI bridge
  CHECK(h.function(0, 1, 4, 0).dma.requester_id == 0x0100);
  CHECK(h.function(0, 3, 7, 0).dma.requester_id == 0x0028);  // the conventional bridge 00:05.0 itself
  CHECK(h.function(0, 4, 0, 0).dma.requester_id == 0x0400);
  CHECK(h.function(0, 0, 3, 0).dma.requester_id == 0x0018);
  CHECK(h.function(0, 3, 7, 0).dma.stream_id == 0x28);
  CHECK(h.function(0, 3, 7, 0).dma.stream_id_valid);
  CHECK(h.function(0, 3, 7, 0).dma.iommu_phandle == smmu_phandle);
  CHECK(h.function(0, 3, 7, 0).dma.msi_phandle == its_phandle);
}
