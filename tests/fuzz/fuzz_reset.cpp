// libFuzzer target for a function reset (pci/reset.hpp): the input is the device's
// behaviour. Byte 0 picks the function (FLR + PM + bus below a root port, AF FLR + PM +
// bus below a PCIe-to-PCI bridge, PM alone on the root bus, bus alone below a fast root
// port), byte 1 which of its methods apply; the rest feeds tests/sim/reset_chaos.hpp: a
// lasting fault, then every configuration read's answer and the caller's timing. Every
// property listed there must hold (bounded end, only a reset's registers written, never
// decode, bus master or an MSI enable turned on, the spec's waits, restored from the
// record when done, a precise error when failed).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tests/sim/reset_chaos.hpp"
#include "tests/sim/reset_chaos_topology.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bulkhead;
  static const sim::ChaosTopology topology;
  const fuzz::Copy input = fuzz::exact_copy(data, size);
  sim::ByteStream stream{input.bytes.get(), input.size};
  const uint8_t which = stream.next();
  const uint8_t mask = stream.next();
  const pci::Function function = topology.pick(which, mask);
  pci::FunctionReset reset;
  pci::ResetStatus status = pci::ResetStatus::wait;
  const std::vector<std::string> violations = sim::chaos_reset(*topology.harness.topology, function, stream, reset, status);
  if (!violations.empty()) fuzz::invariant_failed(violations.front().c_str());
  if (status == pci::ResetStatus::wait) fuzz::invariant_failed("the reset neither finished nor failed");
  return 0;
}
