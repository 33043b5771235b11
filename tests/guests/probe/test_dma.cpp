// DMA through the partition's SMMU context (issue 12; tests/integration/smmu_dma_tests.py
// and the dma benchmark), driven with QEMU's edu (hw/misc/edu.c): a DMA engine between a
// 4 KiB buffer inside the device (bus address 0x40000 in its registers) and any bus
// address, one transfer at a time, done by edu's DMA timer 100 ms of virtual time after
// the command. QEMU must widen edu's dma_mask: by default edu keeps 28 address bits. A
// transfer must end before the buffer's last byte: QEMU 7.2's range check takes the
// buffer's end as exclusive and stops the whole machine (hw_error) otherwise.
// QEMU's SMMU refuses a blocked DMA 4 bytes at a time (the access size of unassigned
// memory), each refusal one event: every access meant to fault is one 4-byte word, so
// that each target gives exactly one fault line within the fault log's burst of 8.
//   dma-own        4032-byte round trips RAM -> device -> RAM into a .bss page and up to
//                  the last byte of RAM; 8 bytes written across the end of RAM: the word
//                  inside lands (the one past it must fault: the harness checks the line)
//   dma-isolation  probe.dma-write=NAME@ADDR,...: a 4-byte marker written at each IOVA
//                  (each must fault); probe.dma-read=NAME@ADDR,...: 4-byte reads that bring
//                  nothing back (the device buffer keeps its prefill, or reads zeros);
//                  probe.dma-gicd=ADDR (the physical distributor): edu's own INTx made
//                  pending by DMA through GICD_SETSPI_NSR and GICD_ISPENDR<n>: it must
//                  not become pending nor be taken
//   dma-watch      (another partition) 1 MiB of its RAM filled with a pattern, checksummed
//                  and printed every 250 ms until a byte arrives on its console
//   dma-bench      probe.dma-bench=N rounds of 4032 bytes RAM -> device -> RAM, each transfer's
//                  end taken as edu's DMA interrupt (INTx) in WFI, timed with CNTVCT; the
//                  same code runs on plain QEMU (benchmarks.py)
#include "console.hpp"
#include "gic.hpp"
#include "pci.hpp"
#include "qemu_devices.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

using pci::Function;

constexpr uint32_t page = 4096;
constexpr uint32_t transfer_bytes = page - 64;  // the largest whole-cache-line transfer edu takes
constexpr uint32_t marker_bytes = 256;  // loaded into the device buffer
constexpr uint32_t fault_bytes = 4;     // one access, one event, one fault line
constexpr uint64_t transfer_timeout_us = 5000000;  // edu takes 100 ms of virtual time

// The bytes every attempted write carries (smmu_dma_tests.py looks for them in memory).
uint8_t marker(uint32_t i) { return static_cast<uint8_t>(((i * 0x3b + 0x5d) & 0xff) | 1); }
// What the device buffer holds before a read that must bring nothing back.
uint8_t prefill(uint32_t i) { return static_cast<uint8_t>(((i * 0x17 + 0x80) & 0xff) | 1); }

alignas(page) volatile uint8_t source_page[page];
alignas(page) volatile uint8_t destination_page[page];

struct Edu {
  const Function* function = nullptr;
  uint64_t base = 0;
};

// edu placed, decoding and mastering; false after a FAIL line.
bool open_edu(Edu& edu) {
  if (!pci::place_all()) return false;
  const Function* f = pci::find(edu::vendor, edu::device);
  if (f == nullptr) {
    fail("no edu function");
    return false;
  }
  const uint16_t command = pci::read16(f->slot, pci::reg::command);
  pci::write16(f->slot, pci::reg::command, static_cast<uint16_t>(command | pci::command_bus_master));
  if (!expect_hex("Bus Master Enable read back", pci::read16(f->slot, pci::reg::command) & pci::command_bus_master,
                  pci::command_bus_master)) {
    return false;
  }
  edu.function = f;
  edu.base = pci::bar_address(*f, 0);
  return true;
}

enum class Direction : uint64_t { to_device = 0, to_ram = edu::dma_to_ram };

