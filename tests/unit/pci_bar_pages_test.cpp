// The host allocator's page rule: no two functions' memory BARs (ROMs included) share a
// 4 KiB page, so stage 2 can map any function's BARs into a partition alone.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/sim/pci_harness.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

namespace {

constexpr uint64_t page = 0x1000;

struct MemoryResource {
  std::string what;
  uint64_t first_page;
  uint64_t last_page;
};

// Every placed memory BAR and ROM of the segment, as the pages it touches.
std::vector<MemoryResource> memory_pages(const pci::PciTopology& t) {
  std::vector<MemoryResource> found;
  for (size_t i = 0; i < t.function_count; ++i) {
    const pci::Function& f = t.functions[i];
    const std::string name = pci::sbdf_text(f.address).text;
    auto add = [&](const pci::Bar& bar, const std::string& what) {
      if (!bar.assigned || bar.kind == pci::BarKind::io || bar.kind == pci::BarKind::none) return;
      found.push_back({name + " " + what, bar.bus_address / page, (bar.bus_address + bar.size - 1) / page});
    };
    for (uint8_t b = 0; b < f.bar_count; ++b) add(f.bars[b], "bar " + std::to_string(b));
    if (f.has_rom) add(f.rom, "rom");
  }
  return found;
}

std::vector<std::string> shared_pages(const pci::PciTopology& t) {
  std::vector<std::string> problems;
  const std::vector<MemoryResource> resources = memory_pages(t);
  for (size_t a = 0; a < resources.size(); ++a) {
    for (size_t b = a + 1; b < resources.size(); ++b) {
      if (resources[a].first_page <= resources[b].last_page && resources[b].first_page <= resources[a].last_page) {
        problems.push_back(resources[a].what + " shares a page with " + resources[b].what);
      }
    }
  }
  return problems;
}

}  // namespace

TEST_CASE("pci bar pages: sub-page BARs and ROMs each get pages of their own, table-driven") {
  struct Case {
    const char* name;
    void (*build)(SimEcam&);
  };
  const Case cases[] = {
      {"small BARs of several functions on the root bus",
       [](SimEcam& s) {
         s.root().endpoint(1).bar(0, BarType::mem32, 0x10).bar(1, BarType::mem32, 0x100).bar(2, BarType::io32, 0x20);
         s.root().endpoint(2).bar(0, BarType::mem32, 0x80).bar(1, BarType::mem64, 0x800, true);
         s.root().endpoint(3, 0).bar(0, BarType::mem32, 0x10).rom(0x800);
         s.root().endpoint(3, 1).bar(0, BarType::mem32, 0x10).rom(0x800);
       }},
      {"small BARs behind a root port and a switch",
       [](SimEcam& s) {
         SimFunction& port = s.root().root_port(1);
         port.secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x100).bar(2, BarType::mem64, 0x100, true);
         SimFunction& up = s.root().root_port(2).secondary()->upstream_port(0);
         for (uint8_t d = 0; d < 3; ++d) {
           SimFunction& down = up.secondary()->downstream_port(d);
           down.secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x40).bar(1, BarType::mem32, 0x40).rom(0x800);
         }
       }},
      {"a bridge's own small BAR next to its children",
       [](SimEcam& s) {
         SimFunction& bridge = s.root().pcie_pci_bridge(4);
         bridge.bar(0, BarType::mem64, 0x100);
         bridge.secondary()->endpoint(1).bar(0, BarType::mem32, 0x20);
         bridge.secondary()->endpoint(2).bar(0, BarType::mem32, 0x20);
         s.root().endpoint(5).bar(0, BarType::mem32, 0x100);
       }},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    SimEcam ecam;
    c.build(ecam);
    PciHarness harness;
    harness.add_host(qemu_host(), &ecam);
    REQUIRE(harness.enumerate());
    const pci::PciTopology& t = *harness.topology;
    CHECK(sim::joined(shared_pages(t)) == "");
    for (const MemoryResource& r : memory_pages(t)) CHECK(r.first_page <= r.last_page);
    for (size_t i = 0; i < t.function_count; ++i) {
      for (const pci::Bar& bar : t.functions[i].bars) {
        if (bar.assigned && bar.kind != pci::BarKind::io && bar.kind != pci::BarKind::none) {
          CHECK(bar.bus_address % page == 0);
          CHECK(bar.cpu_address % page == 0);
        }
      }
    }
    CHECK(joined(resource_problems(t, t.segments[0], ecam)) == "");
  }
}

TEST_CASE("pci bar pages: without the rule these BARs would share pages") {
  // The sizes the report shows stay the devices' own; only the placement is paged.
  SimEcam ecam;
  ecam.root().endpoint(1).bar(0, BarType::mem32, 0x10);
  ecam.root().endpoint(2).bar(0, BarType::mem32, 0x10);
  PciHarness harness;
  harness.add_host(qemu_host(), &ecam);
  REQUIRE(harness.enumerate());
  const pci::Bar& a = harness.function(0, 0, 1, 0).bars[0];
  const pci::Bar& b = harness.function(0, 0, 2, 0).bars[0];
  CHECK(a.size == 0x10);
  CHECK(b.size == 0x10);
  const uint64_t distance = a.bus_address > b.bus_address ? a.bus_address - b.bus_address : b.bus_address - a.bus_address;
  CHECK(distance >= page);
}
