// The firmware DT reader against QEMU's own virt DTB edited one property at a time with
// libfdt: each edit must be rejected (or accepted) with a precise message.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/platform/firmware_dt.hpp"
#include "tests/unit/firmware_dt_support.hpp"

using namespace bulkhead;
using namespace bulkhead::firmware_dt_test;

namespace {

std::vector<uint32_t> repeated(const std::vector<uint32_t>& entry, int times, size_t step_cell = 0, uint32_t step = 0) {
  std::vector<uint32_t> cells;
  for (int i = 0; i < times; ++i) {
    cells.insert(cells.end(), entry.begin(), entry.end());
    cells[cells.size() - entry.size() + step_cell] += step * static_cast<uint32_t>(i);
  }
  return cells;
}

// One property of QEMU's smp4 DTB set to `cells`, and the message expected. Its phandles:
// GIC 0x8005, ITS 0x8006, SMMU 0x8007, PL061 0x8008.
struct CellEdit {
  const char* path;
  const char* property;
  std::vector<uint32_t> cells;
  const char* expected;
};

}  // namespace

TEST_CASE("firmware dt: edited QEMU DTBs are rejected with a precise message") {
  const std::vector<uint32_t> map_entry = {0, 0, 0, 1, 0x8005, 0, 0, 0, 3, 4};
  const CellEdit edits[] = {
      {"/memory@40000000", "reg", {0xffffffff, 0xffff0000, 0, 0x20000},
       "/memory@40000000: reg: entry 0 base 0xffffffffffff0000 size 0x20000 overflows 64 bits"},
      {"/memory@40000000", "reg", {0, 0x40000000, 0, 0x80000000, 0, 0x80000000, 0, 0x1000},
       "/memory@40000000: reg: RAM 0x80000000 size 0x1000 overlaps RAM 0x40000000 size 0x80000000"},
      {"/memory@40000000", "reg", repeated({1, 0, 0, 0x1000}, 9, 0, 1),
       "/memory@40000000: reg: more than 8 RAM ranges (max_ram_ranges)"},
      {"/", "#address-cells", {3}, "/memory@40000000: reg: #address-cells 3 of / is not supported (1 or 2)"},
      {"/cpus/cpu@1", "reg", {0}, "/cpus/cpu@1: reg: MPIDR 0x0 is also /cpus/cpu@0"},
      {"/cpus/cpu@0", "reg", {0, 0}, "/cpus/cpu@0: reg: length 8 is not 4 (#address-cells 1)"},
      {"/cpus", "#address-cells", {3}, "/cpus: #address-cells 3 is not supported (1 or 2)"},
      {"/intc@8000000", "#redistributor-regions", {5},
       "/intc@8000000: #redistributor-regions: 5 is more than 4 (max_redistributor_regions)"},
      {"/intc@8000000", "#redistributor-regions", {2},
       "/intc@8000000: reg: 2 entries, need 3 (distributor and 2 redistributor regions)"},
      {"/intc@8000000", "#interrupt-cells", {2}, "/intc@8000000: #interrupt-cells: 2 is not 3 or 4"},
      {"/intc@8000000", "interrupts", {0, 9, 4},
       "/intc@8000000: interrupts: maintenance interrupt type 0 is not a PPI (1)"},
      {"/pl011@9000000", "interrupts", {1, 1, 4}, "/pl011@9000000: interrupts: type 1 is not an SPI (0)"},
      {"/pl011@9000000", "interrupts", {0, 1}, "/pl011@9000000: interrupts: length 8 is not a non-zero multiple of 12 (#interrupt-cells 3)"},
      {"/intc@8000000", "ranges", {0, 0, 0, 0x1000000, 0, 0x1000000},
       "/intc@8000000/its@8080000: reg: parent bus /intc@8000000 translates addresses (non-empty ranges), which is "
       "not supported"},
      {"/smmuv3@9050000", "reg", {0, 0x9050000},
       "/smmuv3@9050000: reg: length 8 is not a multiple of 16 (#address-cells 2, #size-cells 2)"},
      {"/pcie@10000000", "#address-cells", {2}, "/pcie@10000000: #address-cells: 2 is not 3 (PCI)"},
      {"/pcie@10000000", "bus-range", {0, 0x100}, "/pcie@10000000: bus-range: bus 0x100 is above 0xff"},
      {"/pcie@10000000", "reg", {0x40, 0x10000000, 0, 0x1000000},
       "/pcie@10000000: reg: ECAM size 0x1000000 is smaller than the 0x10000000 that buses 0x00-0xff need"},
      {"/pcie@10000000", "linux,pci-domain", {0, 1}, "/pcie@10000000: linux,pci-domain: length 8 is not 4"},
      {"/pcie@10000000", "ranges", {0x0, 0, 0, 0, 0x3eff0000, 0, 0x10000},
       "/pcie@10000000: ranges: entry 0 has space code 0 (configuration), expected 1 (io), 2 (mem32) or 3 (mem64)"},
      {"/pcie@10000000", "ranges", repeated({0x2000000, 0, 0, 0, 0, 0, 0x1000}, 9, 2, 0x100000),
       "/pcie@10000000: ranges: more than 8 windows (max_pci_windows)"},
      {"/pcie@10000000", "msi-map", {0, 0x8006, 0},
       "/pcie@10000000: msi-map: length 12 is not a multiple of 16 (rid-base, phandle, output-base, length)"},
      {"/pcie@10000000", "iommu-map", repeated({0, 0x8007, 0, 0x100}, 9, 0, 0x100),
       "/pcie@10000000: iommu-map: more than 8 entries (max_id_map_entries)"},
      {"/pcie@10000000", "interrupt-map", {0, 0, 0, 1, 0x8005, 0, 0, 1, 3, 4},
       "/pcie@10000000: interrupt-map: entry 0: interrupt type 1 is not an SPI (0)"},
      {"/pcie@10000000", "interrupt-map", {0, 0, 0, 1, 0x8007, 0, 0, 0, 3, 4},
       "/pcie@10000000: interrupt-map: entry 0: parent phandle 0x8007 is not the GICv3"},
      {"/pcie@10000000", "interrupt-map", {0, 0, 0, 1, 0x1234, 0, 0, 0, 3, 4},
       "/pcie@10000000: interrupt-map: entry 0: phandle 0x1234 matches no node"},
      {"/pcie@10000000", "interrupt-map", {0, 0, 0},
       "/pcie@10000000: interrupt-map: entry 0 is truncated (needs at least 5 cells, 3 left)"},
      {"/pcie@10000000", "interrupt-map", repeated(map_entry, 65),
       "/pcie@10000000: interrupt-map: more than 64 entries (max_interrupt_map_entries)"},
      {"/timer", "interrupts", {1, 13, 4, 1, 14, 4, 1, 11, 4},
       "/timer: interrupts: 3 entries, need 4 (secure phys, phys, virt, hyp)"},
      {"/timer", "interrupts", {1, 13, 4, 0, 14, 4, 1, 11, 4, 1, 10, 4},
       "/timer: interrupts: entry 1 type 0 is not a PPI (1)"},
      {"/timer", "interrupts", {1, 13, 4, 1},
       "/timer: interrupts: length 16 is not a non-zero multiple of 12 (#interrupt-cells 3)"},
      {"/timer", "interrupt-parent", {0x8008},
       "/timer: interrupts: interrupt parent (phandle 0x8008) is not the GICv3"},
  };
  const Dtb qemu = Dtb::load("virt-smmu-smp4-m2048");
  REQUIRE(qemu.phandle("/intc@8000000") == 0x8005);
  REQUIRE(qemu.phandle("/smmuv3@9050000") == 0x8007);
  REQUIRE(qemu.phandle("/pl061@9030000") == 0x8008);
  for (const CellEdit& edit : edits) {
    CAPTURE(edit.path);
    CAPTURE(edit.property);
    Dtb dt = qemu.editable();
    dt.set(edit.path, edit.property, edit.cells);
    CHECK(error_of(dt) == edit.expected);
  }
}

