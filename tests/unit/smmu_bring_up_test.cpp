// Bring-up against the simulated SMMU: order, report, the all-abort stream table
// (linear and 2-level), refusals and a stuck SMMU reported rather than hung.
#include <doctest/doctest.h>

#include <string>

#include "smmu/registers.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;

TEST_CASE("smmu bring-up: global abort first, translation last, after the tables, queues and invalidation") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  sim::CapturedLog log;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  CHECK(bench.driver.ready());
  const auto& ops = bench.smmu.operations;
  REQUIRE(!ops.empty());
  CHECK(ops[0] == "GBPA 0x100000");  // ABORT, before anything else is written
  const long strtab = bench.find("STRTAB_BASE ");
  const long cmdq_on = bench.find("CR0 0x8");
  const long cfgi_all = bench.find("CMD_CFGI_ALL");
  const long tlbi_all = bench.find("CMD_TLBI_NSNH_ALL");
  const long first_sync = bench.find("CMD_SYNC");
  const long eventq_on = bench.find("CR0 0xc");
  const long irq = bench.find("IRQ_CTRL 0x5");
  const long smmu_on = bench.find("CR0 0xd");
  CHECK(bench.find("STRTAB_BASE_CFG ") > 0);
  CHECK(bench.find("CMDQ_BASE ") > 0);
  CHECK(bench.find("EVENTQ_BASE ") > 0);
  CHECK(0 < strtab);
  CHECK(strtab < cmdq_on);
  CHECK(cmdq_on < cfgi_all);
  CHECK(cfgi_all < tlbi_all);
  CHECK(tlbi_all < first_sync);
  CHECK(first_sync < eventq_on);
  CHECK(eventq_on < irq);
  CHECK(irq < smmu_on);
  CHECK(static_cast<size_t>(smmu_on) == ops.size() - 1);
  CHECK(bench.operations("unknown").empty());
  CHECK(bench.smmu.gbpa() == (1u << 20));
  CHECK(bench.smmu.cr0() == 0xd);
  CHECK(bench.operations("CR2 ") == std::vector<std::string>{"CR2 0x6"});  // PTM, RECINVSID
  // The report line, then nothing else.
  REQUIRE(log.lines().size() == 1);
  CHECK(log.lines()[0] ==
        "bulkhead: smmu-v3 /smmuv3@9050000 stage 2 streams 65536 sid-bits 16 table 2-level l2-tables 1 cmdq 256 "
        "eventq 128 memory " +
            test::hex_string(bench.driver.memory_used()) + " gbpa abort coherent yes");
}

TEST_CASE("smmu bring-up: QEMU 7.2 ignores GBPA, the report says so and stage 1 is used") {
  test::SmmuBench bench;
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(bench.smmu.operations[0] == "GBPA ignored");
  CHECK_FALSE(bench.driver.global_abort_honoured());
  CHECK(bench.driver.stage() == smmu::Stage::one);
  REQUIRE(log.lines().size() == 1);
  CHECK(log.lines()[0].find(" stage 1 streams 65536 sid-bits 16 table 2-level l2-tables 0 ") != std::string::npos);
  CHECK(log.lines()[0].find(" gbpa not-honoured coherent yes") != std::string::npos);
}

TEST_CASE("smmu bring-up: every StreamID of a 2-level table aborts, with and without level-2 tables") {
  test::SmmuBench bench;
  sim::CapturedLog log;
  // Functions on buses 0 and 3 (StreamIDs 0x8, 0x300): their level-2 tables exist.
  REQUIRE(bench.bring_up({0x8, 0x300, 0x301}) == BringUpResult::enabled);
  CHECK(bench.driver.stream_table().two_level());
  CHECK(bench.driver.stream_table().l2_tables() == 2);
  size_t without_l2 = 0;
  for (uint32_t sid = 0; sid < 0x10000; ++sid) {
    INFO("StreamID " << sid);
    REQUIRE(bench.smmu.route(sid) == sim::SimSmmu::Route::aborts);
    smmu::SteView view;
    const auto found = bench.driver.lookup(sid, view);
    if (found == smmu::StreamTable::Lookup::no_l2_table) {
      ++without_l2;
    } else {
      REQUIRE(found == smmu::StreamTable::Lookup::ste);
      REQUIRE(view.aborts());
    }
  }
  CHECK(without_l2 == 0x10000 - 2 * 256);
  // And a transaction from each kind reports the stream: invalid STE, no level-2 table.
  CHECK(bench.smmu.dma(0x8, 0x40000000, false).event == 0x04);    // C_BAD_STE
  CHECK(bench.smmu.dma(0x800, 0x40000000, false).event == 0x02);  // C_BAD_STREAMID
  CHECK_FALSE(bench.smmu.dma(0x8, 0x40000000, false).reaches_memory());
}

