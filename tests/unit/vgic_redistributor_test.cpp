#include <doctest/doctest.h>

#include "core/vgic/vgic_distributor.hpp"
#include "core/vgic/vgic_redistributor.hpp"

using namespace bulkhead::vgic;

namespace {
constexpr uint64_t timer_ppis = (1u << 27) | (1u << 30);

struct ThreeVcpus {
  VirtualDistributor distributor;
  VirtualRedistributor redistributors[3];
  ThreeVcpus() {
    DistributorConfig config;
    config.vcpu_count = 3;
    REQUIRE(distributor.configure(config) == ConfigError::none);
    for (uint8_t vcpu = 0; vcpu < 3; ++vcpu) redistributors[vcpu].configure(distributor, vcpu, timer_ppis);
  }
};

uint64_t read(const VirtualRedistributor& redistributor, uint64_t offset, unsigned width = 4) {
  uint64_t value = 0xdead;
  CHECK(redistributor.read(offset, width, value) == AccessResult::handled);
  return value;
}

void write(VirtualRedistributor& redistributor, uint64_t offset, uint64_t value, Events& events, unsigned width = 4) {
  CHECK(redistributor.write(offset, width, value, events) == AccessResult::handled);
}

constexpr uint64_t sgi(uint64_t offset) { return gicr::sgi_base + offset; }
}  // namespace

TEST_CASE("vgic redistributor: GICR_TYPER names the vCPU and marks the last one") {
  const ThreeVcpus gic;
  CHECK(read(gic.redistributors[0], gicr::typer, 8) == 0);
  CHECK(read(gic.redistributors[1], gicr::typer, 8) == ((1ull << 32) | (1u << 8)));
  // Affinity_Value = guest MPIDR Aff0 = 2, Processor_Number 2, Last.
  CHECK(read(gic.redistributors[2], gicr::typer, 8) == ((2ull << 32) | (2u << 8) | gicr::typer_last));
  CHECK(read(gic.redistributors[2], gicr::typer) == ((2u << 8) | gicr::typer_last));
  CHECK(read(gic.redistributors[2], gicr::typer + 4) == 2);
  CHECK((read(gic.redistributors[1], gicr::typer) & gicr::typer_last) == 0);
  CHECK((read(gic.redistributors[0], gicr::typer) & 1u) == 0);  // PLPIS: no LPIs
}

TEST_CASE("vgic redistributor: identification and control") {
  const ThreeVcpus gic;
  CHECK(read(gic.redistributors[0], gicr::iidr) == gic_iidr);
  CHECK(read(gic.redistributors[0], gicr::pidr2) == 0x3b);
  CHECK(read(gic.redistributors[0], gicr::ctlr) == 0);
  CHECK(read(gic.redistributors[0], gicr::statusr) == 0);
}

TEST_CASE("vgic redistributor: GICR_WAKER sleep handshake") {
  ThreeVcpus gic;
  VirtualRedistributor& redistributor = gic.redistributors[1];
  // Reset: asleep, and its children too.
  CHECK(read(redistributor, gicr::waker) == (gicr::waker_processor_sleep | gicr::waker_children_asleep));
  CHECK(redistributor.processor_sleep());
  Events events;
  write(redistributor, gicr::waker, 0, events);  // Linux: clear ProcessorSleep, poll ChildrenAsleep
  CHECK(read(redistributor, gicr::waker) == 0);
  CHECK_FALSE(redistributor.processor_sleep());
  CHECK(events.kick_vcpus == (1u << 1));
  write(redistributor, gicr::waker, gicr::waker_children_asleep, events);  // ChildrenAsleep is read-only
  CHECK(read(redistributor, gicr::waker) == 0);
  write(redistributor, gicr::waker, gicr::waker_processor_sleep, events);
  CHECK(read(redistributor, gicr::waker) == (gicr::waker_processor_sleep | gicr::waker_children_asleep));
}

