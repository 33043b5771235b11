// Where a function's legacy interrupt and requester ID land: the INTx swizzle and the
// host bridge's `interrupt-map`, and the `iommu-map` / `msi-map` RID translations.
#pragma once

#include <cstdint>

#include "core/platform/platform.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// The standard bridge swizzle: INTx `pin` (1..4) of the device `device` on a bridge's
// secondary bus appears on the bridge's primary side as this pin.
constexpr uint8_t swizzle_pin(uint8_t pin, uint8_t device) {
  return static_cast<uint8_t>((pin - 1 + device) % 4 + 1);
}

struct InterruptRoute {
  bool found = false;
  uint32_t spi = 0;
  uint32_t trigger = 0;
};

// Looks up (`at_root`, `pin`) in the host's `interrupt-map` under its mask. An
// all-zero mask is taken as absent, which means all ones (as Linux does).
InterruptRoute lookup_interrupt(const PcieHostInfo& host, Bdf at_root, uint8_t pin);

struct MappedId {
  bool found = false;
  uint32_t id = 0;
  uint32_t target_phandle = 0;
};

// Translates a requester ID through `msi-map` / `iommu-map`: masked, then the entry
// whose [rid_base, rid_base + length) holds it. An empty map translates nothing.
MappedId map_requester_id(const IdMap& map, uint16_t requester_id);

// The requester ID seen upstream for `f`: a PCIe-to-PCI bridge takes over transactions
// from its conventional bus as (secondary bus, 00.0); a conventional PCI bridge as its
// own ID (QEMU and Linux agree on these defaults).
uint16_t dma_requester_id(const PciTopology& topology, const Function& f);

// Fills interrupt and dma of every function of the segment.
void route_segment(PciTopology& topology, const Segment& segment, const PcieHostInfo& host);

}  // namespace bulkhead::pci
