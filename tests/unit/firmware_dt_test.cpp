// The firmware DT reader against QEMU's own virt DTBs (dumped at test time by the
// qemu_dtbs fixture), hand-made odd/bad DTBs (tests/data/firmware-*.dts) and blobs
// corrupted here; single-property edits are in firmware_dt_edit_test.cpp.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/platform/firmware_dt.hpp"
#include "tests/unit/firmware_dt_support.hpp"

using namespace bulkhead;

namespace {

using namespace firmware_dt_test;

bool same(const AddressRange& range, uint64_t base, uint64_t size) {
  return range.base == base && range.size == size;
}

struct QemuCase {
  const char* name;
  size_t smp;
  uint64_t mib;
  bool smmu;
  const char* bootargs;
};

constexpr QemuCase qemu_cases[] = {
    {"virt-smmu-smp1-m1024", 1, 1024, true, ""},
    {"virt-smmu-smp2-m2048", 2, 2048, true, ""},
    {"virt-smmu-smp4-m2048", 4, 2048, true, ""},
    {"virt-smmu-smp4-m3072-nvme", 4, 3072, true, ""},
    {"virt-smmu-smp8-m4096", 8, 4096, true, ""},
    {"virt-smmu-smp16-m1024", 16, 1024, true, ""},
    {"virt-smmu-smp2-m2048-bootargs", 2, 2048, true, "console=ttyAMA0 earlycon=pl011,0x9000000 root=/dev/vda"},
    {"virt-plain-smp1-m1024", 1, 1024, false, ""},
    {"virt-plain-smp4-m2048", 4, 2048, false, ""},
    {"virt-plain-smp8-m4096", 8, 4096, false, ""},
};

// QEMU 7.2 virt, as `dtc -I dtb -O dts` shows it: phandles are handed out from 0x8000
// (clock), one per CPU, then the GIC, its ITS, then the SMMU.
void check_qemu_virt(const QemuCase& expected, const PlatformInfo& p) {
  const uint32_t gic_phandle = static_cast<uint32_t>(0x8001 + expected.smp);
  REQUIRE(p.ram_count == 1);
  CHECK(same(p.ram[0], 0x40000000, expected.mib << 20));

  REQUIRE(p.cpu_count == expected.smp);
  for (size_t i = 0; i < p.cpu_count; ++i) {
    CHECK(p.cpus[i].mpidr == i);
    CHECK(std::string(p.cpus[i].path.text) == "/cpus/cpu@" + std::to_string(i));
  }
  CHECK(p.psci.conduit == PsciConduit::smc);
  CHECK(p.psci.version_0_2_or_later);

  const GicV3Info& gic = p.gic;
  REQUIRE(gic.present);
  CHECK(std::string(gic.path.text) == "/intc@8000000");
  CHECK(same(gic.distributor, 0x8000000, 0x10000));
  REQUIRE(gic.redistributor_region_count == 1);
  CHECK(same(gic.redistributors[0], 0x80a0000, 0xf60000));
  CHECK(gic.maintenance_ppi == 9);
  CHECK(gic.phandle == gic_phandle);
  REQUIRE(gic.its_present);
  CHECK(std::string(gic.its_path.text) == "/intc@8000000/its@8080000");
  CHECK(same(gic.its, 0x8080000, 0x20000));
  CHECK(gic.its_phandle == gic_phandle + 1);

  CHECK(p.smmu.present == expected.smmu);
  if (expected.smmu) {
    CHECK(std::string(p.smmu.path.text) == "/smmuv3@9050000");
    CHECK(same(p.smmu.registers, 0x9050000, 0x20000));
    CHECK(p.smmu.phandle == gic_phandle + 2);
  }

  REQUIRE(p.pcie_host_count == 1);
  const PcieHostInfo& host = p.pcie_hosts[0];
  CHECK(std::string(host.path.text) == "/pcie@10000000");
  CHECK(same(host.ecam, 0x4010000000, 0x10000000));
  CHECK(host.bus_first == 0x00);
  CHECK(host.bus_last == 0xff);
  CHECK(host.bus_range_from_dt);
  CHECK(host.domain_from_dt);
  CHECK(host.domain == 0);
  CHECK(host.dma_coherent);
  REQUIRE(host.window_count == 3);
  CHECK(host.windows[0].space == PciSpace::io);
  CHECK(host.windows[0].pci_address == 0x0);
  CHECK(host.windows[0].cpu_address == 0x3eff0000);
  CHECK(host.windows[0].size == 0x10000);
  CHECK(host.windows[1].space == PciSpace::mem32);
  CHECK(host.windows[1].pci_address == 0x10000000);
  CHECK(host.windows[1].cpu_address == 0x10000000);
  CHECK(host.windows[1].size == 0x2eff0000);
  CHECK(host.windows[2].space == PciSpace::mem64);
  CHECK(host.windows[2].pci_address == 0x8000000000);
  CHECK(host.windows[2].cpu_address == 0x8000000000);
  CHECK(host.windows[2].size == 0x8000000000);
  for (size_t i = 0; i < host.window_count; ++i) CHECK_FALSE(host.windows[i].prefetchable);  // QEMU 7.2 says so

  REQUIRE(host.msi_map.count == 1);
  CHECK(host.msi_map.entries[0].rid_base == 0);
  CHECK(host.msi_map.entries[0].target_phandle == gic.its_phandle);
  CHECK(host.msi_map.entries[0].output_base == 0);
  CHECK(host.msi_map.entries[0].length == 0x10000);
  CHECK(host.msi_map.mask == 0xffffffff);
  REQUIRE(host.iommu_map.count == (expected.smmu ? 1u : 0u));
  if (expected.smmu) {
    CHECK(host.iommu_map.entries[0].target_phandle == p.smmu.phandle);
    CHECK(host.iommu_map.entries[0].length == 0x10000);
  }

  // Devices 0-3, pins INTA-INTD, swizzled over SPIs 3-6, level high.
  REQUIRE(host.interrupt_map_count == 16);
  CHECK(host.interrupt_map_mask[0] == 0x1800);
  CHECK(host.interrupt_map_mask[1] == 0);
  CHECK(host.interrupt_map_mask[2] == 0);
  CHECK(host.interrupt_map_mask[3] == 7);
  for (uint32_t device = 0; device < 4; ++device) {
    for (uint32_t pin = 1; pin <= 4; ++pin) {
      const InterruptMapEntry& entry = host.interrupt_map[device * 4 + pin - 1];
      CHECK(entry.child_address_high == device << 11);
      CHECK(entry.child_pin == pin);
      CHECK(entry.parent_phandle == gic_phandle);
      CHECK(entry.spi == 3 + (device + pin - 1) % 4);
      CHECK(entry.trigger == 4);
    }
  }

  CHECK(p.uart.present);
  CHECK(p.uart.source == ConsoleSource::stdout_path);
  CHECK(std::string(p.uart.path.text) == "/pl011@9000000");
  CHECK(same(p.uart.registers, 0x9000000, 0x1000));
  CHECK(p.uart.has_spi);
  CHECK(p.uart.spi == 1);

  CHECK(p.timer.present);
  CHECK(p.timer.secure_physical_ppi == 13);
  CHECK(p.timer.physical_ppi == 14);
  CHECK(p.timer.virtual_ppi == 11);
  CHECK(p.timer.hypervisor_ppi == 10);
  CHECK(std::string(p.bootargs) == expected.bootargs);
}

}  // namespace

