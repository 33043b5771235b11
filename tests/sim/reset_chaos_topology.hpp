// The functions the reset property test and fuzz target reset (reset_chaos.hpp): one per
// shape of reset, enumerated once on the simulated ECAM.
#pragma once

#include <memory>
#include <stdexcept>

#include "tests/sim/pci_harness.hpp"

namespace bulkhead::sim {

struct ChaosTopology {
  SimEcam ecam;
  PciHarness harness;
  const pci::Function* functions[4] = {};

  ChaosTopology() {
    // 01:00.0 below a root port: FLR, PM, MSI, MSI-X, 32-bit and 64-bit BARs, a ROM.
    ecam.root()
        .root_port(1)
        .secondary()
        ->pcie_endpoint(0, 0, 0x8086, 0x10d3)
        .flr()
        .pm()
        .msi(0, true, false)
        .msix(4, 0, 0x1000, 0, 0x1800)
        .bar(0, BarType::mem32, 0x20000)
        .bar(2, BarType::mem64, 0x4000, true)
        .rom(0x800);
    // 02:03.0 below a PCIe-to-PCI bridge: Advanced Features FLR, PM, an I/O BAR.
    ecam.root().pcie_pci_bridge(2).secondary()->endpoint(3, 0, 0x1234, 0x0003).advanced_features(true, true).pm().bar(
        0, BarType::io32, 0x100);
    // 00:03.0 on the root bus: PM and MSI only.
    ecam.root().pcie_endpoint(3, 0, 0x1af4, 0x1041).pm().msi(0, true, false).bar(1, BarType::mem32, 0x1000);
    // 03:00.0 below an 8 GT/s root port that reports Link Active: a bus reset only.
    SimFunction& fast = ecam.root().root_port(4);
    fast.link(3, true, 20'000);
    fast.secondary()->endpoint(0, 0, 0x1b36, 0x0005).bar(0, BarType::mem32, 0x1000);
    harness.add_host(qemu_host(), &ecam);
    if (!harness.enumerate()) throw std::runtime_error("chaos topology: enumeration failed");
    functions[0] = &harness.function(0, 1, 0, 0);
    functions[1] = &harness.function(0, 2, 3, 0);
    functions[2] = &harness.function(0, 0, 3, 0);
    functions[3] = &harness.function(0, 3, 0, 0);
  }

  // Function `which` (any byte) with the methods of `mask` (any byte) among those that
  // apply to it; all of them when the mask leaves none.
  pci::Function pick(uint8_t which, uint8_t mask) const {
    pci::Function f = *functions[which % 4];
    const uint8_t methods = static_cast<uint8_t>(f.reset.methods & mask);
    if (methods != 0) f.reset.methods = methods;
    f.reset.method = f.reset.after(pci::ResetMethod::none);
    return f;
  }
};

}  // namespace bulkhead::sim