TEST_CASE("firmware dt: edited QEMU DTBs: strings, removals, long paths") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  SUBCASE("no /cpus") {
    dt.remove_node("/cpus");
    CHECK(error_of(dt) == "no /cpus node");
  }
  SUBCASE("psci method missing") {
    dt.remove("/psci", "method");
    CHECK(error_of(dt) == "/psci: method: missing");
  }
  SUBCASE("psci method not a string") {
    dt.set_string("/psci", "method", "smc", false);
    CHECK(error_of(dt) == "/psci: method: not a NUL-terminated string");
  }
  SUBCASE("alias that is not a string") {
    dt.add_node("/", "aliases");
    dt.set_string("/aliases", "serial0", "/pl011@9000000", false);
    dt.set_string("/chosen", "stdout-path", "serial0");
    CHECK(error_of(dt) == "/aliases: serial0: not a NUL-terminated string");
  }
  SUBCASE("bootargs too long") {
    dt.set_string("/chosen", "bootargs", std::string(300, 'x'));
    CHECK(error_of(dt) == "/chosen: bootargs: 300 characters, more than 255 (max_bootargs)");
  }
  SUBCASE("bootargs not a string") {
    dt.set_string("/chosen", "bootargs", "console", false);
    CHECK(error_of(dt) == "/chosen: bootargs: not a NUL-terminated string");
  }
  SUBCASE("a node path longer than max_node_path") {
    const std::string name(100, 'n');
    dt.add_node("/", name);
    dt.set_string("/" + name, "compatible", "arm,smmu-v3");
    CHECK(error_of(dt) == "node " + name + ": path does not fit in 96 bytes (max_node_path)");
  }
}

