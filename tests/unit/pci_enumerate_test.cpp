#include <doctest/doctest.h>

#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using pci::FunctionKind;

namespace {

struct SingleHost {
  SimEcam ecam;
  PciHarness h;
  explicit SingleHost(PcieHostInfo host = qemu_host()) { h.add_host(host, &ecam); }
  SimBus& root() { return ecam.root(); }
  const pci::Segment& segment() const { return h.topology->segments[0]; }
  std::vector<std::string> problems() { return resource_problems(*h.topology, segment(), ecam); }
};

// A switch: upstream port at `device` on `bus`, downstream ports at the given devices.
SimFunction& add_switch(SimBus& bus, uint8_t device, std::initializer_list<uint8_t> downstream) {
  SimFunction& upstream = bus.upstream_port(device);
  for (uint8_t d : downstream) upstream.secondary()->downstream_port(d);
  return upstream;
}

}  // namespace

TEST_CASE("pci enumerate: a single endpoint") {
  SingleHost s;
  s.root().endpoint(3, 0, 0x1af4, 0x1041, 0x020000).bar(1, BarType::mem32, 0x1000);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());
  REQUIRE(s.h.topology->function_count == 1);
  const pci::Function& f = s.h.function(0, 0, 3, 0);
  CHECK(f.vendor_id == 0x1af4);
  CHECK(f.device_id == 0x1041);
  CHECK(f.class_code == 0x020000);
  CHECK(f.kind == FunctionKind::endpoint);
  CHECK(f.usable);
  CHECK(f.parent == pci::no_function);
  CHECK(f.bars[1].kind == pci::BarKind::mem32);
  CHECK(f.bars[1].size == 0x1000);
  CHECK(f.bars[1].assigned);
  CHECK(f.bars[1].bus_address == 0x10000000);
  CHECK(s.root().find(3, 0)->bar_address(1) == 0x10000000);
  CHECK(joined(s.problems()) == "");
  CHECK(s.segment().config_reads + s.segment().config_writes == s.ecam.accesses());
}

TEST_CASE("pci enumerate: an empty host bridge") {
  SingleHost s;
  REQUIRE(s.h.enumerate());
  CHECK(s.h.topology->segment_count == 1);
  CHECK(s.h.topology->function_count == 0);
  CHECK(s.ecam.accesses() == 32);  // one read per device number of the root bus
}

TEST_CASE("pci enumerate: multi-function devices") {
  SingleHost s;
  s.root().endpoint(4, 0).bar(0, BarType::mem32, 0x1000);
  s.root().endpoint(4, 1).bar(0, BarType::mem32, 0x1000);
  s.root().endpoint(4, 5).bar(0, BarType::mem32, 0x2000);
  // Function 0 of device 6 does not say multi-function: function 1 must not be scanned.
  s.root().endpoint(6, 0);
  s.root().endpoint(6, 1);
  s.root().find(6, 0)->poke8(0x0e, 0x00);
  REQUIRE(s.h.enumerate());
  CHECK(s.h.has(0, 0, 4, 0));
  CHECK(s.h.has(0, 0, 4, 1));
  CHECK(s.h.has(0, 0, 4, 5));
  CHECK(s.h.function(0, 0, 4, 0).multi_function);
  CHECK(s.h.has(0, 0, 6, 0));
  CHECK_FALSE(s.h.has(0, 0, 6, 1));
  CHECK(s.ecam.reads_of({0, 6, 1}) == 0);
  for (uint8_t fn : {2, 3, 4, 6, 7}) CHECK(s.ecam.reads_of({0, 4, fn}) == 1);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: an absent device number costs exactly one read") {
  SingleHost s;
  s.root().endpoint(3);
  s.root().root_port(5);
  s.root().find(5, 0)->secondary()->pcie_endpoint(0);
  REQUIRE(s.h.enumerate());
  for (uint8_t device = 0; device < 32; ++device) {
    if (device == 3 || device == 5) continue;
    CAPTURE(device);
    CHECK(s.ecam.reads_of({0, device, 0}) == 1);
    for (uint8_t function = 1; function < 8; ++function) CHECK(s.ecam.reads_of({0, device, function}) == 0);
  }
  // Below a root port only device 0 exists (a PCIe link): the others are not probed.
  for (uint8_t device = 1; device < 32; ++device) CHECK(s.ecam.reads_of({1, device, 0}) == 0);
  // Every access goes through the counter the summary reports.
  CHECK(s.segment().config_reads == s.ecam.reads());
  CHECK(s.segment().config_writes == s.ecam.writes());
}

