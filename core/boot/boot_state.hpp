// What every CPU may need to know about the boot, once the boot CPU has learnt it.
#pragma once

#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::boot {

bool is_boot_cpu();
// bulkhead.hold: keep the machine up after the report, and after the last partition stops.
bool hold_requested();
PsciConduit power_conduit();
// Last words of a failed boot: `bulkhead: power-off reason REASON`, then PSCI SYSTEM_OFF.
[[noreturn]] void power_off(const char* reason);

// The boot timeline, on the boot CPU: `phase` (a string literal) ends now, for one
// partition if `partition` names it. The report prints a `bulkhead: boot-phase NAME
// ticks N ns N[ partition NAME]` line per phase.
void mark_boot_phase(const char* phase, const char* partition = nullptr);
void report_boot_timeline();

}  // namespace bulkhead::boot
