// A partition's virtual PCI bus from its boot plan: the vPCI emulator's setup (functions
// in their guest slots, the guest windows, what no BAR may cover), the INTx lines its
// guest gets (for the guest DT's interrupt-map and the hardware-backed SPIs), and its
// boot-report lines. Portable; the target constructs one pci::vpci::VirtualPciBus per
// partition with this.
#pragma once

#include <cstddef>
#include <iterator>

#include "partitions/boot_plan.hpp"
#include "partitions/description.hpp"
#include "partitions/guest_dt.hpp"
#include "pci/topology.hpp"
#include "pci/vpci/virtual_bus.hpp"

namespace bulkhead::partitions {

static_assert(pci::vpci::max_bus_functions >= max_pci_devices, "a virtual bus holds every PCI device of a partition");
static_assert(pci::vpci::bus_slots == guest_slot_count, "guest slots are the virtual bus's device numbers");
static_assert(1 + std::size(fixed_guest_regions) - 2 + max_platform_devices * max_device_regions <=
                  pci::vpci::max_reserved_ranges,
              "guest RAM, the fixed regions but the two memory windows, and every platform device region");

// The guest windows of guest_layout.hpp.
pci::vpci::GuestWindows guest_pci_windows();

// Fills `setup` for the partition's assigned functions (plan.functions, each at its
// guest slot), with guest RAM, the GIC, the UART, the ECAM, the I/O window and the
// passed-through platform devices as ranges no BAR may cover. `setup.partition` points
// at partition.name. Then: bus.configure(setup, host, error).
void describe_virtual_bus(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology,
                          pci::vpci::BusSetup& setup);

// The INTx lines of the partition's functions when its legacy-intx is allowed (none
// otherwise): one per function with a routed pin, at its guest slot, in plan order, with
// the host's SPI and trigger (level high unless the host's interrupt-map says edge). For
// the guest DT's interrupt-map, and as the partition's hardware-backed SPIs.
// Returns how many were written to `out` (at most max_pci_devices).
size_t pci_intx_lines(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology,
                      GuestPciInterrupt (&out)[max_pci_devices]);

}  // namespace bulkhead::partitions
