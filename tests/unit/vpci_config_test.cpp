// The virtual bus's configuration space (pci/vpci): every header register at every width,
// absent slots, the command and status registers, the capability list, setup errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pci/vpci/virtual_bus.hpp"
#include "tests/sim/vpci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using Calls = std::vector<std::string>;

namespace {

constexpr uint8_t slot = 3;
constexpr const char* log_prefix = "log partition guest vpci 00:03.0 ";

// An e1000e-like PCIe endpoint (function 0 of a multi-function device) with a memory BAR,
// an I/O BAR, a second memory BAR, a ROM, INTA, PM, a PCIe capability and AER; physical
// values in the registers the guest must not see.
struct HeaderFixture : VpciFixture {
  SimFunction* sim = nullptr;
  explicit HeaderFixture(bool legacy_intx = false) {
    SimFunction& f = root().pcie_endpoint(2, 0, 0x8086, 0x10d3, 0x020000);
    f.bar(0, BarType::mem32, 0x20000).bar(2, BarType::io32, 0x20).bar(3, BarType::mem32, 0x4000).rom(0x40000).pin(1);
    f.pm();
    f.aer();
    f.poke16(0x06, f.peek16(0x06) | 0x4000);  // signalled system error
    f.poke8(0x0c, 0x10);                      // cache line size
    f.poke8(0x0d, 0x40);                      // latency timer
    f.poke32(0x28, 0x55555555);               // CardBus CIS pointer
    f.poke32(0x2c, 0x00011af4);               // subsystem IDs
    f.poke32(0x38, 0x66666666);               // reserved
    f.poke8(0x3e, 0x01);                      // Min_Gnt
    f.poke8(0x3f, 0x02);                      // Max_Lat
    root().endpoint(2, 1);                    // makes 00:02.0 multi-function
    sim = &f;
    enumerate();
    give(2, 0, slot);
    configure(legacy_intx);
  }
};

// What the guest reads at each dword of the header fixture at power-on.
struct DwordExpectation {
  uint16_t offset;
  uint32_t value;
};

std::vector<DwordExpectation> header_expectations(bool legacy_intx) {
  return {
      {0x00, 0x10d38086},              // identity, read through
      {0x04, (0x4000u | 0x10u) << 16},  // command 0; status read through, capability list bit
      {0x08, 0x02000001},              // class, revision
      {0x0c, 0x00000000},              // header type 0, no multi-function bit; nothing else emulated
      {0x10, 0x00000000},              // BAR 0 mem32, not placed yet
      {0x14, 0x00000000},              // unimplemented
      {0x18, 0x00000001},              // BAR 2 I/O
      {0x1c, 0x00000000},              // BAR 3 mem32
      {0x20, 0x00000000},
      {0x24, 0x00000000},
      {0x28, 0x00000000},  // CardBus CIS: not emulated
      {0x2c, 0x00011af4},  // subsystem IDs, read through
      {0x30, 0x00000000},  // the ROM is hidden
      {0x34, 0x00000040},  // the PCI Express capability first
      {0x38, 0x00000000},
      {0x3c, legacy_intx ? 0x00000100u : 0x00000000u},  // line 0; pin A only with INTx allowed
      {0x100, 0x00000000},                              // extended list: empty (AER hidden)
      {0xffc, 0x00000000},
  };
}

}  // namespace

TEST_CASE("vpci config: every header register at every width, aligned and unaligned") {
  for (const bool legacy_intx : {false, true}) {
    HeaderFixture f(legacy_intx);
    for (const DwordExpectation& expected : header_expectations(legacy_intx)) {
      for (const uint8_t size : {uint8_t{1}, uint8_t{2}, uint8_t{4}}) {
        for (uint16_t first = 0; first < 4; ++first) {
          CAPTURE(legacy_intx);
          CAPTURE(expected.offset);
          CAPTURE(size);
          CAPTURE(first);
          const pci::vpci::ReadResult r = f.read(slot, static_cast<uint16_t>(expected.offset + first), size);
          if (first + size > 4) {
            CHECK_FALSE(r.ok);  // crosses a dword: refused (the guest gets an external abort)
            continue;
          }
          REQUIRE(r.ok);
          const uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
          CHECK(r.value == ((expected.value >> (8 * first)) & mask));
        }
      }
    }
    CHECK(f.host.take().empty());  // reading has no effect on the machine
  }
}

