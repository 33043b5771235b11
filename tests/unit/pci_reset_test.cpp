// Function reset sequences (pci/reset.hpp) on the simulated ECAM, each as the complete
// list of configuration accesses and device operations with their times: quiesce,
// Transactions Pending, the reset with the spec's waits, readiness, restore and
// read-back. The simulated functions also flag any access the PCI Express rules forbid
// (timeline violations), which must stay empty.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pci/bar_allocator.hpp"
#include "pci/reset.hpp"
#include "tests/unit/pci_reset_support.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using Lines = std::vector<std::string>;
using pci::AccessWidth;
using pci::ResetStatus;

namespace {

constinit pci::FunctionReset static_reset;  // fits static storage: no constructor runs

std::string hex_text(uint64_t value) {
  char text[24];
  const int length = std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return std::string(text, length > 0 ? static_cast<size_t>(length) : 0);
}

// An e1000e-like PCI Express endpoint at 00:01.0 that advertises FLR: a 32-bit BAR, an
// I/O BAR, a 64-bit prefetchable BAR, a ROM, MSI and MSI-X; firmware left a cache line
// size; its previous owner left decode, bus master and MSI on, with DMA in flight that
// takes 25 ms to complete once bus master is off.
struct FlrFixture : ResetFixture {
  SimFunction* nic = nullptr;
  static constexpr pci::Bdf bdf{0, 1, 0};
  FlrFixture() {
    SimFunction& f = root().pcie_endpoint(1, 0, 0x8086, 0x10d3);  // PCI Express capability at 0x40
    f.flr();
    f.bar(0, BarType::mem32, 0x20000).bar(2, BarType::io32, 0x20).bar(3, BarType::mem64, 0x4000, true).rom(0x800);
    f.msi(0, true, false);           // at 0x7c
    f.msix(4, 0, 0x1000, 0, 0x1800);  // at 0x94
    nic = &f;
    ecam.write(bdf, 0x0c, AccessWidth::byte, 0x10);  // firmware's cache line size
    enumerate();
    ecam.write(bdf, 0x04, AccessWidth::half, 0x0006);  // memory decode, bus master
    ecam.write(bdf, 0x7e, AccessWidth::half, 0x0001);  // MSI enable
    ecam.write(bdf, 0x96, AccessWidth::half, 0x8000);  // MSI-X enable
    f.transactions_pending_for(ms(25));
  }
  const pci::Function& record() const { return function(0, 1); }
};

}  // namespace

TEST_CASE("pci reset: a reset object needs no constructor at boot, and does nothing until begun") {
  CHECK(static_reset.poll(0).status == ResetStatus::failed);
  CHECK(static_reset.function() == nullptr);
}

