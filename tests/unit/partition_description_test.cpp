// The description reader: schema problems are reported with their node, rule and
// property, all of them; values are read into the typed tables.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "partition_support.hpp"

using namespace partition_test;
using Lines = std::vector<std::string>;

namespace {

Lines read_lines(const Blob& blob, bp::DescriptionForm form = bp::DescriptionForm::source) {
  auto description = std::make_unique<bp::SystemDescription>();
  Collected violations;
  const bool valid = bp::read_description(blob.data(), blob.size, form, *description, violations);
  CHECK(valid == violations.lines.empty());
  return violations.lines;
}

Lines read_lines(const std::string& dts) { return read_lines(compile_dts(dts)); }

// A DTB built node by node with libfdt's sequential writer, for what dtc refuses to make.
class RawTree {
 public:
  RawTree() : words_(4096) {
    REQUIRE(fdt_create(words_.data(), 32768) == 0);
    REQUIRE(fdt_finish_reservemap(words_.data()) == 0);
  }
  void begin(const char* name) { REQUIRE(fdt_begin_node(words_.data(), name) == 0); }
  void end() { REQUIRE(fdt_end_node(words_.data()) == 0); }
  void string(const char* name, const char* value) { REQUIRE(fdt_property_string(words_.data(), name, value) == 0); }
  void u32(const char* name, uint32_t value) { REQUIRE(fdt_property_u32(words_.data(), name, value) == 0); }
  void u64(const char* name, uint64_t value) { REQUIRE(fdt_property_u64(words_.data(), name, value) == 0); }
  Blob finish() {
    REQUIRE(fdt_finish(words_.data()) == 0);
    return Blob::of(words_.data(), fdt_totalsize(words_.data()));
  }

 private:
  std::vector<uint64_t> words_;
};

void raw_partition(RawTree& tree, const char* name, uint32_t cpu) {
  tree.begin(name);
  tree.u32("cpus", cpu);
  tree.u64("memory-size", 0x800000);
  tree.begin("payload");
  tree.string("format", "raw");
  tree.string("file", "heartbeat.bin");
  tree.end();
  tree.end();
}

}  // namespace

TEST_CASE("partition description: values are read into the typed tables") {
  const std::string dts = description(R"(
    web-1 {
      cpu-mpidrs = <0x2 0x3>;
      memory-size = <0x0 0x20000000>;
      memory-host-base = <0x0 0x80000000>;
      memory-guest-base = <0x1 0x0>;
      console = "none";
      legacy-intx = "allowed";
      restart-policy = "restart";
      payload { format = "raw"; file = "sub/web.bin"; load-offset = <0x0 0x80000>; bootargs = "quiet"; };
      pci-device@0 { sbdf = "0001:02:1f.7"; guest-slot = <4>; };
      pci-device@1 { vendor-device = <0x8086 0x10d3>; instance = <2>; };
      pci-device@2 { sbdf = "03:00.1"; vendor-device = <0x1af4 0x1000>; };
      platform-device@0 { device = "rtc"; };
    };
  )",
                                      "  hypervisor { console = \"uart\"; };\n");
  const Blob blob = compile_dts(dts);
  auto description = std::make_unique<bp::SystemDescription>();
  Collected violations;
  REQUIRE(bp::read_description(blob.data(), blob.size, bp::DescriptionForm::source, *description, violations));
  CHECK(std::string(description->board) == "qemu-virt");
  REQUIRE(description->partition_count == 1);
  const bp::Partition& p = description->partitions[0];
  CHECK(std::string(p.name) == "web-1");
  CHECK(p.cpu_selector == bp::CpuSelector::mpidrs);
  REQUIRE(p.cpu_count == 2);
  CHECK(p.cpus[1].mpidr == 3);
  CHECK(p.ram.size == 0x20000000);
  CHECK(p.ram.host_base_fixed);
  CHECK(p.ram.host_base == 0x80000000);
  CHECK(p.ram.guest_base == 0x100000000);
  CHECK(p.console == bp::GuestConsole::none);
  CHECK(p.legacy_intx);
  CHECK(p.restart == bp::RestartPolicy::restart);
  CHECK(p.payload.format == bp::PayloadFormat::raw);
  CHECK(std::string(p.payload.file) == "sub/web.bin");
  CHECK(p.payload.load_offset == 0x80000);
  CHECK(std::string(p.payload.bootargs) == "quiet");
  CHECK_FALSE(p.payload.has_initrd);
  REQUIRE(p.pci_device_count == 3);
  CHECK(std::string(p.pci_devices[0].node) == "pci-device@0");
  CHECK(p.pci_devices[0].sbdf == bulkhead::pci::Sbdf{1, {2, 0x1f, 7}});
  CHECK(p.pci_devices[0].slot_given);
  CHECK(p.pci_devices[0].guest_slot == 4);
  CHECK(p.pci_devices[1].has_ids);
  CHECK(p.pci_devices[1].vendor == 0x8086);
  CHECK(p.pci_devices[1].instance == 2);
  CHECK(p.pci_devices[2].sbdf == bulkhead::pci::Sbdf{0, {3, 0, 1}});
  CHECK(p.pci_devices[2].device == 0x1000);
  REQUIRE(p.platform_device_count == 1);
  CHECK(std::string(p.platform_devices[0].device) == "rtc");
}

