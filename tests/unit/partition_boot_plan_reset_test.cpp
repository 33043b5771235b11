// The boot plan's function resets: how each function's reset is reported, and when a
// function without a method is refused.
#include <doctest/doctest.h>

#include <string>

#include "core/lib/log.hpp"
#include "partitions/boot_plan.hpp"
#include "tests/unit/partition_boot_plan_support.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;
using namespace bulkhead::partitions::boot_plan_test;

TEST_CASE("boot plan: each function's reset is reported, and one without a method needs reset = \"none\"") {
  Machine machine;
  machine.topology.functions[4].reset = {pci::ResetMethod::none, pci::ResetReason::root_bus, 0};  // the NVMe
  machine.topology.functions[2].reset = {pci::ResetMethod::bus, pci::ResetReason::alone_below_bridge,
                                         pci::ResetChoice::bit(pci::ResetMethod::bus)};  // e1000e below the port
  SystemDescription description;
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_sbdf(a, {1, 0, 0}, 1);
  select_sbdf(a, {0, 3, 0}, 2);  // no method, not described: refused
  Partition& b = description.partitions[1] = make_partition("b", {2}, 0x46000000);
  select_sbdf(b, {0, 3, 0}, 1);
  b.pci_devices[0].reset_none = true;  // no method, described: handed over without a reset
  description.partition_count = 2;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: pci-device@1: 0000:00:03.0 has no reset method (no FLR, no PM "
                      "soft reset, and on the root bus: no bridge to reset it) and the description does not say "
                      "reset = \"none\" for it"));
  CHECK(run.lines.has("bulkhead: partition a start no reason pci-device@1: 0000:00:03.0 has no reset method (no FLR, "
                      "no PM soft reset, and on the root bus: no bridge to reset it) and the description does not say "
                      "reset = \"none\" for it"));
  CHECK(run.lines.text.find("bulkhead: partition a pci-reset ") == std::string::npos);  // not started: no reset lines
  CHECK(run.lines.has("bulkhead: partition b pci-reset 0000:00:03.0 none"));
  CHECK(run.lines.has("bulkhead: partition b start yes"));
  REQUIRE(run.plan.partitions[1].function_count == 1);
  CHECK_FALSE(run.plan.partitions[1].functions[0].reset);
  // The refused partition's claim is not kept: the function stays free for b.
  CHECK(startable_count(run.plan) == 1);
}

TEST_CASE("boot plan: a function with a method is reset unless its description says reset = \"none\"") {
  Machine machine;
  machine.topology.functions[2].reset = {pci::ResetMethod::pm, pci::ResetReason::soft_reset,
                                         static_cast<uint8_t>(pci::ResetChoice::bit(pci::ResetMethod::pm) |
                                                              pci::ResetChoice::bit(pci::ResetMethod::bus))};
  SystemDescription description;
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_sbdf(a, {1, 0, 0}, 1);  // pm, bus as fallback
  select_sbdf(a, {0, 3, 0}, 2);  // flr, described none all the same
  a.pci_devices[1].reset_none = true;
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  const std::string lines = "bulkhead: partition a pci-reset 0000:01:00.0 pm\n"
                            "bulkhead: partition a pci-reset 0000:00:03.0 none\n"
                            "bulkhead: partition a start yes\n";
  REQUIRE(run.lines.text.size() > lines.size());
  CHECK(run.lines.text.substr(run.lines.text.size() - lines.size()) == lines);
  REQUIRE(run.plan.partitions[0].function_count == 2);
  CHECK(run.plan.partitions[0].functions[0].reset);
  CHECK_FALSE(run.plan.partitions[0].functions[1].reset);
}
