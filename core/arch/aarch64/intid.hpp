// GICv3 interrupt IDs: the ranges (SGI 0-15, PPI 16-31, SPI 32-1019, special 1020-1023,
// LPI from 8192) and the conversions device trees use (their "SPI n" and "PPI n" are
// INTIDs 32 + n and 16 + n). Every INTID computation goes through here.
// GICv3 architecture IHI 0069, 2.2. Portable.
#pragma once

#include <cstdint>

namespace bulkhead::arch {

class Intid {
 public:
  static constexpr uint32_t sgi_count = 16;
  static constexpr uint32_t first_ppi = 16;
  static constexpr uint32_t first_spi = 32;
  static constexpr uint32_t last_spi = 1019;
  static constexpr uint32_t first_special = 1020;
  static constexpr uint32_t spurious_value = 1023;  // the last special one
  static constexpr uint32_t first_reserved = 1024;  // 1024-8191: reserved (extended ranges aside)
  static constexpr uint32_t first_lpi = 8192;
  static constexpr uint32_t private_count = first_spi;  // SGIs + PPIs, banked per CPU

  constexpr Intid() = default;
  constexpr explicit Intid(uint32_t value) : value_(value) {}
  static constexpr Intid sgi(uint32_t n) { return Intid(n); }
  // A device tree's interrupt specifier number: GIC_PPI n / GIC_SPI n.
  static constexpr Intid from_dt_ppi(uint32_t n) { return Intid(first_ppi + n); }
  static constexpr Intid from_dt_spi(uint32_t n) { return Intid(first_spi + n); }
  static constexpr Intid spurious() { return Intid(spurious_value); }

  constexpr uint32_t value() const { return value_; }
  constexpr bool is_sgi() const { return value_ < first_ppi; }
  constexpr bool is_ppi() const { return value_ >= first_ppi && value_ < first_spi; }
  constexpr bool is_private() const { return value_ < first_spi; }
  constexpr bool is_spi() const { return value_ >= first_spi && value_ <= last_spi; }
  constexpr bool is_special() const { return value_ >= first_special && value_ <= spurious_value; }
  constexpr bool is_lpi() const { return value_ >= first_lpi; }
  // The device-tree number back: SPI n / PPI n.
  constexpr uint32_t dt_spi() const { return value_ - first_spi; }
  constexpr uint32_t dt_ppi() const { return value_ - first_ppi; }
  // Registers with one bit per interrupt: which 32-bit word, and which bit in it.
  constexpr uint32_t word() const { return value_ / 32; }
  constexpr uint32_t bit() const { return uint32_t{1} << (value_ % 32); }

  constexpr bool operator==(const Intid&) const = default;

 private:
  uint32_t value_ = 0;
};

}  // namespace bulkhead::arch
