// The guest's capability list: PCI Express and power management read through (PCI
// Express with a few safe Device Control bits writable), MSI and MSI-X linked only when a
// handler serves them; every other capability is unlinked and reads 0.
#include "pci/capabilities.hpp"
#include "pci/vpci/access.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {
namespace {

constexpr uint16_t standard_config_end = 0x100;
constexpr uint8_t header_id_and_next = 0x3;  // byte mask of the ID and next-pointer bytes
constexpr uint8_t low_half = 0x3;
constexpr uint8_t high_half = 0xc;

uint8_t pcie_length(const PcieInfo& pcie) {
  return pcie.version >= 2 ? reg::pcie::version2_length : reg::pcie::version1_length;
}

// Message control, address (32 or 64 bits), data, then mask and pending bits if per-vector
// masking is implemented; rounded up to dwords.
uint8_t msi_length(const MsiInfo& msi) {
  uint8_t length = msi.address_64bit ? 0x10 : 0x0c;
  if (msi.per_vector_mask) length = static_cast<uint8_t>(length + 8);
  return length;
}

}  // namespace

void VirtualPciBus::link_capabilities(FunctionState& f) {
  const Capabilities& caps = f.physical->caps;
  CapabilityState found[max_bus_capabilities];
  uint8_t count = 0;
  if (caps.power_management != 0) {
    found[count++] = {capability_id::power_management, caps.power_management, reg::power_management::length, 0,
                      nullptr};
  }
  if (caps.pcie.offset != 0) {
    found[count++] = {capability_id::pci_express, caps.pcie.offset, pcie_length(caps.pcie), 0, nullptr};
  }
  if (caps.msi.offset != 0 && f.msi_handler != nullptr) {
    found[count++] = {capability_id::msi, caps.msi.offset, msi_length(caps.msi), 0, f.msi_handler};
  }
  if (caps.msix.offset != 0 && f.msix_handler != nullptr) {
    found[count++] = {capability_id::msix, caps.msix.offset, reg::msix::length, 0, f.msix_handler};
  }
  // In the order of their offsets, as the function has them; none runs past 0xff.
  for (uint8_t i = 1; i < count; ++i) {
    for (uint8_t j = i; j > 0 && found[j].offset < found[j - 1].offset; --j) {
      const CapabilityState swap = found[j];
      found[j] = found[j - 1];
      found[j - 1] = swap;
    }
  }
  for (uint8_t i = 0; i < count; ++i) {
    CapabilityState& c = found[i];
    if (c.offset + c.length > standard_config_end) c.length = static_cast<uint8_t>(standard_config_end - c.offset);
    c.next = i + 1 < count ? found[i + 1].offset : 0;
    f.capabilities[i] = c;
  }
  f.capability_count = count;
  f.first_capability = count != 0 ? found[0].offset : 0;
  refresh_header_image(f);
}

const VirtualPciBus::CapabilityState* VirtualPciBus::capability_at(const FunctionState& f, uint16_t offset) const {
  for (uint8_t i = 0; i < f.capability_count; ++i) {
    const CapabilityState& c = f.capabilities[i];
    if (offset >= c.offset && offset < c.offset + c.length) return &c;
  }
  return nullptr;
}

uint32_t VirtualPciBus::read_capability(FunctionState& f, const CapabilityState& c, uint16_t offset) {
  uint32_t value = c.handler != nullptr ? c.handler->read_config(offset)
                                        : host_->config_read(*f.physical, offset, AccessWidth::word);
  const uint16_t at = static_cast<uint16_t>(offset - c.offset);
  // FLR is the hypervisor's (function reset, a later issue): the guest is never offered it.
  if (c.id == capability_id::pci_express && at == reg::pcie::device_capabilities) {
    value &= ~reg::pcie::device_capabilities_flr;
  }
  if (at == 0) {
    value = (value & ~byte_bits(header_id_and_next)) | static_cast<uint32_t>(c.next) << reg::capability_next_shift | c.id;
  }
  return value;
}

void VirtualPciBus::write_capability(FunctionState& f, const CapabilityState& c, uint16_t offset, uint32_t value,
                                     uint8_t mask) {
  const uint16_t at = static_cast<uint16_t>(offset - c.offset);
  if (c.handler != nullptr) {
    const uint8_t handler_bytes = at == 0 ? static_cast<uint8_t>(mask & ~header_id_and_next) : mask;
    if (handler_bytes != 0) c.handler->write_config(offset, value, handler_bytes);
    return;
  }
  // Power management is read-only for the guest: a D3hot it chose could reset the
  // function behind the emulator's back. In PCI Express only Device Control's safe bits
  // and Device Status's error bits are writable.
  if (c.id != capability_id::pci_express || at != reg::pcie::device_control) return;
  const auto control_at = static_cast<uint16_t>(offset);
  if ((mask & low_half) != 0) {
    const auto guest_bits = static_cast<uint16_t>(byte_bits(mask & low_half) & reg::pcie::device_control_guest_bits);
    const auto physical = static_cast<uint16_t>(host_->config_read(*f.physical, control_at, AccessWidth::half));
    auto control = static_cast<uint16_t>((physical & ~guest_bits) | (value & guest_bits));
    control = static_cast<uint16_t>(control & ~reg::pcie::device_control_initiate_flr);
    if (control != physical) host_->config_write(*f.physical, control_at, AccessWidth::half, control);
  }
  if ((mask & high_half) != 0) {
    const auto cleared = static_cast<uint16_t>(((value & byte_bits(mask & high_half)) >> 16) &
                                               reg::pcie::device_status_error_bits);
    if (cleared != 0) {
      host_->config_write(*f.physical, static_cast<uint16_t>(control_at + 2), AccessWidth::half, cleared);
    }
  }
}

bool VirtualPciBus::attach_capability(uint8_t slot, CapabilityKind kind, CapabilityHandler& handler) {
  FunctionState* f = function_in_slot(slot);
  if (f == nullptr) return false;
  const Capabilities& caps = f->physical->caps;
  if (kind == CapabilityKind::msi) {
    if (caps.msi.offset == 0) return false;
    f->msi_handler = &handler;
  } else {
    if (caps.msix.offset == 0) return false;
    f->msix_handler = &handler;
  }
  link_capabilities(*f);
  return true;
}

}  // namespace bulkhead::pci::vpci
