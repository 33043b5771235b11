// The SMMUv3's wired interrupts in the firmware DT (core/platform/firmware_dt_smmu.cpp):
// QEMU's own virt DTB as it comes, then its SMMU node edited one way at a time.
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

constexpr const char* smmu_path = "/smmuv3@9050000";
constexpr uint32_t spi = 0;
constexpr uint32_t ppi = 1;
constexpr uint32_t edge_rising = 1;
constexpr uint32_t level_high = 4;

// A string list as DTS writes "a", "b": each string NUL-terminated (the last NUL is
// added by Dtb::set_string).
std::string names(const std::vector<std::string>& list) {
  std::string joined;
  for (size_t i = 0; i < list.size(); ++i) joined += (i == 0 ? "" : std::string(1, '\0')) + list[i];
  return joined;
}

// The SPI that QEMU's DTB names `name` in the SMMU node, read with libfdt.
uint32_t qemu_spi(const Dtb& dt, const char* name) {
  const int node = dt.node(smmu_path);
  const int index = fdt_stringlist_search(dt.data(), node, "interrupt-names", name);
  REQUIRE(index >= 0);
  int length = 0;
  const auto* cells = static_cast<const fdt32_t*>(fdt_getprop(dt.data(), node, "interrupts", &length));
  REQUIRE(cells != nullptr);
  REQUIRE(length >= (index + 1) * 12);
  CHECK(fdt32_to_cpu(cells[index * 3]) == spi);
  return fdt32_to_cpu(cells[index * 3 + 1]);
}

Result parse_edited(Dtb& dt) { return parse(dt.data(), dt.size()); }

}  // namespace

TEST_CASE("firmware dt smmu: QEMU's SMMU node gives its eventq and gerror SPIs, priq and cmdq-sync ignored") {
  const Dtb qemu = Dtb::load("virt-smmu-smp4-m2048");
  const Result result = parse(qemu.data(), qemu.size());
  REQUIRE(result.ok);
  const SmmuV3Info& smmu = result.platform->smmu;
  REQUIRE(smmu.present);
  CHECK(smmu.has_event_spi);
  CHECK(smmu.event_spi == qemu_spi(qemu, "eventq"));
  CHECK(smmu.has_gerror_spi);
  CHECK(smmu.gerror_spi == qemu_spi(qemu, "gerror"));
  // QEMU lists them as eventq, priq, cmdq-sync, gerror: the names decide, not the order.
  CHECK(smmu.event_spi == 0x4a);
  CHECK(smmu.gerror_spi == 0x4d);
}

TEST_CASE("firmware dt smmu: no SMMU, or an SMMU without interrupts, wires nothing") {
  const Dtb plain = Dtb::load("virt-plain-smp4-m2048");
  const Result without_smmu = parse(plain.data(), plain.size());
  REQUIRE(without_smmu.ok);
  CHECK_FALSE(without_smmu.platform->smmu.present);
  CHECK_FALSE(without_smmu.platform->smmu.has_event_spi);

  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  dt.remove(smmu_path, "interrupts");
  dt.remove(smmu_path, "interrupt-names");
  const Result polled = parse_edited(dt);
  REQUIRE(polled.ok);
  CHECK(polled.platform->smmu.present);
  CHECK_FALSE(polled.platform->smmu.has_event_spi);
  CHECK_FALSE(polled.platform->smmu.has_gerror_spi);
}

TEST_CASE("firmware dt smmu: without interrupt-names the binding's order applies") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  dt.remove(smmu_path, "interrupt-names");
  // eventq, gerror, priq, cmdq-sync: the last two are not looked at (a PPI is fine there).
  dt.set(smmu_path, "interrupts", {spi, 10, edge_rising, spi, 11, edge_rising, ppi, 3, level_high, ppi, 4, level_high});
  const Result four = parse_edited(dt);
  REQUIRE(four.ok);
  CHECK(four.platform->smmu.has_event_spi);
  CHECK(four.platform->smmu.event_spi == 10);
  CHECK(four.platform->smmu.has_gerror_spi);
  CHECK(four.platform->smmu.gerror_spi == 11);

  dt.set(smmu_path, "interrupts", {spi, 12, edge_rising});
  const Result one = parse_edited(dt);
  REQUIRE(one.ok);
  CHECK(one.platform->smmu.has_event_spi);
  CHECK(one.platform->smmu.event_spi == 12);
  CHECK_FALSE(one.platform->smmu.has_gerror_spi);  // polled
}