TEST_CASE("pci reset flr: quiesce, Transactions Pending, FLR, 100 ms, restore and read-back, in that order") {
  FlrFixture f;
  const pci::Function& r = f.record();
  REQUIRE(r.reset.method == pci::ResetMethod::flr);
  REQUIRE(r.cache_line_size == 0x10);
  REQUIRE(f.run(r) == ResetStatus::done);
  CHECK(std::string(f.reset.failure()) == "");
  const std::string bar0 = hex_text(r.bars[0].bus_address);
  const std::string bar2 = hex_text(r.bars[2].bus_address);
  const std::string bar3 = hex_text(r.bars[3].bus_address & 0xffffffffu);
  const std::string bar3_high = hex_text(r.bars[3].bus_address >> 32);
  const std::string rom = hex_text(r.rom.bus_address);
  CHECK(f.trace(f.nic) == Lines{
      // +0: the ID, bus master and decode off, the completion timeout (Device Control 2),
      // Transactions Pending set; polled every 10 ms until clear (bus master off for 25 ms).
      "+0 read 0x0/4 0x10d38086",
      "+0 write 0x4/2 0x400",
      "+0 read 0x4/2 0x400",
      "+0 read 0x68/2 0x0",
      "+0 read 0x4a/2 0x20",
      "+10000 read 0x4a/2 0x20",
      "+20000 read 0x4a/2 0x20",
      "+30000 read 0x4a/2 0x0",
      // Initiate FLR in Device Control.
      "+30000 read 0x48/2 0x0",
      "+30000 write 0x48/2 0x8000",
      "+30000 flr",
      "+30000 function-reset",
      // Nothing for 100 ms; then the ID; the reset took (Interrupt Disable, MSI and MSI-X
      // Enable clear); the record written back and read back.
      "+130000 read 0x0/4 0x10d38086",
      "+130000 read 0x4/2 0x0",
      "+130000 read 0x7e/2 0x80",
      "+130000 read 0x96/2 0x3",
      "+130000 write 0x10/4 " + bar0,
      "+130000 write 0x18/4 " + bar2,
      "+130000 write 0x1c/4 " + bar3,
      "+130000 write 0x20/4 " + bar3_high,
      "+130000 write 0x30/4 " + rom,
      "+130000 write 0xc/1 0x10",
      "+130000 write 0x4/2 0x400",
      "+130000 read 0x10/4 " + bar0,
      "+130000 read 0x18/4 " + hex_text(r.bars[2].bus_address | 1),
      "+130000 read 0x1c/4 " + hex_text((r.bars[3].bus_address & 0xffffffffu) | 0xc),
      "+130000 read 0x20/4 " + bar3_high,
      "+130000 read 0x30/4 " + rom,
      "+130000 read 0x4/2 0x400",
  });
  CHECK(f.timeline().violations.empty());
  CHECK(f.nic->resets() == 1);
  CHECK(f.wakes == std::vector<uint64_t>{reset_start + ms(10), reset_start + ms(20), reset_start + ms(30),
                                         reset_start + ms(130)});
  const pci::ResetOutcome& o = f.reset.outcome();
  CHECK(o.started == reset_start);
  CHECK(o.initiated == reset_start + ms(30));
  CHECK(o.answered == reset_start + ms(130));
  CHECK(o.finished == reset_start + ms(130));
  CHECK(o.pending_polls == 3);
  CHECK(o.retry_status_reads == 0);
  CHECK_FALSE(o.bridge_restored);
  // The registers hold the record: enumeration's view of the machine is true again.
  CHECK(joined(resource_problems(*f.harness.topology, f.harness.topology->segments[0], f.ecam)) == "");
  CHECK(f.nic->peek8(0x0c) == 0x10);
  CHECK(f.nic->command() == 0x400);
}

TEST_CASE("pci reset af-flr: a conventional function's Advanced Features FLR, its Transactions Pending bit") {
  ResetFixture f;
  SimFunction& sim = f.root().endpoint(2, 0, 0x1234, 0x5678);
  sim.bar(0, BarType::mem32, 0x1000).advanced_features(true, true);  // at 0x40
  f.enumerate();
  f.ecam.write({0, 2, 0}, 0x04, AccessWidth::half, 0x0004);
  sim.transactions_pending_for(ms(5));
  const pci::Function& r = f.function(0, 2);
  REQUIRE(r.reset.method == pci::ResetMethod::af_flr);
  REQUIRE(f.run(r) == ResetStatus::done);
  const std::string bar0 = hex_text(r.bars[0].bus_address);
  CHECK(f.trace(&sim) == Lines{
      "+0 read 0x0/4 0x56781234",
      "+0 write 0x4/2 0x400",
      "+0 read 0x4/2 0x400",
      "+0 read 0x45/1 0x1",  // AF status: Transactions Pending
      "+10000 read 0x45/1 0x0",
      "+10000 write 0x44/1 0x1",  // AF control: Initiate FLR
      "+10000 flr",
      "+10000 function-reset",
      "+110000 read 0x0/4 0x56781234",
      "+110000 read 0x4/2 0x0",
      "+110000 write 0x10/4 " + bar0,
      "+110000 write 0xc/1 0x0",
      "+110000 write 0x4/2 0x400",
      "+110000 read 0x10/4 " + bar0,
      "+110000 read 0x4/2 0x400",
  });
  CHECK(f.timeline().violations.empty());
  CHECK(sim.resets() == 1);
}

