// The MSI-X emulation (pci/vpci/msix.hpp) against simulated functions whose tables and
// messages are modelled: the capability, the trapped table at every width, the PBA read
// through, what reaches the function's entries (only the ITS doorbell and the router's
// events), masking with pending (vector and function mask), bad messages, disabling,
// reset with memory decode off, and a PBA in its own BAR.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/vpci_msi_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;
using sim::BarType;
using Calls = std::vector<std::string>;
using Sent = std::vector<sim::SentMessage>;

namespace {

constexpr uint64_t bar0 = 0x10000000;
constexpr uint64_t table = bar0 + 0x1000;  // the guest's view of the table
constexpr uint64_t pba = bar0 + 0x1800;

uint64_t entry(uint16_t vector, unsigned word) { return table + vector * 16u + 4u * word; }

// 00:02.0 on the host: 8 vectors, table at BAR 0 + 0x1000, PBA at + 0x1800 (one page, as
// QEMU's virtio). 00:03.0: the PBA in BAR 1.
struct MsixFixture : MessageFixture {
  pci::vpci::MsixHandler handler;
  std::vector<pci::vpci::MsixVector> storage = std::vector<pci::vpci::MsixVector>(8);
  explicit MsixFixture(uint8_t device = 2, bool stale_entry = false) {
    root().pcie_endpoint(2, 0, 0x1af4, 0x1041).bar(0, BarType::mem32, 0x4000).msix(8, 0, 0x1000, 0, 0x1800);
    root()
        .pcie_endpoint(3, 0, 0x1af4, 0x1042)
        .bar(0, BarType::mem32, 0x4000)
        .bar(1, BarType::mem32, 0x1000)
        .msix(8, 0, 0x1000, 1, 0x0);
    enumerate();
    give(device, 0, 1);
    configure();
    fn = &function(device);
    devices.add(*fn);
    if (stale_entry) devices.poke_table(*fn, 3, 3, 0);  // unmasked by earlier software
    REQUIRE(handler.configure(setup_for(1, device), *bus, storage.data(), storage.size()));
    cap = fn->caps.msix.offset;
    decode(1, bar0, device == 3 ? 0x10100000 : 0);
    host.take();
  }
  sim::SimFunction& physical() { return *ecam.reachable(fn->address.bdf); }
  void control(uint16_t value) { write16(1, cap + 2, value); }
  // Linux's order: address, data, then the vector control.
  void program(uint16_t vector, uint64_t address, uint32_t data, bool masked) {
    trapped_write(entry(vector, 0), static_cast<uint32_t>(address));
    trapped_write(entry(vector, 1), static_cast<uint32_t>(address >> 32));
    trapped_write(entry(vector, 2), data);
    trapped_write(entry(vector, 3), masked ? 1 : 0);
  }
  uint32_t table_read(uint16_t vector, unsigned word) {
    const pci::vpci::ReadResult r = trapped_read(entry(vector, word));
    REQUIRE(r.ok);
    return r.value;
  }
  const pci::Function* fn = nullptr;
  uint16_t cap = 0;
};

constexpr uint16_t enable = 0x8000;
constexpr uint16_t function_mask = 0x4000;

}  // namespace

TEST_CASE("vpci msix: configuring masks every physical vector, turning memory decode on just for that") {
  MsixFixture f(2, true);
  CHECK(f.devices.table_word(*f.fn, 3, 3) == 1);
  CHECK(f.devices.dropped_writes.empty());
  CHECK(f.storage[0].flags != 0);  // masked in the guest's table too
  // The capability: table size read through, Enable and Function Mask the guest's.
  CHECK(f.read8(1, f.cap) == 0x11);
  CHECK(f.read16(1, f.cap + 2) == 7);
  CHECK(f.read32(1, f.cap + 4) == 0x1000);  // BIR 0
  CHECK(f.read32(1, f.cap + 8) == 0x1800);
  f.write32(1, f.cap + 4, 0xffffffff);  // read-only
  CHECK(f.read32(1, f.cap + 4) == 0x1000);
  f.control(enable | function_mask | 0x7ff);
  CHECK(f.read16(1, f.cap + 2) == (enable | function_mask | 7));
  CHECK(f.physical().peek16(f.cap + 2) == (enable | function_mask | 7));
  CHECK(f.handler.enabled());
  CHECK(f.handler.function_masked());
}

