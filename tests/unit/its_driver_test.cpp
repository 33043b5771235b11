// ITS bring-up and the redistributors' LPIs against the simulated ITS: QEMU 7.2's ITS,
// ITSs that take only 64 KiB pages or no indirection, a non-coherent one, and every
// refusal; a stuck or stalled ITS is reported within the bound, never waited on forever.
#include <doctest/doctest.h>

#include "core/its/registers.hpp"
#include "tests/unit/its_support.hpp"

using namespace bulkhead;
using its::Status;

TEST_CASE("its bring-up: QEMU 7.2's ITS gets 4 KiB pages, a 2-level device table, a queue and the LPI table") {
  test::ItsBench bench;
  sim::CapturedLog log;
  REQUIRE(bench.bring_up() == Status::ok);
  CHECK(bench.driver.ready());
  const its::Layout& layout = bench.driver.layout();
  CHECK(layout.itt_entry_bytes == 12);
  CHECK(layout.event_bits == 16);
  CHECK(layout.device_bits == 16);
  CHECK_FALSE(layout.pta);
  CHECK(layout.device_page == 0x1000);
  CHECK(layout.device_two_level);
  CHECK(layout.device_ids == 0x10000);
  CHECK(layout.device_table_pages == 1);  // 128 level-1 entries
  CHECK(layout.collection_ids == 0x1000 / 8);
  CHECK(layout.command_entries == 128);
  CHECK(layout.lpi_id_bits == 15);
  CHECK(layout.tables_coherent);
  // What the ITS holds: valid tables where the driver put them, the queue, enabled.
  const uint64_t device_baser = bench.its.baser(0);
  CHECK((device_baser >> 63) == 1);
  CHECK(((device_baser >> 62) & 1) == 1);  // indirect
  CHECK(((device_baser >> 8) & 3) == 0);   // 4 KiB pages
  CHECK(((device_baser >> 10) & 3) == 1);  // inner shareable
  CHECK(((device_baser >> 59) & 7) == 7);  // RaWaWb
  CHECK((device_baser & 0xfffffffff000ull) == layout.device_table);
  CHECK((bench.its.baser(1) & 0xfffffffff000ull) == layout.collection_table);
  CHECK((bench.its.cbaser() & 0xfffffffff000ull) == layout.command_queue);
  CHECK((bench.its.cbaser() >> 63) == 1);
  CHECK((bench.its.ctlr() & 1) == 1);
  REQUIRE(log.lines().size() == 1);
  CHECK(log.lines()[0] ==
        "bulkhead: gic-v3-its /intc@8000000/its@8080000 devices 2-level ids 65536 page 0x1000 collections 4 "
        "event-bits 16 itt-entry 12 lpis 0x2000-0x7fff cmdq 128 memory " +
            test::its_hex(bench.driver.memory_used()) + " coherent yes");
  // Level-1 table, collection table, queue, and 24 KiB of LPI configuration.
  CHECK(bench.driver.memory_used() == 0x1000 + 0x1000 + 0x1000 + 0x6000);
}

TEST_CASE("its bring-up: each redistributor gets the shared configuration table, its own pending table and a "
          "collection") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  const uint64_t properties = bench.driver.layout().property_table;
  uint64_t pending_tables[4] = {};
  for (unsigned cpu = 0; cpu < 4; ++cpu) {
    INFO("CPU " << cpu);
    sim::SimRedistributor& rd = bench.its.redistributor(cpu);
    CHECK(rd.lpis_enabled());
    CHECK((rd.propbaser() & 0xffffffffff000ull) == properties);
    CHECK((rd.propbaser() & 0x1f) == 14);  // IDbits: INTIDs below 2^15
    CHECK(((rd.propbaser() >> 10) & 3) == 1);
    pending_tables[cpu] = rd.pendbaser() & 0xfffffffff0000ull;
    CHECK(pending_tables[cpu] % 0x10000 == 0);
    CHECK(pending_tables[cpu] != 0);
    for (unsigned other = 0; other < cpu; ++other) CHECK(pending_tables[other] != pending_tables[cpu]);
    CHECK(bench.driver.collection_ready(cpu));
  }
  CHECK(bench.operations("MAPC") == std::vector<std::string>{"MAPC icid 0 rdbase 0x0 valid 1",
                                                            "MAPC icid 1 rdbase 0x1 valid 1",
                                                            "MAPC icid 2 rdbase 0x2 valid 1",
                                                            "MAPC icid 3 rdbase 0x3 valid 1"});
  CHECK(bench.operations("INVALL").size() == 4);
  CHECK(bench.operations("SYNC").size() == 4);
  CHECK(bench.its.operations.size() == 12);  // nothing ignored
  // Once is enough: again is a no-op.
  const size_t commands = bench.driver.commands_issued();
  CHECK(bench.driver.enable_redistributor(1, bench.its.redistributor(1), 0) == Status::ok);
  CHECK(bench.driver.commands_issued() == commands);
}

