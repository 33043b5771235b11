// A driver wired to the simulated SMMU on a QEMU-virt-like platform, for smmu/ tests.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "smmu/driver.hpp"
#include "tests/sim/sim_platform.hpp"
#include "tests/sim/sim_smmu.hpp"

namespace bulkhead::test {

inline std::string hex_string(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

inline PlatformInfo smmu_platform(uint32_t iommu_map_length = 0x10000) {
  PlatformInfo platform;
  platform.ram[0] = {0x40000000, 0x80000000};
  platform.ram_count = 1;
  platform.smmu.present = true;
  platform.smmu.registers = {0x9050000, 0x20000};
  platform.smmu.phandle = sim::smmu_phandle;
  std::strcpy(platform.smmu.path.text, "/smmuv3@9050000");
  platform.pcie_hosts[0] = sim::qemu_host();
  platform.pcie_hosts[0].iommu_map.entries[0].length = iommu_map_length;
  platform.pcie_host_count = 1;
  return platform;
}

// Two partitions' RAM, as the partition builder would give them.
constexpr smmu::ContextConfig alpha{"alpha", 1, 0x40000000, 0x60000000, 0x10000000};
constexpr smmu::ContextConfig beta{"beta", 2, 0x40000000, 0x80000000, 0x8000000};

struct SmmuBench {
  explicit SmmuBench(sim::SimSmmuConfig config = sim::SimSmmuConfig::qemu_7_2(), uint32_t iommu_map_length = 0x10000,
                     uint64_t memory_size = 4 << 20)
      : memory(memory_size), smmu(memory, config), driver(smmu, memory, clock), platform(smmu_platform(iommu_map_length)) {}

  smmu::BringUpResult bring_up(std::vector<uint32_t> present = {}) {
    present_ = std::move(present);
    smmu::BringUpOptions options;
    options.present_streams = present_.data();
    options.present_stream_count = present_.size();
    return driver.bring_up(platform, options);
  }
  // Operations the simulated SMMU recorded whose text starts with `prefix`.
  std::vector<std::string> operations(const std::string& prefix = "") const {
    std::vector<std::string> out;
    for (const auto& op : smmu.operations) {
      if (op.rfind(prefix, 0) == 0) out.push_back(op);
    }
    return out;
  }
  // Index of the first recorded operation equal to `text` (or starting with it), -1 if none.
  long find(const std::string& text, size_t from = 0) const {
    for (size_t i = from; i < smmu.operations.size(); ++i) {
      if (smmu.operations[i].rfind(text, 0) == 0) return static_cast<long>(i);
    }
    return -1;
  }

  sim::SimDmaMemory memory;
  sim::FakeClock clock;
  sim::SimSmmu smmu;
  smmu::Driver driver;
  PlatformInfo platform;

 private:
  std::vector<uint32_t> present_;
};

}  // namespace bulkhead::test
