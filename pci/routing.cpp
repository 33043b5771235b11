#include "pci/routing.hpp"

namespace bulkhead::pci {
namespace {

// phys.hi of a PCI unit address: bus [23:16], device [15:11], function [10:8].
uint32_t unit_address_high(Bdf bdf) {
  return static_cast<uint32_t>(bdf.bus) << 16 | static_cast<uint32_t>(bdf.devfn()) << 8;
}

// Behind these the bus is conventional PCI and the bridge substitutes requester IDs.
bool conventional_below(const Function& bridge) {
  return bridge.kind == FunctionKind::pcie_pci_bridge || bridge.kind == FunctionKind::pci_bridge;
}

}  // namespace

InterruptRoute lookup_interrupt(const PcieHostInfo& host, Bdf at_root, uint8_t pin) {
  uint32_t address_mask = host.interrupt_map_mask[0];
  uint32_t pin_mask = host.interrupt_map_mask[3];
  const bool mask_absent = host.interrupt_map_mask[0] == 0 && host.interrupt_map_mask[1] == 0 &&
                           host.interrupt_map_mask[2] == 0 && host.interrupt_map_mask[3] == 0;
  if (mask_absent) {
    address_mask = 0xffffffffu;
    pin_mask = 0xffffffffu;
  }
  const uint32_t address = unit_address_high(at_root) & address_mask;
  for (size_t i = 0; i < host.interrupt_map_count && i < max_interrupt_map_entries; ++i) {
    const InterruptMapEntry& entry = host.interrupt_map[i];
    if ((entry.child_address_high & address_mask) == address && (entry.child_pin & pin_mask) == (pin & pin_mask)) {
      return {true, entry.spi, entry.trigger};
    }
  }
  return {};
}

MappedId map_requester_id(const IdMap& map, uint16_t requester_id) {
  const uint32_t masked = requester_id & map.mask;
  for (size_t i = 0; i < map.count && i < max_id_map_entries; ++i) {
    const IdMapEntry& entry = map.entries[i];
    if (masked < entry.rid_base || masked - entry.rid_base >= entry.length) continue;
    return {true, entry.output_base + (masked - entry.rid_base), entry.target_phandle};
  }
  return {};
}

uint16_t dma_requester_id(const PciTopology& topology, const Function& f) {
  uint16_t requester_id = f.address.bdf.requester_id();
  for (const Function* child = &f; const Function* bridge = topology.parent_of(*child); child = bridge) {
    if (!conventional_below(*bridge)) continue;
    requester_id = bridge->kind == FunctionKind::pcie_pci_bridge
                       ? static_cast<uint16_t>(bridge->bridge.secondary << 8)
                       : bridge->address.bdf.requester_id();
  }
  return requester_id;
}

void route_segment(PciTopology& topology, const Segment& segment, const PcieHostInfo& host) {
  for (uint16_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    Function& f = topology.functions[i];
    LegacyInterrupt& irq = f.interrupt;
    irq.routed = false;
    if (irq.pin != 0) {
      // Swizzle at every bridge on the way up, then look up the function on the root bus.
      uint8_t pin = irq.pin;
      const Function* at = &f;
      for (const Function* bridge = topology.parent_of(f); bridge != nullptr; bridge = topology.parent_of(*bridge)) {
        pin = swizzle_pin(pin, at->address.bdf.device);
        at = bridge;
      }
      const InterruptRoute route = lookup_interrupt(host, at->address.bdf, pin);
      irq.routed = route.found;
      irq.spi = route.spi;
      irq.trigger = route.trigger;
    }
    DmaIdentity& dma = f.dma;
    dma.requester_id = dma_requester_id(topology, f);
    const MappedId stream = map_requester_id(host.iommu_map, dma.requester_id);
    dma.stream_id_valid = stream.found;
    dma.stream_id = stream.id;
    dma.iommu_phandle = stream.target_phandle;
    const MappedId its = map_requester_id(host.msi_map, dma.requester_id);
    dma.its_device_id_valid = its.found;
    dma.its_device_id = its.id;
    dma.msi_phandle = its.target_phandle;
  }
}

}  // namespace bulkhead::pci
