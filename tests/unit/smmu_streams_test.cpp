// Contexts and streams at their limits: memory running out for page tables, context
// descriptors and level-2 stream tables; all contexts or stream slots in use; tags and
// RAM the SMMU cannot take; requests for contexts that do not exist; detach edge cases;
// a stuck SMMU in the middle of each operation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;
using smmu::ContextId;

namespace {

constexpr const char* error_prefix = "bulkhead: error: smmu-v3 /smmuv3@9050000: ";

// A linear table for bus 0 (256 STEs, 16 KiB) and both queues (4 KiB each): 24 KiB
// used at bring-up, then the pool's remainder is what contexts get.
test::SmmuBench& linear_bench(test::SmmuBench& bench) {
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  REQUIRE(bench.driver.memory_used() == (24 << 10));
  return bench;
}

}  // namespace

TEST_CASE("smmu streams: memory runs out for the root table, the lower tables, the context descriptor") {
  const struct {
    uint64_t pool;
    std::string error;
  } cases[] = {
      {24 << 10, "partition alpha: no memory for DMA page tables"},
      {28 << 10, "partition alpha: DMA page tables: out of page-table pages"},
      {36 << 10, "partition alpha: no memory for a context descriptor"},  // root, level 1, level 2: then the CD
  };
  for (const auto& c : cases) {
    CAPTURE(c.pool);
    test::SmmuBench bench(sim::SimSmmuConfig::qemu_7_2(), 0x100, c.pool);
    linear_bench(bench);
    sim::CapturedLog log;
    CHECK(bench.driver.create_context(test::alpha) == smmu::no_context);
    CHECK(log.errors() == std::vector<std::string>{error_prefix + c.error});
    CHECK(log.starting_with("bulkhead: smmu-v3-context").empty());
    // Nothing to attach to: the stream keeps aborting.
    CHECK_FALSE(bench.driver.attach(0, 0x8, "0000:00:01.0"));
    CHECK(bench.smmu.route(0x8) == sim::SimSmmu::Route::aborts);
  }
  // Stage 2 has no context descriptor: three pages are enough.
  test::SmmuBench stage2(sim::SimSmmuConfig::two_stages(), 0x100, 36 << 10);
  linear_bench(stage2);
  const ContextId a = stage2.driver.create_context(test::alpha);
  REQUIRE(a != smmu::no_context);
  REQUIRE(stage2.driver.attach(a, 0x8, "0000:00:01.0"));
  CHECK(stage2.smmu.dma(0x8, 0x40000000, true).physical == 0x60000000);
}

TEST_CASE("smmu streams: an extra page that needs tables the pool cannot give is refused, RAM still mapped") {
  test::SmmuBench bench(sim::SimSmmuConfig::qemu_7_2(), 0x100, 40 << 10);  // the context leaves less than a page
  linear_bench(bench);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(a != smmu::no_context);
  REQUIRE(bench.driver.attach(a, 0x8, "0000:00:01.0"));
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  CHECK_FALSE(bench.driver.map_extra_page(a, 0x08090000, 0x08090000));  // another 1 GiB region: two more tables
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition alpha: cannot map iova 0x8090000 to 0x8090000: out of "
                                                 "page-table pages"});
  CHECK(bench.smmu.operations.empty());  // no invalidation for a mapping that was not made
  CHECK(bench.smmu.dma(0x8, 0x08090040, true).kind == sim::DmaOutcome::Kind::faulted);
  CHECK(bench.smmu.dma(0x8, 0x40000000, true).physical == 0x60000000);
}

TEST_CASE("smmu streams: an extra page over the partition's RAM is refused as a conflict") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.map_extra_page(a, 0x40001000, 0x08090000));
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition alpha: cannot map iova 0x40001000 to 0x8090000: conflicts "
                                                 "with an existing mapping"});
  CHECK(bench.smmu.dma(0x10, 0x40001000, true).physical == 0x60001000);  // RAM as it was
}

