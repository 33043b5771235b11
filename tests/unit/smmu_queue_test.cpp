// The command queue: index arithmetic, wrap-around while the SMMU consumes slowly, a
// full queue waited on (bounded), a refused command skipped and reported.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "smmu/queues.hpp"
#include "smmu/registers.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;
using smmu::QueueIndex;

TEST_CASE("smmu queue: index and wrap bit arithmetic") {
  const QueueIndex q(2);  // 4 entries: values 0..7, bit 2 the wrap bit
  CHECK(q.entries() == 4);
  CHECK(q.mask() == 7);
  CHECK(q.slot(5) == 1);
  CHECK(q.next(3) == 4);  // slot 3 -> slot 0 with the wrap bit set
  CHECK(q.next(7) == 0);  // and back
  CHECK(q.used(0, 0) == 0);
  CHECK(q.used(4, 0) == 4);
  CHECK(q.full(4, 0));
  CHECK(q.full(1, 5));    // same slot, different wrap: full
  CHECK(q.used(1, 6) == 3);
  CHECK_FALSE(q.full(5, 5));
  const QueueIndex one(0);  // a single-entry queue still works
  CHECK(one.next(0) == 1);
  CHECK(one.full(1, 0));
}

TEST_CASE("smmu queue: a 4-entry command queue wraps many times while the SMMU consumes one command per poll") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[1] = (config.idr[1] & ~(0x1fu << 21)) | (2u << 21);  // CMDQS 2: 4 entries
  test::SmmuBench bench(config);
  bench.smmu.command_mode = sim::CommandMode::one_per_poll;
  REQUIRE(bench.bring_up({0x100}) == BringUpResult::enabled);
  const smmu::ContextId a = bench.driver.create_context(test::alpha);
  // Five functions with two streams each: ten CFGI_STE and a CMD_SYNC, more than twice the queue.
  smmu::FunctionStreams functions[5];
  for (uint32_t f = 0; f < 5; ++f) functions[f] = {"0000:01:00.0", {0x100 + 2 * f, 0x101 + 2 * f}, 2};
  REQUIRE(bench.driver.attach_functions(a, functions, 5));
  for (uint32_t sid = 0x100; sid < 0x10a; ++sid) CHECK(bench.smmu.route(sid) == sim::SimSmmu::Route::translates);
  for (int round = 0; round < 7; ++round) {
    REQUIRE(bench.driver.detach_context(a));
    REQUIRE(bench.driver.attach_functions(a, functions, 5));
  }
  CHECK(bench.smmu.commands_consumed() == bench.driver.commands_issued());
  CHECK(bench.driver.commands_issued() > 100);
  CHECK(bench.operations("CMD_CFGI_STE").size() == 10 * 15);
  CHECK(bench.smmu.route(0x109) == sim::SimSmmu::Route::translates);
  CHECK(bench.operations("unknown").empty());
}

TEST_CASE("smmu queue: a single-entry command queue works, one command at a time, stuck, it is reported") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[1] &= ~(0x1fu << 21);  // CMDQS 0: one entry
  test::SmmuBench bench(config);
  sim::CapturedLog log;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  CHECK(log.lines()[0].find(" cmdq 1 eventq 128 ") != std::string::npos);
  const smmu::ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.smmu.dma(0x10, 0x40000000, true).physical == 0x60000000);
  REQUIRE(bench.driver.detach_context(a));
  CHECK(bench.smmu.commands_consumed() == bench.driver.commands_issued());

  test::SmmuBench stuck(config);
  stuck.smmu.command_mode = sim::CommandMode::stuck;
  log.clear();
  CHECK(stuck.bring_up() == BringUpResult::stuck);  // CMD_CFGI_ALL fills it: no room for CMD_TLBI_NSNH_ALL
  CHECK(log.errors() == std::vector<std::string>{
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: invalidating everything at bring-up: the command "
                            "queue did not drain within 1000000 us (CMDQ_PROD 0x1 CMDQ_CONS 0x0): the SMMU is stuck"});
}

TEST_CASE("smmu queue: a queue that stops draining is a reported failure, and nothing waits forever after it") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const smmu::ContextId a = bench.driver.create_context(test::alpha);
  bench.smmu.command_mode = sim::CommandMode::stuck;
  sim::CapturedLog log;
  const uint64_t start = bench.clock.now();
  CHECK_FALSE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.clock.now() - start < 1100000);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("smmu-v3 /smmuv3@9050000: attaching streams: the command queue did not drain within "
                             "1000000 us") != std::string::npos);
  CHECK(bench.driver.failed());
  log.clear();
  const uint64_t after = bench.clock.now();
  CHECK_FALSE(bench.driver.detach_context(a));  // fails at once: the SMMU is known to be stuck
  CHECK_FALSE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.clock.now() - after < 10000);
}

