#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <new>

#include "core/vgic/virtual_gic.hpp"

using namespace bulkhead::vgic;

namespace {
constexpr uint64_t distributor_base = 0x08000000;
constexpr uint64_t redistributor_base = 0x080a0000;
constexpr OwnedSpi test_spis[] = {{33, false, false}, {40, true, false}};

// A partition with two vCPUs, a virtual UART (SPI 33), a passed-through device (SPI 40)
// and the timer PPIs backed by hardware; the guest has done what Linux does at boot.
GicConfig partition_config() {
  GicConfig config;
  config.vcpu_count = 2;
  config.distributor_base = distributor_base;
  config.redistributor_base = redistributor_base;
  config.spis = test_spis;
  config.spi_count = 2;
  config.hardware_ppis = (1u << 27) | (1u << 30);
  return config;
}

struct Partition {
  VirtualGic gic;
  explicit Partition(bool guest_initialised = true) {
    REQUIRE(gic.configure(partition_config()) == ConfigError::none);
    if (!guest_initialised) return;
    write(distributor_base + gicd::ctlr, 0x13);
    write(distributor_base + gic_bank::isenabler + 4, (1u << 1) | (1u << 8));
    for (uint64_t vcpu = 0; vcpu < 2; ++vcpu) {
      const uint64_t rd = redistributor_base + vcpu * VirtualRedistributor::frame_size;
      write(rd + gicr::waker, 0);
      write(rd + gicr::sgi_base + gic_bank::isenabler, 0xffff | (1u << 27));
    }
  }
  // A guest write as the vCPU whose redistributor it is makes it (vCPU 0 for the distributor).
  Events write(uint64_t address, uint64_t value, unsigned width = 4) {
    Events events;
    const uint64_t frame = (address - redistributor_base) / VirtualRedistributor::frame_size;
    const auto caller = static_cast<uint8_t>(address >= redistributor_base && frame < 2 ? frame : 0);
    CHECK(gic.write(address, width, value, events, caller) == AccessResult::handled);
    return events;
  }
  uint64_t read(uint64_t address, unsigned width = 4) const {
    uint64_t value = 0;
    CHECK(gic.read(address, width, value) == AccessResult::handled);
    return value;
  }
};

constexpr uint64_t irouter(uint32_t intid) { return distributor_base + gicd::irouter + uint64_t{8} * intid; }
ListRegister lr(uint64_t value) { return decode_list_register(value); }
uint64_t with_state(uint64_t value, LrState state) {
  ListRegister decoded = decode_list_register(value);
  decoded.state = state;
  return encode_list_register(decoded);
}
}  // namespace

TEST_CASE("vgic gic: addresses decode to the distributor and each vCPU's redistributor") {
  Partition partition(false);
  VirtualGic& gic = partition.gic;
  CHECK(gic.claims(distributor_base));
  CHECK(gic.claims(distributor_base + 0xffff));
  CHECK_FALSE(gic.claims(distributor_base + 0x10000));
  CHECK(gic.claims(redistributor_base + 2 * VirtualRedistributor::frame_size - 4));
  CHECK_FALSE(gic.claims(redistributor_base + 2 * VirtualRedistributor::frame_size));
  CHECK_FALSE(gic.claims(redistributor_base - 4));
  CHECK(partition.read(distributor_base + gicd::pidr2) == 0x3b);
  // Linux walks the redistributors until GICR_TYPER.Last.
  CHECK((partition.read(redistributor_base + gicr::typer, 8) & gicr::typer_last) == 0);
  const uint64_t second = partition.read(redistributor_base + VirtualRedistributor::frame_size + gicr::typer, 8);
  CHECK((second & gicr::typer_last) != 0);
  CHECK((second >> 32) == 1);
  uint64_t value = 3;
  CHECK(gic.read(redistributor_base + 2 * VirtualRedistributor::frame_size, 4, value) == AccessResult::unhandled);
  CHECK(value == 0);
}