TEST_CASE("vpci config: writes to each header register, table-driven") {
  const std::string unhandled = std::string(log_prefix) + "unhandled-write ";
  struct Case {
    const char* name;
    uint16_t offset;
    uint8_t size;
    uint32_t value;
    Calls calls;  // what reaches the machine, in order
    uint16_t read_offset;
    uint8_t read_size;
    uint32_t read_value;  // what the guest reads afterwards
  };
  const Case cases[] = {
      {"vendor ID is read-only", 0x00, 2, 0x1234, {}, 0x00, 2, 0x8086},
      {"identity dword is read-only", 0x00, 4, 0xffffffff, {}, 0x00, 4, 0x10d38086},
      {"device ID, unaligned byte", 0x03, 1, 0x00, {}, 0x02, 2, 0x10d3},
      {"revision is read-only", 0x08, 1, 0x7f, {}, 0x08, 1, 0x01},
      {"class is read-only", 0x0a, 2, 0xffff, {}, 0x0a, 2, 0x0200},
      {"header type is read-only", 0x0e, 1, 0x81, {}, 0x0e, 1, 0x00},
      {"cache line size is not emulated", 0x0c, 1, 0x10, {unhandled + "offset 0xc size 1 value 0x10"}, 0x0c, 1, 0},
      {"latency timer is not emulated", 0x0d, 1, 0x40, {unhandled + "offset 0xd size 1 value 0x40"}, 0x0d, 1, 0},
      {"BIST is not emulated", 0x0f, 1, 0x40, {unhandled + "offset 0xf size 1 value 0x40"}, 0x0c, 4, 0},
      {"header dword written whole", 0x0c, 4, 0xffffffff, {unhandled + "offset 0xc size 4 value 0xffffffff"}, 0x0c,
       4, 0},
      {"command: INTx disable", 0x04, 2, 0x0400, {}, 0x04, 2, 0x0400},
      {"command: its high byte alone", 0x05, 1, 0x04, {}, 0x04, 2, 0x0400},
      {"command: parity and SERR stay off", 0x04, 2, 0x0140, {}, 0x04, 2, 0x0000},
      {"status: only the RW1C error bits reach the function", 0x06, 2, 0xffff,
       {"config-write 0000:00:02.0 0x6 size 2 value 0xf900"}, 0x04, 2, 0},
      {"status: its high byte alone", 0x07, 1, 0xff, {"config-write 0000:00:02.0 0x6 size 2 value 0xf900"}, 0x04, 2, 0},
      {"status: the low byte holds no RW1C bit", 0x06, 1, 0xff, {}, 0x04, 2, 0},
      {"command and status in one dword", 0x04, 4, 0x01000400, {"config-write 0000:00:02.0 0x6 size 2 value 0x100"},
       0x04, 2, 0x0400},
      {"BAR, one unaligned byte", 0x12, 1, 0xff, {}, 0x10, 4, 0x00fe0000},
      {"BAR, unaligned half below its size", 0x11, 2, 0x00ff, {}, 0x10, 4, 0x00000000},
      {"BAR, unaligned half", 0x11, 2, 0xffff, {}, 0x10, 4, 0x00fe0000},
      {"unimplemented BAR", 0x14, 4, 0xffffffff, {}, 0x14, 4, 0},
      {"CardBus CIS is not emulated", 0x28, 4, 0x1, {unhandled + "offset 0x28 size 4 value 0x1"}, 0x28, 4, 0},
      {"subsystem IDs are read-only", 0x2c, 4, 0, {}, 0x2c, 4, 0x00011af4},
      {"subsystem ID, unaligned half", 0x2e, 2, 0x5555, {}, 0x2e, 2, 0x0001},
      {"the hidden ROM cannot be sized", 0x30, 4, 0xfffff800, {}, 0x30, 4, 0},
      {"the hidden ROM cannot be enabled", 0x30, 1, 0x01, {}, 0x30, 4, 0},
      {"capability pointer is read-only", 0x34, 1, 0x80, {}, 0x34, 1, 0x40},
      {"reserved byte after the pointer", 0x35, 1, 0x80, {unhandled + "offset 0x35 size 1 value 0x80"}, 0x34, 4, 0x40},
      {"reserved dword 0x38", 0x38, 4, 0x1234, {unhandled + "offset 0x38 size 4 value 0x1234"}, 0x38, 4, 0},
      {"interrupt line is a scratch byte", 0x3c, 1, 0x2a, {}, 0x3c, 1, 0x2a},
      {"interrupt line through the dword", 0x3c, 4, 0xffffffff, {}, 0x3c, 4, 0x000000ff},
      {"interrupt line and pin as a half", 0x3c, 2, 0x0177, {}, 0x3c, 2, 0x0077},
      {"interrupt pin and Min_Gnt as an unaligned half", 0x3d, 2, 0xffff, {}, 0x3c, 4, 0},
      {"interrupt pin is read-only", 0x3d, 1, 0x03, {}, 0x3d, 1, 0},
      {"Min_Gnt and Max_Lat are read-only", 0x3e, 2, 0xffff, {}, 0x3e, 2, 0},
      {"extended space", 0x100, 4, 0x00010001, {unhandled + "offset 0x100 size 4 value 0x10001"}, 0x100, 4, 0},
      {"end of the extended space", 0xfff, 1, 0x5a, {unhandled + "offset 0xfff size 1 value 0x5a"}, 0xffc, 4, 0},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    HeaderFixture f;
    CHECK(f.write(slot, c.offset, c.size, c.value));
    CHECK(f.host.take() == c.calls);
    const pci::vpci::ReadResult r = f.read(slot, c.read_offset, c.read_size);
    REQUIRE(r.ok);
    CHECK(r.value == c.read_value);
    CHECK(f.sim->bar_address(0) == f.function(2).bars[0].bus_address);  // the physical BAR never moves
    CHECK(f.sim->peek32(0x30) == static_cast<uint32_t>(f.function(2).rom.bus_address));
  }
}

