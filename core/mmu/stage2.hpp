// Stage-2 (guest-physical to host-physical) setup derived from the CPU's ID registers.
// The tables themselves come from PageTable with Regime::stage2, rooted at level 0.
#pragma once

#include <cstdint>

namespace bulkhead {

// Guest addresses stay below 2^40 (partitions/guest_layout.hpp). A level-0 start needs
// an IPA of at least 40 bits, and the IPA may not exceed the physical address size.
constexpr unsigned stage2_ipa_bits = 40;

struct Stage2Setup {
  bool supported = false;
  unsigned physical_address_bits = 0;  // from ID_AA64MMFR0_EL1.PARange
  unsigned vmid_bits = 8;              // from ID_AA64MMFR1_EL1.VMIDBits
  uint64_t vtcr = 0;                   // VTCR_EL2 value
};

unsigned physical_address_bits(uint64_t id_aa64mmfr0);
Stage2Setup stage2_setup(uint64_t id_aa64mmfr0, uint64_t id_aa64mmfr1);

// VTTBR_EL2: the partition's VMID tags its TLB entries; the root is its level-0 table.
constexpr uint64_t vttbr_value(uint64_t root, uint16_t vmid) { return (static_cast<uint64_t>(vmid) << 48) | root; }

}  // namespace bulkhead
