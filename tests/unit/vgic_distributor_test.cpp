#include <doctest/doctest.h>

#include <string>

#include "core/vgic/vgic_distributor.hpp"

using namespace bulkhead;
using namespace bulkhead::vgic;

namespace {
// SPI 33 (a virtual UART, level), SPI 40 (hardware-backed, level), SPI 47 (virtual, edge).
constexpr OwnedSpi test_spis[] = {{33, false, false}, {40, true, false}, {47, false, true}};

VirtualDistributor make_distributor(uint8_t vcpus = 2) {
  VirtualDistributor distributor;
  DistributorConfig config;
  config.vcpu_count = vcpus;
  config.spis = test_spis;
  config.spi_count = 3;
  REQUIRE(distributor.configure(config) == ConfigError::none);
  return distributor;
}

uint64_t read32(const VirtualDistributor& distributor, uint64_t offset) {
  uint64_t value = 0xdead;
  CHECK(distributor.read(offset, 4, value) == AccessResult::handled);
  return value;
}

void write32(VirtualDistributor& distributor, uint64_t offset, uint32_t value, Events& events) {
  CHECK(distributor.write(offset, 4, value, events) == AccessResult::handled);
}

// The word covering INTIDs 32-63 of a 1-bit-per-interrupt register.
constexpr uint64_t word1(uint64_t base) { return base + 4; }
constexpr uint64_t irouter(uint32_t intid) { return gicd::irouter + uint64_t{8} * intid; }
}  // namespace

TEST_CASE("vgic distributor: reset values and identification") {
  const VirtualDistributor distributor = make_distributor();
  CHECK(read32(distributor, gicd::ctlr) == (gicd::ctlr_are | gicd::ctlr_ds));  // groups off, ARE and DS read as one
  // ITLinesNumber 1 (SPIs up to 63 cover SPI 47), CPUNumber 1 (two vCPUs), IDbits 9 (10 bits), no LPIs/MBIS.
  CHECK(read32(distributor, gicd::typer) == (1u | (1u << 5) | (9u << 19)));
  CHECK(read32(distributor, gicd::iidr) == 0x4200043b);
  CHECK(read32(distributor, gicd::typer2) == 0);
  CHECK(read32(distributor, gicd::pidr2) == 0x3b);
  CHECK(((read32(distributor, gicd::pidr2) >> 4) & 0xf) == 3);  // ArchRev: GICv3
  CHECK(read32(distributor, gicd::statusr) == 0);
  // Group 1 at reset; everything else clear.
  CHECK(read32(distributor, word1(gic_bank::igroupr)) == ((1u << 1) | (1u << 8) | (1u << 15)));
  CHECK(read32(distributor, word1(gic_bank::isenabler)) == 0);
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == 0);
  CHECK(read32(distributor, word1(gic_bank::isactiver)) == 0);
  CHECK(read32(distributor, gic_bank::ipriorityr + 32) == 0);
  CHECK(read32(distributor, gic_bank::icfgr + 8) == (2u << 30));  // SPI 47 is edge from the description
  uint64_t router = 1;
  CHECK(distributor.read(irouter(40), 8, router) == AccessResult::handled);
  CHECK(router == 0);
  CHECK(distributor.spi(40)->target_vcpu == 0);
}

TEST_CASE("vgic distributor: GICD_TYPER follows the partition's highest SPI and vCPU count") {
  constexpr OwnedSpi high[] = {{33, false, false}, {200, true, true}};
  VirtualDistributor distributor;
  DistributorConfig config;
  config.vcpu_count = 12;
  config.spis = high;
  config.spi_count = 2;
  REQUIRE(distributor.configure(config) == ConfigError::none);
  CHECK((distributor.typer() & 0x1f) == 6);          // 32 * 7 - 1 = 223 >= 200
  CHECK(((distributor.typer() >> 5) & 7) == 7);      // CPUNumber saturates at 8 CPUs
  CHECK((distributor.typer() & (1u << 17)) == 0);    // LPIS
  CHECK((distributor.typer() & (1u << 16)) == 0);    // MBIS
  config.spi_count = 0;
  REQUIRE(distributor.configure(config) == ConfigError::none);
  CHECK((distributor.typer() & 0x1f) == 0);
}

