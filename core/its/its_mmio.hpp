// The target's ITS edge (AArch64 at EL2, identity-mapped): register frames (the ITS's
// control frame, each redistributor's RD_base frame) and the clock are
// arch/aarch64/device_mmio.hpp's; table memory comes from a static pool with the cache
// maintenance a non-coherent ITS or redistributor needs. Included by target code only.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/device_mmio.hpp"
#include "core/its/hardware.hpp"

namespace bulkhead::its {

using MmioRegisters = arch::DeviceWindow;
using CounterClock = arch::CounterClock;

// A static pool, identity-mapped (physical address = pointer), 4 KiB aligned; 64 KiB
// aligned wastes nothing to the pending tables' alignment.
class PoolMemory final : public PagePool {
 public:
  constexpr PoolMemory() = default;
  void attach_pool(void* pool, uint64_t size) { attach(reinterpret_cast<uint64_t>(pool), pool, size); }
  void publish(uint64_t physical, uint64_t bytes, bool coherent) override {
    arch::publish_to_device(physical, bytes, coherent);
  }
};

}  // namespace bulkhead::its