TEST_CASE("firmware dt: QEMU virt DTBs as QEMU dumps them") {
  for (const QemuCase& qemu : qemu_cases) {
    CAPTURE(qemu.name);
    const Result result = parse(Dtb::load(qemu.name));
    REQUIRE_MESSAGE(result.ok, result.error);
    check_qemu_virt(qemu, *result.platform);
  }
}

TEST_CASE("firmware dt: more CPUs than max_cpus is an error, not a cut") {
  CHECK(error_of("virt-smmu-smp17-m1024") == "/cpus/cpu@16: more than 16 CPUs (max_cpus)");
  CHECK(error_of("firmware-too-many-cpus") == "/cpus/cpu@20d: more than 16 CPUs (max_cpus)");
}

TEST_CASE("firmware dt: hand-made board with the features QEMU does not use") {
  const Result result = parse(Dtb::load("firmware-base"));
  REQUIRE_MESSAGE(result.ok, result.error);
  const PlatformInfo& p = *result.platform;
  REQUIRE(p.ram_count == 2);  // the empty range and the disabled node are skipped
  CHECK(same(p.ram[0], 0x40000000, 0x20000000));
  CHECK(same(p.ram[1], 0x100000000, 0x40000000));
  REQUIRE(p.cpu_count == 4);  // cpu-map, the cache and the disabled cpu are skipped
  CHECK(p.cpus[0].mpidr == 0x0);
  CHECK(p.cpus[1].mpidr == 0x100);
  CHECK(p.cpus[2].mpidr == 0x10000);  // RES1, U and MT bits dropped
  CHECK(p.cpus[3].mpidr == 0x100000000);
  CHECK(std::string(p.cpus[3].path.text) == "/cpus/cpu@100000000");
  CHECK(p.psci.conduit == PsciConduit::hvc);
  CHECK(p.psci.version_0_2_or_later);
  CHECK(p.gic.phandle == 0x10);
  CHECK(p.gic.its_phandle == 0x11);
  REQUIRE(p.gic.redistributor_region_count == 2);  // GICC/GICH/GICV frames not taken
  CHECK(same(p.gic.redistributors[1], 0x4000000000, 0x1000000));
  CHECK(std::string(p.gic.its_path.text) == "/interrupt-controller@8000000/msi-controller@8080000");
  CHECK_FALSE(p.smmu.present);
  REQUIRE(p.pcie_host_count == 1);
  const PcieHostInfo& host = p.pcie_hosts[0];
  CHECK(host.bus_first == 0);
  CHECK(host.bus_last == 0x0f);
  CHECK(host.domain == 3);
  REQUIRE(host.window_count == 3);  // the empty window is skipped
  CHECK(host.windows[1].space == PciSpace::mem32);
  CHECK(host.windows[1].prefetchable);
  CHECK(host.windows[2].pci_address == 0x100000000);
  CHECK(host.windows[2].cpu_address == 0x8000000000);
  CHECK(host.windows[2].size == 0x100000000);
  REQUIRE(host.msi_map.count == 2);
  CHECK(host.msi_map.entries[1].rid_base == 0x100);
  CHECK(host.msi_map.entries[1].target_phandle == 0x11);
  CHECK(host.msi_map.entries[1].output_base == 0x1000);
  CHECK(host.msi_map.mask == 0xff07);
  CHECK(host.iommu_map.count == 0);
  REQUIRE(host.interrupt_map_count == 2);
  CHECK(host.interrupt_map[1].child_address_high == 0x800);
  CHECK(host.interrupt_map[1].child_pin == 2);
  CHECK(host.interrupt_map[1].parent_phandle == 0x10);
  CHECK(host.interrupt_map[1].spi == 0x21);
  CHECK(host.interrupt_map[1].trigger == 1);
  CHECK(p.uart.present);  // through the serial0 alias, options stripped
  CHECK(std::string(p.uart.path.text) == "/uart@9000000");
  CHECK(std::string(p.bootargs) == "console=ttyAMA0 quiet");
}

