// DMA contexts and attached streams, proved by transactions through the simulated SMMU:
// a partition's device reaches exactly its RAM, nothing else, in both stages.
#include <doctest/doctest.h>

#include <string>

#include "core/mmu/page_table.hpp"
#include "tests/unit/smmu_support.hpp"

using namespace bulkhead;
using sim::DmaOutcome;
using smmu::BringUpResult;
using smmu::ContextId;

namespace {

// What every context must do: its RAM both ways, nothing below, above, or elsewhere.
void check_confined(test::SmmuBench& bench, uint32_t sid, const smmu::ContextConfig& ram) {
  for (const bool write : {false, true}) {
    const DmaOutcome first = bench.smmu.dma(sid, ram.guest_base, write);
    CHECK(first.kind == DmaOutcome::Kind::translated);
    CHECK(first.physical == ram.host_base);
    const DmaOutcome last = bench.smmu.dma(sid, ram.guest_base + ram.size - 8, write);
    CHECK(last.kind == DmaOutcome::Kind::translated);
    CHECK(last.physical == ram.host_base + ram.size - 8);
    const uint64_t outside[] = {ram.guest_base - 0x1000, ram.guest_base + ram.size, 0x08000000 /* GIC */,
                                0x09000000 /* UART */, ram.host_base + 0x40000000, 0x8000000000ull /* PCI mem64 */,
                                1ull << 40};
    for (const uint64_t iova : outside) {
      INFO("iova " << std::hex << iova);
      const DmaOutcome o = bench.smmu.dma(sid, iova, write);
      CHECK(o.kind == DmaOutcome::Kind::faulted);
      CHECK(o.event == 0x10);  // F_TRANSLATION, recorded
    }
  }
}

}  // namespace

TEST_CASE("smmu contexts: stage 1 (QEMU 7.2) confines a stream to its partition's RAM") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10, 0x18}) == BringUpResult::enabled);
  sim::CapturedLog log;
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(a != smmu::no_context);
  REQUIRE(b != smmu::no_context);
  CHECK(log.contains("bulkhead: smmu-v3-context alpha stage 1 asid 1 ram 0x40000000 size 0x10000000 host 0x60000000"));
  CHECK(log.contains("bulkhead: smmu-v3-context beta stage 1 asid 2 ram 0x40000000 size 0x8000000 host 0x80000000"));
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.driver.attach(b, 0x18, "0000:00:03.0"));
  // STE written before its invalidation, and the invalidation synced.
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 1 ste stage1 asid 1", "CMD_SYNC",
                                                         "CMD_CFGI_STE 0x18 leaf 1 ste stage1 asid 2", "CMD_SYNC"});
  CHECK(log.contains("bulkhead: smmu-v3-stream 0x10 partition alpha function 0000:00:02.0 stage 1 asid 1"));
  CHECK(log.contains("bulkhead: smmu-v3-stream 0x18 partition beta function 0000:00:03.0 stage 1 asid 2"));
  check_confined(bench, 0x10, test::alpha);
  check_confined(bench, 0x18, test::beta);
  // The same IOVA lands in each partition's own RAM; RAM is normal write-back memory.
  const DmaOutcome in_alpha = bench.smmu.dma(0x10, 0x40123000, true);
  const DmaOutcome in_beta = bench.smmu.dma(0x18, 0x40123000, true);
  CHECK(in_alpha.physical == 0x60123000);
  CHECK(in_beta.physical == 0x80123000);
  bench.smmu.operations.clear();  // fresh walks, not TLB hits
  CHECK(bench.smmu.dma(0x10, 0x40400000, false).attributes == 0xff);  // MAIR Attr2: normal write-back
  // Other streams still abort.
  CHECK(bench.smmu.route(0x11) == sim::SimSmmu::Route::aborts);
  CHECK(bench.smmu.route(0x10) == sim::SimSmmu::Route::translates);
}

