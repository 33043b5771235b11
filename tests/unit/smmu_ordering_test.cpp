// The orderings DMA isolation rests on, as recorded sequences of operations: what the
// simulated SMMU consumed (with the STE each CFGI_STE found in memory), what the bus
// mastering control was told, and when the RAM was scrubbed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "smmu/partition_dma.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;

namespace {

class RecordedBusMastering final : public smmu::BusMastering {
 public:
  explicit RecordedBusMastering(std::vector<std::string>& operations) : operations_(operations) {}
  void permit(size_t function) override { operations_.push_back("bus-master permit " + std::to_string(function)); }
  void disable(size_t function) override { operations_.push_back("bus-master disable " + std::to_string(function)); }

 private:
  std::vector<std::string>& operations_;
};

struct OrderingBench {
  OrderingBench() {
    REQUIRE(bench.bring_up({0x10, 0x300}) == BringUpResult::enabled);
    context = bench.driver.create_context(test::alpha);
    REQUIRE(context != smmu::no_context);
    functions[0] = {"0000:00:02.0", {0x10, 0}, 1};
    functions[1] = {"0000:03:01.0", {0x308, 0x300}, 2};  // behind a PCIe-to-PCI bridge: own ID and alias
    bench.smmu.operations.clear();
  }
  // The partition's RAM is scrubbed only when the stop sequence says it may be.
  bool stop() {
    const bool may_scrub = smmu::disconnect_partition_dma(bench.driver, context, 2, bus);
    if (may_scrub) bench.smmu.operations.push_back("scrub");
    return may_scrub;
  }
  test::SmmuBench bench;
  RecordedBusMastering bus{bench.smmu.operations};
  smmu::ContextId context = smmu::no_context;
  smmu::FunctionStreams functions[2];
};

}  // namespace

TEST_CASE("smmu ordering: streams point at the context, synced, before bus mastering is permitted") {
  OrderingBench o;
  REQUIRE(smmu::connect_partition_dma(o.bench.driver, o.context, o.functions, 2, o.bus));
  CHECK(o.bench.smmu.operations == std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 1 ste stage1 asid 1",
                                                           "CMD_CFGI_STE 0x308 leaf 1 ste stage1 asid 1",
                                                           "CMD_CFGI_STE 0x300 leaf 1 ste stage1 asid 1",
                                                           "CMD_SYNC",
                                                           "bus-master permit 0",
                                                           "bus-master permit 1"});
}

TEST_CASE("smmu ordering: on stop, bus mastering off, streams abort, TLB invalidated and synced, then the scrub") {
  OrderingBench o;
  REQUIRE(smmu::connect_partition_dma(o.bench.driver, o.context, o.functions, 2, o.bus));
  o.bench.smmu.operations.clear();
  REQUIRE(o.stop());
  CHECK(o.bench.smmu.operations == std::vector<std::string>{"bus-master disable 0",
                                                           "bus-master disable 1",
                                                           "CMD_CFGI_STE 0x10 leaf 1 ste invalid",
                                                           "CMD_CFGI_STE 0x308 leaf 1 ste invalid",
                                                           "CMD_CFGI_STE 0x300 leaf 1 ste invalid",
                                                           "CMD_TLBI_NH_ASID 1",
                                                           "CMD_SYNC",
                                                           "scrub"});
  for (const uint32_t sid : {0x10u, 0x300u, 0x308u}) CHECK_FALSE(o.bench.smmu.dma(sid, 0x40000000, true).reaches_memory());
  // A restart connects again.
  REQUIRE(smmu::connect_partition_dma(o.bench.driver, o.context, o.functions, 2, o.bus));
  CHECK(o.bench.smmu.dma(0x300, 0x40000000, true).physical == 0x60000000);
}

TEST_CASE("smmu ordering: stage 2 invalidates by VMID") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const smmu::ContextId c = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(c, 0x10, "0000:00:02.0"));
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.detach_context(c));
  CHECK(bench.smmu.operations ==
        std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 1 ste invalid", "CMD_TLBI_S12_VMALL 2", "CMD_SYNC"});
}

TEST_CASE("smmu ordering: when the SMMU cannot confirm the stop, the RAM is not scrubbed or reused") {
  OrderingBench o;
  REQUIRE(smmu::connect_partition_dma(o.bench.driver, o.context, o.functions, 2, o.bus));
  o.bench.smmu.operations.clear();
  o.bench.smmu.command_mode = sim::CommandMode::stuck;
  sim::CapturedLog log;
  CHECK_FALSE(o.stop());
  CHECK(o.bench.smmu.operations == std::vector<std::string>{"bus-master disable 0", "bus-master disable 1"});
  CHECK(log.errors().size() == 1);
}

TEST_CASE("smmu ordering: a partition whose streams cannot all be attached never gets bus mastering") {
  OrderingBench o;
  const smmu::ContextId other = o.bench.driver.create_context(test::beta);
  REQUIRE(o.bench.driver.attach(other, 0x300, "0000:03:02.0"));  // the alias is another partition's
  o.bench.smmu.operations.clear();
  sim::CapturedLog log;
  CHECK_FALSE(smmu::connect_partition_dma(o.bench.driver, o.context, o.functions, 2, o.bus));
  CHECK(o.bench.operations("bus-master").empty());
  CHECK(o.bench.smmu.route(0x10) == sim::SimSmmu::Route::aborts);
  CHECK(o.bench.smmu.route(0x308) == sim::SimSmmu::Route::aborts);
  CHECK(o.bench.smmu.dma(0x300, 0x40000000, true).physical == 0x80000000);  // still beta's
}
