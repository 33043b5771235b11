// The MSI capability's emulation (pci/vpci/msi.hpp) against simulated functions whose
// messages are modelled: registers at every width, what reaches the function (only the
// ITS doorbell and the router's events), multiple messages, masking with pending, bad
// messages, 64-bit addresses, and the order of disabling and reset.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/vpci_msi_support.hpp"

using namespace bulkhead;
using namespace bulkhead::test;
using sim::BarType;
using Calls = std::vector<std::string>;

namespace {

// 00:01.0 on the host: 8 vectors, 64-bit, per-vector masking. 00:02.0: like QEMU's edu,
// 1 vector, 64-bit, no masking. 00:03.0: 4 vectors, 32-bit addresses only, masking.
struct MsiFixture : MessageFixture {
  pci::vpci::MsiHandler handler;
  explicit MsiFixture(uint8_t device = 1, uint32_t spis = spi_count) {
    root().pcie_endpoint(1, 0, 0x1234, 0x0001).bar(0, BarType::mem32, 0x1000).msi(3, true, true);
    root().pcie_endpoint(2, 0, 0x1234, 0x11e8).bar(0, BarType::mem32, 0x1000).msi(0, true, false);
    root().pcie_endpoint(3, 0, 0x1234, 0x0003).bar(0, BarType::mem32, 0x1000).msi(2, false, true);
    enumerate();
    give(device, 0, 1);
    configure();
    devices.add(function(device));
    pci::vpci::MessageSetup message = setup_for(1, device);
    message.target.spi_count = spis;
    REQUIRE(handler.configure(message, *bus));
    fn = &function(device);
    cap = fn->caps.msi.offset;
    decode(1);
    host.take();
  }
  sim::SimFunction& physical() { return *ecam.reachable(fn->address.bdf); }
  uint16_t data_at() const { return static_cast<uint16_t>(cap + (fn->caps.msi.address_64bit ? 0xc : 0x8)); }
  uint16_t mask_at() const { return static_cast<uint16_t>(cap + (fn->caps.msi.address_64bit ? 0x10 : 0xc)); }
  // What Linux does: address, data, then enable with 2^log2 vectors.
  void program(uint64_t address, uint16_t data, unsigned log2_vectors = 0) {
    write32(1, cap + 4, static_cast<uint32_t>(address));
    if (fn->caps.msi.address_64bit) write32(1, cap + 8, static_cast<uint32_t>(address >> 32));
    write16(1, data_at(), data);
    write16(1, cap + 2, static_cast<uint16_t>(1 | log2_vectors << 4));
  }
  const pci::Function* fn = nullptr;
  uint16_t cap = 0;
};

}  // namespace

TEST_CASE("vpci msi: the capability shows the function's vectors and the guest's registers, at every width") {
  MsiFixture f;
  const uint16_t cap = f.cap;
  CHECK(f.read8(1, cap) == 0x05);
  // 8 vectors (Multiple Message Capable 3), 64-bit, per-vector masking; off, 1 vector enabled.
  CHECK(f.read16(1, cap + 2) == (3u << 1 | 0x80 | 0x100));
  CHECK((f.read32(1, cap) >> 16) == (3u << 1 | 0x80 | 0x100));
  // Address: dword aligned, bytes and halves merge.
  f.write32(1, cap + 4, 0x08000043);
  CHECK(f.read32(1, cap + 4) == 0x08000040);
  f.write(1, cap + 5, 1, 0x12);
  CHECK(f.read32(1, cap + 4) == 0x08001240);
  f.write(1, cap + 6, 2, 0xabcd);
  CHECK(f.read32(1, cap + 4) == 0xabcd1240);
  CHECK(f.read16(1, cap + 6) == 0xabcd);
  CHECK(f.read8(1, cap + 7) == 0xab);
  f.write32(1, cap + 8, 0x12345678);
  CHECK(f.read32(1, cap + 8) == 0x12345678);
  // Data: 16 bits; the extended message data above it is not emulated.
  f.write32(1, f.data_at(), 0xffffffff);
  CHECK(f.read32(1, f.data_at()) == 0xffff);
  f.write(1, f.data_at(), 1, 0x42);
  CHECK(f.read16(1, f.data_at()) == 0xff42);
  // Mask bits: one per vector the function has; pending bits are the function's.
  f.write32(1, f.mask_at(), 0xffffffff);
  CHECK(f.read32(1, f.mask_at()) == 0xff);
  f.write(1, f.mask_at(), 1, 0x0f);
  CHECK(f.read8(1, f.mask_at()) == 0x0f);
  f.physical().poke32(f.mask_at() + 4, 0x81);
  CHECK(f.read32(1, f.mask_at() + 4) == 0x81);
  f.write32(1, f.mask_at() + 4, 0);
  CHECK(f.read32(1, f.mask_at() + 4) == 0x81);
  // Multiple Message Enable beyond what the function has gets what it has.
  f.write16(1, cap + 2, 7 << 4);
  CHECK(f.read16(1, cap + 2) == (3u << 4 | 3u << 1 | 0x80 | 0x100));
  CHECK(f.handler.vectors() == 8);
  CHECK_FALSE(f.handler.enabled());
  // None of it reached the function: it is off and holds nothing the guest wrote.
  CHECK(f.host.take().empty());
  CHECK(f.physical().peek32(cap + 4) == 0);
  CHECK(f.physical().peek16(f.data_at()) == 0);
  CHECK((f.physical().peek16(cap + 2) & 1) == 0);
}

