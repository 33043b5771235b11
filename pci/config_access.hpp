// How the portable PCI code reaches configuration space: one accessor per host bridge
// (segment), addressed by absolute bus number. The target supplies an ECAM MMIO
// implementation; unit tests supply a simulated ECAM.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::pci {

// Bus/device/function inside one segment.
struct Bdf {
  uint8_t bus = 0;
  uint8_t device = 0;    // 0..31
  uint8_t function = 0;  // 0..7

  constexpr uint8_t devfn() const { return static_cast<uint8_t>(device << 3 | function); }
  // The PCIe requester ID: bus[15:8] device[7:3] function[2:0].
  constexpr uint16_t requester_id() const { return static_cast<uint16_t>(bus << 8 | devfn()); }
  constexpr bool operator==(const Bdf&) const = default;
};

enum class AccessWidth : uint8_t { byte = 1, half = 2, word = 4 };

// Configuration space of one segment. Offsets are 0..4095 and naturally aligned to the
// access width (callers guarantee it). An absent function reads as all ones and ignores
// writes, as ECAM does.
class ConfigAccessor {
 public:
  virtual uint32_t read(Bdf bdf, uint16_t offset, AccessWidth width) = 0;
  virtual void write(Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) = 0;

  uint8_t read8(Bdf bdf, uint16_t offset) { return static_cast<uint8_t>(read(bdf, offset, AccessWidth::byte)); }
  uint16_t read16(Bdf bdf, uint16_t offset) { return static_cast<uint16_t>(read(bdf, offset, AccessWidth::half)); }
  uint32_t read32(Bdf bdf, uint16_t offset) { return read(bdf, offset, AccessWidth::word); }
  void write8(Bdf bdf, uint16_t offset, uint8_t value) { write(bdf, offset, AccessWidth::byte, value); }
  void write16(Bdf bdf, uint16_t offset, uint16_t value) { write(bdf, offset, AccessWidth::half, value); }
  void write32(Bdf bdf, uint16_t offset, uint32_t value) { write(bdf, offset, AccessWidth::word, value); }

 protected:
  ~ConfigAccessor() = default;
};

// Forwards to another accessor and counts accesses: the enumeration benchmark reports
// how many config-space accesses a boot costs.
class CountingAccessor final : public ConfigAccessor {
 public:
  explicit CountingAccessor(ConfigAccessor& target) : target_(target) {}
  uint32_t read(Bdf bdf, uint16_t offset, AccessWidth width) override {
    ++reads_;
    return target_.read(bdf, offset, width);
  }
  void write(Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) override {
    ++writes_;
    target_.write(bdf, offset, width, value);
  }
  uint32_t reads() const { return reads_; }
  uint32_t writes() const { return writes_; }
  uint32_t total() const { return reads_ + writes_; }

 private:
  ConfigAccessor& target_;
  uint32_t reads_ = 0;
  uint32_t writes_ = 0;
};

// Byte offset of a register inside a `pci-host-ecam-generic` window. The window's `reg`
// starts at the first bus of `bus-range`, hence the subtraction (as Linux does).
constexpr uint64_t ecam_offset(uint8_t bus_first, Bdf bdf, uint16_t offset) {
  return static_cast<uint64_t>(static_cast<uint8_t>(bdf.bus - bus_first)) << 20 |
         static_cast<uint64_t>(bdf.device & 0x1f) << 15 | static_cast<uint64_t>(bdf.function & 0x7) << 12 |
         (offset & 0xfff);
}

// Configuration-space register offsets and fields used by enumeration.
namespace reg {
constexpr uint16_t vendor_device = 0x00;
constexpr uint16_t command = 0x04;
constexpr uint16_t status = 0x06;
constexpr uint16_t class_revision = 0x08;
constexpr uint16_t header_type = 0x0e;  // byte; dword 0x0c holds it in bits 23:16
constexpr uint16_t cache_line_size = 0x0c;  // byte: [7:0] of the header dword
constexpr uint32_t cache_line_size_mask = 0xff;
constexpr uint16_t header_dword = 0x0c;
constexpr uint16_t bar0 = 0x10;
constexpr uint16_t capability_pointer = 0x34;
constexpr uint16_t rom_type0 = 0x30;
constexpr uint16_t interrupt_dword = 0x3c;  // line [7:0], pin [15:8]
// Type 1 (bridge) header.
constexpr uint16_t bus_numbers = 0x18;  // primary, secondary, subordinate, secondary latency
constexpr uint16_t subordinate_bus = 0x1a;
constexpr uint16_t io_base_limit = 0x1c;  // 16-bit: base [7:0], limit [15:8]
constexpr uint16_t memory_base_limit = 0x20;
constexpr uint16_t prefetch_base_limit = 0x24;
constexpr uint16_t prefetch_base_upper = 0x28;
constexpr uint16_t prefetch_limit_upper = 0x2c;
constexpr uint16_t io_upper = 0x30;  // base upper 16 [15:0], limit upper 16 [31:16]
// Closed windows: base above limit.
constexpr uint16_t io_window_closed = 0x00f0;          // base 0xf000, limit 0x0fff
constexpr uint32_t memory_window_closed = 0x0000fff0;  // base 0xfff00000, limit 0x000fffff
constexpr uint16_t io_window_address_mask = 0xf0f0;    // the low nibbles say 16- or 32-bit
constexpr uint32_t memory_window_address_mask = 0xfff0fff0u;  // likewise 32- or 64-bit
constexpr uint16_t rom_type1 = 0x38;
constexpr uint16_t bridge_control = 0x3e;  // 16-bit
constexpr uint16_t extended_capabilities = 0x100;

constexpr uint16_t command_io = 1u << 0;
constexpr uint16_t command_memory = 1u << 1;
constexpr uint16_t command_bus_master = 1u << 2;
constexpr uint16_t command_interrupt_disable = 1u << 10;
constexpr uint16_t status_capability_list = 1u << 4;
constexpr uint8_t header_multi_function = 0x80;
constexpr uint32_t rom_enable = 1u << 0;
constexpr uint32_t rom_address_mask = 0xfffff800u;
}  // namespace reg

}  // namespace bulkhead::pci
