#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/console/console_mux.hpp"
#include "core/lib/log.hpp"

using namespace bulkhead;
using namespace bulkhead::console;

namespace {
// The target keeps the multiplexer as a constinit global.
constinit ConsoleMux constinit_mux;

struct CapturedOutput final : Sink {
  std::string text;
  void write(const char* data, size_t length) override { text.append(data, length); }
};

struct TwoConsoles {
  CapturedOutput output;
  ConsoleMux mux;
  TwoConsoles() {
    mux.set_output(&output);
    REQUIRE(mux.attach(0, "linux"));
    REQUIRE(mux.attach(1, "heartbeat"));
  }
  void put(size_t partition, const std::string& text) {
    for (char c : text) mux.put(partition, static_cast<uint8_t>(c));
  }
  // Bytes the input routing delivered to each partition.
  std::vector<std::string> type(const std::string& keys) {
    std::vector<std::string> delivered(max_consoles);
    for (char key : keys) {
      const InputRoute route = mux.input(static_cast<uint8_t>(key));
      if (route.count != 0) REQUIRE(route.partition < max_consoles);
      for (uint8_t i = 0; i < route.count; ++i) delivered[route.partition] += static_cast<char>(route.bytes[i]);
    }
    return delivered;
  }
};

const std::string ctrl_t(1, static_cast<char>(focus_key));
}  // namespace

TEST_CASE("console mux: each line is prefixed and emitted whole") {
  TwoConsoles consoles;
  consoles.put(0, "hello");
  CHECK(consoles.output.text.empty());  // no newline yet
  consoles.put(0, " world\n");
  consoles.put(1, "heartbeat 1\n");
  consoles.put(0, "\n");  // empty lines are kept
  CHECK(consoles.output.text == "[linux] hello world\n[heartbeat] heartbeat 1\n[linux] \n");
  CHECK(constinit_mux.focused() == InputRoute::nobody);
}

TEST_CASE("console mux: two partitions interleaved byte by byte give two whole lines") {
  TwoConsoles consoles;
  const std::string first = "[    0.000000] Booting Linux on physical CPU 0x0\n";
  const std::string second = "heartbeat 7\n";
  REQUIRE(first.size() > second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    consoles.mux.put(0, static_cast<uint8_t>(first[i]));
    if (i < second.size()) consoles.mux.put(1, static_cast<uint8_t>(second[i]));
  }
  CHECK(consoles.output.text == "[heartbeat] heartbeat 7\n[linux] " + first);
}

TEST_CASE("console mux: carriage returns, control bytes, escapes and backspace") {
  TwoConsoles consoles;
  consoles.put(0, "crlf\r\n");
  consoles.put(0, std::string("bell\a tab\there \x7f high \xc3\xa9\n"));
  consoles.put(0, "\x1b[1;32mgreen\x1b[0m \x1b(Bcharset \x1b" "7saved\n");
  consoles.put(0, "abc\b\b\bxyz\b\b\b\b\bq\n");
  consoles.put(0, "cut \x1b[3\n");  // a control byte ends an unfinished sequence
  CHECK(consoles.output.text ==
        "[linux] crlf\n"
        "[linux] bell\\x07 tab\there \\x7f high \\xc3\\xa9\n"
        "[linux] green charset saved\n"
        "[linux] q\n"
        "[linux] cut \n");
}

TEST_CASE("console mux: a line longer than the buffer is split with a marker") {
  TwoConsoles consoles;
  consoles.put(0, std::string(line_capacity, 'x') + "\n");  // exactly full: not split
  CHECK(consoles.output.text == "[linux] " + std::string(line_capacity, 'x') + "\n");
  consoles.output.text.clear();
  consoles.put(0, std::string(line_capacity * 2 + 50, 'y') + "\n");
  const std::string full = "[linux] " + std::string(line_capacity, 'y') + "\\\n";
  CHECK(consoles.output.text == full + full + "[linux] " + std::string(50, 'y') + "\n");
}

