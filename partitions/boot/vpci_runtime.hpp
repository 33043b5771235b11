// A partition's PCI functions while it runs (target): its virtual PCI bus (pci/vpci) as
// emulated regions of its VM (the ECAM window, the I/O window, the memory windows'
// trapped ranges), the machine side the bus needs (physical config space through the
// host's ECAM accessors, the partition's stage 2, the host bridges' I/O space), and its
// DMA context in the SMMU with the ordering that makes bus mastering safe. Internal to
// partitions/boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "core/vcpu/mmio.hpp"
#include "partitions/boot/msi_runtime.hpp"
#include "partitions/boot/reset_runtime.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/description.hpp"
#include "pci/config_access.hpp"
#include "pci/topology.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "smmu/driver.hpp"
#include "smmu/partition_dma.hpp"

namespace bulkhead::boot {

// What run_system() hands the partitions of the host's PCI: the enumerated topology and
// each segment's accessor (host bridge order; nullptr when its ECAM is not mapped).
struct PciHardware {
  const pci::PciTopology* topology = nullptr;
  pci::ConfigAccessor* accessors[max_pcie_hosts] = {};
};

namespace runtime {

struct PartitionRuntime;

// The regions of the virtual host bridge as devices of the VM's registry, one class per
// kind of region, so that a trapped access costs one virtual call into the bus and no
// dispatch on the kind. The ECAM window, the most frequent, is no device: its direct
// handlers (vcpu::MmioDirectHandlers, ecam_direct_handlers()) call the bus.
class PciRegionDevice : public vcpu::MmioDevice {
 public:
  // `base`: the guest-physical address the region is registered at.
  void attach(pci::vpci::VirtualPciBus& bus, uint64_t base) {
    bus_ = &bus;
    base_ = base;
  }

 protected:
  ~PciRegionDevice() = default;
  pci::vpci::VirtualPciBus* bus_ = nullptr;
  uint64_t base_ = 0;
};

// The ECAM window (configuration space) of `bus`: its region's direct handlers.
vcpu::MmioDirectHandlers ecam_direct_handlers(pci::vpci::VirtualPciBus& bus);

// The I/O window: the functions' I/O BARs.
class PciIoDevice final : public PciRegionDevice {
 public:
  vcpu::MmioResult access(vcpu::MmioRequest& request, vgic::Events& events) override;
};

// A memory window's trapped ranges (MSI-X tables and PBAs).
class PciWindowDevice final : public PciRegionDevice {
 public:
  vcpu::MmioResult access(vcpu::MmioRequest& request, vgic::Events& events) override;
};

// The machine side of one partition's virtual bus, with the bus-master gate the SMMU
// ordering drives (smmu/partition_dma.hpp) through PartitionBusMastering.
class PartitionPciHost final : public pci::vpci::VpciHost {
 public:
  void attach(PartitionRuntime& owner, const PciHardware& hardware) {
    owner_ = &owner;
    hardware_ = hardware;
  }
  uint32_t config_read(const pci::Function& function, uint16_t offset, pci::AccessWidth width) override;
  void config_write(const pci::Function& function, uint16_t offset, pci::AccessWidth width, uint32_t value) override;
  bool map_mmio(uint64_t guest, uint64_t host, uint64_t size) override;
  void unmap_mmio(uint64_t guest, uint64_t size) override;
  uint32_t io_read(uint64_t address, pci::AccessWidth width) override;
  void io_write(uint64_t address, pci::AccessWidth width, uint32_t value) override;
  bool bus_master_allowed(const pci::Function& function) override;
  void log(const char* line) override;
  void permit_bus_master(size_t function);
  void disable_bus_master(size_t function);
  // The function's segment accessor (nullptr when its ECAM is not mapped).
  pci::ConfigAccessor* accessor_for(const pci::Function& function) const;
  const PciHardware& hardware() const { return hardware_; }

 private:
  size_t index_of(const pci::Function& function) const;

  PartitionRuntime* owner_ = nullptr;
  PciHardware hardware_;
  bool master_permitted_[partitions::max_pci_devices] = {};
};

// The SMMU ordering's view of the gate (one interface per object: no thunks).
class PartitionBusMastering final : public smmu::BusMastering {
 public:
  void attach(PartitionPciHost& host) { host_ = &host; }
  void permit(size_t function) override { host_->permit_bus_master(function); }
  void disable(size_t function) override { host_->disable_bus_master(function); }

 private:
  PartitionPciHost* host_ = nullptr;
};

struct PartitionPci {
  bool present = false;  // the partition owns PCI functions
  pci::vpci::VirtualPciBus bus;
  PartitionPciHost host;
  PartitionBusMastering bus_mastering;
  PciIoDevice io;
  PciWindowDevice mmio32;
  PciWindowDevice mmio64;
  // DMA: its context and its functions' streams, in plan order.
  smmu::ContextId dma_context = smmu::no_context;
  smmu::FunctionStreams streams[partitions::max_pci_devices] = {};
  char labels[partitions::max_pci_devices][smmu::function_label_capacity] = {};
  size_t function_count = 0;
  bool dma_connected = false;
  PartitionMessages messages;  // MSI and MSI-X (msi_runtime.hpp)
  PartitionResets resets;      // its functions' resets (reset_runtime.hpp)
};

// At boot, after the VM's GIC: the bus from the plan, its regions in the VM's registry,
// its DMA context. False (logged, naming the partition) if any of it fails.
bool configure_partition_pci(PartitionRuntime& p, const PciHardware& hardware);
// Before the partition's first instruction, and again after each restart, once its
// functions are reset (reset_runtime.hpp): the bus at power-on values, its streams to its
// context, then bus mastering may be enabled. False (logged) when the SMMU did not
// take them: the partition must not run with DMA-capable functions.
bool connect_partition_pci(PartitionRuntime& p);
// Stop or restart, before its RAM is scrubbed: the bus back to power-on state (stage-2
// mappings removed, decode and bus master off), bus mastering disabled, its streams
// back to abort. False (logged) when the SMMU did not confirm: its RAM must not be reused.
bool quarantine_partition_pci(PartitionRuntime& p);

}  // namespace runtime
}  // namespace bulkhead::boot
