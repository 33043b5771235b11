// Bringing every physical CPU to EL2 through PSCI CPU_ON and having it report in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::boot {

struct CpuBringUpResult {
  size_t online = 0;
  size_t failed = 0;
};

// Starts every CPU of `platform` except the caller, one at a time in DT order, each
// with a timeout; logs an error naming each CPU that fails. Prints nothing else.
CpuBringUpResult bring_up_secondary_cpus(const PlatformInfo& platform, uint64_t boot_mpidr);
bool cpu_is_online(size_t index);
// Logical index (DT order) of the calling CPU, or -1 if the DT does not list it.
int current_cpu_index();
uint64_t known_platform_mpidr(size_t index);

}  // namespace bulkhead::boot
