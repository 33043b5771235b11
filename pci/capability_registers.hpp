// Capability registers and fields that function reset reads and writes, named once.
// Offsets are from the capability's own offset. Section numbers are those of the PCI
// Express Base Specification r6.0 unless another document is named.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"

namespace bulkhead::pci::reg {

// Type 1 header: Bridge Control (§7.5.1.3.13).
constexpr uint16_t bridge_control_secondary_bus_reset = 1u << 6;

// PCI Express capability (§7.5.3).
namespace pcie {
constexpr uint16_t device_capabilities = 0x04;  // §7.5.3.3
constexpr uint32_t device_capabilities_flr = 1u << 28;
constexpr uint16_t device_control = 0x08;  // §7.5.3.4
constexpr uint16_t device_control_initiate_flr = 1u << 15;
constexpr uint16_t device_status = 0x0a;  // §7.5.3.5
constexpr uint16_t device_status_transactions_pending = 1u << 5;
constexpr uint16_t link_capabilities = 0x0c;  // §7.5.3.6
constexpr uint32_t link_capabilities_max_speed_mask = 0xf;  // 1: 2.5 GT/s, 2: 5.0 GT/s, 3 and up: faster
constexpr uint32_t link_speed_5gt = 2;
constexpr uint32_t link_capabilities_dll_active_reporting = 1u << 20;
constexpr uint16_t link_status = 0x12;  // §7.5.3.8
constexpr uint16_t link_status_dll_active = 1u << 13;
constexpr uint16_t device_capabilities2 = 0x24;  // §7.5.3.15, capability version 2 and up
constexpr uint32_t device_capabilities2_timeout_ranges = 0xf;
constexpr uint16_t device_control2 = 0x28;  // §7.5.3.16
constexpr uint16_t device_control2_timeout_value = 0xf;
constexpr uint16_t device_control2_timeout_disable = 1u << 4;
}  // namespace pcie

// Power Management capability (§7.5.2).
namespace pm {
constexpr uint16_t control_status = 0x04;  // PMCSR, §7.5.2.2
constexpr uint16_t power_state_mask = 0x3;
constexpr uint16_t power_state_d0 = 0x0;
constexpr uint16_t power_state_d3hot = 0x3;
constexpr uint16_t no_soft_reset = 1u << 3;
constexpr uint16_t pme_status = 1u << 15;  // RW1C: always written as 0
}  // namespace pm

// Advanced Features capability (PCI-SIG ECN "Advanced Capabilities for Conventional PCI").
namespace af {
constexpr uint16_t capabilities = 0x03;  // byte
constexpr uint8_t capabilities_transactions_pending = 1u << 0;
constexpr uint8_t capabilities_flr = 1u << 1;
constexpr uint16_t control = 0x04;  // byte
constexpr uint8_t control_initiate_flr = 1u << 0;
constexpr uint16_t status = 0x05;  // byte
constexpr uint8_t status_transactions_pending = 1u << 0;
}  // namespace af

// MSI (§7.7.1) and MSI-X (§7.7.2) Message Control.
namespace msi {
constexpr uint16_t control = 0x02;
constexpr uint16_t control_enable = 1u << 0;
}  // namespace msi
namespace msix {
constexpr uint16_t control = 0x02;
constexpr uint16_t control_enable = 1u << 15;
}  // namespace msix

}  // namespace bulkhead::pci::reg
