// What a trapped system-register access does (core/vcpu/sysreg_trap.hpp), decided from
// syndromes encoded here by hand: every register is spelled with its (op0, op1, CRn, CRm,
// op2) from the Arm ARM's register descriptions (D17/D19), not with the constants of
// core/arch/aarch64/esr.hpp, so a wrong constant there shows up here.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/arch/aarch64/esr.hpp"
#include "core/vcpu/exit.hpp"
#include "core/vcpu/sysreg_trap.hpp"

using namespace bulkhead;
using vcpu::SysregAction;

namespace {

struct Named {
  std::string name;
  unsigned op0, op1, crn, crm, op2;
};

// ESR_EL2 of a trapped MSR (read = false) or MRS (read = true) with Rt = 5: EC 0x18, IL,
// ISS Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Direction [0].
uint64_t trapped(const Named& r, bool read) {
  const uint64_t iss = (uint64_t{r.op0} << 20) | (uint64_t{r.op2} << 17) | (uint64_t{r.op1} << 14) |
                       (uint64_t{r.crn} << 10) | (uint64_t{5} << 5) | (uint64_t{r.crm} << 1) | (read ? 1 : 0);
  return (uint64_t{0x18} << 26) | (uint64_t{1} << 25) | iss;
}

// The action for `r` as the exit handler computes it: from the decoded syndrome.
SysregAction action(const Named& r, bool read) {
  const arch::Esr esr(trapped(r, read));
  REQUIRE(vcpu::decode_exit(esr.value(), 0, 0).kind == vcpu::ExitKind::system_register);
  return vcpu::sysreg_action(arch::sysreg_encoding(esr), esr.sysreg_is_read());
}

// Every AArch64 performance-monitor register (Armv8.0 PMUv3), which MDCR_EL2.TPM traps.
std::vector<Named> performance_monitors() {
  std::vector<Named> list = {
      {"PMCR_EL0", 3, 3, 9, 12, 0},       {"PMCNTENSET_EL0", 3, 3, 9, 12, 1}, {"PMCNTENCLR_EL0", 3, 3, 9, 12, 2},
      {"PMOVSCLR_EL0", 3, 3, 9, 12, 3},   {"PMSWINC_EL0", 3, 3, 9, 12, 4},    {"PMSELR_EL0", 3, 3, 9, 12, 5},
      {"PMCEID0_EL0", 3, 3, 9, 12, 6},    {"PMCEID1_EL0", 3, 3, 9, 12, 7},    {"PMCCNTR_EL0", 3, 3, 9, 13, 0},
      {"PMXEVTYPER_EL0", 3, 3, 9, 13, 1}, {"PMXEVCNTR_EL0", 3, 3, 9, 13, 2},  {"PMUSERENR_EL0", 3, 3, 9, 14, 0},
      {"PMOVSSET_EL0", 3, 3, 9, 14, 3},   {"PMINTENSET_EL1", 3, 0, 9, 14, 1}, {"PMINTENCLR_EL1", 3, 0, 9, 14, 2},
      {"PMCCFILTR_EL0", 3, 3, 14, 15, 7},
  };
  // PMEVCNTR<n>_EL0: CRm 0b10:n[4:3], op2 n[2:0]; PMEVTYPER<n>_EL0: CRm 0b11:n[4:3].
  for (unsigned n = 0; n < 31; ++n) {
    list.push_back({"PMEVCNTR" + std::to_string(n) + "_EL0", 3, 3, 14, 8 | (n >> 3), n & 7});
    list.push_back({"PMEVTYPER" + std::to_string(n) + "_EL0", 3, 3, 14, 12 | (n >> 3), n & 7});
  }
  return list;
}

}  // namespace

TEST_CASE("sysreg trap: every performance-monitor register and ACTLR_EL1 read as zero, writes ignored") {
  std::vector<Named> registers = performance_monitors();
  registers.push_back({"ACTLR_EL1", 3, 0, 1, 0, 1});
  CHECK(registers.size() == 16 + 62 + 1);
  for (const Named& r : registers) {
    CAPTURE(r.name);
    CHECK(action(r, true) == SysregAction::read_as_zero);
    CHECK(action(r, false) == SysregAction::read_as_zero);
  }
}

