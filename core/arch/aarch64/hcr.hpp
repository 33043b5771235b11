// The EL2 trap and routing controls: HCR_EL2, CPTR_EL2 and CNTHCTL_EL2, each bit named
// once. What a guest runs with is composed in core/vcpu/vcpu_entry.cpp, which says why.
// Arm ARM D17.2.48, D17.2.30, D17.2.26. Usable from assembly (macros) and C++.
#pragma once

// CPTR_EL2: its RES1 bits and TTA (20): trace system registers trap, so no guest can
// program a system-register trace unit (ETE/TRBE) that would watch other partitions.
// FP/SIMD is not trapped (libfdt uses it at boot; guests keep their FP state in place).
#define BULKHEAD_CPTR_EL2_VALUE (0x33ff | (1 << 20))
// CNTHCTL_EL2: EL1PCTEN | EL1PCEN (EL1 reaches the physical counter and timer), EVNTEN
// with EVNTI = 12 (an event every 2^13 counter ticks: WFE-based waits can time out).
#define BULKHEAD_CNTHCTL_EL2_VALUE (0x3 | (1 << 2) | (12 << 4))

#ifndef __ASSEMBLER__
#include <cstdint>

namespace bulkhead::arch::hcr {

constexpr uint64_t vm = uint64_t{1} << 0;      // stage 2 translation for EL1&0
constexpr uint64_t swio = uint64_t{1} << 1;    // set/way invalidate becomes clean+invalidate
constexpr uint64_t ptw = uint64_t{1} << 2;     // stage-1 walks to Device memory fault
constexpr uint64_t fmo = uint64_t{1} << 3;     // physical FIQs to EL2, virtual FIQs to EL1
constexpr uint64_t imo = uint64_t{1} << 4;     // physical IRQs to EL2, virtual IRQs to EL1
constexpr uint64_t amo = uint64_t{1} << 5;     // physical SErrors to EL2
constexpr uint64_t vf = uint64_t{1} << 6;
constexpr uint64_t vi = uint64_t{1} << 7;
constexpr uint64_t vse = uint64_t{1} << 8;
constexpr uint64_t fb = uint64_t{1} << 9;      // TLB/cache maintenance broadcast (inner shareable)
constexpr uint64_t bsu_inner = uint64_t{1} << 10;  // barriers upgraded to inner shareable
constexpr uint64_t dc = uint64_t{1} << 12;
constexpr uint64_t twi = uint64_t{1} << 13;
constexpr uint64_t twe = uint64_t{1} << 14;
constexpr uint64_t tid0 = uint64_t{1} << 15;
constexpr uint64_t tid1 = uint64_t{1} << 16;
constexpr uint64_t tid2 = uint64_t{1} << 17;
constexpr uint64_t tid3 = uint64_t{1} << 18;
constexpr uint64_t tsc = uint64_t{1} << 19;    // SMC traps to EL2
constexpr uint64_t tidcp = uint64_t{1} << 20;  // IMPLEMENTATION DEFINED registers trap
constexpr uint64_t tacr = uint64_t{1} << 21;   // auxiliary control registers trap
constexpr uint64_t tsw = uint64_t{1} << 22;    // set/way cache maintenance traps
constexpr uint64_t tpc = uint64_t{1} << 23;
constexpr uint64_t tpu = uint64_t{1} << 24;
constexpr uint64_t ttlb = uint64_t{1} << 25;
constexpr uint64_t tvm = uint64_t{1} << 26;
constexpr uint64_t tge = uint64_t{1} << 27;
constexpr uint64_t tdz = uint64_t{1} << 28;
constexpr uint64_t hcd = uint64_t{1} << 29;
constexpr uint64_t trvm = uint64_t{1} << 30;
constexpr uint64_t rw = uint64_t{1} << 31;     // EL1 is AArch64

}  // namespace bulkhead::arch::hcr

namespace bulkhead::arch {
// MDCR_EL2: the guest's access to the performance monitors and debug.
namespace mdcr {
constexpr uint64_t hpmn_mask = 0x1f;          // counters 0..HPMN-1 belong to EL1/EL0
constexpr uint64_t tpmcr = uint64_t{1} << 5;  // PMCR_EL0 accesses trap
constexpr uint64_t tpm = uint64_t{1} << 6;    // every performance-monitor access traps
constexpr uint64_t tde = uint64_t{1} << 8;    // debug exceptions to EL2
constexpr uint64_t tda = uint64_t{1} << 9;    // debug register accesses trap
constexpr uint64_t tdosa = uint64_t{1} << 10; // OS-lock and power-down debug registers trap
constexpr uint64_t tdra = uint64_t{1} << 11;  // debug ROM address registers trap
}  // namespace mdcr

// ID_AA64DFR0_EL1: how many breakpoints and watchpoints there are.
namespace id_aa64dfr0 {
constexpr unsigned breakpoints(uint64_t value) { return static_cast<unsigned>((value >> 12) & 0xf) + 1; }
constexpr unsigned watchpoints(uint64_t value) { return static_cast<unsigned>((value >> 20) & 0xf) + 1; }
}  // namespace id_aa64dfr0

// OSLAR_EL1.OSLK: writing 1 locks the OS Lock (its reset state).
constexpr uint64_t oslar_lock = 1;

// PMCR_EL0.N [15:11]: the number of event counters.
constexpr uint64_t pmcr_counters(uint64_t pmcr) { return (pmcr >> 11) & 0x1f; }

constexpr uint64_t cptr_el2_value = BULKHEAD_CPTR_EL2_VALUE;
constexpr uint64_t cnthctl_el2_value = BULKHEAD_CNTHCTL_EL2_VALUE;
// CNTHP_CTL_EL2 / CNTV_CTL_EL0 / CNTP_CTL_EL0.
namespace timer_control {
constexpr uint64_t enable = uint64_t{1} << 0;
constexpr uint64_t interrupt_mask = uint64_t{1} << 1;
constexpr uint64_t status = uint64_t{1} << 2;
}  // namespace timer_control
}  // namespace bulkhead::arch
#endif
