#include "core/lib/crc32.hpp"

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

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t previous) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t value = ~previous;
  for (size_t i = 0; i < size; ++i) value = table.entries[(value ^ bytes[i]) & 0xff] ^ (value >> 8);
  return ~value;
}

}  // namespace bulkhead
