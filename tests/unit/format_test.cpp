#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "core/lib/format.hpp"
#include "core/lib/log.hpp"

using namespace bulkhead;

namespace {
template <typename... Args>
std::string formatted(FormatString<std::type_identity_t<Args>...> f, Args... args) {
  FixedBuffer<256> buffer;
  format<Args...>(buffer, f, args...);
  return buffer.c_str();
}

struct CapturedLines final : log::LineSink {
  std::string text;
  int lines = 0;
  void write_line(const char* line, size_t length) override {
    text.append(line, length);
    ++lines;
  }
};
}  // namespace

TEST_CASE("format: integers, hex and strings") {
  CHECK(formatted("cpu {} mpidr {} online", 2u, hex(2)) == "cpu 2 mpidr 0x2 online");
  CHECK(formatted("{} {}", -5, 0) == "-5 0");
  CHECK(formatted("{}", INT64_MIN) == "-9223372036854775808");
  CHECK(formatted("{}", UINT64_MAX) == "18446744073709551615");
  CHECK(formatted("{}", hex(0x4010000000ull)) == "0x4010000000");
  CHECK(formatted("{}", hex(0x9, 4)) == "0x0009");
  CHECK(formatted("{}:{}", plain_hex(0x1b36, 4), plain_hex(0xd, 4)) == "1b36:000d");
  CHECK(formatted("{}", plain_hex(0x12345, 2)) == "12345");
  CHECK(formatted("[{}]", "text") == "[text]");
  CHECK(formatted("[{}]", static_cast<const char*>(nullptr)) == "[(null)]");
  CHECK(formatted("[{}]", Text{"abcdef", 3}) == "[abc]");
  CHECK(formatted("{} {}", true, false) == "yes no");
  CHECK(formatted("no placeholders") == "no placeholders");
  CHECK(formatted("brace { alone }") == "brace { alone }");
}

TEST_CASE("format: fixed buffer truncates and says so") {
  FixedBuffer<8> small;
  format(small, "{}", "0123456789");
  CHECK(std::string(small.c_str()) == "0123456");
  CHECK(small.truncated());
  small.clear();
  CHECK(small.size() == 0);
  CHECK_FALSE(small.truncated());
}

TEST_CASE("log: facts and errors are whole prefixed lines") {
  CapturedLines captured;
  log::LineSink* previous = log::set_output(&captured);
  log::fact("ram {} size {}", hex(0x40000000), hex(0x80000000));
  log::error("{}: reg: length {} is not a multiple of {}", "/memory@40000000", 12u, 16u);
  log::set_output(previous);
  CHECK(captured.lines == 2);
  CHECK(captured.text ==
        "bulkhead: ram 0x40000000 size 0x80000000\n"
        "bulkhead: error: /memory@40000000: reg: length 12 is not a multiple of 16\n");
}

TEST_CASE("log: an overlong line is cut but still ends with a newline") {
  CapturedLines captured;
  log::LineSink* previous = log::set_output(&captured);
  std::string longer(log::max_line * 2, 'x');
  log::fact("{}", longer.c_str());
  log::set_output(previous);
  REQUIRE(captured.lines == 1);
  CHECK(captured.text.size() == log::max_line - 1);
  CHECK(captured.text.substr(captured.text.size() - 4) == "...\n");
  CHECK(captured.text.rfind("bulkhead: xxx", 0) == 0);
}

TEST_CASE("log: without an output, lines are discarded") {
  log::LineSink* previous = log::set_output(nullptr);
  log::fact("dropped {}", 1);
  log::set_output(previous);
}
