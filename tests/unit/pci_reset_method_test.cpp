// Which reset each function gets (pci/reset_method.hpp), as enumeration records it: FLR,
// Advanced Features FLR, PM D3hot -> D0, secondary bus reset, none; the boot's decision
// against the description's reset = "none".
#include <doctest/doctest.h>

#include <cstring>

#include "pci/reset_method.hpp"
#include "tests/unit/pci_reset_support.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using pci::ResetMethod;

namespace {

const char* method_of(const ResetFixture& f, uint8_t bus, uint8_t device, uint8_t function = 0) {
  return pci::reset_method_name(f.function(bus, device, function).reset.method);
}

}  // namespace

TEST_CASE("pci reset method: every method has its boot-report name") {
  CHECK(std::strcmp(pci::reset_method_name(ResetMethod::flr), "flr") == 0);
  CHECK(std::strcmp(pci::reset_method_name(ResetMethod::af_flr), "af-flr") == 0);
  CHECK(std::strcmp(pci::reset_method_name(ResetMethod::pm), "pm") == 0);
  CHECK(std::strcmp(pci::reset_method_name(ResetMethod::bus), "bus") == 0);
  CHECK(std::strcmp(pci::reset_method_name(ResetMethod::none), "none") == 0);
}

TEST_CASE("pci reset method: the Device Capabilities FLR bit wins over PM and a bus reset") {
  ResetFixture f;
  SimFunction& port = f.root().root_port(1);
  port.secondary()->pcie_endpoint(0).flr().pm();  // alone below the port, PM without No_Soft_Reset
  f.root().pcie_endpoint(2).flr();                // on the root bus
  f.root().pcie_endpoint(3);                      // PCI Express, no FLR
  f.enumerate();
  CHECK(std::strcmp(method_of(f, 1, 0), "flr") == 0);
  CHECK(std::strcmp(method_of(f, 0, 2), "flr") == 0);
  CHECK(std::strcmp(method_of(f, 0, 3), "none") == 0);
}

TEST_CASE("pci reset method: Advanced Features FLR needs both its FLR and Transactions Pending bits") {
  ResetFixture f;
  f.root().endpoint(1).advanced_features(true, true);
  f.root().endpoint(2).advanced_features(true, false);
  f.root().endpoint(3).advanced_features(false, true);
  f.root().endpoint(4).advanced_features(true, false).pm();  // falls through to PM
  f.enumerate();
  CHECK(f.function(0, 1).caps.advanced_features != 0);
  CHECK(std::strcmp(method_of(f, 0, 1), "af-flr") == 0);
  CHECK(std::strcmp(method_of(f, 0, 2), "none") == 0);
  CHECK(std::strcmp(method_of(f, 0, 3), "none") == 0);
  CHECK(std::strcmp(method_of(f, 0, 4), "pm") == 0);
}

TEST_CASE("pci reset method: PM D3hot -> D0 only with No_Soft_Reset clear") {
  ResetFixture f;
  f.root().endpoint(1).pm(false);
  f.root().endpoint(2).pm(true);
  SimFunction& port = f.root().root_port(3);
  port.secondary()->pcie_endpoint(0).pm(true);  // No_Soft_Reset set, but alone below a port
  f.enumerate();
  CHECK(std::strcmp(method_of(f, 0, 1), "pm") == 0);
  CHECK(std::strcmp(method_of(f, 0, 2), "none") == 0);
  CHECK(std::strcmp(method_of(f, 1, 0), "bus") == 0);
}

TEST_CASE("pci reset method: a bus reset only for a function alone on its bridge's secondary bus") {
  ResetFixture f;
  // 00:01.0 root port -> 01:00.0 alone.
  f.root().root_port(1).secondary()->pcie_endpoint(0);
  // 00:02.0 root port -> 02:00.0 and 02:00.1 (one device, two functions).
  SimBus& two = *f.root().root_port(2).secondary();
  two.pcie_endpoint(0, 0);
  two.pcie_endpoint(0, 1);
  // 00:03.0 conventional PCI bridge -> 03:01.0 and 03:02.0.
  SimBus& conventional = *f.root().pci_bridge(3).secondary();
  conventional.endpoint(1);
  conventional.endpoint(2);
  // 00:04.0 PCIe-to-PCI bridge -> 04:05.0 alone on a conventional bus.
  f.root().pcie_pci_bridge(4).secondary()->endpoint(5);
  // A root-bus device: no bridge of ours above it.
  f.root().pcie_endpoint(5);
  f.enumerate();
  CHECK(std::strcmp(method_of(f, 1, 0), "bus") == 0);
  CHECK(std::strcmp(method_of(f, 2, 0, 0), "none") == 0);
  CHECK(std::strcmp(method_of(f, 2, 0, 1), "none") == 0);
  CHECK(std::strcmp(method_of(f, 3, 1), "none") == 0);
  CHECK(std::strcmp(method_of(f, 3, 2), "none") == 0);
  CHECK(std::strcmp(method_of(f, 4, 5), "bus") == 0);
  CHECK(std::strcmp(method_of(f, 0, 5), "none") == 0);
}