TEST_CASE("partition description: defaults") {
  const Blob blob = compile_dts(description(linux_partition));
  auto description = std::make_unique<bp::SystemDescription>();
  Collected violations;
  REQUIRE(bp::read_description(blob.data(), blob.size, bp::DescriptionForm::source, *description, violations));
  const bp::Partition& p = description->partitions[0];
  CHECK(p.ram.guest_base == 0x40000000);
  CHECK_FALSE(p.ram.host_base_fixed);
  CHECK(p.console == bp::GuestConsole::virtual_uart);
  CHECK_FALSE(p.legacy_intx);
  CHECK(p.restart == bp::RestartPolicy::stop);
}

TEST_CASE("partition description: dtb") {
  const char garbage[] = "this is not a device tree at all, just text...";
  CHECK(read_lines(Blob::of(garbage, sizeof(garbage))) ==
        Lines{"test.dts: /: dtb: bad magic 0x74686973 (not a DTB; compile the DTS with dtc)"});
  Blob blob = compile_dts(description(linux_partition));
  const size_t real_size = blob.size;
  blob.size = 16;
  CHECK(read_lines(blob) == Lines{"test.dts: /: dtb: 16 bytes, fewer than the 40-byte DTB header"});
  blob.size = real_size - 8;
  CHECK(read_lines(blob).at(0).starts_with("test.dts: /: dtb: totalsize 0x"));
  blob.size = real_size;
  blob.bytes()[fdt_off_dt_struct(blob.data()) + 3] = 5;  // the root's FDT_BEGIN_NODE: an unknown token
  CHECK(read_lines(blob) == Lines{"test.dts: /: dtb: structure is corrupt: FDT_ERR_BADSTRUCTURE"});
}

TEST_CASE("partition description: compatible, schema-version and checked-by stop the reading") {
  CHECK(read_lines("/dts-v1/;\n/ { compatible = \"linux,dummy-virt\"; partitions { x {}; }; };") ==
        Lines{"test.dts: /: compatible: compatible does not list \"bulkhead,system-description\"; not a system "
              "description"});
  CHECK(read_lines("/dts-v1/;\n/ { board = \"qemu-virt\"; };") ==
        Lines{"test.dts: /: required: missing property compatible (\"bulkhead,system-description\")"});
  CHECK(read_lines("/dts-v1/;\n/ { compatible = \"bulkhead,system-description\"; bulkhead,schema-version = <2>; };") ==
        Lines{"test.dts: /: schema-version: bulkhead,schema-version 2 is not supported (this reader: 1)"});
  CHECK(read_lines("/dts-v1/;\n/ { compatible = \"bulkhead,system-description\"; };") ==
        Lines{"test.dts: /: required: missing property bulkhead,schema-version"});
  // A source description is not a normalized one.
  CHECK(read_lines(compile_dts(description(linux_partition)), bp::DescriptionForm::normalized) ==
        Lines{"test.dts: /: checked-by: bulkhead,checked-by is not \"bulkhead-config 1\"; the description is "
              "unchecked"});
}

