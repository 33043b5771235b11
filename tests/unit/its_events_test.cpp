// ITS translations against the simulated ITS: a device's events raise their LPIs on the
// CPU asked for, follow MOVI, stop after DISCARD; LPI and EventID exhaustion and every bad
// request are clear errors that change nothing.
#include <doctest/doctest.h>

#include "core/its/registers.hpp"
#include "tests/unit/its_support.hpp"

using namespace bulkhead;
using its::Status;

TEST_CASE("its events: an event raises its LPI on the CPU it was mapped to, with the configured priority") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  REQUIRE(bench.driver.map_device(0x8, 3) == Status::ok);
  CHECK(bench.driver.device_events(0x8) == 4);  // rounded up to a power of two
  CHECK(bench.operations("MAPD").back().find("MAPD device 0x8 bits 2 itt ") == 0);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(3, lpi) == Status::ok);
  CHECK(lpi == its::first_lpi);
  for (uint32_t event = 0; event < 3; ++event) REQUIRE(bench.driver.map_event(0x8, event, lpi + event, 2) == Status::ok);
  CHECK(bench.operations("MAPTI device 0x8 event 1") ==
        std::vector<std::string>{"MAPTI device 0x8 event 1 lpi 8193 icid 2"});
  CHECK(bench.operations("INV device 0x8 event 1").size() == 1);
  CHECK(bench.operations("SYNC rdbase 0x2").size() == 1 + 3);
  const sim::ItsDelivery delivery = bench.its.inject(0x8, 1);
  REQUIRE(delivery.pending);
  CHECK(delivery.cpu == 2);
  CHECK(delivery.lpi == lpi + 1);
  CHECK(bench.its.take(1) == 1023);  // nothing for another CPU
  CHECK(bench.its.take(2) == lpi + 1);
  CHECK(bench.its.take(2) == 1023);  // acknowledged once
  // The configuration byte: enabled, priority 0xa0, RES1.
  uint8_t config = 0;
  bench.memory.device_read(bench.driver.layout().property_table + (lpi - its::first_lpi), &config, 1);
  CHECK(config == 0xa3);
  // An event beyond the ITT and one never mapped are dropped by the ITS.
  CHECK(bench.its.inject(0x8, 3).dropped == "EventID 3 of DeviceID 0x8 is not mapped");
  CHECK(bench.its.inject(0x8, 4).dropped == "EventID 4 is beyond the ITT");
  CHECK(bench.its.inject(0x9, 0).dropped == "DeviceID 0x9 is not mapped");
}

TEST_CASE("its events: MOVI moves an event, with its pending state, and DISCARD stops it") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  REQUIRE(bench.driver.map_device(0x310, 2) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
  REQUIRE(bench.driver.map_event(0x310, 0, lpi, 0) == Status::ok);
  REQUIRE(bench.its.inject(0x310, 0).cpu == 0);  // pending at CPU 0, not yet taken
  REQUIRE(bench.driver.move_event(0x310, 0, 0, 3) == Status::ok);
  CHECK(bench.operations("MOVI") == std::vector<std::string>{"MOVI device 0x310 event 0 icid 3"});
  CHECK_FALSE(bench.its.pending(0, lpi));
  CHECK(bench.its.take(3) == lpi);  // the pending LPI moved with it
  CHECK(bench.its.inject(0x310, 0).cpu == 3);
  CHECK(bench.its.take(3) == lpi);
  // Moving to where it is costs nothing.
  const uint64_t commands = bench.driver.commands_issued();
  CHECK(bench.driver.move_event(0x310, 0, 3, 3) == Status::ok);
  CHECK(bench.driver.commands_issued() == commands);
  // DISCARD: pending state cleared, the translation gone.
  REQUIRE(bench.its.inject(0x310, 0).pending);
  REQUIRE(bench.driver.unmap_event(0x310, 0, 3) == Status::ok);
  CHECK_FALSE(bench.its.pending(3, lpi));
  CHECK(bench.its.inject(0x310, 0).dropped == "EventID 0 of DeviceID 0x310 is not mapped");
  // And the device: MAPD invalid, its ITT given back.
  const uint64_t memory = bench.driver.memory_used();
  REQUIRE(bench.driver.unmap_device(0x310) == Status::ok);
  CHECK(bench.driver.memory_used() == memory - 0x1000);
  CHECK(bench.driver.device_events(0x310) == 0);
  CHECK(bench.its.inject(0x310, 0).dropped == "DeviceID 0x310 is not mapped");
}

TEST_CASE("its events: a 2-level device table gets a level-2 page per 512 DeviceIDs, on first use") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  const uint64_t memory = bench.driver.memory_used();
  REQUIRE(bench.driver.map_device(0x8, 2) == Status::ok);    // level-2 page 0 + ITT
  REQUIRE(bench.driver.map_device(0x100, 2) == Status::ok);  // same page + ITT
  REQUIRE(bench.driver.map_device(0x300, 2) == Status::ok);  // page 1 + ITT
  CHECK(bench.driver.memory_used() == memory + 5 * 0x1000);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(3, lpi) == Status::ok);
  REQUIRE(bench.driver.map_event(0x8, 1, lpi, 0) == Status::ok);
  REQUIRE(bench.driver.map_event(0x100, 1, lpi + 1, 1) == Status::ok);
  REQUIRE(bench.driver.map_event(0x300, 1, lpi + 2, 2) == Status::ok);
  CHECK(bench.its.inject(0x8, 1).lpi == lpi);
  CHECK(bench.its.inject(0x100, 1).lpi == lpi + 1);
  CHECK(bench.its.inject(0x300, 1).lpi == lpi + 2);
  CHECK(bench.its.inject(0x201, 1).dropped == "DeviceID 0x201 is not mapped");       // page 0, no entry
  CHECK(bench.its.inject(0x401, 1).dropped == "no device table entry for DeviceID 0x401");  // no level-2 page
}

