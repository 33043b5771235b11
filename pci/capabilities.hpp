// Walking a function's capability lists: the standard list from 0x34 and, for PCI
// Express functions, the extended list from 0x100. Loops and malformed pointers are
// reported and end the walk; the number of steps is bounded by the list's room.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

namespace capability_id {
constexpr uint8_t power_management = 0x01;
constexpr uint8_t msi = 0x05;
constexpr uint8_t pci_express = 0x10;
constexpr uint8_t msix = 0x11;
constexpr uint8_t advanced_features = 0x13;
}  // namespace capability_id

namespace extended_capability_id {
constexpr uint16_t aer = 0x0001;
constexpr uint16_t acs = 0x000d;
constexpr uint16_t sriov = 0x0010;
}  // namespace extended_capability_id

// Fills function.caps. `status` is the function's status register. Turns off MSI,
// MSI-X and SR-IOV VF enables left on by earlier software, and sizes SR-IOV VF BARs.
// Returns false when a list was broken (logged with the function and the offset).
bool parse_capabilities(ConfigAccessor& config, Function& function, uint16_t status);

}  // namespace bulkhead::pci