TEST_CASE("vpci msix: the table holds the guest's values at every width, the PBA is the function's") {
  MsixFixture f;
  CHECK(f.table_read(0, 3) == 1);  // masked at reset
  CHECK(f.table_read(7, 0) == 0);
  f.trapped_write(entry(5, 0), 0x08000043);
  CHECK(f.table_read(5, 0) == 0x08000040);  // dword aligned
  f.trapped_write(entry(5, 2), 0x12345678);
  f.trapped_write(entry(5, 2) + 1, 0xab, 1);
  CHECK(f.table_read(5, 2) == 0x1234ab78);
  f.trapped_write(entry(5, 2) + 2, 0xcdef, 2);
  CHECK(f.table_read(5, 2) == 0xcdefab78);
  CHECK(f.trapped_read(entry(5, 2) + 3, 1).value == 0xcd);
  CHECK(f.trapped_read(entry(5, 2) + 2, 2).value == 0xcdef);
  f.trapped_write(entry(5, 3), 0xffffffff);
  CHECK(f.table_read(5, 3) == 1);  // only the mask bit
  f.trapped_write(entry(5, 3), 0);
  CHECK(f.table_read(5, 3) == 0);
  CHECK_FALSE(f.bus->trapped_read(entry(5, 0), 8).ok);  // 8-byte accesses are refused by the bus
  // None of it reached the function: MSI-X is off, the entry stays masked and empty.
  CHECK(f.devices.table_word(*f.fn, 5, 0) == 0);
  CHECK(f.devices.table_word(*f.fn, 5, 3) == 1);
  CHECK(f.router.bound.empty());
  // The PBA: read through, read-only.
  f.control(enable | function_mask);
  f.devices.fire_msix(*f.fn, 6);
  CHECK(f.trapped_read(pba).value == 0x40);
  CHECK(f.trapped_read(pba, 1).value == 0x40);
  f.trapped_write(pba, 0);
  CHECK(f.trapped_read(pba).value == 0x40);
  // Other registers on the trapped page reach the function.
  CHECK(f.trapped_read(bar0 + 0x1f00).value == 0x5a5a5a5a);
  // And the rest of the BAR is mapped, not trapped.
  CHECK(f.host.mapped.count(bar0) == 1);
  CHECK(f.host.mapped.count(bar0 + 0x2000) == 1);
  CHECK_FALSE(f.bus->trapped_read(bar0 + 0x2000, 4).ok);
}

TEST_CASE("vpci msix: a vector the guest points at its doorbell and an SPI gets the ITS doorbell and its event") {
  MsixFixture f;
  f.control(enable | function_mask);  // Linux: enabled with everything masked, then programmed
  f.program(0, guest_doorbell, 70, false);
  CHECK(f.config_writes(f.host.take(), "bind") == Calls{"bind 0000:00:02.0 msix 0 spi 70"});
  CHECK(f.devices.table_word(*f.fn, 0, 0) == static_cast<uint32_t>(its_doorbell));
  CHECK(f.devices.table_word(*f.fn, 0, 1) == 0);
  CHECK(f.devices.table_word(*f.fn, 0, 2) == msix_event_base);
  CHECK(f.devices.table_word(*f.fn, 0, 3) == 0);  // unmasked: bound and the guest unmasked it
  CHECK(f.table_read(0, 0) == guest_doorbell);    // the guest reads its own values
  CHECK(f.table_read(0, 2) == 70);
  f.devices.fire_msix(*f.fn, 0);
  CHECK(f.devices.sent.empty());  // the function mask holds it
  f.control(enable);
  CHECK(f.physical().peek16(f.cap + 2) == (enable | 7));
  f.devices.poll(*f.fn);
  CHECK(f.devices.sent == Sent{{its_doorbell, msix_event_base}});
  f.devices.fire_msix(*f.fn, 0);
  CHECK(f.devices.sent.size() == 2);
  // Several vectors, each with its own event.
  f.program(7, guest_doorbell, 127, false);
  f.devices.fire_msix(*f.fn, 7);
  CHECK(f.devices.sent.back() == sim::SentMessage{its_doorbell, msix_event_base + 7});
  CHECK(f.handler.bound_spi(7) == 127);
  // A new SPI for a bound vector: rebound while masked.
  f.trapped_write(entry(7, 2), 100);
  CHECK(f.handler.bound_spi(7) == 100);
  CHECK(f.devices.table_word(*f.fn, 7, 3) == 0);
  CHECK(f.router.problems.empty());
}

