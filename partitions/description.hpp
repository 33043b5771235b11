// The system description: what the integrator wrote (a DTS compiled by dtc, the
// "source" form) or what the build tool generated from it for the hypervisor (the
// "normalized" form: every default resolved, RAM placed, payloads as package entries).
// One reader serves both, into fixed-capacity tables: no heap. partitions/README.md is
// the schema reference.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "partitions/guest_layout.hpp"
#include "partitions/violations.hpp"
#include "pci/topology.hpp"

namespace bulkhead::partitions {

constexpr uint32_t schema_version = 1;
constexpr const char* description_compatible = "bulkhead,system-description";
constexpr const char* checked_by_text = "bulkhead-config 1";  // normalized form's producer

constexpr size_t max_partitions = 8;
constexpr size_t max_partition_cpus = max_cpus;
constexpr size_t max_pci_devices = 16;      // per partition
constexpr size_t max_platform_devices = 4;  // per partition
constexpr size_t max_reserved_regions = 4;
constexpr size_t max_device_regions = 2;
constexpr size_t max_device_interrupts = 4;
constexpr size_t max_partition_name = 15;  // [a-z0-9-]{1,15}
constexpr size_t max_board_name = 31;
constexpr size_t max_node_name = 31;
constexpr size_t max_device_name = 15;
constexpr size_t max_compatible = 63;  // bytes of a string list, without the last NUL
constexpr size_t max_file_name = 127;
constexpr size_t max_guest_bootargs = 1023;
constexpr uint32_t no_entry = 0xffffffff;
constexpr uint8_t guest_slot_count = 32;  // devices on the virtual bus 0; slot 0 is the host bridge
// Message-based SPIs (msi-spis), as DTs number SPIs (INTID - 32).
constexpr uint32_t max_spi_number = 987;      // INTID 1019, the last SPI
constexpr uint32_t max_msi_spis = 64;         // per partition
constexpr uint32_t default_msi_spis = 64;     // for a partition with PCI functions that gives none
constexpr uint32_t msi_spi_alignment = 32;    // a multiple-message MSI block must be aligned

enum class DescriptionForm : uint8_t { source, normalized };
enum class PayloadFormat : uint8_t { unknown, linux_image, raw };
enum class GuestConsole : uint8_t { virtual_uart, none };
enum class RestartPolicy : uint8_t { stop, restart };
enum class CpuSelector : uint8_t { none, indices, mpidrs };

const char* payload_format_name(PayloadFormat format);
const char* guest_console_name(GuestConsole console);
const char* restart_policy_name(RestartPolicy policy);

struct PartitionCpu {
  uint32_t index = 0;  // position in the board's CPU list (= firmware /cpus DT order)
  uint32_t mpidr = 0;  // Aff2.Aff1.Aff0
};

struct PartitionRam {
  bool size_known = false;
  uint64_t size = 0;
  bool host_base_fixed = false;  // memory-host-base written in the source
  bool placed = false;           // host_base is final: fixed and checked, allocated, or normalized
  uint64_t host_base = 0;
  uint64_t guest_base = default_guest_ram_base;
};

struct Payload {
  bool present = false;  // the payload node was read
  PayloadFormat format = PayloadFormat::unknown;
  char file[max_file_name + 1] = {};
  bool has_initrd = false;
  char initrd[max_file_name + 1] = {};
  bool has_load_offset = false;                // source: raw only; normalized: always (a Linux text_offset)
  uint64_t load_offset = 0;                    // from the RAM's guest base
  char bootargs[max_guest_bootargs + 1] = {};  // empty: none
  // Resolved by the rules from the payload files, or read from the normalized form.
  bool resolved = false;
  uint64_t load_size = 0;            // bytes the kernel occupies from its load address (BSS included)
  uint64_t file_size = 0;            // bytes of the kernel file (package entry)
  uint64_t initrd_size = 0;          // bytes of the initrd file (package entry)
  uint32_t kernel_entry = no_entry;  // package entry indices
  uint32_t initrd_entry = no_entry;
};

struct PciDeviceSelector {
  char node[max_node_name + 1] = {};
  bool has_sbdf = false;
  pci::Sbdf sbdf;
  bool has_ids = false;
  uint16_t vendor = 0;
  uint16_t device = 0;
  bool has_instance = false;   // source: written; normalized: present whenever has_ids
  uint32_t instance = 0;       // the instance-th function with these IDs, in enumeration order
  bool slot_given = false;     // guest-slot written in the source
  bool slot_assigned = false;  // guest_slot is final (given and valid, automatic, or normalized)
  uint32_t guest_slot = 0;
  // reset = "none": the function is handed over and restarted without a reset (one that
  // has no reset method needs it; the boot refuses the partition otherwise).
  bool reset_none = false;
};

struct DeviceInterrupt {
  uint32_t spi = 0;    // GIC SPI number as DTs write it (INTID - 32)
  uint32_t flags = 0;  // DT trigger flags: 1 edge rising, 4 level high
};

// What a passthrough platform device is: the board defines it, a partition receives it.
struct DeviceResources {
  char compatible[max_compatible + 1] = {};  // NUL-separated string list
  size_t compatible_length = 0;              // bytes, including the last NUL
  AddressRange regions[max_device_regions];
  size_t region_count = 0;
  DeviceInterrupt interrupts[max_device_interrupts];
  size_t interrupt_count = 0;
};

// A partition's platform device; its resources are resolved from the board by the
// rules, or read from the normalized form.
struct PlatformDeviceRef : DeviceResources {
  char node[max_node_name + 1] = {};
  char device[max_device_name + 1] = {};  // a device of the board definition
  bool resolved = false;
};

// The SPIs its PCI functions' MSIs arrive as: [first, first + count), as DTs number SPIs.
struct MessageSpis {
  bool given = false;     // msi-spis written in the source
  bool assigned = false;  // final: given and valid, chosen by the tool, or normalized
  uint32_t first = 0;
  uint32_t count = 0;
  bool contains(uint32_t spi) const { return spi >= first && spi - first < count; }
};

struct Partition {
  char name[max_partition_name + 1] = {};
  CpuSelector cpu_selector = CpuSelector::none;
  bool cpus_resolved = false;  // both index and mpidr are known for every CPU
  PartitionCpu cpus[max_partition_cpus];
  size_t cpu_count = 0;
  PartitionRam ram;
  Payload payload;
  GuestConsole console = GuestConsole::virtual_uart;
  PciDeviceSelector pci_devices[max_pci_devices];
  size_t pci_device_count = 0;
  PlatformDeviceRef platform_devices[max_platform_devices];
  size_t platform_device_count = 0;
  bool legacy_intx = false;
  RestartPolicy restart = RestartPolicy::stop;
  MessageSpis msi_spis;
};

struct SystemDescription {
  DescriptionForm form = DescriptionForm::source;
  char board[max_board_name + 1] = {};
  // The hypervisor's RAM (from the board; in the normalized form for the boot's re-check).
  AddressRange hypervisor_reserved[max_reserved_regions];
  size_t hypervisor_reserved_count = 0;
  Partition partitions[max_partitions];
  size_t partition_count = 0;
};

// "/partitions/NAME" and "/partitions/NAME/NODE", for violation lines.
struct DescriptionPath {
  char text[max_partition_name + max_node_name + 16] = {};
};
DescriptionPath partition_path(const Partition& partition);
DescriptionPath partition_child_path(const Partition& partition, const char* node);

// Reads `blob` (at most `size` bytes, 8-byte aligned) in the given form. Every problem
// is reported to `violations` (all of them, in document order, each property in schema
// order); the result is false if any was. Values that could not be read are left at
// their "unknown" state so the rules skip them instead of reporting consequences.
bool read_description(const void* blob, size_t size, DescriptionForm form, SystemDescription& description,
                      Violations& violations);

}  // namespace bulkhead::partitions
