// Which reset each function gets (Function::reset), chosen once at enumeration from its
// configuration space and its place in the topology. Every method that applies is
// recorded, in the order they are tried:
// - flr: the PCI Express Device Capabilities advertise Function Level Reset;
// - af-flr: an Advanced Features capability advertises both FLR and Transactions Pending
//   (without the latter nothing says the function is idle before its FLR; Linux asks the
//   same);
// - pm: a Power Management capability whose No_Soft_Reset bit is clear, so D3hot -> D0
//   resets the function;
// - bus: the function is the only one on the secondary bus of a bridge (a root port of
//   QEMU's virt machine, say), so a secondary bus reset touches nothing else. The root
//   bus has no bridge of ours above it.
// The first is the function's method; the others are fallbacks for a reset seen not to
// take (pci/reset.hpp). With none, the partition description must say reset = "none".
// Bridges, host bridges and functions with an unknown header get none: they are never
// handed to a partition.
#pragma once

#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// Reads Device Capabilities, the Advanced Features capabilities and PMCSR, each only
// when the function has that capability; writes nothing.
ResetChoice choose_reset(ConfigAccessor& config, const PciTopology& topology, const Function& function);

// Sets Function::reset of every function of `segment` (enumeration calls it once the
// segment's buses are numbered).
void choose_reset_methods(PciTopology& topology, const Segment& segment, ConfigAccessor& config);

// The boot report's reset line of every function a partition could own (all but
// reason not-assignable), in table order (grammar in pci/README.md):
//   pci-reset SSSS:BB:DD.F METHOD reason REASON[ fallback METHOD[,METHOD...]]
void report_reset_choices(const PciTopology& topology);

// What the boot does with a function a partition description gives a partition, given
// whether the description says reset = "none" for it.
enum class ResetDecision : uint8_t {
  reset,   // reset it (FunctionReset) before hand-over and on every restart
  skip,    // the description says reset = "none": handed over without a reset, even if a
           // method exists (the integrator's opt-out for a device whose reset misbehaves)
  refuse,  // no method, and the description does not say "none": refuse the partition
};
constexpr ResetDecision decide_reset(ResetMethod method, bool description_says_none) {
  if (description_says_none) return ResetDecision::skip;
  return method == ResetMethod::none ? ResetDecision::refuse : ResetDecision::reset;
}

// True when the function has no reset method, so its description must say reset = "none".
constexpr bool needs_reset_none(const Function& function) { return function.reset.method == ResetMethod::none; }

}  // namespace bulkhead::pci