TEST_CASE("vpci config: a write that crosses a dword, or of another size, is refused") {
  HeaderFixture f;
  CHECK_FALSE(f.write(slot, 0x3e, 4, 0xffffffff));
  CHECK_FALSE(f.write(slot, 0x3f, 2, 0xffff));
  CHECK_FALSE(f.write(slot, 0x3c, 3, 0xffffff));
  CHECK_FALSE(f.write(slot, 0x38, 8, 0));
  CHECK_FALSE(f.read(slot, 0x3c, 8).ok);
  CHECK_FALSE(f.read(slot, 0x3c, 0).ok);
  CHECK(f.host.take().empty());
  CHECK(f.read8(slot, 0x3c) == 0);
}

TEST_CASE("vpci config: only the first unhandled write of a function is logged, until a reset") {
  HeaderFixture f;
  f.write(slot, 0x38, 4, 1);
  f.write(slot, 0x28, 4, 2);
  f.write(slot, 0x100, 4, 3);
  CHECK(f.host.take() == Calls{std::string(log_prefix) + "unhandled-write offset 0x38 size 4 value 0x1"});
  f.bus->reset();
  f.host.take();
  f.write(slot, 0x0c, 1, 4);
  CHECK(f.host.take() == Calls{std::string(log_prefix) + "unhandled-write offset 0xc size 1 value 0x4"});
}

