// Function resets (pci/reset.hpp) that cannot finish, on the simulated ECAM: each failure
// has its typed error and a message naming the function, the method and what went wrong,
// and leaves the function quarantined (bus master and decode off, MSI and MSI-X Enable
// clear, a bus reset released). Also the fallback to the next method when a reset is seen
// not to take, and the report lines.
#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

#include "pci/reset.hpp"
#include "pci/reset_method.hpp"
#include "tests/unit/pci_reset_support.hpp"

using namespace bulkhead;
using namespace bulkhead::sim;
using pci::AccessWidth;
using pci::ResetError;
using pci::ResetMethod;
using pci::ResetStatus;

namespace {

constexpr uint16_t bus_master_and_decode = 0x7;
constexpr uint16_t interrupt_disable = 0x400;

std::string failure(const ResetFixture& f) { return f.reset.failure(); }

std::string hex8(uint64_t value) {
  char text[24];
  const int length = std::snprintf(text, sizeof(text), "0x%08llx", static_cast<unsigned long long>(value));
  return std::string(text, length > 0 ? static_cast<size_t>(length) : 0);
}

bool quarantined(const SimFunction& sim) { return (sim.command() & bus_master_and_decode) == 0; }

// A root port at 00:01.0 with one PCI Express endpoint 1af4:1041 below it (01:00.0) and
// a memory BAR; `configure` adds its reset capabilities and the rest.
struct BelowPort : ResetFixture {
  SimFunction* port = nullptr;
  SimFunction* sim = nullptr;
  template <typename Configure>
  explicit BelowPort(Configure configure) {
    port = &root().root_port(1);
    sim = &port->secondary()->pcie_endpoint(0, 0, 0x1af4, 0x1041);  // PCI Express capability at 0x40
    sim->bar(0, BarType::mem32, 0x1000);
    configure(*sim);
    enumerate();
  }
  const pci::Function& record() const { return function(1, 0); }
};

// The same function on the root bus (00:02.0): no bridge of ours above it, no bus reset.
struct OnRootBus : ResetFixture {
  SimFunction* sim = nullptr;
  template <typename Configure>
  explicit OnRootBus(Configure configure) {
    sim = &root().pcie_endpoint(2, 0, 0x1af4, 0x1041);
    sim->bar(0, BarType::mem32, 0x1000);
    configure(*sim);
    enumerate();
  }
  const pci::Function& record() const { return function(0, 2); }
};

}  // namespace

TEST_CASE("pci reset: every error and reason has its own report name") {
  std::set<std::string> errors;
  for (unsigned e = 0; e <= static_cast<unsigned>(ResetError::restore_mismatch); ++e) {
    errors.insert(pci::reset_error_name(static_cast<ResetError>(e)));
  }
  CHECK(errors.size() == 14);
  CHECK(std::string(pci::reset_error_name(ResetError::not_reset)) == "not-reset");
  CHECK(std::string(pci::reset_error_name(static_cast<ResetError>(200))) == "none");
  std::set<std::string> reasons;
  for (unsigned r = 0; r <= static_cast<unsigned>(pci::ResetReason::shared_bus); ++r) {
    reasons.insert(pci::reset_reason_name(static_cast<pci::ResetReason>(r)));
  }
  CHECK(reasons.size() == 7);
  CHECK(std::string(pci::reset_reason_name(static_cast<pci::ResetReason>(200))) == "not-assignable");
  CHECK(std::string(pci::reset_method_name(static_cast<ResetMethod>(200))) == "none");
}

