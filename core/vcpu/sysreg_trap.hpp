// What a trapped MSR/MRS or DC by set/way (EC 0x18) does in a partition. What traps at all
// is the EL2 configuration (core/vcpu/el2/vcpu_entry.cpp, core/README.md "Trap
// configuration"); this decides what each trapped access means. Portable: the target acts
// on it (core/vcpu/el2/exit_handlers.cpp), host tests cover every class.
//
//   ICC_SGI1R/ASGI1R/SGI0R_EL1 write   -> send_sgi (the vGIC delivers it)
//   an ICC_* register of one group     -> check_acknowledgement: the vGIC's check of a
//     (ICH_HCR_EL2.TALL0/TALL1: IAR,       hardware level interrupt's line before the guest
//     EOIR, HPPIR, BPR, AP<n>R, IGRPEN)    acknowledges it; then the access runs natively
//                                          (the PC is not advanced)
//   a performance-monitor register      -> read_as_zero: a PMU without counters, so nothing
//     (MDCR_EL2.TPM/TPMCR), ACTLR_EL1      a guest does makes anything count (at EL2 above
//     (HCR_EL2.TACR)                       all); no auxiliary controls
//   DC ISW/CSW/CISW (HCR_EL2.TSW)       -> set_way: emulated on the partition's own RAM
//   a write HCR_EL2.TVM trapped         -> vm_register_write: done as asked
//   anything else                       -> undefined: an undefined instruction for the
//     (IMPLEMENTATION DEFINED registers,   guest, and one rate-limited log line
//     HCR_EL2.TIDCP, above all)
#pragma once

#include <cstdint>

#include "core/arch/aarch64/esr.hpp"

namespace bulkhead::vcpu {

enum class SysregAction : uint8_t {
  send_sgi,
  check_acknowledgement,
  read_as_zero,
  set_way,
  vm_register_write,
  undefined,
};

// The registers whose writes HCR_EL2.TVM traps (Arm ARM D17.2.48, HCR_EL2.TVM).
constexpr bool is_vm_register(const arch::SysregEncoding& e) {
  namespace r = arch::sysregs;
  const uint32_t key = e.key();
  return key == r::sctlr_el1.key() || key == r::ttbr0_el1.key() || key == r::ttbr1_el1.key() ||
         key == r::tcr_el1.key() || key == r::afsr0_el1.key() || key == r::afsr1_el1.key() ||
         key == r::esr_el1.key() || key == r::far_el1.key() || key == r::mair_el1.key() ||
         key == r::amair_el1.key() || key == r::contextidr_el1.key();
}

constexpr SysregAction sysreg_action(const arch::SysregEncoding& e, bool read) {
  namespace r = arch::sysregs;
  const uint32_t key = e.key();
  if (r::is_group_interface(e)) return SysregAction::check_acknowledgement;
  if (r::is_performance_monitor(e) || key == r::actlr_el1.key()) return SysregAction::read_as_zero;
  // The rest are write-only (SGI registers, set/way) or trap only on writes (TVM).
  if (read) return SysregAction::undefined;
  if (key == r::icc_sgi1r_el1.key() || key == r::icc_asgi1r_el1.key() || key == r::icc_sgi0r_el1.key()) {
    return SysregAction::send_sgi;
  }
  if (key == r::dc_isw.key() || key == r::dc_csw.key() || key == r::dc_cisw.key()) return SysregAction::set_way;
  if (is_vm_register(e)) return SysregAction::vm_register_write;
  return SysregAction::undefined;
}

}  // namespace bulkhead::vcpu
