// msi: MSI and MSI-X of passed-through functions as the guest's GICv3 message-based SPIs
// (issue 13). The guest programs its virtual GICD_SETSPI_NSR and SPIs of its msi-spis
// (probe.msi-spis=FIRST:COUNT as INTIDs); the hypervisor puts the ITS doorbell and its
// events into the functions. Needs pci-bars before it, 2 vCPUs, edu (MSI) and e1000e
// (MSI-X) on the virtual bus, and edu's DMA mask wide enough for guest RAM.
//   - edu's MSI (one vector) arrives as the SPI the guest chose;
//   - e1000e's MSI-X vectors (causes routed by IVAR, raised by ICS) arrive each as its
//     own SPI, one on vCPU 1 after the guest moved its SPI there (IROUTER);
//   - a masked vector's message is held (its PBA bit) and arrives on unmask;
//   - a vector aimed at an SPI outside its range (probe.msi-foreign=INTID, another
//     partition's) raises nothing: the function keeps it masked and pending;
//   - edu's DMA writing EventIDs into the doorbell, or an SPI into the physical
//     GICD_SETSPI_NSR, raises nothing (see forged_dma for what QEMU makes of it).
#include "console.hpp"
#include "cost.hpp"
#include "gic.hpp"
#include "pci.hpp"
#include "qemu_devices.hpp"
#include "smp.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

using pci::Function;

// The MSI and MSI-X capabilities (PCI Local Bus 3.0, 6.8).
namespace msi {
constexpr uint16_t control = 0x02;
constexpr uint16_t address_low = 0x04;
constexpr uint16_t address_high = 0x08;
constexpr uint16_t data_64bit = 0x0c;
constexpr uint16_t control_enable = 1u << 0;
constexpr uint16_t control_64bit = 1u << 7;
}  // namespace msi
namespace msix {
constexpr uint16_t control = 0x02;
constexpr uint16_t table = 0x04;
constexpr uint16_t pba = 0x08;
constexpr uint16_t control_enable = 1u << 15;
constexpr uint32_t bir_mask = 0x7;
constexpr uint64_t entry_bytes = 16;
constexpr uint64_t entry_address_low = 0x0;
constexpr uint64_t entry_address_high = 0x4;
constexpr uint64_t entry_data = 0x8;
constexpr uint64_t entry_control = 0xc;
constexpr uint32_t entry_masked = 1u << 0;
}  // namespace msix

// hw/net/e1000e_core.c (QEMU 7.2) in MSI-X mode: ICS sets causes; each cause enabled in
// IMS is sent on the vector IVAR gives it; EIAC clears the cause and its IMS bit again.
namespace e1000e_irq {
constexpr uint64_t ics = 0xc8;
constexpr uint64_t ims = 0xd0;
constexpr uint64_t imc = 0xd8;
constexpr uint64_t eiac = 0xdc;
constexpr uint64_t ivar = 0xe4;
constexpr uint32_t rxq0 = 0x00100000;
constexpr uint32_t rxq1 = 0x00200000;
constexpr uint32_t txq0 = 0x00400000;
constexpr uint32_t ivar_valid = 0x8;  // per 4-bit IVAR entry; the vector in bits 2:0
constexpr unsigned ivar_rxq0_shift = 0;
constexpr unsigned ivar_rxq1_shift = 4;
constexpr unsigned ivar_txq0_shift = 8;
constexpr uint32_t ivar_entry(uint32_t vector, unsigned shift) { return (ivar_valid | vector) << shift; }
}  // namespace e1000e_irq

// The guest's virtual GICD_SETSPI_NSR (partitions/guest_layout.hpp), the ITS doorbell as
// the partition's DMA context maps it, and the physical distributor's GICD_SETSPI_NSR.
constexpr uint64_t setspi_nsr = gic::distributor + 0x40;
constexpr uint64_t its_doorbell_iova = 0x08090040;
constexpr uint64_t physical_setspi_nsr = 0x08000040;
constexpr uint64_t settle_us = 20000;  // what a message that should not come gets to arrive
constexpr uint64_t edu_irq_raise = 0x60;  // hw/misc/edu.c: sets the status bits, sends the MSI

struct Spis {
  uint32_t first = 0;
  uint32_t count = 0;
  uint32_t foreign = 0;
};

