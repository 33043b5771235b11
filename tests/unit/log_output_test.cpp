// log's output seam: lines reach the installed LineSink whole, and flush_output() reaches it
// before the machine powers off (the console's queues drain then).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/lib/log.hpp"

using namespace bulkhead;

namespace {
class RecordingSink final : public log::LineSink {
 public:
  void write_line(const char* text, size_t length) override { lines.emplace_back(text, length); }
  void flush_output() override { ++flushes; }
  std::vector<std::string> lines;
  int flushes = 0;
};

// An output that writes at once: it keeps LineSink's flush_output, which has nothing to do.
class ImmediateSink final : public log::LineSink {
 public:
  void write_line(const char* text, size_t length) override { lines.emplace_back(text, length); }
  std::vector<std::string> lines;
};
}  // namespace

TEST_CASE("log output: flush_output reaches the installed output, and only it") {
  RecordingSink sink;
  log::LineSink* previous = log::set_output(&sink);
  log::fact("power-off reason {}", "test");
  log::flush_output();
  CHECK(sink.flushes == 1);
  CHECK(sink.lines == std::vector<std::string>{"bulkhead: power-off reason test\n"});
  log::set_output(nullptr);
  log::flush_output();  // no output: nothing to reach, nothing breaks
  CHECK(sink.flushes == 1);
  log::set_output(previous);
}

TEST_CASE("log output: an output that writes at once needs no flush") {
  ImmediateSink sink;
  log::LineSink* previous = log::set_output(&sink);
  log::error("partition {}: {}", "a", "x");
  log::flush_output();
  CHECK(sink.lines == std::vector<std::string>{"bulkhead: error: partition a: x\n"});
  log::set_output(previous);
}
