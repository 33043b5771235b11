// MSIs end to end on the host: a guest programs its functions' MSI and MSI-X (pci/vpci),
// the partition's router (partitions/msi_routing) maps their events in the simulated ITS,
// the simulated functions send to the doorbell, the ITS raises the LPI on the CPU of the
// vCPU the guest's SPI targets, and the LPI comes out as that SPI in the partition's
// virtual GIC. Also: retargeting, forged EventIDs, aliases sharing a DeviceID, the
// reservations and their failures.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "partitions/msi_routing.hpp"
#include "tests/unit/its_support.hpp"
#include "tests/unit/vpci_msi_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;
using sim::BarType;
namespace vgic = bulkhead::vgic;

namespace {

constexpr uint64_t distributor_base = 0x08000000;
constexpr uint64_t table = 0x10001000;  // the guest's view of 00:01.0's MSI-X table

// The partition: 2 vCPUs on physical CPUs 1 and 2, SPIs 64..127 for its MSIs, with
// 00:02.0 (MSI-X, 8 vectors) in slot 1 and 00:03.0 (QEMU's edu: one MSI vector) in slot 2.
struct Partition : MessageFixture {
  ItsBench its;
  vgic::VirtualGic gic;
  partitions::PartitionMsi msi;
  partitions::MsiDispatch dispatch;
  pci::vpci::MsixHandler msix;
  pci::vpci::MsiHandler edu;
  std::vector<pci::vpci::MsixVector> storage = std::vector<pci::vpci::MsixVector>(8);
  partitions::MsiRoutingSetup routing;

  explicit Partition(bool configure_router = true) {
    root().pcie_endpoint(2, 0, 0x1af4, 0x1041).bar(0, BarType::mem32, 0x4000).msix(8, 0, 0x1000, 0, 0x1800);
    root().pcie_endpoint(3, 0, 0x1234, 0x11e8).bar(0, BarType::mem32, 0x1000).msi(0, true, false);
    root().pcie_endpoint(4, 0, 0x8086, 0x10d3).bar(0, BarType::mem32, 0x4000).msix(4, 0, 0x1000, 0, 0x1800);
    enumerate();
    give(2, 0, 1);
    give(3, 0, 2);
    configure();
    REQUIRE(its.ready());
    vgic::GicConfig config;
    config.vcpu_count = 2;
    config.distributor_base = distributor_base;
    config.redistributor_base = 0x080a0000;
    config.messages = {first_spi, spi_count};
    REQUIRE(gic.configure(config) == vgic::ConfigError::none);
    guest_gic(0, 0x13);                                  // GICD_CTLR: groups on
    guest_gic(0x108, 0xffffffff);                        // ISENABLER2: INTIDs 64..95
    guest_gic(0x10c, 0xffffffff);                        // ISENABLER3: 96..127
    vgic_write(0x080a0000 + 0x14, 0);                    // vCPU 0 awake
    vgic_write(0x080a0000 + 0x20000 + 0x14, 0);          // vCPU 1 awake
    routing.partition = "guest";
    routing.functions[0] = &function(2);
    routing.functions[1] = &function(3);
    routing.function_count = 2;
    routing.doorbell = its_doorbell;
    routing.vcpu_cpus[0] = 1;
    routing.vcpu_cpus[1] = 2;
    routing.vcpu_count = 2;
    if (configure_router) REQUIRE(msi.configure(routing, its.driver, gic, nullptr));
    dispatch.add(0, msi);
    for (uint8_t device : {2, 3, 4}) devices.add(function(device));
    devices.its = &its.its;
    devices.doorbell = its_doorbell;
    pci::vpci::MessageSetup message = setup_for(1, 2);
    message.router = &msi;
    REQUIRE(msix.configure(message, *bus, storage.data(), storage.size()));
    message = setup_for(2, 3);
    message.router = &msi;
    REQUIRE(edu.configure(message, *bus));
    decode(1, 0x10000000);
    decode(2, 0x10010000);
    host.take();
  }
  vgic::Events vgic_write(uint64_t address, uint64_t value) {
    vgic::Events events;
    CHECK(gic.write(address, 4, value, events, 0) == vgic::AccessResult::handled);  // as vCPU 0
    return events;
  }
  vgic::Events guest_gic(uint64_t offset, uint64_t value) { return vgic_write(distributor_base + offset, value); }
  bool spi_pending(uint32_t intid) {
    uint64_t value = 0;
    gic.read(distributor_base + 0x200 + 4 * (intid / 32), 4, value);
    return ((value >> (intid % 32)) & 1) != 0;
  }
  // The guest enables MSI-X and points vector `vector` at SPI `spi`, unmasked.
  void msix_vector(uint16_t vector, uint32_t spi) {
    write16(1, function(2).caps.msix.offset + 2, 0x8000);
    trapped_write(table + 16u * vector, static_cast<uint32_t>(guest_doorbell));
    trapped_write(table + 16u * vector + 4, 0);
    trapped_write(table + 16u * vector + 8, spi);
    trapped_write(table + 16u * vector + 12, 0);
  }
  // A CPU takes what is pending at it and the hypervisor hands it to the partition's GIC.
  uint32_t take_and_deliver(unsigned cpu, uint8_t vcpu) {
    const uint32_t lpi = its.its.take(cpu);
    if (lpi == 1023) return 0;
    const partitions::MsiDispatch::Delivery delivery = dispatch.deliver(lpi);
    if (!delivery.routed) return 0;
    CHECK(delivery.partition == 0);
    vgic::Events events;
    CHECK(gic.signal_message(vcpu, delivery.spi, events));
    return delivery.spi;
  }
};

}  // namespace

