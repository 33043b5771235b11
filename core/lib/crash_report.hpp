// What an unexpected exception at EL2 prints: decoded cause, syndrome, addresses and
// every register, as `bulkhead: crash cpu N ...` lines. Portable so tests pin the format.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/esr.hpp"
#include "core/arch/aarch64/exception_frame.hpp"
#include "core/arch/aarch64/exception_vectors.hpp"

namespace bulkhead {

// Names for the crash report (and its tests): the vocabulary is core/arch/aarch64's.
inline const char* vector_name(unsigned vector) {
  return vector < 16 ? arch::ExceptionVector(vector).name() : "unknown-vector";
}
inline const char* exception_class_name(uint32_t exception_class) {
  return arch::exception_class_name(static_cast<arch::ExceptionClass>(exception_class & arch::esr::ec_mask));
}

void report_crash(unsigned cpu_index, uint64_t mpidr, unsigned vector, const ExceptionFrame& frame);

}  // namespace bulkhead
