// The virtual GIC's two guest-physical regions as MMIO devices for the registry: the
// distributor frame and the redistributor frames (one per vCPU). Both take 8-, 32- and
// 64-bit accesses, as GICv3 registers are; what the model does not implement at an
// accepted width reads as zero and ignores writes (MmioResult::unhandled). Portable.
#pragma once

#include "core/vcpu/mmio.hpp"
#include "core/vgic/virtual_gic.hpp"

namespace bulkhead::vcpu {

constexpr uint8_t gic_widths = widths::bytes_1 | widths::bytes_4 | widths::bytes_8;

class GicRegionDevice final : public MmioDevice {
 public:
  // `base`: the guest-physical address of the region this device is registered at;
  // `distributor`: whether that is the distributor frame (reads then go straight to it).
  void attach(vgic::VirtualGic& gic, uint64_t base, bool distributor) {
    gic_ = &gic;
    base_ = base;
    distributor_ = distributor;
  }
  MmioResult access(MmioRequest& request, vgic::Events& events) override {
    vgic::AccessResult result = vgic::AccessResult::unhandled;
    if (request.write) {
      result = gic_->write(base_ + request.offset, request.width, request.value, events, request.vcpu);  // marks rebuilds
    } else if (distributor_) {
      result = gic_->distributor().read(request.offset, request.width, request.value);
    } else {
      result = gic_->read(base_ + request.offset, request.width, request.value);
    }
    return result == vgic::AccessResult::handled ? MmioResult::handled : MmioResult::unhandled;
  }

 private:
  vgic::VirtualGic* gic_ = nullptr;
  uint64_t base_ = 0;
  bool distributor_ = false;
};

}  // namespace bulkhead::vcpu
