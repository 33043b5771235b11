// console-flood: a partition with 3 vCPUs floods every console path it can reach, for
// `probe.flood-ms=` (2500) after `probe.flood-after-ms=` (1000): both vCPUs write its
// UART as fast as it takes bytes, vCPU 0 numbered lines polling FR.TXFF before each byte
// (a polled console), vCPU 1 one run without a newline in batches of up to 16 bytes
// after FR.TXFE (Linux's interrupt-driven TX). vCPU 0 also takes a data abort past its
// RAM and reads a reserved GICD offset, 8 of each in a burst once the UART has read
// full, then one of each per line; the hypervisor logs 8 of each kind, then mutes it.
// vCPU 2, on the boot CPU, spins meanwhile: the console's drain takes its time from it.
// console-witness: a partition beside it prints a line every `probe.witness-period-ms=`
// (10) for `probe.witness-ms=` (4500), stamped with the physical counter the flooder
// uses too, and echoes every byte typed to it. tests/integration/console_tests.py
// measures how late each witness line reaches the host and checks every flood byte.
//
// Output (the harness tells the vCPUs' streams apart by their alphabets):
//   flood: start at-us T                        (vCPU 0, before vCPU 1 starts)
//   flood: line NNNNNN at-us T \x80\x81...     vCPU 0: a-z, 0-9, ':', ' ', 0x80..0x99, '\n'
//   <ABCDEF>\xf0...\xff<ABCDEG>\xf0...          vCPU 1: '<', '>', A-J and 0xf0..0xff
//   flood: end at-us T lines L runs R aborts A gicd-reads G full-waits F empty-waits E
//          burst-when-full yes|no
//   witness: start at-us T period-us P
//   witness: line N at-us T previous-end-us E    (T: before its first byte; E: once line N-1
//                                                 was all written, 0 for N = 1)
//   witness: input 0xHH at-us T
//   witness: end lines N last-end-us E late-max-us L
#include "console.hpp"
#include "gic.hpp"
#include "smp.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

// Reserved in the GICv3 distributor map (between GICD_STATUSR and the IMPLEMENTATION
// DEFINED block): the hypervisor's vGIC reads it as zero and logs it as unhandled.
constexpr uint64_t gicd_reserved = 0x0014;
constexpr uint32_t flood_vcpu = 1;
constexpr uint32_t console_cpu_vcpu = 2;  // the partition's vCPU on CPU 0
constexpr uint64_t flood_ms_default = 2500;
constexpr uint64_t flood_after_ms_default = 1000;
constexpr uint64_t witness_ms_default = 4500;
constexpr uint64_t witness_period_ms_default = 10;
constexpr uint64_t input_poll_us = 1000;
constexpr uint32_t burst_accesses = 8;  // each kind is logged 8 times, then muted
constexpr uint8_t timer_priority = 0xa0;

uint64_t bootarg_number(const char* key, uint64_t fallback) {
  uint64_t value = 0;
  return parse_number(bootarg(settings().guest.bootargs, key), value) ? value : fallback;
}

// The physical counter (the same in every partition: CNTVOFF_EL2 does not apply) in us.
uint64_t now_us() { return physical_count() * 1000000 / counter_frequency(); }

// Both vCPUs write the one UART, each a whole record at a time under a spinlock, as a
// driver's port lock would have it (two unsynchronised writers overrun a UART's FIFO on
// hardware too). Not a strictly fair lock, which would hand over at every record and so
// run at the pace of the host scheduling QEMU's vCPU threads in turn: the holder lets a
// waiting vCPU in if it takes the lock within `handover_us`.
constexpr uint64_t handover_us = 50;
volatile uint32_t uart_lock;
volatile uint32_t waiting[2];

// LDAXR/STXR: 0 once this vCPU holds the lock (the exclusive monitor works on Device
// memory in QEMU, where the probe runs).
uint32_t try_lock_uart() {
  uint32_t status;  // the lock's value if taken, else STXR's status
  asm volatile(
      "ldaxr %w0, [%1]\n"
      "cbnz %w0, 1f\n"
      "stxr %w0, %w2, [%1]\n"
      "1:\n"
      : "=&r"(status)
      : "r"(&uart_lock), "r"(1u)
      : "memory");
  return status;
}

void lock_uart(uint32_t me) {
  waiting[me] = 1;
  dsb();
  while (try_lock_uart() != 0) relax();
  waiting[me] = 0;
  dsb();
}

void unlock_uart(uint32_t me) {
  asm volatile("stlr wzr, [%0]" ::"r"(&uart_lock) : "memory");
  const uint32_t other = 1 - me;
  if (waiting[other] != 0) wait_for([other] { return waiting[other] == 0; }, handover_us);
}

