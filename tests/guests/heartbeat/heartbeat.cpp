// The bare-metal "heartbeat" partition: proves a second partition keeps running while
// others boot, reset or fault. Prints `heartbeat N` on its virtual PL011 every period of
// virtual-counter time, then `beat lateness max-us N` (how long after a deadline it got to
// see it, at worst: a CPU taken away from it shows here) and `heartbeat done`, and powers
// its partition off. By default 20 beats of 100 ms; its `/chosen/bootargs` (the device
// tree in x0) may say `heartbeat.beats=N` (0: until stopped) and `heartbeat.period-ms=N`.
// A `q` on its console stops it at the next beat. A counted heartbeat polls the counter
// between beats (the probe tests bound its lateness); one that runs until stopped sleeps
// in WFI until its virtual timer's interrupt (PPI 27, acknowledged with IRQs masked: no
// vector), so that it leaves its CPU idle for as long as it runs.
#include <cstdint>

extern "C" int64_t psci_hvc(uint64_t function);

namespace {

constexpr uint64_t uart_base = 0x09000000;  // partitions/guest_layout.hpp: virtual_uart
constexpr uint32_t uart_data = 0x00 / 4;
constexpr uint32_t uart_flags = 0x18 / 4;
constexpr uint32_t flag_receive_empty = 1u << 4;
constexpr uint32_t flag_transmit_full = 1u << 5;
constexpr uint32_t default_beats = 20;
constexpr uint32_t default_period_ms = 100;
constexpr char stop_key = 'q';
constexpr uint64_t psci_system_off = 0x84000008;

// The partition's virtual GICv3 (partitions/guest_layout.hpp), vCPU 0's redistributor.
constexpr uint64_t gic_distributor = 0x08000000;
constexpr uint64_t gicd_ctlr = 0x0000;
constexpr uint32_t gicd_ctlr_enable_group1 = 1u << 1;
constexpr uint64_t gic_redistributor = 0x080a0000;
constexpr uint64_t gicr_waker = 0x0014;
constexpr uint32_t waker_processor_sleep = 1u << 1;
constexpr uint32_t waker_children_asleep = 1u << 2;
constexpr uint64_t gicr_sgi_frame = 0x10000;
constexpr uint64_t gicr_isenabler0 = 0x0100;
constexpr uint32_t virtual_timer_ppi = 27;
constexpr uint32_t spurious_intid = 1020;  // 1020-1023: nothing to acknowledge
constexpr uint64_t timer_enable = 1u << 0;  // CNTV_CTL_EL0.ENABLE, IMASK clear

volatile uint32_t* const uart = reinterpret_cast<volatile uint32_t*>(uart_base);

void put(char c) {
  while ((uart[uart_flags] & flag_transmit_full) != 0) {
  }
  uart[uart_data] = static_cast<uint8_t>(c);
}

void put_text(const char* text) {
  for (; *text != '\0'; ++text) put(*text);
}

void put_decimal(uint32_t value) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) put(digits[--n]);
}

// True once the stop key arrived (other bytes are read and dropped).
bool stop_requested() {
  bool stop = false;
  while ((uart[uart_flags] & flag_receive_empty) == 0) {
    if (static_cast<char>(uart[uart_data] & 0xff) == stop_key) stop = true;
  }
  return stop;
}

uint64_t counter() {
  uint64_t value;
  asm volatile("isb; mrs %0, cntvct_el0" : "=r"(value));
  return value;
}

uint64_t counter_frequency() {
  uint64_t value;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(value));
  return value;
}

volatile uint32_t& gic_register(uint64_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }

// The virtual timer's PPI enabled in Group 1 and the CPU interface open, so that its
// interrupt wakes WFI (PSTATE.I stays masked: it is acknowledged by polling).
void enable_timer_interrupt() {
  volatile uint32_t& waker = gic_register(gic_redistributor + gicr_waker);
  waker = waker & ~waker_processor_sleep;
  while ((waker & waker_children_asleep) != 0) {
  }
  gic_register(gic_redistributor + gicr_sgi_frame + gicr_isenabler0) = 1u << virtual_timer_ppi;
  asm volatile("msr icc_pmr_el1, %0; msr icc_igrpen1_el1, %1; isb" ::"r"(uint64_t{0xff}), "r"(uint64_t{1}));
  volatile uint32_t& ctlr = gic_register(gic_distributor + gicd_ctlr);
  ctlr = ctlr | gicd_ctlr_enable_group1;
}

uint64_t poll_until(uint64_t deadline) {
  uint64_t now = counter();
  while (now < deadline) now = counter();
  return now;
}

