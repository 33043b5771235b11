// Unexpected exceptions at EL2: report, then stop the CPU that took it. The boot CPU
// drives the whole boot, so its crash powers the machine off.
#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/lib/crash_report.hpp"
#include "core/lib/log.hpp"

namespace {
constinit uint32_t crash_depth[bulkhead::max_cpus + 1] = {};
}

extern "C" void handle_el2_exception(unsigned vector, bulkhead::ExceptionFrame* frame) {
  using namespace bulkhead;
  if (vector >= 8 && boot::handle_guest_exception(vector, *frame)) return;
  const int index = boot::current_cpu_index();
  const size_t slot = index < 0 ? max_cpus : static_cast<size_t>(index);
  // A fault while reporting a fault: skip the report, just stop.
  if (crash_depth[slot]++ == 0) report_crash(index < 0 ? 0xffu : static_cast<unsigned>(index), arch::own_mpidr(), vector, *frame);
  if (boot::is_boot_cpu()) boot::power_off("crash");
  log::fact("crash cpu {} stopped", index);
  arch::cpu_off(boot::power_conduit());
}