TEST_CASE("vpci config: absent slots, functions and buses read all ones and ignore writes") {
  HeaderFixture f;
  std::vector<uint64_t> absent;
  for (uint8_t s : {0, 1, 2, 4, 31}) absent.push_back(VpciFixture::ecam_offset(s, 0));
  for (uint8_t function = 1; function < 8; ++function) absent.push_back(VpciFixture::ecam_offset(slot, 0) | function << 12);
  for (uint64_t bus = 1; bus < 16; ++bus) absent.push_back(bus << 20 | VpciFixture::ecam_offset(slot, 0));
  for (const uint64_t base : absent) {
    for (const uint16_t offset : {0x00, 0x04, 0x10, 0x3c, 0x100}) {
      CAPTURE(base);
      CAPTURE(offset);
      CHECK(f.bus->config_read(base + offset, 1).value == 0xff);
      CHECK(f.bus->config_read(base + offset + 2, 2).value == 0xffff);
      CHECK(f.bus->config_read(base + offset, 4).value == 0xffffffffu);
      CHECK(f.bus->config_read(base + offset, 4).ok);
      CHECK(f.bus->config_write(base + offset, 4, 0));
      CHECK(f.bus->config_write(base + offset, 2, 0xffff));
    }
  }
  CHECK(f.host.take().empty());
  CHECK(f.read32(slot, 0) == 0x10d38086);
}

TEST_CASE("vpci config: a stopped partition's function is quarantined with INTx disabled, a start powers it on") {
  HeaderFixture f(true);  // the partition may use INTx
  f.host.allow_bus_master = true;
  CHECK(f.sim->command() == 0x0000);  // power-on: INTx enabled
  f.write16(slot, 0x04, 0x0005);
  CHECK(f.sim->command() == 0x0005);
  f.host.take();
  f.bus->quarantine();
  CHECK(f.sim->command() == 0x0400);  // decode, bus master and INTx off
  CHECK(f.read16(slot, 0x04) == 0x0000);
  // Nothing the stopped partition's last state asked survives a further write either.
  f.write16(slot, 0x04, 0x0000);
  CHECK(f.sim->command() == 0x0400);
  f.bus->reset();
  CHECK(f.sim->command() == 0x0000);
  // One write each way: no passage through INTx enabled on the way to quarantine.
  CHECK(f.host.take() == Calls{"config-write 0000:00:02.0 0x4 size 2 value 0x400",
                               "config-write 0000:00:02.0 0x4 size 2 value 0x0"});
}

TEST_CASE("vpci config: the command register is shadowed, table-driven") {
  struct Case {
    const char* name;
    bool legacy_intx;
    bool bus_master_allowed;
    uint16_t written;
    uint16_t guest_reads;
    uint16_t physical;  // what the function's own register holds afterwards
    Calls calls;
  };
  // Enumeration left 0x0400 (decode and bus master off, INTx disabled). No BAR is placed,
  // so memory decode maps nothing (each BAR's refusal is logged) before the register write.
  const std::string refused = std::string(log_prefix) + "bar ";
  const Calls memory_logs = {refused + "0 guest 0x0 size 0x20000 unmapped: outside the memory windows",
                             refused + "3 guest 0x0 size 0x4000 unmapped: outside the memory windows"};
  auto with_memory_logs = [&](const std::string& write) {
    Calls calls = memory_logs;
    calls.push_back(write);
    return calls;
  };
  const Case cases[] = {
      {"everything: only the four bits stay", false, true, 0xffff, 0x0407, 0x0407,
       with_memory_logs("config-write 0000:00:02.0 0x4 size 2 value 0x407")},
      {"I/O decode", false, true, 0x0001, 0x0001, 0x0401, {"config-write 0000:00:02.0 0x4 size 2 value 0x401"}},
      {"bus master", false, true, 0x0004, 0x0004, 0x0404, {"config-write 0000:00:02.0 0x4 size 2 value 0x404"}},
      {"bus master without DMA isolation stays virtual", false, false, 0x0004, 0x0004, 0x0400,
       {std::string(log_prefix) + "bus-master withheld: DMA is not isolated"}},
      {"INTx enabled by the guest, denied to the partition", false, true, 0x0000, 0x0000, 0x0400, {}},
      {"INTx enabled (power-on), allowed", true, true, 0x0000, 0x0000, 0x0000, {}},
      {"INTx disabled by the guest, allowed", true, true, 0x0400, 0x0400, 0x0400,
       {"config-write 0000:00:02.0 0x4 size 2 value 0x400"}},
      {"memory decode", true, true, 0x0002, 0x0002, 0x0002,
       with_memory_logs("config-write 0000:00:02.0 0x4 size 2 value 0x2")},
      {"other bits", true, true, 0xfbf8, 0x0000, 0x0000, {}},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    HeaderFixture f(c.legacy_intx);
    f.host.allow_bus_master = c.bus_master_allowed;
    f.write16(slot, 0x04, c.written);
    CHECK(f.host.take() == c.calls);
    CHECK(f.read16(slot, 0x04) == c.guest_reads);
    CHECK(f.sim->command() == c.physical);
  }
}

