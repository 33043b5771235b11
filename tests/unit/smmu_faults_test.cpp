// Fault lines from the event queue: who, where, which way, why; rate-limited per
// partition; the event queue's wrap-around and overflow; global errors.
#include <doctest/doctest.h>

#include <string>

#include "smmu/registers.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;
using smmu::ContextId;

namespace {

smmu::EventRecord translation_fault(uint32_t sid, uint64_t iova, bool write) {
  smmu::EventRecord r;
  r.word[0] = 0x10 | static_cast<uint64_t>(sid) << 32;
  r.word[1] = write ? 0 : 1ull << 35;
  r.word[2] = iova;
  return r;
}

struct FaultBench {
  FaultBench() {
    REQUIRE(bench.bring_up({0x10, 0x18}) == BringUpResult::enabled);
    a = bench.driver.create_context(test::alpha);
    b = bench.driver.create_context(test::beta);
    REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
    REQUIRE(bench.driver.attach(b, 0x18, "0000:00:03.0"));
  }
  test::SmmuBench bench;
  smmu::FaultLog faults{bench.clock};
  ContextId a = smmu::no_context, b = smmu::no_context;
};

}  // namespace

TEST_CASE("smmu faults: real faults become lines naming partition, function, address and direction") {
  FaultBench f;
  // DMA from alpha's device into beta's RAM (as a host address), past its RAM, into the GIC; an unowned device.
  CHECK_FALSE(f.bench.smmu.dma(0x10, 0x80000000, true).reaches_memory());
  CHECK_FALSE(f.bench.smmu.dma(0x10, 0x50000000, false).reaches_memory());
  CHECK_FALSE(f.bench.smmu.dma(0x10, 0x08000000, true).reaches_memory());
  CHECK_FALSE(f.bench.smmu.dma(0x20, 0x40000000, true).reaches_memory());
  sim::CapturedLog log;
  CHECK(f.bench.driver.service(f.faults) == 4);
  CHECK(log.lines() == std::vector<std::string>{
                           "bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova 0x80000000 write reason "
                           "translation-fault",
                           "bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova 0x50000000 read reason "
                           "translation-fault",
                           "bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova 0x8000000 write reason "
                           "translation-fault",
                           "bulkhead: dma-fault unowned sid 0x20 iova none unknown reason bad-ste"});
  CHECK(f.faults.faults(f.a) == 3);
  CHECK(f.faults.faults(f.b) == 0);
  CHECK(f.faults.unowned_faults() == 1);
  CHECK(f.bench.driver.service(f.faults) == 0);  // drained
  // The other partition was not disturbed.
  CHECK(f.bench.smmu.dma(0x18, 0x40000000, true).physical == 0x80000000);
}

TEST_CASE("smmu faults: each partition has its own budget, what is dropped is counted and said") {
  FaultBench f;
  for (int i = 0; i < 20; ++i) REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000 + 0x1000 * i, true)));
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x18, 0x48000000, false)));
  sim::CapturedLog log;
  CHECK(f.bench.driver.service(f.faults) == 21);
  const auto alpha_lines = log.starting_with("bulkhead: partition alpha dma-fault sbdf");
  CHECK(alpha_lines.size() == smmu::FaultLog::burst);
  CHECK(log.contains("bulkhead: partition beta dma-fault sbdf 0000:00:03.0 iova 0x48000000 read reason translation-fault"));
  CHECK(f.faults.faults(f.a) == 20);
  // A second later one more line may go out, preceded by what was suppressed.
  log.clear();
  f.bench.clock.advance(smmu::FaultLog::refill_us);
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x5ff00000, true)));
  f.bench.driver.service(f.faults);
  CHECK(log.lines() ==
        std::vector<std::string>{"bulkhead: partition alpha dma-fault suppressed 12",
                                 "bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova 0x5ff00000 write reason "
                                 "translation-fault"});
  // A restart gives the partition a fresh budget at once.
  for (int i = 0; i < 3; ++i) REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000, true)));
  log.clear();
  f.bench.driver.service(f.faults);
  CHECK(log.lines().empty());
  f.faults.reset_partition(f.a);
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000, true)));
  f.bench.driver.service(f.faults);
  CHECK(log.lines().size() == 2);  // "suppressed 3", then the line
}

TEST_CASE("smmu faults: the event queue wraps around, and an overflow is reported") {
  FaultBench f;
  sim::CapturedLog log;
  // 128 entries: fill and drain it five times over, in uneven batches.
  size_t handled = 0;
  for (int round = 0; round < 9; ++round) {
    for (int i = 0; i < 77; ++i) REQUIRE(f.bench.smmu.inject_event(translation_fault(0x18, 0x48000000, true)));
    handled += f.bench.driver.service(f.faults, 1000);
  }
  CHECK(handled == 9 * 77);
  CHECK(f.faults.faults(f.b) == 9 * 77);
  CHECK((f.bench.smmu.eventq_prod() & 0xff) == ((9 * 77) & 0xff));  // index and wrap bit of a 128-entry queue
  // Now more than it holds without a drain: the SMMU drops records and says so.
  for (int i = 0; i < 130; ++i) f.bench.smmu.inject_event(translation_fault(0x18, 0x48000000, true));
  log.clear();
  CHECK(f.bench.driver.service(f.faults, 1000) == 128);
  CHECK(log.contains("bulkhead: smmu-v3 event-queue overflow: events were lost"));
  CHECK(f.faults.overflows() == 1);
  // Acknowledged: the next drain is clean.
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x18, 0x48000000, true)));
  CHECK(f.bench.driver.service(f.faults, 1000) == 1);
  CHECK(f.faults.overflows() == 1);
}