TEST_CASE("pci enumerate: a four-level switch tree is numbered depth-first") {
  SingleHost s;
  SimFunction& port = s.root().root_port(1);
  SimFunction& top = add_switch(*port.secondary(), 0, {0, 1});
  SimFunction& level2 = add_switch(*top.secondary()->find(0, 0)->secondary(), 0, {0});
  SimFunction& level3 = add_switch(*level2.secondary()->find(0, 0)->secondary(), 0, {2});
  level3.secondary()->find(2, 0)->secondary()->pcie_endpoint(0, 0, 0x1b36, 0x0010, 0x010802).bar(0, BarType::mem64, 0x4000);
  top.secondary()->find(1, 0)->secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x20000).bar(2, BarType::io32, 0x20);
  s.root().root_port(2);  // empty port after the tree
  REQUIRE(s.h.enumerate());
  CHECK(s.h.errors.empty());

  struct Expected {
    uint8_t bus, device;
    FunctionKind kind;
    uint8_t primary, secondary, subordinate;
  };
  const Expected bridges[] = {
      {0, 1, FunctionKind::root_port, 0, 1, 8},       {1, 0, FunctionKind::upstream_port, 1, 2, 8},
      {2, 0, FunctionKind::downstream_port, 2, 3, 7}, {3, 0, FunctionKind::upstream_port, 3, 4, 7},
      {4, 0, FunctionKind::downstream_port, 4, 5, 7}, {5, 0, FunctionKind::upstream_port, 5, 6, 7},
      {6, 2, FunctionKind::downstream_port, 6, 7, 7}, {2, 1, FunctionKind::downstream_port, 2, 8, 8},
      {0, 2, FunctionKind::root_port, 0, 9, 9},
  };
  for (const Expected& e : bridges) {
    CAPTURE(int(e.bus));
    CAPTURE(int(e.device));
    const pci::Function& f = s.h.function(0, e.bus, e.device, 0);
    CHECK(f.kind == e.kind);
    CHECK(f.bridge.buses_assigned);
    CHECK(f.bridge.primary == e.primary);
    CHECK(f.bridge.secondary == e.secondary);
    CHECK(f.bridge.subordinate == e.subordinate);
  }
  const pci::Function& deep = s.h.function(0, 7, 0, 0);
  CHECK(deep.class_code == 0x010802);
  CHECK(s.h.has(0, 8, 0, 0));
  CHECK(s.segment().bus_last_used == 9);
  // The parent chain of the deepest endpoint climbs the whole tree.
  int depth = 0;
  for (const pci::Function* b = s.h.topology->parent_of(deep); b != nullptr; b = s.h.topology->parent_of(*b)) ++depth;
  CHECK(depth == 7);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: running out of bus numbers stops that subtree only") {
  SingleHost s(qemu_host("/pcie@10000000", 0, 2));
  for (uint8_t d = 1; d <= 3; ++d) s.root().root_port(d).secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000);
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci-bridge 0000:00:03.0: no bus numbers left (range 00-02); subtree not enumerated");
  CHECK(s.h.has(0, 1, 0, 0));
  CHECK(s.h.has(0, 2, 0, 0));
  const pci::Function& starved = s.h.function(0, 0, 3, 0);
  CHECK_FALSE(starved.bridge.buses_assigned);
  CHECK(starved.bridge.child_count == 0);
  CHECK(s.root().find(3, 0)->secondary_bus() == 0);
  CHECK(s.root().find(3, 0)->subordinate_bus() == 0);
  CHECK(joined(s.problems()) == "");
  const auto report = s.h.report();
  CHECK(joined(report).find("bulkhead: pci-bridge 0000:00:03.0 buses 00/00/00 io none mem none pref none\n") !=
        std::string::npos);
}

