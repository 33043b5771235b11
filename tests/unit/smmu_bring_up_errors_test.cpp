// Bring-up when things go wrong or differ: memory running out at each allocation, every
// handshake that never completes (GBPA, CR0 bits, IRQ_CTRL), errors firmware left
// behind, what the firmware's iommu-maps and RAM demand, optional features.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "smmu/registers.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using smmu::BringUpResult;

namespace {

constexpr const char* error_prefix = "bulkhead: error: smmu-v3 /smmuv3@9050000: ";

smmu::EventRecord unowned_fault(uint32_t sid) {
  smmu::EventRecord r;
  r.word[0] = 0x10 | static_cast<uint64_t>(sid) << 32;  // F_TRANSLATION
  r.word[2] = 0x40000000;
  return r;
}

// The SMMU stays off, with global bypass aborting: no StreamID reaches memory.
void check_off_and_aborting(test::SmmuBench& bench) {
  CHECK_FALSE(bench.driver.ready());
  CHECK((bench.smmu.cr0() & smmu::cr0::smmuen::mask) == 0);
  for (const uint32_t sid : {0x0u, 0x10u, 0xffffu}) CHECK_FALSE(bench.smmu.dma(sid, 0x40000000, true).reaches_memory());
}

}  // namespace

TEST_CASE("smmu bring-up errors: each result has its own name") {
  const std::set<std::string> names = {smmu::bring_up_result_name(BringUpResult::enabled),
                                        smmu::bring_up_result_name(BringUpResult::absent),
                                        smmu::bring_up_result_name(BringUpResult::refused),
                                        smmu::bring_up_result_name(BringUpResult::stuck),
                                        smmu::bring_up_result_name(BringUpResult::out_of_memory)};
  CHECK(names == std::set<std::string>{"enabled", "absent", "refused", "stuck", "out-of-memory"});
  CHECK(std::string(smmu::bring_up_result_name(static_cast<BringUpResult>(99))) == "unknown");
}

TEST_CASE("smmu bring-up errors: memory runs out at the level-2 table, the command queue, the event queue") {
  // 2-level table for 16-bit StreamIDs: level 1 2 KiB at 0, the level-2 table of bus 0
  // 16 KiB at 16 KiB (natural alignment), the queues 4 KiB each from 32 KiB.
  const struct {
    uint64_t pool;
    std::string error;
  } cases[] = {
      {1 << 10, "no memory for a 2-level stream table of 2048 bytes for 16-bit StreamIDs"},
      {16 << 10, "no memory for the level-2 stream table of StreamID 0x10"},
      {32 << 10, "no memory for the command and event queues"},
      {36 << 10, "no memory for the command and event queues"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.pool);
    test::SmmuBench bench(sim::SimSmmuConfig::two_stages(), 0x10000, c.pool);
    sim::CapturedLog log;
    CHECK(bench.bring_up({0x10}) == BringUpResult::out_of_memory);
    CHECK(log.errors() == std::vector<std::string>{error_prefix + c.error});
    CHECK(log.starting_with("bulkhead: smmu-v3 ").empty());  // no report line
    check_off_and_aborting(bench);
  }
  // With 40 KiB everything fits, exactly.
  test::SmmuBench enough(sim::SimSmmuConfig::two_stages(), 0x10000, 40 << 10);
  CHECK(enough.bring_up({0x10}) == BringUpResult::enabled);
  CHECK(enough.driver.memory_used() == (40 << 10));
}

TEST_CASE("smmu bring-up errors: a GBPA update that never completes is stuck, within the bound given") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.gbpa_update_stuck = true;
  sim::CapturedLog log;
  CHECK(bench.driver.abort_bypass(bench.platform, 5000) == BringUpResult::stuck);
  CHECK(bench.clock.now() >= 5000);
  CHECK(bench.clock.now() < 6000);
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "GBPA update not acknowledged within 5000 us (register 0x44 reads "
                                                 "0x80000000, expected 0x0 under mask 0x80000000): the SMMU is stuck"});
  CHECK(bench.driver.failed());
  // bring_up() starts with the same step: it waits for the update still pending, in
  // vain, and writes nothing at all.
  bench.smmu.operations.clear();
  CHECK(bench.bring_up() == BringUpResult::stuck);
  CHECK(bench.smmu.operations.empty());
}

