// The bare-metal "heartbeat" partition: proves a second partition keeps running while
// others boot, reset or fault. Prints `heartbeat N` on its virtual PL011 every 100 ms
// of virtual-counter time, then `beat lateness max-us N` (how long after a deadline it
// got to see it, at worst: a CPU taken away from it shows here) and `heartbeat done`,
// and powers its partition off.
#include <cstdint>

extern "C" int64_t psci_hvc(uint64_t function);

namespace {

constexpr uint64_t uart_base = 0x09000000;  // partitions/guest_layout.hpp: virtual_uart
constexpr uint32_t beats = 20;
constexpr uint64_t period_ms = 100;
constexpr uint64_t psci_system_off = 0x84000008;

volatile uint32_t* const uart = reinterpret_cast<volatile uint32_t*>(uart_base);

void put(char c) {
  while ((uart[0x18 / 4] & (1u << 5)) != 0) {  // transmit FIFO full
  }
  uart[0] = static_cast<uint8_t>(c);
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

}  // namespace

extern "C" void heartbeat_main() {
  const uint64_t period = counter_frequency() / 1000 * period_ms;
  uint64_t next = counter();
  uint64_t worst_lateness = 0;
  for (uint32_t beat = 1; beat <= beats; ++beat) {
    put_text("heartbeat ");
    put_decimal(beat);
    put_text("\n");
    next += period;
    uint64_t now = counter();
    while (now < next) now = counter();
    if (now - next > worst_lateness) worst_lateness = now - next;
  }
  put_text("beat lateness max-us ");
  put_decimal(static_cast<uint32_t>(worst_lateness * 1000000 / counter_frequency()));
  put_text("\nheartbeat done\n");
  psci_hvc(psci_system_off);
}
