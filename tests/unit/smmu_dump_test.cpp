// The stream table dump (`bulkhead.smmu-dump`): every StreamID in runs of equal state,
// as the SMMU reads the table, and a summary; checked line by line and against what the
// simulated SMMU does with each StreamID.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;
using smmu::ContextId;

namespace {

struct DumpRun {
  uint64_t first = 0, last = 0;
  std::string state;
};

// "bulkhead: smmu-v3-ste 0xFIRST-0xLAST STATE" lines, in order.
std::vector<DumpRun> parse_runs(const sim::CapturedLog& log) {
  std::vector<DumpRun> runs;
  const std::string prefix = "bulkhead: smmu-v3-ste ";
  for (const std::string& line : log.starting_with(prefix)) {
    DumpRun run;
    char* end = nullptr;
    run.first = std::strtoull(line.c_str() + prefix.size(), &end, 16);
    REQUIRE(*end == '-');
    run.last = std::strtoull(end + 1, &end, 16);
    REQUIRE(*end == ' ');
    run.state = end + 1;
    runs.push_back(run);
  }
  return runs;
}

// The runs cover 0..2^bits-1 without gap or overlap, no two neighbours share a state,
// and each StreamID does what its run says in the simulated SMMU.
void check_runs_match_smmu(test::SmmuBench& bench, const std::vector<DumpRun>& runs, unsigned sid_bits) {
  REQUIRE(!runs.empty());
  uint64_t next = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const DumpRun& run = runs[i];
    INFO("run " << run.first << "-" << run.last << " " << run.state);
    REQUIRE(run.first == next);
    REQUIRE(run.first <= run.last);
    if (i != 0) CHECK(run.state != runs[i - 1].state);
    sim::SimSmmu::Route expected = sim::SimSmmu::Route::aborts;
    if (run.state.rfind("stage", 0) == 0) expected = sim::SimSmmu::Route::translates;
    if (run.state == "bypass") expected = sim::SimSmmu::Route::bypasses;
    for (uint64_t sid = run.first; sid <= run.last; ++sid) {
      INFO("StreamID " << sid);
      REQUIRE(bench.smmu.route(static_cast<uint32_t>(sid)) == expected);
    }
    next = run.last + 1;
  }
  CHECK(next == (1ull << sid_bits));
}

}  // namespace

TEST_CASE("smmu dump: a 2-level stage-1 table in runs: invalid, attached by ASID, no level-2 table") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10, 0x300}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.driver.attach(a, 0x11, "0000:00:02.1"));
  REQUIRE(bench.driver.attach(b, 0x12, "0000:00:02.2"));
  sim::CapturedLog log;
  bench.driver.dump_stream_table();
  CHECK(log.lines() == std::vector<std::string>{
                           "bulkhead: smmu-v3-ste 0x0-0xf invalid",
                           "bulkhead: smmu-v3-ste 0x10-0x11 stage1 asid 1",
                           "bulkhead: smmu-v3-ste 0x12-0x12 stage1 asid 2",
                           "bulkhead: smmu-v3-ste 0x13-0xff invalid",
                           "bulkhead: smmu-v3-ste 0x100-0x2ff no-l2-table",
                           "bulkhead: smmu-v3-ste 0x300-0x3ff invalid",
                           "bulkhead: smmu-v3-ste 0x400-0xffff no-l2-table",
                           "bulkhead: smmu-v3-ste-summary streams 65536 aborting 65533 translating 3 bypass 0 attached 3",
                       });
  check_runs_match_smmu(bench, parse_runs(log), 16);

  // After the partition stops, its streams are back among the invalid ones.
  REQUIRE(bench.driver.detach_context(a));
  log.clear();
  bench.driver.dump_stream_table();
  CHECK(log.lines() == std::vector<std::string>{
                           "bulkhead: smmu-v3-ste 0x0-0x11 invalid",
                           "bulkhead: smmu-v3-ste 0x12-0x12 stage1 asid 2",
                           "bulkhead: smmu-v3-ste 0x13-0xff invalid",
                           "bulkhead: smmu-v3-ste 0x100-0x2ff no-l2-table",
                           "bulkhead: smmu-v3-ste 0x300-0x3ff invalid",
                           "bulkhead: smmu-v3-ste 0x400-0xffff no-l2-table",
                           "bulkhead: smmu-v3-ste-summary streams 65536 aborting 65535 translating 1 bypass 0 attached 1",
                       });
  check_runs_match_smmu(bench, parse_runs(log), 16);
}

TEST_CASE("smmu dump: a linear stage-2 table, STEs written behind the driver's back show as the SMMU reads them") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages(), 0x100);  // bus 0 only: 8-bit StreamIDs, linear
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  REQUIRE_FALSE(bench.driver.stream_table().two_level());
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(a, 0x8, "0000:00:01.0"));
  REQUIRE(bench.driver.attach(a, 0x9, "0000:00:01.1"));
  REQUIRE(bench.driver.attach(b, 0xa, "0000:00:01.2"));
  // What the dump exists to catch: an abort and a bypass STE the driver never wrote
  // (firmware's leftovers, a stray write). The bypass one lets DMA through untranslated.
  smmu::SteWords bypass;
  bypass.word[0] = 1 | (4u << 1);  // V, Config 0b100
  *bench.driver.stream_table().entry(bench.memory, 0x40) = smmu::abort_ste();
  *bench.driver.stream_table().entry(bench.memory, 0x41) = bypass;
  sim::CapturedLog log;
  bench.driver.dump_stream_table();
  CHECK(log.lines() == std::vector<std::string>{
                           "bulkhead: smmu-v3-ste 0x0-0x7 invalid",
                           "bulkhead: smmu-v3-ste 0x8-0x9 stage2 vmid 1",
                           "bulkhead: smmu-v3-ste 0xa-0xa stage2 vmid 2",
                           "bulkhead: smmu-v3-ste 0xb-0x3f invalid",
                           "bulkhead: smmu-v3-ste 0x40-0x40 abort",
                           "bulkhead: smmu-v3-ste 0x41-0x41 bypass",
                           "bulkhead: smmu-v3-ste 0x42-0xff invalid",
                           "bulkhead: smmu-v3-ste-summary streams 256 aborting 252 translating 3 bypass 1 attached 3",
                       });
  check_runs_match_smmu(bench, parse_runs(log), 8);
  CHECK(bench.smmu.dma(0x41, 0x12345000, true).physical == 0x12345000);  // it really bypasses
}

TEST_CASE("smmu dump: nothing to dump from an SMMU that was not enabled") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[0] &= ~(3u << 2);  // no AArch64 tables: refused
  test::SmmuBench bench(config);
  REQUIRE(bench.bring_up() == BringUpResult::refused);
  sim::CapturedLog log;
  bench.driver.dump_stream_table();
  CHECK(log.lines().empty());
}
