// The package and the normalized description: written with the tool's code, read back
// with the boot's readers; corruption is caught where it should be.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/lib/crc32.hpp"
#include "partition_support.hpp"
#include "partitions/normalize.hpp"
#include "partitions/package.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

const std::string rich_description = description(R"(
    linux {
      cpus = <1 2>;
      memory-size = <0x0 0x20000000>;
      console = "virtual-uart";
      restart-policy = "restart";
      payload { format = "linux-image"; file = "linux-Image"; initrd = "initramfs.cpio.gz";
                bootargs = "console=ttyAMA0 root=/dev/vda"; };
      pci-device@0 { sbdf = "0000:00:02.0"; guest-slot = <3>; };
      pci-device@1 { vendor-device = <0x8086 0x10d3>; instance = <1>; reset = "none"; };
      platform-device@0 { device = "rtc"; };
    };
    heartbeat {
      cpu-mpidrs = <0x3>;
      memory-size = <0x0 0x800000>;
      memory-host-base = <0x0 0x80000000>;
      memory-guest-base = <0x0 0x80000000>;
      console = "none";
      legacy-intx = "allowed";
      payload { format = "raw"; file = "heartbeat.bin"; load-offset = <0x0 0x1000>; };
    };
)");

std::vector<unsigned char> content(uint64_t size, unsigned seed) {
  std::vector<unsigned char> bytes(size);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 31 + seed);
  return bytes;
}

struct Built {
  std::unique_ptr<bp::SystemDescription> description = std::make_unique<bp::SystemDescription>();
  Blob normalized;
  std::vector<std::vector<unsigned char>> payloads;
  Blob package;
};

Built build(const std::string& dts) {
  Built built;
  REQUIRE(check(dts, *built.description) == Lines{});
  bp::assign_package_entries(*built.description);
  std::vector<uint64_t> buffer(1 << 14);
  size_t size = 0;
  REQUIRE(bp::write_normalized_description(*built.description, buffer.data(), buffer.size() * 8, size));
  built.normalized = Blob::of(buffer.data(), size);
  bp::PackageInput inputs[bp::max_package_entries];
  const size_t count = bp::package_inputs(*built.description, built.normalized.data(), size, inputs);
  for (size_t i = 1; i < count; ++i) built.payloads.push_back(content(inputs[i].size, static_cast<unsigned>(i)));
  for (size_t i = 1; i < count; ++i) inputs[i].data = built.payloads[i - 1].data();
  const uint64_t total = bp::package_size(inputs, count);
  REQUIRE(total != 0);
  built.package.words.resize(total / 8 + 1);
  built.package.size = total;
  bp::PackageError error;
  REQUIRE_MESSAGE(bp::write_package(inputs, count, built.package.data(), total, error), error.message);
  return built;
}

std::string open_error(const Blob& package) {
  bp::Package opened;
  bp::PackageError error;
  return bp::open_package(package.data(), package.size, opened, error) ? "" : error.message;
}

void store32(Blob& blob, size_t offset, uint32_t value) { std::memcpy(blob.bytes() + offset, &value, 4); }
void store64(Blob& blob, size_t offset, uint64_t value) { std::memcpy(blob.bytes() + offset, &value, 8); }

// Recomputes the header CRC after an edit, so a test reaches the check it aims at.
void reseal(Blob& package) {
  uint32_t count = 0;
  std::memcpy(&count, package.bytes() + 12, 4);
  store32(package, 20, 0);
  store32(package, 20, bulkhead::crc32(package.bytes(), 24 + 32 * count));
}

size_t entry_field(size_t index, size_t field) { return 24 + 32 * index + field; }

}  // namespace

