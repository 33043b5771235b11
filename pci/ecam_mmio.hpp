// Configuration space through a memory-mapped `pci-host-ecam-generic` window: the
// target's only PCI hardware edge. Each access uses exactly the requested width.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"

namespace bulkhead::pci {

class EcamMmioAccessor final : public ConfigAccessor {
 public:
  constexpr EcamMmioAccessor() = default;
  void attach(uint64_t base, uint8_t bus_first) {
    base_ = base;
    bus_first_ = bus_first;
  }
  uint32_t read(Bdf bdf, uint16_t offset, AccessWidth width) override {
    const uint64_t address = base_ + ecam_offset(bus_first_, bdf, offset);
    switch (width) {
      case AccessWidth::byte: return *reinterpret_cast<volatile uint8_t*>(address);
      case AccessWidth::half: return *reinterpret_cast<volatile uint16_t*>(address);
      case AccessWidth::word: break;
    }
    return *reinterpret_cast<volatile uint32_t*>(address);
  }
  void write(Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) override {
    const uint64_t address = base_ + ecam_offset(bus_first_, bdf, offset);
    switch (width) {
      case AccessWidth::byte: *reinterpret_cast<volatile uint8_t*>(address) = static_cast<uint8_t>(value); return;
      case AccessWidth::half: *reinterpret_cast<volatile uint16_t*>(address) = static_cast<uint16_t>(value); return;
      case AccessWidth::word: break;
    }
    *reinterpret_cast<volatile uint32_t*>(address) = value;
  }

 private:
  uint64_t base_ = 0;
  uint8_t bus_first_ = 0;
};

}  // namespace bulkhead::pci