TEST_CASE("smmu bring-up: a small iommu-map gets a linear table, every entry aborting") {
  test::SmmuBench bench(sim::SimSmmuConfig::qemu_7_2(), 0x100);  // bus 0 only
  sim::CapturedLog log;
  REQUIRE(bench.bring_up({0x8}) == BringUpResult::enabled);
  CHECK_FALSE(bench.driver.stream_table().two_level());
  CHECK(bench.driver.stream_table().sid_bits() == 8);
  CHECK(bench.smmu.strtab_base_cfg() == 8);  // LOG2SIZE 8, linear
  for (uint32_t sid = 0; sid < 0x100; ++sid) {
    INFO("StreamID " << sid);
    REQUIRE(bench.smmu.route(sid) == sim::SimSmmu::Route::aborts);
  }
  // Beyond the table: C_BAD_STREAMID (CR2.RECINVSID), never a translation.
  CHECK(bench.smmu.dma(0x100, 0x40000000, true).event == 0x02);
  CHECK(log.lines()[0].find("streams 256 sid-bits 8 table linear l2-tables 0") != std::string::npos);
}

TEST_CASE("smmu bring-up: without 2-level tables a large StreamID space needs a huge linear table") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[0] &= ~(3u << 27);  // linear tables only
  test::SmmuBench bench(config, 0x10000, 1 << 20);
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::out_of_memory);
  CHECK(log.errors() == std::vector<std::string>{
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: no memory for a linear stream table of 4194304 "
                            "bytes for 16-bit StreamIDs (IDR0.ST_LEVEL: no 2-level tables)"});
  CHECK_FALSE(bench.driver.ready());
}

TEST_CASE("smmu bring-up: an SMMU lacking a feature is refused, stays off and global bypass aborts") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[5] &= ~(1u << 4);  // no 4 KiB granule
  test::SmmuBench bench(config);
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::refused);
  CHECK(log.errors() == std::vector<std::string>{
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: cannot be used: no 4 KiB translation granule "
                            "(IDR5.GRAN4K 0); it stays off, global bypass aborts"});
  CHECK(bench.smmu.cr0() == 0);
  CHECK(bench.smmu.route(0x8) == sim::SimSmmu::Route::aborts);
  CHECK_FALSE(bench.smmu.dma(0x8, 0x40000000, true).reaches_memory());
  CHECK(bench.driver.create_context(test::alpha) == smmu::no_context);
}

TEST_CASE("smmu bring-up: translation left on by firmware is turned off before anything else") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.write32(smmu::reg::cr0, 1);  // firmware: SMMUEN with tables that let everything through
  bench.smmu.operations.clear();
  sim::CapturedLog log;
  REQUIRE(bench.driver.abort_bypass(bench.platform) == BringUpResult::enabled);
  CHECK(bench.smmu.operations == std::vector<std::string>{"GBPA 0x100000", "CR0 0x0"});
  CHECK(bench.smmu.route(0x8) == sim::SimSmmu::Route::aborts);
}

TEST_CASE("smmu bring-up: a CMD_SYNC that never completes is a reported failure, not a hang") {
  test::SmmuBench bench;
  bench.smmu.command_mode = sim::CommandMode::stuck;
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::stuck);
  CHECK(bench.driver.failed());
  CHECK_FALSE(bench.driver.ready());
  CHECK(log.errors() == std::vector<std::string>{
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: invalidating everything at bring-up: the command "
                            "queue did not drain within 1000000 us (CMDQ_PROD 0x3 CMDQ_CONS 0x0): the SMMU is stuck"});
  // Bounded: one second of (fake) time, then it gave up.
  CHECK(bench.clock.now() >= 1000000);
  CHECK(bench.clock.now() < 1100000);
  CHECK(bench.smmu.cr0() == 0x8);  // never enabled
}

TEST_CASE("smmu bring-up: a CR0 write that is never acknowledged is reported") {
  test::SmmuBench bench;
  bench.smmu.cr0ack_stuck = true;
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::stuck);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("smmu-v3 /smmuv3@9050000: CR0 not acknowledged within 1000000 us") != std::string::npos);
}

TEST_CASE("smmu bring-up: no SMMU in the firmware DT") {
  test::SmmuBench bench;
  bench.platform.smmu.present = false;
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::absent);
  CHECK(log.lines().empty());
  CHECK(bench.smmu.operations.empty());
}

TEST_CASE("smmu bring-up: a host bridge without an iommu-map to the SMMU is reported") {
  test::SmmuBench bench;
  bench.platform.pcie_hosts[1] = sim::qemu_host("/pcie@20000000");
  bench.platform.pcie_hosts[1].iommu_map.count = 0;
  bench.platform.pcie_host_count = 2;
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(log.contains("bulkhead: smmu-v3 /smmuv3@9050000 untranslated-host /pcie@20000000"));
}

TEST_CASE("smmu bring-up: the CPU's stage 2 must have the SMMU's layout") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  sim::CapturedLog log;
  smmu::BringUpOptions options;
  options.cpu_vtcr = 25 | (1u << 6) | (1u << 31);  // a 39-bit IPA starting at level 1
  CHECK(bench.driver.bring_up(bench.platform, options) == BringUpResult::refused);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("the CPU's stage 2 (VTCR 0x80000059) has another layout than the SMMU's (0x43598)") !=
        std::string::npos);
  test::SmmuBench same(sim::SimSmmuConfig::two_stages());
  options.cpu_vtcr = 0x43598 | (1u << 31);  // core/mmu/stage2's layout with PS 44 bits
  CHECK(same.driver.bring_up(same.platform, options) == BringUpResult::enabled);
}
