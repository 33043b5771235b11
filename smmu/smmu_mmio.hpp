// The target's SMMU edge (AArch64 at EL2, identity-mapped): the register window and the
// clock are core/arch/aarch64/device_mmio.hpp's; DMA memory comes from a static pool with
// the cache maintenance a non-coherent SMMU needs. Included by target code only
// (partitions/boot/).
#pragma once

#include <cstdint>

#include "core/arch/aarch64/device_mmio.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::smmu {

using MmioRegisters = arch::DeviceWindow;
using CounterClock = arch::CounterClock;

// A static pool, identity-mapped: physical address = pointer.
class PoolMemory final : public RegionMemory {
 public:
  constexpr PoolMemory() = default;
  void attach_pool(void* pool, uint64_t size) { attach(reinterpret_cast<uint64_t>(pool), pool, size); }
  void publish(uint64_t physical, uint64_t bytes, bool coherent) override {
    arch::publish_to_device(physical, bytes, coherent);
  }
  void refresh(uint64_t physical, uint64_t bytes, bool coherent) override {
    arch::refresh_from_device(physical, bytes, coherent);
  }
};

}  // namespace bulkhead::smmu
