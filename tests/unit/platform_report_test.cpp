// Golden output of the platform boot report for DTBs the qemu_dtbs fixture produces.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/lib/log.hpp"
#include "core/platform/firmware_dt.hpp"
#include "core/platform/platform_report.hpp"

using namespace bulkhead;

namespace {

struct CapturedLines final : log::LineSink {
  std::string text;
  void write_line(const char* line, size_t length) override { text.append(line, length); }
};

std::string report_of(const PlatformInfo& platform) {
  CapturedLines captured;
  log::LineSink* previous = log::set_output(&captured);
  report_platform(platform);
  log::set_output(previous);
  return captured.text;
}

std::unique_ptr<PlatformInfo> read_work_dtb(const std::string& name) {
  const std::string path = std::string(BULKHEAD_TEST_WORK_DIR) + "/" + name + ".dtb";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << path << ": the `dtb:` fixture tests make it");
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  auto platform = std::make_unique<PlatformInfo>();
  FirmwareDtError error;
  REQUIRE_MESSAGE(read_firmware_dt(aligned.data(), bytes.size(), *platform, error), error.message);
  return platform;
}

}  // namespace

TEST_CASE("platform report: QEMU virt, 4 CPUs, 2 GiB, SMMUv3") {
  CHECK(report_of(*read_work_dtb("virt-smmu-smp4-m2048")) ==
        "bulkhead: ram 0x40000000 size 0x80000000\n"
        "bulkhead: psci method smc\n"
        "bulkhead: gic-v3 /intc@8000000 distributor 0x8000000 size 0x10000\n"
        "bulkhead: gic-v3-redistributor /intc@8000000 base 0x80a0000 size 0xf60000\n"
        "bulkhead: gic-v3-its /intc@8000000/its@8080000 base 0x8080000 size 0x20000\n"
        "bulkhead: smmu-v3 /smmuv3@9050000 base 0x9050000 size 0x20000\n"
        "bulkhead: pcie-host /pcie@10000000 ecam 0x4010000000 size 0x10000000 buses 0x00-0xff\n"
        "bulkhead: pcie-host-domain /pcie@10000000 dt 0\n"
        "bulkhead: pcie-window /pcie@10000000 io pci 0x0 cpu 0x3eff0000 size 0x10000\n"
        "bulkhead: pcie-window /pcie@10000000 mem32 pci 0x10000000 cpu 0x10000000 size 0x2eff0000\n"
        "bulkhead: pcie-window /pcie@10000000 mem64 pci 0x8000000000 cpu 0x8000000000 size 0x8000000000\n"
        "bulkhead: pcie-msi-map /pcie@10000000 rid 0x0 length 0x10000 target 0x8006 base 0x0\n"
        "bulkhead: pcie-iommu-map /pcie@10000000 rid 0x0 length 0x10000 target 0x8007 base 0x0\n"
        "bulkhead: pcie-interrupt-map /pcie@10000000 entries 16\n"
        "bulkhead: timer secure-phys-ppi 13 phys-ppi 14 virt-ppi 11 hyp-ppi 10\n");
}

TEST_CASE("platform report: QEMU virt without SMMU, with bootargs") {
  const std::string plain = report_of(*read_work_dtb("virt-plain-smp1-m1024"));
  CHECK(plain.find("smmu-v3") == std::string::npos);
  CHECK(plain.find("pcie-iommu-map") == std::string::npos);
  CHECK(plain.find("bootargs") == std::string::npos);
  CHECK(plain.find("bulkhead: ram 0x40000000 size 0x40000000\n") == 0);

  const std::string with_bootargs = report_of(*read_work_dtb("virt-smmu-smp2-m2048-bootargs"));
  const std::string last = "bulkhead: bootargs \"console=ttyAMA0 earlycon=pl011,0x9000000 root=/dev/vda\"\n";
  REQUIRE(with_bootargs.size() > last.size());
  CHECK(with_bootargs.substr(with_bootargs.size() - last.size()) == last);
}

TEST_CASE("platform report: hand-made board") {
  CHECK(report_of(*read_work_dtb("firmware-two-pcie")) ==
        "bulkhead: ram 0x40000000 size 0x20000000\n"
        "bulkhead: ram 0x100000000 size 0x40000000\n"
        "bulkhead: psci method hvc\n"
        "bulkhead: gic-v3 /interrupt-controller@8000000 distributor 0x8000000 size 0x10000\n"
        "bulkhead: gic-v3-redistributor /interrupt-controller@8000000 base 0x80a0000 size 0xf60000\n"
        "bulkhead: gic-v3-redistributor /interrupt-controller@8000000 base 0x4000000000 size 0x1000000\n"
        "bulkhead: gic-v3-its /interrupt-controller@8000000/msi-controller@8080000 base 0x8080000 size 0x20000\n"
        "bulkhead: pcie-host /pcie@30000000 ecam 0x30000000 size 0x1000000 buses 0x00-0x0f\n"
        "bulkhead: pcie-host-domain /pcie@30000000 dt 3\n"
        "bulkhead: pcie-window /pcie@30000000 io pci 0x0 cpu 0x3eff0000 size 0x10000\n"
        "bulkhead: pcie-window /pcie@30000000 mem32 pref pci 0x20000000 cpu 0x20000000 size 0x8000000\n"
        "bulkhead: pcie-window /pcie@30000000 mem64 pci 0x100000000 cpu 0x8000000000 size 0x100000000\n"
        "bulkhead: pcie-msi-map /pcie@30000000 rid 0x0 length 0x100 target 0x11 base 0x0\n"
        "bulkhead: pcie-msi-map /pcie@30000000 rid 0x100 length 0x100 target 0x11 base 0x1000\n"
        "bulkhead: pcie-interrupt-map /pcie@30000000 entries 2\n"
        "bulkhead: pcie-host /pcie@4000000000 ecam 0x4000000000 size 0x10000000 buses 0x00-0xff\n"
        "bulkhead: pcie-host-domain /pcie@4000000000 none\n"
        "bulkhead: pcie-window /pcie@4000000000 mem32 pci 0x40000000 cpu 0x40000000 size 0x10000000\n"
        "bulkhead: timer secure-phys-ppi 13 phys-ppi 14 virt-ppi 11 hyp-ppi 10\n"
        "bulkhead: bootargs \"console=ttyAMA0 quiet\"\n");
}

TEST_CASE("platform report: nothing known prints only the PSCI line") {
  const auto empty = std::make_unique<PlatformInfo>();
  CHECK(report_of(*empty) == "bulkhead: psci method none\n");
}
