// What enumeration learnt about the host PCI hierarchy: segments and the functions on
// them, in fixed-capacity tables that later stages (partition builder, vPCI, SMMU) query.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "pci/config_access.hpp"

namespace bulkhead::pci {

constexpr size_t max_segments = max_pcie_hosts;
constexpr size_t max_functions = 256;  // over all segments
constexpr size_t bar_slots = 6;        // type 0 header; a type 1 header uses 2
constexpr uint16_t no_function = 0xffff;

struct Sbdf {
  uint16_t segment = 0;
  Bdf bdf;
  constexpr bool operator==(const Sbdf&) const = default;
};

// "SSSS:BB:DD.F", for log lines.
struct SbdfText {
  char text[13] = {};
};
SbdfText sbdf_text(Sbdf address);

enum class FunctionKind : uint8_t {
  endpoint,            // PCIe endpoint, or a conventional type 0 function
  legacy_endpoint,     // PCIe legacy endpoint
  rc_endpoint,         // root-complex integrated endpoint
  rc_event_collector,  // root-complex event collector
  host_bridge,         // class 06:00 type 0 function (QEMU gpex 00:00.0)
  root_port,
  upstream_port,
  downstream_port,
  pcie_pci_bridge,  // PCIe to conventional PCI
  pci_pcie_bridge,  // conventional PCI to PCIe
  pci_bridge,       // conventional PCI-PCI bridge (type 1 header, no PCIe capability)
  cardbus_bridge,   // type 2 header: recorded, its bus is not enumerated
  unknown,          // unknown header layout: recorded, BARs not touched
};
const char* kind_name(FunctionKind kind);

// How a function is reset before it is handed to a partition and on every restart
// (pci/reset_method.hpp chooses at enumeration, pci/reset.hpp performs it), in the order
// they are tried.
enum class ResetMethod : uint8_t {
  none,    // no method: the partition description must say reset = "none" for it
  flr,     // PCI Express Function Level Reset (Device Capabilities)
  af_flr,  // Function Level Reset of the Advanced Features capability (conventional PCI)
  pm,      // power management D3hot -> D0 with No_Soft_Reset clear
  bus,     // secondary bus reset of the bridge above; the function is alone below it
};
// `flr`, `af-flr`, `pm`, `bus` or `none`, for the boot report.
const char* reset_method_name(ResetMethod method);

// Why a function got its first method (or none), for the boot report.
enum class ResetReason : uint8_t {
  not_assignable,       // none: a bridge, host bridge or unknown header; never handed over
  device_capabilities,  // flr: Device Capabilities advertise Function Level Reset
  advanced_features,    // af-flr: the Advanced Features capability advertises FLR and TP
  soft_reset,           // pm: PMCSR No_Soft_Reset is clear
  alone_below_bridge,   // bus: the only function on its bridge's secondary bus
  root_bus,             // none: no FLR, AF FLR or PM soft reset, and no bridge above it
  shared_bus,           // none: likewise, and other functions share its bridge's bus
};
// `not-assignable`, `device-capabilities`, `advanced-features`, `no-soft-reset-clear`,
// `alone-below-bridge`, `root-bus` or `shared-bus`.
const char* reset_reason_name(ResetReason reason);

// Every method that applies to a function. The first is tried first; a reset that is
// seen not to take (pci/reset.hpp) falls back to the next one.
struct ResetChoice {
  ResetMethod method = ResetMethod::none;  // the first; none when no method applies
  ResetReason reason = ResetReason::not_assignable;
  uint8_t methods = 0;  // bit (1 << ResetMethod) per method that applies

