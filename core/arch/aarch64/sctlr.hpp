// SCTLR_EL1 and SCTLR_EL2: the system control bits the hypervisor sets (its own MMU and
// caches, a guest's reset state) or reads (a guest's data endianness). Arm ARM D17.2.118.
// Usable from assembly (macros) and C++.
#pragma once

#define BULKHEAD_SCTLR_M (1 << 0)
#define BULKHEAD_SCTLR_C (1 << 2)
#define BULKHEAD_SCTLR_SA (1 << 3)
#define BULKHEAD_SCTLR_I (1 << 12)
// RES1 bits of SCTLR_EL2 with HCR_EL2.E2H = 0 (Armv8.0).
#define BULKHEAD_SCTLR_EL2_RES1 0x30c50830
#define BULKHEAD_SCTLR_EL2_MMU_ON \
  (BULKHEAD_SCTLR_EL2_RES1 | BULKHEAD_SCTLR_M | BULKHEAD_SCTLR_C | BULKHEAD_SCTLR_SA | BULKHEAD_SCTLR_I)

#ifndef __ASSEMBLER__
#include <cstdint>

namespace bulkhead::arch::sctlr {

constexpr uint64_t mmu = BULKHEAD_SCTLR_M;
constexpr uint64_t alignment_check = uint64_t{1} << 1;
constexpr uint64_t data_cache = BULKHEAD_SCTLR_C;
constexpr uint64_t stack_alignment = BULKHEAD_SCTLR_SA;
constexpr uint64_t instruction_cache = BULKHEAD_SCTLR_I;
constexpr uint64_t el0_big_endian = uint64_t{1} << 24;  // E0E: EL0 data accesses
constexpr uint64_t big_endian = uint64_t{1} << 25;      // EE: EL1 data accesses and table walks
// SCTLR_EL1 RES1 bits (Armv8.0: 29, 28, 23, 22, 20, 11): its value at a guest's reset,
// MMU, caches and alignment checks off, little-endian.
constexpr uint64_t el1_reset = 0x30d00800;
constexpr uint64_t el2_mmu_on = BULKHEAD_SCTLR_EL2_MMU_ON;

// Whether a data access made at `exception_level` (0 or 1) is big-endian.
constexpr bool data_big_endian(uint64_t sctlr_el1, unsigned exception_level) {
  return (sctlr_el1 & (exception_level == 0 ? el0_big_endian : big_endian)) != 0;
}

// Whether data accesses are little-endian at EL0 and EL1 alike: then no access needs its
// bytes reversed, whichever of the two made it.
constexpr bool data_little_endian_everywhere(uint64_t sctlr_el1) {
  return (sctlr_el1 & (el0_big_endian | big_endian)) == 0;
}

}  // namespace bulkhead::arch::sctlr
#endif