TEST_CASE("smmu queue: a command the SMMU refuses is skipped, reported, and the queue goes on") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const smmu::ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  bench.smmu.refused_opcodes = {0x11};  // CMD_TLBI_NH_ASID
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.detach_context(a));
  CHECK(log.errors() ==
        std::vector<std::string>{"bulkhead: error: smmu-v3 /smmuv3@9050000: detaching a partition's streams: the SMMU "
                                 "refused CMD_TLBI_NH_ASID (CMDQ_CONS.ERR 1); it was skipped"});
  CHECK_FALSE(bench.driver.failed());
  CHECK(bench.smmu.read32(smmu::reg::gerror) == bench.smmu.read32(smmu::reg::gerrorn));  // acknowledged
  CHECK(bench.smmu.route(0x10) == sim::SimSmmu::Route::aborts);  // the detach itself took effect
  bench.smmu.refused_opcodes.clear();
  CHECK(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.driver.detach_context(a));
}

TEST_CASE("smmu queue: a full queue that never drains: waiting for room is bounded too") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[1] = (config.idr[1] & ~(0x1fu << 21)) | (2u << 21);  // CMDQS 2: 4 entries
  const struct {
    uint32_t streams;
    const char* where;  // the command that found no room
  } cases[] = {{5, "attaching a stream: "}, {4, "attaching streams: "}};  // a fifth CFGI_STE; the CMD_SYNC
  for (const auto& c : cases) {
    CAPTURE(c.streams);
    test::SmmuBench bench(config);
    REQUIRE(bench.bring_up({0x100}) == BringUpResult::enabled);
    const smmu::ContextId a = bench.driver.create_context(test::alpha);
    bench.smmu.command_mode = sim::CommandMode::stuck;
    std::vector<smmu::FunctionStreams> functions(c.streams);
    for (uint32_t i = 0; i < c.streams; ++i) functions[i] = {"0000:01:00.0", {0x100 + i, 0}, 1};
    sim::CapturedLog log;
    const uint64_t start = bench.clock.now();
    CHECK_FALSE(bench.driver.attach_functions(a, functions.data(), functions.size()));
    CHECK(bench.clock.now() - start < 1100000);
    REQUIRE(log.errors().size() == 1);
    // Bring-up left PROD = CONS = 3; four commands later the queue is full.
    CHECK(log.errors()[0].find(std::string("smmu-v3 /smmuv3@9050000: ") + c.where +
                               "the command queue did not drain within 1000000 us (CMDQ_PROD 0x7 CMDQ_CONS 0x3)") !=
          std::string::npos);
    CHECK(bench.driver.failed());
  }
}

TEST_CASE("smmu queue: a refusal found while waiting for room is reported by the submit and by its sync, once") {
  sim::SimDmaMemory memory;
  sim::SimSmmu smmu(memory);
  sim::FakeClock clock;
  smmu::CommandQueue queue;
  REQUIRE(queue.allocate(memory, 2));  // 4 entries
  smmu.write64(smmu::reg::cmdq_base, queue.base_register());
  smmu.write32(smmu::reg::cr0, static_cast<uint32_t>(smmu::cr0::cmdqen::mask));
  smmu.command_mode = sim::CommandMode::one_per_poll;
  smmu.refused_opcodes = {0x11};  // CMD_TLBI_NH_ASID
  const smmu::HardwareAccess hw{&smmu, &memory, &clock, true, 1000000};
  const smmu::Command commands[] = {smmu::tlbi_nh_asid(1), smmu::cfgi_ste(1), smmu::cfgi_ste(2), smmu::cfgi_ste(3),
                                    smmu::tlbi_nsnh_all()};
  // The fifth finds the queue full; while it waits, the SMMU refuses the first.
  CHECK(queue.submit(hw, commands, 5) == smmu::QueueStatus::command_error);
  CHECK(queue.error_opcode() == 0x11);
  CHECK(queue.error_code() == 1);  // CERROR_ILL
  CHECK(queue.sync(hw) == smmu::QueueStatus::command_error);
  CHECK(smmu.operations.back() == "CMD_SYNC");
  CHECK(smmu.read32(smmu::reg::gerror) == smmu.read32(smmu::reg::gerrorn));
  // Reported: the next sync covers nothing refused.
  CHECK(queue.sync(hw) == smmu::QueueStatus::ok);
  CHECK(smmu.commands_consumed() == queue.commands_issued());  // the refused one's slot ran as a CMD_SYNC
  for (const auto& op : smmu.operations) CHECK(op != "CMD_TLBI_NH_ASID 1");
}

TEST_CASE("smmu queue: after a refused command, an operation with nothing to issue is not blamed for it") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const smmu::ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  bench.smmu.refused_opcodes = {0x11};  // CMD_TLBI_NH_ASID
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.map_extra_page(a, 0x08090000, 0x08090000));
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("mapping an extra page: the SMMU refused CMD_TLBI_NH_ASID") != std::string::npos);
  bench.smmu.refused_opcodes.clear();
  log.clear();
  CHECK(bench.driver.attach(a, 0x10, "0000:00:02.0"));  // attached already: only a CMD_SYNC
  CHECK(log.lines().empty());
}
