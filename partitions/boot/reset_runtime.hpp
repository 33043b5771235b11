// Resetting a partition's PCI functions (target): before its guest's first instruction,
// on every restart and when it stops, on the partition's own CPU with no lock held, all
// its functions side by side (pci/reset_batch.hpp), sleeping with the EL2 timer between
// polls (core/arch/aarch64/el2_sleep.hpp). Other partitions never wait for it. Internal
// to partitions/boot.
#pragma once

#include <cstddef>

#include "core/lib/format.hpp"
#include "partitions/description.hpp"
#include "pci/reset_batch.hpp"

namespace bulkhead::boot::runtime {

struct PartitionRuntime;

struct PartitionResets {
  struct Jobs {
    pci::ResetJob each[partitions::max_pci_devices];
  };
  // Its last reset's jobs, constructed afresh by each reset in `job_storage`, not with
  // the partition (16 jobs of 416 bytes, about 2,000 instructions before its first
  // instruction whether it resets anything or not). nullptr before its first reset.
  alignas(Jobs) unsigned char job_storage[sizeof(Jobs)];
  pci::ResetJob* jobs = nullptr;
  // Its functions are the guest's (connected) since their last reset: a stop resets them.
  bool handed_over = false;
  // restart: " reset SSSS:BB:DD.F METHOD ms N" per function, in plan order (METHOD none
  // for a function whose description says reset = "none").
  FixedBuffer<640> summary;
};

enum class ResetOccasion : uint8_t {
  start,    // each function's pci-reset-done line
  restart,  // the summary for the restart line; no per-function line
  stop,     // each function's pci-reset-done line
};

// Resets every function of `p` whose plan says so (AssignedFunction::reset). Each failure
// is an error line naming the function (`pci SSSS:BB:DD.F reset METHOD: ...;
// quarantined`). True when every one is reset. The caller holds no lock; nothing else
// touches the partition's functions meanwhile (its vCPUs are off, its streams abort).
bool reset_partition_functions(PartitionRuntime& p, ResetOccasion occasion);

}  // namespace bulkhead::boot::runtime