TEST_CASE("pci reset: begin refuses a function without a method, a clock without ticks, a bus reset without a bridge") {
  OnRootBus f([](SimFunction&) {});
  REQUIRE(f.record().reset.method == ResetMethod::none);
  f.ecam.reset_counters();
  CHECK(f.reset.poll(0).status == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::not_begun);
  CHECK_FALSE(f.reset.begin(f.ecam, *f.harness.topology, f.record(), test_clock));
  CHECK(f.reset.error() == ResetError::no_method);
  CHECK(failure(f) == "pci 0000:00:02.0 reset none: the function has no reset method");
  CHECK(f.reset.poll(reset_start).status == ResetStatus::failed);

  pci::Function crafted = f.record();
  crafted.reset = {ResetMethod::bus, pci::ResetReason::alone_below_bridge, pci::ResetChoice::bit(ResetMethod::bus)};
  CHECK_FALSE(f.reset.begin(f.ecam, *f.harness.topology, crafted, pci::ResetClock{0}));
  CHECK(f.reset.error() == ResetError::no_clock);
  CHECK(failure(f) == "pci 0000:00:02.0 reset bus: the clock has no ticks per millisecond");
  CHECK_FALSE(f.reset.begin(f.ecam, *f.harness.topology, crafted, test_clock));
  CHECK(f.reset.error() == ResetError::no_bridge);
  CHECK(failure(f) == "pci 0000:00:02.0 reset bus: no bridge above the function");
  CHECK(f.ecam.writes() == 0);
  CHECK(f.ecam.reads() == 0);
}

TEST_CASE("pci reset: a function that is gone or changed before the reset is not touched") {
  SUBCASE("all ones") {
    BelowPort f([](SimFunction& sim) { sim.flr(); });
    f.ecam.write({0, 1, 0}, 0x18, AccessWidth::word, 0);  // the port's bus numbers cleared: bus 1 unreachable
    const unsigned writes = f.ecam.writes();
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::absent);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: does not answer config reads (all ones) before the reset");
    CHECK(f.ecam.writes() == writes);
  }
  SUBCASE("other IDs") {
    BelowPort f([](SimFunction& sim) { sim.flr(); });
    f.sim->poke16(0x02, 0xbeef);
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::identity);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: answers as 1af4:beef before the reset, enumerated as 1af4:1041");
    CHECK(f.sim->resets() == 0);
  }
}

TEST_CASE("pci reset: bus master that stays on after it was turned off fails before any reset") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  f.ecam.write({1, 0, 0}, 0x04, AccessWidth::half, 0x0006);
  f.sim->writable32(0x04, 0);  // the command register no longer takes writes
  CHECK(f.run(f.record()) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::still_enabled);
  CHECK(failure(f) == "pci 0000:01:00.0 reset flr: command reads 0x0006 after 0x0400 was written (bus master and "
                      "decode off)");
  CHECK(f.sim->resets() == 0);
}

TEST_CASE("pci reset: Transactions Pending past the Completion Timeout fails, bus master left off") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  f.ecam.write({1, 0, 0}, 0x04, AccessWidth::half, 0x0006);
  f.sim->transactions_pending_for(SimFunction::never_clears);
  CHECK(f.run(f.record()) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::transactions_pending);
  CHECK(failure(f) == "pci 0000:01:00.0 reset flr: transactions still pending 50 ms after bus master was turned off "
                      "(its completion timeout)");
  CHECK(f.wakes == std::vector<uint64_t>{reset_start + ms(10), reset_start + ms(20), reset_start + ms(30),
                                         reset_start + ms(40), reset_start + ms(50)});
  CHECK(f.reset.outcome().pending_polls == 6);
  CHECK(f.sim->resets() == 0);
  CHECK(quarantined(*f.sim));
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset: a function that stops answering while its transactions are pending") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  f.ecam.write({1, 0, 0}, 0x04, AccessWidth::half, 0x0004);
  f.sim->transactions_pending_for(ms(100));
  REQUIRE(f.begin(f.record()));
  REQUIRE(f.advance(reset_start + ms(5)) == ResetStatus::wait);
  f.ecam.write({0, 1, 0}, 0x18, AccessWidth::word, 0);
  CHECK(f.advance(std::numeric_limits<uint64_t>::max()) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::absent);
  CHECK(failure(f) == "pci 0000:01:00.0 reset flr: stopped answering config reads while its transactions were pending");
}