TEST_CASE("pci reset pm: D3hot, 10 ms, PowerState checked, D0, 10 ms, then the function answers") {
  ResetFixture f;
  SimFunction& sim = f.root().endpoint(3, 0, 0x1234, 0x0003);
  sim.bar(1, BarType::mem32, 0x4000).pm();  // PMCSR at 0x44
  f.enumerate();
  f.ecam.write({0, 3, 0}, 0x04, AccessWidth::half, 0x0002);
  const pci::Function& r = f.function(0, 3);
  REQUIRE(r.reset.method == pci::ResetMethod::pm);
  REQUIRE(f.run(r) == ResetStatus::done);
  const std::string bar1 = hex_text(r.bars[1].bus_address);
  CHECK(f.trace(&sim) == Lines{
      "+0 read 0x0/4 0x31234",
      "+0 write 0x4/2 0x400",
      "+0 read 0x4/2 0x400",
      "+0 read 0x44/2 0x0",
      "+0 write 0x44/2 0x3",
      "+0 power-state D3",
      "+10000 read 0x44/2 0x3",
      "+10000 write 0x44/2 0x0",
      "+10000 power-state D0",
      "+10000 function-reset",
      "+20000 read 0x0/4 0x31234",
      "+20000 read 0x44/2 0x0",
      "+20000 read 0x4/2 0x0",
      "+20000 write 0x14/4 " + bar1,
      "+20000 write 0xc/1 0x0",
      "+20000 write 0x4/2 0x400",
      "+20000 read 0x14/4 " + bar1,
      "+20000 read 0x4/2 0x400",
  });
  CHECK(f.timeline().violations.empty());
  CHECK(sim.resets() == 1);
  CHECK(sim.power_state() == 0);
  CHECK(f.reset.outcome().initiated == reset_start);
}

TEST_CASE("pci reset bus: Secondary Bus Reset held 2 ms, the bridge checked, 100 ms, then the function") {
  ResetFixture f;
  SimFunction& port = f.root().root_port(1);  // PCI Express capability at 0x40; a 2.5 GT/s link
  SimFunction& sim = port.secondary()->pcie_endpoint(0, 0, 0x1af4, 0x1041);
  sim.bar(0, BarType::mem32, 0x1000);
  f.enumerate();
  f.ecam.write({0, 1, 0}, 0x3e, AccessWidth::half, 0x0002);  // the bridge's SERR# enable
  const pci::Function& r = f.function(1, 0);
  const pci::Function& bridge = f.function(0, 1);
  REQUIRE(r.reset.method == pci::ResetMethod::bus);
  REQUIRE(f.run(r) == ResetStatus::done);
  const std::string bar0 = hex_text(r.bars[0].bus_address);
  const uint32_t buses = 0x00010100;  // subordinate 1, secondary 1, primary 0
  const pci::BridgeWindowRegisters windows = pci::bridge_window_registers(bridge);
  CHECK(f.trace(&sim, &port) == Lines{
      "+0 read 0x0/4 0x10411af4",
      "+0 write 0x4/2 0x400",
      "+0 read 0x4/2 0x400",
      "+0 read 0x68/2 0x0",
      "+0 read 0x4a/2 0x0",
      "+0 bridge read 0x3e/2 0x2",
      "+0 bridge write 0x3e/2 0x42",
      "+0 bridge bus-reset on",
      "+0 function-reset",
      // Released after 2 ms (at least 1 ms), the SERR# enable kept; the bridge's own
      // registers still as recorded; its link is not faster than 5 GT/s.
      "+2000 bridge write 0x3e/2 0x2",
      "+2000 bridge bus-reset off",
      "+2000 bridge read 0x18/4 " + hex_text(buses),
      "+2000 bridge read 0x4/2 " + hex_text(bridge.command),
      "+2000 bridge read 0x1c/2 " + hex_text(windows.io_base_limit),
      "+2000 bridge read 0x20/4 " + hex_text(windows.memory_base_limit),
      "+2000 bridge read 0x24/4 " + hex_text(windows.prefetch_base_limit | 0x00010001),
      "+2000 bridge read 0x28/4 0x0",
      "+2000 bridge read 0x2c/4 0x0",
      "+2000 bridge read 0x4c/4 0x0",
      // 100 ms after the release, the function.
      "+102000 read 0x0/4 0x10411af4",
      "+102000 read 0x4/2 0x0",
      "+102000 write 0x10/4 " + bar0,
      "+102000 write 0xc/1 0x0",
      "+102000 write 0x4/2 0x400",
      "+102000 read 0x10/4 " + bar0,
      "+102000 read 0x4/2 0x400",
  });
  CHECK(f.timeline().violations.empty());
  CHECK(sim.resets() == 1);
  CHECK(port.peek16(0x3e) == 0x0002);
  CHECK_FALSE(f.reset.outcome().bridge_restored);
  CHECK(joined(resource_problems(*f.harness.topology, f.harness.topology->segments[0], f.ecam)) == "");
}

