// The virtual bus's BARs (pci/vpci): sizing every kind, placement and the stage-2 calls
// it causes, decode ordering, refused placements, the I/O window, trapped ranges, reset.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pci/vpci/virtual_bus.hpp"
#include "tests/sim/vpci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using Calls = std::vector<std::string>;

namespace {

// The target keeps one bus per partition in static storage, built at compile time.
constinit pci::vpci::VirtualPciBus static_bus;

std::string map(uint64_t guest, uint64_t host, uint64_t size) {
  return printed("map guest 0x%llx host 0x%llx size 0x%llx", static_cast<unsigned long long>(guest),
                 static_cast<unsigned long long>(host), static_cast<unsigned long long>(size));
}
std::string unmap(uint64_t guest, uint64_t size) {
  return printed("unmap guest 0x%llx size 0x%llx", static_cast<unsigned long long>(guest),
                 static_cast<unsigned long long>(size));
}
std::string command(const char* sbdf, uint16_t value) {
  return printed("config-write %s 0x4 size 2 value 0x%x", sbdf, value);
}

// 00:01.0: every memory kind; 00:02.0: I/O (32- and 16-bit), a sub-page BAR and a ROM.
struct BarFixture : VpciFixture {
  BarFixture() {
    root()
        .endpoint(1, 0, 0x1af4, 0x1041)
        .bar(0, BarType::mem32, 0x20000)
        .bar(1, BarType::mem32, 0x100, true)
        .bar(2, BarType::mem64, 0x4000)
        .bar(4, BarType::mem64, 0x200000000ull, true);
    root()
        .endpoint(2, 0, 0x8086, 0x100e)
        .bar(0, BarType::io32, 0x20)
        .bar(1, BarType::io16, 0x100)
        .bar(2, BarType::mem32, 0x10)
        .rom(0x800);
    enumerate();
    give(1, 0, 1);
    give(2, 0, 2);
    configure();
  }
  uint64_t host_bar(uint8_t device, uint8_t bar) { return function(device).bars[bar].cpu_address; }
};

}  // namespace

TEST_CASE("vpci bars: size probing for every kind, table-driven") {
  struct Case {
    const char* name;
    uint8_t slot;
    uint16_t offset;
    uint32_t probed;
  };
  const Case cases[] = {
      {"mem32", 1, 0x10, 0xfffe0000},
      {"mem32 prefetchable, sub-page: a page to the guest", 1, 0x14, 0xfffff008},
      {"mem64 lower half", 1, 0x18, 0xffffc004},
      {"mem64 upper half", 1, 0x1c, 0xffffffff},
      {"mem64 prefetchable 8 GiB, lower half", 1, 0x20, 0x0000000c},
      {"mem64 prefetchable 8 GiB, upper half", 1, 0x24, 0xfffffffe},
      {"io32", 2, 0x10, 0xffffffe1},
      {"io16: upper bits hard-wired", 2, 0x14, 0x0000ff01},
      {"mem32 of 16 bytes: a page to the guest", 2, 0x18, 0xfffff000},
      {"unimplemented", 2, 0x1c, 0},
      {"unimplemented, last", 2, 0x24, 0},
      {"ROM: hidden", 2, 0x30, 0},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    BarFixture f;
    const uint32_t before = f.read32(c.slot, c.offset);
    CHECK(f.size_probe(c.slot, c.offset) == c.probed);
    CHECK(f.read32(c.slot, c.offset) == before);  // restored
    CHECK(f.host.take().empty());  // sizing never reaches the machine
  }
  // Both halves of a 64-bit BAR probed together, as Linux does.
  BarFixture f;
  f.write32(1, 0x18, 0xffffffff);
  f.write32(1, 0x1c, 0xffffffff);
  CHECK(f.read32(1, 0x18) == 0xffffc004);
  CHECK(f.read32(1, 0x1c) == 0xffffffff);
  // The physical BARs still hold their host addresses.
  for (const uint8_t device : {1, 2}) {
    const pci::Function& physical = f.function(device);
    SimFunction* sim = f.ecam.root().find(device, 0);
    for (uint8_t b = 0; b < 6; ++b) {
      if (physical.bars[b].kind != pci::BarKind::none) CHECK(sim->bar_address(b) == physical.bars[b].bus_address);
    }
  }
}

