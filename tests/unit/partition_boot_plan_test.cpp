// The boot-time half of the description: hardware rules, partition report, loading.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include <libfdt.h>

#include "core/lib/log.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/guest_dt.hpp"
#include "tests/unit/partition_boot_plan_support.hpp"

using namespace bulkhead;
using namespace bulkhead::partitions;
using namespace bulkhead::partitions::boot_plan_test;

TEST_CASE("boot plan: a good partition is reported line by line, loaded and started") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1, 2}, 0x44000000);
  description.partitions[0].payload.has_initrd = true;
  std::strcpy(description.partitions[0].payload.bootargs, "quiet");
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);
  description.partitions[0].legacy_intx = true;
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  const char* expected =
      "bulkhead: partition rt cpus 1,2 mpidrs 0x1,0x2\n"
      "bulkhead: partition rt ram host 0x44000000 size 0x1000000 guest 0x40000000\n"
      "bulkhead: partition rt dtb 0x40e00000 bootargs \"quiet\"\n"
      "bulkhead: partition rt console virtual-uart\n"
      "bulkhead: partition rt pci 0000:01:00.0 slot 02 8086:10d3 selector pci-device@0\n"
      "bulkhead: partition rt pci-bar 0000:01:00.0 0 mem32 addr 0x10300000 size 0x20000\n"
      "bulkhead: partition rt pci-irq 0000:01:00.0 pin A intx allowed spi 5\n"
      "bulkhead: partition rt legacy-intx allowed restart-policy stop\n"
      "bulkhead: partition rt payload raw kernel-0.bin entry 1 size 0x3000 load 0x40000000 crc ok\n"
      "bulkhead: partition rt initrd initrd-0.gz entry 2 size 0x1800 load 0x40dfe000 crc ok\n"
      "bulkhead: partition rt guest-dtb 0x40e00000 size 0x";
  CHECK(run.lines.text.rfind(expected, 0) == 0);
  const std::string last_line = "\nbulkhead: partition rt start yes\n";
  CHECK(run.lines.text.substr(run.lines.text.size() - last_line.size()) == last_line);
  REQUIRE(run.plan.partitions[0].startable);
  CHECK(run.plan.partitions[0].loaded);
  CHECK(run.plan.partitions[0].function_count == 1);
  CHECK(run.plan.partitions[0].functions[0].function == 2);
  // Kernel at the RAM base, initrd below the DTB area, the rest scrubbed.
  CHECK(*run.ram.at(0x44000000, 1) == 0x11);
  CHECK(*run.ram.at(0x44000000 + 0x2fff, 1) == 0x11);
  CHECK(*run.ram.at(0x44000000 + 0x3000, 1) == 0x00);
  CHECK(*run.ram.at(0x44dfe000, 1) == 0xa0);
  // The guest device tree at the DTB address: a valid blob naming the partition.
  const uint8_t* dtb = run.ram.at(0x44e00000, 0x10000);
  CHECK(fdt_check_header(dtb) == 0);
  CHECK(run.plan.partitions[0].dtb_size == fdt_totalsize(dtb));
  const int chosen = fdt_path_offset(dtb, "/chosen");
  REQUIRE(chosen >= 0);
  CHECK(std::string(static_cast<const char*>(fdt_getprop(dtb, chosen, "bulkhead,partition", nullptr))) == "rt");
  CHECK(std::string(static_cast<const char*>(fdt_getprop(dtb, chosen, "bootargs", nullptr))) == "quiet");
  CHECK(*run.ram.at(0x44ffffff, 1) == 0x00);
  CHECK(*run.ram.at(0x45000000, 1) == 0xee);  // outside the partition: untouched
  CHECK(startable_count(run.plan) == 1);
}

TEST_CASE("boot plan: CPUs must exist, match and be online") {
  Machine machine;
  machine.facts.cpu_online[2] = false;
  machine.platform.cpus[3].mpidr = 0x100;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {2, 3, 7}, 0x44000000);
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: cpu 2: not online"));
  CHECK(run.lines.has("bulkhead: error: partition a: cpu 3: mpidr 0x3 in the description, 0x100 on this machine"));
  CHECK(run.lines.has("bulkhead: error: partition a: cpu 7: the machine has 4 CPUs"));
  CHECK(run.lines.has("bulkhead: partition a start no reason cpu 2: not online"));
  CHECK_FALSE(run.plan.partitions[0].loaded);
  CHECK(*run.ram.at(0x44000000, 1) == 0xee);  // a refused partition's RAM is not touched
}