TEST_CASE("console mux: the buffer holds 200 characters as shown, so `\\xHH` lines are split sooner") {
  // No physical line is longer than line_capacity characters and the prefix, whatever
  // bytes a partition writes: what a line costs the shared UART stays bounded.
  TwoConsoles consoles;
  const size_t per_line = line_capacity / 4;
  consoles.put(0, "ab\x01\b" + std::string(per_line, '\xff') + "\n");  // the erased \x01 gives its room back
  std::string shown_ff;
  for (size_t i = 0; i < per_line; ++i) shown_ff += "\\xff";
  const std::string first = "[linux] ab" + shown_ff.substr(0, (per_line - 1) * 4) + "\\\n";
  CHECK(consoles.output.text == first + "[linux] \\xff\n");
}

TEST_CASE("console mux: flush emits a partial line once") {
  TwoConsoles consoles;
  consoles.put(1, "heartbeat 3");
  consoles.mux.flush(1);
  consoles.mux.flush(1);
  consoles.mux.flush(0);
  CHECK(consoles.output.text == "[heartbeat] heartbeat 3\n");
  consoles.put(1, "\x1b[");  // flush also forgets a half-received escape sequence
  consoles.mux.flush(1);
  consoles.put(1, "m\n");
  CHECK(consoles.output.text == "[heartbeat] heartbeat 3\n[heartbeat] m\n");
}

TEST_CASE("console mux: attach checks index and name, bytes without a console are ignored") {
  CapturedOutput output;
  ConsoleMux mux;
  mux.set_output(&output);
  CHECK_FALSE(mux.attach(max_consoles, "x"));
  CHECK_FALSE(mux.attach(0, ""));
  CHECK_FALSE(mux.attach(0, nullptr));
  CHECK_FALSE(mux.attach(0, "sixteen-chars-xx"));
  CHECK_FALSE(mux.attach(0, "two words"));
  CHECK(mux.focused() == InputRoute::nobody);
  CHECK(mux.input('a').count == 0);  // no console: input goes nowhere
  CHECK(mux.attach(2, "fifteen-chars-x"));
  CHECK_FALSE(mux.attach(2, "again"));
  CHECK(mux.focused() == 2);
  mux.put(3, 'a');
  mux.put(3, '\n');
  mux.put(max_consoles + 5, '\n');
  CHECK(output.text.empty());
}

TEST_CASE("console mux: input goes to the focused console, ctrl-t n cycles the focus") {
  CapturedOutput output;
  ConsoleMux mux;
  mux.set_output(&output);
  REQUIRE(mux.attach(0, "linux"));
  REQUIRE(mux.attach(2, "rtos"));  // partition 1 has no console and never takes the focus
  REQUIRE(mux.attach(5, "heartbeat"));
  CHECK(mux.focused() == 0);
  InputRoute route = mux.input('l');
  CHECK(route.partition == 0);
  CHECK(route.count == 1);
  CHECK(route.bytes[0] == 'l');

  CHECK(mux.input(focus_key).count == 0);  // swallowed until the next key
  CHECK(mux.input(focus_next).count == 0);
  CHECK(mux.focused() == 2);
  CHECK(output.text == "bulkhead: console focus rtos\n");
  route = mux.input('x');
  CHECK(route.partition == 2);
  mux.input(focus_key);
  mux.input(focus_next);
  CHECK(mux.focused() == 5);
  mux.input(focus_key);
  mux.input(focus_next);
  CHECK(mux.focused() == 0);  // wraps around
  CHECK(output.text ==
        "bulkhead: console focus rtos\nbulkhead: console focus heartbeat\nbulkhead: console focus linux\n");

  // Ctrl-T Ctrl-T sends one Ctrl-T; Ctrl-T and another key send both.
  mux.input(focus_key);
  route = mux.input(focus_key);
  CHECK(route.partition == 0);
  CHECK(route.count == 1);
  CHECK(route.bytes[0] == focus_key);
  mux.input(focus_key);
  route = mux.input('c');
  CHECK(route.count == 2);
  CHECK(route.bytes[0] == focus_key);
  CHECK(route.bytes[1] == 'c');
  CHECK(mux.input('c').count == 1);  // the sequence is over
}