TEST_CASE("vpci bars: decode on maps every placed memory BAR first, off unmaps them first") {
  BarFixture f;
  f.write32(1, 0x10, 0x10000000);
  f.write32(1, 0x14, 0x10020000);
  f.write32(1, 0x18, 0x10024000);
  f.write32(1, 0x1c, 0);
  f.write32(1, 0x20, 0);
  f.write32(1, 0x24, 0x82);
  CHECK(f.host.take().empty());  // decode off: placing maps nothing
  f.write16(1, 0x04, 0x0002);
  CHECK(f.host.take() == Calls{map(0x10000000, f.host_bar(1, 0), 0x20000), map(0x10020000, f.host_bar(1, 1), 0x1000),
                               map(0x10024000, f.host_bar(1, 2), 0x4000),
                               map(0x8200000000ull, f.host_bar(1, 4), 0x200000000ull),
                               command("0000:00:01.0", 0x0402)});
  CHECK(f.read32(1, 0x24) == 0x82);
  f.write16(1, 0x04, 0x0000);
  CHECK(f.host.take() == Calls{unmap(0x10000000, 0x20000), unmap(0x10020000, 0x1000), unmap(0x10024000, 0x4000),
                               unmap(0x8200000000ull, 0x200000000ull), command("0000:00:01.0", 0x0400)});
  CHECK(f.host.mapped.empty());
  CHECK(f.host.problems.empty());
  // The same bits again: nothing to do.
  f.write16(1, 0x04, 0x0000);
  CHECK(f.host.take().empty());
}

TEST_CASE("vpci bars: moves while decoding remove the old mapping before the new one") {
  BarFixture f;
  f.write32(1, 0x10, 0x10000000);
  f.write32(1, 0x18, 0x00100000);
  f.write32(1, 0x1c, 0x80);
  f.write16(1, 0x04, 0x0002);
  f.host.take();  // BAR 1 and 4 are at 0: refused and logged, tested elsewhere
  struct Step {
    const char* name;
    uint16_t offset;
    uint8_t size;
    uint32_t value;
    Calls calls;
  };
  const uint64_t bar0 = f.host_bar(1, 0), bar2 = f.host_bar(1, 2);
  const Step steps[] = {
      {"mem32 moves", 0x10, 4, 0x10100000, {unmap(0x10000000, 0x20000), map(0x10100000, bar0, 0x20000)}},
      {"the same address again", 0x10, 4, 0x10100000, {}},
      {"bits below the size change nothing", 0x10, 4, 0x1011fff0, {}},
      {"one byte moves it", 0x13, 1, 0x11, {unmap(0x10100000, 0x20000), map(0x11100000, bar0, 0x20000)}},
      {"mem64 lower half", 0x18, 4, 0x00200000, {unmap(0x8000100000ull, 0x4000), map(0x8000200000ull, bar2, 0x4000)}},
      {"mem64 upper half", 0x1c, 4, 0x81, {unmap(0x8000200000ull, 0x4000), map(0x8100200000ull, bar2, 0x4000)}},
      {"mem64 below the 32-bit window: refused", 0x1c, 4, 0x0,
       {unmap(0x8100200000ull, 0x4000),
        "log partition guest vpci 00:01.0 bar 2 guest 0x200000 size 0x4000 unmapped: outside the memory windows"}},
  };
  for (const Step& step : steps) {
    const std::string name = step.name;
    CAPTURE(name);
    f.write(1, step.offset, step.size, step.value);
    CHECK(f.host.take() == step.calls);
  }
  f.write32(1, 0x18, 0x10200000);  // back inside the 32-bit window: mapped again, no second log
  CHECK(f.host.take() == Calls{map(0x10200000, bar2, 0x4000)});
  CHECK(f.host.problems.empty());
}

