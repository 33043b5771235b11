// SPSR_EL2 / SPSR_EL1: the saved process state. The mode field, the execution state and
// the interrupt masks the hypervisor reads from a guest's exit and writes when it enters
// a guest or injects an exception. Arm ARM C5.2.18. Usable from assembly (macros) and C++.
#pragma once

#define BULKHEAD_SPSR_MODE_EL1H 0x5
#define BULKHEAD_SPSR_DAIF 0x3c0
// EL1h with D, A, I and F masked: how a guest starts and how an exception enters it.
#define BULKHEAD_SPSR_EL1H_MASKED (BULKHEAD_SPSR_DAIF | BULKHEAD_SPSR_MODE_EL1H)

#ifndef __ASSEMBLER__
#include <cstdint>

namespace bulkhead::arch::psr {

constexpr uint64_t mode_mask = 0xf;  // M[3:0] (AArch64): EL and stack pointer
constexpr uint64_t mode_el0t = 0x0;
constexpr uint64_t mode_el1t = 0x4;
constexpr uint64_t mode_el1h = BULKHEAD_SPSR_MODE_EL1H;
constexpr uint64_t mode_el2t = 0x8;
constexpr uint64_t mode_el2h = 0x9;
constexpr uint64_t mode_el_shift = 2;  // M[3:2]: the exception level
constexpr uint64_t mode_sp_elx = 0x1;  // M[0]: SP_ELx (h) rather than SP_EL0 (t)
constexpr uint64_t aarch32 = uint64_t{1} << 4;  // M[4] (nRW): the interrupted state was AArch32
constexpr uint64_t thumb = uint64_t{1} << 5;    // AArch32 only: T32 state
constexpr uint64_t fiq_mask = uint64_t{1} << 6;
constexpr uint64_t irq_mask = uint64_t{1} << 7;
constexpr uint64_t serror_mask = uint64_t{1} << 8;
constexpr uint64_t debug_mask = uint64_t{1} << 9;
constexpr uint64_t daif = BULKHEAD_SPSR_DAIF;
constexpr uint64_t el1h_masked = BULKHEAD_SPSR_EL1H_MASKED;

constexpr bool from_aarch32(uint64_t spsr) { return (spsr & aarch32) != 0; }
// The exception level the saved state ran at. With EL1 in AArch64 (HCR_EL2.RW), only EL0
// can be AArch32.
constexpr unsigned exception_level(uint64_t spsr) {
  return from_aarch32(spsr) ? 0u : static_cast<unsigned>((spsr & mode_mask) >> mode_el_shift);
}
constexpr bool uses_sp_elx(uint64_t spsr) { return !from_aarch32(spsr) && (spsr & mode_sp_elx) != 0; }

}  // namespace bulkhead::arch::psr
#endif
