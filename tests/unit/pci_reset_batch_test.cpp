// A partition's functions reset side by side (pci/reset_batch.hpp) on the simulated
// ECAM: the waits overlap, the caller sleeps exactly until the earliest wake-up (never
// spinning), and one function's failure ends only its own reset.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pci/reset_batch.hpp"
#include "tests/unit/pci_reset_support.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using pci::AccessWidth;

namespace {

// The simulated ECAM's clock, as the batch's waiter: a sleep moves time to the wake-up.
class TimelineWaiter final : public pci::ResetWaiter {
 public:
  explicit TimelineWaiter(SimTimeline& timeline) : timeline_(timeline) {}
  uint64_t now() override { return timeline_.now; }
  void sleep_until(uint64_t time) override {
    if (time <= timeline_.now) throw std::runtime_error("a sleep that does not advance time");
    sleeps.push_back(time - reset_start);
    timeline_.now = time;
  }
  std::vector<uint64_t> sleeps;  // wake-up times from reset_start

 private:
  SimTimeline& timeline_;
};

// Two functions of one partition: an FLR endpoint on the root bus (in flight for 25 ms
// when bus master goes off) and an endpoint alone below a root port (bus reset).
struct TwoFunctions : ResetFixture {
  SimFunction* flr = nullptr;
  SimFunction* below_port = nullptr;
  SimFunction* port = nullptr;
  TwoFunctions() {
    SimFunction& nic = root().pcie_endpoint(2, 0, 0x8086, 0x10d3);
    nic.flr();
    nic.bar(0, BarType::mem32, 0x20000);
    flr = &nic;
    port = &root().root_port(1);
    SimFunction& disk = port->secondary()->pcie_endpoint(0, 0, 0x1af4, 0x1041);
    disk.bar(0, BarType::mem32, 0x1000);
    below_port = &disk;
    enumerate();
    ecam.write({0, 2, 0}, 0x04, AccessWidth::half, 0x0006);  // its owner left decode and bus master on
    nic.transactions_pending_for(ms(25));
  }
};

}  // namespace

TEST_CASE("pci reset batch: two functions' waits overlap, the caller sleeping until each earliest wake-up") {
  TwoFunctions f;
  pci::ResetJob jobs[2];
  jobs[0].config = &f.ecam;
  jobs[0].function = &f.function(0, 2);
  jobs[1].config = &f.ecam;
  jobs[1].function = &f.function(1, 0);
  REQUIRE(jobs[0].function->reset.method == pci::ResetMethod::flr);
  REQUIRE(jobs[1].function->reset.method == pci::ResetMethod::bus);
  f.timeline().now = reset_start;
  TimelineWaiter waiter(f.timeline());
  const pci::ResetBatchResult result = pci::reset_side_by_side(jobs, 2, *f.harness.topology, test_clock, waiter);
  CHECK(result.done == 2);
  CHECK(result.failed == 0);
  CHECK(jobs[0].reset.done());
  CHECK(jobs[1].reset.done());
  // Transactions Pending polled every 10 ms until clear at 25 ms, FLR at 30 ms, done at
  // 130 ms; the bus reset held 2 ms from 0, the function again at 102 ms. Each wake-up is
  // the earliest of both, and the whole takes the longer one's time, not the sum.
  CHECK(waiter.sleeps == std::vector<uint64_t>{ms(2), ms(10), ms(20), ms(30), ms(102), ms(130)});
  CHECK(result.sleeps == waiter.sleeps.size());
  CHECK(f.timeline().now - reset_start == ms(130));
  CHECK(jobs[0].reset.outcome().finished - jobs[0].reset.outcome().started == ms(130));
  CHECK(jobs[1].reset.outcome().finished - jobs[1].reset.outcome().started == ms(102));
  CHECK(f.flr->resets() == 1);
  CHECK(f.below_port->resets() == 1);
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset batch: a failure ends only its own reset, and a job that cannot begin counts as failed") {
  TwoFunctions f;
  pci::Function no_method = f.function(0, 2);
  no_method.reset = pci::ResetChoice();  // as if enumeration had found no method
  pci::ResetJob jobs[3];
  jobs[0].config = &f.ecam;
  jobs[0].function = &no_method;  // begin() refuses it
  jobs[1].config = nullptr;       // its segment's ECAM is not mapped
  jobs[1].function = &f.function(0, 2);
  jobs[2].config = &f.ecam;
  jobs[2].function = &f.function(1, 0);
  f.timeline().now = reset_start;
  TimelineWaiter waiter(f.timeline());
  const pci::ResetBatchResult result = pci::reset_side_by_side(jobs, 3, *f.harness.topology, test_clock, waiter);
  CHECK(result.done == 1);
  CHECK(result.failed == 2);
  CHECK(jobs[0].reset.error() == pci::ResetError::no_method);
  CHECK(std::string(jobs[0].reset.failure()) == "pci 0000:00:02.0 reset none: the function has no reset method");
  CHECK(jobs[1].reset.function() == nullptr);  // never begun: nothing to report
  CHECK(jobs[2].reset.done());
  CHECK(waiter.sleeps == std::vector<uint64_t>{ms(2), ms(102)});
  CHECK(f.flr->resets() == 0);  // nobody touched the FLR function's reset
}

TEST_CASE("pci reset batch: nothing to reset returns at once without sleeping") {
  TwoFunctions f;
  TimelineWaiter waiter(f.timeline());
  const pci::ResetBatchResult result = pci::reset_side_by_side(nullptr, 0, *f.harness.topology, test_clock, waiter);
  CHECK(result.done == 0);
  CHECK(result.failed == 0);
  CHECK(waiter.sleeps.empty());
}
