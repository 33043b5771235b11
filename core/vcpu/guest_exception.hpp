// An exception the hypervisor delivers to a guest at EL1, as the architecture would have
// taken it there: the syndrome, the vector entry (VBAR_EL1 + offset, chosen by where the
// guest was: EL1 with SP_EL0 or SP_EL1, EL0 in AArch64 or AArch32) and the new PSTATE.
// Portable; the target writes ESR/FAR/ELR/SPSR_EL1 and resumes at the vector.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/esr.hpp"
#include "core/arch/aarch64/exception_vectors.hpp"
#include "core/arch/aarch64/psr.hpp"

namespace bulkhead::vcpu {

enum class InjectedKind : uint8_t { data_abort, instruction_abort, undefined_instruction };

struct InjectedException {
  uint64_t esr = 0;            // ESR_EL1
  uint64_t vector_offset = 0;  // from VBAR_EL1
  uint64_t spsr = arch::psr::el1h_masked;  // PSTATE at the vector: EL1h, DAIF masked
  bool far_valid = false;      // FAR_EL1 = the faulting virtual address
};

// `guest_spsr`: where the guest was (SPSR_EL2 at the exit). ESR.IL is 1: the architecture
// makes it RES1 for instruction aborts, data aborts without a valid syndrome (ISV = 0, as
// the injected one is) and EC 0x00.
constexpr InjectedException make_guest_exception(InjectedKind kind, uint64_t guest_spsr, bool write) {
  using arch::ExceptionClass;
  using arch::VectorSource;
  const bool from_el0 = arch::psr::exception_level(guest_spsr) == 0;
  VectorSource source = VectorSource::current_sp0;
  if (arch::psr::from_aarch32(guest_spsr)) {
    source = VectorSource::lower_aarch32;
  } else if (from_el0) {
    source = VectorSource::lower_aarch64;
  } else if (arch::psr::uses_sp_elx(guest_spsr)) {
    source = VectorSource::current_spx;
  }
  InjectedException injected;
  injected.vector_offset = arch::ExceptionVector(source, arch::VectorType::synchronous).offset();
  constexpr bool il32 = true;
  switch (kind) {
    case InjectedKind::data_abort:
      injected.esr = arch::make_esr(from_el0 ? ExceptionClass::data_abort_lower : ExceptionClass::data_abort_same, il32,
                                    arch::fault_status::synchronous_external | (write ? arch::esr::wnr : 0));
      injected.far_valid = true;
      break;
    case InjectedKind::instruction_abort:
      injected.esr = arch::make_esr(from_el0 ? ExceptionClass::instruction_abort_lower
                                             : ExceptionClass::instruction_abort_same,
                                    il32, arch::fault_status::synchronous_external);
      injected.far_valid = true;
      break;
    case InjectedKind::undefined_instruction:
      injected.esr = arch::make_esr(ExceptionClass::unknown, il32, 0);
      break;
  }
  return injected;
}

}  // namespace bulkhead::vcpu