TEST_CASE("vgic distributor: GICD_CTLR enables groups and kicks every vCPU") {
  VirtualDistributor distributor = make_distributor(3);
  Events events;
  write32(distributor, gicd::ctlr, 0x13, events);  // Linux: ARE_NS | EnableGrp1A | EnableGrp1
  CHECK(read32(distributor, gicd::ctlr) == 0x53);
  CHECK(distributor.group_enabled(true));
  CHECK(distributor.group_enabled(false));
  CHECK(events.kick_vcpus == 0x7);
  Events again;
  write32(distributor, gicd::ctlr, 0x13, again);
  CHECK(again.kick_vcpus == 0);  // no change, no kick
  write32(distributor, gicd::ctlr, 0x2, again);
  CHECK(read32(distributor, gicd::ctlr) == 0x52);
  CHECK_FALSE(distributor.group_enabled(false));
}

TEST_CASE("vgic distributor: enable, pending, active round trips and their events") {
  VirtualDistributor distributor = make_distributor();
  Events events;
  write32(distributor, word1(gic_bank::isenabler), (1u << 8) | (1u << 1), events);
  CHECK(read32(distributor, word1(gic_bank::isenabler)) == ((1u << 8) | (1u << 1)));
  CHECK(read32(distributor, word1(gic_bank::icenabler)) == ((1u << 8) | (1u << 1)));
  REQUIRE(events.hardware_count == 1);  // only SPI 40 is hardware-backed
  CHECK(events.hardware[0].request == HardwareRequest::enable);
  CHECK(events.hardware[0].physical_intid == 40);
  CHECK(events.hardware[0].vcpu == 0);
  CHECK(events.kick_vcpus == 0x1);

  Events disable;
  write32(distributor, word1(gic_bank::icenabler), 1u << 8, disable);
  CHECK(read32(distributor, word1(gic_bank::isenabler)) == (1u << 1));
  REQUIRE(disable.hardware_count == 1);
  CHECK(disable.hardware[0].request == HardwareRequest::disable);

  Events pend;
  write32(distributor, word1(gic_bank::ispendr), 1u << 1, pend);  // SPI 33, virtual
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == (1u << 1));
  CHECK(read32(distributor, word1(gic_bank::icpendr)) == (1u << 1));
  CHECK(pend.hardware_count == 0);
  CHECK(pend.kick_vcpus == 0x1);
  write32(distributor, word1(gic_bank::icpendr), 1u << 1, pend);
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == 0);

  // A hardware SPI made pending by the guest needs its physical interrupt active so the
  // guest's deactivation (through the HW list register) has something to deactivate.
  Events hardware;
  write32(distributor, word1(gic_bank::ispendr), 1u << 8, hardware);
  REQUIRE(hardware.hardware_count == 1);
  CHECK(hardware.hardware[0].request == HardwareRequest::activate);
  Events active;
  write32(distributor, word1(gic_bank::isactiver), 1u << 8, active);
  CHECK(read32(distributor, word1(gic_bank::isactiver)) == (1u << 8));
  CHECK(active.hardware_count == 0);  // already physically active
  write32(distributor, word1(gic_bank::icpendr), 1u << 8, active);
  CHECK(active.hardware_count == 0);  // still active
  Events inactive;
  write32(distributor, word1(gic_bank::icactiver), 1u << 8, inactive);
  CHECK(read32(distributor, word1(gic_bank::icactiver)) == 0);
  REQUIRE(inactive.hardware_count == 1);
  CHECK(inactive.hardware[0].request == HardwareRequest::deactivate);

  // Group: each bit assigns.
  Events group;
  write32(distributor, word1(gic_bank::igroupr), 1u << 15, group);
  CHECK(read32(distributor, word1(gic_bank::igroupr)) == (1u << 15));
  CHECK_FALSE(distributor.spi(33)->group1);
  // IGRPMODR is RAZ/WI with a single security state.
  write32(distributor, word1(gic_bank::igrpmodr), 0xffffffff, group);
  CHECK(read32(distributor, word1(gic_bank::igrpmodr)) == 0);
}

