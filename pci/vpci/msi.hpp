// The MSI capability of one passed-through function, emulated (a CapabilityHandler of
// the virtual bus). The guest programs the address of its virtual GICD_SETSPI_NSR and an
// SPI of its MBI range; the function itself is programmed with the ITS doorbell and the
// EventIDs the router allocated, never with what the guest wrote:
// - guest registers: Message Control (enable, Multiple Message Enable; the function's
//   vector count, 64-bit and per-vector-mask bits read through), address (32 or 64 bits),
//   data, mask bits; the pending bits are the function's own, read through;
// - while enabled, each of the 2^MME vectors whose message (address, data with the vector
//   number in its low bits, as the function would send it) is one of the guest's SPIs is
//   bound through the router; the others raise nothing (masked when the function can mask
//   per vector) and are logged once; with none valid the function stays disabled;
// - the function's mask bits follow the guest's, so a masked vector's message is held
//   pending by the function and sent when unmasked, as the PCI spec says;
// - disabling, reset: the function disabled first, then every vector unbound.
#pragma once

#include <cstdint>

#include "pci/vpci/msi_router.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {

class MsiHandler final : public CapabilityHandler {
 public:
  constexpr MsiHandler() = default;

  // Takes the function's MSI capability and links it into the bus's capability list.
  // False when the function has none, or the setup lacks the host or router.
  bool configure(const MessageSetup& setup, VirtualPciBus& bus);

  uint32_t read_config(uint16_t offset) override;
  void write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) override;
  uint32_t read_trapped(uint8_t, uint64_t, AccessWidth) override { return 0; }  // nothing is trapped
  void write_trapped(uint8_t, uint64_t, AccessWidth, uint32_t) override {}
  void reset() override;

  // What the guest programmed (for tests and reports).
  bool enabled() const { return (control_ & reg::msi::control_enable) != 0; }
  unsigned vectors() const { return 1u << ((control_ >> reg::msi::control_enabled_shift) & reg::msi::control_vectors_field); }
  // The SPI vector `vector` raises now, 0 when none.
  uint32_t bound_spi(unsigned vector) const { return vector < reg::msi::max_vectors ? bound_spi_[vector] : 0; }

 private:
  uint16_t physical_control() const;
  void apply();
  void disable_physical();
  void unbind_all();
  void write_physical(uint16_t at, AccessWidth width, uint32_t value);
  bool bind(unsigned vector, uint32_t spi);

  MessageSetup setup_;
  uint16_t cap_ = 0;  // capability offset
  bool address_64bit_ = false;
  bool per_vector_mask_ = false;
  unsigned capable_log2_ = 0;  // Multiple Message Capable
  // The guest's registers.
  uint16_t control_ = 0;  // enable and Multiple Message Enable only
  uint64_t address_ = 0;
  uint32_t data_ = 0;
  uint32_t mask_ = 0;
  // What the function is programmed with, and what each vector raises.
  bool physical_enabled_ = false;
  uint64_t physical_address_ = 0;
  uint32_t physical_data_ = 0;
  uint16_t physical_mme_ = 0;
  uint32_t physical_mask_ = 0;
  uint32_t bound_spi_[reg::msi::max_vectors] = {};
  bool have_message_ = false;  // the router's doorbell and event base, once known (they do not change)
  uint64_t doorbell_ = 0;
  uint32_t event_base_ = 0;
  uint32_t invalid_vectors_ = 0;  // enabled vectors whose message is not one of the guest's SPIs
  bool bad_message_logged_ = false;
  bool refusal_logged_ = false;
};

}  // namespace bulkhead::pci::vpci