TEST_CASE("partition description: required") {
  CHECK(read_lines("/dts-v1/;\n/ { compatible = \"bulkhead,system-description\"; bulkhead,schema-version = <1>; };") ==
        Lines{"test.dts: /: required: missing property board", "test.dts: /: required: missing node partitions"});
  CHECK(read_lines(description(R"(
    a { memory-size = <0x0 0x800000>; payload { }; platform-device@0 { }; };
    b { cpus = <1>; };
  )")) == Lines{
              "test.dts: /partitions/a: required: missing property cpus or cpu-mpidrs",
              "test.dts: /partitions/a/payload: required: missing property format",
              "test.dts: /partitions/a/payload: required: missing property file",
              "test.dts: /partitions/a/platform-device@0: required: missing property device",
              "test.dts: /partitions/b: required: missing property memory-size",
              "test.dts: /partitions/b: required: missing node payload",
          });
}

TEST_CASE("partition description: property-type") {
  CHECK(read_lines(description(R"(
    a { cpus = [01 02]; memory-size = <0x20000000>; memory-guest-base = <0 0 0>; console = <1>;
        payload { format = "raw", "linux-image"; file = "heartbeat.bin"; load-offset = <0x0>; };
        pci-device@0 { vendor-device = <0x8086 0x10d3 0x1>; guest-slot = <0 1>; }; };
  )")) ==
        Lines{
            "test.dts: /partitions/a: property-type: cpus: expected 32-bit cells, found 2 bytes",
            "test.dts: /partitions/a: property-type: memory-size: expected a 64-bit value <high low>, found 4 bytes",
            "test.dts: /partitions/a: property-type: memory-guest-base: expected a 64-bit value <high low>, found 12 "
            "bytes",
            "test.dts: /partitions/a: property-type: console: expected one string",
            "test.dts: /partitions/a/payload: property-type: format: expected one string",
            "test.dts: /partitions/a/payload: property-type: load-offset: expected a 64-bit value <high low>, found 4 "
            "bytes",
            "test.dts: /partitions/a/pci-device@0: property-type: vendor-device: expected <vendor device>, found 3 "
            "cells",
            "test.dts: /partitions/a/pci-device@0: property-type: guest-slot: expected one 32-bit cell, found 8 bytes",
        });
}

TEST_CASE("partition description: property-value") {
  const std::string long_arguments(1024, 'x');
  CHECK(read_lines(description(R"(
    a { cpu-mpidrs = <0x1000000>; memory-size = <0x0 0x800000>; console = "serial"; legacy-intx = "yes";
        restart-policy = "reboot";
        payload { format = "raw"; file = "/abs/heartbeat.bin"; bootargs = ")" +
                                   long_arguments + R"("; };
        pci-device@0 { vendor-device = <0x18086 0x10d3>; }; };
  )",
                               "  hypervisor { console = \"pl011\"; };\n")) ==
        Lines{
            "test.dts: /hypervisor: property-value: console: \"pl011\" is not uart",
            "test.dts: /partitions/a: property-value: cpu-mpidrs: 0x1000000 has bits above Aff2 (only Aff2.Aff1.Aff0 "
            "can be given)",
            "test.dts: /partitions/a: property-value: console: \"serial\" is not virtual-uart or none",
            "test.dts: /partitions/a: property-value: legacy-intx: \"yes\" is not denied or allowed",
            "test.dts: /partitions/a: property-value: restart-policy: \"reboot\" is not stop or restart",
            "test.dts: /partitions/a/payload: property-value: file: \"/abs/heartbeat.bin\" must be a relative file "
            "name",
            "test.dts: /partitions/a/payload: property-value: bootargs: \"" + std::string(64, 'x') +
                "...\" is longer than 1023 characters",
            "test.dts: /partitions/a/pci-device@0: property-value: vendor-device: 0x18086 0x10d3 are not 16-bit IDs",
        });
}

