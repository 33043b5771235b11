#include "core/lib/crash_report.hpp"

#include "core/lib/log.hpp"

namespace bulkhead {

void report_crash(unsigned cpu_index, uint64_t mpidr, unsigned vector, const ExceptionFrame& frame) {
  const arch::Esr esr(frame.esr);
  const auto ec = static_cast<uint32_t>(esr.exception_class());
  log::error("cpu {} crashed at EL2: {} {}", cpu_index, vector_name(vector), exception_class_name(ec));
  log::fact("crash cpu {} mpidr {} vector {} class {} ec {}", cpu_index, hex(mpidr), vector_name(vector),
            exception_class_name(ec), hex(ec, 2));
  if (arch::far_is_valid(esr.exception_class())) {
    log::fact("crash cpu {} esr {} far {} elr {} spsr {} sp {}", cpu_index, hex(frame.esr), hex(frame.far),
              hex(frame.elr), hex(frame.spsr), hex(frame.sp()));
  } else {
    log::fact("crash cpu {} esr {} far unknown elr {} spsr {} sp {}", cpu_index, hex(frame.esr), hex(frame.elr),
              hex(frame.spsr), hex(frame.sp()));
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
