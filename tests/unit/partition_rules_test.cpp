// Every build-time rule: a bad description and the exact line it must produce (as
// bulkhead-config prints it, FILE being "test.dts"), plus several violations at once.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "partition_support.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

std::string with_linux(const std::string& more) { return description(linux_partition + more); }

}  // namespace

TEST_CASE("partition rules: the example partitions are valid") {
  CHECK(check(description(std::string(linux_partition) + heartbeat_partition)) == Lines{});
}

TEST_CASE("partition rules: board-match") {
  const std::string dts = description(linux_partition);
  CHECK(check(dts, test_board()) ==
        Lines{"test.dts: /: board-match: board \"qemu-virt\" is not this board definition's \"test-board\""});
}

TEST_CASE("partition rules: cpu-exists") {
  CHECK(check(description(R"(
    a { cpus = <1 5>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpu-mpidrs = <0x100>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{
              "test.dts: /partitions/a: cpu-exists: cpus: CPU 5 does not exist (the board has CPUs 0 to 3)",
              "test.dts: /partitions/b: cpu-exists: cpu-mpidrs: no board CPU has MPIDR 0x100",
          });
}

TEST_CASE("partition rules: cpu-mpidrs resolve against the board") {
  bp::SystemDescription description;
  CHECK(check(partition_test::description(R"(
    a { cpu-mpidrs = <0x101 0x1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )",
                                          ""),
              description, test_board())
            .size() == 1);  // board-match only
  REQUIRE(description.partitions[0].cpus_resolved);
  CHECK(description.partitions[0].cpus[0].index == 3);
  CHECK(description.partitions[0].cpus[1].index == 1);
}

TEST_CASE("partition rules: cpu-unique") {
  CHECK(check(description(R"(
    a { cpus = <1 1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpu-mpidrs = <0x2 0x1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{
              "test.dts: /partitions/a: cpu-unique: CPU 1 (MPIDR 0x1) is listed twice",
              "test.dts: /partitions/b: cpu-unique: CPU 1 (MPIDR 0x1) is also in partition a",
          });
}

TEST_CASE("partition rules: every CPU may run a partition, the boot CPU (CPU 0) too") {
  // The boot CPU serves the console and the system's interrupts from its vCPU's exits
  // (core/boot/console_input.hpp): CPU 0 is a CPU like the others, and stays unique.
  CHECK(check(description(R"(
    a { cpus = <0 1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <2 3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{});
  CHECK(check(description(R"(
    a { cpu-mpidrs = <0x0>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <0>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{"test.dts: /partitions/b: cpu-unique: CPU 0 (MPIDR 0x0) is also in partition a"});
}

TEST_CASE("partition rules: ram-size and ram-alignment") {
  CHECK(check(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x0>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <2>; memory-size = <0x0 0x900000>; memory-guest-base = <0x0 0x40100000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
    c { cpus = <3>; memory-size = <0x0 0x800000>; memory-host-base = <0x0 0x80001000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{
              "test.dts: /partitions/a: ram-size: memory-size is 0",
              "test.dts: /partitions/b: ram-alignment: memory-size 0x900000 is not a multiple of 2 MiB",
              "test.dts: /partitions/b: ram-alignment: memory-guest-base 0x40100000 is not 2 MiB aligned",
              "test.dts: /partitions/c: ram-alignment: memory-host-base 0x80001000 is not 2 MiB aligned",
          });
}

TEST_CASE("partition rules: ram-inside-board") {
  CHECK(check(with_linux(R"(
    h { cpus = <3>; memory-size = <0x0 0x800000>; memory-host-base = <0x0 0xbfc00000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{"test.dts: /partitions/h: ram-inside-board: RAM 0xbfc00000 size 0x800000 is not inside the board's RAM "
                "(0x40000000 size 0x80000000)"});
  // Two board ranges: a placement across the gap between them is outside.
  const std::string dts = R"(/dts-v1/;
/ { compatible = "bulkhead,system-description"; bulkhead,schema-version = <1>; board = "test-board";
  partitions { h { cpus = <3>; memory-size = <0x0 0x40000000>; memory-host-base = <0x0 0x60000000>;
    payload { format = "raw"; file = "heartbeat.bin"; }; }; }; };)";
  CHECK(check(dts, test_board()) ==
        Lines{"test.dts: /partitions/h: ram-inside-board: RAM 0x60000000 size 0x40000000 is not inside the board's RAM "
              "(0x40000000 size 0x40000000, 0x100000000 size 0x40000000)"});
}

TEST_CASE("partition rules: ram-overlap with the hypervisor and other partitions") {
  CHECK(check(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; memory-host-base = <0x0 0x4b800000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <2>; memory-size = <0x0 0x1000000>; memory-host-base = <0x0 0x80000000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
    c { cpus = <3>; memory-size = <0x0 0x800000>; memory-host-base = <0x0 0x80800000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{
              "test.dts: /partitions/a: ram-overlap: RAM 0x4b800000 size 0x800000 overlaps the hypervisor's reserved "
              "0x40000000 size 0xc000000",
              "test.dts: /partitions/c: ram-overlap: RAM 0x80800000 size 0x800000 overlaps partition b (RAM 0x80000000 "
              "size 0x1000000)",
          });
}

TEST_CASE("partition rules: ram-exhausted") {
  CHECK(check(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x60000000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <2>; memory-size = <0x0 0x20000000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{"test.dts: /partitions/b: ram-exhausted: memory-size 0x20000000 does not fit in the free board RAM "
                "(largest free block 0x14000000)"});
}

TEST_CASE("partition rules: payload-exists") {
  FakeFiles files;
  files.files.erase("linux-Image");
  files.files.erase("initramfs.cpio.gz");
  CHECK(check(description(linux_partition), qemu_board(), files) ==
        Lines{
            "test.dts: /partitions/linux/payload: payload-exists: file \"linux-Image\" is not in the payload directory",
            "test.dts: /partitions/linux/payload: payload-exists: initrd \"initramfs.cpio.gz\" is not in the payload "
            "directory",
        });
}

TEST_CASE("partition rules: payload-format") {
  FakeFiles files;
  files.files["empty.bin"] = raw_file(0);
  files.files["old-Image"] = linux_image(0x10000, 0x80000, 0);
  files.files["short-Image"] = linux_image(0x10000, 0, 0x8000);
  CHECK(
      check(description(R"(
    a { cpus = <0>; memory-size = <0x0 0x800000>; payload { format = "elf"; file = "heartbeat.bin"; }; };
    b { cpus = <1>; memory-size = <0x0 0x800000>; payload { format = "linux-image"; file = "heartbeat.bin"; }; };
    c { cpus = <2>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "empty.bin";
        load-offset = <0x0 0x2>; initrd = "empty.bin"; }; };
    d { cpus = <3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin";
        load-offset = <0x0 0x2>; }; };
    e { cpu-mpidrs = <0x3>; memory-size = <0x0 0x800000>; payload { format = "linux-image"; file = "old-Image";
        load-offset = <0x0 0x0>; }; };
    f { cpus = <0>; memory-size = <0x0 0x800000>; payload { format = "linux-image"; file = "short-Image"; }; };
  )"),
            qemu_board(), files) ==
      Lines{
          "test.dts: /partitions/a/payload: payload-format: format: \"elf\" is not linux-image or raw",
          "test.dts: /partitions/e/payload: payload-format: load-offset applies to raw payloads only (a Linux "
          "Image's text_offset decides)",
          "test.dts: /partitions/b/payload: payload-format: file \"heartbeat.bin\" has no arm64 Linux Image header "
          "(magic ARM\\x64 at 0x38); use format \"raw\" for other binaries",
          "test.dts: /partitions/c/payload: payload-format: file \"empty.bin\" is empty",
          "test.dts: /partitions/c/payload: payload-format: initrd \"empty.bin\" is empty",
          "test.dts: /partitions/d/payload: payload-format: load-offset 0x2 is not a multiple of 4 (it is the entry "
          "point)",
          "test.dts: /partitions/e: cpu-unique: CPU 3 (MPIDR 0x3) is also in partition d",
          "test.dts: /partitions/e/payload: payload-format: file \"old-Image\": image_size is 0 (kernels before Linux "
          "3.17 are not supported)",
          "test.dts: /partitions/f: cpu-unique: CPU 0 (MPIDR 0x0) is also in partition a",
          "test.dts: /partitions/f/payload: payload-format: file \"short-Image\": image_size 0x8000 is smaller than "
          "the file (0x10000 bytes)",
      });
}

TEST_CASE("partition rules: payload-fits") {
  CHECK(check(description(R"(
    small { cpus = <1>; memory-size = <0x0 0x200000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    linux { cpus = <2>; memory-size = <0x0 0x1600000>;
            payload { format = "linux-image"; file = "linux-Image"; initrd = "initramfs.cpio.gz"; }; };
  )")) == Lines{
              "test.dts: /partitions/small/payload: payload-fits: kernel (load offset 0x0, 0x1000 bytes), initrd (0x0 "
              "bytes) and the 2 MiB device-tree area do not fit in memory-size 0x200000",
              "test.dts: /partitions/linux/payload: payload-fits: kernel (load offset 0x0, 0x1400000 bytes), initrd "
              "(0x2000 bytes) and the 2 MiB device-tree area do not fit in memory-size 0x1600000",
          });
  // Exactly enough: kernel, initrd and device tree end to end.
  CHECK(check(description(R"(
    linux { cpus = <2>; memory-size = <0x0 0x1800000>;
            payload { format = "linux-image"; file = "linux-Image"; initrd = "initramfs.cpio.gz"; }; };
  )")) == Lines{});
}

TEST_CASE("partition rules: package-size") {
  Collected violations;
  CHECK(bp::check_package_size(0x6000000, qemu_board(), violations));
  CHECK_FALSE(bp::check_package_size(0x6000001, qemu_board(), violations));
  CHECK_FALSE(bp::check_package_size(0, qemu_board(), violations));
  CHECK(violations.lines == Lines{
                                "test.dts: /: package-size: the package needs 0x6000001 bytes, the board allows "
                                "0x6000000 (package-max-size)",
                                "test.dts: /: package-size: the package would exceed 4 GiB",
                            });
}

TEST_CASE("partition rules: pci-unique") {
  CHECK(check(with_linux(R"(
    a { cpus = <3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { sbdf = "0000:01:00.0"; };
        pci-device@1 { vendor-device = <0x8086 0x10d3>; };
        pci-device@2 { vendor-device = <0x8086 0x10d3>; instance = <0>; };
        pci-device@3 { vendor-device = <0x8086 0x10d3>; instance = <1>; };
        pci-device@4 { sbdf = "01:00.0"; vendor-device = <0x8086 0x10d3>; }; };
  )")) == Lines{
              "test.dts: /partitions/a/pci-device@2: pci-unique: 8086:10d3 instance 0 is also selected by partition a "
              "(pci-device@1)",
              "test.dts: /partitions/a/pci-device@4: pci-unique: 0000:01:00.0 is also selected by partition a "
              "(pci-device@0)",
          });
}

TEST_CASE("partition rules: guest-slot-range and guest-slot-unique") {
  CHECK(check(with_linux(R"(
    a { cpus = <3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { sbdf = "0000:01:00.0"; guest-slot = <0>; };
        pci-device@1 { sbdf = "0000:02:00.0"; guest-slot = <32>; };
        pci-device@2 { sbdf = "0000:03:00.0"; guest-slot = <5>; };
        pci-device@3 { sbdf = "0000:04:00.0"; guest-slot = <5>; }; };
  )")) == Lines{
              "test.dts: /partitions/a/pci-device@0: guest-slot-range: guest-slot 0 is the virtual host bridge's",
              "test.dts: /partitions/a/pci-device@1: guest-slot-range: guest-slot 32 is above 31",
              "test.dts: /partitions/a/pci-device@3: guest-slot-unique: guest-slot 5 is also used by pci-device@2",
          });
}

TEST_CASE("partition rules: automatic guest slots fill the lowest free slots in node order") {
  bp::SystemDescription description;
  CHECK(check(with_linux(R"(
    a { cpus = <3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { sbdf = "0000:01:00.0"; };
        pci-device@1 { sbdf = "0000:02:00.0"; guest-slot = <1>; };
        pci-device@2 { sbdf = "0000:03:00.0"; };
        pci-device@3 { sbdf = "0000:04:00.0"; guest-slot = <3>; };
        pci-device@4 { sbdf = "0000:05:00.0"; }; };
  )"),
              description) == Lines{});
  const bp::Partition& a = description.partitions[1];
  CHECK(a.pci_devices[0].guest_slot == 2);
  CHECK(a.pci_devices[1].guest_slot == 1);
  CHECK(a.pci_devices[2].guest_slot == 4);
  CHECK(a.pci_devices[3].guest_slot == 3);
  CHECK(a.pci_devices[4].guest_slot == 5);
}

TEST_CASE("partition rules: platform-exists and platform-unique") {
  CHECK(check(with_linux(R"(
    a { cpus = <3>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        platform-device@0 { device = "uart"; };
        platform-device@1 { device = "rtc"; };
        platform-device@2 { device = "rtc"; }; };
    b { cpus = <0>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        platform-device@0 { device = "rtc"; }; };
  )")) == Lines{
              "test.dts: /partitions/a/platform-device@0: platform-exists: device \"uart\" is not a platform device of "
              "board qemu-virt (it has: rtc)",
              "test.dts: /partitions/a/platform-device@2: platform-unique: device rtc is listed twice",
              "test.dts: /partitions/b/platform-device@0: platform-unique: device rtc is also given to partition a",
          });
}

TEST_CASE("partition rules: guest-region-collision") {
  const std::string fixed_clash = R"(/dts-v1/;
/ { compatible = "bulkhead,system-description"; bulkhead,schema-version = <1>; board = "test-board";
  partitions {
    a { cpus = <1>; memory-size = <0x0 0x2000000>; memory-guest-base = <0x0 0x3e000000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <2>; memory-size = <0x0 0x800000>; memory-guest-base = <0x0 0x9000000>;
        payload { format = "raw"; file = "heartbeat.bin"; };
        platform-device@0 { device = "rtc"; };
        platform-device@1 { device = "clash"; }; };
  }; };)";
  CHECK(check(fixed_clash, test_board()) ==
        Lines{
            "test.dts: /partitions/a: guest-region-collision: guest RAM 0x3e000000 size 0x2000000 collides with the "
            "virtual PCI 32-bit window at 0x10000000 size 0x2eff0000",
            "test.dts: /partitions/a: guest-region-collision: guest RAM 0x3e000000 size 0x2000000 collides with the "
            "virtual PCI I/O window at 0x3eff0000 size 0x10000",
            "test.dts: /partitions/a: guest-region-collision: guest RAM 0x3e000000 size 0x2000000 collides with the "
            "virtual PCI ECAM at 0x3f000000 size 0x1000000",
            "test.dts: /partitions/b: guest-region-collision: guest RAM 0x9000000 size 0x800000 collides with the "
            "virtual UART at 0x9000000 size 0x1000",
            "test.dts: /partitions/b/platform-device@0: guest-region-collision: rtc at 0x9010000 size 0x1000 collides "
            "with guest RAM 0x9000000 size 0x800000",
            "test.dts: /partitions/b/platform-device@1: guest-region-collision: clash at 0x9000000 size 0x1000 "
            "collides with the virtual UART at 0x9000000 size 0x1000",
            "test.dts: /partitions/b/platform-device@1: guest-region-collision: clash at 0x9000000 size 0x1000 "
            "collides with guest RAM 0x9000000 size 0x800000",
        });
}

TEST_CASE("partition rules: guest-address-limit") {
  CHECK(check(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; memory-guest-base = <0xff 0xffc00000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{"test.dts: /partitions/a: guest-address-limit: guest RAM 0xffffc00000 size 0x800000 ends above the "
                "guest limit 0x10000000000"});
}

TEST_CASE("partition rules: several violations at once, in a fixed order") {
  FakeFiles files;
  files.files.erase("initramfs.cpio.gz");
  const std::string dts = description(R"(
    linux { cpus = <1 2 7>; memory-size = <0x0 0x20100000>;
            payload { format = "linux-image"; file = "linux-Image"; initrd = "initramfs.cpio.gz"; };
            pci-device@0 { sbdf = "0000:01:00.0"; guest-slot = <40>; };
            platform-device@0 { device = "rtc"; }; };
    web { cpus = <2>; memory-size = <0x0 0x800000>; memory-host-base = <0x0 0x40000000>;
          payload { format = "raw"; file = "web.bin"; };
          pci-device@0 { sbdf = "0000:01:00.0"; };
          platform-device@0 { device = "rtc"; }; };
  )");
  const Lines expected{
      "test.dts: /partitions/linux: cpu-exists: cpus: CPU 7 does not exist (the board has CPUs 0 to 3)",
      "test.dts: /partitions/linux: ram-alignment: memory-size 0x20100000 is not a multiple of 2 MiB",
      "test.dts: /partitions/linux/payload: payload-exists: initrd \"initramfs.cpio.gz\" is not in the payload "
      "directory",
      "test.dts: /partitions/linux/pci-device@0: guest-slot-range: guest-slot 40 is above 31",
      "test.dts: /partitions/web: cpu-unique: CPU 2 (MPIDR 0x2) is also in partition linux",
      "test.dts: /partitions/web: ram-overlap: RAM 0x40000000 size 0x800000 overlaps the hypervisor's reserved "
      "0x40000000 size 0xc000000",
      "test.dts: /partitions/web/payload: payload-exists: file \"web.bin\" is not in the payload directory",
      "test.dts: /partitions/web/pci-device@0: pci-unique: 0000:01:00.0 is also selected by partition linux "
      "(pci-device@0)",
      "test.dts: /partitions/web/platform-device@0: platform-unique: device rtc is also given to partition linux",
  };
  CHECK(check(dts, qemu_board(), files) == expected);
  CHECK(check(dts, qemu_board(), files) == expected);  // deterministic
}