TEST_CASE("smmu bring-up errors: firmware's translation cannot be turned off when CR0ACK never follows") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.write32(smmu::reg::cr0, 1);  // firmware left SMMUEN on
  bench.smmu.cr0ack_stuck = true;
  sim::CapturedLog log;
  CHECK(bench.driver.abort_bypass(bench.platform) == BringUpResult::stuck);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("CR0 not acknowledged within 1000000 us (register 0x24 reads 0x1, expected 0x0") !=
        std::string::npos);
}

TEST_CASE("smmu bring-up errors: queues firmware left on cannot be stopped when CR0ACK never follows") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.write32(smmu::reg::cr0, static_cast<uint32_t>(smmu::cr0::cmdqen::mask | smmu::cr0::eventqen::mask));
  bench.smmu.cr0ack_stuck = true;
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::stuck);  // translation was off: GBPA alone governed until here
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0].find("CR0 not acknowledged within 1000000 us (register 0x24 reads 0xc, expected 0x0") !=
        std::string::npos);
  CHECK(bench.find("STRTAB_BASE ") < 0);
}

TEST_CASE("smmu bring-up errors: EVENTQEN or SMMUEN never acknowledged is stuck, and never ready") {
  const struct {
    uint32_t ignored;
    const char* reads;
  } cases[] = {{static_cast<uint32_t>(smmu::cr0::eventqen::mask), "(register 0x24 reads 0x8, expected 0xc"},
               {static_cast<uint32_t>(smmu::cr0::smmuen::mask), "(register 0x24 reads 0xc, expected 0xd"}};
  for (const auto& c : cases) {
    CAPTURE(c.ignored);
    test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
    bench.smmu.cr0ack_ignored_bits = c.ignored;
    sim::CapturedLog log;
    CHECK(bench.bring_up() == BringUpResult::stuck);
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].find(c.reads) != std::string::npos);
    CHECK(bench.driver.failed());
    CHECK_FALSE(bench.driver.ready());
    CHECK(bench.find("CMD_CFGI_ALL") > 0);  // the invalidation went through before
    CHECK(bench.driver.create_context(test::alpha) == smmu::no_context);
  }
}

TEST_CASE("smmu bring-up errors: IRQ_CTRL never acknowledged, when turning interrupts off or on") {
  SUBCASE("firmware left the interrupts on") {
    test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
    bench.smmu.write32(smmu::reg::irq_ctrl, 5);
    bench.smmu.irq_ctrlack_stuck = true;
    sim::CapturedLog log;
    CHECK(bench.bring_up() == BringUpResult::stuck);
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].find("IRQ_CTRL not acknowledged within 1000000 us (register 0x54 reads 0x5, expected 0x0") !=
          std::string::npos);
    CHECK(bench.find("STRTAB_BASE ") < 0);  // stopped before any table was given to the SMMU
  }
  SUBCASE("enabling them") {
    test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
    bench.smmu.irq_ctrlack_stuck = true;
    sim::CapturedLog log;
    CHECK(bench.bring_up() == BringUpResult::stuck);
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].find("IRQ_CTRL not acknowledged within 1000000 us (register 0x54 reads 0x0, expected 0x5") !=
          std::string::npos);
    CHECK(bench.smmu.cr0() == 0xc);  // never enabled
  }
}

TEST_CASE("smmu bring-up errors: without interrupts requested IRQ_CTRL stays off") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  smmu::BringUpOptions options;
  options.enable_interrupts = false;
  REQUIRE(bench.driver.bring_up(bench.platform, options) == BringUpResult::enabled);
  CHECK(bench.operations("IRQ_CTRL") == std::vector<std::string>{"IRQ_CTRL 0x0"});
  CHECK(bench.smmu.irq_ctrl() == 0);
  CHECK(bench.driver.ready());
}

