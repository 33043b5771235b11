// A partition's MSIs while it runs (target): its functions' MSI and MSI-X capabilities
// emulated on its virtual bus (pci/vpci/msi.hpp, msix.hpp), routed through the ITS as its
// guest's message-based SPIs (partitions/msi_routing.hpp), the ITS doorbell page in its
// DMA context, and the counts printed when it stops. Internal to partitions/boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/unset_array.hpp"
#include "core/vgic/vgic_distributor.hpp"
#include "partitions/description.hpp"
#include "partitions/msi_routing.hpp"
#include "pci/vpci/msi.hpp"
#include "pci/vpci/msix.hpp"

namespace bulkhead::boot {

struct PciHardware;

namespace runtime {

struct PartitionRuntime;

// A function's MSI-X table and PBA through the EL2 identity map (their pages are mapped
// as device memory when the partition is set up).
class PhysicalBars final : public pci::vpci::BarAccess {
 public:
  uint32_t bar_read(uint64_t address, pci::AccessWidth width) override;
  void bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) override;
};

struct PartitionMessages {
  bool routed = false;  // its functions' MSIs reach its guest
  partitions::PartitionMsi router;
  pci::vpci::MessageSetup setups[partitions::max_pci_devices];
  pci::vpci::MsiHandler msi[partitions::max_pci_devices];
  pci::vpci::MsixHandler msix[partitions::max_pci_devices];
  // The guests' MSI-X tables, a slice per function: each MsixHandler writes its slice
  // whole when it is configured and reads no other (32 KiB not constructed:
  // core/lib/unset_array.hpp).
  UnsetArray<pci::vpci::MsixVector, partitions::max_partition_message_vectors> vectors;
  PhysicalBars bars;
};

// Whether this machine delivers MSIs to partitions (an ITS in service and an SMMU to put
// its doorbell in their DMA contexts): guests then get mbi-ranges and msi-parent.
bool machine_routes_messages();
// The partition's message-based SPIs for its virtual GIC (INTIDs): its msi-spis when the
// machine routes messages, none otherwise.
vgic::MessageRange partition_message_spis(const partitions::Partition& partition);

// At boot, after its virtual bus and DMA context: MSI and MSI-X of its functions attached
// to the bus, their events and LPIs reserved, the doorbell page in its DMA context, and
// the line `partition NAME msi-spis ...`. A partition whose MSIs cannot be routed (no
// ITS, no SMMU, the ITS refused) gets `partition NAME msi off: ...` naming why and its
// functions, which then show no MSI or MSI-X capability and interrupt by INTx only.
// False only when the partition must not run.
bool configure_partition_msi(PartitionRuntime& p, const PciHardware& hardware);
// When it stops or restarts, before its bus is quarantined: `partition NAME msi
// delivered ...` (per function, and the messages dropped), then the counts start again.
void report_partition_msi(PartitionRuntime& p);

}  // namespace runtime
}  // namespace bulkhead::boot
