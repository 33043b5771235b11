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

}  // namespace bulkhead::boot