bool read_spis(Spis& spis) {
  Text range = bootarg(settings().guest.bootargs, "probe.msi-spis");
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t foreign = 0;
  if (!parse_number(next_item(range, ':'), first) || !parse_number(range, count) ||
      !parse_number(bootarg(settings().guest.bootargs, "probe.msi-foreign"), foreign) || count < 4 ||
      first + count > gic::IrqRecord::tracked || foreign >= gic::IrqRecord::tracked) {
    fail("want probe.msi-spis=FIRST:COUNT (at least 4) and probe.msi-foreign=INTID, below the INTIDs the handler counts");
    return false;
  }
  spis = {static_cast<uint32_t>(first), static_cast<uint32_t>(count), static_cast<uint32_t>(foreign)};
  return true;
}

uint16_t find_capability(uint8_t slot, uint8_t id) {
  uint8_t at = pci::read8(slot, pci::reg::capability_pointer);
  for (int hops = 0; at >= 0x40 && hops < 48; ++hops) {
    if (pci::read8(slot, at) == id) return at;
    at = pci::read8(slot, static_cast<uint16_t>(at + 1));
  }
  return 0;
}

// SPI `intid`: priority, routed to vCPU `vcpu` (Aff0), enabled.
void enable_spi(uint32_t intid, uint32_t vcpu) {
  const uint64_t d = gic::distributor;
  write8(d + gic::ipriorityr + intid, 0xa0);
  write64(d + gic::gicd_irouter + uint64_t{8} * intid, vcpu);
  write32(d + gic::isenabler + uint64_t{4} * (intid / 32), 1u << (intid % 32));
}

bool arrived(const char* what, uint32_t vcpu, uint32_t intid, uint32_t before) {
  if (wait_change(gic::record(vcpu).count[intid], before, 1000000)) return true;
  return fail_not_taken(what, "SPI", intid, vcpu, "1 s");
}

void pass_line(const char* what, uint32_t intid, uint32_t vcpu) {
  begin_pass();
  put_text(what);
  put_text(" spi ");
  put_decimal(intid);
  put_text(" vcpu ");
  put_decimal(vcpu);
  end_line();
}

uint64_t edu_base = 0;

void acknowledge_edu(uint32_t) { write32(edu_base + edu::irq_acknowledge, read32(edu_base + edu::irq_status)); }

// edu's MSI raises `intid` on vCPU 0; the hook acknowledges edu.
bool program_edu_msi(const Function& edu, uint32_t intid) {
  const uint16_t cap = find_capability(edu.slot, pci::capability_msi);
  if (cap == 0) {
    fail("edu shows no MSI capability");
    return false;
  }
  enable_spi(intid, 0);
  gic::set_hook(intid, acknowledge_edu);
  const uint16_t control = pci::read16(edu.slot, static_cast<uint16_t>(cap + msi::control));
  if ((control & msi::control_64bit) == 0) {
    fail("edu's MSI is not 64-bit capable (QEMU 7.2's is)");
    return false;
  }
  pci::write32(edu.slot, static_cast<uint16_t>(cap + msi::address_low), static_cast<uint32_t>(setspi_nsr));
  pci::write32(edu.slot, static_cast<uint16_t>(cap + msi::address_high), 0);
  pci::write16(edu.slot, static_cast<uint16_t>(cap + msi::data_64bit), static_cast<uint16_t>(intid));
  pci::write16(edu.slot, static_cast<uint16_t>(cap + msi::control), static_cast<uint16_t>(control | msi::control_enable));
  return true;
}

bool edu_msi(const Function& edu, const Spis& spis) {
  const uint32_t intid = spis.first;
  if (!program_edu_msi(edu, intid)) return false;
  const uint32_t before = gic::record(0).count[intid];
  write32(edu_base + edu_irq_raise, 1);
  if (!arrived("edu msi", 0, intid, before)) return false;
  delay_us(settle_us);
  if (!expect_hex("edu msi messages for one raise", since(gic::record(0).count[intid], before), 1)) return false;
  pass_line("edu msi vector 0", intid, 0);
  return true;
}

// e1000e's MSI-X table through the guest's BAR.
struct Table {
  uint64_t entries = 0;
  uint64_t pba = 0;
  void program(uint32_t vector, uint32_t intid, bool masked) const {
    const uint64_t entry = entries + vector * msix::entry_bytes;
    write32(entry + msix::entry_control, msix::entry_masked);
    write32(entry + msix::entry_address_low, static_cast<uint32_t>(setspi_nsr));
    write32(entry + msix::entry_address_high, 0);
    write32(entry + msix::entry_data, intid);
    if (!masked) write32(entry + msix::entry_control, 0);
  }
  void mask(uint32_t vector, bool masked) const {
    write32(entries + vector * msix::entry_bytes + msix::entry_control, masked ? msix::entry_masked : 0);
  }
  bool pending(uint32_t vector) const { return ((read32(pba) >> vector) & 1) != 0; }
};

