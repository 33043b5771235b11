// The board definition reader and its own consistency rules.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "partition_support.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

Lines board_lines(const std::string& body) {
  const Blob blob = compile_dts(
      "/dts-v1/;\n/ {\n  compatible = \"bulkhead,board-definition\";\n"
      "  bulkhead,schema-version = <1>;\n" +
      body + "};\n");
  auto board = std::make_unique<bp::BoardDefinition>();
  Collected violations;
  const bool valid = bp::read_board(blob.data(), blob.size, *board, violations);
  CHECK(valid == violations.lines.empty());
  return violations.lines;
}

}  // namespace

TEST_CASE("partition board: the qemu-virt definition") {
  const bp::BoardDefinition& board = qemu_board();
  CHECK(std::string(board.name) == "qemu-virt");
  REQUIRE(board.cpu_count == 4);
  CHECK(board.cpu_mpidrs[3] == 3);
  REQUIRE(board.ram_count == 1);
  CHECK(board.ram[0].base == 0x40000000);
  CHECK(board.ram[0].size == 0x80000000);
  REQUIRE(board.reserved_count == 1);
  CHECK(board.reserved[0].end() == 0x4c000000);
  CHECK(board.package_max_size == 0x6000000);
  const bp::BoardDevice* rtc = board.find_device("rtc");
  REQUIRE(rtc != nullptr);
  CHECK(rtc->regions[0].base == 0x9010000);
  CHECK(rtc->regions[0].size == 0x1000);
  REQUIRE(rtc->interrupt_count == 1);
  CHECK(rtc->interrupts[0].spi == 2);
  CHECK(rtc->interrupts[0].flags == 4);
  CHECK(std::string(rtc->compatible, rtc->compatible_length) == std::string("arm,pl031\0arm,primecell\0", 24));
  CHECK(board.find_device("uart") == nullptr);
}

TEST_CASE("partition board: required properties and identity") {
  CHECK(board_lines("") == Lines{
                               "test.dts: /: required: missing property board",
                               "test.dts: /: required: missing property cpu-mpidrs",
                               "test.dts: /: required: missing property memory",
                               "test.dts: /: required: missing node hypervisor",
                           });
  CHECK(board_lines(
            "  board = \"b\";\n  cpu-mpidrs = <0>;\n  memory = <0 0x40000000 0 0x1000000>;\n  hypervisor { };\n") ==
        Lines{"test.dts: /hypervisor: required: missing property reserved",
              "test.dts: /hypervisor: required: missing property package-max-size"});
  const Blob description = compile_dts(partition_test::description(linux_partition));
  auto board = std::make_unique<bp::BoardDefinition>();
  Collected violations;
  CHECK_FALSE(bp::read_board(description.data(), description.size, *board, violations));
  CHECK(
      violations.lines ==
      Lines{"test.dts: /: compatible: compatible does not list \"bulkhead,board-definition\"; not a board definition"});
}

TEST_CASE("partition board: board-layout") {
  CHECK(board_lines(R"(
  board = "bad";
  cpu-mpidrs = <0x0 0x1 0x1 0x1000000>;
  memory = <0x0 0x40000000 0x0 0x40000000>, <0x0 0x70000000 0x0 0x20000000>, <0x0 0x0 0x0 0x0>;
  hypervisor { reserved = <0x0 0x40000000 0x0 0x1000000>; package-max-size = <0x0 0x100000>; };
  platform-devices {
    odd { compatible = "x"; mmio = <0x0 0x9000800 0x0 0x100>; };
    inram { compatible = "y"; mmio = <0x0 0x40000000 0x0 0x1000>; spi-interrupts = <1>; };
    Upper { compatible = "z"; mmio = <0x0 0x9000000 0x0 0x1000>; };
  };
)") == Lines{
           "test.dts: /: board-layout: cpu-mpidrs: 0x1 is listed twice",
           "test.dts: /: board-layout: cpu-mpidrs: 0x1000000 has bits above Aff2",
           "test.dts: /: board-layout: memory: range 0x70000000 overlaps range 0x40000000",
           "test.dts: /: board-layout: memory: range 0x0 size 0x0 is empty or wraps",
           "test.dts: /platform-devices/odd: board-layout: mmio: 0x9000800 size 0x100 is not whole 4 KiB pages",
           "test.dts: /platform-devices/inram: board-layout: mmio: 0x40000000 size 0x1000 overlaps RAM",
           "test.dts: /platform-devices/inram: property-type: spi-interrupts: expected up to 4 <spi flags> pairs",
           "test.dts: /platform-devices/Upper: name-syntax: device name is not 1 to 15 of a-z, 0-9 and -",
       });
}
