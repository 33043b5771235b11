// ESR_EL2 / ESR_EL1: the exception syndrome. Exception classes and the ISS layouts the
// hypervisor decodes (data aborts, instruction aborts, trapped system registers, HVC/SMC)
// or builds (the aborts it injects). Arm ARM D17.2.37. Portable: no hardware access.
#pragma once

#include <cstdint>

namespace bulkhead::arch {

enum class ExceptionClass : uint8_t {
  unknown = 0x00,
  wfx = 0x01,
  cp15_mcr_mrc = 0x03,
  cp15_mcrr_mrrc = 0x04,
  cp14_mcr_mrc = 0x05,
  cp14_ldc_stc = 0x06,
  fp_simd_access = 0x07,
  cp14_mrrc = 0x0c,
  illegal_execution_state = 0x0e,
  svc_a32 = 0x11,
  hvc_a32 = 0x12,
  smc_a32 = 0x13,
  svc_a64 = 0x15,
  hvc_a64 = 0x16,
  smc_a64 = 0x17,
  system_register = 0x18,
  instruction_abort_lower = 0x20,
  instruction_abort_same = 0x21,
  pc_alignment = 0x22,
  data_abort_lower = 0x24,
  data_abort_same = 0x25,
  sp_alignment = 0x26,
  fp_exception_a32 = 0x28,
  fp_exception_a64 = 0x2c,
  serror = 0x2f,
  breakpoint_lower = 0x30,
  breakpoint_same = 0x31,
  software_step_lower = 0x32,
  software_step_same = 0x33,
  watchpoint_lower = 0x34,
  watchpoint_same = 0x35,
  bkpt_a32 = 0x38,
  brk_a64 = 0x3c,
};

constexpr const char* exception_class_name(ExceptionClass ec) {
  switch (ec) {
    case ExceptionClass::unknown: return "unknown-reason";
    case ExceptionClass::wfx: return "wfi-wfe";
    case ExceptionClass::cp15_mcr_mrc: return "cp15-mcr-mrc";
    case ExceptionClass::cp15_mcrr_mrrc: return "cp15-mcrr-mrrc";
    case ExceptionClass::cp14_mcr_mrc: return "cp14-mcr-mrc";
    case ExceptionClass::cp14_ldc_stc: return "cp14-ldc-stc";
    case ExceptionClass::fp_simd_access: return "fp-simd-access";
    case ExceptionClass::cp14_mrrc: return "cp14-mrrc";
    case ExceptionClass::illegal_execution_state: return "illegal-execution-state";
    case ExceptionClass::svc_a32: return "svc-a32";
    case ExceptionClass::hvc_a32: return "hvc-a32";
    case ExceptionClass::smc_a32: return "smc-a32";
    case ExceptionClass::svc_a64: return "svc-a64";
    case ExceptionClass::hvc_a64: return "hvc-a64";
    case ExceptionClass::smc_a64: return "smc-a64";
    case ExceptionClass::system_register: return "system-register-access";
    case ExceptionClass::instruction_abort_lower: return "instruction-abort-lower-el";
    case ExceptionClass::instruction_abort_same: return "instruction-abort-same-el";
    case ExceptionClass::pc_alignment: return "pc-alignment";
    case ExceptionClass::data_abort_lower: return "data-abort-lower-el";
    case ExceptionClass::data_abort_same: return "data-abort-same-el";
    case ExceptionClass::sp_alignment: return "sp-alignment";
    case ExceptionClass::fp_exception_a32: return "fp-exception-a32";
    case ExceptionClass::fp_exception_a64: return "fp-exception-a64";
    case ExceptionClass::serror: return "serror";
    case ExceptionClass::breakpoint_lower: return "breakpoint-lower-el";
    case ExceptionClass::breakpoint_same: return "breakpoint-same-el";
    case ExceptionClass::software_step_lower: return "software-step-lower-el";
    case ExceptionClass::software_step_same: return "software-step-same-el";
    case ExceptionClass::watchpoint_lower: return "watchpoint-lower-el";
    case ExceptionClass::watchpoint_same: return "watchpoint-same-el";
    case ExceptionClass::bkpt_a32: return "bkpt-a32";
    case ExceptionClass::brk_a64: return "brk-a64";
  }
  return "unlisted-class";
}

// True when FAR_ELx holds a meaningful address for this exception class.
constexpr bool far_is_valid(ExceptionClass ec) {
  switch (ec) {
    case ExceptionClass::instruction_abort_lower:
    case ExceptionClass::instruction_abort_same:
    case ExceptionClass::pc_alignment:
    case ExceptionClass::data_abort_lower:
    case ExceptionClass::data_abort_same:
    case ExceptionClass::watchpoint_lower:
    case ExceptionClass::watchpoint_same: return true;
    default: return false;
  }
}

namespace esr {
constexpr unsigned ec_shift = 26;
constexpr uint64_t ec_mask = 0x3f;
constexpr uint64_t il = uint64_t{1} << 25;  // 32-bit instruction (0: a 16-bit T32 one)
constexpr uint64_t iss_mask = 0x1ffffff;

// Data abort ISS (EC 0x24/0x25).
constexpr uint64_t isv = uint64_t{1} << 24;  // the fields below [23:14] are valid
constexpr unsigned sas_shift = 22;           // access size: 1 << SAS bytes
constexpr uint64_t sse = uint64_t{1} << 21;  // sign-extend the loaded value
constexpr unsigned srt_shift = 16;           // the transfer register
constexpr uint64_t sf = uint64_t{1} << 15;   // 64-bit register (else W)
constexpr uint64_t ar = uint64_t{1} << 14;   // acquire/release
constexpr uint64_t fnv = uint64_t{1} << 10;  // FAR not valid
constexpr uint64_t ea = uint64_t{1} << 9;    // external abort type
constexpr uint64_t cm = uint64_t{1} << 8;    // cache maintenance or address translation
constexpr uint64_t s1ptw = uint64_t{1} << 7; // the stage-2 fault hit a stage-1 table walk
constexpr uint64_t wnr = uint64_t{1} << 6;   // write
constexpr uint64_t fsc_mask = 0x3f;          // DFSC / IFSC

// Trapped MSR/MRS/system instruction ISS (EC 0x18).
constexpr unsigned sysreg_op0_shift = 20;
constexpr unsigned sysreg_op2_shift = 17;
constexpr unsigned sysreg_op1_shift = 14;
constexpr unsigned sysreg_crn_shift = 10;
constexpr unsigned sysreg_rt_shift = 5;
constexpr unsigned sysreg_crm_shift = 1;
constexpr uint64_t sysreg_read = 1;  // direction: MRS
}  // namespace esr

// Fault status codes (DFSC/IFSC) as the hypervisor reads them from a stage-2 fault and
// writes them into the aborts it injects.
namespace fault_status {
constexpr uint8_t address_size_level0 = 0x00;  // .. 0x03
constexpr uint8_t translation_level0 = 0x04;   // .. 0x07
constexpr uint8_t access_flag_level0 = 0x08;   // .. 0x0b (level 0 needs FEAT_LPA2)
constexpr uint8_t permission_level0 = 0x0c;    // .. 0x0f
constexpr uint8_t synchronous_external = 0x10;
constexpr uint8_t level_mask = 0x03;

constexpr bool is_translation(uint8_t fsc) { return (fsc & ~level_mask) == translation_level0; }
constexpr bool is_access_flag(uint8_t fsc) { return (fsc & ~level_mask) == access_flag_level0; }
constexpr bool is_permission(uint8_t fsc) { return (fsc & ~level_mask) == permission_level0; }
}  // namespace fault_status

// One syndrome value, decoded field by field.
class Esr {
 public:
  constexpr explicit Esr(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr ExceptionClass exception_class() const {
    return static_cast<ExceptionClass>((value_ >> esr::ec_shift) & esr::ec_mask);
  }
  constexpr unsigned exception_class_index() const { return static_cast<unsigned>((value_ >> esr::ec_shift) & esr::ec_mask); }
  constexpr unsigned instruction_length() const { return (value_ & esr::il) != 0 ? 4 : 2; }
  constexpr uint32_t iss() const { return static_cast<uint32_t>(value_ & esr::iss_mask); }

  // Data and instruction aborts.
  constexpr bool syndrome_valid() const { return (value_ & esr::isv) != 0; }
  constexpr unsigned access_size() const { return 1u << access_size_log2(); }
  constexpr unsigned access_size_log2() const { return static_cast<unsigned>((value_ >> esr::sas_shift) & 3); }
  constexpr bool sign_extend() const { return (value_ & esr::sse) != 0; }
  constexpr unsigned transfer_register() const { return static_cast<unsigned>((value_ >> esr::srt_shift) & 0x1f); }
  constexpr bool sixty_four_bit_register() const { return (value_ & esr::sf) != 0; }
  constexpr bool acquire_release() const { return (value_ & esr::ar) != 0; }
  constexpr bool far_not_valid() const { return (value_ & esr::fnv) != 0; }
  constexpr bool cache_maintenance() const { return (value_ & esr::cm) != 0; }
  constexpr bool stage1_walk() const { return (value_ & esr::s1ptw) != 0; }
  constexpr bool write() const { return (value_ & esr::wnr) != 0; }
  constexpr uint8_t fault_status() const { return static_cast<uint8_t>(value_ & esr::fsc_mask); }

  // Trapped system register accesses.
  constexpr unsigned sysreg_op0() const { return static_cast<unsigned>((value_ >> esr::sysreg_op0_shift) & 3); }
  constexpr unsigned sysreg_op1() const { return static_cast<unsigned>((value_ >> esr::sysreg_op1_shift) & 7); }
  constexpr unsigned sysreg_crn() const { return static_cast<unsigned>((value_ >> esr::sysreg_crn_shift) & 0xf); }
  constexpr unsigned sysreg_crm() const { return static_cast<unsigned>((value_ >> esr::sysreg_crm_shift) & 0xf); }
  constexpr unsigned sysreg_op2() const { return static_cast<unsigned>((value_ >> esr::sysreg_op2_shift) & 7); }
  constexpr unsigned sysreg_rt() const { return static_cast<unsigned>((value_ >> esr::sysreg_rt_shift) & 0x1f); }
  constexpr bool sysreg_is_read() const { return (value_ & esr::sysreg_read) != 0; }

  // HVC/SMC immediate.
  constexpr uint16_t immediate() const { return static_cast<uint16_t>(value_); }

 private:
  uint64_t value_;
};

constexpr uint64_t make_esr(ExceptionClass ec, bool il32, uint32_t iss) {
  return (uint64_t{static_cast<uint8_t>(ec)} << esr::ec_shift) | (il32 ? esr::il : 0) | (iss & esr::iss_mask);
}

// A system register as its MSR/MRS encoding names it (op0, op1, CRn, CRm, op2), packed
// as the ISS of a trapped access lays them out, so a trap compares one number.
struct SysregEncoding {
  unsigned op0, op1, crn, crm, op2;
  constexpr uint32_t key() const {
    return static_cast<uint32_t>(op0 << esr::sysreg_op0_shift | op2 << esr::sysreg_op2_shift |
                                 op1 << esr::sysreg_op1_shift | crn << esr::sysreg_crn_shift |
                                 crm << esr::sysreg_crm_shift);
  }
};
constexpr uint32_t sysreg_key(Esr esr) {
  constexpr uint64_t fields = (uint64_t{3} << esr::sysreg_op0_shift) | (uint64_t{7} << esr::sysreg_op2_shift) |
                              (uint64_t{7} << esr::sysreg_op1_shift) | (uint64_t{0xf} << esr::sysreg_crn_shift) |
                              (uint64_t{0xf} << esr::sysreg_crm_shift);
  return static_cast<uint32_t>(esr.value() & fields);
}

// The system registers and instructions a guest's accesses trap on.
namespace sysregs {
// GICv3 SGI generation (ICH_HCR_EL2.TC is not used: these trap with ICC_SRE_EL2).
constexpr SysregEncoding icc_sgi1r_el1{3, 0, 12, 11, 5};
constexpr SysregEncoding icc_asgi1r_el1{3, 0, 12, 11, 6};
constexpr SysregEncoding icc_sgi0r_el1{3, 0, 12, 11, 7};
// ICH_HCR_EL2.TALL0/TALL1 (the vGIC's acknowledgement check): the CPU interface registers
// of one group, ICC_IAR0/EOIR0/HPPIR0/BPR0_EL1 and ICC_AP0R<n>_EL1 (CRm 8), ICC_AP1R<n>_EL1
// (CRm 9), ICC_IAR1/EOIR1/HPPIR1/BPR1_EL1 (CRm 12, op2 0-3) and ICC_IGRPEN0/1_EL1 (CRm 12,
// op2 6-7).
constexpr bool is_group_interface(SysregEncoding e) {
  if (e.op0 != 3 || e.op1 != 0 || e.crn != 12) return false;
  if (e.crm == 8) return true;
  if (e.crm == 9) return e.op2 < 4;
  return e.crm == 12 && (e.op2 < 4 || e.op2 >= 6);
}
// HCR_EL2.TACR.
constexpr SysregEncoding actlr_el1{3, 0, 1, 0, 1};
// HCR_EL2.TSW: data cache maintenance by set/way.
constexpr SysregEncoding dc_isw{1, 0, 7, 6, 2};
constexpr SysregEncoding dc_csw{1, 0, 7, 10, 2};
constexpr SysregEncoding dc_cisw{1, 0, 7, 14, 2};
// HCR_EL2.TVM: writes to the EL1 memory-system controls.
constexpr SysregEncoding sctlr_el1{3, 0, 1, 0, 0};
constexpr SysregEncoding ttbr0_el1{3, 0, 2, 0, 0};
constexpr SysregEncoding ttbr1_el1{3, 0, 2, 0, 1};
constexpr SysregEncoding tcr_el1{3, 0, 2, 0, 2};
constexpr SysregEncoding afsr0_el1{3, 0, 5, 1, 0};
constexpr SysregEncoding afsr1_el1{3, 0, 5, 1, 1};
constexpr SysregEncoding esr_el1{3, 0, 5, 2, 0};
constexpr SysregEncoding far_el1{3, 0, 6, 0, 0};
constexpr SysregEncoding mair_el1{3, 0, 10, 2, 0};
constexpr SysregEncoding amair_el1{3, 0, 10, 3, 0};
constexpr SysregEncoding contextidr_el1{3, 0, 13, 0, 1};

// MDCR_EL2.TPM: the performance monitors, PMCR_EL0 .. PMCCFILTR_EL0 and PMEVCNTR/TYPER<n>
// (op0 3, op1 3, CRn 9 CRm 12-14, or CRn 14 CRm 8-15) and PMINTENSET/CLR_EL1 (op1 0, CRn 9,
// CRm 14).
constexpr bool is_performance_monitor(SysregEncoding e) {
  if (e.op0 != 3) return false;
  if (e.op1 == 3 && e.crn == 9 && e.crm >= 12 && e.crm <= 14) return true;
  if (e.op1 == 3 && e.crn == 14 && e.crm >= 8) return true;
  return e.op1 == 0 && e.crn == 9 && e.crm == 14 && (e.op2 == 1 || e.op2 == 2);
}
}  // namespace sysregs

constexpr SysregEncoding sysreg_encoding(Esr esr) {
  return {esr.sysreg_op0(), esr.sysreg_op1(), esr.sysreg_crn(), esr.sysreg_crm(), esr.sysreg_op2()};
}

}  // namespace bulkhead::arch
