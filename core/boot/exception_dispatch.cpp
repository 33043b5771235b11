// Every exception taken to EL2 enters here (vectors.S). One from a guest is a vCPU exit,
// handled by core/vcpu; anything else is unexpected: report it, then stop the CPU that
// took it. The boot CPU drives the whole boot, so its crash powers the machine off. A
// guest's synchronous exception has its own entry, dispatch_guest_synchronous: its data
// aborts (the common exit, a trapped MMIO access) skip the dispatch on vector and class.
#include "core/arch/aarch64/esr.hpp"
#include "core/arch/aarch64/exception_vectors.hpp"
#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/lib/crash_report.hpp"
#include "core/lib/log.hpp"
#include "core/vcpu/el2/vcpu.hpp"

namespace {
constinit uint32_t crash_depth[bulkhead::max_cpus + 1] = {};
}

namespace {
[[gnu::noinline, gnu::cold, noreturn]] void report_and_stop(unsigned vector_index, const bulkhead::ExceptionFrame& frame) {
  using namespace bulkhead;
  const int index = boot::current_cpu_index();
  const size_t slot = index < 0 ? max_cpus : static_cast<size_t>(index);
  // A fault while reporting a fault: skip the report, just stop.
  if (crash_depth[slot] == 0) boot::prepare_crash_report();
  if (crash_depth[slot]++ == 0) report_crash(index < 0 ? 0xffu : static_cast<unsigned>(index), arch::own_mpidr(), vector_index, frame);
  if (boot::is_boot_cpu()) boot::power_off("crash");
  log::fact("crash cpu {} stopped", index);
  arch::cpu_off(boot::power_conduit());
}
}  // namespace

extern "C" void dispatch_el2_exception(unsigned vector_index, bulkhead::ExceptionFrame* frame) {
  const bulkhead::arch::ExceptionVector vector(vector_index);
  if (vector.from_lower_el() && bulkhead::vcpu::handle_exit(vector, *frame)) return;
  report_and_stop(vector_index, *frame);
}

// A guest's synchronous exception (`esr`: ESR_EL2, as the vector read it). False if this
// CPU runs no vCPU: the vector then reports it through dispatch_el2_exception. Both
// calls are tail calls, so a data abort pays one compare here.
extern "C" bool dispatch_guest_synchronous(bulkhead::ExceptionFrame* frame, uint64_t esr) {
  using namespace bulkhead;
  constexpr arch::ExceptionVector vector(arch::VectorSource::lower_aarch64, arch::VectorType::synchronous);
  if (arch::Esr(esr).exception_class() == arch::ExceptionClass::data_abort_lower) {
    return vcpu::handle_data_abort_exit(*frame);
  }
  return vcpu::handle_exit(vector, *frame);
}
