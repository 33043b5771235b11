#include <doctest/doctest.h>

#include <climits>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/lib/runtime.hpp"

using namespace bulkhead;

TEST_CASE("runtime: memory routines match libc") {
  unsigned char a[32], b[32];
  for (int i = 0; i < 32; ++i) a[i] = static_cast<unsigned char>(i * 7);
  rt::copy(b, a, sizeof(a));
  CHECK(std::memcmp(a, b, sizeof(a)) == 0);
  rt::fill(b, 0xab, 5);
  CHECK(b[0] == 0xab);
  CHECK(b[4] == 0xab);
  CHECK(b[5] == a[5]);
  CHECK(rt::compare(a, b, 32) < 0);  // 0x00 < 0xab
  CHECK(rt::compare(a + 5, b + 5, 27) == 0);
  CHECK(rt::compare(a, b, 0) == 0);
  CHECK(rt::find_byte(a, 14, 32) == a + 2);
  CHECK(rt::find_byte(a, 1, 32) == nullptr);
}

// The word-at-a-time paths: every length and alignment of both buffers around the word
// size, against libc, never touching a byte outside the buffers (ASan watches).
TEST_CASE("runtime: copy, fill, compare and find_byte at every alignment and length") {
  constexpr size_t room = 96;
  for (size_t from = 0; from < 9; ++from) {
    for (size_t to = 0; to < 9; ++to) {
      for (size_t count = 0; count <= 80; ++count) {
        CAPTURE(from);
        CAPTURE(to);
        CAPTURE(count);
        std::vector<unsigned char> source(from + count + 1);  // never empty: libc wants a pointer
        source.pop_back();
        for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<unsigned char>(i * 131 + 7);
        std::vector<unsigned char> copied(room, 0x5a);
        rt::copy(copied.data() + to, source.data() + from, count);
        CHECK(std::memcmp(copied.data() + to, source.data() + from, count) == 0);
        CHECK(copied[to + count] == 0x5a);
        if (to > 0) CHECK(copied[to - 1] == 0x5a);
        std::vector<unsigned char> filled(to + count + 1, 0x5a);
        rt::fill(filled.data() + to, 0xc3, count);
        CHECK(std::count(filled.begin() + static_cast<long>(to), filled.end() - 1, 0xc3) == static_cast<long>(count));
        CHECK(filled.back() == 0x5a);
        if (count != 0) {
          std::vector<unsigned char> other(source.begin() + static_cast<long>(from), source.end());
          CHECK(rt::compare(source.data() + from, other.data(), count) == 0);
          other[count - 1] ^= 0x80;
          CHECK((rt::compare(source.data() + from, other.data(), count) < 0) ==
                (std::memcmp(source.data() + from, other.data(), count) < 0));
          CHECK(rt::compare(source.data() + from, other.data(), count) != 0);
          const unsigned char last = source[from + count - 1];
          CHECK(rt::find_byte(source.data() + from, last, count) ==
                std::memchr(source.data() + from, last, count));
          CHECK(rt::find_byte(source.data() + from, 0x100 | last, count - 1) ==
                std::memchr(source.data() + from, last, count - 1));
        }
      }
    }
  }
}

TEST_CASE("runtime: move handles both overlap directions") {
  char text[] = "abcdefgh";
  rt::move(text + 2, text, 4);
  CHECK(std::string(text) == "ababcdgh");
  char other[] = "abcdefgh";
  rt::move(other, other + 2, 4);
  CHECK(std::string(other) == "cdefefgh");
}

TEST_CASE("runtime: string routines") {
  CHECK(rt::length("") == 0);
  CHECK(rt::length("pcie") == 4);
  CHECK(rt::length_bounded("pcie", 2) == 2);
  CHECK(rt::length_bounded("pcie", 10) == 4);
  const char* path = "/pcie@10000000/x";
  CHECK(rt::find_char(path, '@') == path + 5);
  CHECK(rt::find_char(path, '\0') == path + 16);
  CHECK(rt::find_char(path, '#') == nullptr);
  CHECK(rt::find_last_char(path, '/') == path + 14);
  CHECK(rt::find_last_char(path, '#') == nullptr);
  CHECK(rt::compare_strings("abc", "abc") == 0);
  CHECK(rt::compare_strings("abc", "abd") < 0);
  CHECK(rt::compare_strings("abc", "ab") > 0);
  CHECK(rt::compare_strings_bounded("abcX", "abcY", 3) == 0);
}