// `digits` decimal digits of `value`, each as `zero` + digit, into `out`.
void number_text(uint64_t value, uint32_t digits, char zero, uint8_t* out) {
  for (uint32_t i = digits; i > 0; --i) {
    out[i - 1] = static_cast<uint8_t>(zero + value % 10);
    value /= 10;
  }
}

// Set by vCPU 0 before it starts vCPU 1; written by vCPU 1 once it is done.
volatile uint64_t flood_deadline;
volatile uint64_t runs_written;
volatile uint64_t empty_waits;  // FR reads that found the TX FIFO not empty

constexpr uint32_t batch_bytes = 16;  // what Linux writes per TX interrupt (half the FIFO)

// vCPU 1, as Linux's interrupt-driven TX: waits for the TX FIFO to be empty, then writes
// up to a batch without looking at FR.
void write_batch(const uint8_t* bytes, uint32_t count) {
  uint64_t waits = 0;
  while (!console_transmit_empty()) {
    ++waits;
    relax();
  }
  empty_waits = empty_waits + waits;
  for (uint32_t i = 0; i < count; ++i) put_unchecked(bytes[i]);
}

// vCPU 1's records, back to back, never a newline: `<NNNNNN>` (digits as A..J) in one
// batch, then the bytes 0xf0..0xff in another (the multiplexer shows each as `\xHH`, and
// the output queue doubles 0xff: cheap to write, dear to drain).
void flood_runs() {
  uint64_t runs = 0;
  uint8_t head[8] = {'<', 0, 0, 0, 0, 0, 0, '>'};
  uint8_t tail[batch_bytes];
  for (uint32_t i = 0; i < batch_bytes; ++i) tail[i] = static_cast<uint8_t>(0xf0 + i);
  while (physical_count() < flood_deadline) {
    number_text(runs, 6, 'A', head + 1);
    lock_uart(1);
    write_batch(head, sizeof(head));
    write_batch(tail, sizeof(tail));
    unlock_uart(1);
    ++runs;
  }
  runs_written = runs;
  dsb();
}

// vCPU 2, on CPU 0 (the boot CPU, which drains every console queue): busy until the
// deadline, so the drain runs only in the time the hypervisor takes from it ("CPU 0" in
// partitions/README.md). Alone on CPU 0 the drain keeps pace with the two writers on a
// fast host, and flow control would go untested.
void spin_until_deadline() {
  while (physical_count() < flood_deadline) relax();
}

// vCPU 0, as a polled console: FR.TXFF before every byte.
uint64_t full_waits;

void put_polled(uint8_t byte) {
  while (console_transmit_full()) {
    ++full_waits;
    relax();
  }
  put_unchecked(byte);
}

// vCPU 0's line `index`: `flood: line NNNNNN at-us TTTTTTTTTT ` (T: before its first
// byte) then 40..220 bytes 0x80..0x99 repeated (shown as `\xHH`: dear to drain, so that
// the flood outruns the console).
void flood_line(uint64_t index) {
  static constexpr char head[] = "flood: line ";
  static constexpr char stamp_label[] = " at-us ";
  uint8_t number[6];
  uint8_t stamp[10];
  number_text(index, sizeof(number), '0', number);
  lock_uart(0);
  number_text(now_us(), sizeof(stamp), '0', stamp);
  for (const char* c = head; *c != '\0'; ++c) put_polled(static_cast<uint8_t>(*c));
  for (const uint8_t digit : number) put_polled(digit);
  for (const char* c = stamp_label; *c != '\0'; ++c) put_polled(static_cast<uint8_t>(*c));
  for (const uint8_t digit : stamp) put_polled(digit);
  put_polled(' ');
  const uint64_t padding = 40 + (index % 7) * 30;
  for (uint64_t i = 0; i < padding; ++i) put_polled(static_cast<uint8_t>(0x80 + i % 26));
  put_polled('\n');
  unlock_uart(0);
}

// The witness sleeps in WFI until the physical counter reaches `target`: a vCPU thread
// that spins keeps a host CPU from QEMU's others, and one preempted halfway through a
// line makes that line look late. The timer's IRQ hook (timer.cpp) silences it.
void sleep_until(uint64_t target) {
  irqs_off();
  timer::set_compare(timer::Kind::physical_timer, target);
  timer::set_control(timer::Kind::physical_timer, timer::ctl_enable);
  while (physical_count() < target) {
    asm volatile("wfi" ::: "memory");
    irqs_on();
    isb();
    irqs_off();
  }
  irqs_on();
}

}  // namespace