  static constexpr uint8_t bit(ResetMethod m) { return static_cast<uint8_t>(1u << static_cast<unsigned>(m)); }
  constexpr bool has(ResetMethod m) const { return m != ResetMethod::none && (methods & bit(m)) != 0; }
  // The next method that applies after `m` in the order above; none when there is none.
  constexpr ResetMethod after(ResetMethod m) const {
    for (auto next = static_cast<unsigned>(m) + 1; next <= static_cast<unsigned>(ResetMethod::bus); ++next) {
      if (has(static_cast<ResetMethod>(next))) return static_cast<ResetMethod>(next);
    }
    return ResetMethod::none;
  }
};

// The PCI Express capability's device/port type field.
namespace port_type {
constexpr uint8_t endpoint = 0x0;
constexpr uint8_t legacy_endpoint = 0x1;
constexpr uint8_t root_port = 0x4;
constexpr uint8_t upstream_port = 0x5;
constexpr uint8_t downstream_port = 0x6;
constexpr uint8_t pcie_pci_bridge = 0x7;
constexpr uint8_t pci_pcie_bridge = 0x8;
constexpr uint8_t rc_endpoint = 0x9;
constexpr uint8_t rc_event_collector = 0xa;
}  // namespace port_type
// Name of a device/port type for the `pcie type` fact; "reserved" for undefined values.
const char* port_type_name(uint8_t type);

enum class BarKind : uint8_t { none, io, mem32, mem64 };
const char* bar_kind_name(BarKind kind);

struct Bar {
  BarKind kind = BarKind::none;  // none: unimplemented, or the upper half of a 64-bit BAR
  bool prefetchable = false;
  bool io_16bit = false;  // I/O BAR whose upper 16 address bits are hard-wired to zero
  bool assigned = false;
  uint64_t size = 0;
  uint64_t bus_address = 0;  // what the BAR register holds
  uint64_t cpu_address = 0;  // where the CPU reaches it (through the host bridge `ranges`)
};

// A bridge's forwarding window towards its secondary bus.
enum class WindowType : uint8_t { io, memory, prefetchable };
constexpr size_t window_types = 3;

struct BridgeWindow {
  bool implemented = false;  // I/O and prefetchable windows are optional
  bool wide = false;         // I/O: 32-bit addressing; prefetchable: 64-bit addressing
  bool open = false;         // programmed with base <= limit
  uint64_t base = 0;         // bus addresses, inclusive
  uint64_t limit = 0;
  // Allocation bookkeeping: what the children need (size 0 means nothing).
  uint64_t size = 0;
  uint64_t alignment = 0;
  uint64_t highest_address = 0;  // the window's last byte must not be above it
};

struct BridgeInfo {
  bool buses_assigned = false;  // false: no bus numbers were left, subtree not enumerated
  uint8_t primary = 0;
  uint8_t secondary = 0;
  uint8_t subordinate = 0;
  BridgeWindow windows[window_types];
  uint16_t first_child = no_function;  // functions on the secondary bus are contiguous
  uint16_t child_count = 0;
  BridgeWindow& window(WindowType type) { return windows[static_cast<size_t>(type)]; }
  const BridgeWindow& window(WindowType type) const { return windows[static_cast<size_t>(type)]; }
};

struct MsiInfo {
  uint8_t offset = 0;  // 0: absent
  uint8_t vectors = 0;
  bool address_64bit = false;
  bool per_vector_mask = false;
};

struct MsixInfo {
  uint8_t offset = 0;  // 0: absent
  uint16_t table_size = 0;
  uint8_t table_bar = 0;
  uint32_t table_offset = 0;
  uint8_t pba_bar = 0;
  uint32_t pba_offset = 0;
};

struct PcieInfo {
  uint8_t offset = 0;  // 0: absent
  uint8_t port_type = 0;
  uint8_t version = 0;
};

struct VfBar {
  BarKind kind = BarKind::none;
  bool prefetchable = false;
  uint64_t size = 0;  // per virtual function
};

struct SriovInfo {
  uint16_t offset = 0;  // 0: absent
  uint16_t initial_vfs = 0;
  uint16_t total_vfs = 0;
  uint16_t first_vf_offset = 0;
  uint16_t vf_stride = 0;
  uint16_t vf_device_id = 0;
  VfBar vf_bars[bar_slots];
};

struct Capabilities {
  MsiInfo msi;
  MsixInfo msix;
  PcieInfo pcie;
  uint8_t power_management = 0;  // offsets; 0: absent
  uint8_t advanced_features = 0;
  uint16_t acs = 0;
  uint16_t aer = 0;
  SriovInfo sriov;
  bool standard_list_broken = false;  // a loop or malformed pointer cut the walk short
  bool extended_list_broken = false;
};

struct LegacyInterrupt {
  uint8_t pin = 0;  // 0: none, 1..4 = INTA..INTD
  bool routed = false;
  uint32_t spi = 0;  // GIC SPI number as the DT writes it
  uint32_t trigger = 0;
};

struct DmaIdentity {
  // The requester ID the host bridge sees for this function's DMA and MSI writes: its
  // own, or the alias a PCIe-to-PCI / conventional bridge above it substitutes.
  uint16_t requester_id = 0;
  bool stream_id_valid = false;
  uint32_t stream_id = 0;
  uint32_t iommu_phandle = 0;
  bool its_device_id_valid = false;
  uint32_t its_device_id = 0;
  uint32_t msi_phandle = 0;
};

struct Function {
  Sbdf address;
  uint8_t segment_index = 0;  // into PciTopology::segments
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint32_t class_code = 0;  // base class, subclass, programming interface
  uint8_t revision = 0;
  uint8_t header_type = 0;  // without the multi-function bit
  bool multi_function = false;
  FunctionKind kind = FunctionKind::endpoint;
  uint16_t parent = no_function;  // the bridge above; no_function on the root bus
  // False when a BAR could not be placed: its BARs are left unassigned and no partition
  // may own it. A bridge stays a forwarding bridge either way.
  bool usable = true;
  uint8_t bar_count = 0;  // BAR slots the header has (6, 2, 1 or 0)
  Bar bars[bar_slots];
  bool has_rom = false;  // the header has an expansion ROM register
  Bar rom;
  BridgeInfo bridge;  // meaningful when is_bridge()
  Capabilities caps;
  LegacyInterrupt interrupt;
  DmaIdentity dma;
  uint16_t command = 0;  // the command register as enumeration left it
  uint8_t cache_line_size = 0;  // as enumeration found it (earlier software's value)
  ResetChoice reset;  // pci/reset_method.hpp