TEST_CASE("pci enumerate: bus exhaustion inside a switch") {
  SingleHost s(qemu_host("/pcie@10000000", 0, 3));
  add_switch(*s.root().root_port(1).secondary(), 0, {0, 1, 2});
  CHECK_FALSE(s.h.enumerate());
  CHECK(s.h.errors.size() == 2);
  CHECK(s.h.function(0, 0, 1, 0).bridge.subordinate == 3);
  CHECK(s.h.function(0, 1, 0, 0).bridge.subordinate == 3);
  CHECK(s.h.function(0, 2, 0, 0).bridge.secondary == 3);
  CHECK_FALSE(s.h.function(0, 2, 1, 0).bridge.buses_assigned);
  CHECK_FALSE(s.h.function(0, 2, 2, 0).bridge.buses_assigned);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: a chain of bridges as deep as the bus range") {
  SingleHost s;
  SimBus* bus = &s.root();
  for (int i = 0; i < 256; ++i) bus = bus->pci_bridge(0).secondary();
  CHECK_FALSE(s.h.enumerate());
  REQUIRE(s.h.errors.size() == 1);
  CHECK(s.h.errors[0] == "bulkhead: error: pci-bridge 0000:ff:00.0: no bus numbers left (range 00-ff); subtree not enumerated");
  CHECK(s.h.topology->function_count == 256);
  CHECK(s.h.function(0, 0, 0, 0).bridge.subordinate == 0xff);
  CHECK(s.h.function(0, 0xfe, 0, 0).bridge.secondary == 0xff);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: the function table is full") {
  SimEcam full, extra;
  for (uint8_t d = 0; d < 32; ++d) {
    for (uint8_t fn = 0; fn < 8; ++fn) full.root().endpoint(d, fn);
  }
  extra.root().endpoint(0);
  PciHarness h;
  h.add_host(qemu_host("/pcie@a"), &full);
  h.add_host(qemu_host("/pcie@b", 0, 0xff, 0x5000000000ull), &extra);
  CHECK_FALSE(h.enumerate());
  CHECK(h.topology->function_count == pci::max_functions);
  REQUIRE(h.errors.size() == 1);
  CHECK(h.errors[0] ==
        "bulkhead: error: pci 0001:00:00.0: function table full (256 entries); it and the functions after it are not "
        "enumerated");
  CHECK(h.topology->segment_count == 2);
  CHECK(h.topology->segments[1].function_count == 0);
}

