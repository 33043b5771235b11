// The MSI-X capability and table of one passed-through function, emulated (a
// CapabilityHandler of the virtual bus). The page(s) holding the table (and the PBA when
// it shares the table's BAR) are trapped; the rest of the BAR is mapped directly.
// - Message Control: table size read through, Function Mask and Enable are the guest's;
//   Table and PBA Offset/BIR read through (the guest's BARs have the host's layout).
// - Table: each entry's address, data and vector control (mask) are the guest's, kept
//   here, in 32-bit fields (narrower accesses read and merge bytes of a field).
// - PBA: the function's own pending bits, read through; writes are dropped.
// - Other registers on the trapped pages reach the function unchanged.
// A vector whose message (address, data) is the guest's virtual GICD_SETSPI_NSR with one of
// its SPIs is bound through the router while MSI-X is enabled, and its physical entry
// holds the ITS doorbell and the vector's EventID; its physical mask follows the guest's,
// so a masked vector's message is held pending by the function (its PBA bit) and sent on
// unmask, as the PCI spec says. Any other message leaves the vector masked and unbound
// and is logged once. Physically, a vector is unmasked only while it is bound; the
// function mask follows the guest's. Disabling and reset: the function disabled, every
// vector masked, then unbound.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pci/vpci/msi_router.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {

// One table entry as the guest programmed it, and what it raises now.
struct MsixVector {
  uint32_t address_low = 0;
  uint32_t address_high = 0;
  uint32_t data = 0;
  uint16_t bound_spi = 0;  // 0: not bound
  uint8_t flags = 0;       // MsixHandler's
};

class MsixHandler final : public CapabilityHandler {
 public:
  constexpr MsixHandler() = default;

  // Takes the function's MSI-X capability, links it into the bus's capability list and
  // traps the table's pages (with the PBA's when they share the BAR). `vectors` holds the
  // guest's table: at least the function's table size entries, kept by the caller. Every
  // physical vector is masked (memory decode is turned on for that moment if it is off).
  // False when the function has none, the setup lacks an interface, or (logged through the
  // host) the storage is too small, the table or PBA is not inside a placed memory BAR, or
  // the bus refuses.
  bool configure(const MessageSetup& setup, VirtualPciBus& bus, MsixVector* vectors, size_t capacity);

  uint32_t read_config(uint16_t offset) override;
  void write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) override;
  uint32_t read_trapped(uint8_t bar, uint64_t offset, AccessWidth width) override;
  void write_trapped(uint8_t bar, uint64_t offset, AccessWidth width, uint32_t value) override;
  void reset() override;

  bool enabled() const { return (control_ & reg::msix::control_enable) != 0; }
  bool function_masked() const { return (control_ & reg::msix::control_function_mask) != 0; }
  uint16_t table_size() const { return table_size_; }
  // The SPI vector `vector` raises now, 0 when none.
  uint32_t bound_spi(uint16_t vector) const { return vector < table_size_ ? vectors_[vector].bound_spi : 0; }

 private:
  static constexpr uint8_t guest_masked = 1u << 0;       // the guest's vector control mask bit
  static constexpr uint8_t physical_unmasked = 1u << 1;  // what the function's entry holds
  static constexpr uint8_t bad_logged = 1u << 2;

  uint64_t entry_address(uint16_t vector) const { return table_ + uint64_t{vector} * reg::msix::entry_bytes; }
  uint32_t read_field(uint16_t vector, uint64_t field) const;
  void write_field(uint16_t vector, uint64_t field, uint32_t value);
  void apply(uint16_t vector);
  void apply_all();
  void mask_physical(uint16_t vector);
  void unmask_physical(uint16_t vector);
  void write_physical_control();
  void mask_every_vector();
  bool decoding_memory();

  MessageSetup setup_;
  uint16_t cap_ = 0;
  uint16_t table_size_ = 0;
  MsixVector* vectors_ = nullptr;
  uint8_t table_bar_ = 0;
  uint64_t table_offset_ = 0;  // in its BAR
  uint64_t table_ = 0;         // CPU physical
  uint8_t pba_bar_ = 0;
  uint64_t pba_offset_ = 0;
  uint64_t pba_ = 0;
  uint16_t control_ = 0;           // the guest's Enable and Function Mask
  uint16_t physical_control_ = 0;  // what the function's register holds of them
};

}  // namespace bulkhead::pci::vpci
