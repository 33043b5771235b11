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

// After reporting in, secondary CPUs power themselves off again (PSCI CPU_OFF): idle
// CPUs then cost nothing, under QEMU too. start_cpu() powers CPU `index` (DT order) on
// once more, straight into `task(argument)` with its MMU and stack set up. Waits (with
// a timeout) for the CPU to be fully off first. Returns the PSCI status.
using CpuTask = void (*)(uint64_t argument);
int64_t start_cpu(const PlatformInfo& platform, size_t index, CpuTask task, uint64_t argument);
// The boot CPU is never powered off (it serves the console and the system's interrupts,
// core/boot/console_input.hpp): start_cpu() for it posts `task` to it instead, waiting
// (with the same timeout) for a task it runs to end first, and wakes it. Its loop takes
// the task (true: run it) and says when the task has ended (its vCPU stopped).
bool take_boot_cpu_task(CpuTask& task, uint64_t& argument);
void boot_cpu_task_ended();
// The top of CPU `index`'s EL2 stack (the boot stack for the boot CPU).
uint64_t cpu_stack_top(size_t index);
// Logical index (DT order) of the calling CPU, or -1 if the DT does not list it.
int current_cpu_index();
uint64_t known_platform_mpidr(size_t index);
PsciConduit known_platform_conduit();

}  // namespace bulkhead::boot
