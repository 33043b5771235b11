// The GICv3 ITS at boot and while partitions run (target): bring-up from the firmware
// DT's GIC (its `arm,gic-v3-its` child) with its tables from a static pool, every CPU's
// redistributor with LPIs on and its collection mapped, and the table the LPI handler
// reads to turn an LPI into a partition's message-based SPI (partitions/msi_routing.hpp).
#pragma once

#include <cstdint>

#include "core/boot/system.hpp"
#include "core/its/driver.hpp"
#include "core/its/hardware.hpp"
#include "partitions/msi_routing.hpp"

namespace bulkhead::boot {

// Brings the ITS up (report line `gic-v3-its ...` from the driver, then one
// `gic-v3-its-lpis cpus N of M` line), or reports why there is none in service
// (`gic-v3-its none: REASON`). Never fatal: without an ITS partitions run with INTx only.
void its_bring_up(const BootContext& context);
// The driver once it is in service; nullptr otherwise. Calls from more than one CPU hold
// its_lock() (PartitionMsi takes it itself).
its::Driver* its_driver();
its::Lock& its_lock();
// Why its_driver() is nullptr, for the partitions' lines ("" when it is in service).
const char* its_absence();
// GITS_TRANSLATER's 4 KiB page (physical): what a partition's DMA context maps, and
// nothing else of the ITS.
uint64_t its_translater_page();
// LPI -> partition and SPI, for the LPI handler (core/vcpu/el2/message_interrupts.hpp).
partitions::MsiDispatch& msi_dispatch();

}  // namespace bulkhead::boot