TEST_CASE("firmware dt: second host bridge without domain or bus-range") {
  const Result result = parse(Dtb::load("firmware-two-pcie"));
  REQUIRE_MESSAGE(result.ok, result.error);
  REQUIRE(result.platform->pcie_host_count == 2);  // the disabled third is skipped
  const PcieHostInfo& second = result.platform->pcie_hosts[1];
  CHECK(std::string(second.path.text) == "/pcie@4000000000");
  CHECK(same(second.ecam, 0x4000000000, 0x10000000));
  CHECK(second.bus_first == 0x00);
  CHECK(second.bus_last == 0xff);
  CHECK_FALSE(second.bus_range_from_dt);
  CHECK_FALSE(second.domain_from_dt);
  CHECK(second.window_count == 1);
  CHECK(second.msi_map.count == 0);
  CHECK(second.interrupt_map_count == 0);
  CHECK_FALSE(second.dma_coherent);
}

TEST_CASE("firmware dt: default cell counts, and no optional parts") {
  const Result result = parse(Dtb::load("firmware-cells-default"));
  REQUIRE_MESSAGE(result.ok, result.error);
  const PlatformInfo& p = *result.platform;
  REQUIRE(p.ram_count == 2);
  CHECK(same(p.ram[0], 0x80000000, 0x10000000));
  CHECK(same(p.ram[1], 0x880000000, 0x80000000));
  CHECK(p.cpu_count == 2);
  CHECK(p.psci.conduit == PsciConduit::none);
  CHECK_FALSE(p.gic.present);
  CHECK_FALSE(p.timer.present);
  CHECK(p.pcie_host_count == 0);
  CHECK(same(p.uart.registers, 0x1c090000, 0x1000));
  CHECK(p.bootargs[0] == '\0');
}

