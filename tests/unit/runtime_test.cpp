#include <doctest/doctest.h>

#include <climits>
#include <cstring>
#include <string>

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