TEST_CASE("vpci msi: enabling with the guest's doorbell and an SPI programs the ITS doorbell and the event") {
  MsiFixture f;
  f.program(guest_doorbell, 70);
  const Calls calls = f.host.take();
  CHECK(calls.front() == "bind 0000:00:01.0 msi 0 spi 70");
  CHECK(f.router.bound.size() == 1);
  const uint16_t cap = f.cap;
  CHECK(f.physical().peek32(cap + 4) == static_cast<uint32_t>(its_doorbell));
  CHECK(f.physical().peek32(cap + 8) == 0);
  CHECK(f.physical().peek16(f.data_at()) == msi_event_base);
  CHECK(f.physical().peek16(cap + 2) == (3u << 1 | 0x80 | 0x100 | 1));  // enabled, 1 vector
  CHECK(f.physical().peek32(f.mask_at()) == 0);
  // The guest still reads what it wrote.
  CHECK(f.read32(1, cap + 4) == guest_doorbell);
  CHECK(f.read16(1, f.data_at()) == 70);
  CHECK(f.handler.bound_spi(0) == 70);
  f.devices.fire_msi(*f.fn, 0);
  CHECK(f.devices.sent == std::vector<sim::SentMessage>{{its_doorbell, msi_event_base}});
  CHECK(f.router.problems.empty());
  // Writing the same again changes nothing.
  f.write16(1, f.data_at(), 70);
  CHECK(f.host.take().empty());
}

TEST_CASE("vpci msi: multiple messages: each vector is bound to the SPI its number selects") {
  MsiFixture f;
  f.program(guest_doorbell, 68, 2);  // 4 vectors: SPIs 68..71
  CHECK(f.config_writes(f.host.take(), "bind") == Calls{"bind 0000:00:01.0 msi 0 spi 68", "bind 0000:00:01.0 msi 1 spi 69",
                                                        "bind 0000:00:01.0 msi 2 spi 70", "bind 0000:00:01.0 msi 3 spi 71"});
  CHECK(((f.physical().peek16(f.cap + 2) >> 4) & 7) == 2);
  for (unsigned v = 0; v < 4; ++v) f.devices.fire_msi(*f.fn, v);
  CHECK(f.devices.sent == std::vector<sim::SentMessage>{{its_doorbell, msi_event_base},
                                                        {its_doorbell, msi_event_base + 1},
                                                        {its_doorbell, msi_event_base + 2},
                                                        {its_doorbell, msi_event_base + 3}});
  // New data while enabled: masked meanwhile (the function holds messages pending), the
  // vectors rebound, the function's own message unchanged.
  f.write16(1, f.data_at(), 72);
  const Calls calls = f.host.take();
  CHECK(calls.front() == sim::printed("config-write 0000:00:01.0 0x%x size 4 value 0xff", f.mask_at()));
  CHECK(f.config_writes(calls, "bind").size() == 4);
  CHECK(f.config_writes(calls, "unbind").size() == 4);
  CHECK(f.handler.bound_spi(3) == 75);
  CHECK(f.physical().peek32(f.mask_at()) == 0);
  CHECK(f.physical().peek16(f.data_at()) == msi_event_base);
  // A guest data with low bits set: the function replaces them, as the spec says.
  f.write16(1, f.data_at(), 67);  // 64..67
  CHECK(f.handler.bound_spi(0) == 64);
  CHECK(f.handler.bound_spi(3) == 67);
  CHECK(f.router.problems.empty());
}