TEST_CASE("smmu bring-up errors: an SMMU with MSIs gets firmware's MSI addresses cleared: interrupts are wired") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[0] |= smmu::idr0::msi::mask;
  test::SmmuBench bench(config);
  bench.smmu.write64(smmu::reg::gerror_irq_cfg0, 0x08090040);
  bench.smmu.write64(smmu::reg::eventq_irq_cfg0, 0x08090040);
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(bench.smmu.read64(smmu::reg::gerror_irq_cfg0) == 0);
  CHECK(bench.smmu.read64(smmu::reg::eventq_irq_cfg0) == 0);
  // Without IDR0.MSI those registers are not the driver's business.
  test::SmmuBench wired(sim::SimSmmuConfig::two_stages());
  wired.smmu.write64(smmu::reg::gerror_irq_cfg0, 0x1234);
  REQUIRE(wired.bring_up() == BringUpResult::enabled);
  CHECK(wired.smmu.read64(smmu::reg::gerror_irq_cfg0) == 0x1234);
}

TEST_CASE("smmu bring-up errors: global errors firmware left are reported and acknowledged at bring-up") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.raise_global_error(static_cast<uint32_t>(smmu::gerror::eventq_abt_err::mask |
                                                      smmu::gerror::msi_gerror_abt_err::mask));
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  // No fault log yet: even the event queue's abort is an error line.
  CHECK(log.errors() == std::vector<std::string>{
                            std::string(error_prefix) + "global error EVENTQ_ABT_ERR: event records were lost",
                            std::string(error_prefix) + "global error MSI_GERROR_ABT_ERR: global error MSI write aborted"});
  CHECK(bench.smmu.read32(smmu::reg::gerror) == bench.smmu.read32(smmu::reg::gerrorn));
  CHECK(bench.driver.ready());
}

TEST_CASE("smmu bring-up errors: a stage 2 too small for the guest address space is said, and stage 1 used") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[5] = (config.idr[5] & ~7u) | 1;  // OAS 36 bits
  test::SmmuBench bench(config);
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(bench.driver.stage() == smmu::Stage::one);
  REQUIRE(log.lines().size() == 2);
  CHECK(log.lines()[0] == "bulkhead: smmu-v3 /smmuv3@9050000 stage-2 unused: output addresses of 36 bits (IDR5.OAS) "
                          "are below the 40-bit guest address space");
  CHECK(log.lines()[1].rfind("bulkhead: smmu-v3 /smmuv3@9050000 stage 1 streams 65536 ", 0) == 0);
}

TEST_CASE("smmu bring-up errors: a refused SMMU without GBPA says that DMA bypasses it") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2();
  config.idr[0] &= ~3u;  // neither stage
  test::SmmuBench bench(config);
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::refused);
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "cannot be used: neither stage 1 nor stage 2 translation (IDR0.S1P 0, "
                                                 "IDR0.S2P 0); it stays off, global bypass is not honoured"});
  CHECK(bench.smmu.route(0x10) == sim::SimSmmu::Route::bypasses);  // what "not honoured" means
}