TEST_CASE("vgic distributor: a level interrupt stays pending while its line is asserted") {
  VirtualDistributor distributor = make_distributor();
  distributor.spi(33)->line_asserted = true;
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == (1u << 1));
  Events events;
  write32(distributor, word1(gic_bank::icpendr), 1u << 1, events);
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == (1u << 1));
  distributor.spi(33)->line_asserted = false;
  CHECK(read32(distributor, word1(gic_bank::ispendr)) == 0);
}

TEST_CASE("vgic distributor: priorities by word and by byte keep the implemented bits") {
  VirtualDistributor distributor = make_distributor();
  Events events;
  // The word at 0x420 covers INTIDs 32-35: only 33 is owned.
  write32(distributor, gic_bank::ipriorityr + 32, 0x12345678, events);
  CHECK(read32(distributor, gic_bank::ipriorityr + 32) == 0x00005000);  // 0x56 & 0xf8
  CHECK(distributor.write(gic_bank::ipriorityr + 40, 1, 0xa7, events) == AccessResult::handled);
  uint64_t byte = 0;
  CHECK(distributor.read(gic_bank::ipriorityr + 40, 1, byte) == AccessResult::handled);
  CHECK(byte == 0xa0);
  CHECK(read32(distributor, gic_bank::ipriorityr + 40) == 0xa0);  // byte 0 of the word is INTID 40
  CHECK(distributor.write(gic_bank::ipriorityr + 47, 1, 0xff, events) == AccessResult::handled);
  CHECK(read32(distributor, gic_bank::ipriorityr + 44) == 0xf8000000u);
  CHECK(distributor.read(gic_bank::ipriorityr + 41, 1, byte) == AccessResult::handled);
  CHECK(byte == 0);  // unowned
}

TEST_CASE("vgic distributor: trigger configuration") {
  VirtualDistributor distributor = make_distributor();
  Events events;
  write32(distributor, gic_bank::icfgr + 8, 0xffffffff, events);  // INTIDs 32-47
  CHECK(read32(distributor, gic_bank::icfgr + 8) == ((2u << 2) | (2u << 16) | (2u << 30)));
  CHECK(distributor.spi(33)->edge);
  write32(distributor, gic_bank::icfgr + 8, 0, events);
  CHECK(read32(distributor, gic_bank::icfgr + 8) == 0);
  CHECK_FALSE(distributor.spi(47)->edge);
}

TEST_CASE("vgic distributor: a partition sees and touches only its own interrupts") {
  constexpr OwnedSpi only_40[] = {{40, true, false}};
  VirtualDistributor distributor;
  DistributorConfig config;
  config.vcpu_count = 2;
  config.spis = only_40;
  config.spi_count = 1;
  REQUIRE(distributor.configure(config) == ConfigError::none);
  Events events;
  for (uint64_t base : {gic_bank::isenabler, gic_bank::ispendr, gic_bank::isactiver}) {
    write32(distributor, word1(base), 0xffffffff, events);
    CHECK(read32(distributor, word1(base)) == (1u << 8));
  }
  // Every hardware event is about SPI 40.
  for (size_t i = 0; i < events.hardware_count; ++i) CHECK(events.hardware[i].physical_intid == 40);
  CHECK(read32(distributor, word1(gic_bank::igroupr)) == (1u << 8));
  write32(distributor, gic_bank::ipriorityr + 40, 0xffffffff, events);
  CHECK(read32(distributor, gic_bank::ipriorityr + 40) == 0xf8);  // 41-43 stay zero
  Events untouched;
  CHECK(distributor.write(irouter(41), 8, 1, untouched) == AccessResult::handled);
  uint64_t router = 5;
  CHECK(distributor.read(irouter(41), 8, router) == AccessResult::handled);
  CHECK(router == 0);
  CHECK(untouched.hardware_count == 0);
  CHECK(untouched.kick_vcpus == 0);
  CHECK(distributor.spi(41) == nullptr);
  // SGIs and PPIs live in the redistributors: RAZ/WI here.
  write32(distributor, gic_bank::isenabler, 0xffffffff, untouched);
  CHECK(read32(distributor, gic_bank::isenabler) == 0);
  CHECK(untouched.kick_vcpus == 0);
}

