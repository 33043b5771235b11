#include "core/vcpu/mmio.hpp"

namespace bulkhead::vcpu {

const char* registration_error_name(RegistrationError error) {
  switch (error) {
    case RegistrationError::none: return "none";
    case RegistrationError::full: return "registry full";
    case RegistrationError::empty: return "empty range";
    case RegistrationError::wraps: return "range wraps past the top of the address space";
    case RegistrationError::no_device: return "no device";
    case RegistrationError::no_widths: return "no access width allowed";
    case RegistrationError::overlap: return "overlaps another region";
    case RegistrationError::two_devices: return "both a device and direct handlers";
    case RegistrationError::direct_width: return "direct handlers take at most 4 bytes";
  }
  return "unknown";
}

namespace {

// The widths (1, 2, 4) whose aligned accesses the region takes whole: an access of 1, 2
// or 4 bytes aligned to its width inside a region whose base and size are multiples of 4
// ends inside it too.
uint8_t whole_widths(const MmioRegion& region) {
  constexpr uint64_t word = 4;
  if (region.unaligned || region.base % word != 0 || region.size % word != 0) return 0;
  return region.widths & (widths::bytes_1 | widths::bytes_2 | widths::bytes_4);
}

// MmioRegion::fast_accesses by whole widths (a mask of 1, 2 and 4): every aligned address
// of each width. A table, as partition starts register their regions on the boot's clock.
constexpr uint16_t fast_accesses_of_width(unsigned size_log2) {
  uint16_t bits = 0;
  for (unsigned low = 0; low < 4; low += 1u << size_log2) bits |= static_cast<uint16_t>(1u << fast_access_index(size_log2, low));
  return bits;
}
constexpr uint16_t fast_accesses_of_widths(unsigned whole) {
  uint16_t bits = 0;
  for (unsigned size_log2 = 0; size_log2 < 3; ++size_log2) {
    if (((whole >> size_log2) & 1) != 0) bits |= fast_accesses_of_width(size_log2);
  }
  return bits;
}
constexpr uint16_t fast_accesses_by_whole[8] = {
    fast_accesses_of_widths(0), fast_accesses_of_widths(1), fast_accesses_of_widths(2), fast_accesses_of_widths(3),
    fast_accesses_of_widths(4), fast_accesses_of_widths(5), fast_accesses_of_widths(6), fast_accesses_of_widths(7)};

}  // namespace

RegistrationError MmioRegistry::add(const MmioRegion& region, const MmioRegion** conflict) {
  if (region.size == 0) return RegistrationError::empty;
  // By last bytes: a region may end at the top of the address space (base + size = 2^64
  // wraps to 0, the last byte does not).
  const uint64_t last = region.base + (region.size - 1);
  if (last < region.base) return RegistrationError::wraps;
  const bool direct = region.direct.read != nullptr && region.direct.write != nullptr;
  const bool any_direct = region.direct.read != nullptr || region.direct.write != nullptr;
  if (region.device != nullptr && any_direct) return RegistrationError::two_devices;
  if (region.device == nullptr && !direct) return RegistrationError::no_device;
  if ((region.widths & widths::any) == 0) return RegistrationError::no_widths;
  if (direct && (region.widths & widths::bytes_8) != 0) return RegistrationError::direct_width;
  size_t position = count_;
  for (size_t i = 0; i < count_; ++i) {
    const MmioRegion& other = regions_[i];
    // Two ranges overlap when each starts at or before the other's last byte.
    if (region.base <= other.base + (other.size - 1) && other.base <= last) {
      if (conflict != nullptr) *conflict = &other;
      return RegistrationError::overlap;
    }
    if (position == count_ && region.base < other.base) position = i;
  }
  if (count_ == capacity) return RegistrationError::full;
  // Kept in address order: reports and tests see them as the guest's map.
  for (size_t i = count_; i > position; --i) regions_[i] = regions_[i - 1];
  regions_[position] = region;
  regions_[position].fast_accesses = fast_accesses_by_whole[whole_widths(region) & 7];
  ++count_;
  return RegistrationError::none;
}

}  // namespace bulkhead::vcpu