TEST_CASE("vgic gic: a level interrupt from pending to active to EOI") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  REQUIRE(gic.set_line(0, 33, true, events));  // the virtual UART raises its line
  CHECK(events.kick_vcpus == 0x1);
  uint64_t lrs[4] = {};
  FillResult fill = gic.fill(0, lrs, 4);
  REQUIRE(fill.used == 1);
  CHECK(lr(lrs[0]).virtual_intid == 33);
  CHECK(lr(lrs[0]).state == LrState::pending);
  CHECK(lr(lrs[0]).group1);
  CHECK_FALSE(lr(lrs[0]).hardware);
  uint64_t other[4] = {};
  CHECK(gic.fill(1, other, 4).used == 0);  // routed to vCPU 0 only

  // The guest acknowledges it; the line is still up, so it is pending again behind the active one.
  lrs[0] = with_state(lrs[0], LrState::active);
  gic.fold_back(0, lrs, 4);
  CHECK(gic.interrupt(0, 33)->active);
  CHECK(partition.read(distributor_base + gic_bank::isactiver + 4) == (1u << 1));
  fill = gic.fill(0, lrs, 4);
  CHECK(lr(lrs[0]).state == LrState::pending_active);

  // The guest's handler clears the device (a trap: the vCPU is out, its LR untouched), then EOIs.
  gic.fold_back(0, lrs, 4);
  CHECK(gic.interrupt(0, 33)->active);
  REQUIRE(gic.set_line(0, 33, false, events));
  gic.fill(0, lrs, 4);
  CHECK(lr(lrs[0]).state == LrState::active);
  lrs[0] = with_state(lrs[0], LrState::invalid);
  gic.fold_back(0, lrs, 4);
  CHECK_FALSE(gic.interrupt(0, 33)->active);
  CHECK_FALSE(gic.interrupt(0, 33)->pending());
  CHECK(gic.fill(0, lrs, 4).used == 0);
}

TEST_CASE("vgic gic: a hardware SPI is injected as a hardware-backed virtual interrupt") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  partition.write(irouter(40), 1, 8);  // to vCPU 1
  Events events;
  REQUIRE(gic.hardware_interrupt(1, 40, events));
  CHECK(events.kick_vcpus == 0x2);
  CHECK_FALSE(gic.hardware_interrupt(1, 41, events));  // not ours
  CHECK_FALSE(gic.hardware_interrupt(1, 33, events));  // ours, but virtual
  uint64_t lrs[4] = {};
  REQUIRE(gic.fill(1, lrs, 4).used == 1);
  CHECK(lr(lrs[0]).hardware);
  CHECK(lr(lrs[0]).physical_intid == 40);
  CHECK(lr(lrs[0]).virtual_intid == 40);
  // The guest takes and deactivates it; the hardware deactivates the physical interrupt.
  lrs[0] = with_state(lrs[0], LrState::invalid);
  gic.fold_back(1, lrs, 4);
  CHECK_FALSE(gic.interrupt(1, 40)->needs_physical_active());

  // Cleared by the guest while pending: the physical interrupt must be released.
  REQUIRE(gic.hardware_interrupt(1, 40, events));
  const Events cleared = partition.write(distributor_base + gic_bank::icpendr + 4, 1u << 8);
  REQUIRE(cleared.hardware_count == 1);
  CHECK(cleared.hardware[0].request == HardwareRequest::deactivate);
  CHECK(cleared.hardware[0].physical_intid == 40);
}

TEST_CASE("vgic gic: the timer PPI is hardware-backed on its own vCPU") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  REQUIRE(gic.hardware_interrupt(1, 27, events));
  CHECK(events.kick_vcpus == 0x2);
  uint64_t lrs[4] = {};
  CHECK(gic.fill(0, lrs, 4).used == 0);
  REQUIRE(gic.fill(1, lrs, 4).used == 1);
  CHECK(lr(lrs[0]).virtual_intid == 27);
  CHECK(lr(lrs[0]).hardware);
  CHECK_FALSE(gic.set_line(1, 27, true, events));  // hardware lines are not driven by software
}

TEST_CASE("vgic gic: nothing is delivered while disabled or its group is off, and GICR_WAKER does not gate it") {
  Partition partition(false);
  VirtualGic& gic = partition.gic;
  Events events;
  REQUIRE(gic.set_line(0, 33, true, events));
  uint64_t lrs[4] = {};
  CHECK(gic.fill(0, lrs, 4).used == 0);  // disabled
  partition.write(distributor_base + gic_bank::isenabler + 4, 1u << 1);
  CHECK(gic.fill(0, lrs, 4).used == 0);  // Group 1 not enabled in GICD_CTLR
  const Events enable = partition.write(distributor_base + gicd::ctlr, 0x2);
  CHECK(enable.kick_vcpus == 0x3);
  // The redistributor still says ProcessorSleep (its reset value): delivered all the same,
  // as KVM does (a guest that never wakes its redistributor gets its interrupts).
  CHECK(gic.redistributor(0).processor_sleep());
  CHECK(gic.fill(0, lrs, 4).used == 1);
  partition.write(redistributor_base + gicr::waker, 0);
  CHECK(gic.fill(0, lrs, 4).used == 1);
  // Group 0 is a separate enable.
  partition.write(distributor_base + gic_bank::igroupr + 4, 0);
  CHECK(gic.fill(0, lrs, 4).used == 0);
  partition.write(distributor_base + gicd::ctlr, 0x3);
  REQUIRE(gic.fill(0, lrs, 4).used == 1);
  CHECK_FALSE(lr(lrs[0]).group1);
}