TEST_CASE("runtime: parse_unsigned follows strtoul") {
  const char* end = nullptr;
  CHECK(rt::parse_unsigned("42", &end, 10) == 42);
  CHECK(*end == '\0');
  CHECK(rt::parse_unsigned("  0x1F rest", &end, 0) == 0x1f);
  CHECK(std::string(end) == " rest");
  CHECK(rt::parse_unsigned("017", nullptr, 0) == 017);
  CHECK(rt::parse_unsigned("ff", nullptr, 16) == 0xff);
  CHECK(rt::parse_unsigned("0x", &end, 16) == 0);
  CHECK(std::string(end) == "x");  // "0" parsed, as strtoul does
  const char* none = "zz";
  CHECK(rt::parse_unsigned(none, &end, 10) == 0);
  CHECK(end == none);
  CHECK(rt::parse_unsigned("99999999999999999999999", nullptr, 10) == ULONG_MAX);
  CHECK(rt::parse_unsigned("-1", nullptr, 10) == ULONG_MAX);
  CHECK(rt::parse_unsigned("12", &end, 1) == 0);
  for (const char* s : {"123", " 0x7fff", "0777", "+5", "-3"}) {
    char* libc_end = nullptr;
    CHECK(rt::parse_unsigned(s, &end, 0) == std::strtoul(s, &libc_end, 0));
    CHECK(end == libc_end);
  }
}

TEST_CASE("runtime: copy_string always terminates and reports cuts") {
  char small[4];
  CHECK_FALSE(rt::copy_string(small, sizeof(small), "abcdef"));
  CHECK(std::string(small) == "abc");
  CHECK(rt::copy_string(small, sizeof(small), "ab"));
  CHECK(std::string(small) == "ab");
  CHECK_FALSE(rt::copy_string(small, 0, "x"));
}

namespace {
std::vector<std::pair<void*, size_t>> zeroed_blocks;
void record_blocks(void* blocks, size_t count) {
  std::memset(blocks, 0, count * 64);
  zeroed_blocks.emplace_back(blocks, count);
}
}  // namespace

TEST_CASE("runtime: fill hands whole aligned blocks of a large zeroing to the block zeroer") {
  rt::set_block_zeroer({record_blocks, 64});
  alignas(64) static unsigned char buffer[1024];
  for (size_t from : {size_t{0}, size_t{1}, size_t{63}, size_t{64}}) {
    for (size_t count : {size_t{0}, size_t{200}, size_t{255}, size_t{256}, size_t{300}, size_t{900}}) {
      CAPTURE(from);
      CAPTURE(count);
      std::memset(buffer, 0x77, sizeof(buffer));
      zeroed_blocks.clear();
      rt::fill(buffer + from, 0, count);
      CHECK(std::count(buffer + from, buffer + from + count, 0) == static_cast<long>(count));
      if (from > 0) CHECK(buffer[from - 1] == 0x77);
      CHECK(buffer[from + count] == 0x77);
      // Only ranges of at least 4 blocks use it, with whole aligned blocks inside the range.
      CHECK(zeroed_blocks.empty() == (count < 256));
      for (const auto& [blocks, n] : zeroed_blocks) {
        CHECK(reinterpret_cast<uintptr_t>(blocks) % 64 == 0);
        CHECK(static_cast<unsigned char*>(blocks) >= buffer + from);
        CHECK(static_cast<unsigned char*>(blocks) + n * 64 <= buffer + from + count);
      }
      std::memset(buffer, 0x77, sizeof(buffer));
      zeroed_blocks.clear();
      rt::fill(buffer + from, 0x5a, count);  // only zeroing uses it
      CHECK(zeroed_blocks.empty());
      CHECK(std::count(buffer + from, buffer + from + count, 0x5a) == static_cast<long>(count));
    }
  }
  rt::set_block_zeroer({});
}
