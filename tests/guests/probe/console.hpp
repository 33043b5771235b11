// Output on the partition's virtual PL011 and the result lines the harness parses:
//   probe: PASS <test> <detail>
//   probe: FAIL <test> <reason with expected/got values>
//   probe: done passed N failed M
// Only vCPU 0 prints; other vCPUs report through memory (smp.hpp).
#pragma once

#include <cstdint>

namespace probe {

void put(char c);
void put_text(const char* text);
void put_text(const char* text, uint32_t length);
void put_decimal(uint64_t value);
void put_signed(int64_t value);
void put_hex(uint64_t value);  // 0x..., lowercase, no padding
void end_line();

// The test whose result lines are being printed.
void set_current_test(const char* name);
const char* current_test();

// "probe: PASS <test> " / "probe: FAIL <test> " / "probe: note <test> ": the caller
// adds the detail and end_line().
void begin_pass();
void begin_fail();
void begin_note();
uint32_t passed_count();
uint32_t failed_count();

// Prints a FAIL line "<what> expected X got Y" (hex, or signed decimal) and returns false
// when the values differ.
bool expect_hex(const char* what, uint64_t got, uint64_t expected);
bool expect_signed(const char* what, int64_t got, int64_t expected);
// A FAIL line with just a reason.
void fail(const char* reason);
// A FAIL line "<what>: <kind> N not taken by vcpu V within <limit>"; returns false.
bool fail_not_taken(const char* what, const char* kind, uint32_t intid, uint32_t vcpu, const char* limit);

// Console input (the receive FIFO of the same PL011): whether a typed byte waits, and
// the byte (call only when one waits).
bool console_byte_waiting();
uint8_t console_read_byte();
// FR.TXFF (a byte written now may be lost) and FR.TXFE (the whole 32-byte TX FIFO is
// free), and a DR write without looking at either: for writers that fill the FIFO in
// batches, as Linux's interrupt-driven TX does.
bool console_transmit_full();
bool console_transmit_empty();
void put_unchecked(uint8_t byte);

}  // namespace probe

// Test bodies return on the first failed expectation (its FAIL line is already printed).
#define EXPECT_HEX(what, got, expected) \
  do {                                  \
    if (!::probe::expect_hex((what), (got), (expected))) return; \
  } while (0)
#define EXPECT_SIGNED(what, got, expected) \
  do {                                     \
    if (!::probe::expect_signed((what), (got), (expected))) return; \
  } while (0)
