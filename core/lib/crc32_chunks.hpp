// How the wide CRC-32 path walks its data, whatever computes a step: single bytes up to
// 8-byte alignment, 64-byte blocks, then 8-byte words and the last bytes. Internal to
// crc32.cpp; the unit tests drive it with a bit-level model of the CRC32 instructions.
//
// `Steps` provides, on the raw CRC register (no initial or final inversion):
//   uint32_t byte(uint32_t crc, uint8_t value);                           // CRC32B
//   uint32_t word(uint32_t crc, uint64_t value);                          // CRC32X
//   uint32_t blocks(uint32_t crc, const uint8_t* data, size_t count);     // 8-aligned, 64 bytes each
//   uint32_t copy_blocks(uint32_t crc, uint8_t* to, const uint8_t* from, size_t count);  // both 8-aligned
// A word is the 8 bytes at an address read little-endian: the order CRC32X consumes them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::crc32_detail {

constexpr size_t block_bytes = 64;
constexpr size_t word_bytes = 8;

inline uint64_t load_word(const uint8_t* at) {
  uint64_t value = 0;
  for (size_t i = 0; i < word_bytes; ++i) value |= uint64_t{at[i]} << (8 * i);
  return value;
}

inline bool aligned(const void* at) { return (reinterpret_cast<uintptr_t>(at) & (word_bytes - 1)) == 0; }

template <typename Steps>
uint32_t crc_chunks(uint32_t crc, const uint8_t* data, size_t size) {
  for (; size != 0 && !aligned(data); --size) crc = Steps::byte(crc, *data++);
  const size_t blocks = size / block_bytes;
  if (blocks != 0) {
    crc = Steps::blocks(crc, data, blocks);
    data += blocks * block_bytes;
    size -= blocks * block_bytes;
  }
  for (; size >= word_bytes; size -= word_bytes, data += word_bytes) crc = Steps::word(crc, load_word(data));
  for (; size != 0; --size) crc = Steps::byte(crc, *data++);
  return crc;
}

// Copies and checks in one pass. When the two addresses differ modulo 8 no word is
// aligned at both ends, and it goes a byte at a time.
template <typename Steps>
uint32_t copy_chunks(uint32_t crc, uint8_t* to, const uint8_t* from, size_t size) {
  const bool words = ((reinterpret_cast<uintptr_t>(to) ^ reinterpret_cast<uintptr_t>(from)) & (word_bytes - 1)) == 0;
  for (; size != 0 && (!words || !aligned(from)); --size) {
    *to++ = *from;
    crc = Steps::byte(crc, *from++);
  }
  const size_t blocks = size / block_bytes;
  if (blocks != 0) {
    crc = Steps::copy_blocks(crc, to, from, blocks);
    to += blocks * block_bytes;
    from += blocks * block_bytes;
    size -= blocks * block_bytes;
  }
  for (; size != 0; --size) {
    *to++ = *from;
    crc = Steps::byte(crc, *from++);
  }
  return crc;
}

}  // namespace bulkhead::crc32_detail