TEST_CASE("its bring-up: an ITS that wants redistributor addresses (PTA) gets them in MAPC and SYNC") {
  sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
  config.typer |= uint64_t{1} << 19;
  test::ItsBench bench(config);
  REQUIRE(bench.ready());
  CHECK(bench.driver.layout().pta);
  CHECK(bench.operations("MAPC icid 2")[0] == "MAPC icid 2 rdbase 0x80e valid 1");  // 0x080e0000 >> 16
  CHECK(bench.driver.map_device(0x8, 2) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
  REQUIRE(bench.driver.map_event(0x8, 1, lpi, 2) == Status::ok);
  const sim::ItsDelivery delivery = bench.its.inject(0x8, 1);
  CHECK(delivery.pending);
  CHECK(delivery.cpu == 2);
}

TEST_CASE("its bring-up: an ITS that takes only 64 KiB pages, or no indirection") {
  SUBCASE("64 KiB pages") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.accepts_4k = config.accepts_16k = false;
    test::ItsBench bench(config);
    REQUIRE(bench.ready());
    CHECK(bench.driver.layout().device_page == 0x10000);
    CHECK(((bench.its.baser(0) >> 8) & 3) == 2);
    CHECK(bench.driver.layout().device_two_level);  // 65536 DeviceIDs need 512 KiB flat
    REQUIRE(bench.driver.map_device(0x1234, 4) == Status::ok);
    uint32_t lpi = 0;
    REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
    REQUIRE(bench.driver.map_event(0x1234, 3, lpi, 1) == Status::ok);
    CHECK(bench.its.inject(0x1234, 3).pending);
    CHECK(bench.its.take(1) == lpi);
  }
  SUBCASE("flat only: the table covers the DeviceIDs the configuration asks for") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.indirect = false;
    test::ItsBench bench(config);
    its::Config c = bench.config();
    c.device_id_limit = 0x1000;
    REQUIRE(bench.bring_up(c) == Status::ok);
    CHECK_FALSE(bench.driver.layout().device_two_level);
    CHECK(bench.driver.layout().device_ids == 0x1000);
    CHECK(bench.driver.layout().device_table_pages == 8);
    CHECK(((bench.its.baser(0) >> 62) & 1) == 0);
    CHECK((bench.its.baser(0) & 0xff) == 7);  // Size: 8 pages
    sim::CapturedLog log;
    CHECK(bench.driver.map_device(0x1000, 2) == Status::bad_request);
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0] ==
          "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: device 0x1000: the device table covers DeviceIDs "
          "below 0x1000");
  }
}

TEST_CASE("its bring-up: a non-coherent ITS gets non-cacheable tables and every write cleaned") {
  sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
  config.coherent = false;
  test::ItsBench bench(config);
  sim::CapturedLog log;
  REQUIRE(bench.ready());
  CHECK_FALSE(bench.driver.layout().tables_coherent);
  CHECK_FALSE(bench.driver.layout().properties_coherent);
  CHECK(((bench.its.baser(0) >> 59) & 7) == 1);  // inner non-cacheable
  CHECK(((bench.its.cbaser() >> 59) & 7) == 1);
  CHECK(((bench.its.redistributor(0).propbaser() >> 7) & 7) == 1);
  CHECK(log.lines()[0].find(" coherent no") != std::string::npos);
  // The hardware sees memory only through what was cleaned (fresh memory holds garbage
  // until then), so a delivery proves every table, command and configuration byte was.
  REQUIRE(bench.driver.map_device(0x310, 8) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(8, lpi) == Status::ok);
  for (uint32_t event = 0; event < 8; ++event) REQUIRE(bench.driver.map_event(0x310, event, lpi + event, event % 4) == Status::ok);
  CHECK(bench.operations("MAPTI").size() == 8);
  for (uint32_t event = 0; event < 8; ++event) {
    INFO("event " << event);
    const sim::ItsDelivery delivery = bench.its.inject(0x310, event);
    REQUIRE(delivery.pending);
    CHECK(delivery.lpi == lpi + event);
    CHECK(bench.its.take(event % 4) == lpi + event);
  }
  for (const std::string& op : bench.its.operations) CHECK(op.find("ignored") == std::string::npos);
}