TEST_CASE("msi routing: the partition's devices get ITTs for all their vectors and one LPI each") {
  Partition p;
  CHECK(p.its.operations("MAPD").size() == 2);
  CHECK(p.its.operations("MAPD device 0x10")[0].find("MAPD device 0x10 bits 3 ") == 0);
  CHECK(p.its.operations("MAPD device 0x18")[0].find("MAPD device 0x18 bits 1 ") == 0);
  CHECK(p.msi.lpi_count() == 9);
  CHECK(p.msi.lpi_base() == its::first_lpi);
  CHECK(p.its.operations("MAPTI").empty());  // nothing is translated before the guest asks
  uint32_t device = 0, event = 0, lpi = 0;
  REQUIRE(p.msi.locate(p.function(2), pci::vpci::MessageKind::msix, 7, device, event, lpi));
  CHECK(device == 0x10);
  CHECK(event == 7);
  CHECK(lpi == its::first_lpi + 7);
  REQUIRE(p.msi.locate(p.function(3), pci::vpci::MessageKind::msi, 0, device, event, lpi));
  CHECK(device == 0x18);
  CHECK(event == 0);
  CHECK(lpi == its::first_lpi + 8);
  CHECK_FALSE(p.msi.locate(p.function(2), pci::vpci::MessageKind::msix, 8, device, event, lpi));
  CHECK_FALSE(p.msi.locate(p.function(4), pci::vpci::MessageKind::msix, 0, device, event, lpi));
}

TEST_CASE("msi routing: an MSI-X vector arrives as the guest's SPI, on the CPU of the vCPU it targets") {
  Partition p;
  p.msix_vector(3, 70);
  CHECK(p.its.operations("MAPTI") == std::vector<std::string>{"MAPTI device 0x10 event 3 lpi 8195 icid 1"});
  p.devices.fire_msix(p.function(2), 3);
  REQUIRE(p.devices.deliveries.size() == 1);
  CHECK(p.devices.deliveries[0].pending);
  CHECK(p.devices.deliveries[0].cpu == 1);  // vCPU 0 runs on CPU 1
  CHECK(p.take_and_deliver(1, 0) == 70);
  CHECK(p.spi_pending(70));
  CHECK(p.msi.delivered(0) == 1);
  // The guest routes SPI 70 to vCPU 1: its LPI follows to CPU 2.
  const vgic::Events events = p.guest_gic(0x6000 + 8 * 70, 1);
  CHECK(events.rerouted_message_spi == 70);
  p.msi.retarget(events.rerouted_message_spi);
  CHECK(p.its.operations("MOVI") == std::vector<std::string>{"MOVI device 0x10 event 3 icid 2"});
  p.devices.fire_msix(p.function(2), 3);
  CHECK(p.devices.deliveries.back().cpu == 2);
  CHECK(p.take_and_deliver(2, 1) == 70);
  CHECK(p.msi.delivered(0) == 2);
  // A vector bound after the move goes straight to CPU 2.
  p.msix_vector(4, 70);
  CHECK(p.its.operations("MAPTI device 0x10 event 4")[0] == "MAPTI device 0x10 event 4 lpi 8196 icid 2");
}

TEST_CASE("msi routing: edu's MSI arrives as its SPI, disabling removes the translation") {
  Partition p;
  const uint16_t cap = p.function(3).caps.msi.offset;
  p.write32(2, cap + 4, static_cast<uint32_t>(guest_doorbell));
  p.write32(2, cap + 8, 0);
  p.write16(2, cap + 0xc, 99);
  p.write16(2, cap + 2, 1);
  CHECK(p.its.operations("MAPTI") == std::vector<std::string>{"MAPTI device 0x18 event 0 lpi 8200 icid 1"});
  p.devices.fire_msi(p.function(3), 0);
  CHECK(p.take_and_deliver(1, 0) == 99);
  CHECK(p.msi.delivered(1) == 1);
  p.write16(2, cap + 2, 0);
  CHECK(p.its.operations("DISCARD") == std::vector<std::string>{"DISCARD device 0x18 event 0"});
  CHECK(p.msi.bound_vectors() == 0);
  p.devices.fire_msi(p.function(3), 0);  // disabled: nothing sent
  CHECK(p.devices.deliveries.size() == 1);
}

