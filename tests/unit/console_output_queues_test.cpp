#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/console/output_queues.hpp"
#include "core/console/virtual_pl011.hpp"

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

// A partition's UART as the target runs it (partitions/boot/console_runtime.cpp,
// UartDevice::access): as full as the partition's queue before every access, its
// transmitted bytes into the queue.
struct QueuedUart {
  OutputQueues& queues;
  size_t partition;
  VirtualPl011 uart;

  void sync() { uart.set_transmit_room({.offered = queues.guest_offer(partition), .accepted = queues.guest_fit(partition)}); }
  uint32_t read(uint32_t offset) {
    sync();
    return uart.read(offset, 4);
  }
  void write(uint32_t offset, uint32_t value) {
    sync();
    const WriteResult result = uart.write(offset, 4, value);
    if (result.transmitted) REQUIRE(queues.put_guest_byte(partition, result.byte));  // what the UART took fits
  }
};

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

TEST_CASE("console output queues: an item of a partition's bytes shows as a line's worth of characters at most") {
  // Bytes shown as `\xHH` take four characters each: the drainer's items stay as short on
  // the console as the longest hypervisor line, so the bound holds whatever a guest writes.
  OutputQueues q;
  std::string written;
  for (int i = 0; i < 1000; ++i) written += static_cast<char>(i % 3 == 0 ? 'a' : 0xf0 + i % 16);
  guest(q, 6, written);
  std::string seen;
  std::vector<size_t> widths;
  OutputQueues::Item item;
  while (q.next(item)) {
    REQUIRE(item.kind == Kind::guest_bytes);
    size_t shown = 0;
    for (size_t i = 0; i < item.length; ++i) shown += shown_width(static_cast<uint8_t>(item.text[i]));
    widths.push_back(shown);
    seen.append(item.text, item.length);
  }
  CHECK(seen == written);
  REQUIRE(widths.size() > 1);
  for (size_t i = 0; i < widths.size(); ++i) {
    CHECK(widths[i] <= item_characters);
    if (i + 1 < widths.size()) CHECK(widths[i] + 4 > item_characters);  // as full as the next byte allows
  }
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

TEST_CASE("console output queues: a guest writing a FIFO's worth after its UART read empty loses nothing") {
  // Linux's interrupt-driven TX (amba-pl011.c pl011_tx_chars from the IRQ) writes half a
  // FIFO per TX interrupt without looking at FR.TXFF. Here its other vCPU has the
  // hypervisor log about it between the interrupt and the writes, as much as fits, and
  // the bytes are 0xff (two bytes each in the queue) with a newline, so that the drainer's
  // items are short and room comes back a little at a time.
  OutputQueues q;
  QueuedUart u{q, 2, {}};
  u.write(pl011::imsc, pl011::int_tx);
  std::string written;
  std::string drained;
  size_t batches = 0;
  OutputQueues::Item item;
  for (int round = 0; round < 4000; ++round) {
    if ((u.read(pl011::ris) & pl011::int_tx) != 0) {
      while (line(q, 2, "bulkhead: partition c fault ipa 0x61000000 pc 0x60000810 read size 4\n")) {
      }
      for (size_t i = 0; i < VirtualPl011::tx_fifo_depth / 2; ++i) {
        const char byte = i + 1 == VirtualPl011::tx_fifo_depth / 2 ? '\n' : '\xff';
        u.write(pl011::dr, static_cast<uint8_t>(byte));
        written += byte;
      }
      ++batches;
    } else if (q.next(item) && item.kind == Kind::guest_bytes) {
      drained.append(item.text, item.length);
    }
  }
  while (q.next(item)) {
    if (item.kind == Kind::guest_bytes) drained.append(item.text, item.length);
  }
  CHECK(u.uart.tx_discarded() == 0);
  CHECK(drained == written);
  CHECK(batches > 100);  // the UART read empty again and again: slowed, not stopped
}

TEST_CASE("console output queues: a guest that fills its queue leaves room for the hypervisor's lines about it") {
  OutputQueues q;
  QueuedUart u{q, 1, {}};
  size_t bytes = 0;
  while ((u.read(pl011::fr) & pl011::fr_txff) == 0) {
    u.write(pl011::dr, 'x');
    ++bytes;
  }
  CHECK(bytes > partition_queue_bytes - line_reserve - 2 * guest_burst_reserve);  // its share, nearly all
  CHECK(bytes <= partition_queue_bytes - line_reserve);
  CHECK(q.guest_room(1));
  // A fault, the muted line and `off`, however long each: all told, none dropped.
  const std::string longest(bulkhead::log::max_line - 1, 'l');
  for (int i = 0; i < 3; ++i) CHECK(line(q, 1, longest + "\n"));
  CHECK(q.dropped_lines(1) == 0);
  CHECK((u.read(pl011::fr) & pl011::fr_txff) != 0);  // the guest still waits
}