TEST_CASE("its bring-up: what it refuses, each with a line naming the reason") {
  sim::CapturedLog log;
  SUBCASE("no physical LPIs") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.typer &= ~uint64_t{1};
    test::ItsBench bench(config);
    CHECK(bench.bring_up() == Status::refused);
    CHECK(log.errors()[0].find("GITS_TYPER.Physical is 0") != std::string::npos);
  }
  SUBCASE("too few collection IDs for the CPUs") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.typer = (config.typer & ~(uint64_t{0xf} << 32)) | (uint64_t{1} << 32);  // 2 bits: 4 collections
    config.cpus = 8;
    test::ItsBench bench(config);
    CHECK(bench.bring_up() == Status::refused);
    CHECK(log.errors()[0] ==
          "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: GITS_TYPER.CIDbits allows 4 collections, 8 CPUs "
          "need one each");
  }
  SUBCASE("no page size sticks") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.accepts_4k = config.accepts_16k = config.accepts_64k = false;
    config.reset_page_code = 3;  // stuck at a reserved page size
    sim::SimItsMemory memory;
    sim::SimIts its(memory, config);
    sim::ItsClock clock;
    its::Driver driver(its, memory, clock);
    its::Config c;
    c.path = "/its";
    CHECK(driver.bring_up(c) == Status::refused);
    CHECK(log.errors()[0] == "bulkhead: error: gic-v3-its /its: GITS_BASER0 takes none of the 4, 16 and 64 KiB page sizes");
    CHECK(memory.used_bytes() == 0);
  }
  SUBCASE("no collection table and too few collections held in the ITS") {
    sim::SimItsConfig config = sim::SimItsConfig::qemu_7_2();
    config.collection_table = false;
    config.hcc = 2;
    test::ItsBench bench(config);
    CHECK(bench.bring_up() == Status::refused);
    CHECK(log.errors()[0].find("no GITS_BASER for collections and GITS_TYPER.HCC holds only 2") != std::string::npos);
    CHECK(bench.memory.used_bytes() == 0);  // the device table was given back
    CHECK((bench.its.baser(0) >> 63) == 0);
  }
  SUBCASE("too little table memory: nothing kept") {
    test::ItsBench bench(sim::SimItsConfig::qemu_7_2(), 0x3000);
    CHECK(bench.bring_up() == Status::out_of_memory);
    CHECK(log.errors()[0].find("no table memory for the LPI configuration table (0x6000 bytes)") != std::string::npos);
    CHECK(bench.memory.used_bytes() == 0);
    CHECK((bench.its.baser(0) >> 63) == 0);
    CHECK((bench.its.cbaser() >> 63) == 0);
    CHECK((bench.its.ctlr() & 1) == 0);
    CHECK_FALSE(bench.driver.ready());
  }
  SUBCASE("a CPU count beyond the collections the driver keeps") {
    test::ItsBench bench;
    its::Config c = bench.config();
    c.cpu_count = its::max_collections + 1;
    CHECK(bench.bring_up(c) == Status::bad_request);
    CHECK(log.errors()[0] == "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: 17 CPUs; 1 to 16 supported");
  }
}

