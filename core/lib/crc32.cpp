#include "core/lib/crc32.hpp"

#include "core/lib/crc32_chunks.hpp"

#if defined(BULKHEAD_TARGET) && defined(__aarch64__)
// core/arch/aarch64/crc32_blocks.S: CRC32X over 64-byte blocks, 8-byte aligned.
extern "C" uint32_t bulkhead_crc32_blocks(uint32_t crc, const uint8_t* data, size_t blocks);
extern "C" uint32_t bulkhead_copy_crc32_blocks(uint32_t crc, uint8_t* to, const uint8_t* from, size_t blocks);
#endif

namespace bulkhead {
namespace {

constexpr uint32_t reflected_polynomial = 0xedb88320;

struct Crc32Table {
  uint32_t entries[256];
};

// Built at compile time: no initialisation code runs at boot.
constexpr Crc32Table make_table() {
  Crc32Table built{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t value = byte;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1) != 0 ? (value >> 1) ^ reflected_polynomial : value >> 1;
    built.entries[byte] = value;
  }
  return built;
}

constexpr Crc32Table table = make_table();
static_assert(table.entries[1] == 0x77073096 && table.entries[255] == 0x2d02ef8d);

uint32_t table_byte(uint32_t crc, uint8_t value) { return table.entries[(crc ^ value) & 0xff] ^ (crc >> 8); }

#if defined(BULKHEAD_TARGET) && defined(__aarch64__)
constinit bool instructions = false;

struct InstructionSteps {
  static uint32_t byte(uint32_t crc, uint8_t value) {
    asm(".arch_extension crc\n crc32b %w0, %w0, %w1" : "+r"(crc) : "r"(uint32_t{value}));
    return crc;
  }
  static uint32_t word(uint32_t crc, uint64_t value) {
    asm(".arch_extension crc\n crc32x %w0, %w0, %x1" : "+r"(crc) : "r"(value));
    return crc;
  }
  static uint32_t blocks(uint32_t crc, const uint8_t* data, size_t count) {
    return bulkhead_crc32_blocks(crc, data, count);
  }
  static uint32_t copy_blocks(uint32_t crc, uint8_t* to, const uint8_t* from, size_t count) {
    return bulkhead_copy_crc32_blocks(crc, to, from, count);
  }
};
#else
constexpr bool instructions = false;
#endif

}  // namespace

uint32_t crc32_by_table(const void* data, size_t size, uint32_t previous) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t value = ~previous;
  for (size_t i = 0; i < size; ++i) value = table_byte(value, bytes[i]);
  return ~value;
}

uint32_t crc32(const void* data, size_t size, uint32_t previous) {
#if defined(BULKHEAD_TARGET) && defined(__aarch64__)
  if (instructions) return ~crc32_detail::crc_chunks<InstructionSteps>(~previous, static_cast<const uint8_t*>(data), size);
#endif
  return crc32_by_table(data, size, previous);
}

uint32_t copy_crc32(void* destination, const void* source, size_t size, uint32_t previous) {
  auto* to = static_cast<uint8_t*>(destination);
  const auto* from = static_cast<const uint8_t*>(source);
#if defined(BULKHEAD_TARGET) && defined(__aarch64__)
  if (instructions) return ~crc32_detail::copy_chunks<InstructionSteps>(~previous, to, from, size);
#endif
  uint32_t value = ~previous;
  for (size_t i = 0; i < size; ++i) {
    to[i] = from[i];
    value = table_byte(value, from[i]);
  }
  return ~value;
}

bool use_crc32_instructions(bool enabled) {
#if defined(BULKHEAD_TARGET) && defined(__aarch64__)
  instructions = enabled;
  return true;
#else
  return !enabled;
#endif
}

bool crc32_instructions_in_use() { return instructions; }

}  // namespace bulkhead
