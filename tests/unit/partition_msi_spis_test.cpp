// The msi-spis property and rule: the message-based SPIs a partition's MSIs arrive as.
// The default for a partition with PCI functions, explicit ranges, every violation, and
// the normalized form carrying the range.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "partition_support.hpp"
#include "partitions/msi_spis.hpp"
#include "partitions/normalize.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

std::string partition(const std::string& name, int cpu, const std::string& more, bool pci = true) {
  return "    " + name + " { cpus = <" + std::to_string(cpu) + ">; memory-size = <0x0 0x800000>; " + more +
         " payload { format = \"raw\"; file = \"heartbeat.bin\"; }; " +
         (pci ? "pci-device@0 { sbdf = \"0" + std::to_string(cpu) + ":00.0\"; }; " : "") + "};\n";
}

}  // namespace

TEST_CASE("partition msi-spis: partitions with PCI functions get 64 SPIs each, aligned, clear of every other SPI") {
  bp::SystemDescription description;
  CHECK(check(partition_test::description(partition("a", 1, "platform-device@0 { device = \"rtc\"; };") +
                                          partition("b", 2, "") + partition("c", 3, "", false)),
              description) == Lines{});
  const bp::MessageSpis& a = description.partitions[0].msi_spis;
  const bp::MessageSpis& b = description.partitions[1].msi_spis;
  const bp::MessageSpis& c = description.partitions[2].msi_spis;
  CHECK(a.assigned);
  CHECK_FALSE(a.given);
  CHECK(a.first == 32);  // 0..31 holds the virtual UART's SPI 1 and the RTC's SPI 2
  CHECK(a.count == 64);
  CHECK(b.assigned);
  CHECK(b.first == 96);
  CHECK(b.count == 64);
  CHECK_FALSE(c.assigned);  // no PCI functions: no range
}

TEST_CASE("partition msi-spis: an explicit range is kept and the defaults go around it") {
  bp::SystemDescription description;
  CHECK(check(partition_test::description(partition("a", 1, "") + partition("b", 2, "msi-spis = <32 16>;") +
                                          partition("c", 3, "msi-spis = <128 64>;", false)),
              description) == Lines{});
  CHECK(description.partitions[1].msi_spis.given);
  CHECK(description.partitions[1].msi_spis.first == 32);
  CHECK(description.partitions[1].msi_spis.count == 16);
  CHECK(description.partitions[2].msi_spis.assigned);  // allowed without PCI functions too
  CHECK(description.partitions[0].msi_spis.first == 64);  // 0..31: the UART's SPI; 32..47: b's
  // The normalized form carries every range, and reads back the same.
  for (uint32_t i = 0; i < 3; ++i) description.partitions[i].payload.kernel_entry = i + 1;  // as the package does
  std::vector<uint64_t> buffer(16 * 1024);
  size_t size = 0;
  REQUIRE(bp::write_normalized_description(description, buffer.data(), buffer.size() * 8, size));
  bp::SystemDescription normalized;
  Collected violations;
  REQUIRE(bp::read_description(buffer.data(), size, bp::DescriptionForm::normalized, normalized, violations));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(normalized.partitions[i].msi_spis.assigned);
    CHECK_FALSE(normalized.partitions[i].msi_spis.given);
    CHECK(normalized.partitions[i].msi_spis.first == description.partitions[i].msi_spis.first);
    CHECK(normalized.partitions[i].msi_spis.count == description.partitions[i].msi_spis.count);
  }
  CHECK(bp::check_consistency(normalized, violations));
}

TEST_CASE("partition msi-spis: each bad range is a violation naming the partition and the SPIs") {
  CHECK(check(partition_test::description(partition("a", 1, "msi-spis = <32>;"))) ==
        Lines{"test.dts: /partitions/a: property-type: msi-spis: expected <first count>, found 1 cells"});
  CHECK(check(partition_test::description(partition("a", 1, "msi-spis = <32 0>;") +
                                          partition("b", 2, "msi-spis = <64 65>;") +
                                          partition("c", 3, "msi-spis = <40 8>;"))) ==
        Lines{
            "test.dts: /partitions/a: msi-spis: msi-spis: 0 SPIs; 1 to 64 per partition",
            "test.dts: /partitions/b: msi-spis: msi-spis: 65 SPIs; 1 to 64 per partition",
            "test.dts: /partitions/c: msi-spis: msi-spis: the first SPI 40 is not a multiple of 32 (a multiple-message "
            "MSI block must be aligned)",
        });
  CHECK(check(partition_test::description(partition("a", 1, "msi-spis = <960 32>;") +
                                          partition("b", 2, "msi-spis = <0xffffffe0 64>;"))) ==
        Lines{
            "test.dts: /partitions/a: msi-spis: msi-spis: SPIs 960-991 go beyond SPI 987 (INTID 1019)",
            "test.dts: /partitions/b: msi-spis: msi-spis: SPIs 4294967264-4294967327 go beyond SPI 987 (INTID 1019)",
        });
}

TEST_CASE("partition msi-spis: a range may not cover the UART's SPI, a platform device's, or another partition's") {
  CHECK(check(partition_test::description(partition("a", 1, "msi-spis = <0 32>;") +
                                          partition("b", 2, "msi-spis = <64 32>; platform-device@0 { device = \"rtc\"; };") +
                                          partition("c", 3, "msi-spis = <32 64>;"))) ==
        Lines{
            "test.dts: /partitions/a: msi-spis: msi-spis: SPIs 0-31 cover the virtual UART's SPI 1",
            "test.dts: /partitions/a: msi-spis: msi-spis: SPIs 0-31 cover SPI 2 of platform device rtc (partition b)",
            "test.dts: /partitions/c: msi-spis: msi-spis: SPIs 32-95 overlap partition b's SPIs 64-95",
        });
  // Without a console the UART's SPI is free.
  CHECK(check(partition_test::description(partition("a", 1, "console = \"none\"; msi-spis = <0 1>;"))) == Lines{});
}

TEST_CASE("partition msi-spis: no room for the default is a violation") {
  // A board whose devices' SPIs leave no two free 32-SPI blocks in a row.
  bp::BoardDefinition board = qemu_board();
  board.device_count = 8;
  for (size_t d = 0; d < 8; ++d) {
    bp::BoardDevice& device = board.devices[d];
    device = board.devices[0];
    std::snprintf(device.name, sizeof(device.name), "dev%zu", d);
    device.interrupt_count = 4;
    for (size_t i = 0; i < 4; ++i) device.interrupts[i] = {static_cast<uint32_t>(32 * (4 * d + i) + 5), 4};
  }
  uint32_t first = 0;
  bp::SystemDescription empty;
  CHECK_FALSE(bp::choose_msi_spis(empty, &board, 64, first));
  CHECK(bp::choose_msi_spis(empty, &board, 4, first));  // fits below the device's SPI in a block
  CHECK(first == 32);  // block 0 holds the UART's SPI
  CHECK(check(partition_test::description(partition("a", 1, "")), board) ==
        Lines{"test.dts: /partitions/a: msi-spis: no 64 free SPIs are left for the default msi-spis; give msi-spis = "
              "<first count>"});
}
