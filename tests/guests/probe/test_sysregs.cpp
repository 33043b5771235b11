// System registers a partition must not reach (issue 15), as the architecture lets a
// hypervisor hide them:
//   pmu     the performance monitors trap (MDCR_EL2.TPM/TPMCR) and read as zero, writes
//           ignored: a PMU without counters, so nothing a guest does makes anything count,
//           at EL2 above all;
//   actlr   ACTLR_EL1 traps (HCR_EL2.TACR): reads 0, writes ignored. On QEMU's Cortex-A57
//           it reads 0 and ignores writes anyway, so the test also prints what a read
//           costs next to a read of a register that does not trap (cost.hpp);
//   impdef  IMPLEMENTATION DEFINED registers (op0 3, CRn 11 or 15; HCR_EL2.TIDCP) are
//           UNDEFINED: each read and write takes an exception at EL1 with EC 0x00, IL 1
//           and ELR at the access. The ones QEMU's Cortex-A57 implements, so an access the
//           hypervisor lets through reaches a register rather than faulting anyway.
// tests/integration/probe_tests.py, scenarios sysregs and impdef.
#include "console.hpp"
#include "cost.hpp"
#include "psci.hpp"
#include "tests.hpp"

namespace probe {
namespace {

struct PmuRegister {
  const char* name;
  uint64_t (*read)();              // nullptr: write-only
  void (*write)(uint64_t);         // nullptr: read-only
  uint64_t value;                  // what the test writes
};

#define PROBE_PMU_RW(reg, value)                                                             \
  PmuRegister {                                                                              \
    #reg, [] { return PROBE_READ_SYSREG(reg); }, [](uint64_t v) { PROBE_WRITE_SYSREG(reg, v); }, value \
  }
#define PROBE_PMU_RO(reg) \
  PmuRegister { #reg, [] { return PROBE_READ_SYSREG(reg); }, nullptr, 0 }
#define PROBE_PMU_WO(reg, value) \
  PmuRegister { #reg, nullptr, [](uint64_t v) { PROBE_WRITE_SYSREG(reg, v); }, value }

// PMEVTYPER/PMCCFILTR: NSH (bit 27) counts at EL2 too, with EL1 and EL0; event 0x11 is
// CPU_CYCLES. Written in this order, the enables last.
constexpr uint64_t count_el2 = 1u << 27;
constexpr uint64_t cpu_cycles = 0x11;
constexpr uint64_t all_counters = 0x8000003f;  // the cycle counter and counters 0-5
const PmuRegister pmu_registers[] = {
    PROBE_PMU_RW(pmuserenr_el0, 0xf),          // EL0 access to everything
    PROBE_PMU_RW(pmselr_el0, 0),
    PROBE_PMU_RW(pmxevtyper_el0, count_el2 | cpu_cycles),
    PROBE_PMU_RW(pmxevcntr_el0, 0x1000),
    PROBE_PMU_RW(pmevtyper0_el0, count_el2 | cpu_cycles),
    PROBE_PMU_RW(pmevcntr0_el0, 0x1000),
    PROBE_PMU_RW(pmccfiltr_el0, count_el2),
    PROBE_PMU_RW(pmccntr_el0, 0x100000),
    PROBE_PMU_RW(pmovsset_el0, 1),             // an overflow, with its interrupt enabled below
    PROBE_PMU_RW(pmovsclr_el0, 0),
    PROBE_PMU_RW(pmintenset_el1, all_counters),
    PROBE_PMU_RW(pmintenclr_el1, 0),
    PROBE_PMU_RO(pmceid0_el0),
    PROBE_PMU_RO(pmceid1_el0),
    PROBE_PMU_RW(pmcntenclr_el0, 0),
    PROBE_PMU_WO(pmswinc_el0, 0x3f),
    PROBE_PMU_RW(pmcntenset_el0, all_counters),
    PROBE_PMU_RW(pmcr_el0, 0x41),              // E (count), LC (64-bit cycle counter)
};

constexpr uint32_t pmu_hypercalls = 1000;

// Every readable PMU register reads 0; a FAIL line per one that does not.
bool pmu_reads_zero(const char* when) {
  bool ok = true;
  for (const PmuRegister& reg : pmu_registers) {
    if (reg.read == nullptr) continue;
    const uint64_t value = reg.read();
    if (value != 0) {
      begin_fail();
      put_text(reg.name);
      put(' ');
      put_text(when);
      put_text(" expected 0x0 got ");
      put_hex(value);
      end_line();
      ok = false;
    }
  }
  return ok;
}

}  // namespace

void test_pmu() {
  bool ok = pmu_reads_zero("before any write");
  uint32_t readable = 0;
  for (const PmuRegister& reg : pmu_registers) {
    if (reg.write != nullptr) reg.write(reg.value);
    if (reg.read != nullptr) ++readable;
  }
  isb();
  // Work at EL1 and, through hypercalls, at EL2: a counter that counted would move.
  uint64_t sum = 0;
  for (uint32_t i = 0; i < pmu_hypercalls; ++i) sum += static_cast<uint64_t>(psci::hvc(psci::version)) + i;
  EXPECT_HEX("sum of PSCI_VERSION results", sum,
             uint64_t{pmu_hypercalls} * psci::version_1_1 + uint64_t{pmu_hypercalls} * (pmu_hypercalls - 1) / 2);
  ok = pmu_reads_zero("after writes, a software increment and 1000 hypercalls") && ok;
  if (!ok) return;
  begin_pass();
  put_decimal(readable);
  put_text(" PMU registers read 0 before and after writes enabling every counter at EL0/EL1/EL2, ");
  put_text("an overflow, a software increment and 1000 hypercalls");
  end_line();
}

namespace {
constexpr uint64_t cost_iterations = 1000;
}  // namespace

void test_actlr() {
  EXPECT_HEX("ACTLR_EL1", PROBE_READ_SYSREG(actlr_el1), 0);
  PROBE_WRITE_SYSREG(actlr_el1, 0xffffffff);
  isb();
  EXPECT_HEX("ACTLR_EL1 after writing 0xffffffff", PROBE_READ_SYSREG(actlr_el1), 0);
  const uint64_t actlr_read = mean_ns([] { (void)PROBE_READ_SYSREG(actlr_el1); }, cost_iterations);
  const uint64_t actlr_write = mean_ns([] { PROBE_WRITE_SYSREG(actlr_el1, 0); }, cost_iterations);
  const uint64_t plain_read = mean_ns([] { (void)PROBE_READ_SYSREG(tpidr_el1); }, cost_iterations);
  print_cost("actlr-read-ns", actlr_read);
  print_cost("actlr-write-ns", actlr_write);
  print_cost("sysreg-read-ns", plain_read);
  begin_pass();
  put_text("ACTLR_EL1 reads 0 before and after writing 0xffffffff");
  end_line();
}

namespace {

constexpr uint64_t ec_unknown = 0x00;
constexpr uint64_t esr_il = 1u << 25;
constexpr uint64_t esr_iss = 0x1ffffff;

// One access that must be UNDEFINED: `access` runs it and returns the instruction's address.
template <typename Access>
bool expect_undefined_access(const char* what, Access access) {
  expect_undefined(true);
  const uint64_t insn = access();
  expect_undefined(false);
  const AbortRecord& a = aborts();
  if (a.count != 1) {
    begin_fail();
    put_text(what);
    put_text(" was not UNDEFINED (exceptions ");
    put_decimal(a.count);
    put(')');
    end_line();
    return false;
  }
  const uint64_t esr = a.esr;
  if (exception_class(esr) != ec_unknown || (esr & esr_il) == 0 || (esr & esr_iss) != 0 || a.elr != insn) {
    begin_fail();
    put_text(what);
    put_text(" took ESR_EL1 ");
    put_hex(esr);
    put_text(" ELR_EL1 ");
    put_hex(a.elr);
    put_text(" (expected EC 0x0 IL 1 ISS 0 at ");
    put_hex(insn);
    put(')');
    end_line();
    return false;
  }
  return true;
}

#define PROBE_IMPDEF_READ(encoding)                                                     \
  [] {                                                                                  \
    uint64_t insn;                                                                      \
    asm volatile("adr %0, 1f\n 1: mrs x2, " #encoding : "=&r"(insn) : : "x2", "memory"); \
    return insn;                                                                        \
  }
#define PROBE_IMPDEF_WRITE(encoding)                                                      \
  [] {                                                                                    \
    uint64_t insn;                                                                        \
    asm volatile("adr %0, 1f\n 1: msr " #encoding ", xzr" : "=&r"(insn) : : "memory");    \
    return insn;                                                                          \
  }

}  // namespace

void test_impdef() {
  // Cortex-A57's (TRM 4.3): L2CTLR_EL1, L2ECTLR_EL1, CPUACTLR_EL1, CPUECTLR_EL1, CBAR_EL1.
  // Writes only where 0 is harmless were it to land (not CPUECTLR_EL1.SMPEN).
  const bool ok = expect_undefined_access("read of S3_1_C11_C0_2 (L2CTLR_EL1)", PROBE_IMPDEF_READ(s3_1_c11_c0_2)) &&
                  expect_undefined_access("read of S3_1_C11_C0_3 (L2ECTLR_EL1)", PROBE_IMPDEF_READ(s3_1_c11_c0_3)) &&
                  expect_undefined_access("read of S3_1_C15_C2_0 (CPUACTLR_EL1)", PROBE_IMPDEF_READ(s3_1_c15_c2_0)) &&
                  expect_undefined_access("read of S3_1_C15_C2_1 (CPUECTLR_EL1)", PROBE_IMPDEF_READ(s3_1_c15_c2_1)) &&
                  expect_undefined_access("read of S3_1_C15_C3_0 (CBAR_EL1)", PROBE_IMPDEF_READ(s3_1_c15_c3_0)) &&
                  expect_undefined_access("write of S3_1_C11_C0_3 (L2ECTLR_EL1)", PROBE_IMPDEF_WRITE(s3_1_c11_c0_3)) &&
                  expect_undefined_access("write of S3_1_C15_C2_0 (CPUACTLR_EL1)", PROBE_IMPDEF_WRITE(s3_1_c15_c2_0));
  if (!ok) return;
  begin_pass();
  put_text("5 reads and 2 writes of IMPLEMENTATION DEFINED registers were UNDEFINED");
  end_line();
}

}  // namespace probe