TEST_CASE("smmu bring-up errors: the iommu-maps decide the StreamIDs, maps to another IOMMU do not count") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  PcieHostInfo& host = bench.platform.pcie_hosts[0];
  host.iommu_map.entries[0] = {0, 0x1234, 0, 0x10000};             // another IOMMU's
  host.iommu_map.entries[1] = {0, sim::smmu_phandle, 0, 0x100};    // bus 0: StreamIDs 0..0xff
  host.iommu_map.entries[2] = {0x100, sim::smmu_phandle, 0x80, 0x20};  // bus 1's first slots: 0x80..0x9f
  host.iommu_map.entries[3] = {0x200, sim::smmu_phandle, 0x400, 0};   // empty
  host.iommu_map.count = 4;
  bench.platform.pcie_hosts[1] = sim::qemu_host("/pcie@20000000");
  bench.platform.pcie_hosts[1].iommu_map.entries[0].target_phandle = 0x1234;
  bench.platform.pcie_hosts[1].iommu_map.entries[1] = {0, sim::smmu_phandle, 0, 0};
  bench.platform.pcie_hosts[1].iommu_map.count = 2;
  bench.platform.pcie_host_count = 2;
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(log.lines() ==
        std::vector<std::string>{"bulkhead: smmu-v3 /smmuv3@9050000 untranslated-host /pcie@20000000",
                                 "bulkhead: smmu-v3 /smmuv3@9050000 stage 2 streams 288 sid-bits 8 table linear l2-tables "
                                 "0 cmdq 256 eventq 128 memory " +
                                     test::hex_string(bench.driver.memory_used()) + " gbpa abort coherent yes"});
}

TEST_CASE("smmu bring-up errors: the highest RAM address of any bank must be within the SMMU's output size") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[5] &= ~7u;  // OAS 32 bits
  test::SmmuBench bench(config);
  bench.platform.ram[0] = {0x100000000ull, 0x40000000};  // above 4 GiB, listed first
  bench.platform.ram[1] = {0x40000000, 0x80000000};
  bench.platform.ram[2] = {0x200000000ull, 0};  // empty: ignored
  bench.platform.ram_count = 3;
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::refused);
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) +
                                                 "cannot be used: output addresses of 32 bits (IDR5.OAS 0) cannot reach "
                                                 "RAM up to 0x13fffffff; it stays off, global bypass aborts"});
  check_off_and_aborting(bench);
}

TEST_CASE("smmu bring-up errors: a small event queue is used at its size, and its overflow reported") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[1] = (config.idr[1] & ~(0x1fu << 16)) | (3u << 16);  // EVENTQS 3: 8 records
  test::SmmuBench bench(config);
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(log.lines()[0].find(" cmdq 256 eventq 8 ") != std::string::npos);
  for (uint32_t i = 0; i < 9; ++i) bench.smmu.inject_event(unowned_fault(0x20 + i));
  smmu::FaultLog faults(bench.clock);
  log.clear();
  CHECK(bench.driver.service(faults) == 8);
  CHECK(faults.unowned_faults() == 8);
  CHECK(faults.overflows() == 1);
  CHECK(log.contains("bulkhead: smmu-v3 event-queue overflow: events were lost"));
}

TEST_CASE("smmu bring-up errors: a command error firmware left is acknowledged before the new queue starts") {
  // Unacknowledged, it would stop the new queue at its first command: CMD_CFGI_ALL
  // would be taken for the refused one and skipped, and bring-up would fail.
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.raise_global_error(static_cast<uint32_t>(smmu::gerror::cmdq_err::mask));
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  CHECK(log.errors() == std::vector<std::string>{std::string(error_prefix) + "global error CMDQ_ERR: a command was refused"});
  const long acknowledged = bench.find("GERRORN 0x1");
  CHECK(acknowledged > 0);
  CHECK(acknowledged < bench.find("CR0 0x8"));
  CHECK(bench.operations("CMD_") ==
        std::vector<std::string>{"CMD_CFGI_ALL", "CMD_TLBI_NSNH_ALL", "CMD_SYNC"});  // nothing skipped
  CHECK(bench.driver.ready());
}

TEST_CASE("smmu bring-up errors: an SMMU in service failure mode is not enabled: DMA isolation is not assured") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  bench.smmu.raise_global_error(static_cast<uint32_t>(smmu::gerror::sfm_err::mask));
  sim::CapturedLog log;
  CHECK(bench.bring_up() == BringUpResult::stuck);
  CHECK(log.lines() == std::vector<std::string>{std::string(error_prefix) +
                                                "global error SFM_ERR: the SMMU entered service failure mode"});
  CHECK(bench.driver.failed());
  check_off_and_aborting(bench);
}
