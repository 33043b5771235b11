#include "console.hpp"

#include "arch.hpp"

namespace probe {
namespace {

constexpr uint64_t uart_base = 0x09000000;  // partitions/guest_layout.hpp: virtual UART
constexpr uint64_t uart_dr = 0x00;
constexpr uint64_t uart_fr = 0x18;
constexpr uint32_t uart_fr_rxfe = 1u << 4;
constexpr uint32_t uart_fr_txff = 1u << 5;
constexpr uint32_t uart_fr_txfe = 1u << 7;

const char* test_name = "none";
uint32_t passes = 0;
uint32_t failures = 0;

void begin(const char* kind) {
  put_text("probe: ");
  put_text(kind);
  put(' ');
  put_text(test_name);
  put(' ');
}

}  // namespace

void put(char c) {
  while ((read32(uart_base + uart_fr) & uart_fr_txff) != 0) {
  }
  write32(uart_base + uart_dr, static_cast<uint8_t>(c));
}

void put_text(const char* text) {
  for (; *text != '\0'; ++text) put(*text);
}

void put_text(const char* text, uint32_t length) {
  for (uint32_t i = 0; i < length; ++i) put(text[i]);
}

void put_decimal(uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) put(digits[--n]);
}

void put_signed(int64_t value) {
  if (value < 0) {
    put('-');
    put_decimal(0 - static_cast<uint64_t>(value));
  } else {
    put_decimal(static_cast<uint64_t>(value));
  }
}

void put_hex(uint64_t value) {
  put_text("0x");
  int shift = 60;
  while (shift > 0 && ((value >> shift) & 0xf) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) put("0123456789abcdef"[(value >> shift) & 0xf]);
}

void end_line() { put('\n'); }

void set_current_test(const char* name) { test_name = name; }
const char* current_test() { return test_name; }

void begin_pass() {
  ++passes;
  begin("PASS");
}

void begin_fail() {
  ++failures;
  begin("FAIL");
}

void begin_note() { begin("note"); }
uint32_t passed_count() { return passes; }
uint32_t failed_count() { return failures; }

bool expect_hex(const char* what, uint64_t got, uint64_t expected) {
  if (got == expected) return true;
  begin_fail();
  put_text(what);
  put_text(" expected ");
  put_hex(expected);
  put_text(" got ");
  put_hex(got);
  end_line();
  return false;
}

bool expect_signed(const char* what, int64_t got, int64_t expected) {
  if (got == expected) return true;
  begin_fail();
  put_text(what);
  put_text(" expected ");
  put_signed(expected);
  put_text(" got ");
  put_signed(got);
  end_line();
  return false;
}

void fail(const char* reason) {
  begin_fail();
  put_text(reason);
  end_line();
}

bool fail_not_taken(const char* what, const char* kind, uint32_t intid, uint32_t vcpu, const char* limit) {
  begin_fail();
  put_text(what);
  put_text(": ");
  put_text(kind);
  put_text(" ");
  put_decimal(intid);
  put_text(" not taken by vcpu ");
  put_decimal(vcpu);
  put_text(" within ");
  put_text(limit);
  end_line();
  return false;
}

bool console_byte_waiting() { return (read32(uart_base + uart_fr) & uart_fr_rxfe) == 0; }
uint8_t console_read_byte() { return static_cast<uint8_t>(read32(uart_base + uart_dr)); }
bool console_transmit_full() { return (read32(uart_base + uart_fr) & uart_fr_txff) != 0; }
bool console_transmit_empty() { return (read32(uart_base + uart_fr) & uart_fr_txfe) != 0; }
void put_unchecked(uint8_t byte) { write32(uart_base + uart_dr, byte); }

}  // namespace probe