TEST_CASE("sysreg trap: IMPLEMENTATION DEFINED registers are undefined, in both directions") {
  // HCR_EL2.TIDCP traps op0 3 with CRn 11 or 15 (any op1, CRm, op2). Cortex-A57's (TRM
  // 4.3) and a spread of the rest of the space.
  const Named registers[] = {
      {"L2CTLR_EL1", 3, 1, 11, 0, 2},  {"L2ECTLR_EL1", 3, 1, 11, 0, 3}, {"CPUACTLR_EL1", 3, 1, 15, 2, 0},
      {"CPUECTLR_EL1", 3, 1, 15, 2, 1}, {"CBAR_EL1", 3, 1, 15, 3, 0},    {"S3_0_C11_C0_0", 3, 0, 11, 0, 0},
      {"S3_0_C15_C15_7", 3, 0, 15, 15, 7}, {"S3_3_C15_C0_0", 3, 3, 15, 0, 0}, {"S3_7_C11_C15_7", 3, 7, 11, 15, 7},
      {"S3_4_C15_C1_0", 3, 4, 15, 1, 0}, {"S3_6_C15_C9_3", 3, 6, 15, 9, 3},
  };
  for (const Named& r : registers) {
    CAPTURE(r.name);
    CHECK(action(r, true) == SysregAction::undefined);
    CHECK(action(r, false) == SysregAction::undefined);
  }
}

TEST_CASE("sysreg trap: DC ISW, CSW and CISW are emulated by set/way, nothing near them is") {
  const Named operations[] = {{"DC ISW", 1, 0, 7, 6, 2}, {"DC CSW", 1, 0, 7, 10, 2}, {"DC CISW", 1, 0, 7, 14, 2}};
  for (const Named& r : operations) {
    CAPTURE(r.name);
    CHECK(action(r, false) == SysregAction::set_way);
  }
  // By-address operations (never trapped by TSW) and the AArch32-only DC ops' neighbours.
  const Named others[] = {{"DC IVAC", 1, 0, 7, 6, 1},  {"DC CVAC", 1, 3, 7, 10, 1}, {"DC CIVAC", 1, 3, 7, 14, 1},
                          {"DC ZVA", 1, 3, 7, 4, 1},   {"DC CVAU", 1, 3, 7, 11, 1}, {"IC IALLU", 1, 0, 7, 5, 0},
                          {"DC ISW op1 1", 1, 1, 7, 6, 2}};
  for (const Named& r : others) {
    CAPTURE(r.name);
    CHECK(action(r, false) == SysregAction::undefined);
  }
}

TEST_CASE("sysreg trap: writes TVM traps are done, reads of the same registers are not expected") {
  const Named registers[] = {
      {"SCTLR_EL1", 3, 0, 1, 0, 0},  {"TTBR0_EL1", 3, 0, 2, 0, 0}, {"TTBR1_EL1", 3, 0, 2, 0, 1},
      {"TCR_EL1", 3, 0, 2, 0, 2},    {"AFSR0_EL1", 3, 0, 5, 1, 0}, {"AFSR1_EL1", 3, 0, 5, 1, 1},
      {"ESR_EL1", 3, 0, 5, 2, 0},    {"FAR_EL1", 3, 0, 6, 0, 0},   {"MAIR_EL1", 3, 0, 10, 2, 0},
      {"AMAIR_EL1", 3, 0, 10, 3, 0}, {"CONTEXTIDR_EL1", 3, 0, 13, 0, 1},
  };
  for (const Named& r : registers) {
    CAPTURE(r.name);
    CHECK(action(r, false) == SysregAction::vm_register_write);
    // HCR_EL2.TRVM is never set: a trapped read of one would be a hardware surprise.
    CHECK(action(r, true) == SysregAction::undefined);
  }
  // Not TVM registers: CPACR_EL1 (3, 0, 1, 0, 2), VBAR_EL1 (3, 0, 12, 0, 0), PAR_EL1 (3, 0, 7, 4, 0).
  CHECK(action({"CPACR_EL1", 3, 0, 1, 0, 2}, false) == SysregAction::undefined);
  CHECK(action({"VBAR_EL1", 3, 0, 12, 0, 0}, false) == SysregAction::undefined);
  CHECK(action({"PAR_EL1", 3, 0, 7, 4, 0}, false) == SysregAction::undefined);
}

TEST_CASE("sysreg trap: SGI register writes send an SGI, reads of these write-only registers are undefined") {
  const Named registers[] = {
      {"ICC_SGI1R_EL1", 3, 0, 12, 11, 5}, {"ICC_ASGI1R_EL1", 3, 0, 12, 11, 6}, {"ICC_SGI0R_EL1", 3, 0, 12, 11, 7}};
  for (const Named& r : registers) {
    CAPTURE(r.name);
    CHECK(action(r, false) == SysregAction::send_sgi);
    CHECK(action(r, true) == SysregAction::undefined);
  }
  // Their neighbours ICC_SRE_EL1 and ICC_EOIR1_EL1 are not (EOIR1 traps only for the
  // acknowledgement check, below).
  CHECK(action({"ICC_SRE_EL1", 3, 0, 12, 12, 5}, false) == SysregAction::undefined);
  CHECK(action({"ICC_EOIR1_EL1", 3, 0, 12, 12, 1}, false) == SysregAction::check_acknowledgement);
}