TEST_CASE("vpci bars: refused placements stay unmapped and are logged once per BAR") {
  BarFixture f;
  const std::string prefix = "log partition guest vpci 00:01.0 bar 0 guest ";
  struct Case {
    const char* name;
    uint32_t address;
    std::string log;
  };
  const Case cases[] = {
      {"never placed", 0x0, prefix + "0x0 size 0x20000 unmapped: outside the memory windows"},
      {"below the window", 0x0ffe0000, prefix + "0xffe0000 size 0x20000 unmapped: outside the memory windows"},
      {"across the window's end", 0x3efe0000, prefix + "0x3efe0000 size 0x20000 unmapped: outside the memory windows"},
      {"on an emulated region", 0x3e000000,
       prefix + "0x3e000000 size 0x20000 unmapped: overlaps the test region at 0x3e000000 size 0x10000"},
      {"on another function's BAR", 0x20000000,
       prefix + "0x20000000 size 0x20000 unmapped: overlaps bar 2 of 00:02.0"},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    BarFixture g;
    g.write32(2, 0x18, 0x20010000);  // 00:02.0's sub-page BAR, mapped first
    g.write16(2, 0x04, 0x0002);
    g.host.take();
    g.write32(1, 0x10, c.address);
    g.write32(1, 0x14, 0x10000000);
    g.write32(1, 0x18, 0x10010000);
    g.write32(1, 0x24, 0x82);
    g.write16(1, 0x04, 0x0002);
    const Calls calls = g.host.take();
    REQUIRE(calls.size() == 5);
    CHECK(calls[0] == c.log);
    CHECK(calls[1] == map(0x10000000, g.host_bar(1, 1), 0x1000));
    CHECK(calls[2] == map(0x10010000, g.host_bar(1, 2), 0x4000));
    CHECK(calls[3] == map(0x8200000000ull, g.host_bar(1, 4), 0x200000000ull));
    CHECK(calls[4] == command("0000:00:01.0", 0x0402));  // the good BARs decode
    g.write16(1, 0x04, 0x0000);
    g.write16(1, 0x04, 0x0002);  // refused again, not logged again
    for (const std::string& call : g.host.take()) CHECK(call.rfind("log ", 0) != 0);
    CHECK(g.host.problems.empty());
  }
  // Stage 2 itself refusing a mapping.
  f.host.fail_maps = true;
  f.write32(1, 0x10, 0x10000000);
  f.write16(1, 0x04, 0x0002);
  const Calls calls = f.host.take();
  CHECK(calls[0] == map(0x10000000, f.host_bar(1, 0), 0x20000));
  CHECK(calls[1] == prefix + "0x10000000 size 0x20000 unmapped: stage 2 could not map it");
  CHECK(f.host.mapped.empty());
}