TEST_CASE("smmu contexts: stage 2 mirrors the CPU's stage-2 layout with the partition's VMID") {
  test::SmmuBench bench(sim::SimSmmuConfig::two_stages());
  REQUIRE(bench.bring_up({0x10, 0x18}) == BringUpResult::enabled);
  REQUIRE(bench.driver.stage() == smmu::Stage::two);
  sim::CapturedLog log;
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  CHECK(log.contains("bulkhead: smmu-v3-context alpha stage 2 vmid 1 ram 0x40000000 size 0x10000000 host 0x60000000"));
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.driver.attach(b, 0x18, "0000:00:03.0"));
  CHECK(bench.operations("CMD_CFGI_STE") == std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 1 ste stage2 vmid 1",
                                                                     "CMD_CFGI_STE 0x18 leaf 1 ste stage2 vmid 2"});
  check_confined(bench, 0x10, test::alpha);
  check_confined(bench, 0x18, test::beta);
  CHECK(bench.smmu.dma(0x10, 0x40600000, false).attributes == 0xf);  // MemAttr: normal write-back
  // The SMMU's STE carries the VTCR fields core/mmu/stage2 gives the CPU.
  smmu::SteView view;
  REQUIRE(bench.driver.lookup(0x10, view) == smmu::StreamTable::Lookup::ste);
  CHECK(view.vmid == 1);
  CHECK((view.vtcr & smmu::vtcr::layout) == (stage2_setup(0x5, 0x0).vtcr & smmu::vtcr::layout));
}

TEST_CASE("smmu contexts: a non-coherent SMMU sees everything the driver wrote") {
  sim::SimSmmuConfig config = sim::SimSmmuConfig::two_stages();
  config.idr[0] &= ~(1u << 4);  // COHACC 0
  test::SmmuBench bench(config);
  REQUIRE(bench.bring_up() == BringUpResult::enabled);  // no level-2 table yet: attach makes it
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x305, "0000:03:00.5"));
  CHECK(bench.operations("CMD_CFGI_STE") == std::vector<std::string>{"CMD_CFGI_STE 0x305 leaf 0 ste stage2 vmid 1"});
  check_confined(bench, 0x305, test::alpha);
  CHECK(bench.memory.publishes() > 0);
}

TEST_CASE("smmu contexts: detaching aborts at once, without CFGI_STE the SMMU would go on translating") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  REQUIRE(bench.smmu.dma(0x10, 0x40000000, true).reaches_memory());
  // The model caches configuration like hardware: an STE rewritten behind its back is not seen...
  smmu::SteWords saved;
  {
    uint64_t physical = 0;
    smmu::SteWords* entry = bench.driver.stream_table().entry(bench.memory, 0x10, &physical);
    saved = *entry;
    *entry = smmu::invalid_ste();
    CHECK(bench.smmu.dma(0x10, 0x40000000, true).reaches_memory());
    *entry = saved;
  }
  // ...so detach() must invalidate and sync, and then nothing reaches memory.
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.detach(0x10));
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_CFGI_STE 0x10 leaf 1 ste invalid", "CMD_SYNC"});
  CHECK(log.contains("bulkhead: smmu-v3-stream 0x10 detached partition alpha function 0000:00:02.0"));
  const DmaOutcome after = bench.smmu.dma(0x10, 0x40000000, true);
  CHECK_FALSE(after.reaches_memory());
  CHECK(after.event == 0x04);  // C_BAD_STE: reported as an unowned stream
  CHECK_FALSE(bench.driver.owner_of(0x10).owned);
  // Attach again (a restart): translating again.
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.smmu.dma(0x10, 0x40000000, true).reaches_memory());
}

TEST_CASE("smmu contexts: a stream belongs to one partition at a time") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x100}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  const ContextId b = bench.driver.create_context(test::beta);
  REQUIRE(bench.driver.attach(a, 0x100, "0000:01:00.0"));
  sim::CapturedLog log;
  CHECK(bench.driver.attach(a, 0x100, "0000:01:00.0"));  // again: nothing to do
  CHECK(log.lines().empty());
  CHECK_FALSE(bench.driver.attach(b, 0x100, "0000:01:00.1"));
  CHECK(log.errors() == std::vector<std::string>{"bulkhead: error: smmu-v3 /smmuv3@9050000: partition beta: StreamID "
                                                 "0x100 is already attached to partition alpha (function 0000:01:00.0)"});
  CHECK(bench.smmu.dma(0x100, 0x40000000, true).physical == 0x60000000);  // still alpha's
  // A function list with one conflicting stream writes nothing at all.
  smmu::FunctionStreams functions[2];
  functions[0] = {"0000:02:00.0", {0x200, 0}, 1};
  functions[1] = {"0000:01:00.1", {0x101, 0x100}, 2};
  CHECK_FALSE(bench.driver.attach_functions(b, functions, 2));
  CHECK(bench.smmu.route(0x200) == sim::SimSmmu::Route::aborts);
  CHECK(bench.smmu.route(0x101) == sim::SimSmmu::Route::aborts);
  CHECK_FALSE(bench.driver.attach(b, 0x10000, "0000:00:00.0"));  // beyond the 16-bit table
}

