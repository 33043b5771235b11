// Running partitions: each vCPU pinned to its physical CPU, entered at EL1 behind its
// partition's stage 2, with the traps it takes handled here (MMIO to the virtual GIC
// and UART, PSCI calls, SGIs, faults) and physical interrupts forwarded to it.
#pragma once

#include <cstddef>

#include "core/platform/platform.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/description.hpp"

namespace bulkhead::boot {

// Puts partition `index`'s RAM back as it was at boot, for a restart; false (after
// logging why) if it cannot.
class PartitionReloader {
 public:
  virtual bool reload(size_t index) = 0;

 protected:
  ~PartitionReloader() = default;
};

struct PciHardware;

// Once, before the first start_partition(): the vCPUs' stage-2 settings, the shared
// console (hypervisor lines are queued from here on), the GIC distributor. False, after an
// error line, when no partition can run on this CPU.
bool prepare_partition_starts(const PlatformInfo& platform, PartitionReloader& reloader);
// Starts the boot vCPU of partition `index`, loaded (partitions::load_partition()): its
// stage 2, virtual devices and bus, then its CPU powered on (its functions are reset
// there first). False, after an error line, if it did not start.
bool start_partition(const PlatformInfo& platform, const partitions::SystemDescription& description,
                     const partitions::BootPlan& plan, size_t index, const PciHardware& pci);

}  // namespace bulkhead::boot