TEST_CASE("boot plan: RAM must be present and not the hypervisor's") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("outside", {1}, 0xc0000000);
  description.partitions[1] = make_partition("hyp", {2}, 0x42000000);
  description.partitions[2] = make_partition("fine", {3}, 0x44000000);
  description.partition_count = 3;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition outside: ram 0xc0000000 size 0x1000000: not inside this machine's RAM"));
  CHECK(run.lines.has("bulkhead: error: partition hyp: ram 0x42000000 size 0x1000000: overlaps hypervisor memory "
                      "0x40000000 size 0x4000000"));
  CHECK(run.lines.has("bulkhead: partition fine start yes"));
  CHECK(startable_count(run.plan) == 1);
}

TEST_CASE("boot plan: PCI selectors name one present, usable endpoint that nobody else has") {
  Machine machine;
  SystemDescription description;
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_ids(a, 0x8086, 0x10d3, 0, 1);  // 0000:01:00.0
  Partition& b = description.partitions[1] = make_partition("b", {2}, 0x46000000);
  select_sbdf(b, {1, 0, 0}, 1);           // the same function again
  Partition& c = description.partitions[2] = make_partition("c", {3}, 0x48000000);
  select_sbdf(c, {7, 0, 0}, 1);           // absent
  select_ids(c, 0x8086, 0x10d3, 2, 2);    // only two exist
  select_sbdf(c, {0, 2, 0}, 3);           // unusable
  select_sbdf(c, {0, 1, 0}, 4);           // a root port
  select_sbdf(c, {0, 3, 0}, 5);
  c.pci_devices[4].has_ids = true;        // address and IDs disagree
  c.pci_devices[4].vendor = 0x8086;
  c.pci_devices[4].device = 0x10d3;
  description.partition_count = 3;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: partition a start yes"));
  CHECK(run.lines.has("bulkhead: error: partition b: pci-device@0: 0000:01:00.0 is already assigned to partition a"));
  CHECK(run.lines.has("bulkhead: error: partition c: pci-device@0 sbdf 0000:07:00.0: device not present"));
  CHECK(run.lines.has("bulkhead: error: partition c: pci-device@1 vendor-device 8086:10d3 instance 2: device not present"));
  CHECK(run.lines.has("bulkhead: error: partition c: pci-device@2 sbdf 0000:00:02.0: unusable (its BARs could not be placed)"));
  CHECK(run.lines.has("bulkhead: error: partition c: pci-device@3 sbdf 0000:00:01.0: is a root-port, only endpoints can be assigned"));
  CHECK(run.lines.has("bulkhead: error: partition c: pci-device@4 sbdf 0000:00:03.0 vendor-device 8086:10d3 instance 0: "
                      "the address and the IDs name different functions"));
  CHECK(run.lines.has("bulkhead: partition c start no reason pci-device@0 sbdf 0000:07:00.0: device not present"));
  CHECK(startable_count(run.plan) == 1);
}

TEST_CASE("boot plan: with an address, the IDs check the function there, whichever instance it is") {
  Machine machine;
  SystemDescription description;
  // The second of two 8086:10d3 (instance 1), named by its address and its IDs: the IDs
  // match, so what is reported is its own state (unusable), not a disagreement.
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_sbdf(a, {0, 2, 0}, 1);
  a.pci_devices[0].has_ids = true;
  a.pci_devices[0].vendor = 0x8086;
  a.pci_devices[0].device = 0x10d3;
  // The NVMe at 0000:00:03.0 with its own IDs: selected.
  Partition& b = description.partitions[1] = make_partition("b", {2}, 0x46000000);
  select_sbdf(b, {0, 3, 0}, 1);
  b.pci_devices[0].has_ids = true;
  b.pci_devices[0].vendor = 0x1b36;
  b.pci_devices[0].device = 0x0010;
  description.partition_count = 2;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: pci-device@0 sbdf 0000:00:02.0 vendor-device 8086:10d3 instance 0: "
                      "unusable (its BARs could not be placed)"));
  CHECK(run.lines.has("bulkhead: partition b pci 0000:00:03.0 slot 01 1b36:0010 selector pci-device@0"));
  CHECK(run.lines.has("bulkhead: partition b start yes"));
  CHECK(startable_count(run.plan) == 1);
}