TEST_CASE("vpci config: setup puts the command register at power-on: INTx enabled only when allowed") {
  for (const bool legacy_intx : {false, true}) {
    CAPTURE(legacy_intx);
    VpciFixture f;
    f.root().endpoint(1).bar(0, BarType::mem32, 0x1000).pin(1);
    f.enumerate();
    REQUIRE(f.ecam.root().find(1, 0)->command() == 0x0400);  // as enumeration left it
    f.give(1, 0, 1);
    f.setup.legacy_intx = legacy_intx;
    pci::vpci::SetupError error;
    f.setup.partition = "guest";
    REQUIRE(f.bus->configure(f.setup, f.host, error));
    CHECK(f.host.take() == (legacy_intx ? Calls{"config-write 0000:00:01.0 0x4 size 2 value 0x0"} : Calls{}));
    CHECK(f.read16(1, 0x04) == 0);
  }
}

TEST_CASE("vpci config: bus master withheld is logged once and follows the guest's bit") {
  HeaderFixture f;
  f.host.allow_bus_master = false;
  f.write16(slot, 0x04, 0x0004);
  f.write16(slot, 0x04, 0x0000);
  f.write16(slot, 0x04, 0x0004);
  CHECK(f.host.take() == Calls{std::string(log_prefix) + "bus-master withheld: DMA is not isolated"});
  f.host.allow_bus_master = true;
  f.write16(slot, 0x04, 0x0005);
  CHECK(f.host.take() == Calls{"config-write 0000:00:02.0 0x4 size 2 value 0x405"});
}

namespace {

// A function with every kind of capability: PCI Express, PM, MSI, a vendor-specific one,
// MSI-X, a bridge subsystem ID one, and extended AER, ACS and SR-IOV.
struct CapabilityFixture : VpciFixture {
  SimFunction* sim = nullptr;
  uint8_t pcie = 0, pm = 0, msi = 0, vendor = 0, msix = 0, other = 0;
  CapabilityFixture() {
    SimFunction& f = root().pcie_endpoint(4, 0, 0x1b36, 0x0010, 0x010802).bar(0, BarType::mem32, 0x4000);
    pcie = f.last_capability();
    f.pm();
    pm = f.last_capability();
    f.msi(2, true, true);
    msi = f.last_capability();
    vendor = f.add_capability(0x09, 0x10);
    f.msix(16, 0, 0x2000, 0, 0x3000);
    msix = f.last_capability();
    other = f.add_capability(0x0d, 8);
    f.aer().acs().sriov(4, {{0, BarType::mem32, 0x4000, false}});
    f.poke32(pcie + 0x04, 0x10008fc0);  // Device Capabilities with FLR
    f.poke16(pcie + 0x08, 0x2810);      // Device Control: relaxed ordering, no snoop, MRRS 512
    f.writable32(pcie + 0x08, 0x0000ffff);
    f.poke16(pcie + 0x10, 0x0040);  // Link Control: common clock
    sim = &f;
    enumerate();
    give(4, 0, slot);
    configure();
  }
  // The guest's walk of its capability list: (offset, ID) pairs.
  std::vector<std::pair<int, int>> chain() {
    std::vector<std::pair<int, int>> found;
    for (uint8_t at = read8(slot, 0x34); at != 0 && found.size() < 48; at = read8(slot, at + 1)) {
      found.emplace_back(at, read8(slot, at));
    }
    return found;
  }
};

class FakeCapability final : public pci::vpci::CapabilityHandler {
 public:
  uint32_t read_config(uint16_t offset) override {
    calls.push_back(printed("read-config 0x%x", offset));
    return 0xabcd0000u | offset;
  }
  void write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) override {
    calls.push_back(printed("write-config 0x%x value 0x%x bytes 0x%x", offset, value, byte_mask));
  }
  uint32_t read_trapped(uint8_t bar, uint64_t offset, pci::AccessWidth width) override {
    calls.push_back(printed("read-trapped bar %d offset 0x%llx size %d", bar, static_cast<unsigned long long>(offset),
                            static_cast<int>(width)));
    return 0xcafef00d;
  }
  void write_trapped(uint8_t bar, uint64_t offset, pci::AccessWidth width, uint32_t value) override {
    calls.push_back(printed("write-trapped bar %d offset 0x%llx size %d value 0x%x", bar,
                            static_cast<unsigned long long>(offset), static_cast<int>(width), value));
  }
  void reset() override { calls.push_back("reset"); }
  std::vector<std::string> calls;
};

}  // namespace