// INTIDs beyond what the handlers count one by one, on both vCPUs.
uint32_t other_interrupts() { return gic::record(0).other + gic::record(1).other; }

void raise_cause(uint64_t nic, uint32_t cause) {
  write32(nic + e1000e_irq::ims, cause);
  write32(nic + e1000e_irq::ics, cause);
}

// Vector 0 masked: held pending by the function, sent once on unmask.
bool nic_masked_vector(const Table& table, uint64_t regs, uint32_t spi_rx) {
  using namespace e1000e_irq;
  const gic::IrqRecord& r0 = gic::record(0);
  table.mask(0, true);
  const uint32_t before = r0.count[spi_rx];
  raise_cause(regs, rxq0);
  delay_us(settle_us);
  if (!expect_hex("e1000e masked vector 0 messages", since(r0.count[spi_rx], before), 0) ||
      !expect_hex("e1000e masked vector 0 pending (PBA)", table.pending(0) ? 1 : 0, 1)) {
    return false;
  }
  table.mask(0, false);
  if (!arrived("e1000e vector 0 on unmask", 0, spi_rx, before)) return false;
  delay_us(settle_us);
  if (!expect_hex("e1000e vector 0 messages after unmask", since(r0.count[spi_rx], before), 1) ||
      !expect_hex("e1000e vector 0 pending after unmask", table.pending(0) ? 1 : 0, 0)) {
    return false;
  }
  pass_line("e1000e msi-x vector 0 masked: held pending, delivered once on unmask", spi_rx, 0);
  return true;
}

// Vector 2, aimed at another partition's SPI: never sent, held pending by the function.
bool nic_foreign_vector(const Table& table, uint64_t regs, const Spis& spis) {
  using namespace e1000e_irq;
  const gic::IrqRecord& r0 = gic::record(0);
  const uint32_t other_before = other_interrupts();
  const uint32_t before = r0.count[spis.foreign];
  raise_cause(regs, rxq1);
  delay_us(settle_us);
  if (!expect_hex("messages for the foreign SPI", since(r0.count[spis.foreign], before), 0) ||
      !expect_hex("other interrupts meanwhile", other_interrupts() - other_before, 0) ||
      !expect_hex("the foreign vector held pending by the function (PBA)", table.pending(2) ? 1 : 0, 1)) {
    return false;
  }
  pass_line("e1000e msi-x vector 2 aimed at a foreign spi: nothing raised, held pending;", spis.foreign, 0);
  return true;
}

bool nic_msix(const Function& nic, const Spis& spis) {
  const uint16_t cap = find_capability(nic.slot, pci::capability_msix);
  if (cap == 0) {
    fail("e1000e shows no MSI-X capability");
    return false;
  }
  const uint32_t table_register = pci::read32(nic.slot, static_cast<uint16_t>(cap + msix::table));
  const uint32_t pba_register = pci::read32(nic.slot, static_cast<uint16_t>(cap + msix::pba));
  Table table;
  table.entries = pci::bar_address(nic, static_cast<uint8_t>(table_register & msix::bir_mask)) + (table_register & ~msix::bir_mask);
  table.pba = pci::bar_address(nic, static_cast<uint8_t>(pba_register & msix::bir_mask)) + (pba_register & ~msix::bir_mask);
  const uint64_t regs = pci::bar_address(nic, 0);
  const uint32_t spi_rx = spis.first + 1;
  const uint32_t spi_tx = spis.first + 2;
  enable_spi(spi_rx, 0);
  enable_spi(spi_tx, 0);
  enable_spi(spis.foreign, 0);  // the guest's own view: nothing may ever make it pending
  table.program(0, spi_rx, false);
  table.program(1, spi_tx, false);
  table.program(2, spis.foreign, false);
  const uint16_t control = pci::read16(nic.slot, static_cast<uint16_t>(cap + msix::control));
  pci::write16(nic.slot, static_cast<uint16_t>(cap + msix::control), static_cast<uint16_t>(control | msix::control_enable));
  using namespace e1000e_irq;
  write32(regs + imc, ~0u);
  write32(regs + ivar, ivar_entry(0, ivar_rxq0_shift) | ivar_entry(1, ivar_txq0_shift) | ivar_entry(2, ivar_rxq1_shift));
  write32(regs + eiac, rxq0 | rxq1 | txq0);

  gic::IrqRecord& r0 = gic::record(0);
  uint32_t before = r0.count[spi_rx];
  raise_cause(regs, rxq0);
  if (!arrived("e1000e msi-x vector 0", 0, spi_rx, before)) return false;
  pass_line("e1000e msi-x vector 0", spi_rx, 0);

  // Vector 1's SPI moves to vCPU 1 after it was bound: the first message comes through the
  // old CPU, the next straight to vCPU 1's.
  if (!smp::ensure_online(1)) return false;
  const gic::IrqRecord& r1 = gic::record(1);
  write64(gic::distributor + gic::gicd_irouter + uint64_t{8} * spi_tx, 1);
  for (int round = 0; round < 2; ++round) {
    before = r1.count[spi_tx];
    raise_cause(regs, txq0);
    if (!arrived("e1000e msi-x vector 1 after IROUTER", 1, spi_tx, before)) return false;
  }
  if (!expect_hex("e1000e msi-x vector 1 taken by vcpu 0", r0.count[spi_tx], 0)) return false;
  pass_line("e1000e msi-x vector 1 (twice, after moving its spi)", spi_tx, 1);

  // MSI-X stays enabled until the partition stops, where the function is reset. QEMU 7.2's
  // e1000e arms a 128 us throttling timer (EITR, which it never lets go below 500 x 256 ns)
  // at every vector's message and asserts MSI-X Enable when it expires (a bug removed in
  // QEMU 8.0). Cleared here, 20 ms after the last message, a QEMU main loop starved under
  // host load still ran that timer late and aborted; a reset stops the timer.
  return nic_masked_vector(table, regs, spi_rx) && nic_foreign_vector(table, regs, spis);
}