TEST_CASE("boot plan: a selector with neither address nor IDs is refused, not followed") {
  Machine machine;
  SystemDescription description;
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_sbdf(a, {1, 0, 0}, 1);
  a.pci_devices[0].has_sbdf = false;
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: pci-device@0: selects nothing (neither sbdf nor vendor-device)"));
}

TEST_CASE("boot plan: an INTx line cannot be shared across partitions, unless INTx is denied") {
  Machine machine;
  SystemDescription description;
  Partition& a = description.partitions[0] = make_partition("a", {1}, 0x44000000);
  select_sbdf(a, {1, 0, 0}, 1);  // SPI 5
  a.legacy_intx = true;
  Partition& b = description.partitions[1] = make_partition("b", {2}, 0x46000000);
  select_sbdf(b, {0, 3, 0}, 1);  // SPI 6, INTx denied: no claim
  Partition& c = description.partitions[2] = make_partition("c", {3}, 0x48000000);
  description.partition_count = 3;
  // c gets a platform device on SPI 5: a's INTx line.
  PlatformDeviceRef& rtc = c.platform_devices[c.platform_device_count++];
  std::strcpy(rtc.node, "platform-device@0");
  std::strcpy(rtc.device, "rtc");
  rtc.resolved = true;
  rtc.regions[rtc.region_count++] = {0x9010000, 0x1000};
  rtc.interrupts[rtc.interrupt_count++] = {5, 4};
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: partition a pci-irq 0000:01:00.0 pin A intx allowed spi 5"));
  CHECK(run.lines.has("bulkhead: partition b pci-irq 0000:00:03.0 pin A intx denied"));
  CHECK(run.lines.has("bulkhead: partition b start yes"));
  CHECK(run.lines.has("bulkhead: partition c platform rtc reg 0x9010000 size 0x1000"));
  CHECK(run.lines.has("bulkhead: error: partition c: platform-device@0 (rtc): SPI 5 is also used by partition a"));
  CHECK(run.lines.has("bulkhead: partition c start no reason platform-device@0 (rtc): SPI 5 is also used by partition a"));

  // Two partitions that both allow INTx on the same line: the second is refused.
  SystemDescription shared;
  shared.partitions[0] = make_partition("x", {1}, 0x44000000);
  select_sbdf(shared.partitions[0], {1, 0, 0}, 1);
  shared.partitions[0].legacy_intx = true;
  machine.topology.functions[4].interrupt.spi = 5;  // NVMe on SPI 5 too
  shared.partitions[1] = make_partition("y", {2}, 0x46000000);
  select_sbdf(shared.partitions[1], {0, 3, 0}, 1);
  shared.partitions[1].legacy_intx = true;
  shared.partition_count = 2;
  TestPackage shared_package(shared);
  Run second;
  second.go(shared, shared_package, machine);
  CHECK(second.lines.has("bulkhead: error: partition y: pci-device@0: 0000:00:03.0 INTx SPI 5 is also used by "
                         "partition x; INTx lines cannot be shared"));
  CHECK(second.lines.has("bulkhead: partition x start yes"));
}

TEST_CASE("boot plan: a corrupted payload stops only its partition") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[1] = make_partition("b", {2}, 0x46000000);
  description.partitions[1].payload.has_initrd = true;
  description.partition_count = 2;
  TestPackage package(description);
  package.corrupt(description.partitions[1].payload.initrd_entry);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: partition a start yes"));
  CHECK(run.lines.text.find("bulkhead: partition b initrd initrd-1.gz entry 3 size 0x1800 load 0x40dfe000 crc bad\n") !=
        std::string::npos);
  CHECK(run.lines.text.find("bulkhead: partition b start no reason initrd initrd-1.gz (package entry 3): ") !=
        std::string::npos);
  // Each payload is checked once, on its way into the partition's RAM: b's kernel was
  // copied before its initrd proved corrupt, and b is neither loaded nor started.
  CHECK_FALSE(run.plan.partitions[1].loaded);
  CHECK(run.plan.partitions[0].loaded);
}

TEST_CASE("boot plan: a copy that does not match its CRC stops the partition") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.ram.damage_copies = true;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: kernel-0.bin: copy at host 0x44000000 does not match its CRC"));
  CHECK(run.lines.has("bulkhead: partition a start no reason kernel-0.bin: copy at host 0x44000000 does not match its CRC"));
  CHECK_FALSE(run.plan.partitions[0].loaded);
}

