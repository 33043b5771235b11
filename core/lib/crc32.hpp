// CRC-32 as in IEEE 802.3, zlib and PNG (reflected, polynomial 0xEDB88320, initial and
// final XOR 0xffffffff): the integrity check of the partition package.
//
// Two ways to compute the same value: a 256-entry table, a byte at a time (the host,
// and CPUs without the CRC32 instructions), and on the target the Armv8 CRC32B/CRC32X
// instructions, 8 bytes at a time, once the boot has seen them in ID_AA64ISAR0_EL1
// (use_crc32_instructions()). Both walk the data as crc32_chunks.hpp says.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead {

// CRC of `size` bytes. To continue over several pieces, pass the previous result as
// `previous`: crc32(b, nb, crc32(a, na)) == crc32 of a followed by b.
uint32_t crc32(const void* data, size_t size, uint32_t previous = 0);

// Copies `size` bytes and returns the CRC of the bytes copied, in one pass over them.
// The regions must not overlap.
uint32_t copy_crc32(void* destination, const void* source, size_t size, uint32_t previous = 0);

// The table path, whatever the CPU has (for tests and comparisons).
uint32_t crc32_by_table(const void* data, size_t size, uint32_t previous = 0);

// ID_AA64ISAR0_EL1.CRC32, bits [19:16]: 0b0001 when CRC32B/H/W/X and CRC32CB/.. exist.
struct IdAa64Isar0 {
  static constexpr unsigned crc32_shift = 16;
  static constexpr uint64_t crc32_mask = 0xf;
  static constexpr uint64_t crc32_implemented = 1;
  uint64_t value = 0;
  constexpr bool has_crc32() const { return ((value >> crc32_shift) & crc32_mask) >= crc32_implemented; }
};

// From now on crc32() and copy_crc32() use the CRC32 instructions, or the table again.
// Only the target build has the instructions: elsewhere a request for them is refused
// (returns false) and the table stays in use.
bool use_crc32_instructions(bool enabled);
bool crc32_instructions_in_use();

}  // namespace bulkhead
