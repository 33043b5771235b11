// A guest's synchronous exit to EL2, decoded once into a typed request. Portable: the
// target passes the syndrome registers in and acts on what comes out
// (core/vcpu/el2/exit_handlers.cpp); host tests cover every exception class handled.
//
//   HVC                         -> hypercall (x0: function ID), PC already past it
//   trapped SMC                 -> secure_monitor_call, PC must skip it
//   stage-2 translation fault   -> mmio with address/width/register/sign/extension, or
//     on a data access             mmio_refused with the reason when it cannot be emulated
//   stage-2 fault on a fetch    -> instruction_fetch
//   trapped MSR/MRS             -> system_register (encoding key, register, direction)
//   anything else               -> unexpected (the guest cannot go on)
#pragma once

#include <cstdint>

#include "core/arch/aarch64/esr.hpp"

namespace bulkhead::vcpu {

enum class ExitKind : uint8_t {
  hypercall,
  secure_monitor_call,
  mmio,
  mmio_refused,
  instruction_fetch,
  system_register,
  unexpected,
};

// Why a data abort on an address stage 2 does not map cannot be emulated: the guest
// gets an external abort and the hypervisor one log line, never a guess.
enum class MmioRefusal : uint8_t {
  none,
  no_syndrome,        // ISV = 0: pair, writeback, SIMD/FP, exclusive, ... (no register given)
  cache_maintenance,  // DC/IC by VA or AT on the address (CM = 1), e.g. DC ZVA
  stage1_walk,        // the guest's own translation table walk reached it (S1PTW)
  not_translation,    // a permission, access-flag or other fault: not an access to emulate
  address_unknown,    // FnV: the faulting address is not known
  width,              // the region does not accept this access width
  alignment,          // the access is not aligned to its width
};
constexpr const char* mmio_refusal_name(MmioRefusal refusal) {
  switch (refusal) {
    case MmioRefusal::none: return "none";
    case MmioRefusal::no_syndrome: return "no-syndrome";
    case MmioRefusal::cache_maintenance: return "cache-maintenance";
    case MmioRefusal::stage1_walk: return "stage1-walk";
    case MmioRefusal::not_translation: return "not-translation-fault";
    case MmioRefusal::address_unknown: return "address-unknown";
    case MmioRefusal::width: return "width";
    case MmioRefusal::alignment: return "alignment";
  }
  return "unknown";
}

// One data access as the syndrome describes it.
struct MmioAccess {
  uint64_t address = 0;  // guest-physical
  uint8_t width = 0;     // bytes: 1, 2, 4 or 8 (0: unknown, ISV = 0)
  bool write = false;
  uint8_t reg = 0;       // the transfer register, 0..30; 31 is XZR/WZR
  bool sign_extend = false;
  bool sixty_four = false;  // the register is an X register (else W: upper half zeroed)
};

struct Exit {
  ExitKind kind = ExitKind::unexpected;
  arch::ExceptionClass exception_class = arch::ExceptionClass::unknown;
  uint8_t instruction_length = 4;  // what the PC skips after emulating (2: a T32 16-bit one)
  MmioRefusal refusal = MmioRefusal::none;  // mmio_refused
  MmioAccess access;                        // mmio, mmio_refused (address, write)
  uint64_t fault_address = 0;               // instruction_fetch: guest-physical
  uint32_t sysreg_key = 0;                  // system_register: see arch::SysregEncoding
  uint8_t sysreg_register = 0;
  bool sysreg_read = false;
};

// HPFAR_EL2.FIPA [43:4] holds IPA [51:12] of a stage-2 fault (52-bit IPAs at most; FEAT_D128's
// FIPA [47:44], IPA [55:52], is not read: no stage 2 here reaches it); FAR_EL2 gives the
// page offset.
constexpr uint64_t hpfar_fipa_mask = 0x00000ffffffffff0ull;
constexpr uint64_t fault_ipa(uint64_t hpfar, uint64_t far) { return ((hpfar & hpfar_fipa_mask) << 8) | (far & 0xfff); }

// What kind of exit a syndrome describes: the dispatcher's only question on the way in.
constexpr ExitKind exit_kind(arch::Esr esr) {
  using arch::ExceptionClass;
  switch (esr.exception_class()) {
    case ExceptionClass::hvc_a64: return ExitKind::hypercall;
    case ExceptionClass::smc_a64: return ExitKind::secure_monitor_call;
    case ExceptionClass::data_abort_lower: return ExitKind::mmio;  // or mmio_refused: decode_data_abort says
    case ExceptionClass::instruction_abort_lower: return ExitKind::instruction_fetch;
    case ExceptionClass::system_register: return ExitKind::system_register;
    default: return ExitKind::unexpected;
  }
}

// Whether a stage-2 data abort is an access the hypervisor can emulate: a translation
// fault with a valid syndrome, not on a stage-1 walk, not cache maintenance, FAR valid.
// One mask and compare: the emulation fast path asks this first, decode_data_abort()
// gives the reason when it is false.
constexpr bool emulatable_data_abort(arch::Esr esr) {
  constexpr uint64_t checked = arch::esr::isv | arch::esr::s1ptw | arch::esr::cm | arch::esr::fnv |
                               (arch::esr::fsc_mask & ~uint64_t{arch::fault_status::level_mask});
  return (esr.value() & checked) == (arch::esr::isv | arch::fault_status::translation_level0);
}

// The access nearly every trapped MMIO access is: an emulatable data abort (above) by a
// 32-bit instruction, of 1, 2 or 4 bytes, whose load does not sign-extend (LDR W, LDRH,
// LDRB, STR W, STRH, STRB). Its load result needs only the access's bytes, zero-extended,
// whatever the register's width, and the PC skips 4 bytes. The emulation fast path takes
// these; the rest (8 bytes, LDRS*, a 16-bit T32 instruction) the full decode.
// simple_data_abort() but for the size: one mask and compare.
constexpr bool simple_data_abort_syndrome(arch::Esr esr) {
  constexpr uint64_t checked = arch::esr::il | arch::esr::isv | arch::esr::s1ptw | arch::esr::cm | arch::esr::fnv |
                               arch::esr::sse | (arch::esr::fsc_mask & ~uint64_t{arch::fault_status::level_mask});
  constexpr uint64_t expected = arch::esr::il | arch::esr::isv | arch::fault_status::translation_level0;
  return (esr.value() & checked) == expected;
}
constexpr bool simple_data_abort(arch::Esr esr) { return simple_data_abort_syndrome(esr) && esr.access_size() <= 4; }
constexpr unsigned simple_instruction_length = 4;

// The access of an emulatable data abort (see emulatable_data_abort) at `address`.
constexpr MmioAccess data_abort_access(arch::Esr esr, uint64_t address) {
  MmioAccess access;
  access.address = address;
  access.write = esr.write();
  access.width = static_cast<uint8_t>(esr.access_size());
  access.reg = static_cast<uint8_t>(esr.transfer_register());
  access.sign_extend = esr.sign_extend();
  access.sixty_four = esr.sixty_four_bit_register();
  return access;
}

// The data access a stage-2 data abort describes, or why it cannot be emulated.
constexpr Exit decode_data_abort(arch::Esr esr, uint64_t far, uint64_t hpfar) {
  Exit exit;
  exit.exception_class = esr.exception_class();
  exit.instruction_length = static_cast<uint8_t>(esr.instruction_length());
  exit.kind = ExitKind::mmio;
  MmioAccess& access = exit.access;
  access.address = fault_ipa(hpfar, far);
  access.write = esr.write();
  // The most fundamental reason first.
  if (!arch::fault_status::is_translation(esr.fault_status())) {
    exit.refusal = MmioRefusal::not_translation;
  } else if (esr.stage1_walk()) {
    exit.refusal = MmioRefusal::stage1_walk;
  } else if (esr.cache_maintenance()) {
    exit.refusal = MmioRefusal::cache_maintenance;
    access.write = false;  // CM reports WnR as 1 whatever the operation
  } else if (!esr.syndrome_valid()) {
    exit.refusal = MmioRefusal::no_syndrome;
  } else if (esr.far_not_valid()) {
    exit.refusal = MmioRefusal::address_unknown;
  }
  if (exit.refusal != MmioRefusal::none) {
    exit.kind = ExitKind::mmio_refused;
    return exit;
  }
  access = data_abort_access(esr, access.address);
  return exit;
}

// The whole exit as one request. The target asks exit_kind() first and decodes only
// what the taken case needs (decode_data_abort for aborts); this composes the same pieces.
constexpr Exit decode_exit(uint64_t esr_value, uint64_t far, uint64_t hpfar) {
  const arch::Esr esr(esr_value);
  const ExitKind kind = exit_kind(esr);
  if (kind == ExitKind::mmio) return decode_data_abort(esr, far, hpfar);
  Exit exit;
  exit.kind = kind;
  exit.exception_class = esr.exception_class();
  exit.instruction_length = static_cast<uint8_t>(esr.instruction_length());
  if (kind == ExitKind::instruction_fetch) exit.fault_address = fault_ipa(hpfar, far);
  if (kind == ExitKind::system_register) {
    exit.sysreg_key = arch::sysreg_key(esr);
    exit.sysreg_register = static_cast<uint8_t>(esr.sysreg_rt());
    exit.sysreg_read = esr.sysreg_is_read();
  }
  return exit;
}

}  // namespace bulkhead::vcpu