TEST_CASE("boot plan: a payload that does not fit is refused") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[0].ram.size = 0x200000;  // only the DTB area
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition a: payload kernel-0.bin: does not fit in the partition's RAM"));
}

TEST_CASE("boot plan: a reload puts a used partition's RAM back exactly as loaded, touching nothing else") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[0].payload.has_initrd = true;
  description.partitions[1] = make_partition("b", {2}, 0x45000000);
  description.partition_count = 2;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  REQUIRE(run.plan.partitions[0].loaded);
  REQUIRE(run.plan.partitions[1].loaded);
  const std::vector<uint8_t> pristine(run.ram.at(0x44000000, 0x1000000), run.ram.at(0x44000000, 0x1000000) + 0x1000000);
  const std::vector<uint8_t> neighbour(run.ram.at(0x45000000, 0x1000000), run.ram.at(0x45000000, 0x1000000) + 0x1000000);
  // The guest ran: it scribbled over its kernel, its free RAM and its device tree.
  std::memset(run.ram.at(0x44000000, 0x100), 0x5a, 0x100);
  std::memset(run.ram.at(0x44800000, 0x100), 0x5a, 0x100);
  std::memset(run.ram.at(0x44e00000, 0x40), 0x5a, 0x40);
  ReloadError error;
  REQUIRE(reload_partition(description.partitions[0], package.package, run.plan, 0, run.ram, error));
  CHECK(std::memcmp(run.ram.at(0x44000000, 0x1000000), pristine.data(), pristine.size()) == 0);
  CHECK(std::memcmp(run.ram.at(0x45000000, 0x1000000), neighbour.data(), neighbour.size()) == 0);
  // Each partition keeps its own device tree: b's reload brings b's back.
  std::memset(run.ram.at(0x45e00000, 0x40), 0x5a, 0x40);
  REQUIRE(reload_partition(description.partitions[1], package.package, run.plan, 1, run.ram, error));
  CHECK(std::memcmp(run.ram.at(0x45000000, 0x1000000), neighbour.data(), neighbour.size()) == 0);
  CHECK(run.plan.partitions[1].pristine_dtb_offset >= run.plan.partitions[0].dtb_size);
}

TEST_CASE("boot plan: a reload refuses a damaged package entry, a bad copy and a partition never loaded") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[1] = make_partition("refused", {7}, 0x45000000);
  description.partition_count = 2;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  REQUIRE(run.plan.partitions[0].loaded);
  ReloadError error;
  CHECK_FALSE(reload_partition(description.partitions[1], package.package, run.plan, 1, run.ram, error));
  CHECK(std::string(error.message) == "it was never loaded");
  run.ram.damage_copies = true;
  CHECK_FALSE(reload_partition(description.partitions[0], package.package, run.plan, 0, run.ram, error));
  CHECK(std::string(error.message) == "kernel-0.bin: copy at host 0x44000000 does not match its CRC");
  run.ram.damage_copies = false;
  package.corrupt(description.partitions[0].payload.kernel_entry);
  CHECK_FALSE(reload_partition(description.partitions[0], package.package, run.plan, 0, run.ram, error));
  CHECK(std::string(error.message) == "kernel-0.bin: copy at host 0x44000000 does not match its CRC");
}

TEST_CASE("boot plan: a cold boot that zeroes only the payload's BSS leaves the rest of the RAM as it was") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[0].payload.has_initrd = true;
  description.partition_count = 1;
  TestPackage package(description);
  Payload& payload = description.partitions[0].payload;
  payload.load_size = payload.file_size + 0x1800;  // 6 KiB of BSS after the file
  Run run;
  log::LineSink* previous = log::set_output(&run.lines);
  plan_partitions(description, machine.facts, run.plan);
  load_partitions(description, package.package, machine.facts, run.ram, run.plan, ScrubScope::payload_bss);
  log::set_output(previous);
  REQUIRE(run.plan.partitions[0].loaded);
  CHECK(run.lines.has("bulkhead: partition a start yes"));
  // The kernel's file, then its BSS zeroed, then the RAM as the firmware left it.
  CHECK(*run.ram.at(0x44000000 + payload.file_size - 1, 1) == 0x11);
  for (uint64_t at = payload.file_size; at < payload.load_size; at += 0x400) CHECK(*run.ram.at(0x44000000 + at, 1) == 0);
  CHECK(*run.ram.at(0x44000000 + payload.load_size - 1, 1) == 0x00);
  CHECK(*run.ram.at(0x44000000 + payload.load_size, 1) == 0xee);
  CHECK(*run.ram.at(0x44800000, 1) == 0xee);
  CHECK(*run.ram.at(0x44dfe000, 1) == 0xa0);  // the initrd
  CHECK(fdt_check_header(run.ram.at(0x44e00000, 0x1000)) == 0);
  CHECK(*run.ram.at(0x44ffffff, 1) == 0xee);
  // A restart scrubs everything the payloads do not overwrite, whatever the boot did.
  ReloadError error;
  REQUIRE(reload_partition(description.partitions[0], package.package, run.plan, 0, run.ram, error));
  CHECK(*run.ram.at(0x44000000 + payload.load_size, 1) == 0x00);
  CHECK(*run.ram.at(0x44800000, 1) == 0x00);
  CHECK(*run.ram.at(0x44ffffff, 1) == 0x00);
  CHECK(*run.ram.at(0x44000000, 1) == 0x11);
  CHECK(*run.ram.at(0x44dfe000, 1) == 0xa0);
  CHECK(fdt_check_header(run.ram.at(0x44e00000, 0x1000)) == 0);
}