// Sleeps until the virtual counter reaches `deadline`; returns the counter then.
uint64_t sleep_until(uint64_t deadline) {
  asm volatile("msr cntv_cval_el0, %0; msr cntv_ctl_el0, %1; isb" ::"r"(deadline), "r"(timer_enable));
  uint64_t now = counter();
  while (now < deadline) {
    asm volatile("wfi" ::: "memory");
    now = counter();
  }
  asm volatile("msr cntv_ctl_el0, xzr; isb");  // the timer's level drops
  for (;;) {  // acknowledge and end what arrived (the timer's interrupt)
    uint64_t intid;
    asm volatile("mrs %0, icc_iar1_el1" : "=r"(intid));
    if ((intid & 0xffffff) >= spurious_intid) break;
    asm volatile("msr icc_eoir1_el1, %0; isb" ::"r"(intid));
  }
  return now;
}

// The flattened device tree, read byte by byte (the MMU is off: RAM is Device memory).
constexpr uint32_t fdt_magic = 0xd00dfeed;
constexpr uint32_t fdt_begin_node = 1, fdt_end_node = 2, fdt_prop = 3, fdt_nop = 4;
constexpr uint32_t fdt_max_size = 1u << 20;

uint32_t big_endian(const volatile uint8_t* at) {
  return static_cast<uint32_t>(at[0]) << 24 | static_cast<uint32_t>(at[1]) << 16 |
         static_cast<uint32_t>(at[2]) << 8 | at[3];
}

bool equal(const volatile uint8_t* text, const char* wanted) {
  for (; *wanted != '\0'; ++text, ++wanted) {
    if (*text != static_cast<uint8_t>(*wanted)) return false;
  }
  return *text == 0;
}

// The value of the first `bootargs` property and its length, or null.
const volatile uint8_t* find_bootargs(const volatile uint8_t* dtb, uint32_t& length) {
  if (dtb == nullptr || big_endian(dtb) != fdt_magic) return nullptr;
  const uint32_t total = big_endian(dtb + 4), structure = big_endian(dtb + 8);
  const uint32_t strings = big_endian(dtb + 12), structure_size = big_endian(dtb + 36);
  if (total > fdt_max_size || structure > total || structure_size > total - structure) return nullptr;
  for (uint32_t at = structure; at + 4 <= structure + structure_size;) {
    const uint32_t token = big_endian(dtb + at);
    at += 4;
    if (token == fdt_begin_node) {
      while (at < total && dtb[at] != 0) ++at;
      at = (at + 4) & ~3u;  // the name's terminator, then padding to 4
    } else if (token == fdt_prop) {
      const uint32_t size = big_endian(dtb + at), name = big_endian(dtb + at + 4);
      if (strings + name < total && equal(dtb + strings + name, "bootargs")) {
        length = size;
        return dtb + at + 8;
      }
      at = (at + 8 + size + 3) & ~3u;
    } else if (token != fdt_end_node && token != fdt_nop) {
      return nullptr;  // FDT_END or a token this reader does not know
    }
  }
  return nullptr;
}

// `KEY=N` (decimal) among the space-separated words of `text`, else `fallback`.
uint32_t option(const volatile uint8_t* text, uint32_t length, const char* key, uint32_t fallback) {
  for (uint32_t word = 0; word < length;) {
    uint32_t at = word;
    const char* k = key;
    while (*k != '\0' && at < length && text[at] == static_cast<uint8_t>(*k)) ++at, ++k;
    if (*k == '\0' && at < length && text[at] == '=') {
      uint32_t value = 0;
      bool digits = false;
      for (++at; at < length && text[at] >= '0' && text[at] <= '9'; ++at, digits = true) {
        value = value * 10 + (text[at] - '0');
      }
      if (digits) return value;
    }
    while (word < length && text[word] != ' ' && text[word] != 0) ++word;
    ++word;
  }
  return fallback;
}

}  // namespace

extern "C" void heartbeat_main(const volatile uint8_t* dtb) {
  uint32_t length = 0;
  const volatile uint8_t* bootargs = find_bootargs(dtb, length);
  const uint32_t beats = option(bootargs, bootargs ? length : 0, "heartbeat.beats", default_beats);
  const uint32_t period_ms = option(bootargs, bootargs ? length : 0, "heartbeat.period-ms", default_period_ms);
  const uint64_t period = counter_frequency() / 1000 * (period_ms == 0 ? default_period_ms : period_ms);
  const bool sleeps = beats == 0;
  if (sleeps) enable_timer_interrupt();
  uint64_t next = counter();
  uint64_t worst_lateness = 0;
  for (uint32_t beat = 1; beats == 0 || beat <= beats; ++beat) {
    put_text("heartbeat ");
    put_decimal(beat);
    put_text("\n");
    next += period;
    const uint64_t now = sleeps ? sleep_until(next) : poll_until(next);
    if (now - next > worst_lateness) worst_lateness = now - next;
    if (stop_requested()) break;
  }
  put_text("beat lateness max-us ");
  put_decimal(static_cast<uint32_t>(worst_lateness * 1000000 / counter_frequency()));
  put_text("\nheartbeat done\n");
  psci_hvc(psci_system_off);
}