TEST_CASE("firmware dt smmu: names in any order, and a combined line serves both") {
  Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
  dt.set(smmu_path, "interrupts", {spi, 5, edge_rising, spi, 6, edge_rising});
  dt.set_string(smmu_path, "interrupt-names", names({"gerror", "eventq"}));
  const Result swapped = parse_edited(dt);
  REQUIRE(swapped.ok);
  CHECK(swapped.platform->smmu.event_spi == 6);
  CHECK(swapped.platform->smmu.gerror_spi == 5);

  dt.set(smmu_path, "interrupts", {spi, 7, edge_rising});
  dt.set_string(smmu_path, "interrupt-names", "combined");
  const Result combined = parse_edited(dt);
  REQUIRE(combined.ok);
  CHECK(combined.platform->smmu.has_event_spi);
  CHECK(combined.platform->smmu.event_spi == 7);
  CHECK(combined.platform->smmu.has_gerror_spi);
  CHECK(combined.platform->smmu.gerror_spi == 7);

  dt.set(smmu_path, "interrupts", {spi, 8, edge_rising, spi, 9, edge_rising});
  dt.set_string(smmu_path, "interrupt-names", names({"cmdq-sync", "gerror"}));
  const Result gerror_only = parse_edited(dt);
  REQUIRE(gerror_only.ok);
  CHECK_FALSE(gerror_only.platform->smmu.has_event_spi);
  CHECK(gerror_only.platform->smmu.gerror_spi == 9);
}

TEST_CASE("firmware dt smmu: bad interrupts or names are refused with a precise message") {
  struct Edit {
    std::vector<uint32_t> interrupts;
    const char* names;  // nullptr: no interrupt-names
    size_t names_length;
    const char* expected;
  };
  const std::vector<uint32_t> four_edges = {spi, 74, edge_rising, spi, 75, edge_rising,
                                            spi, 76, edge_rising, spi, 77, edge_rising};
  const Edit edits[] = {
      {{spi, 74, edge_rising, spi, 75, edge_rising, spi, 76, edge_rising}, "eventq\0gerror", 14,
       "/smmuv3@9050000: interrupt-names: 2 names for 3 interrupts"},
      {{spi, 74, edge_rising}, "eventq\0gerror", 14, "/smmuv3@9050000: interrupt-names: 2 names for 1 interrupts"},
      {{spi, 74, edge_rising, spi, 75, edge_rising}, "eventq\0events", 14,
       "/smmuv3@9050000: interrupt-names: \"events\" is not eventq, gerror, priq, cmdq-sync or combined"},
      {{spi, 74, edge_rising, spi, 75, edge_rising}, "eventq\0eventq", 14,
       "/smmuv3@9050000: interrupt-names: \"eventq\" is named twice"},
      {{spi, 74, edge_rising, spi, 75, edge_rising}, "combined\0gerror", 16,
       "/smmuv3@9050000: interrupt-names: \"combined\" must be the only interrupt"},
      {{spi, 74, edge_rising}, "eventq", 6, "/smmuv3@9050000: interrupt-names: not a NUL-terminated string"},
      {{ppi, 74, edge_rising, spi, 75, edge_rising}, "eventq\0gerror", 14,
       "/smmuv3@9050000: interrupts: eventq (entry 0): type 1 is not an SPI (0)"},
      {{spi, 74, edge_rising, spi, 75, level_high}, "eventq\0gerror", 14,
       "/smmuv3@9050000: interrupts: gerror (entry 1): flags 0x4 are not edge rising (1)"},
      {{spi, 988, edge_rising}, "combined", 9,
       "/smmuv3@9050000: interrupts: combined (entry 0): SPI 988 is beyond the last SPI (987)"},
      {{spi, 74, edge_rising, spi, 75}, "eventq\0gerror", 14,
       "/smmuv3@9050000: interrupts: length 20 is not a non-zero multiple of 12 (#interrupt-cells 3)"},
      {{}, nullptr, 0, "/smmuv3@9050000: interrupts: length 0 is not a non-zero multiple of 12 (#interrupt-cells 3)"},
  };
  for (const Edit& edit : edits) {
    CAPTURE(edit.expected);
    Dtb dt = Dtb::load("virt-smmu-smp4-m2048").editable();
    dt.set(smmu_path, "interrupts", edit.interrupts);
    if (edit.names != nullptr) {
      REQUIRE(fdt_setprop(dt.data(), dt.node(smmu_path), "interrupt-names", edit.names,
                          static_cast<int>(edit.names_length)) == 0);
    } else {
      dt.remove(smmu_path, "interrupt-names");
    }
    const Result result = parse_edited(dt);
    CHECK_FALSE(result.ok);
    CHECK(result.error == edit.expected);
  }

  Dtb five = Dtb::load("virt-smmu-smp4-m2048").editable();
  five.remove(smmu_path, "interrupt-names");
  std::vector<uint32_t> cells = four_edges;
  cells.insert(cells.end(), {spi, 78, edge_rising});
  five.set(smmu_path, "interrupts", cells);
  CHECK(parse_edited(five).error ==
        "/smmuv3@9050000: interrupts: 5 entries without interrupt-names, at most 4 (eventq, gerror, priq, cmdq-sync)");

  Dtb foreign = Dtb::load("virt-smmu-smp4-m2048").editable();
  foreign.set(smmu_path, "interrupt-parent", {foreign.phandle("/pl061@9030000")});
  CHECK(parse_edited(foreign).error == "/smmuv3@9050000: interrupts: interrupt parent (phandle " +
                                           hex_text(foreign.phandle("/pl061@9030000")) + ") is not the GICv3");
}