TEST_CASE("pci enumerate: kinds from the PCIe capability or the header") {
  SingleHost s;
  s.root().add(0, 0, 0x1b36, 0x0008, 0x060000);                        // host bridge
  s.root().endpoint(1);                                                // conventional endpoint
  s.root().add(2, 0, 0x8086, 0x1234, 0x020000).pcie(0x9);              // RCiEP
  s.root().add(3, 0, 0x8086, 0x1235, 0x020000).pcie(0x1);              // legacy endpoint
  s.root().add(4, 0, 0x8086, 0x1236, 0x088000).pcie(0xa);              // event collector
  s.root().pcie_pci_bridge(5);
  s.root().pci_bridge(6);
  s.root().add(7, 0, 0x104c, 0xac55, 0x060700, 2);                     // CardBus
  s.root().add(8, 0, 0x1234, 0x5678, 0xff0000, 0x7f);                  // unknown header
  REQUIRE(s.h.enumerate());
  CHECK(s.h.function(0, 0, 0, 0).kind == FunctionKind::host_bridge);
  CHECK(s.h.function(0, 0, 1, 0).kind == FunctionKind::endpoint);
  CHECK(s.h.function(0, 0, 2, 0).kind == FunctionKind::rc_endpoint);
  CHECK(s.h.function(0, 0, 3, 0).kind == FunctionKind::legacy_endpoint);
  CHECK(s.h.function(0, 0, 4, 0).kind == FunctionKind::rc_event_collector);
  CHECK(s.h.function(0, 0, 5, 0).kind == FunctionKind::pcie_pci_bridge);
  CHECK(s.h.function(0, 0, 6, 0).kind == FunctionKind::pci_bridge);
  CHECK(s.h.function(0, 0, 7, 0).kind == FunctionKind::cardbus_bridge);
  CHECK(s.h.function(0, 0, 8, 0).kind == FunctionKind::unknown);
  CHECK(std::string(pci::kind_name(FunctionKind::rc_endpoint)) == "rc-endpoint");
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: final command registers") {
  SingleHost s;
  // Earlier software left decoding and bus mastering on everywhere.
  SimFunction& endpoint = s.root().endpoint(2).bar(0, BarType::mem32, 0x1000).bar(1, BarType::io32, 0x100);
  SimFunction& port = s.root().root_port(3);
  SimFunction& behind = port.secondary()->pcie_endpoint(0).bar(0, BarType::io32, 0x100).bar(1, BarType::mem32, 0x1000);
  SimFunction& empty_port = s.root().root_port(4);
  SimFunction& memory_only_port = s.root().root_port(5);
  memory_only_port.secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000).msi(2, true, true);
  for (SimFunction* f : {&endpoint, &port, &behind, &empty_port, &memory_only_port}) f->poke16(0x04, 0x0147);
  SimFunction* msi_function = memory_only_port.secondary()->find(0, 0);
  const uint16_t msi_control = msi_function->last_capability() + 2;
  msi_function->poke16(msi_control, msi_function->peek16(msi_control) | 1);  // MSI enabled
  REQUIRE(s.h.enumerate());
  // Functions: no decoding, no bus mastering, INTx disabled; other bits (SERR) kept.
  CHECK(endpoint.command() == 0x0540);
  CHECK(behind.command() == 0x0540);
  CHECK(msi_function->command() == 0x0400);
  CHECK((msi_function->peek16(msi_control) & 1) == 0);
  // Bridges forward: bus master, and decoding of the spaces with open windows.
  CHECK(port.command() == 0x0547);
  CHECK(empty_port.command() == 0x0544);
  CHECK(memory_only_port.command() == 0x0546);
  CHECK(s.h.function(0, 0, 3, 0).command == 0x0547);
  CHECK(s.h.function(0, 0, 2, 0).command == 0x0540);
  CHECK(joined(s.problems()) == "");
}

namespace {

void build_rich(SimEcam& ecam) {
  SimBus& root = ecam.root();
  root.add(0, 0, 0x1b36, 0x0008, 0x060000);
  root.endpoint(1, 0, 0x1af4, 0x1000).bar(0, BarType::io32, 0x20).bar(1, BarType::mem32, 0x1000)
      .bar(4, BarType::mem64, 0x4000, true).rom(0x40000).pin(1);
  SimFunction& rp1 = root.root_port(2).pin(1);
  rp1.secondary()->pcie_endpoint(0, 0, 0x1b36, 0x0010, 0x010802).bar(0, BarType::mem64, 0x4000).msix(65, 0, 0x2000, 0, 0x3000).pin(1);
  SimFunction& rp2 = root.root_port(3).pin(1);
  SimFunction& up = add_switch(*rp2.secondary(), 0, {0, 1});
  up.secondary()->find(0, 0)->secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x20000).bar(2, BarType::io32, 0x20)
      .bar(3, BarType::mem32, 0x4000).rom(0x40000).pin(1);
  up.secondary()->find(1, 0)->secondary()->pcie_endpoint(0, 0, 0x1234, 0x11e8, 0x00ff00).bar(0, BarType::mem32, 0x100000);
  SimFunction& bridge = root.pcie_pci_bridge(4);
  bridge.bar(0, BarType::mem64, 0x100);
  bridge.secondary()->endpoint(1, 0, 0x8086, 0x100e).bar(0, BarType::mem32, 0x20000).bar(1, BarType::io32, 0x40).pin(1);
  root.endpoint(5, 0, 0x1af4, 0x1001).bar(0, BarType::mem32, 0x1000);
  root.endpoint(5, 1, 0x1af4, 0x1001).bar(0, BarType::mem32, 0x1000);
}