TEST_CASE("partition description: unknown-property and unknown-node") {
  CHECK(read_lines(description(R"(
    a { cpus = <1>; memory-sise = <0x0 0x800000>; memory-size = <0x0 0x800000>;
        payload { format = "raw"; file = "heartbeat.bin"; load-size = <0x0 0x1000>; };
        vcpu { };
        pci-device@0 { sbdf = "0000:01:00.0"; bar { }; }; };
  )",
                               "  colour = \"blue\";\n  smmu { };\n")) ==
        Lines{
            "test.dts: /: unknown-property: colour is not a property of this node",
            "test.dts: /smmu: unknown-node: not a node of the description schema",
            "test.dts: /partitions/a: unknown-property: memory-sise is not a property of this node",
            "test.dts: /partitions/a/payload: unknown-property: load-size is not a property of this node",
            "test.dts: /partitions/a/vcpu: unknown-node: not a node of the description schema",
            "test.dts: /partitions/a/pci-device@0/bar: unknown-node: not a node of the description schema",
        });
}

TEST_CASE("partition description: capacity") {
  std::string partitions;
  for (int i = 0; i < 9; ++i) {
    partitions += "    p" + std::to_string(i) + R"( { cpus = <0>; memory-size = <0x0 0x800000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
)";
  }
  CHECK(read_lines(description(partitions)) ==
        Lines{"test.dts: /partitions/p8: capacity: more than 8 partitions; this and later ones are not read"});
  std::string devices;
  for (int i = 0; i < 17; ++i) devices += "pci-device@" + std::to_string(i) + " { sbdf = \"00:01.0\"; };\n";
  for (int i = 0; i < 5; ++i) devices += "platform-device@" + std::to_string(i) + " { device = \"rtc\"; };\n";
  CHECK(read_lines(description(R"(
    a { cpus = <0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16>; memory-size = <0x0 0x800000>;
        payload { format = "raw"; file = "heartbeat.bin"; };
)" + devices + "    };\n")) == Lines{
                                   "test.dts: /partitions/a: capacity: cpus: 17 CPUs, at most 16 per partition",
                                   "test.dts: /partitions/a/pci-device@16: capacity: more than 16 pci-device nodes in "
                                   "one partition",
                                   "test.dts: /partitions/a/platform-device@4: capacity: more than 4 platform-device "
                                   "nodes in one partition",
                               });
}