TEST_CASE("vpci msix: a masked vector's message is held pending (PBA) and sent on unmask, the function mask too") {
  MsixFixture f;
  f.control(enable);
  f.program(2, guest_doorbell, 90, false);
  f.trapped_write(entry(2, 3), 1);  // the guest masks it
  CHECK(f.devices.table_word(*f.fn, 2, 3) == 1);
  f.devices.fire_msix(*f.fn, 2);
  CHECK(f.devices.sent.empty());
  CHECK(f.trapped_read(pba).value == 0x4);
  CHECK(f.router.bound.size() == 1);  // still translated: the message will come
  f.trapped_write(entry(2, 3), 0);
  CHECK(f.devices.sent == Sent{{its_doorbell, msix_event_base + 2}});
  CHECK(f.trapped_read(pba).value == 0);
  // The function mask: all vectors held, sent when cleared.
  f.control(enable | function_mask);
  f.devices.fire_msix(*f.fn, 2);
  CHECK(f.devices.sent.size() == 1);
  f.control(enable);
  f.devices.poll(*f.fn);
  CHECK(f.devices.sent.size() == 2);
}

TEST_CASE("vpci msix: a message that is not the guest's doorbell and SPI keeps the vector masked, logged once") {
  MsixFixture f;
  f.control(enable);
  f.program(1, 0x09000000, 70, false);
  CHECK(f.router.bound.empty());
  CHECK(f.devices.table_word(*f.fn, 1, 3) == 1);
  CHECK(f.devices.table_word(*f.fn, 1, 0) == 0);  // nothing of the guest's reaches the function
  REQUIRE(f.host.logs.size() == 1);
  CHECK(f.host.logs[0] ==
        "partition guest vpci 00:01.0 msix vector 1 address 0x9000000 data 0x46: not one of its SPIs at 0x8000040; "
        "kept masked");
  f.trapped_write(entry(1, 2), 71);
  CHECK(f.host.logs.size() == 1);
  f.devices.fire_msix(*f.fn, 1);  // held pending by the function
  CHECK(f.devices.sent.empty());
  // Fixed: bound, unmasked, and the held message arrives.
  f.trapped_write(entry(1, 0), static_cast<uint32_t>(guest_doorbell));
  CHECK(f.handler.bound_spi(1) == 71);
  CHECK(f.devices.sent == Sent{{its_doorbell, msix_event_base + 1}});
  // Beyond the range, a high address half, an SPI that is not one: masked again.
  for (const auto& [high, data] : {std::pair{0u, 128u}, {1u, 70u}, {0u, 63u}, {0u, 1023u}}) {
    f.trapped_write(entry(1, 1), high);
    f.trapped_write(entry(1, 2), data);
    CHECK(f.handler.bound_spi(1) == 0);
    CHECK(f.devices.table_word(*f.fn, 1, 3) == 1);
  }
  CHECK(f.router.problems.empty());
}

TEST_CASE("vpci msix: a router that cannot bind leaves the vector masked") {
  MsixFixture f;
  f.router.fail_binds = true;
  f.control(enable);
  f.program(0, guest_doorbell, 70, false);
  CHECK(f.handler.bound_spi(0) == 0);
  CHECK(f.devices.table_word(*f.fn, 0, 3) == 1);
  CHECK(f.devices.table_word(*f.fn, 0, 0) == 0);
  CHECK(f.host.logs.empty());  // the router says why
}