// edu's DMA (hw/misc/edu.c: one transfer per 100 ms of virtual time): guest RAM into its
// buffer, and 4 bytes of its buffer to a bus address.
bool edu_dma(uint64_t source, uint64_t destination, uint64_t bytes, uint64_t direction) {
  write64(edu_base + edu::dma_source, source);
  write64(edu_base + edu::dma_destination, destination);
  write64(edu_base + edu::dma_count, bytes);
  write64(edu_base + edu::dma_command, edu::dma_run | direction);
  return wait_for([] { return (read64(edu_base + edu::dma_command) & edu::dma_run) == 0; }, 2000000);
}

// What edu's DMA writes to the doorbell: edu's own event 0 (its MSI), events its ITT does
// not hold (it has 2), one beyond every ITT; then another partition's SPI to the
// physical GICD_SETSPI_NSR. QEMU 7.2 gives a DMA write no requester ID (only MSIs carry
// one, hw/pci/msi.c): the ITS takes DeviceID 0, the host bridge's, which no partition owns,
// so not even event 0 may fire here (on hardware it would be edu's DeviceID, and event 0
// at most edu's own SPI). The physical GICD_SETSPI_NSR is not in the DMA context at all.
alignas(64) volatile uint32_t forged[5] = {0, 1, 2, 0x100, 0};

bool forged_dma(const Spis& spis) {
  gic::IrqRecord& r0 = gic::record(0);
  forged[4] = spis.foreign;
  asm volatile("dsb sy" ::: "memory");
  uint32_t total_before = 0;
  for (uint32_t i = 0; i < spis.count; ++i) total_before += r0.count[spis.first + i];
  const uint32_t foreign_before = r0.count[spis.foreign];
  const uint32_t other_before = other_interrupts();
  bool done = edu_dma(reinterpret_cast<uint64_t>(&forged[0]), edu::dma_buffer, sizeof(forged), 0);
  for (uint64_t i = 0; i < 4 && done; ++i) done = edu_dma(edu::dma_buffer + 4 * i, its_doorbell_iova, 4, edu::dma_to_ram);
  done = done && edu_dma(edu::dma_buffer + 16, physical_setspi_nsr, 4, edu::dma_to_ram);
  if (!done) {
    fail("edu DMA did not complete");
    return false;
  }
  delay_us(settle_us);
  uint32_t total = 0;
  for (uint32_t i = 0; i < spis.count; ++i) total += r0.count[spis.first + i];
  if (!expect_hex("own SPIs raised by DMA writes of events 0, 1, 2, 0x100 to the doorbell", total - total_before, 0) ||
      !expect_hex("foreign SPI raised by the DMA write to the physical GICD_SETSPI_NSR",
                  since(r0.count[spis.foreign], foreign_before), 0) ||
      !expect_hex("other interrupts meanwhile", other_interrupts() - other_before, 0)) {
    return false;
  }
  pass_line("dma to the doorbell (events 0 1 2 0x100) and to the physical GICD_SETSPI_NSR: nothing raised", spis.foreign,
            0);
  return true;
}