TEST_CASE("firmware dt: stdout-path to a missing node leaves the console to the board") {
  const Result result = parse(Dtb::load("firmware-stdout-missing"));
  REQUIRE_MESSAGE(result.ok, result.error);
  CHECK_FALSE(result.platform->uart.present);
  CHECK(result.platform->uart.source == ConsoleSource::board_default);
}

TEST_CASE("firmware dt: hand-made bad DTBs name the node and property") {
  CHECK(error_of("firmware-no-memory") == "no /memory node with a usable reg");
  CHECK(error_of("firmware-memory-bad-reg") ==
        "/memory@40000000: reg: length 12 is not a multiple of 16 (#address-cells 2, #size-cells 2)");
  CHECK(error_of("firmware-no-cpus") == "/cpus: no available cpu node");
  CHECK(error_of("firmware-cpu-without-reg") == "/cpus/cpu@100: reg: missing");
  CHECK(error_of("firmware-pcie-bad-ranges") ==
        "/pcie@30000000: ranges: length 32 is not a multiple of 28 (3 PCI address cells, 2 CPU address cells, "
        "2 size cells)");
  CHECK(error_of("firmware-pcie-bad-bus-range") == "/pcie@30000000: bus-range: first bus 0x10 is after last bus 0x0f");
  CHECK(error_of("firmware-interrupt-map-truncated") ==
        "/pcie@30000000: interrupt-map: entry 1 is truncated (needs 10 cells, 8 left)");
  CHECK(error_of("firmware-psci-bad-method") == "/psci: method: \"svc\" is neither smc nor hvc");
  CHECK(error_of("firmware-too-many-pcie") == "/pcie@48000000: more than 8 PCIe host bridges (max_pcie_hosts)");
}