void test_console_flood() {
  const uint64_t flood_ms = bootarg_number("probe.flood-ms", flood_ms_default);
  const uint64_t after_ms = bootarg_number("probe.flood-after-ms", flood_after_ms_default);
  const uint64_t fault_address = settings().fault_address;
  if (!smp::ensure_online(flood_vcpu) || !smp::ensure_online(console_cpu_vcpu)) return;
  delay_us(after_ms * 1000);
  put_text("flood: start at-us ");
  put_decimal(now_us());
  end_line();
  flood_deadline = physical_count() + flood_ms * counter_frequency() / 1000;
  dsb();
  const uint32_t spin_request =
      smp::post(console_cpu_vcpu, smp::Command::call, reinterpret_cast<uint64_t>(&spin_until_deadline));
  const uint32_t request = smp::post(flood_vcpu, smp::Command::call, reinterpret_cast<uint64_t>(&flood_runs));
  expect_aborts(true);
  // Once the UART has read full (the queue is at its limit), a burst of what the
  // hypervisor logs: more than the room its queue keeps for such lines. Then one of each
  // per line, which it no longer logs.
  uint64_t lines = 0;
  uint64_t gicd_reads = 0;
  bool burst = false;
  while (physical_count() < flood_deadline) {
    flood_line(lines++);
    if (!burst && full_waits == 0 && !console_transmit_full()) continue;
    for (uint32_t i = 0; i < (burst ? 1 : burst_accesses); ++i) {
      (void)probe_read32(fault_address);
      (void)read32(gic::distributor + gicd_reserved);
      ++gicd_reads;
    }
    burst = true;
  }
  const uint32_t aborts_taken = aborts().count;
  expect_aborts(false);
  if (!smp::wait_done(flood_vcpu, request, 5000000)) {
    fail("vcpu 1 did not finish its flood within 5 s of the deadline");
    return;
  }
  if (!smp::wait_done(console_cpu_vcpu, spin_request, 5000000)) {
    fail("vcpu 2 did not stop spinning within 5 s of the deadline");
    return;
  }
  put_text("flood: end at-us ");
  put_decimal(now_us());
  put_text(" lines ");
  put_decimal(lines);
  put_text(" runs ");
  put_decimal(runs_written);
  put_text(" aborts ");
  put_decimal(aborts_taken);
  put_text(" gicd-reads ");
  put_decimal(gicd_reads);
  put_text(" full-waits ");
  put_decimal(full_waits);
  put_text(" empty-waits ");
  put_decimal(empty_waits);
  put_text(burst ? " burst-when-full yes" : " burst-when-full no");
  end_line();
  if (!expect_hex("data aborts taken, one per GICD read", aborts_taken, gicd_reads)) return;
  begin_pass();
  put_decimal(lines);
  put_text(" lines and ");
  put_decimal(runs_written);
  put_text(" runs from 2 vcpus in ");
  put_decimal(flood_ms);
  put_text(" ms");
  end_line();
}

void test_console_witness() {
  const uint64_t run_ms = bootarg_number("probe.witness-ms", witness_ms_default);
  const uint64_t period_ms = bootarg_number("probe.witness-period-ms", witness_period_ms_default);
  const uint64_t ticks_per_ms = counter_frequency() / 1000;
  const uint64_t period = period_ms * ticks_per_ms;
  const uint64_t poll = input_poll_us * ticks_per_ms / 1000;
  gic::init_this_cpu();
  gic::enable_private(timer::ppi(timer::Kind::physical_timer), timer_priority);
  uint64_t next = physical_count();
  const uint64_t end = next + run_ms * ticks_per_ms;
  put_text("witness: start at-us ");
  put_decimal(now_us());
  put_text(" period-us ");
  put_decimal(period_ms * 1000);
  end_line();
  uint64_t lines = 0;
  uint64_t worst_late = 0;
  uint64_t previous_end = 0;
  while (next < end) {
    const uint64_t late = physical_count() - next;
    if (late > worst_late) worst_late = late;
    const uint64_t start = now_us();  // before its first byte
    put_text("witness: line ");
    put_decimal(++lines);
    put_text(" at-us ");
    put_decimal(start);
    put_text(" previous-end-us ");
    put_decimal(previous_end);
    end_line();
    previous_end = now_us();  // the line is in its output queue: the DR write trap put it there
    next += period;
    for (uint64_t now = physical_count(); now < next; now = physical_count()) {
      if (!console_byte_waiting()) {
        sleep_until(now + poll < next ? now + poll : next);
        continue;
      }
      const uint8_t byte = console_read_byte();
      put_text("witness: input ");
      put_hex(byte);
      put_text(" at-us ");
      put_decimal(now_us());
      end_line();
    }
  }
  timer::set_control(timer::Kind::physical_timer, 0);
  put_text("witness: end lines ");
  put_decimal(lines);
  put_text(" last-end-us ");
  put_decimal(previous_end);
  put_text(" late-max-us ");
  put_decimal(worst_late * 1000 / ticks_per_ms);
  end_line();
  begin_pass();
  put_decimal(lines);
  put_text(" lines every ");
  put_decimal(period_ms);
  put_text(" ms");
  end_line();
}

}  // namespace probe