// Programs one transfer between bus address `ram` and the device buffer's start; edu
// ignores these registers while a transfer runs.
void start_transfer(const Edu& e, uint64_t ram, uint32_t bytes, Direction direction, uint64_t extra_command) {
  const bool to_ram = direction == Direction::to_ram;
  dsb();
  write64(e.base + edu::dma_source, to_ram ? edu::dma_buffer : ram);
  write64(e.base + edu::dma_destination, to_ram ? ram : edu::dma_buffer);
  write64(e.base + edu::dma_count, bytes);
  write64(e.base + edu::dma_command, edu::dma_run | static_cast<uint64_t>(direction) | extra_command);
}

bool transfer_done(const Edu& e) { return (read64(e.base + edu::dma_command) & edu::dma_run) == 0; }

// One transfer, polled to its end. edu finishes a transfer the SMMU blocked like any
// other: the fault is the hypervisor's line, the result is what memory holds.
bool transfer(const Edu& e, uint64_t ram, uint32_t bytes, Direction direction) {
  start_transfer(e, ram, bytes, direction, 0);
  const bool done = wait_for([&e] { return transfer_done(e); }, transfer_timeout_us);
  dsb();
  if (!done) fail("edu's DMA did not finish within 5 s");
  return done;
}

uint64_t address_of(const volatile uint8_t* p) { return reinterpret_cast<uint64_t>(p); }

// Bytes of `[address, +length)` equal to `expected(offset_base + i)`.
template <typename Pattern>
uint32_t matching(uint64_t address, uint32_t length, Pattern expected, uint32_t offset_base = 0) {
  uint32_t same = 0;
  for (uint32_t i = 0; i < length; ++i) {
    if (read8(address + i) == expected(offset_base + i)) ++same;
  }
  return same;
}

void fill(uint64_t address, uint32_t length, uint8_t (*pattern)(uint32_t)) {
  for (uint32_t i = 0; i < length; ++i) write8(address + i, pattern(i));
}

// The device buffer's first `length` bytes loaded with `pattern`, through the .bss page.
bool load_device(const Edu& e, uint32_t length, uint8_t (*pattern)(uint32_t)) {
  fill(address_of(source_page), length, pattern);
  return transfer(e, address_of(source_page), length, Direction::to_device);
}

uint8_t round_trip_pattern(uint32_t i) { return static_cast<uint8_t>(i * 7 + 3 + (i >> 8)); }

// NAME@ADDR,... lists.
struct Target {
  Text name;
  uint64_t address = 0;
};

bool next_target(Text& list, Target& target) {
  Text item = next_item(list, ',');
  target.name = next_item(item, '@');
  if (target.name.empty() || !parse_number(item, target.address)) {
    fail("malformed NAME@0xADDR item");
    return false;
  }
  return true;
}

void put_target(const Target& t) {
  put_text(t.name.data, t.name.length);
  put(' ');
  put_hex(t.address);
}

bool check_write(const Edu& e, const Target& t) {
  if (!transfer(e, t.address, fault_bytes, Direction::to_ram)) return false;
  begin_pass();
  put_text("write ");
  put_target(t);
  put_text(": edu finished a 4-byte marker (the SMMU must have faulted it)");
  end_line();
  return true;
}

bool check_read(const Edu& e, const Target& t) {
  if (!load_device(e, marker_bytes, prefill) || !transfer(e, t.address, fault_bytes, Direction::to_device)) {
    return false;
  }
  for (uint32_t i = 0; i < marker_bytes; ++i) destination_page[i] = 0;
  if (!transfer(e, address_of(destination_page), marker_bytes, Direction::to_ram)) return false;
  const uint32_t kept = matching(address_of(destination_page), marker_bytes, prefill);
  const uint32_t zeros = matching(address_of(destination_page), marker_bytes, [](uint32_t) { return uint8_t{0}; });
  if (!expect_hex("device buffer bytes neither its prefill nor zero after a blocked read", marker_bytes - kept - zeros, 0)) {
    return false;
  }
  begin_pass();
  put_text("read ");
  put_target(t);
  put_text(": nothing came back (buffer: ");
  put_decimal(kept);
  put_text(" prefill bytes, ");
  put_decimal(zeros);
  put_text(" zeros)");
  end_line();
  return true;
}

// The word the DMA writes to the physical distributor carry, little-endian.
uint32_t gicd_value = 0;
uint8_t gicd_value_byte(uint32_t i) { return i < 4 ? static_cast<uint8_t>(gicd_value >> (8 * i)) : 0; }