TEST_CASE("vpci config: the capability list shows PCI Express and PM only, the extended list is empty") {
  CapabilityFixture f;
  CHECK(f.chain() == std::vector<std::pair<int, int>>{{f.pcie, 0x10}, {f.pm, 0x01}});
  CHECK((f.read16(slot, 0x06) & 0x10) != 0);
  // The unlinked capabilities read 0, whole.
  for (const uint8_t hidden : {f.msi, f.vendor, f.msix, f.other}) {
    CAPTURE(int(hidden));
    CHECK(f.sim->peek32(hidden) != 0);
    for (uint16_t at = hidden; at < hidden + 8; at += 4) CHECK(f.read32(slot, at) == 0);
  }
  CHECK(f.sim->peek32(0x100) != 0);
  for (uint16_t at = 0x100; at < 0x1000; at += 4) {
    if (f.read32(slot, at) != 0) FAIL("extended space not empty at " << at);
  }
  // The PCI Express and PM registers read through, but FLR is never offered.
  CHECK(f.read32(slot, f.pcie) == ((f.sim->peek32(f.pcie) & 0xffff0000u) | f.pm << 8 | 0x10));
  CHECK(f.read32(slot, f.pcie + 4) == 0x00008fc0);
  CHECK(f.read16(slot, f.pcie + 8) == 0x2810);
  CHECK(f.read16(slot, f.pcie + 0x10) == 0x0040);
  CHECK(f.read32(slot, f.pm) == ((f.sim->peek32(f.pm) & 0xffff0000u) | 0x01));
  CHECK(f.read32(slot, f.pm + 4) == f.sim->peek32(f.pm + 4));
  CHECK(f.host.take().empty());
}

TEST_CASE("vpci config: capability writes, table-driven") {
  struct Case {
    const char* name;
    int at;  // offset from the capability
    bool in_pcie;
    uint8_t size;
    uint32_t value;
    Calls calls;
  };
  const Case cases[] = {
      {"Device Control: the safe bits, never FLR, error reporting or payload", 0x08, true, 2, 0xffff,
       {"config-write 0000:00:04.0 0x48 size 2 value 0x7810"}},
      {"Device Control: clearing the safe bits", 0x08, true, 2, 0x8000,
       {"config-write 0000:00:04.0 0x48 size 2 value 0x0"}},
      {"Device Control: unchanged bits write nothing", 0x08, true, 2, 0x2810, {}},
      {"Device Control: its high byte (MRRS, FLR)", 0x09, true, 1, 0xf0,
       {"config-write 0000:00:04.0 0x48 size 2 value 0x7010"}},
      {"Device Status: only the RW1C error bits", 0x0a, true, 2, 0xffff,
       {"config-write 0000:00:04.0 0x4a size 2 value 0xf"}},
      {"Device Control and Status together", 0x08, true, 4, 0x00010010,
       {"config-write 0000:00:04.0 0x48 size 2 value 0x10", "config-write 0000:00:04.0 0x4a size 2 value 0x1"}},
      {"Device Capabilities are read-only", 0x04, true, 4, 0xffffffff, {}},
      {"the header is read-only", 0x00, true, 4, 0xffffffff, {}},
      {"Link Control is read-only", 0x10, true, 2, 0x0003, {}},
      {"Device Control 2 is read-only", 0x28, true, 2, 0xffff, {}},
      {"PM control/status is read-only (no D3hot)", 0x04, false, 2, 0x0003, {}},
      {"PM capabilities are read-only", 0x02, false, 2, 0xffff, {}},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    CapabilityFixture f;
    const auto offset = static_cast<uint16_t>((c.in_pcie ? f.pcie : f.pm) + c.at);
    CHECK(f.write(slot, offset, c.size, c.value));
    CHECK(f.host.take() == c.calls);
  }
}

