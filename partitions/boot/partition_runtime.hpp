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

// Starts the boot vCPU of every loaded partition. Returns how many started.
size_t start_partitions(const PlatformInfo& platform, const partitions::SystemDescription& description,
                        const partitions::BootPlan& plan, const PciHardware& pci, PartitionReloader& reloader);

}  // namespace bulkhead::boot