TEST_CASE("boot plan: a full scrub zeroes around the payloads, not under them") {
  // A loader that records what it is asked to zero: the kernel's file and the initrd
  // are written by their copies, so zeroing them first would be wasted.
  class RecordingRam final : public GuestLoader {
   public:
    void scrub(uint64_t host, uint64_t size) override { scrubbed.push_back({host, size}); }
    void copy(uint64_t host, const void* data, uint64_t size) override { ram.copy(host, data, size); }
    uint32_t crc32(uint64_t host, uint64_t size) override { return ram.crc32(host, size); }
    std::vector<AddressRange> scrubbed;
    FakeRam ram;
  } recording;
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("a", {1}, 0x44000000);
  description.partitions[0].payload.has_initrd = true;
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  log::LineSink* previous = log::set_output(&run.lines);
  plan_partitions(description, machine.facts, run.plan);
  load_partitions(description, package.package, machine.facts, recording, run.plan);
  log::set_output(previous);
  REQUIRE(run.plan.partitions[0].loaded);
  // No kernel before the kernel (it is at the RAM base): the gap after its file up to
  // the initrd, and from the initrd's end to the RAM's end.
  REQUIRE(recording.scrubbed.size() == 2);
  CHECK(recording.scrubbed[0].base == 0x44000000 + 0x3000);
  CHECK(recording.scrubbed[0].end() == 0x44dfe000);
  CHECK(recording.scrubbed[1].base == 0x44dfe000 + 0x1800);
  CHECK(recording.scrubbed[1].end() == 0x45000000);
}

TEST_CASE("boot plan: with vPCI, each function's vBDF and guest BARs are reported, and the DT has the bridge") {
  Machine machine;
  machine.facts.virtual_pci = true;
  pci::Function& e1000e = machine.topology.functions[2];
  e1000e.interrupt.trigger = 4;
  e1000e.bars[1].kind = pci::BarKind::io;  // an I/O BAR, and a sub-page 64-bit prefetchable one
  e1000e.bars[1].size = 0x20;
  e1000e.bars[2].kind = pci::BarKind::mem64;
  e1000e.bars[2].prefetchable = true;
  e1000e.bars[2].size = 0x100;
  e1000e.bars[4].kind = pci::BarKind::mem64;  // 64-bit non-prefetchable: the 32-bit window
  e1000e.bars[4].size = 0x4000;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1}, 0x44000000);
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);
  select_sbdf(description.partitions[0], {0, 3, 0}, 7);
  description.partitions[0].legacy_intx = true;
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  const std::string tail =
      "bulkhead: partition rt pci 0000:01:00.0 vbdf 00:02.0 bar 0 guest-window mem32 size 0x20000 bar 1 guest-window "
      "io size 0x20 bar 2 guest-window mem64 size 0x1000 bar 4 guest-window mem32 size 0x4000\n"
      "bulkhead: partition rt pci 0000:00:03.0 vbdf 00:07.0 bar 0 guest-window mem32 size 0x20000\n"
      "bulkhead: partition rt start yes\n";
  REQUIRE(run.lines.text.size() > tail.size());
  CHECK(run.lines.text.substr(run.lines.text.size() - tail.size()) == tail);
  // The guest's bridge maps slot 2 INTA and slot 7 INTA to their SPIs.
  const uint8_t* dtb = run.ram.at(0x44e00000, 0x10000);
  const int pcie = fdt_path_offset(dtb, "/pcie@3f000000");
  REQUIRE(pcie >= 0);
  int length = 0;
  const auto* map = static_cast<const fdt32_t*>(fdt_getprop(dtb, pcie, "interrupt-map", &length));
  REQUIRE(map != nullptr);
  REQUIRE(length == 2 * 10 * 4);
  CHECK(fdt32_to_cpu(map[0]) == 2u << 11);
  CHECK(fdt32_to_cpu(map[3]) == 1);
  CHECK(fdt32_to_cpu(map[8]) == 5);
  CHECK(fdt32_to_cpu(map[9]) == 4);
  CHECK(fdt32_to_cpu(map[10]) == 7u << 11);
  CHECK(fdt32_to_cpu(map[18]) == 6);
  CHECK(fdt32_to_cpu(map[19]) == 4);  // no trigger from the host: INTx is level high
}