std::vector<std::string> without_summary(std::vector<std::string> lines) {
  std::erase_if(lines, [](const std::string& l) { return l.rfind("bulkhead: pci-summary", 0) == 0; });
  return lines;
}

}  // namespace

TEST_CASE("pci enumerate: deterministic, also over an already-programmed bus") {
  SimEcam first_sim, second_sim;
  build_rich(first_sim);
  build_rich(second_sim);
  PciHarness first, second;
  first.add_host(qemu_host(), &first_sim);
  second.add_host(qemu_host(), &second_sim);
  REQUIRE(first.enumerate());
  REQUIRE(second.enumerate());
  const auto report = first.report();
  CHECK(report == second.report());
  CHECK(first.topology->segments[0].config_reads == second.topology->segments[0].config_reads);

  // Again over the bus as the first run left it: same result, no routing conflicts.
  first_sim.reset_counters();
  REQUIRE(first.enumerate());
  CHECK(without_summary(first.report()) == without_summary(report));
  CHECK(joined(resource_problems(*first.topology, first.topology->segments[0], first_sim)) == "");
}

TEST_CASE("pci enumerate: stale bus numbers from earlier software do not confuse the scan") {
  SingleHost s;
  SimFunction& a = s.root().root_port(1);
  add_switch(*a.secondary(), 0, {0, 1});
  a.secondary()->find(0, 0)->secondary()->find(0, 0)->secondary()->pcie_endpoint(0);
  SimFunction& b = s.root().root_port(2);
  b.secondary()->pcie_endpoint(0, 0, 0x1234, 0x0002);
  // B claims buses 1-5, overlapping what A's subtree is about to use.
  b.poke8(0x19, 1);
  b.poke8(0x1a, 5);
  REQUIRE(s.h.enumerate());
  CHECK(s.ecam.routing_conflicts() == 0);
  CHECK(s.h.function(0, 0, 2, 0).bridge.secondary == 5);
  CHECK(s.h.function(0, 5, 0, 0).device_id == 0x0002);
  CHECK(joined(s.problems()) == "");
}

TEST_CASE("pci enumerate: queries by SBDF and by IDs") {
  SingleHost s;
  build_rich(s.ecam);
  REQUIRE(s.h.enumerate());
  const pci::PciTopology& t = *s.h.topology;
  const pci::Function* first = t.find_by_id(0x1af4, 0x1001, 0);
  const pci::Function* second = t.find_by_id(0x1af4, 0x1001, 1);
  REQUIRE(first != nullptr);
  REQUIRE(second != nullptr);
  CHECK(first->address == pci::Sbdf{0, {0, 5, 0}});
  CHECK(second->address == pci::Sbdf{0, {0, 5, 1}});
  CHECK(t.find_by_id(0x1af4, 0x1001, 2) == nullptr);
  CHECK(t.find({0, {0, 5, 1}}) == second);
  CHECK(t.find({1, {0, 5, 1}}) == nullptr);
  CHECK(t.find_segment(0) == &t.segments[0]);
  // Table order: by bus, functions of one bus together.
  for (size_t i = 1; i < t.function_count; ++i) CHECK(t.functions[i - 1].address.bdf.bus <= t.functions[i].address.bdf.bus);
  CHECK(joined(s.problems()) == "");
}
