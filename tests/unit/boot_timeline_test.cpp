// The boot timeline's report lines and its counter conversion.
#include "core/lib/boot_timeline.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/lib/log.hpp"

using namespace bulkhead;

namespace {

struct CapturedLines final : log::LineSink {
  std::string text;
  void write_line(const char* line, size_t length) override { text.append(line, length); }
};

}  // namespace

TEST_CASE("boot timeline: one line per phase, in the order marked, with ticks and nanoseconds") {
  BootTimeline timeline;
  CHECK(timeline.mark("entry", 116));
  CHECK(timeline.mark("firmware-dt", 8298));
  CHECK(timeline.mark("start", 62500000));
  CapturedLines lines;
  log::LineSink* previous = log::set_output(&lines);
  timeline.report(62500000);
  log::set_output(previous);
  CHECK(lines.text ==
        "bulkhead: boot-phase entry ticks 116 ns 1856\n"
        "bulkhead: boot-phase firmware-dt ticks 8298 ns 132768\n"
        "bulkhead: boot-phase start ticks 62500000 ns 1000000000\n");
}

TEST_CASE("boot timeline: a partition's phase names the partition at the end of its line") {
  BootTimeline timeline;
  CHECK(timeline.mark("plan", 100));
  CHECK(timeline.mark("load", 200, "probe"));
  CHECK(timeline.mark("start", 300, "probe"));
  CapturedLines lines;
  log::LineSink* previous = log::set_output(&lines);
  timeline.report(1000000000);
  log::set_output(previous);
  CHECK(lines.text ==
        "bulkhead: boot-phase plan ticks 100 ns 100\n"
        "bulkhead: boot-phase load ticks 200 ns 200 partition probe\n"
        "bulkhead: boot-phase start ticks 300 ns 300 partition probe\n");
}

TEST_CASE("boot timeline: a full timeline refuses more phases") {
  BootTimeline timeline;
  for (size_t i = 0; i < BootTimeline::max_phases; ++i) CHECK(timeline.mark("phase", i));
  CHECK_FALSE(timeline.mark("one-too-many", 99));
  CHECK(timeline.count() == BootTimeline::max_phases);
}

TEST_CASE("boot timeline: ticks to nanoseconds is exact and never overflows") {
  CHECK(ticks_to_ns(0, 62500000) == 0);
  CHECK(ticks_to_ns(1, 62500000) == 16);
  CHECK(ticks_to_ns(3, 1000000000) == 3);
  CHECK(ticks_to_ns(7, 3) == 2333333333);  // truncated, as ticks * 1e9 / frequency
  CHECK(ticks_to_ns(UINT64_MAX, 1000000000) == UINT64_MAX);
  CHECK(ticks_to_ns(UINT64_MAX / 2, 62500000) == (UINT64_MAX / 2) / 62500000 * 1000000000 +
                                                     (UINT64_MAX / 2) % 62500000 * 1000000000 / 62500000);
  CHECK(ticks_to_ns(100, 0) == 0);  // no counter frequency: no time
}
