// The target's only PCI hardware edge: loads and stores of exactly the requested width
// at an identity-mapped physical address (configuration space, BARs, the I/O window), and
// configuration space through a memory-mapped `pci-host-ecam-generic` window.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"

namespace bulkhead::pci {

inline uint32_t mmio_read(uint64_t address, AccessWidth width) {
  switch (width) {
    case AccessWidth::byte: return *reinterpret_cast<volatile uint8_t*>(address);
    case AccessWidth::half: return *reinterpret_cast<volatile uint16_t*>(address);
    case AccessWidth::word: break;
  }
  return *reinterpret_cast<volatile uint32_t*>(address);
}

inline void mmio_write(uint64_t address, AccessWidth width, uint32_t value) {
  switch (width) {
    case AccessWidth::byte: *reinterpret_cast<volatile uint8_t*>(address) = static_cast<uint8_t>(value); return;
    case AccessWidth::half: *reinterpret_cast<volatile uint16_t*>(address) = static_cast<uint16_t>(value); return;
    case AccessWidth::word: break;
  }
  *reinterpret_cast<volatile uint32_t*>(address) = value;
}

class EcamMmioAccessor final : public ConfigAccessor {
 public:
  constexpr EcamMmioAccessor() = default;
  void attach(uint64_t base, uint8_t bus_first) {
    base_ = base;
    bus_first_ = bus_first;
  }
  uint32_t read(Bdf bdf, uint16_t offset, AccessWidth width) override {
    return mmio_read(base_ + ecam_offset(bus_first_, bdf, offset), width);
  }
  void write(Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) override {
    mmio_write(base_ + ecam_offset(bus_first_, bdf, offset), width, value);
  }

 private:
  uint64_t base_ = 0;
  uint8_t bus_first_ = 0;
};

}  // namespace bulkhead::pci
