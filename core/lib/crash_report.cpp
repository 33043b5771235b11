#include "core/lib/crash_report.hpp"

#include "core/lib/log.hpp"

namespace bulkhead {

const char* vector_name(unsigned vector) {
  static constexpr const char* names[16] = {
      "sync-el2-sp0",   "irq-el2-sp0",   "fiq-el2-sp0",   "serror-el2-sp0",
      "sync-el2",       "irq-el2",       "fiq-el2",       "serror-el2",
      "sync-lower-a64", "irq-lower-a64", "fiq-lower-a64", "serror-lower-a64",
      "sync-lower-a32", "irq-lower-a32", "fiq-lower-a32", "serror-lower-a32"};
  return vector < 16 ? names[vector] : "unknown-vector";
}

const char* exception_class_name(uint32_t exception_class) {
  switch (exception_class) {
    case 0x00: return "unknown-reason";
    case 0x01: return "wfi-wfe";
    case 0x07: return "fp-simd-access";
    case 0x0e: return "illegal-execution-state";
    case 0x15: return "svc-a64";
    case 0x16: return "hvc-a64";
    case 0x17: return "smc-a64";
    case 0x18: return "system-register-access";
    case 0x20: return "instruction-abort-lower-el";
    case 0x21: return "instruction-abort-same-el";
    case 0x22: return "pc-alignment";
    case 0x24: return "data-abort-lower-el";
    case 0x25: return "data-abort-same-el";
    case 0x26: return "sp-alignment";
    case 0x2c: return "fp-exception-a64";
    case 0x2f: return "serror";
    case 0x30: return "breakpoint-lower-el";
    case 0x31: return "breakpoint-same-el";
    case 0x32: return "software-step-lower-el";
    case 0x33: return "software-step-same-el";
    case 0x34: return "watchpoint-lower-el";
    case 0x35: return "watchpoint-same-el";
    case 0x3c: return "brk-a64";
    default: return "unlisted-class";
  }
}

bool far_is_valid(uint32_t exception_class) {
  switch (exception_class) {
    case 0x20: case 0x21: case 0x22: case 0x24: case 0x25: case 0x34: case 0x35: return true;
    default: return false;
  }
}

void report_crash(unsigned cpu_index, uint64_t mpidr, unsigned vector, const ExceptionFrame& frame) {
  const uint32_t ec = exception_class_of(frame.esr);
  log::error("cpu {} crashed at EL2: {} {}", cpu_index, vector_name(vector), exception_class_name(ec));
  log::fact("crash cpu {} mpidr {} vector {} class {} ec {}", cpu_index, hex(mpidr), vector_name(vector),
            exception_class_name(ec), hex(ec, 2));
  if (far_is_valid(ec)) {
    log::fact("crash cpu {} esr {} far {} elr {} spsr {} sp {}", cpu_index, hex(frame.esr), hex(frame.far),
              hex(frame.elr), hex(frame.spsr), hex(frame.sp));
  } else {
    log::fact("crash cpu {} esr {} far unknown elr {} spsr {} sp {}", cpu_index, hex(frame.esr), hex(frame.elr),
              hex(frame.spsr), hex(frame.sp));
  }
  for (unsigned r = 0; r < 31; r += 4) {
    if (r + 3 < 31) {
      log::fact("crash cpu {} x{} {} x{} {} x{} {} x{} {}", cpu_index, r, hex(frame.x[r], 16), r + 1,
                hex(frame.x[r + 1], 16), r + 2, hex(frame.x[r + 2], 16), r + 3, hex(frame.x[r + 3], 16));
    } else {
      log::fact("crash cpu {} x{} {} x{} {} x{} {}", cpu_index, r, hex(frame.x[r], 16), r + 1,
                hex(frame.x[r + 1], 16), r + 2, hex(frame.x[r + 2], 16));
    }
  }
}

}  // namespace bulkhead