TEST_CASE("partition package: round trip through open_package and verify_entry") {
  const Built built = build(rich_description);
  bp::Package package;
  bp::PackageError error;
  REQUIRE_MESSAGE(bp::open_package(built.package.data(), built.package.size, package, error), error.message);
  REQUIRE(package.entry_count == 4);
  CHECK(package.entries[0].kind == bp::EntryKind::description);
  CHECK(package.entries[0].partition_index == bp::no_partition);
  CHECK(package.entries[0].offset == 0x1000);
  CHECK(package.entries[1].kind == bp::EntryKind::kernel);
  CHECK(package.entries[1].partition_index == 0);
  CHECK(package.entries[2].kind == bp::EntryKind::initrd);
  CHECK(package.entries[3].kind == bp::EntryKind::kernel);
  CHECK(package.entries[3].partition_index == 1);
  CHECK(std::memcmp(package.entry_data(0), built.normalized.data(), built.normalized.size) == 0);
  for (size_t i = 1; i < package.entry_count; ++i) {
    CAPTURE(i);
    CHECK(package.entries[i].offset % 0x1000 == 0);
    CHECK(bp::verify_entry(package, i, error));
    REQUIRE(package.entries[i].size == built.payloads[i - 1].size());
    CHECK(std::memcmp(package.entry_data(i), built.payloads[i - 1].data(), built.payloads[i - 1].size()) == 0);
  }
  CHECK_FALSE(bp::verify_entry(package, 4, error));
  CHECK(std::string(error.message) == "entry 4 does not exist (4 entries)");
}

TEST_CASE("partition package: the normalized description reads back as the checked intent") {
  const Built built = build(rich_description);
  bp::Package package;
  bp::PackageError error;
  REQUIRE(bp::open_package(built.package.data(), built.package.size, package, error));
  auto read = std::make_unique<bp::SystemDescription>();
  Collected violations;
  REQUIRE(bp::read_package_description(package, *read, violations));
  CHECK(violations.lines == Lines{});
  const bp::SystemDescription& want = *built.description;
  CHECK(read->form == bp::DescriptionForm::normalized);
  CHECK(std::string(read->board) == want.board);
  REQUIRE(read->hypervisor_reserved_count == 1);
  CHECK(read->hypervisor_reserved[0].end() == 0x4c000000);
  REQUIRE(read->partition_count == want.partition_count);
  for (size_t i = 0; i < want.partition_count; ++i) {
    CAPTURE(i);
    const bp::Partition& got = read->partitions[i];
    const bp::Partition& expected = want.partitions[i];
    CHECK(std::string(got.name) == expected.name);
    REQUIRE(got.cpu_count == expected.cpu_count);
    for (size_t c = 0; c < got.cpu_count; ++c) {
      CHECK(got.cpus[c].index == expected.cpus[c].index);
      CHECK(got.cpus[c].mpidr == expected.cpus[c].mpidr);
    }
    CHECK(got.ram.size == expected.ram.size);
    CHECK(got.ram.host_base == expected.ram.host_base);
    CHECK(got.ram.guest_base == expected.ram.guest_base);
    CHECK(got.console == expected.console);
    CHECK(got.legacy_intx == expected.legacy_intx);
    CHECK(got.restart == expected.restart);
    CHECK(got.payload.format == expected.payload.format);
    CHECK(std::string(got.payload.file) == expected.payload.file);
    CHECK(std::string(got.payload.initrd) == expected.payload.initrd);
    CHECK(std::string(got.payload.bootargs) == expected.payload.bootargs);
    CHECK(got.payload.load_offset == expected.payload.load_offset);
    CHECK(got.payload.load_size == expected.payload.load_size);
    CHECK(got.payload.file_size == expected.payload.file_size);
    CHECK(got.payload.initrd_size == expected.payload.initrd_size);
    CHECK(got.payload.kernel_entry == expected.payload.kernel_entry);
    CHECK(got.payload.initrd_entry == expected.payload.initrd_entry);
    REQUIRE(got.pci_device_count == expected.pci_device_count);
    for (size_t d = 0; d < got.pci_device_count; ++d) {
      CHECK(std::string(got.pci_devices[d].node) == expected.pci_devices[d].node);
      CHECK(got.pci_devices[d].has_sbdf == expected.pci_devices[d].has_sbdf);
      CHECK(got.pci_devices[d].sbdf == expected.pci_devices[d].sbdf);
      CHECK(got.pci_devices[d].has_ids == expected.pci_devices[d].has_ids);
      CHECK(got.pci_devices[d].vendor == expected.pci_devices[d].vendor);
      CHECK(got.pci_devices[d].instance == expected.pci_devices[d].instance);
      CHECK(got.pci_devices[d].guest_slot == expected.pci_devices[d].guest_slot);
      CHECK(got.pci_devices[d].reset_none == expected.pci_devices[d].reset_none);
    }
    REQUIRE(got.platform_device_count == expected.platform_device_count);
    for (size_t d = 0; d < got.platform_device_count; ++d) {
      const bp::PlatformDeviceRef& a = got.platform_devices[d];
      const bp::PlatformDeviceRef& b = expected.platform_devices[d];
      CHECK(std::string(a.device) == b.device);
      CHECK(std::string(a.compatible, a.compatible_length) == std::string(b.compatible, b.compatible_length));
      REQUIRE(a.region_count == b.region_count);
      CHECK(a.regions[0].base == b.regions[0].base);
      CHECK(a.regions[0].size == b.regions[0].size);
      REQUIRE(a.interrupt_count == b.interrupt_count);
      CHECK(a.interrupts[0].spi == b.interrupts[0].spi);
      CHECK(a.interrupts[0].flags == b.interrupts[0].flags);
    }
  }
  CHECK(read->partitions[0].pci_devices[1].guest_slot == 1);  // automatic
  CHECK_FALSE(read->partitions[0].pci_devices[0].reset_none);
  CHECK(read->partitions[0].pci_devices[1].reset_none);  // reset = "none" kept in the normalized form
  CHECK(read->partitions[1].payload.load_offset == 0x1000);
  CHECK(read->partitions[0].payload.load_size == 0x1400000);  // the Image's image_size

  // Normalizing a normalized description changes nothing.
  std::vector<uint64_t> again(1 << 14);
  size_t size = 0;
  REQUIRE(bp::write_normalized_description(*read, again.data(), again.size() * 8, size));
  REQUIRE(size == built.normalized.size);
  CHECK(std::memcmp(again.data(), built.normalized.data(), size) == 0);
}