TEST_CASE("vgic distributor: GICD_IROUTER picks the vCPU by affinity") {
  VirtualDistributor distributor = make_distributor(2);
  Events events;
  CHECK(distributor.write(irouter(40), 8, 1, events) == AccessResult::handled);
  CHECK(distributor.spi(40)->target_vcpu == 1);
  CHECK(events.kick_vcpus == 0x3);  // old and new target
  REQUIRE(events.hardware_count == 1);
  CHECK(events.hardware[0].request == HardwareRequest::route);
  CHECK(events.hardware[0].vcpu == 1);
  uint64_t value = 0;
  CHECK(distributor.read(irouter(40), 8, value) == AccessResult::handled);
  CHECK(value == 1);

  // IRM = 1 reads back and routes to vCPU 0.
  Events any;
  CHECK(distributor.write(irouter(40), 8, gicd::irouter_irm, any) == AccessResult::handled);
  CHECK(distributor.spi(40)->target_vcpu == 0);
  CHECK(distributor.read(irouter(40), 8, value) == AccessResult::handled);
  CHECK(value == gicd::irouter_irm);

  // 32-bit halves: Aff3 lives in the upper word. Aff3 = 1 is no vCPU of ours.
  Events halves;
  CHECK(distributor.write(irouter(33), 4, 1, halves) == AccessResult::handled);
  CHECK(distributor.spi(33)->target_vcpu == 1);
  CHECK(halves.hardware_count == 0);  // virtual SPI: nothing physical to route
  CHECK(distributor.write(irouter(33) + 4, 4, 1, halves) == AccessResult::handled);
  CHECK(distributor.read(irouter(33), 8, value) == AccessResult::handled);
  CHECK(value == 0x100000001ull);
  CHECK(distributor.spi(33)->target_vcpu == VirtualDistributor::no_vcpu);
  CHECK(distributor.read(irouter(33) + 4, 4, value) == AccessResult::handled);
  CHECK(value == 1);

  // Aff0 beyond the vCPU count: not delivered, hardware routing left alone.
  Events beyond;
  CHECK(distributor.write(irouter(40), 8, 5, beyond) == AccessResult::handled);
  CHECK(distributor.spi(40)->target_vcpu == VirtualDistributor::no_vcpu);
  CHECK(beyond.hardware_count == 0);
  // RES0 bits are dropped.
  CHECK(distributor.write(irouter(40), 8, 0xffffffffffffffffull, beyond) == AccessResult::handled);
  CHECK(distributor.read(irouter(40), 8, value) == AccessResult::handled);
  CHECK(value == 0xff80ffffffull);
}

