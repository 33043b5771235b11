// Message-based SPIs (GICv3 MBIs) in the virtual distributor: GICD_TYPER.MBIS, writes to
// GICD_SETSPI_NSR/CLRSPI_NSR reaching only the partition's MBI range, edge semantics,
// the LPI path's signal_message(), and IROUTER changes reported for the LPIs to follow.
#include <doctest/doctest.h>

#include <vector>

#include "core/vgic/virtual_gic.hpp"

using namespace bulkhead::vgic;

namespace {
constexpr uint64_t distributor_base = 0x08000000;
constexpr uint64_t redistributor_base = 0x080a0000;
constexpr OwnedSpi owned[] = {{33, false, false}, {40, true, false}};
constexpr MessageRange mbi{64, 64};  // INTIDs 64..127 (DT SPIs 32..95)

struct Partition {
  VirtualGic gic;
  explicit Partition(MessageRange messages = mbi) {
    GicConfig config;
    config.vcpu_count = 2;
    config.distributor_base = distributor_base;
    config.redistributor_base = redistributor_base;
    config.spis = owned;
    config.spi_count = 2;
    config.messages = messages;
    REQUIRE(gic.configure(config) == ConfigError::none);
    // What Linux does at boot: groups on, redistributors awake, the SPIs enabled.
    write(gicd::ctlr, 0x13);
    for (uint64_t word = 1; word < 4; ++word) write(gic_bank::isenabler + 4 * word, 0xffffffff);
    for (uint64_t vcpu = 0; vcpu < 2; ++vcpu) {
      Events events;
      REQUIRE(gic.write(redistributor_base + vcpu * VirtualRedistributor::frame_size + gicr::waker, 4, 0, events,
                        static_cast<uint8_t>(vcpu)) == AccessResult::handled);
    }
  }
  Events write(uint64_t offset, uint64_t value, unsigned width = 4) {
    Events events;
    CHECK(gic.write(distributor_base + offset, width, value, events, 0) == AccessResult::handled);
    return events;
  }
  uint32_t read(uint64_t offset) const {
    uint64_t value = 0;
    CHECK(gic.read(distributor_base + offset, 4, value) == AccessResult::handled);
    return static_cast<uint32_t>(value);
  }
  bool pending(uint32_t intid) const { return ((read(gic_bank::ispendr + 4 * (intid / 32)) >> (intid % 32)) & 1) != 0; }
  // The LRs vCPU `vcpu` would run with.
  std::vector<ListRegister> lrs(uint8_t vcpu) {
    uint64_t values[4] = {};
    gic.fill(vcpu, values, 4);
    std::vector<ListRegister> out;
    for (uint64_t value : values) {
      if (decode_list_register(value).state != LrState::invalid) out.push_back(decode_list_register(value));
    }
    return out;
  }
};
}  // namespace

TEST_CASE("vgic messages: GICD_TYPER says MBIS only with a range, and ITLinesNumber covers it") {
  Partition with;
  CHECK((with.read(gicd::typer) & gicd_message::typer_mbis) != 0);
  CHECK((with.read(gicd::typer) & 0x1f) == 127 / 32);
  Partition without(MessageRange{});
  CHECK((without.read(gicd::typer) & gicd_message::typer_mbis) == 0);
  CHECK((without.read(gicd::typer) & 0x1f) == 40 / 32);
  // Without a range the registers stay unimplemented (RAZ/WI, reported to the caller).
  Events events;
  uint64_t value = 0;
  CHECK(without.gic.write(distributor_base + gicd_message::setspi_nsr, 4, 33, events, 0) == AccessResult::unhandled);
  CHECK(without.gic.read(distributor_base + gicd_message::setspi_nsr, 4, value) == AccessResult::unhandled);
  CHECK_FALSE(without.pending(33));
}

TEST_CASE("vgic messages: GICD_SETSPI_NSR makes an SPI of the range pending, everything else is ignored") {
  Partition p;
  const Events events = p.write(gicd_message::setspi_nsr, 70);
  CHECK(p.pending(70));
  CHECK(events.kick_vcpus == 1);  // routed to vCPU 0 at reset
  CHECK(events.hardware_count == 0);
  std::vector<ListRegister> lrs = p.lrs(0);
  REQUIRE(lrs.size() == 1);
  CHECK(lrs[0].virtual_intid == 70);
  CHECK(lrs[0].state == LrState::pending);
  CHECK_FALSE(lrs[0].hardware);
  // Not in the range: an owned virtual SPI, an owned hardware SPI, unowned SPIs, SGIs,
  // PPIs, LPIs, values with bits above the INTID field, the secure-state registers.
  for (uint32_t value : {33u, 40u, 63u, 128u, 200u, 1019u, 1023u, 5u, 27u, 8192u, 70u | (1u << 13), 0xffffffffu}) {
    INFO("value " << value);
    const Events ignored = p.write(gicd_message::setspi_nsr, value);
    CHECK(ignored.kick_vcpus == 0);
    CHECK(ignored.hardware_count == 0);
  }
  CHECK(p.write(gicd_message::setspi_sr, 71).kick_vcpus == 0);
  CHECK_FALSE(p.pending(33));
  CHECK_FALSE(p.pending(40));
  CHECK_FALSE(p.pending(71));
  for (uint32_t intid = 64; intid < 128; ++intid) CHECK(p.pending(intid) == (intid == 70));
  // CLRSPI_NSR takes it back (and reading the write-only registers gives 0).
  CHECK(p.write(gicd_message::clrspi_nsr, 70).kick_vcpus == 1);
  CHECK_FALSE(p.pending(70));
  CHECK(p.lrs(0).empty());
  CHECK(p.read(gicd_message::setspi_nsr) == 0);
  CHECK(p.read(gicd_message::clrspi_nsr) == 0);
}