TEST_CASE("its LPIs: reservations are contiguous, exhaustion is a clear error that takes nothing") {
  test::ItsBench bench;
  its::Config config = bench.config();
  config.lpi_id_bits = 14;  // 8192 LPIs
  REQUIRE(bench.bring_up(config) == Status::ok);
  CHECK(bench.driver.lpis_free() == 8192);
  uint32_t a = 0, b = 0, c = 0;
  REQUIRE(bench.driver.reserve_lpis(4000, a) == Status::ok);
  REQUIRE(bench.driver.reserve_lpis(4000, b) == Status::ok);
  CHECK(a == 8192);
  CHECK(b == 8192 + 4000);
  sim::CapturedLog log;
  CHECK(bench.driver.reserve_lpis(200, c) == Status::exhausted);
  CHECK(c == 0);
  CHECK(bench.driver.lpis_free() == 192);
  REQUIRE(log.errors().size() == 1);
  CHECK(log.errors()[0] ==
        "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: 200 LPIs wanted, 192 of 8192 free and no 200 in a row");
  // Freed LPIs are disabled and reusable; a hole is found again.
  bench.driver.release_lpis(a, 4000);
  CHECK(bench.driver.lpis_free() == 4192);
  uint8_t config_byte = 0xff;
  bench.memory.device_read(bench.driver.layout().property_table, &config_byte, 1);
  CHECK((config_byte & 1) == 0);
  REQUIRE(bench.driver.reserve_lpis(200, c) == Status::ok);
  CHECK(c == 8192);
  CHECK(bench.driver.reserve_lpis(0, c) == Status::bad_request);
}

TEST_CASE("its events: bad requests are refused before any command, naming the device and the event") {
  test::ItsBench bench;
  REQUIRE(bench.ready());
  REQUIRE(bench.driver.map_device(0x8, 2) == Status::ok);
  uint32_t lpi = 0;
  REQUIRE(bench.driver.reserve_lpis(1, lpi) == Status::ok);
  const uint64_t commands = bench.driver.commands_issued();
  const uint64_t memory = bench.driver.memory_used();
  sim::CapturedLog log;
  CHECK(bench.driver.map_device(0x8, 2) == Status::bad_request);
  CHECK(bench.driver.map_device(0x9, 0) == Status::bad_request);
  CHECK(bench.driver.map_device(0x9, 0x10001) == Status::bad_request);
  CHECK(bench.driver.map_event(0x8, 2, lpi, 0) == Status::bad_request);       // beyond the ITT
  CHECK(bench.driver.map_event(0x9, 0, lpi, 0) == Status::bad_request);       // device not mapped
  CHECK(bench.driver.map_event(0x8, 0, lpi + 1, 0) == Status::bad_request);   // LPI not reserved
  CHECK(bench.driver.map_event(0x8, 0, 100, 0) == Status::bad_request);       // not an LPI
  CHECK(bench.driver.map_event(0x8, 0, lpi, 9) == Status::bad_request);       // no such CPU
  CHECK(bench.driver.move_event(0x8, 0, 0, 5) == Status::bad_request);
  CHECK(bench.driver.unmap_device(0x9) == Status::bad_request);
  CHECK(bench.driver.commands_issued() == commands);
  CHECK(bench.driver.memory_used() == memory);
  const auto errors = log.errors();
  REQUIRE(errors.size() == 10);
  const std::string its = "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: ";
  CHECK(errors[0] == its + "device 0x8 is mapped already");
  CHECK(errors[1] == its + "device 0x9: 0 events; 1 to 65536 possible");
  CHECK(errors[2] == its + "device 0x9: 65537 events; 1 to 65536 possible");
  CHECK(errors[3] == its + "MAPTI device 0x8 event 2: the event is beyond its ITT");
  CHECK(errors[4] == its + "MAPTI device 0x9 event 0: the device is not mapped");
  CHECK(errors[5] == its + "MAPTI device 0x8 event 0: LPI 8193 is not a reserved one");
  CHECK(errors[6] == its + "MAPTI device 0x8 event 0: LPI 100 is not a reserved one");
  CHECK(errors[7] == its + "MAPTI device 0x8 event 0: CPU 9 has no collection (its redistributor is not enabled)");
  CHECK(errors[8] == its + "MOVI device 0x8 event 0: CPU 5 has no collection (its redistributor is not enabled)");
  CHECK(errors[9] == its + "device 0x9 is not mapped");
}

TEST_CASE("its events: no table memory for an ITT is an error that keeps nothing") {
  test::ItsBench bench(sim::SimItsConfig::qemu_7_2(), 0x10000 * 6);
  REQUIRE(bench.ready());
  // Fill the pool with ITTs of 1 page each until none fits.
  uint32_t device = 0;
  while (bench.memory.used_bytes() + 0x1000 <= bench.memory.capacity() && device < 100) {
    REQUIRE(bench.driver.map_device(device++, 2) == Status::ok);
  }
  const uint64_t used = bench.memory.used_bytes();
  const uint64_t commands = bench.driver.commands_issued();
  sim::CapturedLog log;
  CHECK(bench.driver.map_device(device, 300) == Status::out_of_memory);
  CHECK(bench.memory.used_bytes() == used);
  CHECK(bench.driver.commands_issued() == commands);
  CHECK(bench.driver.device_events(device) == 0);
  CHECK(log.errors()[0] == "bulkhead: error: gic-v3-its /intc@8000000/its@8080000: device " + test::its_hex(device) +
                               ": no table memory for its ITT (0x1800 bytes) or device table page");
}
