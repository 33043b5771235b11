// Decoding a trapped ICC_SGI1R_EL1 / ICC_SGI0R_EL1 / ICC_ASGI1R_EL1 write (same layout):
// TargetList [15:0], Aff1 [23:16], INTID [27:24], Aff2 [39:32], IRM [40], RS [47:44],
// Aff3 [55:48]. A partition's guest MPIDRs are Aff0 = vCPU index with Aff1..Aff3 = 0, so
// a target is a vCPU when Aff3.Aff2.Aff1 are zero and RS * 16 + bit < vCPU count. Targets
// that are no vCPU of this partition are ignored, as the architecture ignores TargetList
// bits naming no PE.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"

namespace bulkhead::vgic {

struct SgiTargets {
  uint8_t intid = 0;
  uint32_t vcpus = 0;  // bit n: vCPU n
};

namespace icc_sgi1r = arch::icc_sgi1r;

// IRM = 1: every vCPU of the partition except `self`.
constexpr SgiTargets decode_sgi1r(uint64_t value, uint8_t self, uint8_t vcpu_count) {
  SgiTargets targets;
  targets.intid = static_cast<uint8_t>((value >> icc_sgi1r::intid_shift) & 0xf);
  const uint32_t all = vcpu_count >= 32 ? 0xffffffffu : (uint32_t{1} << vcpu_count) - 1;
  if ((value & icc_sgi1r::irm) != 0) {
    targets.vcpus = all & ~(uint32_t{1} << (self & 31));
    return targets;
  }
  const uint64_t aff1 = (value >> icc_sgi1r::aff1_shift) & 0xff;
  const uint64_t aff2 = (value >> icc_sgi1r::aff2_shift) & 0xff;
  const uint64_t aff3 = (value >> icc_sgi1r::aff3_shift) & 0xff;
  const unsigned range = static_cast<unsigned>((value >> icc_sgi1r::rs_shift) & 0xf);
  if (aff1 != 0 || aff2 != 0 || aff3 != 0 || range > 1) return targets;  // Aff0 >= 32: no vCPU
  const uint64_t list = value & icc_sgi1r::target_list_mask;
  targets.vcpus = static_cast<uint32_t>((list << (16 * range)) & all);
  return targets;
}

}  // namespace bulkhead::vgic