TEST_CASE("vpci config: hidden capabilities are unhandled registers") {
  CapabilityFixture f;
  f.write(slot, static_cast<uint16_t>(f.msix + 2), 2, 0x8000);  // MSI-X enable
  f.write(slot, static_cast<uint16_t>(f.msi + 2), 2, 0x0001);   // MSI enable
  CHECK(f.host.take() == Calls{std::string(log_prefix) + "unhandled-write offset 0x" +
                               printed("%x", f.msix + 2) + " size 2 value 0x8000"});
  CHECK((f.sim->peek16(f.msix + 2) & 0x8000) == 0);
  CHECK((f.sim->peek16(f.msi + 2) & 0x0001) == 0);
}

TEST_CASE("vpci config: MSI and MSI-X handlers are linked in offset order and serve their registers") {
  CapabilityFixture f;
  FakeCapability msi, msix;
  CHECK(f.bus->attach_capability(slot, pci::vpci::CapabilityKind::msix, msix));
  CHECK(f.bus->attach_capability(slot, pci::vpci::CapabilityKind::msi, msi));
  CHECK_FALSE(f.bus->attach_capability(9, pci::vpci::CapabilityKind::msi, msi));
  CHECK(f.chain() == std::vector<std::pair<int, int>>{{f.pcie, 0x10}, {f.pm, 0x01}, {f.msi, 0x05}, {f.msix, 0x11}});
  msi.calls.clear();
  msix.calls.clear();
  // The bus owns the ID and next bytes; the handler the rest.
  CHECK(f.read32(slot, f.msix) == 0xabcd0011u);  // the last one: next 0
  CHECK(f.read32(slot, f.msix + 8) == (0xabcd0000u | (f.msix + 8)));
  f.write(slot, static_cast<uint16_t>(f.msix + 2), 2, 0x8000);
  f.write(slot, f.msix, 1, 0x55);  // the ID: read-only, not passed on
  f.write(slot, static_cast<uint16_t>(f.msi + 4), 4, 0xfee00000);
  CHECK(msix.calls == Calls{printed("read-config 0x%x", f.msix), printed("read-config 0x%x", f.msix + 8),
                            printed("write-config 0x%x value 0x80000000 bytes 0xc", f.msix)});
  CHECK(msi.calls == Calls{printed("write-config 0x%x value 0xfee00000 bytes 0xf", f.msi + 4)});
  CHECK(f.host.take().empty());
  // The MSI capability is 0x18 bytes (64-bit, per-vector masking): the vendor one after it stays hidden.
  CHECK(f.read32(slot, static_cast<uint16_t>(f.msi + 0x14)) == (0xabcd0000u | (f.msi + 0x14)));
  CHECK(f.read32(slot, f.vendor) == 0);
  f.bus->reset();
  CHECK(msi.calls.back() == "reset");
  CHECK(msix.calls.back() == "reset");
}

TEST_CASE("vpci config: a function without capabilities has an empty list and no list bit") {
  VpciFixture f;
  f.root().endpoint(1).bar(0, BarType::mem32, 0x1000);
  f.ecam.root().find(1, 0)->poke16(0x06, 0x0010);  // claims a list...
  f.enumerate();
  f.give(1, 0, 1);
  f.configure();
  CHECK(f.read8(1, 0x34) == 0);
  CHECK((f.read16(1, 0x06) & 0x10) == 0);  // ...the guest is not told of one
}