TEST_CASE("pci reset method: bridges and host bridges are never reset") {
  ResetFixture f;
  f.root().add(0, 0, 0x1b36, 0x0008, 0x060000).pcie(0x0).flr();  // a host bridge function, even with FLR
  SimFunction& port = f.root().root_port(1);
  port.secondary()->upstream_port(0).secondary()->downstream_port(0);
  f.enumerate();
  CHECK(std::strcmp(method_of(f, 0, 0), "none") == 0);
  CHECK(std::strcmp(method_of(f, 0, 1), "none") == 0);
  CHECK(std::strcmp(method_of(f, 1, 0), "none") == 0);  // alone below the root port, but a bridge
  CHECK(std::strcmp(method_of(f, 2, 0), "none") == 0);
}

TEST_CASE("pci reset method: choosing reads only, and costs one read per capability asked") {
  ResetFixture f;
  f.root().pcie_endpoint(1).pm();  // Device Capabilities, then PMCSR
  f.enumerate();
  const pci::Function& function = f.function(0, 1);
  f.ecam.reset_counters();
  CHECK(pci::choose_reset(f.ecam, *f.harness.topology, function).method == ResetMethod::pm);
  CHECK(f.ecam.reads() == 2);
  CHECK(f.ecam.writes() == 0);
}

TEST_CASE("pci reset method: the boot's decision against the description's reset = \"none\"") {
  using pci::ResetDecision;
  CHECK(pci::decide_reset(ResetMethod::flr, false) == ResetDecision::reset);
  CHECK(pci::decide_reset(ResetMethod::bus, false) == ResetDecision::reset);
  CHECK(pci::decide_reset(ResetMethod::none, false) == ResetDecision::refuse);
  CHECK(pci::decide_reset(ResetMethod::none, true) == ResetDecision::skip);
  CHECK(pci::decide_reset(ResetMethod::pm, true) == ResetDecision::skip);
  ResetFixture f;
  f.root().pcie_endpoint(1).flr();
  f.root().pcie_endpoint(2);
  f.enumerate();
  CHECK_FALSE(pci::needs_reset_none(f.function(0, 1)));
  CHECK(pci::needs_reset_none(f.function(0, 2)));
}

TEST_CASE("pci reset method: the boot report line of every function a partition could own, with reason and fallbacks") {
  ResetFixture f;
  f.root().add(0, 0, 0x1b36, 0x0008, 0x060000);                  // host bridge: no line
  f.root().root_port(1).secondary()->pcie_endpoint(0).flr().pm();  // 01:00.0
  f.root().pcie_endpoint(2).pm();
  f.root().endpoint(3).advanced_features(true, true);
  f.root().root_port(4).secondary()->pcie_endpoint(0);  // 02:00.0
  SimBus& shared = *f.root().root_port(5).secondary();  // 03:00.0 and 03:00.1
  shared.pcie_endpoint(0, 0);
  shared.pcie_endpoint(0, 1);
  f.root().pcie_endpoint(6);
  f.enumerate();
  CapturedLog log;
  pci::report_reset_choices(*f.harness.topology);
  CHECK(log.text() ==
        "bulkhead: pci-reset 0000:00:02.0 pm reason no-soft-reset-clear\n"
        "bulkhead: pci-reset 0000:00:03.0 af-flr reason advanced-features\n"
        "bulkhead: pci-reset 0000:00:06.0 none reason root-bus\n"
        "bulkhead: pci-reset 0000:01:00.0 flr reason device-capabilities fallback pm,bus\n"
        "bulkhead: pci-reset 0000:02:00.0 bus reason alone-below-bridge\n"
        "bulkhead: pci-reset 0000:03:00.0 none reason shared-bus\n"
        "bulkhead: pci-reset 0000:03:00.1 none reason shared-bus\n");
  const pci::ResetChoice& choice = f.function(1, 0).reset;
  CHECK(choice.after(ResetMethod::flr) == ResetMethod::pm);
  CHECK(choice.after(ResetMethod::pm) == ResetMethod::bus);
  CHECK(choice.after(ResetMethod::bus) == ResetMethod::none);
  CHECK_FALSE(choice.has(ResetMethod::af_flr));
  CHECK_FALSE(choice.has(ResetMethod::none));
}