TEST_CASE("pci reset bus: below a conventional PCI bridge the function is left alone for 1 s (Trhfa)") {
  ResetFixture f;
  SimFunction& bridge = f.root().pcie_pci_bridge(1);
  SimFunction& sim = bridge.secondary()->endpoint(4, 0, 0x1234, 0x0004);
  sim.bar(0, BarType::io32, 0x100);
  f.enumerate();
  REQUIRE(f.run(f.function(1, 4)) == ResetStatus::done);
  const size_t release = f.timeline().find(SimEvent::Kind::bus_reset_release, &bridge, f.first_event);
  REQUIRE(release < f.timeline().events.size());
  const size_t next = f.timeline().next_access(&sim, release);
  REQUIRE(next < f.timeline().events.size());
  CHECK(f.timeline().events[release].time == reset_start + ms(2));
  CHECK(f.timeline().events[next].time == reset_start + ms(2) + ms(1000));
  CHECK(f.timeline().violations.empty());
  CHECK(sim.resets() == 1);
}

TEST_CASE("pci reset bus: above 5 GT/s the link must be up again, then 100 ms") {
  ResetFixture f;
  SimFunction& port = f.root().root_port(1);
  port.link(3, true, ms(25));  // 8 GT/s, reports Data Link Layer Link Active, trains in 25 ms
  SimFunction& sim = port.secondary()->pcie_endpoint(0);
  f.enumerate();
  REQUIRE(f.run(f.function(1, 0)) == ResetStatus::done);
  Lines link_polls;
  for (const std::string& line : f.trace(nullptr, &port)) {
    if (line.find("read 0x52/2") != std::string::npos) link_polls.push_back(line);  // Link Status
  }
  CHECK(link_polls == Lines{"+2000 bridge read 0x52/2 0x0", "+12000 bridge read 0x52/2 0x0",
                            "+22000 bridge read 0x52/2 0x0", "+32000 bridge read 0x52/2 0x2000"});
  const size_t release = f.timeline().find(SimEvent::Kind::bus_reset_release, &port, f.first_event);
  const size_t next = f.timeline().next_access(&sim, release);
  REQUIRE(next < f.timeline().events.size());
  CHECK(f.timeline().events[next].time == reset_start + ms(32) + ms(100));
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset bus: bridge registers found changed are rewritten from the record") {
  ResetFixture f;
  SimFunction& port = f.root().root_port(1);
  port.secondary()->pcie_endpoint(0).bar(0, BarType::mem32, 0x1000);
  f.enumerate();
  f.ecam.write({0, 1, 0}, 0x20, AccessWidth::word, 0x0000fff0);  // memory window closed behind our back
  REQUIRE(f.run(f.function(1, 0)) == ResetStatus::done);
  CHECK(f.reset.outcome().bridge_restored);
  CHECK(joined(resource_problems(*f.harness.topology, f.harness.topology->segments[0], f.ecam)) == "");
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset: the function may answer late, all ones or Request Retry Status, for up to 1 s") {
  SUBCASE("silent for 250 ms after the FLR's 100 ms") {
    FlrFixture f;
    f.nic->not_ready_for(ms(250));
    REQUIRE(f.run(f.record()) == ResetStatus::done);
    CHECK(f.reset.outcome().answered == reset_start + ms(30) + ms(100) + ms(250));
    CHECK(f.reset.outcome().retry_status_reads == 0);
    CHECK(f.timeline().violations.empty());
  }
  SUBCASE("Request Retry Status for 600 ms") {
    FlrFixture f;
    f.nic->not_ready_for(ms(600), true);
    REQUIRE(f.run(f.record()) == ResetStatus::done);
    CHECK(f.reset.outcome().answered == reset_start + ms(30) + ms(100) + ms(600));
    CHECK(f.reset.outcome().retry_status_reads == 60);  // one every 10 ms
    CHECK(f.timeline().violations.empty());
  }
  SUBCASE("silent for exactly 1 s: the last read at the bound finds it") {
    FlrFixture f;
    f.nic->not_ready_for(ms(1000));
    REQUIRE(f.run(f.record()) == ResetStatus::done);
    CHECK(f.reset.outcome().answered == reset_start + ms(30) + ms(100) + ms(1000));
  }
}