uint64_t edu_base_for_irq = 0;
volatile uint32_t edu_dma_irqs = 0;

void acknowledge_edu(uint32_t) {
  const uint32_t status = read32(edu_base_for_irq + edu::irq_status);
  write32(edu_base_for_irq + edu::irq_acknowledge, status);
  if ((status & edu::irq_dma) != 0) edu_dma_irqs = edu_dma_irqs + 1;
}

// edu's INTx as the device tree routes it, enabled at the (virtual) distributor as a
// Group 1 interrupt, acknowledged at the device by the handler; 0 after a FAIL line.
uint32_t enable_edu_intx(const Edu& e) {
  const PciIntxRoute* route = pci::intx_route(e.function->slot, 1);
  if (route == nullptr) {
    fail("the device tree's interrupt-map has no entry for edu's INTA");
    return 0;
  }
  const uint32_t intid = 32 + route->spi;
  if (intid >= gic::IrqRecord::tracked) {
    fail("edu's INTx SPI is beyond what the probe's handler counts");
    return 0;
  }
  gic::init_this_cpu();
  edu_base_for_irq = e.base;
  gic::set_hook(intid, acknowledge_edu);
  const uint64_t d = gic::distributor;
  const uint64_t word = uint64_t{4} * (intid / 32);
  write32(d + gic::igroupr + word, read32(d + gic::igroupr + word) | 1u << (intid % 32));
  write8(d + gic::ipriorityr + intid, 0xa0);
  write32(d + gic::isenabler + word, 1u << (intid % 32));
  return intid;
}

void disable_spi(uint32_t intid) {
  write32(gic::distributor + gic::icenabler + uint64_t{4} * (intid / 32), 1u << (intid % 32));
}

bool spi_pending(uint32_t intid) {
  return (read32(gic::distributor + gic::ispendr + uint64_t{4} * (intid / 32)) & (1u << (intid % 32))) != 0;
}

// Two DMA writes into the physical distributor's first page that would make edu's own
// INTx (enabled, routed to this vCPU) pending: its INTID to GICD_SETSPI_NSR (the
// message-based SPI doorbell; QEMU's GICv3 does not implement it and ignores the write)
// and its bit to GICD_ISPENDR<n> (which every GICv3, QEMU's too, honours).
bool check_gicd(const Edu& e, uint64_t distributor) {
  const uint32_t intid = enable_edu_intx(e);
  if (intid == 0) return false;
  const uint16_t command = pci::read16(e.function->slot, pci::reg::command);
  pci::write16(e.function->slot, pci::reg::command, static_cast<uint16_t>(command & ~pci::command_intx_disable));
  gic::IrqRecord& r = gic::record(vcpu_index());
  struct Write {
    const char* name;
    uint64_t offset;
    uint32_t value;
  };
  const Write writes[] = {
      {"setspi", gic::gicd_setspi_nsr, intid},
      {"ispendr", gic::ispendr + uint64_t{4} * (intid / 32), 1u << (intid % 32)},
  };
  bool passed = true;
  for (const Write& w : writes) {
    const uint32_t before = r.count[intid];
    gicd_value = w.value;
    irqs_on();
    const bool done = load_device(e, fault_bytes, gicd_value_byte) &&
                      transfer(e, distributor + w.offset, fault_bytes, Direction::to_ram);
    delay_us(20000);  // what the GIC would have delivered by now
    irqs_off();
    const bool pending = spi_pending(intid);
    if (!done || !expect_hex("interrupts taken after the DMA write to the distributor", since(r.count[intid], before), 0) ||
        !expect_hex("edu's INTID pending after the DMA write to the distributor", pending ? 1 : 0, 0)) {
      passed = false;
      break;
    }
    begin_pass();
    put_text("gicd ");
    put_text(w.name);
    put(' ');
    put_hex(distributor + w.offset);
    put_text(": edu wrote ");
    put_hex(w.value);
    put_text(" for INTID ");
    put_decimal(intid);
    put_text(" (its own INTx, enabled): not pending, not taken");
    end_line();
  }
  disable_spi(intid);
  pci::write16(e.function->slot, pci::reg::command, command);
  return passed;
}

