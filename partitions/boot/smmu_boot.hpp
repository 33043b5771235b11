// The SMMU at boot (target): global bypass off before PCI enumeration, then bring-up
// with every StreamID aborting, and the driver partitions use afterwards.
#pragma once

#include "core/arch/aarch64/spinlock.hpp"
#include "core/boot/system.hpp"
#include "pci/topology.hpp"
#include "smmu/driver.hpp"

namespace bulkhead::boot {

// GBPA.ABORT and translation off: no DMA passes the SMMU from here on. A power-off
// reason when the SMMU does not answer, nullptr otherwise.
const char* smmu_abort_bypass(const BootContext& context);
// Stream table (every StreamID aborting), queues, translation on; the report line; with
// `bulkhead.smmu-dump` the stream table as the SMMU reads it. A power-off reason when
// the SMMU is stuck; nullptr otherwise (an absent or refused SMMU is reported and left
// off with global bypass aborting: then smmu_driver() is nullptr).
const char* smmu_bring_up(const BootContext& context, const pci::PciTopology& topology);
// The driver, once enabled; nullptr otherwise. Every call into it from more than one
// CPU holds smmu_lock().
smmu::Driver* smmu_driver();
arch::SpinLock& smmu_lock();
// Drains the event queue and global errors into fault lines (rate-limited per partition);
// the caller holds smmu_lock(). Also from the SMMU's interrupts (handle_device_interrupt).
void smmu_service_locked();
// A partition (its DMA context) restarts: its fault lines get a fresh budget.
void smmu_restarted(smmu::ContextId context);

}  // namespace bulkhead::boot