TEST_CASE("vgic gic: SGIs between vCPUs through ICC_SGI1R_EL1") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  gic.send_sgi(0, (5ull << 24) | 0b10, true, events);  // SGI 5 to vCPU 1
  CHECK(events.kick_vcpus == 0x2);
  CHECK(gic.interrupt(1, 5)->pending());
  CHECK_FALSE(gic.interrupt(0, 5)->pending());
  uint64_t lrs[4] = {};
  REQUIRE(gic.fill(1, lrs, 4).used == 1);
  CHECK(lr(lrs[0]).virtual_intid == 5);
  CHECK(lr(lrs[0]).state == LrState::pending);

  // Broadcast: everyone but the sender.
  Events broadcast;
  gic.send_sgi(1, icc_sgi1r::irm | (2ull << 24), true, broadcast);
  CHECK(broadcast.kick_vcpus == 0x1);
  CHECK(gic.interrupt(0, 2)->pending());
  CHECK_FALSE(gic.interrupt(1, 2)->pending());

  // Group mismatch: an ICC_SGI0R_EL1 write does not raise a Group 1 SGI.
  Events group0;
  gic.send_sgi(0, (6ull << 24) | 0b10, false, group0);
  CHECK_FALSE(gic.interrupt(1, 6)->pending());
  CHECK(group0.kick_vcpus == 0);
  // The guest sees the pending SGI in its redistributor.
  const uint64_t rd1 = redistributor_base + VirtualRedistributor::frame_size;
  CHECK(partition.read(rd1 + gicr::sgi_base + gic_bank::ispendr) == (1u << 5));
}

TEST_CASE("vgic gic: a guest change made meanwhile is not undone by a stale list register") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  partition.write(irouter(33), 1, 8);  // UART SPI to vCPU 1
  partition.write(distributor_base + gic_bank::ispendr + 4, 1u << 1);
  uint64_t lrs[4] = {};
  REQUIRE(gic.fill(1, lrs, 4).used == 1);
  // vCPU 0 clears it while vCPU 1 runs with it in an LR; vCPU 1 is kicked.
  const Events cleared = partition.write(distributor_base + gic_bank::icpendr + 4, 1u << 1);
  CHECK(cleared.kick_vcpus == 0x2);
  gic.fold_back(1, lrs, 4);  // the LR still says pending: the guest did nothing
  CHECK_FALSE(gic.interrupt(1, 33)->pending());
  CHECK(gic.fill(1, lrs, 4).used == 0);
}

TEST_CASE("vgic gic: re-routing moves a pending SPI to the new vCPU") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  partition.write(distributor_base + gic_bank::ispendr + 4, 1u << 1);
  uint64_t lrs[4] = {};
  CHECK(gic.fill(0, lrs, 4).used == 1);
  const Events moved = partition.write(irouter(33), 1, 8);
  CHECK(moved.kick_vcpus == 0x3);
  gic.fold_back(0, lrs, 4);
  CHECK(gic.fill(0, lrs, 4).used == 0);
  CHECK(gic.fill(1, lrs, 4).used == 1);
}

TEST_CASE("vgic gic: overflow through the whole GIC") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  for (uint16_t sgi = 0; sgi < 6; ++sgi) gic.send_sgi(1, uint64_t{sgi} << 24 | 0b1, true, events);
  uint64_t lrs[4] = {};
  const FillResult fill = gic.fill(0, lrs, 4);
  CHECK(fill.used == 4);
  CHECK(fill.left_out == 2);
  CHECK(fill.maintenance_bits() == (ich_hcr::uie | ich_hcr::npie));
  // The guest takes and completes all four; the remaining two go in next.
  for (uint64_t& value : lrs) value = with_state(value, LrState::invalid);
  gic.fold_back(0, lrs, 4);
  const FillResult refill = gic.fill(0, lrs, 4);
  CHECK(refill.used == 2);
  CHECK(lr(lrs[0]).virtual_intid == 4);
  CHECK(lr(lrs[1]).virtual_intid == 5);
  CHECK(refill.maintenance_bits() == 0);
}

TEST_CASE("vgic gic: reset clears the guest's state") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  gic.send_sgi(0, (1ull << 24) | 0b1, true, events);
  gic.reset();
  CHECK_FALSE(gic.interrupt(0, 1)->pending());
  CHECK(gic.redistributor(0).processor_sleep());
  CHECK_FALSE(gic.distributor().group_enabled(true));
  CHECK(gic.queue(0).size() == 0);
  CHECK(gic.interrupt(0, 41) == nullptr);
  CHECK(gic.interrupt(2, 5) == nullptr);  // no such vCPU
}

