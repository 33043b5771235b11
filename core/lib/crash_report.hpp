// What an unexpected exception at EL2 prints: decoded cause, syndrome, addresses and
// every register, as `bulkhead: crash cpu N ...` lines. Portable so tests pin the format.
#pragma once

#include <cstdint>

namespace bulkhead {

// Register frame saved by the EL2 vectors (core/arch/aarch64/vectors.S); layout fixed.
struct ExceptionFrame {
  uint64_t x[31];
  uint64_t sp;
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;
};
static_assert(sizeof(ExceptionFrame) == 288, "vectors.S depends on this layout");

// Vector index 0-15: (source group * 4 + type), group 0 = EL2 with SP_EL0, 1 = EL2 with
// SP_EL2, 2 = lower EL AArch64, 3 = lower EL AArch32; type 0 sync, 1 IRQ, 2 FIQ, 3 SError.
const char* vector_name(unsigned vector);
const char* exception_class_name(uint32_t exception_class);
constexpr uint32_t exception_class_of(uint64_t esr) { return static_cast<uint32_t>((esr >> 26) & 0x3f); }
// True when FAR_EL2 holds a meaningful address for this exception class.
bool far_is_valid(uint32_t exception_class);

void report_crash(unsigned cpu_index, uint64_t mpidr, unsigned vector, const ExceptionFrame& frame);

}  // namespace bulkhead
