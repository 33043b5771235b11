// ICH_LR<n>_EL2 bit layout (GICv3 architecture), as pure functions so the host tests
// check them and the target only moves the values.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"

namespace bulkhead::vgic {

// ICH_LR<n>_EL2.State [63:62]; the queue uses the same encoding for its entries.
enum class LrState : uint8_t { invalid = 0, pending = 1, active = 2, pending_active = 3 };

constexpr bool has_pending(LrState state) { return (static_cast<uint8_t>(state) & 1u) != 0; }
constexpr bool has_active(LrState state) { return (static_cast<uint8_t>(state) & 2u) != 0; }
constexpr LrState make_state(bool pending, bool active) {
  return static_cast<LrState>((pending ? 1u : 0u) | (active ? 2u : 0u));
}

struct ListRegister {
  uint32_t virtual_intid = 0;   // vINTID [31:0]
  uint16_t physical_intid = 0;  // pINTID [44:32] when HW = 1 (SPIs/PPIs fit in [41:32])
  uint8_t priority = 0;         // Priority [55:48]
  bool group1 = false;          // Group [60]
  bool hardware = false;        // HW [61]: deactivating the virtual deactivates pINTID
  bool eoi_maintenance = false;  // EOI [41] when HW = 0: maintenance interrupt on EOI
  LrState state = LrState::invalid;  // State [63:62]
};

namespace ich_lr {
constexpr unsigned physical_shift = 32;
constexpr uint64_t physical_mask = 0x1fffull << physical_shift;
constexpr uint64_t eoi = uint64_t{1} << 41;
constexpr unsigned priority_shift = 48;
constexpr uint64_t group1 = uint64_t{1} << 60;
constexpr uint64_t hardware = uint64_t{1} << 61;
constexpr unsigned state_shift = 62;
constexpr uint64_t state_mask = uint64_t{3} << state_shift;
}  // namespace ich_lr

constexpr uint64_t encode_list_register(const ListRegister& lr) {
  uint64_t value = lr.virtual_intid;
  if (lr.hardware) {
    value |= ich_lr::hardware | ((uint64_t{lr.physical_intid} << ich_lr::physical_shift) & ich_lr::physical_mask);
  } else if (lr.eoi_maintenance) {
    value |= ich_lr::eoi;
  }
  value |= uint64_t{lr.priority} << ich_lr::priority_shift;
  if (lr.group1) value |= ich_lr::group1;
  value |= uint64_t{static_cast<uint8_t>(lr.state)} << ich_lr::state_shift;
  return value;
}

constexpr LrState list_register_state(uint64_t value) { return static_cast<LrState>(value >> ich_lr::state_shift); }

constexpr ListRegister decode_list_register(uint64_t value) {
  ListRegister lr;
  lr.virtual_intid = static_cast<uint32_t>(value);
  lr.hardware = (value & ich_lr::hardware) != 0;
  if (lr.hardware) {
    lr.physical_intid = static_cast<uint16_t>((value & ich_lr::physical_mask) >> ich_lr::physical_shift);
  } else {
    lr.eoi_maintenance = (value & ich_lr::eoi) != 0;
  }
  lr.priority = static_cast<uint8_t>(value >> ich_lr::priority_shift);
  lr.group1 = (value & ich_lr::group1) != 0;
  lr.state = static_cast<LrState>(value >> ich_lr::state_shift);
  return lr;
}

// ICH_HCR/MISR/VTR fields are named in core/arch/aarch64/gic_registers.hpp.
namespace ich_hcr = arch::ich_hcr;
namespace ich_misr = arch::ich_misr;
constexpr unsigned list_register_count(uint64_t ich_vtr) { return arch::ich_vtr::list_register_count(ich_vtr); }
constexpr unsigned priority_bits(uint64_t ich_vtr) { return arch::ich_vtr::priority_bits(ich_vtr); }

}  // namespace bulkhead::vgic
