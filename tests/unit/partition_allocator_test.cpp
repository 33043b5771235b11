// RAM allocation for partitions that give only memory-size: deterministic first fit,
// 2 MiB aligned, lowest address first, around the hypervisor and fixed placements.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "partition_support.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

bp::BoardDefinition board_with(std::vector<bulkhead::AddressRange> ram, std::vector<bulkhead::AddressRange> reserved) {
  bp::BoardDefinition board;
  for (const auto& range : ram) board.ram[board.ram_count++] = range;
  for (const auto& range : reserved) board.reserved[board.reserved_count++] = range;
  return board;
}

// QEMU's board with a fifth CPU: four partitions each get their own CPU besides the boot
// CPU (CPU 0, which the checker keeps for the hypervisor).
const bp::BoardDefinition& five_cpu_board() {
  static const std::unique_ptr<bp::BoardDefinition> board = [] {
    auto copy = std::make_unique<bp::BoardDefinition>(qemu_board());
    copy->cpu_mpidrs[copy->cpu_count] = static_cast<uint32_t>(copy->cpu_count);
    ++copy->cpu_count;
    return copy;
  }();
  return *board;
}

// Partition `a` on CPU 1, `b` on CPU 2, ...
std::string sized(const char* name, const char* size, const char* host_base = nullptr) {
  std::string text = std::string("    ") + name + " { cpus = <" + std::to_string(name[0] - 'a' + 1) +
                     ">; memory-size = <0x0 " + size + ">; ";
  if (host_base != nullptr) text += std::string("memory-host-base = <0x0 ") + host_base + ">; ";
  return text + "payload { format = \"raw\"; file = \"heartbeat.bin\"; }; };\n";
}

}  // namespace

TEST_CASE("partition allocator: free RAM is board RAM minus reserved, in ascending order") {
  const bp::BoardDefinition board = board_with({{0x100000000, 0x40000000}, {0x40000000, 0x40000000}},
                                               {{0x40000000, 0x1000000}, {0x50000000, 0x1000}});
  bp::SystemDescription none;
  const bp::FreeRam free = bp::free_ram(board, none);
  REQUIRE(free.count == 3);
  CHECK(free.blocks[0].base == 0x41000000);
  CHECK(free.blocks[0].size == 0xf000000);
  CHECK(free.blocks[1].base == 0x50001000);
  CHECK(free.blocks[1].end() == 0x80000000);
  CHECK(free.blocks[2].base == 0x100000000);
  CHECK(free.blocks[2].size == 0x40000000);
  CHECK(free.largest_aligned() == 0x40000000);
}

TEST_CASE("partition allocator: first fit, aligned, removes what it returns") {
  bp::FreeRam free;
  free.blocks[free.count++] = {0x40001000, 0x300000};  // only 0x40200000..0x40301000 is aligned: 1 MiB
  free.blocks[free.count++] = {0x80000000, 0x800000};
  uint64_t base = 0;
  CHECK(bp::allocate_ram(free, 0x200000, base));
  CHECK(base == 0x80000000);
  CHECK(bp::allocate_ram(free, 0x400000, base));
  CHECK(base == 0x80200000);
  CHECK(bp::allocate_ram(free, 0x200000, base));
  CHECK(base == 0x80600000);
  CHECK_FALSE(bp::allocate_ram(free, 0x200000, base));
  CHECK_FALSE(bp::allocate_ram(free, 0, base));
}

TEST_CASE("partition allocator: partitions are placed in order, around fixed placements") {
  bp::SystemDescription description;
  CHECK(check(partition_test::description(sized("a", "0x10000000") + sized("b", "0x800000", "0x50000000") +
                                          sized("c", "0x4000000") + sized("d", "0x8000000")),
              description, five_cpu_board()) == Lines{});
  // Free: 0x4c000000..0x50000000 (64 MiB, before b) and 0x50800000..0xc0000000.
  CHECK(description.partitions[0].ram.host_base == 0x50800000);  // 256 MiB: not before b
  CHECK(description.partitions[1].ram.host_base == 0x50000000);  // fixed
  CHECK(description.partitions[2].ram.host_base == 0x4c000000);  // exactly the 64 MiB before b
  CHECK(description.partitions[3].ram.host_base == 0x60800000);
}

TEST_CASE("partition allocator: the same description always gives the same layout") {
  const std::string dts = partition_test::description(sized("a", "0x2000000") + sized("b", "0x800000") +
                                                      sized("c", "0x20000000", "0x60000000") + sized("d", "0x400000"));
  bp::SystemDescription first;
  bp::SystemDescription second;
  CHECK(check(dts, first, five_cpu_board()) == Lines{});
  CHECK(check(dts, second, five_cpu_board()) == Lines{});
  for (size_t i = 0; i < 4; ++i) CHECK(first.partitions[i].ram.host_base == second.partitions[i].ram.host_base);
  CHECK(first.partitions[0].ram.host_base == 0x4c000000);
  CHECK(first.partitions[1].ram.host_base == 0x4e000000);
  CHECK(first.partitions[3].ram.host_base == 0x4e800000);
}

TEST_CASE("partition allocator: exhaustion names the partition and the largest free block") {
  // Free: 0x4c000000..0xc0000000. a takes 1 GiB, b does not fit, c takes 0x30000000, d does not fit.
  CHECK(check(partition_test::description(sized("a", "0x40000000") + sized("b", "0x38000000") +
                                          sized("c", "0x30000000") + sized("d", "0x8000000")),
              five_cpu_board()) ==
        Lines{"test.dts: /partitions/b: ram-exhausted: memory-size 0x38000000 does not fit in the free board RAM "
              "(largest free block 0x34000000)",
              "test.dts: /partitions/d: ram-exhausted: memory-size 0x8000000 does not fit in the free board RAM "
              "(largest free block 0x4000000)"});
}