TEST_CASE("firmware dt: blob-level problems are caught before any lookup") {
  const Dtb good = Dtb::load("virt-smmu-smp4-m2048");
  const uint32_t total = fdt_totalsize(good.data());
  REQUIRE(total == good.size());

  SUBCASE("null, unaligned, smaller than a header") {
    CHECK(parse(nullptr, 4096).error == "no blob (null address)");
    const Result unaligned = parse(static_cast<const char*>(good.data()) + 4, good.size() - 4);
    CHECK_FALSE(unaligned.ok);
    CHECK(unaligned.error.find("is not 8-byte aligned") != std::string::npos);
    CHECK(parse(good.data(), 39).error == "39 bytes available, fewer than the 40-byte header");
  }
  SUBCASE("bad magic") {
    Dtb bad = good;
    bad.store32(0, 0x12345678);
    CHECK(error_of(bad) == "bad magic 0x12345678");
  }
  SUBCASE("blob larger than the space it was given") {
    CHECK(parse(good.data(), total - 1).error ==
          "totalsize " + hex_text(total) + " exceeds the " + hex_text(total - 1) + " bytes available");
    Dtb huge = good;
    huge.store32(4, 0xffffff00);  // totalsize
    CHECK(error_of(huge) ==
          "totalsize 0xffffff00 exceeds the " + hex_text(good.size()) + " bytes available");
  }
  SUBCASE("unsupported version") {
    Dtb old = good;
    old.store32(20, 1);  // version
    CHECK(error_of(old) == "bad header: FDT_ERR_BADVERSION");
  }
  SUBCASE("property name offset outside the strings block") {
    Dtb bad = good;
    const uint32_t structure = fdt_off_dt_struct(bad.data());
    const uint32_t strings_size = fdt_size_dt_strings(bad.data());
    // The root node: FDT_BEGIN_NODE, empty name padded to 4, then its first FDT_PROP.
    REQUIRE(fdt32_ld(reinterpret_cast<const fdt32_t*>(bad.bytes() + structure + 8)) == FDT_PROP);
    bad.store32(structure + 16, strings_size + 100);  // nameoff
    CHECK(error_of(bad) == "structure is corrupt: FDT_ERR_BADOFFSET");
  }
  SUBCASE("struct block misaligned") {
    Dtb bad = good;
    bad.store32(8, fdt_off_dt_struct(bad.data()) + 1);
    CHECK(error_of(bad) == "structure is corrupt: FDT_ERR_BADSTRUCTURE");
  }
  SUBCASE("struct block full of garbage") {
    Dtb bad = good;
    std::memset(bad.bytes() + fdt_off_dt_struct(bad.data()), 0xa5, fdt_size_dt_struct(bad.data()));
    CHECK(error_of(bad) == "structure is corrupt: FDT_ERR_BADSTRUCTURE");
  }
  SUBCASE("struct block cut short: the root node never ends") {
    Dtb bad = good;
    bad.store32(36, 64);  // size_dt_struct
    CHECK(error_of(bad) == "structure is corrupt: FDT_ERR_BADSTRUCTURE");
  }
}

TEST_CASE("firmware dt: random corruption and truncation never crash") {
  const Dtb sources[] = {Dtb::load("virt-smmu-smp4-m2048"), Dtb::load("firmware-base")};
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  size_t accepted = 0;
  size_t rejected = 0;
  for (const Dtb& source : sources) {
    // Mostly the struct and strings blocks (adjacent in dtc and QEMU output): the header
    // alone is rejected early, and property values are mostly data nobody reads.
    const uint32_t blocks = fdt_off_dt_struct(source.data());
    const uint32_t blocks_size = fdt_size_dt_struct(source.data()) + fdt_size_dt_strings(source.data());
    REQUIRE(blocks + blocks_size <= source.size());
    for (int round = 0; round < 1500; ++round) {
      Dtb bad = source;
      const uint64_t flips = 1 + next(8);
      for (uint64_t i = 0; i < flips; ++i) {
        const uint64_t at = next(4) == 0 ? next(bad.size()) : blocks + next(blocks_size);
        bad.bytes()[at] ^= static_cast<unsigned char>(1 + next(255));
      }
      const size_t max_size = next(8) == 0 ? next(bad.size() + 1) : bad.size();
      const Result result = parse(bad.data(), max_size);
      if (result.ok) {
        ++accepted;
        CHECK(result.platform->cpu_count <= max_cpus);
        CHECK(result.platform->ram_count <= max_ram_ranges);
      } else {
        ++rejected;
        CHECK_FALSE(result.error.empty());
      }
    }
  }
  CHECK(accepted > 0);
  CHECK(rejected > 0);
}