  bool is_bridge() const { return header_type == 1; }
  uint16_t rom_register() const { return is_bridge() ? reg::rom_type1 : reg::rom_type0; }
};

struct Segment {
  uint16_t number = 0;
  bool number_from_dt = false;
  uint8_t host_index = 0;  // into PlatformInfo::pcie_hosts
  NodePath host_path;
  uint64_t ecam_base = 0;
  uint8_t bus_first = 0;
  uint8_t bus_last = 0;
  uint8_t bus_last_used = 0;
  uint16_t first_function = 0;  // this segment's functions are contiguous in the table
  uint16_t function_count = 0;
  uint16_t root_function_count = 0;  // functions on the root bus come first
  uint32_t config_reads = 0;
  uint32_t config_writes = 0;
};

namespace detail {
// Where a resource lives: a BAR slot, the ROM, or one of a bridge's windows.
constexpr uint8_t slot_rom = bar_slots;
constexpr uint8_t slot_window_first = bar_slots + 1;
constexpr size_t slots_per_function = bar_slots + 1 + window_types;
struct ResourceRef {
  uint16_t function = 0;
  uint8_t slot = 0;
};
struct ScanFrame {
  uint8_t bus = 0;
  uint16_t bridge = no_function;
  uint16_t first = 0;
  uint16_t count = 0;
  uint16_t next = 0;  // next function on this bus to consider for descending
};
// Scratch space for the enumerator and allocator: kept out of the stack because boot
// stacks are small. Not a result; its contents are meaningless between calls.
struct Workspace {
  ResourceRef resources[max_functions * slots_per_function];
  ScanFrame scan_stack[257];
};
}  // namespace detail

// Large (~170 KiB): give it static storage, not the stack.
struct PciTopology {
  Segment segments[max_segments];
  size_t segment_count = 0;
  Function functions[max_functions];
  size_t function_count = 0;
  detail::Workspace workspace;

  void clear();
  const Segment* find_segment(uint16_t number) const;
  const Function* find(Sbdf address) const;
  // The `instance`-th function (0-based, in table order) with these IDs.
  const Function* find_by_id(uint16_t vendor_id, uint16_t device_id, size_t instance = 0) const;
  const Function* parent_of(const Function& function) const {
    return function.parent == no_function ? nullptr : &functions[function.parent];
  }
  size_t index_of(const Function& function) const { return static_cast<size_t>(&function - functions); }
};

}  // namespace bulkhead::pci
