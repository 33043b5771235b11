// How an emulated load or store moves data between a guest register and a device, as the
// architecture defines it: only the access's bytes, byte-reversed for a big-endian data
// access (SCTLR_EL1.EE at EL1, E0E at EL0), sign-extended when the syndrome says so (LDRS*),
// and a W destination has its upper half zeroed. Portable.
#pragma once

#include <cstdint>

#include "core/vcpu/exit.hpp"

namespace bulkhead::vcpu {

constexpr uint64_t width_mask(unsigned width) { return width >= 8 ? ~uint64_t{0} : (uint64_t{1} << (width * 8)) - 1; }

constexpr uint64_t byte_reverse(uint64_t value, unsigned width) {
  uint64_t reversed = 0;
  for (unsigned i = 0; i < width; ++i) reversed |= ((value >> (8 * i)) & 0xff) << (8 * (width - 1 - i));
  return reversed;
}

// The value a store hands to the device (little-endian, `width` bytes): from the guest's
// register (0 for XZR).
constexpr uint64_t store_data(const MmioAccess& access, uint64_t register_value, bool big_endian) {
  const uint64_t data = (access.reg == 31 ? 0 : register_value) & width_mask(access.width);
  return big_endian ? byte_reverse(data, access.width) : data;
}

// The register value a load leaves, from what the device returned (little-endian).
constexpr uint64_t load_result(const MmioAccess& access, uint64_t device_data, bool big_endian) {
  uint64_t data = device_data & width_mask(access.width);
  if (big_endian) data = byte_reverse(data, access.width);
  if (access.sign_extend && access.width < 8) {
    const uint64_t sign = uint64_t{1} << (access.width * 8 - 1);
    data = (data ^ sign) - sign;
  }
  return access.sixty_four ? data : data & 0xffffffffull;
}

// The same two for a simple access (simple_data_abort: 1, 2 or 4 bytes, no sign extension)
// of a little-endian guest: only the access's bytes move, and a load zero-extends them
// (a W destination's upper half is zero either way). The caller reads XZR as 0.
constexpr uint64_t simple_width_mask(unsigned width) { return (uint64_t{1} << ((width & 7) * 8)) - 1; }
constexpr uint64_t simple_store_data(uint64_t register_value, unsigned width) {
  return register_value & simple_width_mask(width);
}
constexpr uint64_t simple_load_result(uint64_t device_data, unsigned width) {
  return device_data & simple_width_mask(width);
}

}  // namespace bulkhead::vcpu
