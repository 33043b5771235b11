#include "partitions/vpci_setup.hpp"

namespace bulkhead::partitions {
namespace {

constexpr uint32_t dt_edge_rising = 1;  // DT interrupt flags
constexpr uint32_t dt_level_high = 4;

}  // namespace

pci::vpci::GuestWindows guest_pci_windows() {
  return {guest_pci_mmio32.range, guest_pci_mmio64.range, guest_pci_io.range};
}

void describe_virtual_bus(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology,
                          pci::vpci::BusSetup& setup) {
  setup = pci::vpci::BusSetup();
  setup.partition = partition.name;
  setup.legacy_intx = partition.legacy_intx;
  setup.windows = guest_pci_windows();
  auto reserve = [&](const char* name, const AddressRange& range) {
    if (setup.reserved_count < pci::vpci::max_reserved_ranges) setup.reserved[setup.reserved_count++] = {name, range};
  };
  // The windows hold none of these in a valid layout (the build-time rules check RAM and
  // devices against the fixed regions); the bus checks them anyway.
  reserve("guest RAM", {partition.ram.guest_base, partition.ram.size});
  for (const GuestRegion& region : fixed_guest_regions) {
    const bool memory_window =
        region.range.base == guest_pci_mmio32.range.base || region.range.base == guest_pci_mmio64.range.base;
    if (!memory_window) reserve(region.name, region.range);
  }
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    const PlatformDeviceRef& device = partition.platform_devices[d];
    for (size_t r = 0; r < device.region_count; ++r) reserve(device.device, device.regions[r]);
  }
  for (size_t i = 0; i < plan.function_count && i < pci::vpci::max_bus_functions; ++i) {
    const AssignedFunction& assigned = plan.functions[i];
    setup.functions[i] = {&topology.functions[assigned.function], assigned.guest_slot};
    setup.function_count = i + 1;
  }
}

size_t pci_intx_lines(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology,
                      GuestPciInterrupt (&out)[max_pci_devices]) {
  if (!partition.legacy_intx) return 0;
  size_t count = 0;
  for (size_t i = 0; i < plan.function_count && count < max_pci_devices; ++i) {
    const pci::Function& function = topology.functions[plan.functions[i].function];
    const pci::LegacyInterrupt& interrupt = function.interrupt;
    if (interrupt.pin == 0 || !interrupt.routed) continue;
    // INTx is level-sensitive: level high unless the host's interrupt-map says otherwise.
    const uint32_t flags = interrupt.trigger == dt_edge_rising ? dt_edge_rising : dt_level_high;
    out[count++] = {plan.functions[i].guest_slot, interrupt.pin, interrupt.spi, flags};
  }
  return count;
}

}  // namespace bulkhead::partitions
