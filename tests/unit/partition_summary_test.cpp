// The --summary table, against a golden file shared with the tool's CTest test
// (tests/data/partitions/default.summary; the payload sizes are tool_test.py's).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "partition_support.hpp"
#include "partitions/summary.hpp"

using namespace partition_test;

namespace {

class StringSink final : public bulkhead::Sink {
 public:
  std::string text;
  void write(const char* data, size_t length) override { text.append(data, length); }
};

}  // namespace

TEST_CASE("partition summary: the default configuration matches the golden file") {
  auto description = std::make_unique<bp::SystemDescription>();
  const std::string dts = read_text(source_dir() + "/configs/linux-baremetal.dts");
  REQUIRE(check(dts, *description) == std::vector<std::string>{});
  StringSink out;
  bp::write_summary(out, *description, &qemu_board());
  CHECK(out.text == read_text(std::string(BULKHEAD_TEST_DATA_DIR) + "/partitions/default.summary"));
}

TEST_CASE("partition summary: PCI selectors, fixed RAM and a board without free RAM") {
  auto description = std::make_unique<bp::SystemDescription>();
  REQUIRE(check(partition_test::description(R"(
    net {
      cpus = <1>;
      memory-size = <0x0 0x74000000>;
      memory-host-base = <0x0 0x4c000000>;
      payload { format = "raw"; file = "heartbeat.bin"; load-offset = <0x0 0x80000>; };
      pci-device@0 { sbdf = "0000:01:00.0"; vendor-device = <0x8086 0x10d3>; guest-slot = <4>; };
      pci-device@1 { vendor-device = <0x1af4 0x1000>; };
    };
  )"),
                *description) == std::vector<std::string>{});
  StringSink out;
  bp::write_summary(out, *description, &qemu_board());
  CHECK(out.text ==
        "board qemu-virt: 4 CPUs, RAM 0x40000000-0xbfffffff\n"
        "hypervisor reserved 0x40000000-0x4bffffff\n"
        "partition net\n"
        "  cpus          1 (mpidr 0x1)\n"
        "  ram           host 0x4c000000-0xbfffffff -> guest 0x40000000-0xb3ffffff (1856 MiB, fixed)\n"
        "  payload       heartbeat.bin (raw, 4096 bytes)\n"
        "  guest layout  binary 0x40080000-0x40080fff, device tree 0xb3e00000\n"
        "  console       virtual-uart\n"
        "  pci           sbdf 0000:01:00.0 vendor-device 8086:10d3 -> vbdf 00:04.0\n"
        "  pci           vendor-device 1af4:1000 instance 0 -> vbdf 00:01.0 (automatic)\n"
        "  pci windows   mem32 0x10000000-0x3efeffff, mem64 pref 0x8000000000-0xffffffffff, io 0x3eff0000-0x3effffff "
        "(ports 0x0-0xffff); BARs sized at boot\n"
        "  legacy-intx   denied\n"
        "  restart       stop\n"
        "free RAM none\n");
}

TEST_CASE("partition summary: a pci-device with reset = \"none\" says so") {
  auto description = std::make_unique<bp::SystemDescription>();
  REQUIRE(check(partition_test::description(R"(
    net {
      cpus = <1>;
      memory-size = <0x0 0x800000>;
      payload { format = "raw"; file = "heartbeat.bin"; };
      pci-device@0 { sbdf = "0000:00:01.0"; reset = "none"; };
      pci-device@1 { sbdf = "0000:00:02.0"; };
    };
  )"),
                *description) == std::vector<std::string>{});
  StringSink out;
  bp::write_summary(out, *description, &qemu_board());
  CHECK(out.text.find("  pci           sbdf 0000:00:01.0 -> vbdf 00:01.0 (automatic), reset none (handed over and "
                      "restarted without a reset)\n"
                      "  pci           sbdf 0000:00:02.0 -> vbdf 00:02.0 (automatic)\n") != std::string::npos);
}
