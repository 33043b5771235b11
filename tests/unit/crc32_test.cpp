#include "core/lib/crc32.hpp"

#include "core/lib/crc32_chunks.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using bulkhead::crc32;

TEST_CASE("crc32: standard check values") {
  const std::string check = "123456789";
  CHECK(crc32(check.data(), check.size()) == 0xcbf43926u);  // the catalogue's CRC-32/ISO-HDLC
  CHECK(crc32(nullptr, 0) == 0u);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(crc32(fox.data(), fox.size()) == 0x414fa339u);
  const std::vector<uint8_t> zeros(32, 0);
  CHECK(crc32(zeros.data(), zeros.size()) == 0x190a55adu);
}

TEST_CASE("crc32: continuing over pieces equals one pass") {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint32_t whole = crc32(data.data(), data.size());
  for (size_t split : {size_t{0}, size_t{1}, size_t{499}, size_t{1000}}) {
    CHECK(crc32(data.data() + split, data.size() - split, crc32(data.data(), split)) == whole);
  }
}

TEST_CASE("crc32: every single-bit flip changes the value") {
  std::vector<uint8_t> data(64, 0x5a);
  const uint32_t original = crc32(data.data(), data.size());
  for (size_t bit = 0; bit < data.size() * 8; ++bit) {
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK(crc32(data.data(), data.size()) != original);
    data[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

// ---- The instruction path, on the host: a bit-level model of CRC32B/CRC32X as the Arm
// ARM's pseudocode defines them, driving the same walk (crc32_chunks.hpp) the target
// runs with the real instructions.
namespace {

uint64_t bit_reverse(uint64_t value, unsigned bits) {
  uint64_t reversed = 0;
  for (unsigned i = 0; i < bits; ++i) reversed |= ((value >> i) & 1) << (bits - 1 - i);
  return reversed;
}

// CRC32<B|X>(acc, val): BitReverse(Poly32Mod2(BitReverse(acc):Zeros(size) EOR
// BitReverse(val):Zeros(32), 0x04C11DB7)).
uint32_t crc32_instruction(uint32_t acc, uint64_t value, unsigned size) {
  constexpr unsigned __int128 polynomial = 0x04c11db7;
  unsigned __int128 data = static_cast<unsigned __int128>(bit_reverse(acc, 32)) << size;
  data ^= static_cast<unsigned __int128>(bit_reverse(value, size)) << 32;
  for (unsigned i = 32 + size - 1; i >= 32; --i) {
    if (((data >> i) & 1) != 0) data ^= polynomial << (i - 32);
  }
  return static_cast<uint32_t>(bit_reverse(static_cast<uint32_t>(data), 32));
}

struct ModelSteps {
  static uint32_t byte(uint32_t crc, uint8_t value) { return crc32_instruction(crc, value, 8); }
  static uint32_t word(uint32_t crc, uint64_t value) { return crc32_instruction(crc, value, 64); }
  static uint32_t blocks(uint32_t crc, const uint8_t* data, size_t count) {
    REQUIRE(reinterpret_cast<uintptr_t>(data) % 8 == 0);
    for (size_t i = 0; i < count * 8; ++i) crc = word(crc, bulkhead::crc32_detail::load_word(data + 8 * i));
    return crc;
  }
  static uint32_t copy_blocks(uint32_t crc, uint8_t* to, const uint8_t* from, size_t count) {
    REQUIRE(reinterpret_cast<uintptr_t>(to) % 8 == 0);
    std::memcpy(to, from, count * 64);
    return blocks(crc, from, count);
  }
};

uint32_t model_crc32(const void* data, size_t size) {
  return ~bulkhead::crc32_detail::crc_chunks<ModelSteps>(~0u, static_cast<const uint8_t*>(data), size);
}

}  // namespace

TEST_CASE("crc32: the CRC32 instructions' model gives the catalogue's check values") {
  const std::string check = "123456789";
  CHECK(model_crc32(check.data(), check.size()) == 0xcbf43926u);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(model_crc32(fox.data(), fox.size()) == 0x414fa339u);
  CHECK(model_crc32(nullptr, 0) == 0u);
  // One step of each width against the table, from a few accumulators.
  for (uint32_t acc : {0u, 0xffffffffu, 0x12345678u}) {
    const uint8_t bytes[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    CHECK(~crc32_instruction(~acc, bytes[0], 8) == bulkhead::crc32_by_table(bytes, 1, acc));
    CHECK(~crc32_instruction(~acc, bulkhead::crc32_detail::load_word(bytes), 64) == bulkhead::crc32_by_table(bytes, 8, acc));
  }
}

TEST_CASE("crc32: the instruction walk equals the table at every length and alignment") {
  std::vector<uint8_t> data(400);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 151 + 13);
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t size = 0; offset + size <= 300; size += (size < 80 ? 1 : 17)) {
      CAPTURE(offset);
      CAPTURE(size);
      const uint32_t expected = bulkhead::crc32_by_table(data.data() + offset, size);
      CHECK(model_crc32(data.data() + offset, size) == expected);
      for (size_t to_offset : {size_t{0}, offset, offset + 4}) {
        std::vector<uint8_t> copy(size + 24, 0xee);
        const uint32_t copied = ~bulkhead::crc32_detail::copy_chunks<ModelSteps>(~0u, copy.data() + to_offset % 8,
                                                                                 data.data() + offset, size);
        CHECK(copied == expected);
        CHECK(std::memcmp(copy.data() + to_offset % 8, data.data() + offset, size) == 0);
        CHECK(copy[to_offset % 8 + size] == 0xee);
      }
    }
  }
}

TEST_CASE("crc32: copy_crc32 copies and checks in one pass") {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  std::vector<uint8_t> copy(data.size() + 3);
  CHECK(bulkhead::copy_crc32(copy.data() + 3, data.data(), data.size()) == crc32(data.data(), data.size()));
  CHECK(std::memcmp(copy.data() + 3, data.data(), data.size()) == 0);
  CHECK(bulkhead::copy_crc32(copy.data(), data.data() + 10, 20, crc32(data.data(), 10)) == crc32(data.data(), 30));
}

TEST_CASE("crc32: the instructions are used only where the ID register has them and the build can") {
  using bulkhead::IdAa64Isar0;
  CHECK_FALSE(IdAa64Isar0{0}.has_crc32());
  CHECK(IdAa64Isar0{0x10000}.has_crc32());
  CHECK(IdAa64Isar0{0x0000000000011120}.has_crc32());  // QEMU's cortex-a57
  CHECK_FALSE(IdAa64Isar0{0xfffffffffff0ffff}.has_crc32());
  // The host build has only the table: asking for the instructions is refused.
  CHECK_FALSE(bulkhead::use_crc32_instructions(true));
  CHECK_FALSE(bulkhead::crc32_instructions_in_use());
  CHECK(bulkhead::use_crc32_instructions(false));
  const std::string check = "123456789";
  CHECK(crc32(check.data(), check.size()) == 0xcbf43926u);
}