TEST_CASE("vpci msix: disabling stops the function, masks every vector, then unbinds") {
  MsixFixture f;
  f.control(enable);
  f.program(0, guest_doorbell, 70, false);
  f.program(4, guest_doorbell, 74, true);  // bound while masked too
  CHECK(f.router.bound.size() == 2);
  f.host.take();
  f.control(0);
  const Calls calls = f.host.take();
  REQUIRE(calls.size() >= 3);
  CHECK(calls[0] == sim::printed("config-write 0000:00:02.0 0x%x size 2 value 0x0", f.cap + 2));
  CHECK(f.config_writes(calls, "unbind") == Calls{"unbind 0000:00:02.0 msix 0", "unbind 0000:00:02.0 msix 4"});
  for (uint16_t v = 0; v < 8; ++v) CHECK(f.devices.table_word(*f.fn, v, 3) == 1);
  // Enabled again: the programmed vectors are bound again.
  f.control(enable);
  CHECK(f.router.bound.size() == 2);
  CHECK(f.devices.table_word(*f.fn, 0, 3) == 0);
  CHECK(f.devices.table_word(*f.fn, 4, 3) == 1);
}

TEST_CASE("vpci msix: reset with memory decode off still masks every vector, then unbinds and clears the table") {
  MsixFixture f;
  f.control(enable);
  f.program(3, guest_doorbell, 80, false);
  f.write16(1, 0x04, 0);  // the guest turns decode off
  CHECK((f.physical().peek16(0x04) & 0x2) == 0);
  f.host.take();
  f.bus->reset();
  CHECK(f.devices.table_word(*f.fn, 3, 3) == 1);
  CHECK(f.devices.dropped_writes.empty());
  CHECK((f.physical().peek16(0x04) & 0x2) == 0);  // decode back off
  CHECK((f.physical().peek16(f.cap + 2) & enable) == 0);
  CHECK(f.router.bound.empty());
  CHECK(f.storage[3].bound_spi == 0);
  CHECK(f.storage[3].data == 0);
  f.decode(1);  // the BARs were reset too
  CHECK(f.table_read(3, 2) == 0);
  CHECK(f.table_read(3, 3) == 1);
}

TEST_CASE("vpci msix: a PBA in its own BAR is mapped, not trapped, the table's page alone is") {
  MsixFixture f(3);
  CHECK(f.host.mapped.count(0x10100000) == 1);  // BAR 1, the PBA, mapped whole
  CHECK_FALSE(f.bus->trapped_read(0x10100000, 4).ok);
  CHECK(f.trapped_read(entry(0, 3)).ok);
  CHECK(f.host.mapped.count(bar0 + 0x2000) == 1);
}

TEST_CASE("vpci msix: too little storage for the table, or no MSI-X, is refused") {
  MessageFixture f;
  f.root().pcie_endpoint(2, 0, 0x1af4, 0x1041).bar(0, BarType::mem32, 0x4000).msix(8, 0, 0x1000, 0, 0x1800);
  f.root().pcie_endpoint(3, 0, 0x1af4, 0x1042).bar(0, BarType::mem32, 0x4000);
  f.enumerate();
  f.give(2, 0, 1);
  f.give(3, 0, 2);
  f.configure();
  f.devices.add(f.function(2));
  std::vector<pci::vpci::MsixVector> storage(7);
  pci::vpci::MsixHandler handler;
  CHECK_FALSE(handler.configure(f.setup_for(1, 2), *f.bus, storage.data(), storage.size()));
  CHECK(f.host.logs == std::vector<std::string>{"partition guest vpci 00:01.0 msix not emulated: no room for its "
                                                "table's entries"});
  CHECK_FALSE(handler.configure(f.setup_for(2, 3), *f.bus, storage.data(), storage.size()));
  CHECK(f.host.logs.size() == 1);  // no MSI-X at all: nothing to say
}