TEST_CASE("boot plan: without vPCI no vBDF line and no bridge") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1}, 0x44000000);
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.text.find(" vbdf ") == std::string::npos);
  CHECK(fdt_path_offset(run.ram.at(0x44e00000, 0x10000), "/pcie@3f000000") < 0);
}

TEST_CASE("boot plan: an INTx line on the guest's virtual UART SPI is refused") {
  Machine machine;
  machine.topology.functions[2].interrupt.spi = guest_uart_spi;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1}, 0x44000000);
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);
  description.partitions[0].legacy_intx = true;
  description.partitions[1] = make_partition("quiet", {2}, 0x46000000);
  select_sbdf(description.partitions[1], {0, 2, 0}, 2);
  description.partitions[1].legacy_intx = true;
  description.partitions[1].console = GuestConsole::none;
  machine.topology.functions[3].usable = true;
  machine.topology.functions[3].interrupt.spi = guest_uart_spi;  // without a console: fine
  description.partition_count = 2;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition rt: pci-device@0: 0000:01:00.0 INTx SPI 1 is the guest's virtual "
                      "UART interrupt"));
  CHECK(run.lines.has("bulkhead: partition quiet start yes"));
}

TEST_CASE("boot plan: an INTx line inside the partition's msi-spis is refused") {
  Machine machine;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1}, 0x44000000);
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);  // INTx SPI 5
  description.partitions[0].legacy_intx = true;
  description.partitions[0].msi_spis = {true, true, 0, 8};
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: error: partition rt: pci-device@0: 0000:01:00.0 INTx SPI 5 is inside the "
                      "partition's msi-spis 0-7"));
  CHECK(run.lines.text.find("bulkhead: partition rt start no reason ") != std::string::npos);
}

TEST_CASE("boot plan: with message interrupts the guest's GIC offers its msi-spis to its PCI bridge") {
  Machine machine;
  machine.facts.virtual_pci = true;
  machine.facts.message_interrupts = true;
  SystemDescription description;
  description.partitions[0] = make_partition("rt", {1}, 0x44000000);
  select_sbdf(description.partitions[0], {1, 0, 0}, 2);
  description.partitions[0].msi_spis = {false, true, 32, 64};
  description.partition_count = 1;
  TestPackage package(description);
  Run run;
  run.go(description, package, machine);
  CHECK(run.lines.has("bulkhead: partition rt start yes"));
  const uint8_t* dtb = run.ram.at(0x44e00000, 0x10000);
  const int gic = fdt_path_offset(dtb, "/intc@8000000");
  const int pcie = fdt_path_offset(dtb, "/pcie@3f000000");
  REQUIRE(gic >= 0);
  REQUIRE(pcie >= 0);
  int length = 0;
  const auto* ranges = static_cast<const fdt32_t*>(fdt_getprop(dtb, gic, "mbi-ranges", &length));
  REQUIRE(ranges != nullptr);
  REQUIRE(length == 8);
  CHECK(fdt32_to_cpu(ranges[0]) == 64);
  CHECK(fdt32_to_cpu(ranges[1]) == 64);
  CHECK(fdt_getprop(dtb, gic, "msi-controller", &length) != nullptr);
  const auto* parent = static_cast<const fdt32_t*>(fdt_getprop(dtb, pcie, "msi-parent", &length));
  REQUIRE(parent != nullptr);
  CHECK(fdt32_to_cpu(parent[0]) == guest_gic_phandle);
}
