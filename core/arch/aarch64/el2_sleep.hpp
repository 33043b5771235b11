// Sleeping at EL2 on a CPU that runs no guest at the moment (a partition's CPU before its
// guest's first instruction, or while the partition restarts): the EL2 physical timer
// (CNTHP) armed for the wake-up, only its PPI enabled at this CPU's redistributor, WFI.
// Nothing is taken: interrupts stay masked (WFI still wakes on a pending one), the timer
// is off and the other SGI/PPI enables are back as they were when it returns. Other CPUs
// are not involved; the caller holds no lock they need.
#pragma once

#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::arch {

// Returns once the counter (CNTPCT_EL0) reads at least `deadline`. Without the EL2 timer
// or this CPU's redistributor (never on QEMU virt) it polls the counter instead: only
// this CPU, which has nothing else to do, is kept busy.
void sleep_until(const PlatformInfo& platform, uint64_t deadline);

}  // namespace bulkhead::arch