TEST_CASE("partition package: a flipped byte is caught where it lands") {
  const Built built = build(rich_description);
  bp::Package package;
  bp::PackageError error;

  Blob header = built.package;
  header.bytes()[entry_field(2, 8)] ^= 0x10;  // an offset in the entry table
  const std::string header_error = open_error(header);
  CHECK(header_error.starts_with("header crc32 0x"));
  CHECK(header_error.ends_with(": header or entry table corrupt"));

  Blob description = built.package;
  description.bytes()[0x1000 + 100] ^= 0x01;
  const std::string description_error = open_error(description);
  CHECK(description_error.starts_with("entry 0 (description): crc32 0x"));
  CHECK(description_error.ends_with(": data corrupt"));

  Blob payload = built.package;
  bp::Package intact;
  REQUIRE(bp::open_package(built.package.data(), built.package.size, intact, error));
  payload.bytes()[intact.entries[2].offset + intact.entries[2].size - 1] ^= 0x80;  // the initrd's last byte
  REQUIRE_MESSAGE(bp::open_package(payload.data(), payload.size, package, error), error.message);
  CHECK(bp::verify_entry(package, 1, error));
  CHECK_FALSE(bp::verify_entry(package, 2, error));
  CHECK(std::string(error.message).starts_with("entry 2 (initrd of partition 0): crc32 0x"));
  CHECK(bp::verify_entry(package, 3, error));
}

