// What the exits share for a guest's faults: see guest_faults.hpp.
#include "core/vcpu/el2/guest_faults.hpp"

#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/log.hpp"

namespace bulkhead::vcpu {

bool log_allowed(uint32_t& count) {
  if (count != UINT32_MAX) ++count;
  return count <= logged_per_kind;
}
void log_muted_if_last(const Vm& vm, uint32_t count, const char* kind, const char* unit) {
  if (count == logged_per_kind) log::fact("partition {} {}-logging muted after {} {}", vm.name, kind, count, unit);
}

void deliver(ExceptionFrame& frame, InjectedKind kind, bool write) {
  using namespace arch::sysreg;
  const InjectedException injected = make_guest_exception(kind, frame.spsr, write);
  if (injected.far_valid) far_el1::write(frame.far);
  esr_el1::write(injected.esr);
  elr_el1::write(frame.elr);
  spsr_el1::write(frame.spsr);
  frame.elr = vbar_el1::read() + injected.vector_offset;
  frame.spsr = injected.spsr;
}

}  // namespace bulkhead::vcpu
