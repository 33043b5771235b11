// The held boot report: lines wait in memory, then go out in order.
#include "core/lib/held_lines.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace bulkhead;

namespace {

struct Device final : log::LineSink {
  std::vector<std::string> lines;
  int flushes = 0;
  void write_line(const char* text, size_t length) override { lines.emplace_back(text, length); }
  void flush_output() override { ++flushes; }
};

}  // namespace

TEST_CASE("held lines: nothing reaches the device before the flush, then all of it in order") {
  Device device;
  alignas(8) char storage[256];
  HeldLines<Device> held;
  held.hold(&device, storage, sizeof(storage));
  held.write_line("bulkhead: a\n", 12);
  held.write_line("bulkhead: bc\n", 13);
  held.write_line("", 0);
  CHECK(device.lines.empty());
  CHECK(held.holding());
  held.flush_output();
  CHECK(device.lines == std::vector<std::string>{"bulkhead: a\n", "bulkhead: bc\n", ""});
  CHECK(device.flushes == 1);
  CHECK_FALSE(held.holding());
  held.write_line("after\n", 6);  // released: straight through
  CHECK(device.lines.back() == "after\n");
  CHECK(held.held_bytes() == 0);
}

TEST_CASE("held lines: a full store writes out what it holds first, a line larger than it goes straight out") {
  Device device;
  alignas(8) char storage[48];  // one 8-byte length and up to 40 bytes of text
  HeldLines<Device> held;
  held.hold(&device, storage, sizeof(storage));
  const std::string first(20, 'x');
  const std::string second(30, 'y');
  const std::string huge(100, 'z');
  held.write_line(first.data(), first.size());
  CHECK(device.lines.empty());
  held.write_line(second.data(), second.size());  // does not fit beside the first
  CHECK(device.lines == std::vector<std::string>{first});
  held.write_line(huge.data(), huge.size());  // never fits: the held one, then it
  CHECK(device.lines == std::vector<std::string>{first, second, huge});
  CHECK(held.holding());
  held.flush_output();
  CHECK(device.lines.size() == 3);
}

TEST_CASE("held lines: without a device lines are dropped, without storage they go straight out") {
  HeldLines<Device> unattached;
  unattached.write_line("x\n", 2);
  unattached.flush_output();
  Device device;
  HeldLines<Device> no_storage;
  no_storage.hold(&device, nullptr, 0);
  CHECK_FALSE(no_storage.holding());
  no_storage.write_line("y\n", 2);
  CHECK(device.lines == std::vector<std::string>{"y\n"});
}
