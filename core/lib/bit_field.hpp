// Typed bit fields of hardware registers and in-memory descriptors: a register's fields
// are named once as Field<low, width> types and read or built through them, never with
// raw shifts and masks. Portable, constexpr.
#pragma once

#include <cstdint>

namespace bulkhead {

// The check cannot see that a class template's constants are constant expressions.
// NOLINTBEGIN(bugprone-dynamic-static-initializers)

// Bits [low, low + width) of a 64-bit word.
template <unsigned Low, unsigned Width>
struct Field {
  static_assert(Width > 0 && Low + Width <= 64);
  static constexpr unsigned low = Low;
  static constexpr unsigned width = Width;
  static constexpr uint64_t max = Width == 64 ? ~0ull : (1ull << Width) - 1;
  static constexpr uint64_t mask = max << Low;
  static constexpr uint64_t get(uint64_t word) { return (word >> Low) & max; }
  // The value placed at the field; bits beyond the field's width are dropped.
  static constexpr uint64_t put(uint64_t value) { return (value & max) << Low; }
  static constexpr uint64_t replace(uint64_t word, uint64_t value) { return (word & ~mask) | put(value); }
  static constexpr bool fits(uint64_t value) { return value <= max; }
};

// A single-bit flag.
template <unsigned Bit>
using Flag = Field<Bit, 1>;

// An address field holding bits [Low, High] of a physical address in place.
template <unsigned Low, unsigned High>
struct AddressBits {
  static_assert(Low <= High && High < 64);
  static constexpr uint64_t mask = (High == 63 ? ~0ull : (1ull << (High + 1)) - 1) & ~((1ull << Low) - 1);
  static constexpr uint64_t get(uint64_t word) { return word & mask; }
  static constexpr bool fits(uint64_t address) { return (address & ~mask) == 0; }
};

// NOLINTEND(bugprone-dynamic-static-initializers)

}  // namespace bulkhead