TEST_CASE("vgic redistributor: SGI and PPI registers") {
  ThreeVcpus gic;
  VirtualRedistributor& redistributor = gic.redistributors[2];
  CHECK(read(redistributor, sgi(gic_bank::igroupr)) == 0xffffffff);
  CHECK(read(redistributor, sgi(gic_bank::isenabler)) == 0);
  CHECK(read(redistributor, gicr::icfgr0) == gicr::icfgr0_sgis_edge);
  CHECK(read(redistributor, gicr::icfgr1) == 0);  // PPIs level at reset

  Events events;
  write(redistributor, sgi(gic_bank::isenabler), 0xffffffff, events);
  CHECK(read(redistributor, sgi(gic_bank::isenabler)) == 0xffffffff);
  CHECK(read(redistributor, sgi(gic_bank::icenabler)) == 0xffffffff);
  // The hardware-backed timer PPIs are enabled on the physical CPU of vCPU 2.
  REQUIRE(events.hardware_count == 2);
  CHECK(events.hardware[0].request == HardwareRequest::enable);
  CHECK(events.hardware[0].physical_intid == 27);
  CHECK(events.hardware[0].vcpu == 2);
  CHECK(events.hardware[1].physical_intid == 30);
  CHECK(events.kick_vcpus == (1u << 2));
  write(redistributor, sgi(gic_bank::icenabler), 1u << 27, events);
  CHECK(read(redistributor, sgi(gic_bank::isenabler)) == 0xf7ffffff);

  write(redistributor, sgi(gic_bank::ispendr), (1u << 3) | (1u << 20), events);
  CHECK(read(redistributor, sgi(gic_bank::ispendr)) == ((1u << 3) | (1u << 20)));
  write(redistributor, sgi(gic_bank::icpendr), 1u << 3, events);
  CHECK(read(redistributor, sgi(gic_bank::icpendr)) == (1u << 20));
  write(redistributor, sgi(gic_bank::isactiver), 1u << 5, events);
  CHECK(read(redistributor, sgi(gic_bank::isactiver)) == (1u << 5));
  write(redistributor, sgi(gic_bank::icactiver), 1u << 5, events);
  CHECK(read(redistributor, sgi(gic_bank::icactiver)) == 0);
  write(redistributor, sgi(gic_bank::igroupr), 0xfffffffe, events);
  CHECK_FALSE(redistributor.interrupt(0).group1);

  // Priorities: words and bytes, implemented bits only.
  write(redistributor, sgi(gic_bank::ipriorityr + 24), 0x80a0c0ff, events);  // PPIs 24-27
  CHECK(read(redistributor, sgi(gic_bank::ipriorityr + 24)) == 0x80a0c0f8);
  write(redistributor, sgi(gic_bank::ipriorityr + 27), 0x11, events, 1);
  CHECK(read(redistributor, sgi(gic_bank::ipriorityr + 27), 1) == 0x10);
  CHECK(redistributor.interrupt(27).priority == 0x10);

  // SGI trigger is read-only edge; PPIs are configurable.
  write(redistributor, gicr::icfgr0, 0, events);
  CHECK(read(redistributor, gicr::icfgr0) == gicr::icfgr0_sgis_edge);
  write(redistributor, gicr::icfgr1, 2u << 22, events);  // PPI 27 edge
  CHECK(read(redistributor, gicr::icfgr1) == (2u << 22));
  CHECK(redistributor.interrupt(27).edge);

  // IGRPMODR0 and NSACR: RAZ/WI with a single security state.
  write(redistributor, sgi(gic_bank::igrpmodr), 0xffffffff, events);
  CHECK(read(redistributor, sgi(gic_bank::igrpmodr)) == 0);
  write(redistributor, sgi(gic_bank::nsacr), 0xffffffff, events);
  CHECK(read(redistributor, sgi(gic_bank::nsacr)) == 0);

  // Reset brings everything back.
  redistributor.reset();
  CHECK(read(redistributor, sgi(gic_bank::isenabler)) == 0);
  CHECK(read(redistributor, sgi(gic_bank::igroupr)) == 0xffffffff);
  CHECK(read(redistributor, gicr::icfgr1) == 0);
  CHECK(redistributor.processor_sleep());
}

TEST_CASE("vgic redistributor: unknown offsets and widths are RAZ/WI and reported") {
  ThreeVcpus gic;
  VirtualRedistributor& redistributor = gic.redistributors[0];
  Events events;
  uint64_t value = 1;
  CHECK(redistributor.read(0x0070, 8, value) == AccessResult::unhandled);  // GICR_PROPBASER: no LPIs
  CHECK(value == 0);
  CHECK(redistributor.write(0x0070, 8, 0x1234, events) == AccessResult::unhandled);
  CHECK(redistributor.read(sgi(gic_bank::igroupr + 4), 4, value) == AccessResult::unhandled);  // extended PPIs
  CHECK(redistributor.read(sgi(gic_bank::isenabler), 1, value) == AccessResult::unhandled);
  CHECK(redistributor.read(gicr::waker, 8, value) == AccessResult::unhandled);
  CHECK(redistributor.read(VirtualRedistributor::frame_size, 4, value) == AccessResult::unhandled);
  CHECK(redistributor.write(sgi(gic_bank::ipriorityr + 32), 1, 0xff, events) == AccessResult::unhandled);
  CHECK(redistributor.write(gicr::typer, 8, 0, events) == AccessResult::handled);  // read-only
  CHECK(events.kick_vcpus == 0);
}