TEST_CASE("smmu faults: a drain handles at most its limit, the rest waits for the next one") {
  FaultBench f;
  for (int i = 0; i < 10; ++i) REQUIRE(f.bench.smmu.inject_event(translation_fault(0x18, 0x48000000, true)));
  CHECK(f.bench.driver.service(f.faults, 4) == 4);
  CHECK(f.bench.driver.service(f.faults, 4) == 4);
  CHECK(f.bench.driver.service(f.faults, 4) == 2);
}

TEST_CASE("smmu faults: global errors are reported and acknowledged") {
  FaultBench f;
  sim::CapturedLog log;
  f.bench.smmu.raise_global_error(1u << 5);  // MSI_EVENTQ_ABT_ERR
  f.bench.driver.service(f.faults);
  CHECK(log.errors() == std::vector<std::string>{"bulkhead: error: smmu-v3 /smmuv3@9050000: global error "
                                                 "MSI_EVENTQ_ABT_ERR: event queue MSI write aborted"});
  CHECK(f.bench.smmu.read32(smmu::reg::gerror) == f.bench.smmu.read32(smmu::reg::gerrorn));
  log.clear();
  f.bench.driver.service(f.faults);
  CHECK(log.lines().empty());  // acknowledged: not reported twice
  // Event queue write aborts come with fault floods: rate-limited like them.
  f.bench.smmu.raise_global_error(1u << 2);
  f.bench.driver.service(f.faults);
  CHECK(log.lines() == std::vector<std::string>{"bulkhead: smmu-v3 event-queue overflow: events were lost"});
  CHECK(f.bench.driver.ready());
  // Service failure mode is the end of trusting the SMMU.
  f.bench.smmu.raise_global_error(1u << 8);
  f.bench.driver.service(f.faults);
  CHECK(f.bench.driver.failed());
}

TEST_CASE("smmu faults: an SMMU that forces stalls gets its stalled transactions terminated") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[0] = (config.idr[0] & ~(3u << 24)) | (2u << 24);  // STALL_MODEL forced
  test::SmmuBench bench(config);
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.smmu.dma(0x10, 0x50000000, true).kind == sim::DmaOutcome::Kind::stalled);
  smmu::FaultLog faults(bench.clock);
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  CHECK(bench.driver.service(faults) == 1);
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_RESUME 0x10 stag 1 action 2", "CMD_SYNC"});
  CHECK(log.contains("bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova 0x50000000 write reason translation-fault"));
}

namespace {

smmu::EventRecord record_of(uint8_t type, uint32_t sid) {
  smmu::EventRecord r;
  r.word[0] = type | static_cast<uint64_t>(sid) << 32;
  return r;
}

}  // namespace

TEST_CASE("smmu faults: an owned stream's configuration error has no address, a stream detached since is unowned") {
  FaultBench f;
  REQUIRE(f.bench.smmu.inject_event(record_of(0x0a, 0x10)));  // C_BAD_CD
  CHECK(f.bench.smmu.dma(0x18, 0x50000000, true).kind == sim::DmaOutcome::Kind::faulted);  // beyond beta's RAM
  REQUIRE(f.bench.driver.detach(0x18));  // before the record is read
  sim::CapturedLog log;
  CHECK(f.bench.driver.service(f.faults) == 2);
  CHECK(log.lines() ==
        std::vector<std::string>{"bulkhead: partition alpha dma-fault sbdf 0000:00:02.0 iova none unknown reason bad-cd",
                                 "bulkhead: dma-fault unowned sid 0x18 iova 0x50000000 write reason translation-fault"});
  CHECK(f.faults.faults(f.a) == 1);
  CHECK(f.faults.faults(f.b) == 0);
  CHECK(f.faults.unowned_faults() == 1);
}

TEST_CASE("smmu faults: unowned streams share one budget, the drops are said when lines flow again") {
  FaultBench f;
  for (uint32_t sid = 0x100; sid < 0x10a; ++sid) REQUIRE(f.bench.smmu.inject_event(record_of(0x02, sid)));
  sim::CapturedLog log;
  CHECK(f.bench.driver.service(f.faults) == 10);
  CHECK(log.lines().size() == smmu::FaultLog::burst);
  CHECK(log.lines().back() == "bulkhead: dma-fault unowned sid 0x107 iova none unknown reason bad-streamid");
  // The partitions' budgets are untouched.
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000, true)));
  log.clear();
  f.bench.driver.service(f.faults);
  CHECK(log.lines().size() == 1);
  f.bench.clock.advance(smmu::FaultLog::refill_us);
  REQUIRE(f.bench.smmu.inject_event(record_of(0x02, 0x200)));
  log.clear();
  f.bench.driver.service(f.faults);
  CHECK(log.lines() == std::vector<std::string>{"bulkhead: dma-fault unowned suppressed 2",
                                                "bulkhead: dma-fault unowned sid 0x200 iova none unknown reason "
                                                "bad-streamid"});
}

