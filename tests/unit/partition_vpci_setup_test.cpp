// A partition's virtual PCI bus from its boot plan (partitions/vpci_setup.hpp), against
// functions enumerated on the simulated ECAM.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "partitions/vpci_setup.hpp"
#include "tests/sim/vpci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;
using namespace bulkhead::sim;

namespace {

struct PlannedBus {
  SimEcam ecam;
  PciHarness harness;
  Partition partition;
  PartitionPlan plan;
  PlannedBus() {
    ecam.root().endpoint(1, 0, 0x8086, 0x10d3).bar(0, BarType::mem32, 0x20000).pin(1);
    ecam.root().endpoint(2, 0, 0x1234, 0x11e8).bar(0, BarType::mem32, 0x100000).pin(2);
    ecam.root().endpoint(3, 0, 0x1b36, 0x0005).bar(0, BarType::mem32, 0x1000);  // no INTx pin
    harness.add_host(qemu_host(), &ecam);
    REQUIRE(harness.enumerate());
    std::strcpy(partition.name, "net");
    partition.ram = {true, 0x20000000, true, true, 0x60000000, 0x40000000};
    PlatformDeviceRef& rtc = partition.platform_devices[partition.platform_device_count++];
    std::strcpy(rtc.device, "rtc");
    rtc.regions[rtc.region_count++] = {0x09010000, 0x1000};
    assign(1, 4);
    assign(2, 1);
    assign(3, 9);
  }
  void assign(uint8_t device, uint8_t slot) {
    const pci::Function& f = harness.function(0, 0, device, 0);
    plan.functions[plan.function_count++] = {static_cast<uint16_t>(harness.topology->index_of(f)), slot,
                                             static_cast<uint8_t>(plan.function_count)};
  }
};

}  // namespace

TEST_CASE("vpci setup: the bus holds the plan's functions at their guest slots, clear of everything else") {
  PlannedBus p;
  pci::vpci::BusSetup setup;
  describe_virtual_bus(p.partition, p.plan, *p.harness.topology, setup);
  CHECK(std::string(setup.partition) == "net");
  CHECK_FALSE(setup.legacy_intx);
  CHECK(setup.windows.mmio32.base == guest_pci_mmio32.range.base);
  CHECK(setup.windows.mmio64.size == guest_pci_mmio64.range.size);
  CHECK(setup.windows.io.base == 0x3eff0000);
  REQUIRE(setup.function_count == 3);
  CHECK(setup.functions[0].slot == 4);
  CHECK(setup.functions[0].function->device_id == 0x10d3);
  CHECK(setup.functions[2].slot == 9);
  std::vector<std::string> reserved;
  for (size_t i = 0; i < setup.reserved_count; ++i) {
    reserved.push_back(printed("%s 0x%llx 0x%llx", setup.reserved[i].name,
                               static_cast<unsigned long long>(setup.reserved[i].range.base),
                               static_cast<unsigned long long>(setup.reserved[i].range.size)));
  }
  CHECK(reserved == std::vector<std::string>{"guest RAM 0x40000000 0x20000000", "GIC distributor 0x8000000 0x10000",
                                             "GIC redistributors 0x80a0000 0xf60000", "virtual UART 0x9000000 0x1000",
                                             "virtual PCI I/O window 0x3eff0000 0x10000",
                                             "virtual PCI ECAM 0x3f000000 0x1000000", "rtc 0x9010000 0x1000"});

  // The bus built from it answers at the slots.
  RecordingHost host(p.ecam);
  auto bus = std::make_unique<pci::vpci::VirtualPciBus>();
  pci::vpci::SetupError error;
  REQUIRE_MESSAGE(bus->configure(setup, host, error), error.message);
  CHECK(bus->config_read(4u << 15, 4).value == 0x10d38086);
  CHECK(bus->config_read(1u << 15, 4).value == 0x11e81234);
  CHECK(bus->config_read(9u << 15, 2).value == 0x1b36);
  CHECK(bus->config_read(2u << 15, 4).value == 0xffffffffu);
  CHECK(bus->config_read((4u << 15) | 0x3d, 1).value == 0);  // legacy-intx denied: no pin
}

TEST_CASE("vpci setup: INTx lines only with legacy-intx allowed, for functions with a routed pin") {
  PlannedBus p;
  GuestPciInterrupt lines[max_pci_devices];
  CHECK(pci_intx_lines(p.partition, p.plan, *p.harness.topology, lines) == 0);
  p.partition.legacy_intx = true;
  REQUIRE(pci_intx_lines(p.partition, p.plan, *p.harness.topology, lines) == 2);
  // QEMU's swizzle: slot 1 INTA -> SPI 4, slot 2 INTB -> SPI 6; level high.
  CHECK(lines[0].slot == 4);
  CHECK(lines[0].pin == 1);
  CHECK(lines[0].spi == 4);
  CHECK(lines[0].flags == 4);
  CHECK(lines[1].slot == 1);
  CHECK(lines[1].pin == 2);
  CHECK(lines[1].spi == 6);
}