TEST_CASE("vpci bars: the I/O window reaches only the I/O BARs of functions decoding I/O") {
  BarFixture f;
  const uint64_t io0 = f.host_bar(2, 0), io1 = f.host_bar(2, 1);
  f.write32(2, 0x10, 0x1000);
  f.write32(2, 0x14, 0x2000);
  CHECK(f.bus->io_read(0x1004, 4).value == 0xffffffffu);  // I/O decode off
  CHECK(f.host.take().empty());
  f.write16(2, 0x04, 0x0001);
  CHECK(f.host.take() == Calls{command("0000:00:02.0", 0x0401)});
  struct Case {
    uint64_t port;
    uint8_t size;
    bool ok;
    uint32_t value;
    Calls calls;
  };
  const Case reads[] = {
      {0x1000, 4, true, 0x12345678, {printed("io-read 0x%llx size 4", static_cast<unsigned long long>(io0))}},
      {0x101c, 4, true, 0x12345678, {printed("io-read 0x%llx size 4", static_cast<unsigned long long>(io0 + 0x1c))}},
      {0x101f, 1, true, 0x78, {printed("io-read 0x%llx size 1", static_cast<unsigned long long>(io0 + 0x1f))}},
      {0x20fe, 2, true, 0x5678, {printed("io-read 0x%llx size 2", static_cast<unsigned long long>(io1 + 0xfe))}},
      {0x1020, 4, true, 0xffffffff, {}},  // past the BAR: nothing decodes
      {0x0ffc, 4, true, 0xffffffff, {}},
      {0x1002, 4, false, 0, {}},  // misaligned: refused
      {0x1000, 3, false, 0, {}},
      {0x1000, 8, false, 0, {}},
  };
  for (const Case& c : reads) {
    CAPTURE(c.port);
    CAPTURE(int(c.size));
    const pci::vpci::ReadResult r = f.bus->io_read(c.port, c.size);
    CHECK(r.ok == c.ok);
    if (c.ok) CHECK(r.value == c.value);
    CHECK(f.host.take() == c.calls);
  }
  CHECK(f.bus->io_write(0x1002, 2, 0xbeef));
  CHECK(f.bus->io_write(0x3000, 4, 1));  // nothing there: dropped
  CHECK_FALSE(f.bus->io_write(0x1001, 2, 1));
  CHECK(f.host.take() == Calls{printed("io-write 0x%llx size 2 value 0xbeef", static_cast<unsigned long long>(io0 + 2))});
  // Moving the BAR moves what decodes; turning I/O decode off ends it.
  f.write32(2, 0x10, 0x4000);
  CHECK(f.bus->io_read(0x1000, 4).value == 0xffffffffu);
  CHECK(f.bus->io_read(0x4000, 4).value == 0x12345678u);
  f.write16(2, 0x04, 0x0000);
  CHECK(f.bus->io_read(0x4000, 4).value == 0xffffffffu);
  CHECK(f.host.take() == Calls{printed("io-read 0x%llx size 4", static_cast<unsigned long long>(io0)),
                               command("0000:00:02.0", 0x0400)});
}

namespace {

class FakeTable final : public pci::vpci::CapabilityHandler {
 public:
  uint32_t read_config(uint16_t) override { return 0; }
  void write_config(uint16_t, uint32_t, uint8_t) override {}
  uint32_t read_trapped(uint8_t bar, uint64_t offset, pci::AccessWidth width) override {
    calls.push_back(printed("read bar %d offset 0x%llx size %d", bar, static_cast<unsigned long long>(offset),
                            static_cast<int>(width)));
    return 0xfeedf00d;
  }
  void write_trapped(uint8_t bar, uint64_t offset, pci::AccessWidth width, uint32_t value) override {
    calls.push_back(printed("write bar %d offset 0x%llx size %d value 0x%x", bar, static_cast<unsigned long long>(offset),
                            static_cast<int>(width), value));
  }
  void reset() override {}
  std::vector<std::string> calls;
};

}  // namespace

