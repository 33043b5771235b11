#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/console/output_queues.hpp"

using namespace bulkhead::console;
using Kind = OutputQueues::Item::Kind;

namespace {
// The target keeps them as a constinit global: no constructor may run.
constinit OutputQueues constinit_queues;

void guest(OutputQueues& q, size_t partition, const std::string& text) {
  for (char c : text) REQUIRE(q.put_guest_byte(partition, static_cast<uint8_t>(c)));
}

bool line(OutputQueues& q, size_t source, const std::string& text) { return q.put_line(source, text.data(), text.size()); }

// One drained item as text: "P<source> bytes|line|flush|dropped <content>".
std::string describe(const OutputQueues::Item& item) {
  const std::string who = item.source == OutputQueues::hypervisor ? "H" : "P" + std::to_string(item.source);
  switch (item.kind) {
    case Kind::guest_bytes: return who + " bytes " + std::string(item.text, item.length);
    case Kind::line: return who + " line " + std::string(item.text, item.length);
    case Kind::flush: return who + " flush";
    case Kind::detach: return who + " detach";
    case Kind::dropped: return who + " dropped " + std::to_string(item.dropped);
    case Kind::none: break;
  }
  return "none";
}

std::vector<std::string> drain(OutputQueues& q) {
  std::vector<std::string> out;
  OutputQueues::Item item;
  while (q.next(item)) out.push_back(describe(item));
  CHECK(q.empty());
  return out;
}
}  // namespace

TEST_CASE("console output queues: start empty, constinit") {
  OutputQueues::Item item;
  CHECK(constinit_queues.empty());
  CHECK_FALSE(constinit_queues.next(item));
  CHECK(item.kind == Kind::none);
}

TEST_CASE("console output queues: a partition's bytes come one line at a time, partial lines as they are") {
  OutputQueues q;
  guest(q, 0, "one\ntwo\nthr");
  const std::vector<std::string> expected = {"P0 bytes one\n", "P0 bytes two\n", "P0 bytes thr"};
  CHECK(drain(q) == expected);
}

TEST_CASE("console output queues: every byte value passes, 0xff included") {
  OutputQueues q;
  std::string all;
  for (int b = 0; b < 256; ++b) {
    if (b != '\n') all += static_cast<char>(b);
  }
  guest(q, 3, all);
  std::string seen;
  OutputQueues::Item item;
  while (q.next(item)) {
    REQUIRE(item.kind == Kind::guest_bytes);
    seen.append(item.text, item.length);
  }
  CHECK(seen == all);
}

TEST_CASE("console output queues: markers keep their place behind the bytes before them") {
  OutputQueues q;
  guest(q, 1, "prompt$ ");
  q.flush_guest(1);
  guest(q, 1, "after\n");
  q.detach(1);
  const std::vector<std::string> expected = {"P1 bytes prompt$ ", "P1 flush", "P1 bytes after\n", "P1 detach"};
  CHECK(drain(q) == expected);
}

TEST_CASE("console output queues: round robin by line between partitions and the hypervisor") {
  OutputQueues q;
  guest(q, 0, "a1\na2\na3\n");
  guest(q, 2, "c1\n");
  CHECK(line(q, OutputQueues::hypervisor, "bulkhead: h1\n"));
  CHECK(line(q, OutputQueues::hypervisor, "bulkhead: h2\n"));
  const std::vector<std::string> expected = {"P0 bytes a1\n", "P2 bytes c1\n", "H line bulkhead: h1\n",
                                             "P0 bytes a2\n", "H line bulkhead: h2\n", "P0 bytes a3\n"};
  CHECK(drain(q) == expected);
}