// Decode, bus mastering and no INTx for each function.
void enable_functions(const Function* const* functions, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const uint8_t slot = functions[i]->slot;
    const uint16_t command = pci::read16(slot, pci::reg::command);
    pci::write16(slot, pci::reg::command,
                 static_cast<uint16_t>(command | pci::command_memory | pci::command_bus_master | pci::command_intx_disable));
  }
}

struct RoundTicks {
  uint64_t msi = 0;    // from the store to edu's raise register
  uint64_t timer = 0;  // from CNTV_CVAL
};

// One MSI from edu, then one virtual-timer interrupt 100 us ahead: each one's ticks to
// the guest's IRQ vector reading CNTVCT. False if either did not come within 1 s.
bool msi_and_timer_round(gic::IrqRecord& r, uint32_t intid, RoundTicks& ticks) {
  uint32_t before = r.count[intid];
  const uint64_t start = virtual_count();
  write32(edu_base + edu_irq_raise, 1);
  if (!wait_change(r.count[intid], before, 1000000)) return false;
  ticks.msi = r.stamp[intid] - start;
  before = r.count[gic::virtual_timer_ppi];
  const uint64_t compare = virtual_count() + counter_frequency() / 10000;
  timer::set_compare(timer::Kind::virtual_timer, compare);
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_enable);
  if (!wait_change(r.count[gic::virtual_timer_ppi], before, 1000000)) return false;
  ticks.timer = r.stamp[gic::virtual_timer_ppi] - compare;
  return true;
}

void bench_figure(const char* name, uint64_t ns) {
  put_text("probe: bench ");
  put_text(name);
  put(' ');
  put_decimal(ns);
  end_line();
}

}  // namespace

// msi-bench: under QEMU -icount shift=0,sleep=off (tests/integration/benchmarks.py), the
// mean instructions from edu's MSI (the guest's store to edu's raise register: QEMU sends
// the message at once) to the guest's IRQ vector reading CNTVCT, next to the virtual
// timer's from CNTV_CVAL, measured the same way in the same partition.
void test_msi_bench() {
  constexpr uint64_t rounds = 50;
  Spis spis;
  if (!read_spis(spis) || !pci::place_all()) return;
  Function* edu = pci::find(edu::vendor, edu::device);
  if (edu == nullptr) {
    fail("msi-bench needs edu on the bus");
    return;
  }
  const Function* const functions[] = {edu};
  enable_functions(functions, 1);
  edu_base = pci::bar_address(*edu, 0);
  gic::init_this_cpu();
  const uint32_t intid = spis.first;
  if (!program_edu_msi(*edu, intid)) return;
  gic::enable_private(gic::virtual_timer_ppi, 0xa0);
  gic::IrqRecord& r = gic::record(0);
  Latencies msi_latencies;
  Latencies timer_latencies;
  irqs_on();
  RoundTicks ticks;
  bool taken = true;
  for (uint64_t i = 0; taken && i < rounds; ++i) {
    taken = msi_and_timer_round(r, intid, ticks);
    if (taken) {
      msi_latencies.add(ticks.msi);
      timer_latencies.add(ticks.timer);
    }
  }
  irqs_off();
  timer::set_control(timer::Kind::virtual_timer, 0);
  if (!expect_hex("MSIs and timer interrupts taken", r.count[intid] + r.count[gic::virtual_timer_ppi], 2 * rounds)) {
    return;
  }
  bench_figure("msi-latency-ns", msi_latencies.mean_ns());
  bench_figure("msi-latency-spread-ticks", msi_latencies.spread_ticks());
  bench_figure("timer-latency-ns", timer_latencies.mean_ns());
  bench_figure("timer-latency-spread-ticks", timer_latencies.spread_ticks());
  begin_pass();
  put_text("means over 50 edu MSIs and 50 vtimer irqs");
  end_line();
}

void test_msi() {
  Spis spis;
  if (!read_spis(spis) || !pci::place_all()) return;
  Function* edu = pci::find(edu::vendor, edu::device);
  Function* nic = pci::find(e1000e::vendor, e1000e::device);
  if (edu == nullptr || nic == nullptr) {
    fail("msi needs edu and e1000e on the bus");
    return;
  }
  const Function* const functions[] = {edu, nic};
  enable_functions(functions, 2);
  edu_base = pci::bar_address(*edu, 0);
  gic::init_this_cpu();
  irqs_on();
  const bool ok = edu_msi(*edu, spis) && nic_msix(*nic, spis) && forged_dma(spis);
  irqs_off();
  if (ok) {
    begin_pass();
    put_text("all vectors as the guest programmed them");
    end_line();
  }
}

}  // namespace probe