TEST_CASE("msi routing: forged EventIDs on a partition's DeviceID reach at most its own bound events") {
  Partition p;
  p.msix_vector(0, 64);
  p.msix_vector(5, 65);
  std::set<uint32_t> reached;
  for (uint32_t event = 0; event < 0x10000; event += event < 64 ? 1 : 97) {
    for (uint32_t device : {0x10u, 0x18u}) {
      const sim::ItsDelivery delivery = p.its.its.inject(device, event);
      if (!delivery.pending) continue;
      CHECK(p.msi.owns_lpi(delivery.lpi));
      reached.insert(delivery.lpi);
      p.its.its.take(delivery.cpu);
    }
  }
  CHECK(reached == std::set<uint32_t>{its::first_lpi, its::first_lpi + 5});
  // Another partition's device: its DeviceID is its own, its events its own.
  partitions::PartitionMsi other;
  partitions::MsiRoutingSetup setup = p.routing;
  setup.partition = "other";
  setup.functions[0] = &p.function(4);
  setup.function_count = 1;
  REQUIRE(other.configure(setup, p.its.driver, p.gic, nullptr));
  CHECK_FALSE(other.owns_lpi(its::first_lpi));
  CHECK(other.lpi_base() == its::first_lpi + 9);
  CHECK(p.its.its.inject(0x20, 0).dropped == "EventID 0 of DeviceID 0x20 is not mapped");
}

TEST_CASE("msi routing: an LPI that raced an unbind is dropped and counted") {
  Partition p;
  p.msix_vector(2, 77);
  p.devices.fire_msix(p.function(2), 2);  // pending at CPU 1 ...
  const uint32_t lpi = p.its.its.take(1);
  REQUIRE(lpi == its::first_lpi + 2);
  p.write16(1, p.function(2).caps.msix.offset + 2, 0);  // ... and the guest disables MSI-X meanwhile
  CHECK(p.msi.deliver(lpi) == 0);
  CHECK(p.msi.dropped() == 1);
  CHECK_FALSE(p.dispatch.deliver(lpi).routed);
  CHECK_FALSE(p.dispatch.deliver(its::first_lpi + 100).routed);  // nobody's
}

TEST_CASE("msi routing: only the partition's own message-based SPIs can be bound") {
  Partition p;
  sim::CapturedLog log;
  CHECK_FALSE(p.msi.bind(p.function(2), pci::vpci::MessageKind::msix, 0, 40).ok);
  CHECK_FALSE(p.msi.bind(p.function(2), pci::vpci::MessageKind::msix, 9, 70).ok);
  CHECK_FALSE(p.msi.bind(p.function(4), pci::vpci::MessageKind::msix, 0, 70).ok);
  CHECK(p.its.operations("MAPTI").empty());
  REQUIRE(log.errors().size() == 3);
  CHECK(log.errors()[0] ==
        "bulkhead: error: partition guest msi: 0000:00:02.0 msix vector 0: SPI 40 is not one of its message-based SPIs");
  CHECK(log.errors()[1] == "bulkhead: error: partition guest msi: 0000:00:02.0 msix vector 9 has no event reserved");
}

TEST_CASE("msi routing: functions sharing a DeviceID share one ITT with separate events") {
  Partition p(false);
  pci::Function a = p.function(2);
  pci::Function b = p.function(2);
  b.address.bdf.device = 5;
  pci::Function c = p.function(3);
  c.dma.its_device_id = 0x10;  // behind the same PCIe-to-PCI bridge: the same requester ID
  partitions::MsiRoutingSetup setup = p.routing;
  setup.functions[0] = &a;
  setup.functions[1] = &b;
  setup.functions[2] = &c;
  setup.function_count = 3;
  partitions::PartitionMsi msi;
  REQUIRE(msi.configure(setup, p.its.driver, p.gic, nullptr));
  CHECK(p.its.operations("MAPD").size() == 1);
  CHECK(p.its.operations("MAPD")[0].find("MAPD device 0x10 bits 5 ") == 0);  // 8 + 8 + 1 -> 17 -> 32 events
  uint32_t device = 0, event = 0, lpi = 0;
  REQUIRE(msi.locate(b, pci::vpci::MessageKind::msix, 0, device, event, lpi));
  CHECK(event == 8);
  REQUIRE(msi.locate(c, pci::vpci::MessageKind::msi, 0, device, event, lpi));
  CHECK(event == 16);  // aligned to its block
  CHECK(lpi == msi.lpi_base() + 16);
  msi.release();
  CHECK(p.its.driver.device_events(0x10) == 0);
}

