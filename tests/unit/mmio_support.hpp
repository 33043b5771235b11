// Regions of the MMIO registry served by a device that answers everything, for the
// registry's tests (vcpu_mmio_registry_test, vcpu_mmio_direct_test).
#pragma once

#include <cstdint>

#include "core/vcpu/mmio.hpp"

namespace bulkhead::test {

class NullMmioDevice final : public vcpu::MmioDevice {
 public:
  vcpu::MmioResult access(vcpu::MmioRequest&, vgic::Events&) override { return vcpu::MmioResult::handled; }
};
inline NullMmioDevice null_mmio_device;

// A region of `null_mmio_device`.
inline vcpu::MmioRegion null_device_region(const char* name, uint64_t base, uint64_t size,
                                           uint8_t allowed = vcpu::widths::any, bool unaligned = false) {
  vcpu::MmioRegion r;
  r.name = name;
  r.base = base;
  r.size = size;
  r.device = &null_mmio_device;
  r.widths = allowed;
  r.unaligned = unaligned;
  return r;
}

}  // namespace bulkhead::test