// dma-watch: the pattern and checksum smmu_dma_tests.py computes too.
constexpr uint64_t watch_offset = 0x800000;
constexpr uint64_t watch_size = 0x100000;
constexpr uint64_t watch_round_us = 250000;

uint64_t watch_word(uint64_t address) { return (address * 0x9e3779b97f4a7c15ull) ^ 0x6474617463680000ull; }

uint64_t watch_checksum(uint64_t base, uint64_t& first_bad) {
  uint64_t sum = 0;
  first_bad = 0;
  for (uint64_t a = base; a < base + watch_size; a += 8) {
    const uint64_t word = read64(a);
    if (word != watch_word(a) && first_bad == 0) first_bad = a;
    sum = ((sum << 1) | (sum >> 63)) ^ word;
  }
  return sum;
}

// Waits for edu's DMA interrupt in WFI. IRQs are masked around the check so that the
// interrupt cannot slip in between it and the WFI; the virtual timer is a watchdog.
bool wait_dma_irq(uint32_t before) {
  timer::set_timer(timer::Kind::virtual_timer, transfer_timeout_us * ticks_per_us());
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_enable);
  const uint64_t deadline = virtual_count() + transfer_timeout_us * ticks_per_us();
  irqs_off();
  while (edu_dma_irqs == before && virtual_count() < deadline) {
    asm volatile("wfi" ::: "memory");
    irqs_on();
    isb();
    irqs_off();
  }
  irqs_on();
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_imask);
  return edu_dma_irqs != before;
}

bool bench_transfer(const Edu& e, uint64_t ram, Direction direction) {
  const uint32_t before = edu_dma_irqs;
  start_transfer(e, ram, transfer_bytes, direction, edu::dma_irq_on_finish);
  if (!wait_dma_irq(before)) {
    fail("no edu DMA interrupt within 5 s");
    return false;
  }
  return true;
}

}  // namespace

void test_dma_own() {
  Edu e;
  if (!open_edu(e)) return;
  const uint64_t ram_end = settings().guest.ram_base + settings().guest.ram_size;
  // A full transfer to the device and back into another page.
  if (!load_device(e, transfer_bytes, round_trip_pattern)) return;
  for (uint32_t i = 0; i < page; ++i) destination_page[i] = 0;
  if (!transfer(e, address_of(destination_page), transfer_bytes, Direction::to_ram)) return;
  EXPECT_HEX("bytes of the .bss round trip",
             matching(address_of(destination_page), transfer_bytes, round_trip_pattern), transfer_bytes);
  begin_pass();
  put_decimal(transfer_bytes);
  put_text(" bytes ");
  put_hex(address_of(source_page));
  put_text(" -> device -> ");
  put_hex(address_of(destination_page));
  put_text(": bytes match");
  end_line();
  // Up to the last byte of RAM (the device tree lives lower, at the last 2 MiB's start).
  const uint64_t last = ram_end - transfer_bytes;
  for (uint32_t i = 0; i < transfer_bytes; ++i) write8(last + i, 0);
  if (!transfer(e, last, transfer_bytes, Direction::to_ram)) return;
  EXPECT_HEX("bytes written up to the end of RAM", matching(last, transfer_bytes, round_trip_pattern), transfer_bytes);
  begin_pass();
  put_decimal(transfer_bytes);
  put_text(" bytes device -> ");
  put_hex(last);
  put_text(" (up to the end of RAM): bytes match");
  end_line();
  // Across the end of RAM: the first word is the partition's, the second is not.
  const uint32_t half = fault_bytes;
  if (!load_device(e, marker_bytes, marker)) return;
  for (uint32_t i = 0; i < half; ++i) write8(ram_end - half + i, 0);
  if (!transfer(e, ram_end - half, 2 * half, Direction::to_ram)) return;
  EXPECT_HEX("marker bytes that landed below the end of RAM", matching(ram_end - half, half, marker), half);
  begin_pass();
  put_text("8 bytes device -> ");
  put_hex(ram_end - half);
  put_text(": the 4 below the end of RAM ");
  put_hex(ram_end);
  put_text(" landed");
  end_line();
}

