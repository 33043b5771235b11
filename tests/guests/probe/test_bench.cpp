// bench: figures measured with the virtual counter. Under QEMU -icount shift=0,sleep=off
// one instruction is 1 ns of virtual time, so they are deterministic instruction counts
// (tests/integration/benchmarks.py). Each is a mean over many iterations, loop included.
#include "console.hpp"
#include "cost.hpp"
#include "gic.hpp"
#include "pci.hpp"
#include "psci.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

constexpr uint64_t hypercalls = 1000;
constexpr uint64_t distributor_reads = 1000;
constexpr uint64_t config_accesses = 1000;
constexpr uint64_t interrupts = 50;
// Under -icount the CPUs take turns on one instruction clock, so whatever another CPU
// runs while the probe measures counts in the probe's figures. When the probe starts, the
// boot CPU is still setting up and starting the other partition, which then boots and
// prints while the boot CPU writes everyone's lines out. That work ran in the first four
// interrupt windows, 49 k instructions of it between CVAL and the vector (irq-latency
// read 1646 instead of 666).
// The bench waits until they are done; the interrupt figure's spread proves it waited
// enough (tests/integration/benchmarks.py).
constexpr uint64_t settle_us = 10000;

uint64_t mean_ns(uint64_t ticks, uint64_t iterations) {
  return ticks * 1000000000ull / (counter_frequency() * iterations);
}

void figure(const char* name, uint64_t value) {
  put_text("probe: bench ");
  put_text(name);
  put(' ');
  put_decimal(value);
  end_line();
}

uint64_t sleep_counter = 0;  // CNTPCT when sleep_first() began; 0: no sleep

void entry_figures() {
  figure("first-instruction-counter", entry_counters[0]);
  figure("counter-frequency", counter_frequency());
  if (sleep_counter != 0) figure("sleep-counter", sleep_counter);
}

// One virtual-timer interrupt, CNTV_CVAL 100 us ahead: `ticks` from CVAL to the guest's
// IRQ vector reading CNTVCT. False (and a failure) if it did not come, or came early.
bool timer_interrupt(gic::IrqRecord& r, uint64_t& ticks) {
  const uint32_t before = r.count[gic::virtual_timer_ppi];
  const uint64_t compare = virtual_count() + counter_frequency() / 10000;
  timer::set_compare(timer::Kind::virtual_timer, compare);
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_enable);
  const bool taken = wait_change(r.count[gic::virtual_timer_ppi], before, 1000000);
  if (!taken || r.stamp[gic::virtual_timer_ppi] < compare) {
    irqs_off();
    timer::set_control(timer::Kind::virtual_timer, 0);
    fail(taken ? "timer interrupt taken before CVAL" : "no timer interrupt within 1 s");
    return false;
  }
  ticks = r.stamp[gic::virtual_timer_ppi] - compare;
  return true;
}

}  // namespace

// CPU_SUSPEND (standby) with IRQs masked returns once the armed virtual timer's
// interrupt is pending (the suspend test checks it); the interrupt is then taken with
// IRQs unmasked, and the timer is left off.
void sleep_first(uint64_t milliseconds) {
  constexpr auto kind = timer::Kind::virtual_timer;
  const uint32_t ppi = timer::ppi(kind);
  gic::IrqRecord& r = gic::record(0);
  gic::init_this_cpu();
  irqs_off();
  gic::enable_private(ppi, 0xa0);
  const uint32_t before = r.count[ppi];
  sleep_counter = timer::count(timer::Kind::physical_timer);
  timer::set_timer(kind, milliseconds * counter_frequency() / 1000);
  timer::set_control(kind, timer::ctl_enable);
  while ((timer::control(kind) & timer::ctl_istatus) == 0) {
    if (psci::hvc(psci::cpu_suspend_64, psci::power_state_standby, 0, 0) != psci::success) break;
  }
  irqs_on();
  wait_change(r.count[ppi], before, 100000);
  irqs_off();
  timer::set_control(kind, 0);
}

// entry: only when this partition's first instruction ran (for partitions next to a bench).
void test_entry() {
  entry_figures();
  begin_pass();
  put_text("first instruction at CNTPCT ");
  put_decimal(entry_counters[0]);
  end_line();
}

void test_bench() {
  entry_figures();
  delay_us(settle_us);

  // A null hypercall: a fast call nothing implements, answered NOT_SUPPORTED.
  EXPECT_SIGNED("null hypercall 0x8600ff00", psci::hvc(psci::null_hypercall), psci::not_supported);
  uint64_t start = virtual_count();
  for (uint64_t i = 0; i < hypercalls; ++i) smccc_hvc(psci::null_hypercall, 0, 0, 0);
  const uint64_t hvc_ns = mean_ns(virtual_count() - start, hypercalls);

  // A trapped, emulated distributor read.
  start = virtual_count();
  for (uint64_t i = 0; i < distributor_reads; ++i) read32(gic::distributor + gic::gicd_typer);
  const uint64_t gicd_ns = mean_ns(virtual_count() - start, distributor_reads);

  // Trapped ECAM accesses to the first function on the virtual bus: a vendor ID read and
  // an Interrupt Line write (a register the emulator keeps, so neither reaches the device).
  const pci::Bus& bus = pci::scan();
  if (bus.count == 0) {
    fail("no function on the virtual PCI bus (the bench needs one)");
    return;
  }
  const uint64_t vendor_id = pci::config_address(0, bus.functions[0].slot, 0, pci::reg::vendor_device);
  const uint64_t interrupt_line = pci::config_address(0, bus.functions[0].slot, 0, pci::reg::interrupt_line);
  EXPECT_HEX("vendor ID through the ECAM", read16(vendor_id), bus.functions[0].vendor);
  start = virtual_count();
  for (uint64_t i = 0; i < config_accesses; ++i) read16(vendor_id);
  const uint64_t ecam_read_ns = mean_ns(virtual_count() - start, config_accesses);
  start = virtual_count();
  for (uint64_t i = 0; i < config_accesses; ++i) write8(interrupt_line, static_cast<uint8_t>(i));
  const uint64_t ecam_write_ns = mean_ns(virtual_count() - start, config_accesses);
  EXPECT_HEX("Interrupt Line after the writes", read8(interrupt_line), static_cast<uint8_t>(config_accesses - 1));

  // From the virtual timer's compare value to the guest's IRQ vector reading CNTVCT: the
  // physical PPI is taken at EL2 and injected as a hardware-backed virtual interrupt.
  gic::init_this_cpu();
  gic::enable_private(gic::virtual_timer_ppi, 0xa0);
  gic::IrqRecord& r = gic::record(0);
  Latencies latencies;
  irqs_on();
  uint64_t ticks = 0;
  bool taken = true;
  for (uint64_t i = 0; taken && i < interrupts; ++i) {
    taken = timer_interrupt(r, ticks);
    if (taken) latencies.add(ticks);
  }
  irqs_off();
  if (!taken) return;
  figure("null-hvc-ns", hvc_ns);
  figure("gicd-read-ns", gicd_ns);
  figure("ecam-read-ns", ecam_read_ns);
  figure("ecam-write-ns", ecam_write_ns);
  figure("irq-latency-ns", latencies.mean_ns());
  figure("irq-latency-spread-ticks", latencies.spread_ticks());
  begin_pass();
  put_text("means over 1000 null hvc (0x8600ff00), 1000 GICD_TYPER reads, 1000 ECAM vendor ID reads, ");
  put_text("1000 ECAM Interrupt Line writes, 50 vtimer irqs");
  end_line();
}

}  // namespace probe
