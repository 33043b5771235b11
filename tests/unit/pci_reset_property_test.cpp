// Properties of a function reset (pci/reset.hpp) under any device behaviour: random
// configuration reads (tests/sim/reset_chaos.hpp) against every shape of reset, with
// late and early polls. Every run must end within its bounds, write only what a reset
// may write, respect the spec's waits, and end done (restored from the record) or failed
// (with an error naming the function).
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/reset_chaos.hpp"
#include "tests/sim/reset_chaos_topology.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;

TEST_CASE("pci reset property: random device answers never break the reset's rules") {
  const ChaosTopology topology;
  REQUIRE(topology.functions[0]->reset.methods != 0);
  std::mt19937 random(20261130);  // NOLINT(cert-msc32-c,cert-msc51-cpp): the same runs every time, on purpose
  std::set<std::string> errors;
  std::set<pci::ResetMethod> done_by;
  int done = 0;
  for (int run = 0; run < 3000; ++run) {
    CAPTURE(run);
    std::vector<uint8_t> bytes(random() % 600);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(random());
    // A third of the runs with a cooperative device for longer: the reads biased to the
    // first choice, so the resets get further.
    if (run % 3 == 0) {
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(b % 200);
    }
    const pci::Function f = topology.pick(static_cast<uint8_t>(random()), static_cast<uint8_t>(random()));
    ByteStream input{bytes.data(), bytes.size()};
    pci::ResetStatus status = pci::ResetStatus::wait;
    pci::FunctionReset probe;
    const std::vector<std::string> violations = chaos_reset(*topology.harness.topology, f, input, probe, status);
    CHECK_MESSAGE(violations.empty(), (violations.empty() ? "" : violations.front()));
    if (!violations.empty()) break;
    REQUIRE(status != pci::ResetStatus::wait);
    if (status == pci::ResetStatus::done) {
      ++done;
      done_by.insert(probe.outcome().method);
    } else {
      errors.insert(pci::reset_error_name(probe.error()));
    }
  }
  // The runs reach every method and the failures a device can cause.
  CHECK(done > 100);
  CHECK(done_by.size() == 4);
  for (const char* error : {"absent", "identity", "still-enabled", "transactions-pending", "power-state", "link-down",
                            "not-ready", "not-reset", "restore-mismatch"}) {
    CAPTURE(error);
    CHECK(errors.count(error) == 1);
  }
}