TEST_CASE("smmu streams: extra pages for contexts that do not exist, or on an SMMU that is not enabled") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.map_extra_page(smmu::no_context, 0x08090000, 0x08090000));
  CHECK_FALSE(bench.driver.map_extra_page(static_cast<ContextId>(a + 1), 0x08090000, 0x08090000));  // never created
  CHECK(log.errors() ==
        std::vector<std::string>(2, std::string(error_prefix) +
                                        "no extra page at iova 0x8090000: no such DMA context or the SMMU is not enabled"));
  test::SmmuBench off;
  off.platform.smmu.present = false;
  REQUIRE(off.bring_up() == BringUpResult::absent);
  CHECK_FALSE(off.driver.map_extra_page(0, 0x08090000, 0x08090000));
}

TEST_CASE("smmu streams: stage 2 invalidates an extra page by VMID, a stuck SMMU fails the mapping") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(b, 0x10, "0000:00:02.0"));
  CHECK(bench.smmu.dma(0x10, 0x08090000, true).kind == sim::DmaOutcome::Kind::faulted);  // not mapped yet
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.map_extra_page(b, 0x08090000, 0x08090000));
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_TLBI_S12_VMALL 2", "CMD_SYNC"});
  CHECK(bench.smmu.dma(0x10, 0x08090040, true).physical == 0x08090040);
  CHECK(bench.smmu.dma(0x10, 0x08090040, true).kind == sim::DmaOutcome::Kind::translated);
  // The next one cannot be confirmed: false, and no line claiming it was mapped.
  bench.smmu.command_mode = sim::CommandMode::stuck;
  log.clear();
  CHECK_FALSE(bench.driver.map_extra_page(b, 0x080a0000, 0x080a0000));
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("mapping an extra page: the command queue did not drain") != std::string::npos);
  CHECK(log.starting_with("bulkhead: smmu-v3-context").empty());
  CHECK_FALSE(bench.driver.map_extra_page(b, 0x080b0000, 0x080b0000));  // failed: refused at once
}

