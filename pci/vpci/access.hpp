// Small helpers for guest accesses shared by the vPCI sources (internal).
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"

namespace bulkhead::pci::vpci {

// 1, 2 or 4 bytes: one shift and test on every guest access.
constexpr unsigned valid_sizes = (1u << 1) | (1u << 2) | (1u << 4);
constexpr bool valid_size(uint8_t size) { return size <= 4 && ((valid_sizes >> size) & 1u) != 0; }

constexpr AccessWidth width_of(uint8_t size) { return static_cast<AccessWidth>(size); }

// A configuration access is served when it stays inside one dword (PCI config requests
// are dword-addressed with byte enables); one that crosses a dword is refused.
constexpr bool within_dword(uint64_t offset, uint8_t size) { return valid_size(size) && (offset & 3) + size <= 4; }

// I/O and trapped BAR accesses must be naturally aligned.
constexpr bool naturally_aligned(uint64_t offset, uint8_t size) { return valid_size(size) && offset % size == 0; }

// The value bits of a `size`-byte access.
constexpr uint32_t value_mask(uint8_t size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

// Byte-enable mask of a `size`-byte access at byte `first` of a dword.
constexpr uint8_t byte_mask(unsigned first, uint8_t size) {
  return static_cast<uint8_t>(((1u << size) - 1) << first);
}

// Byte-enable mask -> bit mask of the dword.
constexpr uint32_t byte_bits(uint8_t mask) {
  uint32_t bits = 0;
  for (unsigned i = 0; i < 4; ++i) {
    if ((mask & (1u << i)) != 0) bits |= 0xffu << (8 * i);
  }
  return bits;
}

}  // namespace bulkhead::pci::vpci