TEST_CASE("firmware dt: edited QEMU DTBs that are still accepted") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  SUBCASE("no PSCI node: no conduit") {
    dt.remove_node("/psci");
    const Result result = parse(dt);
    REQUIRE(result.ok);
    CHECK(result.platform->psci.conduit == PsciConduit::none);
  }
  SUBCASE("stdout-path through an alias") {
    dt.add_node("/", "aliases");
    dt.set_string("/aliases", "serial0", "/pl011@9000000");
    dt.set_string("/chosen", "stdout-path", "serial0:115200n8");
    const Result result = parse(dt);
    REQUIRE_MESSAGE(result.ok, result.error);
    CHECK(result.platform->uart.present);
    CHECK(std::string(result.platform->uart.path.text) == "/pl011@9000000");
  }
  SUBCASE("stdout-path to something else than a pl011: no console, no guess") {
    dt.set_string("/chosen", "stdout-path", "/pl031@9010000");
    const Result result = parse(dt);
    REQUIRE(result.ok);
    CHECK_FALSE(result.platform->uart.present);
  }
  SUBCASE("a console without an interrupt is output-only") {
    REQUIRE(fdt_delprop(dt.data(), dt.node("/pl011@9000000"), "interrupts") == 0);
    const Result result = parse(dt);
    REQUIRE(result.ok);
    CHECK(result.platform->uart.present);
    CHECK_FALSE(result.platform->uart.has_spi);
  }
  SUBCASE("stdout-path to a disabled pl011") {
    dt.set_string("/pl011@9000000", "status", "disabled");
    const Result result = parse(dt);
    REQUIRE(result.ok);
    CHECK_FALSE(result.platform->uart.present);
  }
  SUBCASE("the longest bootargs that fits") {
    dt.set_string("/chosen", "bootargs", std::string(max_bootargs - 1, 'x'));
    const Result result = parse(dt);
    REQUIRE(result.ok);
    CHECK(std::string(result.platform->bootargs) == std::string(max_bootargs - 1, 'x'));
  }
}