TEST_CASE("vpci msi: a masked vector's message is held pending by the function and arrives on unmask") {
  MsiFixture f;
  f.program(guest_doorbell, 70);
  f.write32(1, f.mask_at(), 1);
  CHECK(f.physical().peek32(f.mask_at()) == 1);
  f.devices.fire_msi(*f.fn, 0);
  CHECK(f.devices.sent.empty());
  CHECK(f.read32(1, f.mask_at() + 4) == 1);  // pending, as the guest sees it
  f.write32(1, f.mask_at(), 0);
  CHECK(f.physical().peek32(f.mask_at()) == 0);
  f.devices.poll(*f.fn);
  CHECK(f.devices.sent == std::vector<sim::SentMessage>{{its_doorbell, msi_event_base}});
  CHECK(f.read32(1, f.mask_at() + 4) == 0);
  CHECK(f.router.bound.size() == 1);  // masking kept the translation
}

TEST_CASE("vpci msi: a message that is not the guest's doorbell and SPI is never sent, and logged once") {
  MsiFixture f;
  f.program(0x09000040, 70);  // not the doorbell
  CHECK((f.physical().peek16(f.cap + 2) & 1) == 0);
  CHECK(f.router.bound.empty());
  REQUIRE(f.host.logs.size() == 1);
  CHECK(f.host.logs[0] ==
        "partition guest vpci 00:01.0 msi vectors 0x1 address 0x9000040 data 0x46: not one of its SPIs at 0x8000040; "
        "not delivered");
  f.write16(1, f.data_at(), 71);
  CHECK(f.host.logs.size() == 1);
  f.write32(1, f.cap + 4, static_cast<uint32_t>(guest_doorbell));
  CHECK((f.physical().peek16(f.cap + 2) & 1) == 1);
  CHECK(f.handler.bound_spi(0) == 71);
  for (uint32_t data : {63u, 128u, 1020u, 0u}) {  // outside the range, or not an SPI at all
    f.write16(1, f.data_at(), static_cast<uint16_t>(data));
    CHECK((f.physical().peek16(f.cap + 2) & 1) == 0);
    CHECK(f.router.bound.empty());
  }
  CHECK(f.router.problems.empty());
}

TEST_CASE("vpci msi: vectors beyond the partition's SPIs stay masked while the others are delivered") {
  MsiFixture f(1, 60);  // SPIs 64..123
  f.program(guest_doorbell, 120, 3);  // 8 vectors: 120..127
  for (unsigned v = 0; v < 4; ++v) CHECK(f.handler.bound_spi(v) == 120 + v);
  for (unsigned v = 4; v < 8; ++v) CHECK(f.handler.bound_spi(v) == 0);
  CHECK(f.physical().peek32(f.mask_at()) == 0xf0);
  CHECK((f.physical().peek16(f.cap + 2) & 1) == 1);
  f.devices.fire_msi(*f.fn, 5);
  CHECK(f.devices.sent.empty());
  CHECK(f.host.logs.size() == 1);
  CHECK(f.router.bound.size() == 4);
}

TEST_CASE("vpci msi: 64-bit addresses, and a doorbell a 32-bit function cannot reach") {
  MsiFixture f;
  f.router.doorbell = 0x100000040ull;
  f.program(0x0000000108000040ull, 70);  // not the guest's doorbell: the high half counts
  CHECK(f.router.bound.empty());
  f.write32(1, f.cap + 8, 0);
  CHECK(f.handler.bound_spi(0) == 70);
  CHECK(f.physical().peek32(f.cap + 4) == 0x40);
  CHECK(f.physical().peek32(f.cap + 8) == 1);  // the doorbell's high half
  f.devices.fire_msi(*f.fn, 0);
  CHECK(f.devices.sent == std::vector<sim::SentMessage>{{0x100000040ull, msi_event_base}});

  MsiFixture narrow(3);
  narrow.router.doorbell = 0x100000040ull;
  narrow.program(guest_doorbell, 70);
  CHECK((narrow.physical().peek16(narrow.cap + 2) & 1) == 0);
  CHECK(narrow.router.bound.empty());  // bound, refused, unbound
  REQUIRE(narrow.host.logs.size() == 1);
  CHECK(narrow.host.logs[0] ==
        "partition guest vpci 00:01.0 msi vector 0: doorbell 0x100000040 event 0x20 cannot be programmed into its MSI "
        "capability; not delivered");
}

TEST_CASE("vpci msi: a function without masking is disabled while its translation changes, then re-enabled") {
  MsiFixture f(2);  // edu: one vector, no per-vector mask
  f.program(guest_doorbell, 80);
  f.host.take();
  f.write16(1, f.data_at(), 81);
  const uint16_t control = f.cap + 2;
  CHECK(f.host.take() == Calls{sim::printed("config-write 0000:00:02.0 0x%x size 2 value 0x0", control),
                               "unbind 0000:00:02.0 msi 0", "bind 0000:00:02.0 msi 0 spi 81",
                               sim::printed("config-write 0000:00:02.0 0x%x size 2 value 0x1", control)});
  CHECK(f.handler.bound_spi(0) == 81);
}