TEST_CASE("partition package: layout problems") {
  const Built built = build(rich_description);
  CHECK(open_error(built.package) == "");
  Blob blob = built.package;

  blob.bytes()[4] = 'X';
  CHECK(open_error(blob) == "bad magic (not a package)");
  blob = built.package;
  store32(blob, 8, 2);
  CHECK(open_error(blob) == "version 2 is not supported (1)");
  blob = built.package;
  blob.size -= 1;
  CHECK(open_error(blob).starts_with("total_size 0x"));
  blob = built.package;
  blob.size = 10;
  CHECK(open_error(blob) == "10 bytes, fewer than the 24-byte header");
  blob = built.package;
  store32(blob, 12, 0);
  CHECK(open_error(blob) == "0 entries, expected 1 to 17");

  blob = built.package;
  store64(blob, entry_field(1, 8), 0x2800);
  reseal(blob);
  CHECK(open_error(blob) == "entry 1: offset 0x2800 is not 4 KiB aligned");
  blob = built.package;
  store64(blob, entry_field(2, 8), 0x1000);
  reseal(blob);
  CHECK(open_error(blob).starts_with("entry 2: offset 0x1000 size 0x2000 overlaps the previous data or leaves"));
  blob = built.package;
  store64(blob, entry_field(3, 16), 0x100000);
  reseal(blob);
  CHECK(open_error(blob).starts_with("entry 3: offset 0x"));
  blob = built.package;
  store32(blob, entry_field(1, 0), 7);
  reseal(blob);
  CHECK(open_error(blob) == "entry 1: unknown kind 7");
  blob = built.package;
  store32(blob, entry_field(1, 28), 1);
  reseal(blob);
  CHECK(open_error(blob) == "entry 1: reserved field is not zero");
  blob = built.package;
  store32(blob, entry_field(1, 0), 1);
  reseal(blob);
  CHECK(open_error(blob) == "entry 1: the description must be entry 0 and only it");
  blob = built.package;
  store32(blob, entry_field(3, 4), 0);
  reseal(blob);
  CHECK(open_error(blob) == "entry 3: a second kernel for partition 0");
  blob = built.package;
  store32(blob, entry_field(3, 4), 8);
  reseal(blob);
  CHECK(open_error(blob) == "entry 3: partition index 8 is invalid for its kind");

  // Misaligned in memory: the description is a DTB.
  std::vector<uint64_t> shifted(built.package.words.size() + 1);
  std::memcpy(reinterpret_cast<unsigned char*>(shifted.data()) + 4, built.package.data(), built.package.size);
  bp::Package package;
  bp::PackageError error;
  CHECK_FALSE(
      bp::open_package(reinterpret_cast<unsigned char*>(shifted.data()) + 4, built.package.size, package, error));
  CHECK(std::string(error.message) == "package address is not 8-byte aligned");
}

TEST_CASE("partition package: the boot re-checks a normalized description it did not get from the tool") {
  const Built built = build(rich_description);
  // Edit the normalized description: heartbeat's RAM into the hypervisor, a wrong entry.
  std::vector<uint64_t> edited(built.normalized.words.size() + 512);
  REQUIRE(fdt_open_into(built.normalized.data(), edited.data(), static_cast<int>(edited.size() * 8)) == 0);
  const int heartbeat = fdt_path_offset(edited.data(), "/partitions/heartbeat");
  const int payload = fdt_path_offset(edited.data(), "/partitions/heartbeat/payload");
  REQUIRE(fdt_setprop_u64(edited.data(), heartbeat, "memory-host-base", 0x40000000) == 0);
  REQUIRE(fdt_setprop_u32(edited.data(), payload, "payload-entry", 2) == 0);
  REQUIRE(fdt_pack(edited.data()) == 0);
  const size_t size = fdt_totalsize(edited.data());

  bp::PackageInput inputs[bp::max_package_entries];
  const size_t count = bp::package_inputs(*built.description, edited.data(), size, inputs);
  for (size_t i = 1; i < count; ++i) inputs[i].data = built.payloads[i - 1].data();
  const uint64_t total = bp::package_size(inputs, count);
  Blob blob;
  blob.words.resize(total / 8 + 1);
  blob.size = total;
  bp::PackageError error;
  REQUIRE(bp::write_package(inputs, count, blob.data(), total, error));
  bp::Package package;
  REQUIRE(bp::open_package(blob.data(), blob.size, package, error));
  auto read = std::make_unique<bp::SystemDescription>();
  Collected violations;
  CHECK_FALSE(bp::read_package_description(package, *read, violations));
  CHECK(violations.lines ==
        Lines{
            "test.dts: /partitions/heartbeat/payload: package-entry: payload-entry 2 is not this partition's kernel in "
            "the package",
            "test.dts: /: package-entry: entry 3 belongs to no payload",
            "test.dts: /partitions/heartbeat: ram-overlap: RAM 0x40000000 size 0x800000 overlaps the hypervisor's "
            "reserved 0x40000000 size 0xc000000",
        });
}

