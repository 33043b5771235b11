// The boot CPU's timeline (core/lib/boot_timeline.hpp): phases marked as they end,
// reported once the partitions have started.
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/lib/boot_timeline.hpp"

namespace bulkhead::boot {
namespace {

constinit BootTimeline timeline;

}  // namespace

void mark_boot_phase(const char* phase, const char* partition) { timeline.mark(phase, arch::counter(), partition); }

void report_boot_timeline() { timeline.report(arch::counter_frequency()); }

}  // namespace bulkhead::boot