TEST_CASE("its bring-up: an ITS firmware left on is turned off and waited for, one that never quiesces is stuck") {
  test::ItsBench bench;
  bench.its.write32(0x0, 1);  // enabled, no tables
  REQUIRE(bench.bring_up() == Status::ok);
  CHECK((bench.its.ctlr() & 1) == 1);
  CHECK(bench.driver.layout().device_two_level);  // the tables could be written: it was off meanwhile

  test::ItsBench stuck;
  stuck.its.write32(0x0, 1);
  stuck.its.quiescent_stuck = true;
  sim::CapturedLog log;
  CHECK(stuck.bring_up() == Status::stuck);
  CHECK(stuck.driver.failed());
  CHECK(log.errors()[0] ==
        "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: GITS_CTLR.Quiescent did not come within the bound "
        "after disabling it");
}

TEST_CASE("its redistributors: refused when they have no LPIs, LPIs firmware left on, or EnableLPIs does not stick") {
  test::ItsBench bench;
  REQUIRE(bench.bring_up() == Status::ok);
  sim::CapturedLog log;
  bench.its.redistributor(0).plpis = false;
  CHECK(bench.driver.enable_redistributor(0, bench.its.redistributor(0), 0) == Status::refused);
  bench.its.redistributor(1).preset_lpis_on();
  CHECK(bench.driver.enable_redistributor(1, bench.its.redistributor(1), 0) == Status::refused);
  const uint64_t memory = bench.driver.memory_used();
  bench.its.redistributor(2).enable_sticks = false;
  CHECK(bench.driver.enable_redistributor(2, bench.its.redistributor(2), 0) == Status::refused);
  CHECK(bench.driver.memory_used() == memory);  // its pending table was given back
  CHECK(bench.driver.enable_redistributor(7, bench.its.redistributor(3), 0) == Status::bad_request);
  const auto errors = log.errors();
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].find("CPU 0's redistributor has no physical LPIs (GICR_TYPER.PLPIS 0)") != std::string::npos);
  CHECK(errors[1].find("CPU 1's redistributor has LPIs on already") != std::string::npos);
  CHECK(errors[2].find("CPU 2's GICR_CTLR.EnableLPIs does not stick") != std::string::npos);
  CHECK(errors[3].find("CPU 7 has no collection (4 CPUs)") != std::string::npos);
  CHECK_FALSE(bench.driver.collection_ready(0));
  CHECK(bench.driver.enable_redistributor(3, bench.its.redistributor(3), 0) == Status::ok);
}

TEST_CASE("its command queue: a stuck ITS is reported within the bound and the driver refuses further work") {
  test::ItsBench bench;
  REQUIRE(bench.bring_up() == Status::ok);
  bench.its.command_mode = sim::ItsCommandMode::stuck;
  sim::CapturedLog log;
  CHECK(bench.driver.enable_redistributor(0, bench.its.redistributor(0), 0) == Status::stuck);
  CHECK(bench.driver.failed());
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0] ==
        "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: MAPC (MAPC device 0x0 event 0 icid 0): the command "
        "queue is stuck; the ITS is not used any more");
  CHECK(bench.driver.map_device(0x8, 2) == Status::not_ready);
  uint32_t lpi = 0;
  CHECK(bench.driver.reserve_lpis(1, lpi) == Status::not_ready);
}

TEST_CASE("its command queue: a command the ITS stalls at is named") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  REQUIRE(bench.driver.map_device(0x8, 4) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
  bench.its.stalling_opcodes = {its::opcode::inv};
  sim::CapturedLog log;
  CHECK(bench.driver.map_event(0x8, 2, lpi, 1) == Status::stuck);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0] ==
        "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: MAPTI (INV device 0x8 event 2 icid 0): the command "
        "queue is stalled; the ITS is not used any more");
  CHECK(bench.driver.failed());
}

TEST_CASE("its command queue: commands wrap around the end of the queue") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  REQUIRE(bench.driver.map_device(0x8, 2) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
  // 128 entries; each map/unmap pair is 5 commands: far more than one lap.
  for (unsigned round = 0; round < 100; ++round) {
    REQUIRE(bench.driver.map_event(0x8, 1, lpi, round % 4) == Status::ok);
    REQUIRE(bench.its.inject(0x8, 1).cpu == round % 4);
    CHECK(bench.its.take(round % 4) == lpi);
    REQUIRE(bench.driver.unmap_event(0x8, 1, round % 4) == Status::ok);
  }
  CHECK(bench.driver.commands_issued() > 128 * 3);
  for (const std::string& op : bench.its.operations) CHECK(op.find("ignored") == std::string::npos);
}
