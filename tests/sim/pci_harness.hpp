// Runs pci/ enumeration against simulated host bridges and captures what it logs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pci/enumerate.hpp"
#include "pci/pci_report.hpp"
#include "tests/sim/sim_ecam.hpp"
#include "tests/sim/sim_platform.hpp"

namespace bulkhead::sim {

struct PciHarness {
  std::vector<PcieHostInfo> hosts;
  std::vector<pci::ConfigAccessor*> accessors;
  std::unique_ptr<pci::PciTopology> topology = std::make_unique<pci::PciTopology>();
  std::vector<std::string> errors;  // error lines logged by the last enumerate()
  bool ok = false;

  void add_host(const PcieHostInfo& host, pci::ConfigAccessor* accessor) {
    hosts.push_back(host);
    accessors.push_back(accessor);
  }

  bool enumerate() {
    CapturedLog captured;
    ok = pci::enumerate_hosts(hosts.data(), hosts.size(), accessors.data(), *topology);
    errors = captured.errors();
    return ok;
  }

  std::vector<std::string> report() const {
    CapturedLog captured;
    pci::report_topology(*topology);
    return captured.lines();
  }

  const pci::Function& function(uint16_t segment, uint8_t bus, uint8_t device, uint8_t function) const {
    const pci::Function* f = topology->find({segment, {bus, device, function}});
    if (f == nullptr) throw std::runtime_error("function not enumerated");
    return *f;
  }
  bool has(uint16_t segment, uint8_t bus, uint8_t device, uint8_t function) const {
    return topology->find({segment, {bus, device, function}}) != nullptr;
  }
};

// Checks what enumeration recorded against the simulated registers: every function is
// reachable at its recorded address with its IDs, every assigned BAR holds its address,
// is naturally aligned, sits inside the matching window of every bridge above it, and
// overlaps no other BAR; every bridge window matches its registers. Returns problems.
inline std::vector<std::string> resource_problems(const pci::PciTopology& t, const pci::Segment& segment,
                                                  SimEcam& ecam) {
  std::vector<std::string> problems;
  struct Range {
    bool io;
    uint64_t first, last;
    std::string what;
  };
  std::vector<Range> ranges;
  auto name = [](const pci::Function& f) { return std::string(pci::sbdf_text(f.address).text); };
  for (size_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    const pci::Function& f = t.functions[i];
    SimFunction* sim = ecam.reachable(f.address.bdf);
    if (sim == nullptr || sim->peek16(0) != f.vendor_id || sim->peek16(2) != f.device_id) {
      problems.push_back(name(f) + ": not reachable with its IDs");
      continue;
    }
    auto check_bar = [&](const pci::Bar& bar, const std::string& what, uint64_t programmed) {
      if (!bar.assigned) return;
      const bool io = bar.kind == pci::BarKind::io;
      if (programmed != bar.bus_address) problems.push_back(what + ": register does not hold the address");
      if (bar.bus_address % bar.size != 0) problems.push_back(what + ": not naturally aligned");
      const uint64_t last = bar.bus_address + bar.size - 1;
      if (bar.kind != pci::BarKind::mem64 && last > 0xffffffffull) problems.push_back(what + ": 32-bit BAR above 4G");
      for (const pci::Function* b = t.parent_of(f); b != nullptr; b = t.parent_of(*b)) {
        SimFunction* bridge = ecam.reachable(b->address.bdf);
        const auto inside = [&](SimFunction::Window w) { return w.open && bar.bus_address >= w.base && last <= w.limit; };
        const bool ok = io ? inside(bridge->io_window())
                           : inside(bridge->memory_window()) || inside(bridge->prefetchable_window());
        if (!ok) problems.push_back(what + ": outside the windows of bridge " + name(*b));
      }
      ranges.push_back({io, bar.bus_address, last, what});
    };
    for (uint8_t slot = 0; slot < f.bar_count; ++slot) {
      check_bar(f.bars[slot], name(f) + " bar " + std::to_string(slot), sim->bar_address(slot));
    }
    if (f.rom.assigned) {
      const uint32_t rom = sim->peek32(f.rom_register());
      check_bar(f.rom, name(f) + " rom", rom & 0xfffff800u);
      if ((rom & 1) != 0) problems.push_back(name(f) + " rom: enabled");
    }
    if (f.is_bridge()) {
      const SimFunction::Window windows[] = {sim->io_window(), sim->memory_window(), sim->prefetchable_window()};
      for (size_t w = 0; w < pci::window_types; ++w) {
        const pci::BridgeWindow& recorded = f.bridge.windows[w];
        if (recorded.open != windows[w].open ||
            (recorded.open && (recorded.base != windows[w].base || recorded.limit != windows[w].limit))) {
          problems.push_back(name(f) + ": window " + std::to_string(w) + " differs from its registers");
        }
      }
      if (sim->primary_bus() != f.bridge.primary || sim->secondary_bus() != f.bridge.secondary ||
          sim->subordinate_bus() != f.bridge.subordinate) {
        problems.push_back(name(f) + ": bus numbers differ from the registers");
      }
    }
  }
  for (size_t a = 0; a < ranges.size(); ++a) {
    for (size_t b = a + 1; b < ranges.size(); ++b) {
      if (ranges[a].io == ranges[b].io && ranges[a].first <= ranges[b].last && ranges[b].first <= ranges[a].last) {
        problems.push_back(ranges[a].what + " overlaps " + ranges[b].what);
      }
    }
  }
  if (ecam.misaligned_accesses() != 0) problems.push_back("misaligned config accesses");
  if (ecam.routing_conflicts() != 0) problems.push_back("two bridges claimed one bus");
  if (ecam.sized_while_decoding() != 0) problems.push_back("a BAR was sized while decoding");
  return problems;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

}  // namespace bulkhead::sim