void test_dma_isolation() {
  Edu e;
  if (!open_edu(e)) return;
  const char* args = settings().guest.bootargs;
  Text writes = bootarg(args, "probe.dma-write");
  Text reads = bootarg(args, "probe.dma-read");
  uint64_t distributor = 0;
  const bool has_gicd = parse_number(bootarg(args, "probe.dma-gicd"), distributor);
  if (writes.empty() && reads.empty() && !has_gicd) {
    fail("no probe.dma-write=, probe.dma-read= or probe.dma-gicd= in the bootargs");
    return;
  }
  if (!writes.empty() && !load_device(e, marker_bytes, marker)) return;
  Target t;
  while (!writes.empty()) {
    if (!next_target(writes, t) || !check_write(e, t)) return;
  }
  while (!reads.empty()) {
    if (!next_target(reads, t) || !check_read(e, t)) return;
  }
  if (has_gicd) check_gicd(e, distributor);
}

void test_dma_watch() {
  const uint64_t base = settings().guest.ram_base + watch_offset;
  for (uint64_t a = base; a < base + watch_size; a += 8) write64(a, watch_word(a));
  uint64_t bad = 0;
  const uint64_t expected = watch_checksum(base, bad);
  put_text("probe: dma-watch filled ");
  put_hex(base);
  put('+');
  put_hex(watch_size);
  put_text(" checksum ");
  put_hex(expected);
  end_line();
  uint64_t rounds = 0;
  const uint64_t give_up = virtual_count() + 600000000ull * ticks_per_us();
  while (!console_byte_waiting() && virtual_count() < give_up) {
    delay_us(watch_round_us);
    const uint64_t sum = watch_checksum(base, bad);
    ++rounds;
    put_text("probe: dma-watch round ");
    put_decimal(rounds);
    put_text(" checksum ");
    put_hex(sum);
    end_line();
    if (sum != expected || bad != 0) {
      begin_fail();
      put_text("watched memory changed: first word at ");
      put_hex(bad);
      put_text(" reads ");
      put_hex(bad != 0 ? read64(bad) : 0);
      end_line();
      return;
    }
  }
  if (!console_byte_waiting()) {
    fail("no console byte within 600 s");
    return;
  }
  console_read_byte();
  begin_pass();
  put_hex(base);
  put('+');
  put_hex(watch_size);
  put_text(" checksum ");
  put_hex(expected);
  put_text(" unchanged over ");
  put_decimal(rounds);
  put_text(" rounds");
  end_line();
}

void test_dma_bench() {
  Edu e;
  if (!open_edu(e)) return;
  uint64_t rounds = 8;
  parse_number(bootarg(settings().guest.bootargs, "probe.dma-bench"), rounds);
  const uint32_t intid = enable_edu_intx(e);
  if (intid == 0) return;
  gic::enable_private(gic::virtual_timer_ppi, 0x80);
  const uint16_t command = pci::read16(e.function->slot, pci::reg::command);
  pci::write16(e.function->slot, pci::reg::command, static_cast<uint16_t>(command & ~pci::command_intx_disable));
  fill(address_of(source_page), transfer_bytes, round_trip_pattern);
  irqs_on();
  const uint64_t start = virtual_count();
  for (uint64_t i = 0; i < rounds; ++i) {
    for (uint32_t b = 0; b < page; ++b) destination_page[b] = 0;
    if (!bench_transfer(e, address_of(source_page), Direction::to_device) ||
        !bench_transfer(e, address_of(destination_page), Direction::to_ram)) {
      return;
    }
  }
  const uint64_t ticks = virtual_count() - start;
  irqs_off();
  disable_spi(intid);
  EXPECT_HEX("bytes of the last round trip",
             matching(address_of(destination_page), transfer_bytes, round_trip_pattern), transfer_bytes);
  const uint64_t bytes = rounds * 2 * transfer_bytes;
  put_text("probe: bench dma-transfers ");
  put_decimal(rounds * 2);
  end_line();
  put_text("probe: bench dma-bytes ");
  put_decimal(bytes);
  end_line();
  put_text("probe: bench dma-ticks ");
  put_decimal(ticks);
  end_line();
  put_text("probe: bench counter-frequency ");
  put_decimal(counter_frequency());
  end_line();
  begin_pass();
  put_decimal(rounds * 2);
  put_text(" transfers of ");
  put_decimal(transfer_bytes);
  put_text(" bytes, each ended by edu's DMA interrupt, in ");
  put_decimal(ticks);
  put_text(" ticks; the last round trip's bytes match");
  end_line();
}

}  // namespace probe