TEST_CASE("vgic distributor: unknown offsets and widths are RAZ/WI and reported") {
  VirtualDistributor distributor = make_distributor();
  Events events;
  uint64_t value = 7;
  CHECK(distributor.read(0x0040, 4, value) == AccessResult::unhandled);  // GICD_SETSPI_NSR: no MBIS
  CHECK(value == 0);
  CHECK(distributor.write(0x0040, 4, 33, events) == AccessResult::unhandled);
  CHECK(distributor.read(word1(gic_bank::isenabler), 1, value) == AccessResult::unhandled);  // word-only register
  CHECK(distributor.read(gicd::ctlr, 2, value) == AccessResult::unhandled);
  CHECK(distributor.read(gicd::ctlr, 8, value) == AccessResult::unhandled);
  CHECK(distributor.read(gicd::typer + 1, 1, value) == AccessResult::unhandled);
  CHECK(distributor.read(irouter(40) + 2, 4, value) == AccessResult::unhandled);  // misaligned
  CHECK(distributor.read(0x10000, 4, value) == AccessResult::unhandled);
  CHECK(distributor.read(0x6000, 8, value) == AccessResult::unhandled);  // IROUTER for INTIDs < 32 is reserved
  CHECK(distributor.write(word1(gic_bank::isenabler), 1, 1, events) == AccessResult::unhandled);
  CHECK(read32(distributor, word1(gic_bank::isenabler)) == 0);
  // Architecturally defined, ignored with affinity routing: handled.
  CHECK(distributor.write(gicd::sgir, 4, 0x02000001, events) == AccessResult::handled);
  CHECK(distributor.read(gicd::itargetsr + 40, 1, value) == AccessResult::handled);
  CHECK(distributor.write(gicd::typer, 4, 0, events) == AccessResult::handled);
  CHECK(read32(distributor, gicd::typer) == distributor.typer());
  CHECK(events.kick_vcpus == 0);
  CHECK(events.hardware_count == 0);
}

TEST_CASE("vgic distributor: configuration is checked") {
  VirtualDistributor distributor;
  DistributorConfig config;
  constexpr OwnedSpi duplicate[] = {{40, true, false}, {40, false, false}};
  config.spis = duplicate;
  config.spi_count = 2;
  CHECK(distributor.configure(config) == ConfigError::duplicate_spi);
  CHECK(distributor.spi_count() == 0);
  constexpr OwnedSpi ppi[] = {{27, true, false}};
  config.spis = ppi;
  config.spi_count = 1;
  CHECK(distributor.configure(config) == ConfigError::spi_out_of_range);
  constexpr OwnedSpi special[] = {{1020, false, false}};
  config.spis = special;
  CHECK(distributor.configure(config) == ConfigError::spi_out_of_range);
  config.spi_count = max_owned_spis + 1;
  CHECK(distributor.configure(config) == ConfigError::too_many_spis);
  config.spi_count = 0;
  config.vcpu_count = 0;
  CHECK(distributor.configure(config) == ConfigError::bad_vcpu_count);
  config.vcpu_count = 17;
  CHECK(distributor.configure(config) == ConfigError::bad_vcpu_count);
  config.vcpu_count = 1;
  config.priority_bits = 9;
  CHECK(distributor.configure(config) == ConfigError::bad_priority_bits);
  CHECK(std::string(config_error_name(ConfigError::duplicate_spi)) == "duplicate-spi");
}

TEST_CASE("vgic distributor: reset restores the architectural state") {
  VirtualDistributor distributor = make_distributor();
  Events events;
  write32(distributor, gicd::ctlr, 0x3, events);
  write32(distributor, word1(gic_bank::isenabler), 0xffffffff, events);
  write32(distributor, word1(gic_bank::igroupr), 0, events);
  CHECK(distributor.write(irouter(40), 8, 1, events) == AccessResult::handled);
  write32(distributor, gic_bank::icfgr + 8, 0, events);
  CHECK_FALSE(distributor.spi(47)->edge);
  distributor.reset();
  CHECK(read32(distributor, gicd::ctlr) == 0x50);
  CHECK(read32(distributor, word1(gic_bank::isenabler)) == 0);
  CHECK(read32(distributor, word1(gic_bank::igroupr)) == ((1u << 1) | (1u << 8) | (1u << 15)));
  CHECK(distributor.spi(40)->target_vcpu == 0);
  CHECK(distributor.spi(47)->edge);  // the description's trigger survives
}