TEST_CASE("partition description: name-syntax") {
  CHECK(read_lines(description(R"(
    Linux { cpus = <1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    linux@1 { cpus = <2>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
    a-very-long-partition { cpus = <3>; memory-size = <0x0 0x800000>;
        payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0123456789abcdef0123456789 { sbdf = "00:01.0"; }; };
  )")) == Lines{
              "test.dts: /partitions/Linux: name-syntax: partition name \"Linux\" is not 1 to 15 of a-z, 0-9 and -",
              "test.dts: /partitions/linux@1: name-syntax: partition name \"linux@1\" is not 1 to 15 of a-z, 0-9 and -",
              "test.dts: /partitions/a-very-long-partition: name-syntax: partition name \"a-very-long-partition\" is "
              "not 1 to 15 of a-z, 0-9 and -",
              "test.dts: /partitions/a-very-long-partition/pci-device@0123456789abcdef0123456789: name-syntax: node "
              "name is longer than 31 characters",
          });
}

TEST_CASE("partition description: name-unique (a blob dtc would not make)") {
  RawTree tree;
  tree.begin("");
  tree.string("compatible", "bulkhead,system-description");
  tree.u32("bulkhead,schema-version", 1);
  tree.string("board", "qemu-virt");
  tree.begin("partitions");
  raw_partition(tree, "twin", 1);
  raw_partition(tree, "other", 2);
  raw_partition(tree, "twin", 3);
  tree.end();
  tree.end();
  CHECK(read_lines(tree.finish()) ==
        Lines{"test.dts: /partitions/twin: name-unique: another partition is also named twin"});
}

TEST_CASE("partition description: cpu-selector") {
  CHECK(read_lines(description(R"(
    a { cpus = <1>; cpu-mpidrs = <0x1>; memory-size = <0x0 0x800000>;
        payload { format = "raw"; file = "heartbeat.bin"; }; };
    b { cpus = <>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{
              "test.dts: /partitions/a: cpu-selector: give either cpus or cpu-mpidrs, not both",
              "test.dts: /partitions/b: cpu-selector: cpus: lists no CPU",
          });
}

TEST_CASE("partition description: pci-selector") {
  CHECK(read_lines(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { guest-slot = <3>; };
        pci-device@1 { sbdf = "0000:01:20.0"; };
        pci-device@2 { sbdf = "1:2:3:4"; };
        pci-device@3 { instance = <1>; sbdf = "00:01.0"; };
        pci-device@4 { sbdf = "00:02.0"; vendor-device = <0x8086 0x10d3>; instance = <1>; }; };
  )")) == Lines{
              "test.dts: /partitions/a/pci-device@0: pci-selector: needs sbdf, vendor-device, or both",
              "test.dts: /partitions/a/pci-device@1: pci-selector: sbdf: \"0000:01:20.0\" is not SSSS:BB:DD.F or "
              "BB:DD.F (hex)",
              "test.dts: /partitions/a/pci-device@2: pci-selector: sbdf: \"1:2:3:4\" is not SSSS:BB:DD.F or BB:DD.F "
              "(hex)",
              "test.dts: /partitions/a/pci-device@3: pci-selector: instance needs vendor-device",
              "test.dts: /partitions/a/pci-device@4: pci-selector: instance cannot be combined with sbdf (the address "
              "names one function)",
          });
}

TEST_CASE("partition description: pci-reset (reset = \"none\" or nothing)") {
  auto read = std::make_unique<bp::SystemDescription>();
  Collected violations;
  const Blob good = compile_dts(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { sbdf = "00:01.0"; reset = "none"; };
        pci-device@1 { sbdf = "00:02.0"; }; };
  )"));
  REQUIRE(bp::read_description(good.data(), good.size, bp::DescriptionForm::source, *read, violations));
  CHECK(violations.lines == Lines{});
  CHECK(read->partitions[0].pci_devices[0].reset_none);
  CHECK_FALSE(read->partitions[0].pci_devices[1].reset_none);
  CHECK(read_lines(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; payload { format = "raw"; file = "heartbeat.bin"; };
        pci-device@0 { sbdf = "00:01.0"; reset = "flr"; };
        pci-device@1 { sbdf = "00:02.0"; reset = <0>; };
        pci-device@2 { sbdf = "00:03.0"; reset = "None"; }; };
  )")) == Lines{
              "test.dts: /partitions/a/pci-device@0: pci-reset: reset: \"flr\" is not none (the hypervisor chooses "
              "the reset method from the hardware; \"none\" hands the function over without one)",
              "test.dts: /partitions/a/pci-device@1: property-type: reset: expected one string",
              "test.dts: /partitions/a/pci-device@2: pci-reset: reset: \"None\" is not none (the hypervisor chooses "
              "the reset method from the hardware; \"none\" hands the function over without one)",
          });
}

TEST_CASE("partition description: strings from the blob are sanitized in lines") {
  CHECK(read_lines(description(R"(
    a { cpus = <1>; memory-size = <0x0 0x800000>; console = "tab\there";
        payload { format = "raw"; file = "heartbeat.bin"; }; };
  )")) == Lines{"test.dts: /partitions/a: property-value: console: \"tab?here\" is not virtual-uart or none"});
}