TEST_CASE("msi routing: a reservation the ITS cannot make is an error that keeps nothing") {
  Partition p(false);
  sim::CapturedLog log;
  uint32_t hog = 0;
  const uint32_t free = p.its.driver.lpis_free();
  REQUIRE(p.its.driver.reserve_lpis(free - 4, hog) == its::Status::ok);  // 4 left, 9 needed
  const uint64_t memory = p.its.driver.memory_used();
  CHECK_FALSE(p.msi.configure(p.routing, p.its.driver, p.gic, nullptr));
  CHECK(log.errors().back() == "bulkhead: error: partition guest msi: no 9 LPIs for its functions' vectors; their MSIs "
                               "are off");
  CHECK(p.its.driver.device_events(0x10) == 0);
  CHECK(p.its.driver.device_events(0x18) == 0);
  // The device table's level-2 page stays (it serves every DeviceID up to 0x1ff); the ITTs went back.
  CHECK(p.its.driver.memory_used() == memory + 0x1000);
  CHECK(p.its.driver.lpis_free() == 4);
  // A function without an ITS DeviceID (no msi-map entry) is refused before anything.
  pci::Function lonely = p.function(2);
  lonely.dma.its_device_id_valid = false;
  partitions::MsiRoutingSetup setup = p.routing;
  setup.functions[0] = &lonely;
  setup.function_count = 1;
  p.its.driver.release_lpis(hog, free - 4);
  CHECK_FALSE(p.msi.configure(setup, p.its.driver, p.gic, nullptr));
  CHECK(log.errors().back() == "bulkhead: error: partition guest msi: 0000:00:02.0 has no ITS DeviceID (no msi-map "
                               "entry for its requester ID); its MSIs are off");
  CHECK(p.its.driver.lpis_free() == free);
}

TEST_CASE("msi routing: stopping the partition (bus reset) unbinds everything, release gives it all back") {
  Partition p;
  p.msix_vector(1, 66);
  p.msix_vector(6, 67);
  CHECK(p.msi.bound_vectors() == 2);
  p.bus->reset();
  CHECK(p.msi.bound_vectors() == 0);
  CHECK(p.its.operations("DISCARD").size() == 2);
  const uint32_t free = p.its.driver.lpis_free();
  p.msi.release();
  CHECK(p.its.driver.lpis_free() == free + 9);
  CHECK(p.its.driver.device_events(0x10) == 0);
  p.msi.clear_counts();
  CHECK(p.msi.delivered(0) == 0);
}

TEST_CASE("msi routing: the dispatch gives the LPI handler each partition's router, and counts stray LPIs") {
  Partition p;
  CHECK(p.dispatch.router(0) == &p.msi);
  CHECK(p.dispatch.router(1) == nullptr);
  CHECK(p.dispatch.router(partitions::max_partitions) == nullptr);
  CHECK(p.dispatch.stray() == 0);
  p.dispatch.count_stray();
  p.dispatch.count_stray();
  CHECK(p.dispatch.stray() == 2);
  // The handler's order (its_boot.cpp take_message_interrupt): the interrupted partition's
  // router; an LPI it does not own is no delivery of it.
  CHECK_FALSE(p.dispatch.router(0)->owns_lpi(p.msi.lpi_base() + p.msi.lpi_count()));
  CHECK(p.dispatch.router(0)->deliver(p.msi.lpi_base() + p.msi.lpi_count()) == 0);
  CHECK(p.msi.dropped() == 0);  // not one of its LPIs: not its drop either
}

TEST_CASE("msi routing: a vector the ITS fails to map is an error naming the ITS's status, and stays masked") {
  Partition p;
  p.its.its.stalling_opcodes = {its::opcode::inv};  // MAPTI's INV never completes: the ITS is stuck
  sim::CapturedLog log;
  p.msix_vector(3, 70);
  // The ITS names the command it stalled at; the router the vector; the driver is failed
  // from then on, so each later attempt (the guest's next table writes) is not-ready.
  REQUIRE(log.errors().size() >= 3);
  CHECK(log.errors()[0].find("bulkhead: error: gic-v3-its ") == 0);
  CHECK(log.errors()[1] ==
        "bulkhead: error: partition guest msi: 0000:00:02.0 msix vector 3: the ITS did not map event 3 of device 0x10 "
        "(stuck); it stays masked");
  CHECK(log.errors().back() ==
        "bulkhead: error: partition guest msi: 0000:00:02.0 msix vector 3: the ITS did not map event 3 of device 0x10 "
        "(not-ready); it stays masked");
  p.devices.fire_msix(p.function(2), 3);
  CHECK(p.devices.deliveries.empty());  // the function never sent: its vector is masked
  CHECK_FALSE(p.spi_pending(70));
}
