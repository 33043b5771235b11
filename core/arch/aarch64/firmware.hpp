// Calls into firmware (PSCI) through the conduit the firmware DT names.
#pragma once

#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::arch {

int64_t firmware_call(PsciConduit conduit, uint64_t function, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0);
// Powers the machine off; if firmware refuses, parks this CPU (nothing else is possible).
[[noreturn]] void system_off(PsciConduit conduit);
// Stops the calling CPU through PSCI CPU_OFF; parks it if that fails.
[[noreturn]] void cpu_off(PsciConduit conduit);
[[noreturn]] void park_forever();

}  // namespace bulkhead::arch