TEST_CASE("partition package: the normalized form demands every resolved value") {
  const std::string dts = R"(/dts-v1/;
/ { compatible = "bulkhead,system-description"; bulkhead,schema-version = <1>;
    bulkhead,checked-by = "bulkhead-config 1"; board = "qemu-virt";
    partitions { a { cpus = <1>; memory-size = <0x0 0x800000>;
      payload { format = "raw"; file = "x.bin"; };
      pci-device@0 { vendor-device = <0x8086 0x10d3>; };
      platform-device@0 { device = "rtc"; }; }; }; };)";
  const Blob blob = compile_dts(dts);
  auto read = std::make_unique<bp::SystemDescription>();
  Collected violations;
  CHECK_FALSE(bp::read_normalized_description(blob.data(), blob.size, *read, violations));
  CHECK(violations.lines ==
        Lines{
            "test.dts: /partitions/a: cpu-selector: cpus and cpu-mpidrs must both list every CPU (normalized form)",
            "test.dts: /partitions/a: required: missing property memory-host-base (normalized form)",
            "test.dts: /partitions/a: required: missing property memory-guest-base (normalized form)",
            "test.dts: /partitions/a: required: missing property console (normalized form)",
            "test.dts: /partitions/a: required: missing property legacy-intx (normalized form)",
            "test.dts: /partitions/a: required: missing property restart-policy (normalized form)",
            "test.dts: /partitions/a/payload: required: missing property load-offset (normalized form)",
            "test.dts: /partitions/a/payload: required: missing property load-size (normalized form)",
            "test.dts: /partitions/a/payload: required: missing property payload-entry (normalized form)",
            "test.dts: /partitions/a/pci-device@0: required: missing property instance (normalized form)",
            "test.dts: /partitions/a/pci-device@0: required: missing property guest-slot (normalized form)",
            "test.dts: /partitions/a/platform-device@0: required: missing property compatible (normalized form)",
            "test.dts: /partitions/a/platform-device@0: required: missing property mmio (normalized form)",
            "test.dts: /hypervisor: required: missing property reserved (normalized form)",
        });
}

TEST_CASE("partition package: write_package refuses what does not fit") {
  const unsigned char data[16] = {};
  bp::PackageInput inputs[2] = {{bp::EntryKind::description, bp::no_partition, data, sizeof(data)},
                                {bp::EntryKind::kernel, 0, data, sizeof(data)}};
  CHECK(bp::package_size(inputs, 2) == 0x2010);
  std::vector<uint64_t> out(0x2010 / 8);
  bp::PackageError error;
  CHECK_FALSE(bp::write_package(inputs, 2, out.data(), 0x2000, error));
  CHECK(std::string(error.message) == "needs 8208 bytes, the buffer has 8192");
  inputs[1].size = uint64_t{1} << 32;
  CHECK(bp::package_size(inputs, 2) == 0);
}
