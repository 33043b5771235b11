// What the exits of core/vcpu/el2 share for a guest's faults: the rate limit of the log
// lines a guest can cause, and an exception delivered to the guest as the architecture
// would raise it.
#pragma once

#include <cstdint>

#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/guest_exception.hpp"

namespace bulkhead::vcpu {

// Guest-triggered log lines are rate limited per kind: `count` counts them (printed or
// not); the last one printed is followed by a line saying the kind is muted.
bool log_allowed(uint32_t& count);
void log_muted_if_last(const Vm& vm, uint32_t count, const char* kind, const char* unit);

// The exception `kind` taken to the guest's EL1 from where `frame` left it.
void deliver(ExceptionFrame& frame, InjectedKind kind, bool write);

}  // namespace bulkhead::vcpu
