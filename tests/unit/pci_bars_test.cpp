#include <doctest/doctest.h>

#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using pci::BarKind;
using pci::WindowType;

namespace {

struct SingleHost {
  SimEcam ecam;
  PciHarness h;
  explicit SingleHost(PcieHostInfo host = qemu_host()) { h.add_host(host, &ecam); }
  SimBus& root() { return ecam.root(); }
  std::vector<std::string> problems() { return resource_problems(*h.topology, h.topology->segments[0], ecam); }
};

// QEMU virt without high memory: I/O and the 32-bit window only.
PcieHostInfo host_without_mem64() {
  PcieHostInfo host = qemu_host();
  host.window_count = 2;
  return host;
}

bool below_4g(const pci::Bar& bar) { return bar.bus_address + bar.size - 1 <= 0xffffffffull; }

bool inside(const pci::Bar& bar, const pci::BridgeWindow& w) {
  return w.open && bar.bus_address >= w.base && bar.bus_address + bar.size - 1 <= w.limit;
}

}  // namespace

TEST_CASE("pci bars: every kind is sized like hardware answers") {
  SingleHost s;
  SimFunction& sim = s.root()
                         .endpoint(1)
                         .bar(0, BarType::io16, 0x100)
                         .bar(1, BarType::mem32, 0x1000)
                         .bar(2, BarType::mem64, 0x10000)
                         .bar(4, BarType::mem64, 0x200000000ull, true)  // 8 GiB in the last two slots
                         .rom(0x10000);
  sim.writable32(0x1c, 0xff);  // the upper half of BAR 2 only implements 40-bit addresses
  s.root().endpoint(2).bar(3, BarType::io32, 0x20);
  REQUIRE(s.h.enumerate());
  const pci::Function& f = s.h.function(0, 0, 1, 0);
  CHECK(f.bars[0].kind == BarKind::io);
  CHECK(f.bars[0].io_16bit);
  CHECK(f.bars[0].size == 0x100);
  CHECK(f.bars[1].kind == BarKind::mem32);
  CHECK(f.bars[1].size == 0x1000);
  CHECK(f.bars[2].kind == BarKind::mem64);
  CHECK_FALSE(f.bars[2].prefetchable);
  CHECK(f.bars[2].size == 0x10000);
  CHECK(f.bars[3].kind == BarKind::none);  // upper half of BAR 2
  CHECK(f.bars[4].kind == BarKind::mem64);
  CHECK(f.bars[4].prefetchable);
  CHECK(f.bars[4].size == 0x200000000ull);
  CHECK(f.bars[5].kind == BarKind::none);
  CHECK(f.rom.kind == BarKind::mem32);
  CHECK(f.rom.size == 0x10000);
  const pci::Function& io32 = s.h.function(0, 0, 2, 0);
  CHECK(io32.bars[3].kind == BarKind::io);
  CHECK_FALSE(io32.bars[3].io_16bit);
  CHECK(io32.bars[3].size == 0x20);

  // 64-bit BARs on the root bus go above 4 GiB; both halves are written.
  CHECK(f.bars[4].bus_address == 0x8000000000ull);
  CHECK(sim.peek32(0x20) == 0x0000000c);
  CHECK(sim.peek32(0x24) == 0x80);
  CHECK(f.bars[2].bus_address == 0x8200000000ull);
  CHECK(sim.peek32(0x1c) == 0x82);
  CHECK(f.bars[1].bus_address == 0x10010000);
  CHECK(f.rom.bus_address == 0x10000000);
  CHECK((sim.peek32(0x30) & 1) == 0);  // ROM stays disabled
  // I/O starts at 0x1000 and is reported at its CPU address with the bus address.
  CHECK(f.bars[0].bus_address == 0x1000);
  CHECK(f.bars[0].cpu_address == 0x3eff1000);
  const std::string report = joined(s.h.report());
  CHECK(report.find("bulkhead: pci-bar 0000:00:01.0 0 io addr 0x3eff1000 size 0x100 bus-addr 0x1000\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-bar 0000:00:01.0 4 mem64 pref addr 0x8000000000 size 0x200000000\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-bar 0000:00:01.0 rom mem32 addr 0x10000000 size 0x10000\n") != std::string::npos);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: a 64-bit BAR without room for its upper half is rejected") {
  SingleHost s;
  SimFunction& sim = s.root().endpoint(1).bar(0, BarType::mem32, 0x1000);
  sim.poke32(0x24, 0x4);
  sim.writable32(0x24, 0xfffff000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:01.0 bar 5 has a reserved type or no room for its upper half; ignored");
  CHECK(s.h.function(0, 0, 1, 0).bars[5].kind == BarKind::none);
  CHECK(s.h.function(0, 0, 1, 0).bars[0].assigned);
}

TEST_CASE("pci bars: BARs are sized with decoding off even when it was left on") {
  SingleHost s;
  SimFunction& sim = s.root().endpoint(1).bar(0, BarType::mem32, 0x1000).bar(1, BarType::io32, 0x100).rom(0x800);
  sim.poke16(0x04, 0x0007);
  SimFunction& port = s.root().root_port(2).rom(0x800);
  port.poke16(0x04, 0x0007);
  port.secondary()->pcie_endpoint(0).sriov(4, {{0, BarType::mem32, 0x4000, false}});
  SimFunction* pf = port.secondary()->find(0, 0);
  pf->poke16(pf->last_extended_capability() + 8, 0x0009);  // VFs enabled, VF memory on
  REQUIRE(s.h.enumerate());
  CHECK(s.ecam.sized_while_decoding() == 0);
  CHECK((pf->peek16(pf->last_extended_capability() + 8) & 0x9) == 0);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: which bridge window holds which BAR") {
  SUBCASE("64-bit prefetchable window") {
    SingleHost s;
    s.root().root_port(1).secondary()->pcie_endpoint(0)
        .bar(0, BarType::mem64, 0x100000)            // 64-bit non-prefetchable: 32-bit memory window
        .bar(2, BarType::mem64, 0x400000, true)      // prefetchable window, above 4 GiB
        .bar(4, BarType::mem32, 0x1000, true);       // 32-bit prefetchable: memory window
    REQUIRE(s.h.enumerate());
    const pci::BridgeInfo& port = s.h.function(0, 0, 1, 0).bridge;
    const pci::Function& f = s.h.function(0, 1, 0, 0);
    CHECK(inside(f.bars[0], port.window(WindowType::memory)));
    CHECK(below_4g(f.bars[0]));
    CHECK(inside(f.bars[2], port.window(WindowType::prefetchable)));
    CHECK(f.bars[2].bus_address >= 0x100000000ull);
    CHECK(inside(f.bars[4], port.window(WindowType::memory)));
    CHECK(port.window(WindowType::memory).limit - port.window(WindowType::memory).base + 1 == 0x200000);
    CHECK_FALSE(port.window(WindowType::io).open);
    // The registers, as programmed.
    SimFunction* sim = s.root().find(1, 0);
    CHECK(sim->peek32(0x20) == 0x10101000);  // memory 0x10000000-0x101fffff
    CHECK(sim->peek32(0x24) == 0x00310001);  // prefetchable 0x..00000000-0x..003fffff, 64-bit
    CHECK(sim->peek32(0x28) == 0x80);
    CHECK(sim->peek32(0x2c) == 0x80);
    CHECK(sim->peek16(0x1c) == 0x00f0);      // I/O closed: base above limit
    CHECK(joined(s.problems()) == "");
  }
  SUBCASE("32-bit prefetchable window") {
    SingleHost s;
    s.root().bridge(1, 0, 0x1b36, 0x000c, {.pcie_type = 4, .prefetchable_64bit = false}).secondary()->pcie_endpoint(0)
        .bar(0, BarType::mem64, 0x400000, true)
        .bar(2, BarType::mem32, 0x1000, true);
    REQUIRE(s.h.enumerate());
    const pci::BridgeInfo& port = s.h.function(0, 0, 1, 0).bridge;
    const pci::Function& f = s.h.function(0, 1, 0, 0);
    CHECK(inside(f.bars[0], port.window(WindowType::prefetchable)));
    CHECK(inside(f.bars[2], port.window(WindowType::prefetchable)));
    CHECK(below_4g(f.bars[0]));
    CHECK_FALSE(port.window(WindowType::memory).open);
    CHECK(joined(s.problems()) == "");
  }
  SUBCASE("no prefetchable window") {
    SingleHost s;
    s.root().bridge(1, 0, 0x1b36, 0x0001, {.prefetchable_window = false}).secondary()->endpoint(0)
        .bar(0, BarType::mem64, 0x400000, true);
    REQUIRE(s.h.enumerate());
    const pci::BridgeInfo& bridge = s.h.function(0, 0, 1, 0).bridge;
    CHECK_FALSE(bridge.window(WindowType::prefetchable).implemented);
    CHECK(inside(s.h.function(0, 1, 0, 0).bars[0], bridge.window(WindowType::memory)));
    CHECK(joined(s.problems()) == "");
  }
}

TEST_CASE("pci bars: a 64-bit prefetchable BAR falls back to the 32-bit window") {
  SingleHost s(host_without_mem64());
  s.root().endpoint(1).bar(0, BarType::mem64, 0x100000, true);
  s.root().root_port(2).secondary()->pcie_endpoint(0).bar(2, BarType::mem64, 0x400000, true);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
  CHECK(below_4g(s.h.function(0, 0, 1, 0).bars[0]));
  CHECK(below_4g(s.h.function(0, 1, 0, 0).bars[2]));
  CHECK(s.h.function(0, 0, 2, 0).bridge.window(WindowType::prefetchable).open);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: a BAR no window can hold makes its function unusable, the rest is placed") {
  SingleHost s(host_without_mem64());
  s.root().root_port(1).secondary()->pcie_endpoint(0)
      .bar(0, BarType::mem32, 0x1000)
      .bar(2, BarType::mem64, 0x100000000ull, true);
  s.root().root_port(2).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] ==
        "bulkhead: error: pci 0000:01:00.0 bar 2 mem64 pref size 0x100000000: no window can hold it; function unusable");
  const pci::Function& lost = s.h.function(0, 1, 0, 0);
  CHECK_FALSE(lost.usable);
  CHECK_FALSE(lost.bars[0].assigned);
  CHECK_FALSE(lost.bars[2].assigned);
  CHECK_FALSE(s.h.function(0, 0, 1, 0).bridge.window(WindowType::memory).open);
  CHECK(s.h.function(0, 2, 0, 0).bars[0].assigned);
  CHECK(s.h.function(0, 2, 0, 0).usable);
  const std::string report = joined(s.h.report());
  CHECK(report.find("bulkhead: pci 0000:01:00.0 8086:10d3 class 020000 kind endpoint unusable\n") != std::string::npos);
  CHECK(report.find("bulkhead: pci-bar 0000:01:00.0 2 mem64 pref addr none size 0x100000000\n") != std::string::npos);
  CHECK(report.find("unusable 1 config-accesses") != std::string::npos);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: the root window fills up") {
  PcieHostInfo host = host_without_mem64();
  host.windows[1].size = 0x200000;
  SingleHost s(host);
  for (uint8_t d = 1; d <= 3; ++d) s.root().endpoint(d).bar(0, BarType::mem32, 0x100000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:03.0 bar 0 mem32 size 0x100000: no window can hold it; function unusable");
  CHECK(s.h.function(0, 0, 1, 0).bars[0].bus_address == 0x10000000);
  CHECK(s.h.function(0, 0, 2, 0).bars[0].bus_address == 0x10100000);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: a window overflowing inside a switch gives up its largest BAR") {
  PcieHostInfo host = host_without_mem64();
  host.windows[1].size = 0x1000000;  // 16 MiB
  SingleHost s(host);
  SimFunction& up = s.root().root_port(1).secondary()->upstream_port(0);
  up.secondary()->downstream_port(0).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000000);
  up.secondary()->downstream_port(1).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x100000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:03:00.0 bar 0 mem32 size 0x1000000: no window can hold it; function unusable");
  CHECK(s.h.function(0, 4, 0, 0).bars[0].assigned);
  CHECK_FALSE(s.h.function(0, 3, 0, 0).usable);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: an I/O BAR behind a bridge without an I/O window") {
  SingleHost s;
  SimFunction& bridge = s.root().bridge(1, 0, 0x1b36, 0x0001, {.io_window = false});
  bridge.secondary()->endpoint(1).bar(0, BarType::mem32, 0x1000).bar(1, BarType::io32, 0x100);
  bridge.secondary()->endpoint(2).bar(0, BarType::mem32, 0x1000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:01:01.0 bar 1 io size 0x100: no window can hold it; function unusable");
  CHECK_FALSE(s.h.function(0, 0, 1, 0).bridge.window(WindowType::io).implemented);
  CHECK(s.h.function(0, 1, 2, 0).bars[0].assigned);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: I/O windows, 16 and 32-bit") {
  SingleHost s;
  s.root().root_port(1).secondary()->pcie_endpoint(0).bar(0, BarType::io16, 0x40).bar(1, BarType::io32, 0x100);
  s.root().bridge(2, 0, 0x1b36, 0x000c, {.pcie_type = 4, .io_32bit = true}).secondary()->pcie_endpoint(0)
      .bar(0, BarType::io32, 0x800);
  s.root().root_port(3);
  REQUIRE(s.h.enumerate());
  const pci::BridgeWindow& io16 = s.h.function(0, 0, 1, 0).bridge.window(WindowType::io);
  const pci::BridgeWindow& io32 = s.h.function(0, 0, 2, 0).bridge.window(WindowType::io);
  CHECK_FALSE(io16.wide);
  CHECK(io32.wide);
  CHECK(io16.open);
  CHECK(io16.base % 0x1000 == 0);
  CHECK(io16.limit - io16.base + 1 == 0x1000);
  CHECK(io16.base >= 0x1000);
  CHECK(io32.limit - io32.base + 1 == 0x1000);
  CHECK(s.root().find(2, 0)->peek32(0x30) == 0);  // upper 16 bits of base and limit
  // The empty port has every window closed.
  SimFunction* empty = s.root().find(3, 0);
  CHECK_FALSE(empty->io_window().open);
  CHECK_FALSE(empty->memory_window().open);
  CHECK_FALSE(empty->prefetchable_window().open);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: expansion ROMs of endpoints and bridges") {
  SingleHost s;
  SimFunction& port = s.root().root_port(1).rom(0x800);
  port.secondary()->pcie_endpoint(0).rom(0x40000);
  REQUIRE(s.h.enumerate());
  const pci::Function& bridge = s.h.function(0, 0, 1, 0);
  const pci::Function& endpoint = s.h.function(0, 1, 0, 0);
  REQUIRE(bridge.rom.assigned);
  REQUIRE(endpoint.rom.assigned);
  CHECK(port.peek32(0x38) == bridge.rom.bus_address);
  CHECK(endpoint.rom.bus_address % 0x40000 == 0);
  CHECK(inside(endpoint.rom, bridge.bridge.window(WindowType::memory)));
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: windows nest through a deep mixed tree") {
  SingleHost s;
  SimFunction& up = s.root().root_port(1).secondary()->upstream_port(0);
  for (uint8_t d = 0; d < 3; ++d) {
    up.secondary()->downstream_port(d).secondary()->pcie_endpoint(0)
        .bar(0, BarType::mem32, 0x4000u << d)
        .bar(1, BarType::io32, 0x20)
        .bar(2, BarType::mem64, 0x100000u << d, true)
        .rom(0x10000);
  }
  SimFunction& bridge = s.root().pcie_pci_bridge(2);
  bridge.secondary()->endpoint(3).bar(0, BarType::mem32, 0x20000).bar(1, BarType::io16, 0x40);
  bridge.secondary()->pci_bridge(4).secondary()->endpoint(0).bar(0, BarType::mem64, 0x1000000, true).bar(2, BarType::io32, 0x80);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci bars: BAR registers hold bus addresses, the report gives CPU addresses") {
  PcieHostInfo host = host_without_mem64();
  host.windows[1] = {PciSpace::mem32, false, 0x20000000, 0x60000000, 0x10000000};  // bus != CPU
  SingleHost s(host);
  SimFunction& sim = s.root().endpoint(1).bar(0, BarType::mem32, 0x1000);
  REQUIRE(s.h.enumerate());
  const pci::Bar& bar = s.h.function(0, 0, 1, 0).bars[0];
  CHECK(bar.bus_address == 0x20000000);
  CHECK(bar.cpu_address == 0x60000000);
  CHECK(sim.bar_address(0) == 0x20000000);
  CHECK(joined(s.h.report()).find("bulkhead: pci-bar 0000:00:01.0 0 mem32 addr 0x60000000 size 0x1000 bus-addr 0x20000000\n") !=
        std::string::npos);
}

TEST_CASE("pci bars: a bridge whose own BAR cannot be placed stops forwarding") {
  PcieHostInfo host = host_without_mem64();
  host.windows[1].size = 0x100000;  // 1 MiB
  SingleHost s(host);
  SimFunction& bridge = s.root().pci_bridge(1).bar(0, BarType::mem32, 0x200000);
  bridge.secondary()->endpoint(0).bar(0, BarType::mem32, 0x1000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 2);
  CHECK(s.h.errors[0] == "bulkhead: error: pci 0000:00:01.0 bar 0 mem32 size 0x200000: no window can hold it; function unusable");
  CHECK(s.h.errors[1] ==
        "bulkhead: error: pci-bridge 0000:00:01.0: a bar of its own is not placed; forwarding stays off and the functions "
        "behind it are unusable");
  CHECK_FALSE(s.h.function(0, 1, 0, 0).usable);
  CHECK_FALSE(s.h.function(0, 1, 0, 0).bars[0].assigned);
  CHECK((bridge.command() & 0x3) == 0);
}