TEST_CASE("vpci bars: a trapped range stays out of stage 2 and reaches its handler") {
  BarFixture f;
  FakeTable table;
  const uint64_t bar0 = f.host_bar(1, 0);
  CHECK_FALSE(f.bus->trap_bar_range(1, 1, 0, 0x2000, table));       // past the end of a 4 KiB BAR
  CHECK_FALSE(f.bus->trap_bar_range(2, 0, 0, 0x10, table));         // an I/O BAR
  CHECK_FALSE(f.bus->trap_bar_range(1, 3, 0, 0x10, table));         // the upper half of a 64-bit BAR
  CHECK_FALSE(f.bus->trap_bar_range(7, 0, 0, 0x10, table));         // an empty slot
  CHECK(f.bus->trap_bar_range(1, 0, 0x8010, 0x1ff0, table));       // pages 0x8000..0x9fff
  CHECK_FALSE(f.bus->trap_bar_range(1, 0, 0x0, 0x10, table));       // one per BAR
  f.write32(1, 0x10, 0x10000000);
  f.write16(1, 0x04, 0x0002);
  Calls calls = f.host.take();
  REQUIRE(calls.size() >= 2);
  CHECK(calls[0] == map(0x10000000, bar0, 0x8000));
  CHECK(calls[1] == map(0x1000a000, bar0 + 0xa000, 0x16000));
  pci::vpci::MappedRange ranges[8];
  REQUIRE(f.bus->mapped_ranges(ranges, 8) == 2);
  CHECK(ranges[0].guest == 0x10000000);
  CHECK(ranges[0].size == 0x8000);
  CHECK(ranges[1].host == bar0 + 0xa000);
  CHECK(ranges[1].bar == 0);
  CHECK(ranges[1].slot == 1);
  CHECK(f.bus->trapped_read(0x10008010, 4).value == 0xfeedf00d);
  CHECK(f.bus->trapped_write(0x10009ffc, 4, 0x1));
  CHECK_FALSE(f.bus->trapped_read(0x1000a000, 4).ok);  // mapped, not trapped: never asked
  CHECK_FALSE(f.bus->trapped_read(0x10008002, 4).ok);  // misaligned
  CHECK(table.calls == Calls{"read bar 0 offset 0x8010 size 4", "write bar 0 offset 0x9ffc size 4 value 0x1"});
  // Moving the BAR moves the trapped range with it.
  f.write32(1, 0x10, 0x10100000);
  CHECK(f.host.take() == Calls{unmap(0x10000000, 0x8000), unmap(0x1000a000, 0x16000), map(0x10100000, bar0, 0x8000),
                               map(0x1010a000, bar0 + 0xa000, 0x16000)});
  CHECK_FALSE(f.bus->trapped_read(0x10008010, 4).ok);
  CHECK(f.bus->trapped_read(0x10108010, 2).ok);
  f.write16(1, 0x04, 0x0000);
  CHECK_FALSE(f.bus->trapped_read(0x10108010, 4).ok);  // decode off: nothing is trapped either
  CHECK(f.host.problems.empty());
}

TEST_CASE("vpci bars: reset removes the mappings first and returns to power-on values") {
  BarFixture f;
  f.write32(1, 0x10, 0x10000000);
  f.write32(2, 0x10, 0x1000);
  f.write(2, 0x3c, 1, 0x2a);
  f.write16(1, 0x04, 0x0006);
  f.write16(2, 0x04, 0x0001);
  f.host.take();
  REQUIRE(f.host.mapped.size() == 1);
  f.bus->reset();
  CHECK(f.host.take() == Calls{unmap(0x10000000, 0x20000), command("0000:00:01.0", 0x0400),
                               command("0000:00:02.0", 0x0400)});
  CHECK(f.host.mapped.empty());
  CHECK(f.read32(1, 0x04) == 0);
  CHECK(f.read32(1, 0x10) == 0);
  CHECK(f.read32(2, 0x10) == 1);
  CHECK(f.read8(2, 0x3c) == 0);
  CHECK(f.bus->io_read(0x1000, 4).value == 0xffffffffu);
  CHECK(f.ecam.root().find(1, 0)->command() == 0x0400);
  pci::vpci::MappedRange ranges[2];
  CHECK(f.bus->mapped_ranges(ranges, 2) == 0);
  // One function alone.
  f.write32(1, 0x10, 0x10000000);
  f.write16(1, 0x04, 0x0002);
  f.write16(2, 0x04, 0x0001);
  f.host.take();
  CHECK(f.bus->reset_function(1));
  CHECK_FALSE(f.bus->reset_function(3));
  CHECK(f.host.take() == Calls{unmap(0x10000000, 0x20000), command("0000:00:01.0", 0x0400)});
  CHECK(f.read16(2, 0x04) == 0x0001);
}

TEST_CASE("vpci bars: a bus in static storage (constinit) works like any other") {
  BarFixture f;
  pci::vpci::SetupError error;
  REQUIRE(static_bus.configure(f.setup, f.host, error));
  CHECK(static_bus.function_count() == 2);
  CHECK(static_bus.config_read(VpciFixture::ecam_offset(1, 0), 4).value == 0x10411af4);
  static_bus.reset();
  CHECK(static_bus.configure(pci::vpci::BusSetup(), f.host, error));  // empty again
  CHECK(static_bus.config_read(VpciFixture::ecam_offset(1, 0), 4).value == 0xffffffffu);
}