TEST_CASE("console mux: detaching the focused console moves the focus") {
  TwoConsoles consoles;
  consoles.put(0, "last words");
  consoles.mux.detach(0);
  CHECK_FALSE(consoles.mux.attached(0));
  CHECK(consoles.mux.focused() == 1);
  CHECK(consoles.output.text == "[linux] last words\nbulkhead: console focus heartbeat\n");
  consoles.put(0, "gone\n");
  consoles.mux.detach(1);
  CHECK(consoles.mux.focused() == InputRoute::nobody);
  CHECK(consoles.output.text == "[linux] last words\nbulkhead: console focus heartbeat\nbulkhead: console focus none\n");
  CHECK(consoles.type("abc")[0].empty());
  // A console attached later takes the free focus.
  CHECK(consoles.mux.attach(0, "linux"));
  CHECK(consoles.mux.focused() == 0);
}

TEST_CASE("console mux: hypervisor lines take the same path") {
  TwoConsoles consoles;
  consoles.put(1, "half");
  log::LineSink* previous = log::set_output(&consoles.mux);
  log::fact("partition {} fault ipa {}", "linux", hex(0x8000000));
  log::set_output(previous);
  consoles.mux.write_line("no newline", 10);
  consoles.put(1, "\n");
  CHECK(consoles.output.text == "bulkhead: partition linux fault ipa 0x8000000\nno newline\n[heartbeat] half\n");
}

TEST_CASE("console mux: once someone types, the focused console echoes live") {
  TwoConsoles consoles;
  consoles.put(0, "~ # ");
  CHECK(consoles.output.text.empty());  // scripted runs: whole lines only
  CHECK(consoles.type("l")[0] == "l");
  CHECK(consoles.output.text == "[linux] ~ # ");  // the prompt shows as soon as someone types
  consoles.put(0, "l");
  consoles.type("s");
  consoles.put(0, "s");
  CHECK(consoles.output.text == "[linux] ~ # ls");

  // Another partition's line ends the live line, then the live line is redrawn whole.
  consoles.put(1, "heartbeat 9\n");
  CHECK(consoles.output.text == "[linux] ~ # ls\n[heartbeat] heartbeat 9\n[linux] ~ # ls");
  consoles.output.text.clear();

  // Backspace echo erases on screen; escaped bytes take four columns.
  consoles.put(0, "\x01\b\b");
  CHECK(consoles.output.text == "\\x01\b \b\b \b\b \b\b \b\b \b");
  consoles.output.text.clear();
  consoles.put(0, "\r\n");
  consoles.put(0, "bin  dev  etc\n");
  CHECK(consoles.output.text == "\n[linux] bin  dev  etc\n");
  consoles.output.text.clear();

  // Unfocused partitions stay line-buffered; switching the focus shows its partial line.
  consoles.put(1, "partial");
  CHECK(consoles.output.text.empty());
  consoles.type(ctrl_t + "n");
  CHECK(consoles.output.text == "bulkhead: console focus heartbeat\n[heartbeat] partial");
  consoles.put(0, "~ # ");  // the old focus is line-buffered again
  consoles.put(1, "!\n");
  CHECK(consoles.output.text == "bulkhead: console focus heartbeat\n[heartbeat] partial!\n");
  consoles.output.text.clear();

  // A live line that outgrows the buffer is split like any other.
  consoles.put(1, std::string(line_capacity + 1, 'z'));
  CHECK(consoles.output.text == "[heartbeat] " + std::string(line_capacity, 'z') + "\\\n[heartbeat] z");
  consoles.mux.flush(1);
  CHECK(consoles.output.text.back() == '\n');
}

TEST_CASE("console mux: without an output everything is discarded safely") {
  ConsoleMux mux;
  REQUIRE(mux.attach(0, "linux"));
  for (char c : std::string("text\n")) mux.put(0, static_cast<uint8_t>(c));
  mux.input('a');
  mux.put(0, 'b');
  mux.flush(0);
  mux.write_line("x\n", 2);
  mux.detach(0);
  CHECK(mux.focused() == InputRoute::nobody);
}