TEST_CASE("smmu streams: all contexts in use, tags and RAM the SMMU cannot take") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  sim::CapturedLog log;
  for (uint16_t tag = 1; tag <= smmu::max_contexts; ++tag) {
    const smmu::ContextConfig c{"p", tag, 0x40000000, 0x40000000 + 0x200000ull * tag, 0x200000};
    REQUIRE(bench.driver.create_context(c) != smmu::no_context);
  }
  smmu::ContextConfig ninth{"ninth", 9, 0x40000000, 0x60000000, 0x200000};
  CHECK(bench.driver.create_context(ninth) == smmu::no_context);
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition ninth: all 8 DMA contexts are in use"});

  // Without IDR0.VMID16 VMIDs stop at 255; RAM must be whole pages and within 40 bits.
  sim::SimSmmuConfig vmid8 = sim::SimSmmuConfig::two_stages();
  vmid8.idr[0] &= ~smmu::idr0::vmid16::mask;
  test::SmmuBench small(vmid8);
  REQUIRE(small.bring_up() == BringUpResult::enabled);
  REQUIRE(small.driver.stage() == smmu::Stage::two);
  log.clear();
  smmu::ContextConfig c = test::alpha;
  c.tag = 256;
  CHECK(small.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.host_base += 0x800;
  CHECK(small.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.size = 0;
  CHECK(small.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.guest_base = 1ull << 40;
  CHECK(small.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.tag = 255;
  CHECK(small.driver.create_context(c) != smmu::no_context);
  CHECK(log.errors() ==
        std::vector<std::string>{
            std::string(error_prefix) + "partition alpha: vmid 256 is outside 1..255",
            std::string(error_prefix) + "partition alpha: RAM guest 0x40000000 host 0x60000800 size 0x10000000 is not "
                                        "whole pages",
            std::string(error_prefix) + "partition alpha: RAM guest 0x40000000 host 0x60000000 size 0x0 is not whole "
                                        "pages",
            std::string(error_prefix) + "partition alpha: RAM guest 0x10000000000 host 0x60000000 size 0x10000000 is "
                                        "beyond the 40-bit DMA or 44-bit output addresses"});
}

TEST_CASE("smmu streams: attaching to a context that does not exist is refused") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.attach(smmu::no_context, 0x10, "0000:00:02.0"));
  CHECK_FALSE(bench.driver.attach(static_cast<ContextId>(a + 1), 0x10, "0000:00:02.0"));
  CHECK(log.errors() ==
        std::vector<std::string>(2, std::string(error_prefix) +
                                        "cannot attach StreamID 0x10: no such DMA context or the SMMU is not enabled"));
  CHECK(bench.smmu.route(0x10) == sim::SimSmmu::Route::aborts);
  CHECK_FALSE(bench.driver.detach_context(smmu::no_context));
  CHECK_FALSE(bench.driver.detach_context(static_cast<ContextId>(a + 1)));
}

TEST_CASE("smmu streams: the 256 stream slots, what does not fit is refused before anything is written") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x0}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  std::vector<smmu::FunctionStreams> functions(smmu::max_attached_streams - 1);
  for (uint32_t i = 0; i < functions.size(); ++i) functions[i] = {"0000:00:00.0", {i, 0}, 1};
  REQUIRE(bench.driver.attach_functions(a, functions.data(), functions.size()));  // 0x00..0xfe
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  smmu::FunctionStreams two = {"0000:01:00.0", {0xff, 0x100}, 2};
  CHECK_FALSE(bench.driver.attach_functions(b, &two, 1));
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition beta: 2 more streams do not fit the 256 stream slots"});
  CHECK(bench.smmu.operations.empty());
  CHECK(bench.driver.stream_table().l2_tables() == 1);  // bus 1's table was not even made
  CHECK(bench.smmu.route(0xff) == sim::SimSmmu::Route::aborts);
  REQUIRE(bench.driver.attach(b, 0xff, "0000:00:1f.7"));  // the last slot
  log.clear();
  CHECK_FALSE(bench.driver.attach(b, 0x100, "0000:01:00.0"));
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition beta: StreamID 0x100: all 256 stream slots are in use"});
  CHECK(bench.driver.attach(a, 0x10, "0000:00:00.0"));  // already a's: no slot needed
  // A slot freed is a slot to use.
  REQUIRE(bench.driver.detach(0x20));
  REQUIRE(bench.driver.attach(b, 0x100, "0000:01:00.0"));
  CHECK(bench.smmu.dma(0x100, 0x40000000, true).physical == 0x80000000);
  CHECK(bench.smmu.route(0x20) == sim::SimSmmu::Route::aborts);
}

TEST_CASE("smmu streams: detaching one stream among others leaves the others as they were") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.driver.attach(b, 0x11, "0000:00:02.1"));
  REQUIRE(bench.driver.attach(a, 0x12, "0000:00:02.2"));
  REQUIRE(bench.driver.detach(0x10));
  CHECK_FALSE(bench.driver.owner_of(0x10).owned);
  CHECK(std::string(bench.driver.owner_of(0x11).function) == "0000:00:02.1");
  CHECK(std::string(bench.driver.owner_of(0x11).partition_name) == "beta");
  CHECK(std::string(bench.driver.owner_of(0x12).function) == "0000:00:02.2");
  CHECK(std::string(bench.driver.owner_of(0x12).partition_name) == "alpha");
  CHECK(bench.smmu.dma(0x11, 0x40000000, true).physical == 0x80000000);
  CHECK(bench.smmu.dma(0x12, 0x40000000, true).physical == 0x60000000);
  CHECK_FALSE(bench.smmu.dma(0x10, 0x40000000, true).reaches_memory());
  // A stream nobody has: nothing to do, nothing issued.
  bench.smmu.operations.clear();
  CHECK(bench.driver.detach(0x10));
  CHECK(bench.driver.detach(0x4242));
  CHECK(bench.smmu.operations.empty());
  // Stopping alpha leaves beta's stream alone.
  REQUIRE(bench.driver.detach_context(a));
  CHECK_FALSE(bench.driver.owner_of(0x12).owned);
  CHECK(bench.smmu.dma(0x11, 0x40000000, true).physical == 0x80000000);
  // On an SMMU that is not enabled, even that cannot be vouched for.
  test::SmmuBench off;
  off.platform.smmu.present = false;
  REQUIRE(off.bring_up() == BringUpResult::absent);
  CHECK_FALSE(off.driver.detach(0x10));
}