TEST_CASE("vgic gic: a second SGI while the first is still offered, then the vCPU stops") {
  Partition partition;
  VirtualGic& gic = partition.gic;
  Events events;
  gic.send_sgi(0, (5ull << 24) | 0b10, true, events);  // SGI 5 to vCPU 1
  uint64_t lrs[4] = {};
  const SyncResult first = gic.sync(1, lrs, 4);
  CHECK(first.written == 0x1);
  REQUIRE(lr(lrs[0]).state == LrState::pending);
  // Sent again while vCPU 1's LR offers the first: its guest may have taken it, so vCPU 1
  // is kicked and its fold decides. Its LR still offers it untouched: one interrupt.
  Events again;
  gic.send_sgi(0, (5ull << 24) | 0b10, true, again);
  CHECK(again.kick_vcpus == 0x2);
  CHECK(gic.interrupt(1, 5)->repend);
  gic.fold_back(1, lrs, 4);
  CHECK_FALSE(gic.interrupt(1, 5)->repend);
  CHECK(gic.interrupt(1, 5)->pending());
  // vCPU 1 stops (PSCI CPU_OFF): its LRs are gone; the SGI stays pending for its restart.
  Events stopped;
  gic.vcpu_stopped(1, stopped);
  CHECK(gic.live_list_registers(1) == 0);
  CHECK(gic.interrupt(1, 5)->pending());
  uint64_t restarted[4] = {};
  REQUIRE(gic.fill(1, restarted, 4).used == 1);
  CHECK(lr(restarted[0]).virtual_intid == 5);
}

namespace {
// Every 32-bit register of the distributor and of the first four redistributor frames,
// as the guest reads it (unhandled offsets included, with their value).
void check_same_registers(const VirtualGic& left, const VirtualGic& right) {
  const auto compare_frame = [&](uint64_t base, uint64_t size) {
    for (uint64_t offset = 0; offset < size; offset += 4) {
      uint64_t left_value = 0;
      uint64_t right_value = 0;
      const AccessResult left_result = left.read(base + offset, 4, left_value);
      const AccessResult right_result = right.read(base + offset, 4, right_value);
      if (left_result != right_result || left_value != right_value) {
        FAIL_CHECK("the register at offset " << offset << " of the frame at " << base << " differs");
        return;
      }
    }
  };
  compare_frame(distributor_base, VirtualDistributor::frame_size);
  compare_frame(redistributor_base, 4 * VirtualRedistributor::frame_size);
}
}  // namespace

TEST_CASE("vgic gic: its interrupt tables are not constructed with it, and nothing reads them before configure") {
  // A VirtualGic default-initialised over garbage (as vcpu::Vm is at boot) behaves as a
  // fresh one once configured: same registers, same delivery.
  alignas(VirtualGic) static unsigned char storage[sizeof(VirtualGic)];
  std::memset(storage, 0xa5, sizeof storage);
  VirtualGic& dirty = *new (storage) VirtualGic;
  static VirtualGic clean;
  GicConfig config = partition_config();
  config.messages = {64, 8};
  for (VirtualGic* gic : {&dirty, &clean}) REQUIRE(gic->configure(config) == ConfigError::none);
  check_same_registers(dirty, clean);
  for (VirtualGic* gic : {&dirty, &clean}) {
    Events events;
    CHECK(gic->write(distributor_base + gicd::ctlr, 4, 0x13, events, 0) == AccessResult::handled);
    CHECK(gic->write(distributor_base + gic_bank::isenabler + 4, 4, (1u << 1) | (1u << 8), events, 0) ==
          AccessResult::handled);
    CHECK(gic->write(redistributor_base + gicr::sgi_base + gic_bank::isenabler, 4, 0xffff, events, 0) ==
          AccessResult::handled);
    CHECK(gic->write(distributor_base + gic_bank::ispendr + 4, 4, 1u << 1, events, 0) == AccessResult::handled);
    CHECK(gic->write(redistributor_base + gicr::sgi_base + gic_bank::ispendr, 4, 1u << 3, events, 0) ==
          AccessResult::handled);
  }
  check_same_registers(dirty, clean);
  uint64_t dirty_lrs[4] = {};
  uint64_t clean_lrs[4] = {};
  const FillResult dirty_fill = dirty.fill(0, dirty_lrs, 4);
  const FillResult clean_fill = clean.fill(0, clean_lrs, 4);
  CHECK(dirty_fill.used == clean_fill.used);
  CHECK(dirty_fill.used == 2);
  for (size_t slot = 0; slot < 4; ++slot) CHECK(dirty_lrs[slot] == clean_lrs[slot]);
  dirty.~VirtualGic();
}
