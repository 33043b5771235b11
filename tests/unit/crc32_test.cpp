#include "core/lib/crc32.hpp"

#include <doctest/doctest.h>

#include <cstdint>
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