TEST_CASE("smmu streams: a detach the SMMU never confirms fails, after that nothing is issued") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.driver.attach(b, 0x11, "0000:00:02.1"));
  REQUIRE(bench.driver.attach(b, 0x12, "0000:00:02.2"));
  bench.smmu.command_mode = sim::CommandMode::stuck;
  sim::CapturedLog log;
  CHECK_FALSE(bench.driver.detach(0x10));
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("detaching a stream: the command queue did not drain") != std::string::npos);
  CHECK(bench.driver.failed());
  // The driver no longer trusts the SMMU: both of beta's streams are rewritten in memory,
  // but nothing is issued and the detach is not confirmed.
  const size_t consumed = bench.smmu.commands_consumed();
  const uint64_t before = bench.clock.now();
  CHECK_FALSE(bench.driver.detach_context(b));
  CHECK(bench.clock.now() - before < 10000);
  CHECK(bench.smmu.commands_consumed() == consumed);
  smmu::SteView view;
  REQUIRE(bench.driver.lookup(0x11, view) == smmu::StreamTable::Lookup::ste);
  CHECK(view.kind == smmu::SteKind::invalid);
  REQUIRE(bench.driver.lookup(0x12, view) == smmu::StreamTable::Lookup::ste);
  CHECK(view.kind == smmu::SteKind::invalid);
}

TEST_CASE("smmu streams: no memory for a level-2 table: no stream changes, and the tables made are announced") {
  // 2-level table, bus 0's level-2 table and the queues: 40 KiB; alpha's context up to
  // 52 KiB + 64; bus 5's level-2 table then fits at 64 KiB, bus 6's no more.
  test::SmmuBench bench(sim::SimSmmuConfig::qemu_7_2(), 0x10000, 80 << 10);
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(a != smmu::no_context);
  smmu::FunctionStreams functions[3];
  functions[0] = {"0000:00:02.0", {0x10, 0}, 1};
  functions[1] = {"0000:05:00.0", {0x500, 0}, 1};
  functions[2] = {"0000:06:00.0", {0x600, 0}, 1};
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  CHECK_FALSE(bench.driver.attach_functions(a, functions, 3));
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "partition alpha: no memory for the level-2 stream table of StreamID "
                                                 "0x600"});
  // No STE was written: the invalidations only tell the SMMU of bus 5's new level-1 descriptor.
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 0 ste invalid",
                                                         "CMD_CFGI_STE 0x500 leaf 0 ste invalid",
                                                         "CMD_CFGI_STE 0x600 leaf 0 ste no-l2", "CMD_SYNC"});
  CHECK(bench.driver.stream_table().l2_tables() == 2);
  for (const uint32_t sid : {0x10u, 0x500u, 0x600u}) {
    CAPTURE(sid);
    CHECK(bench.smmu.route(sid) == sim::SimSmmu::Route::aborts);
    CHECK_FALSE(bench.driver.owner_of(sid).owned);
  }
  CHECK(log.starting_with("bulkhead: smmu-v3-stream").empty());
  // Bus 5's table serves the next attach; its descriptor was announced already.
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.attach(a, 0x500, "0000:05:00.0"));
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_CFGI_STE 0x500 leaf 1 ste stage1 asid 1", "CMD_SYNC"});
  CHECK(bench.smmu.dma(0x500, 0x40000000, true).physical == 0x60000000);
  // Nothing made before running out: nothing to announce.
  bench.smmu.operations.clear();
  CHECK_FALSE(bench.driver.attach(a, 0x600, "0000:06:00.0"));
  CHECK(bench.smmu.operations.empty());
}
