// Configuration-space registers and fields the vPCI emulator handles, named once. The
// header offsets shared with enumeration are in pci/config_access.hpp (pci::reg), and
// are visible here as vpci::reg too.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"

namespace bulkhead::pci::vpci::reg {

using namespace bulkhead::pci::reg;  // NOLINT(google-build-using-namespace): one register namespace

// Type 0 header dwords not named by enumeration.
constexpr uint16_t cardbus_cis = 0x28;
constexpr uint16_t subsystem_ids = 0x2c;  // subsystem vendor [15:0], subsystem [31:16]
constexpr uint16_t reserved_dword = 0x38;
constexpr uint16_t last_bar = 0x24;
constexpr uint16_t standard_capabilities_first = 0x40;
constexpr uint16_t config_space_end = 0x1000;

// Command: the only bits a guest controls (everything else reads 0 and never reaches
// the function).
constexpr uint16_t command_guest_bits = 0x0001 | 0x0002 | 0x0004 | 0x0400;  // I/O, memory, bus master, INTx disable

// Status: the RW1C error bits a guest may clear (master data parity error, signalled
// target abort, received target abort, received master abort, signalled system error,
// detected parity error).
constexpr uint16_t status_error_bits = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;

// BAR register fields.
constexpr uint32_t bar_io_space = 0x1;
constexpr uint32_t bar_memory_64bit = 0x4;
constexpr uint32_t bar_prefetchable = 0x8;
constexpr uint32_t bar_io_address_mask = 0xfffffffcu;
constexpr uint32_t bar_io16_address_mask = 0x0000fffcu;
constexpr uint32_t bar_memory_address_mask = 0xfffffff0u;

// Capability header: ID [7:0], next pointer [15:8], capability-specific [31:16].
constexpr uint32_t capability_id_mask = 0xff;
constexpr unsigned capability_next_shift = 8;

// PCI Express capability, offsets from the capability.
namespace pcie {
constexpr uint16_t device_capabilities = 0x04;
constexpr uint16_t device_control = 0x08;  // device status at 0x0a
constexpr uint16_t version1_length = 0x24;
constexpr uint16_t version2_length = 0x3c;
constexpr uint32_t device_capabilities_flr = 1u << 28;  // Function Level Reset Capability
// Device Control bits a guest may change: relaxed ordering, no snoop, max read request
// size. Never Initiate FLR (bit 15), error reporting, max payload or the rest.
constexpr uint16_t device_control_relaxed_ordering = 1u << 4;
constexpr uint16_t device_control_no_snoop = 1u << 11;
constexpr uint16_t device_control_max_read_request = 0x7000;
constexpr uint16_t device_control_guest_bits =
    device_control_relaxed_ordering | device_control_no_snoop | device_control_max_read_request;
constexpr uint16_t device_control_initiate_flr = 1u << 15;
// Device Status RW1C bits: correctable, non-fatal, fatal, unsupported request detected.
constexpr uint16_t device_status_error_bits = 0x000f;
}  // namespace pcie

namespace power_management {
constexpr uint16_t length = 8;  // PMC with the header, then PMCSR, bridge extensions, data
constexpr uint16_t control_status = 0x04;
constexpr uint16_t power_state_mask = 0x3;  // PMCSR [1:0]: D0..D3hot
}  // namespace power_management

// MSI capability (PCI Local Bus 6.8.1), offsets from the capability. The data, mask and
// pending registers move with the address size.
namespace msi {
constexpr uint16_t control = 0x02;  // Message Control, 16-bit
constexpr uint16_t address_low = 0x04;
constexpr uint16_t address_high = 0x08;  // 64-bit capable only
constexpr uint16_t data(bool address_64bit) { return address_64bit ? 0x0c : 0x08; }
constexpr uint16_t mask(bool address_64bit) { return address_64bit ? 0x10 : 0x0c; }
constexpr uint16_t pending(bool address_64bit) { return address_64bit ? 0x14 : 0x10; }
constexpr uint16_t control_enable = 1u << 0;
constexpr unsigned control_capable_shift = 1;  // Multiple Message Capable [3:1]: log2 vectors
constexpr unsigned control_enabled_shift = 4;  // Multiple Message Enable [6:4]
constexpr uint16_t control_vectors_field = 0x7;
constexpr uint16_t control_64bit = 1u << 7;
constexpr uint16_t control_per_vector_mask = 1u << 8;
// What the guest sees of the function's own bits: vectors, 64-bit, per-vector masking
// (not the extended message data bits 9-10: not emulated).
constexpr uint16_t control_read_through = (control_vectors_field << control_capable_shift) | control_64bit |
                                          control_per_vector_mask;
constexpr uint32_t address_low_mask = 0xfffffffcu;  // dword aligned
constexpr uint32_t data_mask = 0xffff;
constexpr unsigned max_vectors = 32;
}  // namespace msi

// MSI-X capability (PCI Local Bus 6.8.2), offsets from the capability, and the table.
namespace msix {
constexpr uint16_t length = 12;
constexpr uint16_t control = 0x02;
constexpr uint16_t table = 0x04;  // Table Offset/BIR
constexpr uint16_t pba = 0x08;    // PBA Offset/BIR
constexpr uint16_t control_table_size = 0x07ff;  // N - 1
constexpr uint16_t control_function_mask = 1u << 14;
constexpr uint16_t control_enable = 1u << 15;
constexpr uint32_t bir_mask = 0x7;
constexpr uint32_t offset_mask = 0xfffffff8u;
constexpr uint64_t entry_bytes = 16;
constexpr uint64_t entry_address_low = 0x0;
constexpr uint64_t entry_address_high = 0x4;
constexpr uint64_t entry_data = 0x8;
constexpr uint64_t entry_vector_control = 0xc;
constexpr uint32_t vector_control_mask = 1u << 0;
constexpr uint32_t entry_address_low_mask = 0xfffffffcu;
constexpr unsigned max_vectors = 2048;
constexpr uint64_t pba_bytes(uint32_t vectors) { return (uint64_t{vectors} + 63) / 64 * 8; }
}  // namespace msix

}  // namespace bulkhead::pci::vpci::reg