TEST_CASE("pci reset: a late caller only lengthens the waits, an early one changes nothing") {
  FlrFixture f;
  f.timeline().now = reset_start;
  REQUIRE(f.reset.begin(f.ecam, *f.harness.topology, f.record(), test_clock));
  pci::ResetStep step = f.reset.poll(reset_start);
  REQUIRE(step.status == ResetStatus::wait);
  CHECK(step.wake_at == reset_start + ms(10));
  const size_t events = f.timeline().events.size();
  f.timeline().now = reset_start + ms(5);
  step = f.reset.poll(f.timeline().now);  // early: no access
  CHECK(step.status == ResetStatus::wait);
  CHECK(step.wake_at == reset_start + ms(10));
  CHECK(f.timeline().events.size() == events);
  f.timeline().now = reset_start + ms(47);  // late: pending cleared at 25 ms, FLR now
  step = f.reset.poll(f.timeline().now);
  CHECK(step.wake_at == reset_start + ms(147));
  f.timeline().now = reset_start + ms(400);
  CHECK(f.reset.poll(f.timeline().now).status == ResetStatus::done);
  CHECK(f.reset.outcome().initiated == reset_start + ms(47));
  CHECK(f.reset.outcome().answered == reset_start + ms(400));
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset: the Transactions Pending bound is the function's Completion Timeout (Device Control 2)") {
  struct Case {
    uint16_t device_control2;
    uint32_t limit_ms;
  };
  const Case cases[] = {
      {0x0000, 50},    {0x0001, 1},     {0x0002, 10},    {0x0005, 55},    {0x0006, 210},
      {0x0009, 900},   {0x000a, 3500},  {0x000d, 13000}, {0x000e, 64000}, {0x0003, 64000},  // reserved
      {0x0010, 64000},  // Completion Timeout Disable
  };
  for (const Case& c : cases) {
    CAPTURE(c.device_control2);
    ResetFixture f;
    SimFunction& sim = f.root().pcie_endpoint(1).flr();
    sim.poke16(0x40 + 0x28, c.device_control2);
    f.enumerate();
    CHECK(pci::completion_timeout_limit_ms(f.ecam, f.function(0, 1)) == c.limit_ms);
  }
  SUBCASE("a version 1 capability has no Device Control 2: the default range") {
    ResetFixture f;
    SimFunction& sim = f.root().pcie_endpoint(1).flr();
    sim.poke16(0x42, 0x0001);  // capability version 1, endpoint
    sim.poke16(0x40 + 0x28, 0x000e);
    f.enumerate();
    CHECK(pci::completion_timeout_limit_ms(f.ecam, f.function(0, 1)) == 50);
  }
}