TEST_CASE("pci reset: a function that never answers again, or answers Request Retry Status too long, is deemed broken") {
  SUBCASE("all ones") {
    BelowPort f([](SimFunction& sim) { sim.flr().not_ready_for(SimFunction::never_ready); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::not_ready);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: does not answer config reads (all ones) 1000 ms after the reset");
    CHECK(f.timeline().now == reset_start + ms(100) + ms(1000));
    CHECK(f.sim->command() == 0);  // as the FLR left it: nothing could be written
    CHECK(f.timeline().violations.empty());
  }
  SUBCASE("Request Retry Status") {
    BelowPort f([](SimFunction& sim) { sim.flr().not_ready_for(ms(1500), true); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::not_ready);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: still answers Request Retry Status 1000 ms after the reset");
    CHECK(f.reset.outcome().retry_status_reads == 101);  // at +0, +10 ms ... +1000 ms
  }
}

TEST_CASE("pci reset: a function that answers with other IDs after the reset") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  REQUIRE(f.begin(f.record()));
  REQUIRE(f.advance(reset_start + ms(50)) == ResetStatus::wait);  // in the FLR's 100 ms
  REQUIRE(f.sim->resets() == 1);
  f.sim->poke16(0x02, 0x1042);  // the function comes back as another device
  CHECK(f.advance(std::numeric_limits<uint64_t>::max()) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::identity);
  CHECK(failure(f) == "pci 0000:01:00.0 reset flr: answers as 1af4:1042 after the reset, enumerated as 1af4:1041");
}

TEST_CASE("pci reset: registers that do not hold the record after the reset name themselves") {
  SUBCASE("a 32-bit BAR") {
    BelowPort f([](SimFunction& sim) { sim.flr().stuck_after_reset(0x10); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::restore_mismatch);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: bar 0 (0x10) reads 0x00000000 after restore, " +
                            hex8(f.record().bars[0].bus_address) + " was written");
    CHECK(quarantined(*f.sim));
  }
  SUBCASE("the upper half of a 64-bit BAR") {
    ResetFixture f;
    SimFunction& sim = f.root().pcie_endpoint(1, 0, 0x1af4, 0x1041).flr();
    sim.bar(0, BarType::mem64, 0x4000, true);  // placed in the 64-bit window, above 4 GiB
    sim.stuck_after_reset(0x14);
    f.enumerate();
    const pci::Function& r = f.function(0, 1);
    REQUIRE((r.bars[0].bus_address >> 32) != 0);
    CHECK(f.run(r) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::restore_mismatch);
    CHECK(failure(f) == "pci 0000:00:01.0 reset flr: bar 0 upper half (0x14) reads 0x00000000 after restore, " +
                            hex8(r.bars[0].bus_address >> 32) + " was written");
  }
  SUBCASE("the ROM") {
    BelowPort f([](SimFunction& sim) { sim.rom(0x800).flr().stuck_after_reset(0x30); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: rom (0x30) reads 0x00000000 after restore, " +
                            hex8(f.record().rom.bus_address) + " was written");
  }
  SUBCASE("the command register") {
    BelowPort f([](SimFunction& sim) { sim.flr().stuck_after_reset(0x04); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(failure(f) == "pci 0000:01:00.0 reset flr: command reads 0x0000 after restore, 0x0400 was written");
  }
}

TEST_CASE("pci reset: a function without Interrupt Disable (hard-wired 0) is restored without it") {
  BelowPort f([](SimFunction& sim) { sim.flr().writable32(0x04, 0x0147); });
  CHECK(f.run(f.record()) == ResetStatus::done);
  CHECK(f.sim->command() == 0);
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset pm: PowerState that does not move fails without a fallback, falls back to a bus reset with one") {
  SUBCASE("D3hot not taken, on the root bus") {
    OnRootBus f([](SimFunction& sim) { sim.pm().power_state_stuck(); });
    REQUIRE(f.record().reset.method == ResetMethod::pm);
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::power_state);
    CHECK(failure(f) == "pci 0000:00:02.0 reset pm: PowerState reads D0 10 ms after D3hot was written");
    CHECK(quarantined(*f.sim));
  }
  SUBCASE("stuck in D3hot, on the root bus") {
    OnRootBus f([](SimFunction& sim) { sim.pm().stays_in_d3hot(); });
    CHECK(f.run(f.record()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::power_state);
    CHECK(failure(f) == "pci 0000:00:02.0 reset pm: PowerState reads D3hot after D0 was written");
    CHECK(f.sim->power_state() == 3);  // left in D3hot: quiet
  }
  SUBCASE("stuck in D3hot, alone below a root port: the bus reset brings it back") {
    BelowPort f([](SimFunction& sim) { sim.pm().stays_in_d3hot(); });
    REQUIRE(f.record().reset.method == ResetMethod::pm);
    REQUIRE(f.record().reset.after(ResetMethod::pm) == ResetMethod::bus);
    CHECK(f.run(f.record()) == ResetStatus::done);
    CHECK(f.reset.outcome().method == ResetMethod::bus);
    CHECK(f.reset.outcome().ineffective == pci::ResetChoice::bit(ResetMethod::pm));
    CHECK(f.sim->power_state() == 0);
    CHECK(f.timeline().violations.empty());
  }
  SUBCASE("unreachable in D3hot") {
    BelowPort f([](SimFunction& sim) { sim.pm(); });
    REQUIRE(f.begin(f.record()));
    REQUIRE(f.advance(reset_start + ms(5)) == ResetStatus::wait);
    f.ecam.write({0, 1, 0}, 0x18, AccessWidth::word, 0);
    CHECK(f.advance(std::numeric_limits<uint64_t>::max()) == ResetStatus::failed);
    CHECK(f.reset.error() == ResetError::absent);
    CHECK(failure(f) == "pci 0000:01:00.0 reset pm: does not answer config reads in D3hot");
  }
}

TEST_CASE("pci reset pm: D3hot -> D0 that resets nothing (QEMU 7.2) is seen, and MSI left on is turned off") {
  OnRootBus f([](SimFunction& sim) { sim.pm().soft_reset_ignored().msi(0, true, false); });
  const pci::Function& r = f.record();
  f.ecam.write({0, 2, 0}, static_cast<uint16_t>(r.caps.msi.offset + 2), AccessWidth::half, 0x0001);
  CHECK(f.run(r) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::not_reset);
  CHECK(failure(f) == "pci 0000:00:02.0 reset pm: was not reset: Interrupt Disable still set (command 0x0400)");
  CHECK((f.sim->peek16(r.caps.msi.offset + 2) & 0x1) == 0);
  CHECK(quarantined(*f.sim));
  CHECK(f.reset.outcome().ineffective == pci::ResetChoice::bit(ResetMethod::pm));
}

TEST_CASE("pci reset pm: without Interrupt Disable, MSI or MSI-X Enable still set shows the reset did not take") {
  SUBCASE("MSI") {
    OnRootBus f([](SimFunction& sim) { sim.pm().soft_reset_ignored().msi(0, true, false).writable32(0x04, 0x0147); });
    const pci::Function& r = f.record();
    f.ecam.write({0, 2, 0}, static_cast<uint16_t>(r.caps.msi.offset + 2), AccessWidth::half, 0x0001);
    CHECK(f.run(r) == ResetStatus::failed);
    CHECK(failure(f) == "pci 0000:00:02.0 reset pm: was not reset: MSI Enable still set");
    CHECK((f.sim->peek16(r.caps.msi.offset + 2) & 0x1) == 0);
  }
  SUBCASE("MSI-X") {
    OnRootBus f([](SimFunction& sim) { sim.pm().soft_reset_ignored().msix(4, 0, 0x800, 0, 0xc00).writable32(0x04, 0x0147); });
    const pci::Function& r = f.record();
    f.ecam.write({0, 2, 0}, static_cast<uint16_t>(r.caps.msix.offset + 2), AccessWidth::half, 0x8000);
    CHECK(f.run(r) == ResetStatus::failed);
    CHECK(failure(f) == "pci 0000:00:02.0 reset pm: was not reset: MSI-X Enable still set");
    CHECK((f.sim->peek16(r.caps.msix.offset + 2) & 0x8000) == 0);
  }
}

TEST_CASE("pci reset: an ineffective PM reset falls back to the bus reset of the port above (QEMU 7.2's e1000e)") {
  BelowPort f([](SimFunction& sim) { sim.pm().soft_reset_ignored().msix(4, 0, 0x800, 0, 0xc00); });
  const pci::Function& r = f.record();
  REQUIRE(r.reset.method == ResetMethod::pm);
  f.ecam.write({1, 0, 0}, 0x04, AccessWidth::half, 0x0006);
  f.ecam.write({1, 0, 0}, static_cast<uint16_t>(r.caps.msix.offset + 2), AccessWidth::half, 0x8000);
  CHECK(f.run(r) == ResetStatus::done);
  CHECK(f.reset.error() == ResetError::none);
  CHECK(f.reset.outcome().method == ResetMethod::bus);
  CHECK(f.reset.outcome().ineffective == pci::ResetChoice::bit(ResetMethod::pm));
  CHECK(f.sim->resets() == 1);  // the bus reset
  CHECK((f.sim->peek16(r.caps.msix.offset + 2) & 0x8000) == 0);
  CHECK(f.sim->command() == interrupt_disable);
  CHECK(f.timeline().violations.empty());
  CHECK(joined(resource_problems(*f.harness.topology, f.harness.topology->segments[0], f.ecam)) == "");
  CapturedLog log;
  pci::report_reset(f.reset, test_clock);
  // Bus master off at +0; D3hot, D0 (+10 ms), the check (+20 ms); the bus reset held
  // 2 ms, 100 ms after its release (the port's link is 2.5 GT/s).
  CHECK(joined(log.lines()) == "bulkhead: pci-reset-done 0000:01:00.0 bus ms 122 ineffective pm\n");
}

TEST_CASE("pci reset bus: a link that does not come up again fails, the bus reset released") {
  BelowPort f([](SimFunction&) {});
  f.port->link(3, true, ms(5000));  // 8 GT/s, reports Link Active, but trains for 5 s
  CHECK(f.run(f.record()) == ResetStatus::failed);
  CHECK(f.reset.error() == ResetError::link_down);
  CHECK(failure(f) == "pci 0000:01:00.0 reset bus: the link from bridge 0000:00:01.0 is not up 1000 ms after the bus "
                      "reset");
  CHECK((f.port->peek16(0x3e) & 0x40) == 0);
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset: a partition restarting again and again resets its function each time") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  for (int restart = 0; restart < 5; ++restart) {
    CAPTURE(restart);
    f.ecam.write({1, 0, 0}, 0x04, AccessWidth::half, 0x0006);  // the guest's driver
    f.ecam.write({1, 0, 0}, 0x10, AccessWidth::word, 0xdead0000);
    CHECK(f.run(f.record(), reset_start + static_cast<uint64_t>(restart) * ms(10'000)) == ResetStatus::done);
    CHECK(f.sim->bar_address(0) == f.record().bars[0].bus_address);
    CHECK(f.sim->command() == interrupt_disable);
  }
  CHECK(f.sim->resets() == 5);
  CHECK(f.timeline().violations.empty());
}

TEST_CASE("pci reset: the report lines of a finished and of a failed reset") {
  BelowPort f([](SimFunction& sim) { sim.flr(); });
  CapturedLog nothing;
  pci::report_reset(f.reset, test_clock);  // not begun: nothing to say
  REQUIRE(f.begin(f.record()));
  REQUIRE(f.advance(reset_start + ms(50)) == ResetStatus::wait);
  pci::report_reset(f.reset, test_clock);  // under way: nothing either
  CHECK(nothing.lines().empty());
  REQUIRE(f.advance(std::numeric_limits<uint64_t>::max()) == ResetStatus::done);
  CapturedLog done;
  pci::report_reset(f.reset, test_clock);
  CHECK(joined(done.lines()) == "bulkhead: pci-reset-done 0000:01:00.0 flr ms 100\n");

  f.sim->not_ready_for(SimFunction::never_ready);
  REQUIRE(f.run(f.record(), reset_start + ms(10'000)) == ResetStatus::failed);
  CapturedLog failed;
  pci::report_reset(f.reset, test_clock);
  CHECK(joined(failed.lines()) == "bulkhead: error: pci 0000:01:00.0 reset flr: does not answer config reads (all "
                                  "ones) 1000 ms after the reset; quarantined\n");
}