TEST_CASE("vgic messages: the range's SPIs are edge-triggered at reset and stay owned across a reset") {
  Partition p;
  // ICFGR field 2 bits per SPI, bit 1 = edge: INTIDs 64..79 are register 4.
  CHECK(p.read(gic_bank::icfgr + 4 * 4) == 0xaaaaaaaa);
  CHECK(p.read(gic_bank::icfgr + 4 * 2) == 0);  // 33, 40: level
  p.write(gicd_message::setspi_nsr, 100);
  p.gic.reset();
  CHECK_FALSE(p.pending(100));
  CHECK(p.gic.distributor().message_spi(100) != nullptr);
  CHECK(p.gic.distributor().message_spi(40) == nullptr);
  CHECK(p.gic.distributor().messages().contains(127));
  CHECK_FALSE(p.gic.distributor().messages().contains(128));
}

TEST_CASE("vgic messages: a range that collides with owned SPIs, leaves the SPIs or overflows is refused") {
  VirtualGic gic;
  GicConfig config;
  config.vcpu_count = 1;
  config.spis = owned;
  config.spi_count = 2;
  config.messages = {32, 8};  // covers 33
  CHECK(gic.configure(config) == ConfigError::duplicate_spi);
  config.messages = {1000, 32};  // beyond 1019
  CHECK(gic.configure(config) == ConfigError::spi_out_of_range);
  config.messages = {16, 8};  // PPIs
  CHECK(gic.configure(config) == ConfigError::spi_out_of_range);
  config.messages = {64, static_cast<uint16_t>(max_owned_spis - 1)};
  CHECK(gic.configure(config) == ConfigError::too_many_spis);
  config.messages = {64, static_cast<uint16_t>(max_owned_spis - 2)};
  CHECK(gic.configure(config) == ConfigError::none);
  CHECK(gic.distributor().spi_count() == max_owned_spis);
}

TEST_CASE("vgic messages: signal_message pends the SPI for its target vCPU, straight into an LR when taken there") {
  Partition p;
  p.write(gicd::irouter + 8 * 80, 1);  // SPI 80 to vCPU 1
  uint64_t lrs[4] = {};
  p.gic.fill(1, lrs, 4);  // vCPU 1's LRs are in step with its (empty) queue
  Events events;
  REQUIRE(p.gic.signal_message(1, 80, events));
  CHECK(events.kick_vcpus == 2);
  const SyncResult sync = p.gic.sync(1, lrs, 4);
  CHECK(sync.written == 1);  // just the one LR
  CHECK(decode_list_register(lrs[0]).virtual_intid == 80);
  CHECK(decode_list_register(lrs[0]).state == LrState::pending);
  // Not a message-based SPI: refused, nothing changes.
  Events none;
  CHECK_FALSE(p.gic.signal_message(0, 40, none));
  CHECK_FALSE(p.gic.signal_message(0, 33, none));
  CHECK_FALSE(p.gic.signal_message(0, 128, none));
  CHECK(none.kick_vcpus == 0);
}

TEST_CASE("vgic messages: a message taken elsewhere while the guest may have acknowledged the last is not lost") {
  Partition p;  // SPI 90 routed to vCPU 0
  uint64_t lrs[4] = {};
  Events events;
  REQUIRE(p.gic.signal_message(0, 90, events));
  REQUIRE(p.gic.sync(0, lrs, 4).written == 1);
  // vCPU 0 runs and acknowledges it (the LR turns active); meanwhile the next message is
  // taken on another CPU, before vCPU 0's next exit folds its LRs.
  REQUIRE(p.gic.signal_message(1, 90, events));
  uint64_t after_ack[4] = {lrs[0], lrs[1], lrs[2], lrs[3]};
  ListRegister acked = decode_list_register(lrs[0]);
  acked.state = LrState::active;
  after_ack[0] = encode_list_register(acked);
  p.gic.fold_back(0, after_ack, 4);
  CHECK(p.pending(90));  // pending again, and active
  p.gic.sync(0, after_ack, 4);
  CHECK(decode_list_register(after_ack[0]).state == LrState::pending_active);
  // Taken on its own CPU, a second message before the acknowledgement is the same interrupt.
  Partition q;
  uint64_t q_lrs[4] = {};
  REQUIRE(q.gic.signal_message(0, 90, events));
  q.gic.sync(0, q_lrs, 4);
  REQUIRE(q.gic.signal_message(0, 90, events));
  ListRegister q_acked = decode_list_register(q_lrs[0]);
  q_acked.state = LrState::active;
  q_lrs[0] = encode_list_register(q_acked);
  q.gic.fold_back(0, q_lrs, 4);
  CHECK_FALSE(q.pending(90));
}

TEST_CASE("vgic messages: an IROUTER change of a message-based SPI is reported for its LPIs to follow") {
  Partition p;
  const Events moved = p.write(gicd::irouter + 8 * 100, 1);
  CHECK(moved.rerouted_message_spi == 100);
  CHECK(moved.kick_vcpus == 3);
  CHECK(p.write(gicd::irouter + 8 * 100, 1).rerouted_message_spi == 0);  // no change
  CHECK(p.write(gicd::irouter + 8 * 33, 1).rerouted_message_spi == 0);   // not a message-based SPI
  Events cleared = moved;
  cleared.clear();
  CHECK(cleared.rerouted_message_spi == 0);
}