TEST_CASE("vpci msi: disabling and reset stop the function before its translations go") {
  MsiFixture f;
  f.program(guest_doorbell, 70, 1);
  f.host.take();
  f.write16(1, f.cap + 2, 0);
  CHECK(f.host.take() == Calls{sim::printed("config-write 0000:00:01.0 0x%x size 2 value 0x10", f.cap + 2),
                               "unbind 0000:00:01.0 msi 0", "unbind 0000:00:01.0 msi 1"});
  f.program(guest_doorbell, 70, 1);
  f.write32(1, f.mask_at(), 2);
  f.host.take();
  f.bus->reset();
  const Calls calls = f.host.take();
  const auto at = [&](const std::string& call) {
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i] == call) return static_cast<long>(i);
    }
    return -1L;
  };
  const long disabled = at(sim::printed("config-write 0000:00:01.0 0x%x size 2 value 0x10", f.cap + 2));
  const long masked = at(sim::printed("config-write 0000:00:01.0 0x%x size 4 value 0xff", f.mask_at()));
  REQUIRE(disabled >= 0);
  CHECK(disabled < masked);
  CHECK(masked < at("unbind 0000:00:01.0 msi 0"));
  CHECK(f.router.bound.empty());
  CHECK(f.read32(1, f.cap + 4) == 0);
  CHECK(f.read16(1, f.data_at()) == 0);
  CHECK(f.read32(1, f.mask_at()) == 0);
  CHECK((f.read16(1, f.cap + 2) & 0x71) == 0);
  CHECK(f.host.logs.empty());
}

TEST_CASE("vpci msi: a function without MSI, or a setup without a router, is not attached") {
  MessageFixture f;
  f.root().pcie_endpoint(1, 0, 0x1234, 0x0001).bar(0, BarType::mem32, 0x1000);
  f.root().pcie_endpoint(2, 0, 0x1234, 0x0002).bar(0, BarType::mem32, 0x1000).msi(0, false, false);
  f.enumerate();
  f.give(1, 0, 1);
  f.give(2, 0, 2);
  f.configure();
  pci::vpci::MsiHandler none, no_router;
  CHECK_FALSE(none.configure(f.setup_for(1, 1), *f.bus));
  pci::vpci::MessageSetup setup = f.setup_for(2, 2);
  setup.router = nullptr;
  CHECK_FALSE(no_router.configure(setup, *f.bus));
  CHECK(f.read8(2, 0x34) != 0);  // the list holds PCI Express only: MSI is not linked
  const uint8_t first = f.read8(2, 0x34);
  CHECK(f.read8(2, first) == 0x10);
  CHECK(f.read8(2, first + 1) == 0);
}

TEST_CASE("vpci msi: MSI traps no BAR page: a trapped access handed to it reads 0 and changes nothing") {
  MsiFixture f;
  f.program(guest_doorbell, 70);
  f.host.take();
  CHECK(f.handler.read_trapped(0, 0, pci::AccessWidth::word) == 0);
  f.handler.write_trapped(0, 4, pci::AccessWidth::word, 0xffffffff);
  CHECK(f.host.take().empty());
  CHECK(f.handler.enabled());
  CHECK(f.handler.bound_spi(0) == 70);
  CHECK(f.read32(1, f.cap + 4) == guest_doorbell);
}

TEST_CASE("vpci msi: after a reset the doorbell and event are written again, as a function reset cleared them") {
  MsiFixture f(2);  // like edu: 1 vector, no masking
  f.program(guest_doorbell, 70);
  CHECK(f.physical().peek32(f.cap + 4) == static_cast<uint32_t>(its_doorbell));
  f.bus->reset();
  // What a function reset does to the capability (PCI Local Bus 3.0 6.8.1: address and
  // data are 0 after reset), as pci::FunctionReset leaves it.
  f.physical().poke32(f.cap + 4, 0);
  f.physical().poke32(f.cap + 8, 0);
  f.physical().poke16(f.data_at(), 0);
  f.decode(1);  // the guest, booted again, enables its function
  f.host.take();
  f.program(guest_doorbell, 71);
  CHECK(f.physical().peek32(f.cap + 4) == static_cast<uint32_t>(its_doorbell));
  CHECK(f.physical().peek16(f.data_at()) == msi_event_base);
  CHECK((f.physical().peek16(f.cap + 2) & 1) == 1);
  f.devices.fire_msi(*f.fn, 0);
  CHECK(f.devices.sent == std::vector<sim::SentMessage>{{its_doorbell, msi_event_base}});
  CHECK(f.handler.bound_spi(0) == 71);
}