TEST_CASE("sysreg trap: the ICC registers ICH_HCR_EL2.TALL0/TALL1 trap are the acknowledgement check, no others") {
  // TALL0: ICC_IAR0/EOIR0/HPPIR0/BPR0/AP0R<n>/IGRPEN0_EL1; TALL1: ICC_IAR1/EOIR1/HPPIR1/
  // BPR1/AP1R<n>/IGRPEN1_EL1 (GICv3 IHI 0069, ICH_HCR_EL2).
  const Named group[] = {
      {"ICC_IAR0_EL1", 3, 0, 12, 8, 0},   {"ICC_EOIR0_EL1", 3, 0, 12, 8, 1}, {"ICC_HPPIR0_EL1", 3, 0, 12, 8, 2},
      {"ICC_BPR0_EL1", 3, 0, 12, 8, 3},   {"ICC_AP0R0_EL1", 3, 0, 12, 8, 4}, {"ICC_AP0R3_EL1", 3, 0, 12, 8, 7},
      {"ICC_AP1R0_EL1", 3, 0, 12, 9, 0},  {"ICC_AP1R3_EL1", 3, 0, 12, 9, 3}, {"ICC_IAR1_EL1", 3, 0, 12, 12, 0},
      {"ICC_EOIR1_EL1", 3, 0, 12, 12, 1}, {"ICC_HPPIR1_EL1", 3, 0, 12, 12, 2}, {"ICC_BPR1_EL1", 3, 0, 12, 12, 3},
      {"ICC_IGRPEN0_EL1", 3, 0, 12, 12, 6}, {"ICC_IGRPEN1_EL1", 3, 0, 12, 12, 7},
  };
  for (const Named& r : group) {
    CAPTURE(r.name);
    CHECK(action(r, true) == SysregAction::check_acknowledgement);
    CHECK(action(r, false) == SysregAction::check_acknowledgement);
  }
  // The common ones (ICH_HCR_EL2.TC, never set), ICC_SRE_EL1 and the SGI registers are not.
  const Named others[] = {
      {"ICC_PMR_EL1", 3, 0, 4, 6, 0},     {"ICC_DIR_EL1", 3, 0, 12, 11, 1}, {"ICC_RPR_EL1", 3, 0, 12, 11, 3},
      {"ICC_CTLR_EL1", 3, 0, 12, 12, 4},  {"ICC_SRE_EL1", 3, 0, 12, 12, 5}, {"ICC_SGI1R_EL1", 3, 0, 12, 11, 5},
      {"S3_0_C12_C9_4", 3, 0, 12, 9, 4},  {"S3_1_C12_C12_0", 3, 1, 12, 12, 0}, {"ICH_AP1R0_EL2", 3, 4, 12, 9, 0},
  };
  for (const Named& r : others) {
    CAPTURE(r.name);
    CHECK(action(r, true) != SysregAction::check_acknowledgement);
    CHECK(action(r, false) != SysregAction::check_acknowledgement);
  }
}

TEST_CASE("sysreg trap: registers near the performance monitors are not hidden with them") {
  // The generic timer shares op1 3 CRn 14 (CRm 0-3); PMMIR_EL1 and the other CRn 9 CRm 14
  // op1 0 encodings, and CRn 9 CRm 11 or 15, are not PMUv3 (Armv8.0) registers.
  const Named others[] = {
      {"CNTFRQ_EL0", 3, 3, 14, 0, 0},  {"CNTPCT_EL0", 3, 3, 14, 0, 1}, {"CNTP_CTL_EL0", 3, 3, 14, 2, 1},
      {"CNTV_CVAL_EL0", 3, 3, 14, 3, 2}, {"PMMIR_EL1", 3, 0, 9, 14, 6},  {"S3_0_C9_C14_0", 3, 0, 9, 14, 0},
      {"S3_3_C9_C11_0", 3, 3, 9, 11, 0}, {"S3_3_C9_C15_0", 3, 3, 9, 15, 0}, {"S3_2_C9_C12_0", 3, 2, 9, 12, 0},
  };
  for (const Named& r : others) {
    CAPTURE(r.name);
    CHECK(action(r, true) != SysregAction::read_as_zero);
    CHECK(action(r, false) != SysregAction::read_as_zero);
  }
}
