// System-register access for the target build: one accessor per register the hypervisor
// uses (sysreg::NAME::read()/write()), named as the Arm ARM names it; registers the
// assembler may not know (GICv3 ICC_*/ICH_*) are spelled by their encoding here, once.
#pragma once

#include <cstddef>
#include <cstdint>

#define BULKHEAD_READ_SYSREG(name)                        \
  ({                                                      \
    uint64_t value_;                                      \
    asm volatile("mrs %0, " #name : "=r"(value_));        \
    value_;                                               \
  })
#define BULKHEAD_WRITE_SYSREG(name, value) asm volatile("msr " #name ", %0" ::"r"(static_cast<uint64_t>(value)))

// NOLINTBEGIN(cppcoreguidelines-macro-usage): the register name must reach the asm string.
#define BULKHEAD_SYSREG(name, encoding)                                                   \
  struct name {                                                                           \
    static uint64_t read() {                                                              \
      uint64_t value;                                                                     \
      asm volatile("mrs %0, " encoding : "=r"(value));                                    \
      return value;                                                                       \
    }                                                                                     \
    static void write(uint64_t value) { asm volatile("msr " encoding ", %0" ::"r"(value)); } \
  };
// NOLINTEND(cppcoreguidelines-macro-usage)

namespace bulkhead::arch::sysreg {

// EL1 state a guest owns, which the hypervisor reads and writes to inject exceptions or
// to start a vCPU from its reset values.
BULKHEAD_SYSREG(esr_el1, "esr_el1")
BULKHEAD_SYSREG(far_el1, "far_el1")
BULKHEAD_SYSREG(elr_el1, "elr_el1")
BULKHEAD_SYSREG(spsr_el1, "spsr_el1")
BULKHEAD_SYSREG(vbar_el1, "vbar_el1")
BULKHEAD_SYSREG(sctlr_el1, "sctlr_el1")
BULKHEAD_SYSREG(cntkctl_el1, "cntkctl_el1")
BULKHEAD_SYSREG(cntv_ctl_el0, "cntv_ctl_el0")
BULKHEAD_SYSREG(cntp_ctl_el0, "cntp_ctl_el0")
BULKHEAD_SYSREG(cntv_cval_el0, "cntv_cval_el0")
BULKHEAD_SYSREG(cntp_cval_el0, "cntp_cval_el0")
BULKHEAD_SYSREG(ttbr0_el1, "ttbr0_el1")
BULKHEAD_SYSREG(ttbr1_el1, "ttbr1_el1")
BULKHEAD_SYSREG(tcr_el1, "tcr_el1")
BULKHEAD_SYSREG(mair_el1, "mair_el1")
BULKHEAD_SYSREG(amair_el1, "amair_el1")
BULKHEAD_SYSREG(contextidr_el1, "contextidr_el1")
BULKHEAD_SYSREG(afsr0_el1, "afsr0_el1")
BULKHEAD_SYSREG(afsr1_el1, "afsr1_el1")
BULKHEAD_SYSREG(par_el1, "par_el1")
BULKHEAD_SYSREG(cpacr_el1, "cpacr_el1")
BULKHEAD_SYSREG(csselr_el1, "csselr_el1")
BULKHEAD_SYSREG(mdscr_el1, "mdscr_el1")
BULKHEAD_SYSREG(mdccint_el1, "mdccint_el1")
BULKHEAD_SYSREG(oslar_el1, "oslar_el1")
BULKHEAD_SYSREG(osdlr_el1, "osdlr_el1")
BULKHEAD_SYSREG(pmuserenr_el0, "pmuserenr_el0")
BULKHEAD_SYSREG(tpidr_el0, "tpidr_el0")
BULKHEAD_SYSREG(tpidrro_el0, "tpidrro_el0")
BULKHEAD_SYSREG(tpidr_el1, "tpidr_el1")
BULKHEAD_SYSREG(sp_el0, "sp_el0")
BULKHEAD_SYSREG(sp_el1, "sp_el1")
// EL2 controls.
BULKHEAD_SYSREG(hcr_el2, "hcr_el2")
BULKHEAD_SYSREG(hpfar_el2, "hpfar_el2")
BULKHEAD_SYSREG(tpidr_el2, "tpidr_el2")
BULKHEAD_SYSREG(vtcr_el2, "vtcr_el2")
BULKHEAD_SYSREG(vttbr_el2, "vttbr_el2")
BULKHEAD_SYSREG(vmpidr_el2, "vmpidr_el2")
BULKHEAD_SYSREG(vpidr_el2, "vpidr_el2")
BULKHEAD_SYSREG(cntvoff_el2, "cntvoff_el2")
BULKHEAD_SYSREG(cnthp_tval_el2, "cnthp_tval_el2")
BULKHEAD_SYSREG(cnthp_cval_el2, "cnthp_cval_el2")
BULKHEAD_SYSREG(cnthp_ctl_el2, "cnthp_ctl_el2")
BULKHEAD_SYSREG(mdcr_el2, "mdcr_el2")
BULKHEAD_SYSREG(pmcr_el0, "pmcr_el0")
// Identification.
BULKHEAD_SYSREG(midr_el1, "midr_el1")
BULKHEAD_SYSREG(mpidr_el1, "mpidr_el1")
BULKHEAD_SYSREG(id_aa64mmfr0_el1, "id_aa64mmfr0_el1")
BULKHEAD_SYSREG(id_aa64mmfr1_el1, "id_aa64mmfr1_el1")
BULKHEAD_SYSREG(id_aa64dfr0_el1, "id_aa64dfr0_el1")
BULKHEAD_SYSREG(ctr_el0, "ctr_el0")
// GICv3 CPU interface (EL1 registers as EL2 uses them for itself) and the EL2 virtual
// CPU interface controls.
BULKHEAD_SYSREG(icc_iar1_el1, "S3_0_C12_C12_0")
BULKHEAD_SYSREG(icc_eoir1_el1, "S3_0_C12_C12_1")
BULKHEAD_SYSREG(icc_dir_el1, "S3_0_C12_C11_1")
BULKHEAD_SYSREG(icc_sgi1r_el1, "S3_0_C12_C11_5")
BULKHEAD_SYSREG(icc_pmr_el1, "S3_0_C4_C6_0")
BULKHEAD_SYSREG(icc_bpr1_el1, "S3_0_C12_C12_3")
BULKHEAD_SYSREG(icc_ctlr_el1, "S3_0_C12_C12_4")
BULKHEAD_SYSREG(icc_sre_el1, "S3_0_C12_C12_5")
BULKHEAD_SYSREG(icc_igrpen1_el1, "S3_0_C12_C12_7")
BULKHEAD_SYSREG(icc_sre_el2, "S3_4_C12_C9_5")
BULKHEAD_SYSREG(ich_ap0r0_el2, "S3_4_C12_C8_0")
BULKHEAD_SYSREG(ich_ap1r0_el2, "S3_4_C12_C9_0")
BULKHEAD_SYSREG(ich_hcr_el2, "S3_4_C12_C11_0")
BULKHEAD_SYSREG(ich_vtr_el2, "S3_4_C12_C11_1")
BULKHEAD_SYSREG(ich_misr_el2, "S3_4_C12_C11_2")
BULKHEAD_SYSREG(ich_eisr_el2, "S3_4_C12_C11_3")
BULKHEAD_SYSREG(ich_elrsr_el2, "S3_4_C12_C11_5")
BULKHEAD_SYSREG(ich_vmcr_el2, "S3_4_C12_C11_7")

// ICH_LR<n>_EL2, n < 16: the encoding is a compile-time constant per n, hence the switch.
inline uint64_t read_list_register(size_t index) {
  uint64_t value = 0;
  switch (index) {
#define BULKHEAD_LR_READ(n, crm, op2) \
  case n: asm volatile("mrs %0, S3_4_C12_" #crm "_" #op2 : "=r"(value)); break;
    BULKHEAD_LR_READ(0, C12, 0) BULKHEAD_LR_READ(1, C12, 1) BULKHEAD_LR_READ(2, C12, 2) BULKHEAD_LR_READ(3, C12, 3)
    BULKHEAD_LR_READ(4, C12, 4) BULKHEAD_LR_READ(5, C12, 5) BULKHEAD_LR_READ(6, C12, 6) BULKHEAD_LR_READ(7, C12, 7)
    BULKHEAD_LR_READ(8, C13, 0) BULKHEAD_LR_READ(9, C13, 1) BULKHEAD_LR_READ(10, C13, 2) BULKHEAD_LR_READ(11, C13, 3)
    BULKHEAD_LR_READ(12, C13, 4) BULKHEAD_LR_READ(13, C13, 5) BULKHEAD_LR_READ(14, C13, 6) BULKHEAD_LR_READ(15, C13, 7)
#undef BULKHEAD_LR_READ
    default: break;
  }
  return value;
}

inline void write_list_register(size_t index, uint64_t value) {
  switch (index) {
#define BULKHEAD_LR_WRITE(n, crm, op2) \
  case n: asm volatile("msr S3_4_C12_" #crm "_" #op2 ", %0" ::"r"(value)); break;
    BULKHEAD_LR_WRITE(0, C12, 0) BULKHEAD_LR_WRITE(1, C12, 1) BULKHEAD_LR_WRITE(2, C12, 2) BULKHEAD_LR_WRITE(3, C12, 3)
    BULKHEAD_LR_WRITE(4, C12, 4) BULKHEAD_LR_WRITE(5, C12, 5) BULKHEAD_LR_WRITE(6, C12, 6) BULKHEAD_LR_WRITE(7, C12, 7)
    BULKHEAD_LR_WRITE(8, C13, 0) BULKHEAD_LR_WRITE(9, C13, 1) BULKHEAD_LR_WRITE(10, C13, 2) BULKHEAD_LR_WRITE(11, C13, 3)
    BULKHEAD_LR_WRITE(12, C13, 4) BULKHEAD_LR_WRITE(13, C13, 5) BULKHEAD_LR_WRITE(14, C13, 6) BULKHEAD_LR_WRITE(15, C13, 7)
#undef BULKHEAD_LR_WRITE
    default: break;
  }
}

// The debug breakpoint and watchpoint registers DBGB{C,V}R<n>_EL1 / DBGW{C,V}R<n>_EL1,
// n < 16: cleared when a vCPU (re)starts (the guest owns them while it runs).
inline void clear_debug_register_pair(size_t index, bool watchpoint) {
  switch (index) {
#define BULKHEAD_DEBUG_CLEAR(n)                                                                              \
  case n:                                                                                                    \
    if (watchpoint) {                                                                                        \
      asm volatile("msr dbgwcr" #n "_el1, xzr\n msr dbgwvr" #n "_el1, xzr");                                  \
    } else {                                                                                                 \
      asm volatile("msr dbgbcr" #n "_el1, xzr\n msr dbgbvr" #n "_el1, xzr");                                  \
    }                                                                                                        \
    break;
    BULKHEAD_DEBUG_CLEAR(0) BULKHEAD_DEBUG_CLEAR(1) BULKHEAD_DEBUG_CLEAR(2) BULKHEAD_DEBUG_CLEAR(3)
    BULKHEAD_DEBUG_CLEAR(4) BULKHEAD_DEBUG_CLEAR(5) BULKHEAD_DEBUG_CLEAR(6) BULKHEAD_DEBUG_CLEAR(7)
    BULKHEAD_DEBUG_CLEAR(8) BULKHEAD_DEBUG_CLEAR(9) BULKHEAD_DEBUG_CLEAR(10) BULKHEAD_DEBUG_CLEAR(11)
    BULKHEAD_DEBUG_CLEAR(12) BULKHEAD_DEBUG_CLEAR(13) BULKHEAD_DEBUG_CLEAR(14) BULKHEAD_DEBUG_CLEAR(15)
#undef BULKHEAD_DEBUG_CLEAR
    default: break;
  }
}

}  // namespace bulkhead::arch::sysreg

namespace bulkhead::arch {

inline void instruction_barrier() { asm volatile("isb" ::: "memory"); }
inline void data_barrier() { asm volatile("dsb sy" ::: "memory"); }
inline void send_event() { asm volatile("dsb ishst\n sev" ::: "memory"); }
inline void wait_for_event() { asm volatile("wfe" ::: "memory"); }
// A hint that other CPUs may run now: on hardware they already do, alongside; an
// emulator that runs CPUs one at a time (QEMU's TCG) switches to the next one.
inline void yield_to_other_cpus() { asm volatile("yield" ::: "memory"); }
inline void wait_for_interrupt() { asm volatile("wfi" ::: "memory"); }

inline uint64_t counter() {
  instruction_barrier();
  return BULKHEAD_READ_SYSREG(cntpct_el0);
}
inline uint64_t counter_frequency() { return BULKHEAD_READ_SYSREG(cntfrq_el0); }
// MPIDR_EL1 affinity fields (Aff3 [39:32], Aff2..Aff0 [23:0]): the rest says nothing about which CPU.
constexpr uint64_t mpidr_aff2_to_aff0 = 0xffffff;  // what descriptions name a CPU by
inline uint64_t own_mpidr() { return sysreg::mpidr_el1::read() & 0xff00ffffffull; }

// The smallest data cache line of any cache (CTR_EL0.DminLine): the stride of maintenance by address.
inline uint64_t dcache_line_bytes() { return 4ull << ((BULKHEAD_READ_SYSREG(ctr_el0) >> 16) & 0xf); }

// Writes dirty lines of [start, start+size) to the point of coherency, so a CPU that
// still has its MMU off (non-cacheable accesses) sees the data.
inline void clean_dcache_range(const void* start, uint64_t size) {
  const uint64_t line = dcache_line_bytes();
  uint64_t address = reinterpret_cast<uint64_t>(start) & ~(line - 1);
  const uint64_t end = reinterpret_cast<uint64_t>(start) + size;
  for (; address < end; address += line) asm volatile("dc cvac, %0" ::"r"(address) : "memory");
  data_barrier();
}

// Zeroes [start, start+size): whole DC ZVA blocks where it is allowed (DCZID_EL0.DZP
// clear), bytes at the unaligned ends. Scrubbing a 1 GiB partition so costs 16 M
// instructions, not a billion.
inline void zero_memory(void* start, uint64_t size) {
  auto* bytes = static_cast<volatile uint8_t*>(start);
  const uint64_t begin = reinterpret_cast<uint64_t>(start);
  const uint64_t dczid = BULKHEAD_READ_SYSREG(dczid_el0);
  const uint64_t block = 4ull << (dczid & 0xf);
  uint64_t from = begin + size;  // [from, to): zeroed by blocks
  uint64_t to = from;
  if ((dczid & (1u << 4)) == 0 && ((begin + block - 1) & ~(block - 1)) <= ((begin + size) & ~(block - 1))) {
    from = (begin + block - 1) & ~(block - 1);
    to = (begin + size) & ~(block - 1);
    for (uint64_t address = from; address < to; address += block) asm volatile("dc zva, %0" ::"r"(address) : "memory");
  }
  for (uint64_t i = 0; i < from - begin; ++i) bytes[i] = 0;
  for (uint64_t i = to - begin; i < size; ++i) bytes[i] = 0;
}

}  // namespace bulkhead::arch