TEST_CASE("smmu faults: the budget refills one line per second, never beyond the burst") {
  FaultBench f;
  auto lines_for = [&](int faults) {
    for (int i = 0; i < faults; ++i) REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000, true)));
    sim::CapturedLog log;
    f.bench.driver.service(f.faults);
    return log.starting_with("bulkhead: partition alpha dma-fault sbdf").size();
  };
  CHECK(lines_for(20) == smmu::FaultLog::burst);
  f.bench.clock.advance(3 * smmu::FaultLog::refill_us);
  CHECK(lines_for(20) == 3);
  f.bench.clock.advance(100 * smmu::FaultLog::refill_us);
  CHECK(lines_for(20) == smmu::FaultLog::burst);
  CHECK(f.faults.faults(f.a) == 60);
  // Slots beyond the partitions are nobody's: no count, and a restart of one changes nothing.
  CHECK(f.faults.faults(smmu::max_contexts) == 0);
  f.faults.reset_partition(smmu::max_contexts);
  CHECK(lines_for(1) == 0);
}

TEST_CASE("smmu faults: event queue overflows are rate-limited like faults, and all counted") {
  FaultBench f;
  sim::CapturedLog log;
  for (int i = 0; i < 12; ++i) {
    f.bench.smmu.raise_global_error(static_cast<uint32_t>(smmu::gerror::eventq_abt_err::mask));
    f.bench.driver.service(f.faults);
  }
  CHECK(log.lines() == std::vector<std::string>(smmu::FaultLog::burst,
                                                "bulkhead: smmu-v3 event-queue overflow: events were lost"));
  CHECK(f.faults.overflows() == 12);
  CHECK(log.errors().empty());
  CHECK(f.bench.driver.ready());
}

TEST_CASE("smmu faults: an ownership slot beyond the partitions is taken as unowned") {
  FaultBench f;
  struct Foreign final : smmu::StreamOwnership {
    smmu::StreamOwner owner_of(uint32_t) const override {
      smmu::StreamOwner o;
      o.owned = true;
      o.partition = smmu::max_contexts;  // no such budget
      o.partition_name = "ghost";
      o.function = "0000:00:02.0";
      return o;
    }
  } foreign;
  REQUIRE(f.bench.smmu.inject_event(translation_fault(0x10, 0x50000000, false)));
  sim::CapturedLog log;
  CHECK(f.bench.driver.service(f.faults, foreign) == 1);
  CHECK(log.lines() == std::vector<std::string>{
                           "bulkhead: dma-fault unowned sid 0x10 iova 0x50000000 read reason translation-fault"});
  CHECK(f.faults.unowned_faults() == 1);
}

TEST_CASE("smmu faults: nothing is serviced before the SMMU is enabled") {
  test::SmmuBench bench;
  smmu::FaultLog faults(bench.clock);
  sim::CapturedLog log;
  CHECK(bench.driver.service(faults) == 0);
  CHECK(log.lines().empty());
  CHECK(bench.smmu.operations.empty());
}

TEST_CASE("smmu faults: every stalled transaction is terminated, however many one drain finds") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[0] = (config.idr[0] & ~(3u << 24)) | (2u << 24);  // STALL_MODEL forced
  test::SmmuBench bench(config);
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  constexpr int stalls = 70;  // more than the default limit of one service() call
  for (int i = 0; i < stalls; ++i) {
    REQUIRE(bench.smmu.dma(0x10, 0x50000000 + 0x1000ull * i, true).kind == sim::DmaOutcome::Kind::stalled);
  }
  smmu::FaultLog faults(bench.clock);
  bench.smmu.operations.clear();
  CHECK(bench.driver.service(faults) == 64);
  std::vector<std::string> expected;
  for (int tag = 1; tag <= 64; ++tag) expected.push_back("CMD_RESUME 0x10 stag " + std::to_string(tag) + " action 2");
  CHECK(bench.operations("CMD_RESUME") == expected);
  // Each batch of resumes is synced before the next records are read.
  CHECK(bench.operations("CMD_SYNC").size() == 2);
  CHECK(bench.find("CMD_SYNC") == 32);
  // The rest at the next call.
  bench.smmu.operations.clear();
  CHECK(bench.driver.service(faults) == stalls - 64);
  CHECK(bench.operations("CMD_RESUME").size() == stalls - 64);
  CHECK(bench.operations("CMD_RESUME").back() == "CMD_RESUME 0x10 stag 70 action 2");
  CHECK(faults.faults(a) == stalls);
}
