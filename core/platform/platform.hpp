// The typed description of the machine, read from the firmware device tree at boot.
// Fixed capacities: no heap. Exceeding one is a reported error, never a silent cut.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead {

constexpr size_t max_cpus = 16;
constexpr size_t max_ram_ranges = 8;
constexpr size_t max_redistributor_regions = 4;
constexpr size_t max_pcie_hosts = 8;
constexpr size_t max_pci_windows = 8;
constexpr size_t max_id_map_entries = 8;
constexpr size_t max_interrupt_map_entries = 64;
constexpr size_t max_node_path = 96;
constexpr size_t max_bootargs = 256;

struct AddressRange {
  uint64_t base = 0;
  uint64_t size = 0;
  uint64_t end() const { return base + size; }
};

// A NUL-terminated device-tree path kept inline (the DTB may be overwritten later).
struct NodePath {
  char text[max_node_path] = {};
};

struct CpuInfo {
  uint64_t mpidr = 0;  // the `reg` of the cpu node: affinity fields only
  NodePath path;
};

enum class PsciConduit : uint8_t { none, smc, hvc };

struct PsciInfo {
  PsciConduit conduit = PsciConduit::none;
  bool version_0_2_or_later = false;  // function IDs are the standard ones
};

struct GicV3Info {
  bool present = false;
  AddressRange distributor;
  AddressRange redistributors[max_redistributor_regions];
  size_t redistributor_region_count = 0;
  uint32_t maintenance_ppi = 0;  // 0 when the node does not say
  bool its_present = false;
  AddressRange its;
  uint32_t its_phandle = 0;
  NodePath its_path;
  uint32_t phandle = 0;
  NodePath path;
};

struct SmmuV3Info {
  bool present = false;
  AddressRange registers;
  uint32_t phandle = 0;
  NodePath path;
  // Its wired interrupts (GIC SPI numbers, INTID - 32) by `interrupt-names`, when given.
  bool has_event_spi = false;   // "eventq": new event records
  uint32_t event_spi = 0;
  bool has_gerror_spi = false;  // "gerror": global errors
  uint32_t gerror_spi = 0;
};

enum class PciSpace : uint8_t { io, mem32, mem64 };

// One entry of a host bridge `ranges`: PCI bus address -> CPU address.
struct PciWindow {
  PciSpace space = PciSpace::mem32;
  bool prefetchable = false;
  uint64_t pci_address = 0;
  uint64_t cpu_address = 0;
  uint64_t size = 0;
};

// One entry of `msi-map` or `iommu-map`: RIDs [rid_base, rid_base+length) map to
// [output_base, ...) at the node with `target_phandle`.
struct IdMapEntry {
  uint32_t rid_base = 0;
  uint32_t target_phandle = 0;
  uint32_t output_base = 0;
  uint32_t length = 0;
};

struct IdMap {
  IdMapEntry entries[max_id_map_entries];
  size_t count = 0;
  uint32_t mask = 0xffffffff;  // `msi-map-mask` / `iommu-map-mask`
};

// One `interrupt-map` entry for a GICv3 parent: (device/function bits, pin) -> SPI.
struct InterruptMapEntry {
  uint32_t child_address_high = 0;  // phys.hi of the child unit address (bus/dev/fn bits)
  uint32_t child_pin = 0;           // 1..4 = INTA..INTD
  uint32_t parent_phandle = 0;
  uint32_t spi = 0;                 // GIC SPI number (the DT's interrupt number, not +32)
  uint32_t trigger = 0;             // DT flags: 1 edge rising, 4 level high
};

struct PcieHostInfo {
  NodePath path;
  AddressRange ecam;
  uint8_t bus_first = 0;
  uint8_t bus_last = 0xff;
  bool bus_range_from_dt = false;
  bool domain_from_dt = false;   // `linux,pci-domain` present
  uint32_t domain = 0;           // only meaningful when domain_from_dt
  PciWindow windows[max_pci_windows];
  size_t window_count = 0;
  IdMap msi_map;
  IdMap iommu_map;
  InterruptMapEntry interrupt_map[max_interrupt_map_entries];
  size_t interrupt_map_count = 0;
  uint32_t interrupt_map_mask[4] = {0, 0, 0, 0};  // phys.hi, phys.mid, phys.lo, pin
  bool dma_coherent = false;
};

enum class ConsoleSource : uint8_t { stdout_path, board_default };

struct UartInfo {
  bool present = false;
  AddressRange registers;
  ConsoleSource source = ConsoleSource::board_default;
  NodePath path;
  // Its receive interrupt (GIC SPI number, INTID - 32), when the node gives one.
  bool has_spi = false;
  uint32_t spi = 0;
};

// Architected timer PPIs as the DT numbers them (PPI index, add 16 for the INTID).
struct TimerInfo {
  bool present = false;
  uint32_t secure_physical_ppi = 0;
  uint32_t physical_ppi = 0;
  uint32_t virtual_ppi = 0;
  uint32_t hypervisor_ppi = 0;
};

struct PlatformInfo {
  AddressRange ram[max_ram_ranges];
  size_t ram_count = 0;
  CpuInfo cpus[max_cpus];
  size_t cpu_count = 0;
  PsciInfo psci;
  GicV3Info gic;
  SmmuV3Info smmu;
  PcieHostInfo pcie_hosts[max_pcie_hosts];
  size_t pcie_host_count = 0;
  UartInfo uart;
  TimerInfo timer;
  char bootargs[max_bootargs] = {};
};

}  // namespace bulkhead