TEST_CASE("vpci config: setup errors name the culprit") {
  VpciFixture f;
  f.root().endpoint(1).bar(0, BarType::mem32, 0x1000);
  f.root().endpoint(2).bar(0, BarType::mem32, 0x1000);
  f.root().root_port(3);
  f.root().endpoint(4).bar(0, BarType::mem32, 0x80000000);  // larger than the 32-bit window: unusable
  f.enumerate(false);
  struct Case {
    const char* message;
    void (*spoil)(VpciFixture&);
  };
  const Case cases[] = {
      {"partition guest: 0000:00:01.0 slot 0 is not 1..31", [](VpciFixture& v) { v.give(1, 0, 0); }},
      {"partition guest: 0000:00:01.0 slot 32 is not 1..31", [](VpciFixture& v) { v.give(1, 0, 32); }},
      {"partition guest: 0000:00:01.0 and 0000:00:02.0 both want slot 5",
       [](VpciFixture& v) {
         v.give(1, 0, 5);
         v.give(2, 0, 5);
       }},
      {"partition guest: 0000:00:01.0 is on the virtual bus twice",
       [](VpciFixture& v) {
         v.give(1, 0, 5);
         v.give(1, 0, 6);
       }},
      {"partition guest: 0000:00:03.0 is a root-port; only endpoints appear on a virtual bus",
       [](VpciFixture& v) { v.give(3, 0, 1); }},
      {"partition guest: 0000:00:04.0 is unusable (its BARs are not placed)", [](VpciFixture& v) { v.give(4, 0, 1); }},
      {"partition guest: function 0 of the virtual bus is missing",
       [](VpciFixture& v) { v.setup.functions[v.setup.function_count++] = {}; }},
      {"partition guest: 17 PCI functions, at most 16 on a virtual bus",
       [](VpciFixture& v) { v.setup.function_count = 17; }},
  };
  for (const Case& c : cases) {
    const std::string message = c.message;
    CAPTURE(message);
    f.setup = pci::vpci::BusSetup();
    c.spoil(f);
    f.setup.partition = "guest";
    pci::vpci::SetupError error;
    CHECK_FALSE(f.bus->configure(f.setup, f.host, error));
    CHECK(std::string(error.message) == c.message);
    CHECK(f.bus->function_count() == 0);
    CHECK(f.bus->config_read(VpciFixture::ecam_offset(1, 0), 4).value == 0xffffffffu);  // left empty
  }
  CHECK(f.host.take().empty());
}

TEST_CASE("vpci config: a physical multi-function device appears as separate single-function slots") {
  VpciFixture f;
  f.root().endpoint(6, 0, 0x1af4, 0x1001).bar(0, BarType::mem32, 0x1000);
  f.root().endpoint(6, 1, 0x1af4, 0x1002).bar(0, BarType::mem32, 0x1000);
  f.root().endpoint(6, 2, 0x1af4, 0x1003).bar(0, BarType::mem32, 0x1000);
  f.enumerate();
  REQUIRE((f.ecam.root().find(6, 0)->peek8(0x0e) & 0x80) != 0);
  f.give(6, 1, 1);
  f.give(6, 0, 2);  // function 2 belongs to no one here
  f.configure();
  CHECK(f.read32(1, 0x00) == 0x10021af4);
  CHECK(f.read32(2, 0x00) == 0x10011af4);
  for (const uint8_t s : {1, 2}) {
    CAPTURE(int(s));
    CHECK(f.read8(s, 0x0e) == 0x00);  // no multi-function bit: a guest probes no further function
    for (uint16_t function = 1; function < 8; ++function) {
      CHECK(f.bus->config_read(VpciFixture::ecam_offset(s, 0) | function << 12, 4).value == 0xffffffffu);
    }
  }
  CHECK(f.bus->config_read(VpciFixture::ecam_offset(3, 0), 4).value == 0xffffffffu);
}