TEST_CASE("smmu contexts: a function's own StreamID and its DMA alias point at its context with one sync") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x200}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  // Behind a PCIe-to-PCI bridge whose secondary bus is 2: own RID 02:01.0, alias 02:00.0.
  smmu::FunctionStreams behind[2];
  behind[0] = {"0000:02:01.0", {0x208, 0x200}, 2};
  behind[1] = {"0000:02:02.0", {0x210, 0x200}, 2};
  bench.smmu.operations.clear();
  REQUIRE(bench.driver.attach_functions(a, behind, 2));
  CHECK(bench.smmu.operations ==
        std::vector<std::string>{"CMD_CFGI_STE 0x208 leaf 1 ste stage1 asid 1", "CMD_CFGI_STE 0x200 leaf 1 ste stage1 asid 1",
                                 "CMD_CFGI_STE 0x210 leaf 1 ste stage1 asid 1", "CMD_SYNC"});
  for (const uint32_t sid : {0x208u, 0x200u, 0x210u}) CHECK(bench.smmu.route(sid) == sim::SimSmmu::Route::translates);
  CHECK(std::string(bench.driver.owner_of(0x200).function) == "0000:02:01.0");
}

TEST_CASE("smmu contexts: the MSI doorbell page is the only extra mapping, after a TLB invalidation") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up({0x10}) == BringUpResult::enabled);
  const ContextId a = bench.driver.create_context(test::alpha);
  REQUIRE(bench.driver.attach(a, 0x10, "0000:00:02.0"));
  CHECK(bench.smmu.dma(0x10, 0x08090040, true).kind == DmaOutcome::Kind::faulted);
  sim::CapturedLog log;
  bench.smmu.operations.clear();
  // GITS_TRANSLATER's page of QEMU virt's ITS, at the same guest-physical address.
  REQUIRE(bench.driver.map_extra_page(a, 0x08090000, 0x08090000));
  CHECK(bench.smmu.operations == std::vector<std::string>{"CMD_TLBI_NH_ASID 1", "CMD_SYNC"});
  CHECK(log.contains("bulkhead: smmu-v3-context alpha extra-page iova 0x8090000 physical 0x8090000"));
  const DmaOutcome doorbell = bench.smmu.dma(0x10, 0x08090040, true);
  CHECK(doorbell.kind == DmaOutcome::Kind::translated);
  CHECK(doorbell.physical == 0x08090040);
  CHECK(doorbell.attributes == 0x04);  // MAIR Attr1: Device-nGnRE
  CHECK(bench.smmu.dma(0x10, 0x08091000, true).kind == DmaOutcome::Kind::faulted);  // one page only
  CHECK(bench.smmu.dma(0x10, 0x0808f000, true).kind == DmaOutcome::Kind::faulted);
  CHECK_FALSE(bench.driver.map_extra_page(a, 1ull << 40, 0x08090000));  // beyond the DMA address space
}

TEST_CASE("smmu contexts: bad context requests are refused with the partition named") {
  test::SmmuBench bench;
  REQUIRE(bench.bring_up() == BringUpResult::enabled);
  sim::CapturedLog log;
  smmu::ContextConfig c = test::alpha;
  c.tag = 0;
  CHECK(bench.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.size = 0x1234;
  CHECK(bench.driver.create_context(c) == smmu::no_context);
  c = test::alpha;
  c.host_base = 1ull << 44;  // beyond QEMU's 44-bit output addresses
  CHECK(bench.driver.create_context(c) == smmu::no_context);
  REQUIRE(bench.driver.create_context(test::alpha) != smmu::no_context);
  c = test::beta;
  c.tag = test::alpha.tag;
  CHECK(bench.driver.create_context(c) == smmu::no_context);
  CHECK(log.errors() == std::vector<std::string>{
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: partition alpha: asid 0 is outside 1..65535",
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: partition alpha: RAM guest 0x40000000 host "
                            "0x60000000 size 0x1234 is not whole pages",
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: partition alpha: RAM guest 0x40000000 host "
                            "0x100000000000 size 0x10000000 is beyond the 40-bit DMA or 44-bit output addresses",
                            "bulkhead: error: smmu-v3 /smmuv3@9050000: partition beta: tag 1 is already partition "
                            "alpha's"});
}