TEST_CASE("console output queues: a partition's bytes and the lines about it keep their order") {
  OutputQueues q;
  guest(q, 0, "g1\ng2 partial");
  CHECK(line(q, 0, "bulkhead: partition a fault 1\n"));
  guest(q, 0, " rest\n");
  CHECK(line(q, 0, "bulkhead: partition a off\n"));
  q.detach(0);
  const std::vector<std::string> expected = {
      "P0 bytes g1\n", "P0 bytes g2 partial", "P0 line bulkhead: partition a fault 1\n", "P0 bytes  rest\n",
      "P0 line bulkhead: partition a off\n", "P0 detach"};
  CHECK(drain(q) == expected);
}

TEST_CASE("console output queues: a flooding partition delays another's line by one line of its own at most") {
  OutputQueues q;
  // Partition 0 floods its bytes and its hypervisor lines until both queues are full.
  while (q.guest_room(0)) REQUIRE(q.put_guest_byte(0, 'x'));
  while (line(q, 0, "bulkhead: partition flood fault ipa 0x0\n")) {
  }
  guest(q, 5, "witness\n");
  OutputQueues::Item item;
  size_t before = 0;
  for (;;) {
    REQUIRE(q.next(item));
    if (item.source == 5) break;
    CHECK(item.source == 0);
    ++before;
  }
  CHECK(describe(item) == "P5 bytes witness\n");
  CHECK(before <= 1);
}

TEST_CASE("console output queues: the producer sees no room rather than losing a byte") {
  OutputQueues q;
  size_t taken = 0;
  while (q.guest_room(4)) {
    REQUIRE(q.put_guest_byte(4, 'y'));
    ++taken;
  }
  // The last byte found room for itself escaped and for a flush and a detach marker.
  CHECK(taken == partition_queue_bytes - 5);
  CHECK_FALSE(q.put_guest_byte(4, 'z'));
  CHECK_FALSE(line(q, 4, "bulkhead: partition e fault\n"));
  q.flush_guest(4);  // both still fit
  q.detach(4);
  std::vector<std::string> tail;
  OutputQueues::Item item;
  while (q.next(item)) tail.push_back(describe(item));
  REQUIRE(tail.size() >= 3);
  CHECK(tail[tail.size() - 2] == "P4 flush");
  CHECK(tail.back() == "P4 detach");
  CHECK(std::count(tail.begin(), tail.end(), "P4 dropped 1") == 1);  // the line, once half is out
  CHECK(q.guest_room(4));
}

TEST_CASE("console output queues: dropped lines are counted and told once the queue is half empty") {
  OutputQueues q;
  const std::string text = "bulkhead: partition a unhandled gicd offset 0xffc read size 4\n";
  size_t queued = 0;
  while (line(q, 2, text)) ++queued;
  CHECK_FALSE(line(q, 2, text));
  CHECK_FALSE(line(q, 2, text));
  CHECK(q.dropped_lines(2) == 3);
  OutputQueues::Item item;
  size_t lines = 0;
  bool told = false;
  while (q.next(item)) {
    if (item.kind == Kind::line) ++lines;
    if (item.kind == Kind::dropped) {
      CHECK(item.dropped == 3);
      CHECK(item.source == 2);
      CHECK_FALSE(told);
      told = true;
      CHECK(lines >= queued / 2);  // not before the queue has drained to half
    }
  }
  CHECK(told);
  CHECK(lines == queued);
  CHECK(q.dropped_lines(2) == 0);
}

TEST_CASE("console output queues: bad sources and sizes are refused") {
  OutputQueues q;
  CHECK_FALSE(q.put_guest_byte(max_consoles, 'a'));
  CHECK_FALSE(q.guest_room(max_consoles));
  q.flush_guest(max_consoles);
  CHECK_FALSE(line(q, OutputQueues::hypervisor + 1, "x\n"));
  CHECK_FALSE(line(q, 0, ""));
  CHECK_FALSE(line(q, 0, std::string(bulkhead::log::max_line + 1, 'a')));
  CHECK(q.empty());
  CHECK(line(q, 0, std::string(bulkhead::log::max_line, 'a')));
}
