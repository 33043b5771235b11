#include "pci/topology.hpp"

namespace bulkhead::pci {
namespace {

void put_hex(char* out, uint32_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    const uint32_t nibble = value & 0xf;
    out[i] = static_cast<char>(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
    value >>= 4;
  }
}

}  // namespace

SbdfText sbdf_text(Sbdf address) {
  SbdfText result;
  put_hex(result.text, address.segment, 4);
  result.text[4] = ':';
  put_hex(result.text + 5, address.bdf.bus, 2);
  result.text[7] = ':';
  put_hex(result.text + 8, address.bdf.device, 2);
  result.text[10] = '.';
  put_hex(result.text + 11, address.bdf.function, 1);
  result.text[12] = '\0';
  return result;
}

const char* kind_name(FunctionKind kind) {
  switch (kind) {
    case FunctionKind::endpoint: return "endpoint";
    case FunctionKind::legacy_endpoint: return "legacy-endpoint";
    case FunctionKind::rc_endpoint: return "rc-endpoint";
    case FunctionKind::rc_event_collector: return "rc-event-collector";
    case FunctionKind::host_bridge: return "host-bridge";
    case FunctionKind::root_port: return "root-port";
    case FunctionKind::upstream_port: return "upstream-port";
    case FunctionKind::downstream_port: return "downstream-port";
    case FunctionKind::pcie_pci_bridge: return "pcie-pci-bridge";
    case FunctionKind::pci_pcie_bridge: return "pci-pcie-bridge";
    case FunctionKind::pci_bridge: return "pci-bridge";
    case FunctionKind::cardbus_bridge: return "cardbus-bridge";
    case FunctionKind::unknown: return "unknown";
  }
  return "unknown";
}

const char* reset_method_name(ResetMethod method) {
  switch (method) {
    case ResetMethod::none: return "none";
    case ResetMethod::flr: return "flr";
    case ResetMethod::af_flr: return "af-flr";
    case ResetMethod::pm: return "pm";
    case ResetMethod::bus: return "bus";
  }
  return "none";
}

const char* reset_reason_name(ResetReason reason) {
  switch (reason) {
    case ResetReason::not_assignable: return "not-assignable";
    case ResetReason::device_capabilities: return "device-capabilities";
    case ResetReason::advanced_features: return "advanced-features";
    case ResetReason::soft_reset: return "no-soft-reset-clear";
    case ResetReason::alone_below_bridge: return "alone-below-bridge";
    case ResetReason::root_bus: return "root-bus";
    case ResetReason::shared_bus: return "shared-bus";
  }
  return "not-assignable";
}

const char* port_type_name(uint8_t type) {
  switch (type) {
    case port_type::endpoint: return "endpoint";
    case port_type::legacy_endpoint: return "legacy-endpoint";
    case port_type::root_port: return "root-port";
    case port_type::upstream_port: return "upstream-port";
    case port_type::downstream_port: return "downstream-port";
    case port_type::pcie_pci_bridge: return "pcie-pci-bridge";
    case port_type::pci_pcie_bridge: return "pci-pcie-bridge";
    case port_type::rc_endpoint: return "rc-endpoint";
    case port_type::rc_event_collector: return "rc-event-collector";
    default: return "reserved";
  }
}

const char* bar_kind_name(BarKind kind) {
  switch (kind) {
    case BarKind::none: return "none";
    case BarKind::io: return "io";
    case BarKind::mem32: return "mem32";
    case BarKind::mem64: return "mem64";
  }
  return "none";
}

void PciTopology::clear() {
  // Entries are reset as they are created; resetting the counts is enough.
  segment_count = 0;
  function_count = 0;
}

const Segment* PciTopology::find_segment(uint16_t number) const {
  for (size_t i = 0; i < segment_count; ++i) {
    if (segments[i].number == number) return &segments[i];
  }
  return nullptr;
}

const Function* PciTopology::find(Sbdf address) const {
  const Segment* segment = find_segment(address.segment);
  if (segment == nullptr) return nullptr;
  for (size_t i = segment->first_function; i < segment->first_function + segment->function_count; ++i) {
    if (functions[i].address == address) return &functions[i];
  }
  return nullptr;
}

const Function* PciTopology::find_by_id(uint16_t vendor_id, uint16_t device_id, size_t instance) const {
  for (size_t i = 0; i < function_count; ++i) {
    const Function& f = functions[i];
    if (f.vendor_id != vendor_id || f.device_id != device_id) continue;
    if (instance == 0) return &f;
    --instance;
  }
  return nullptr;
}

}  // namespace bulkhead::pci
