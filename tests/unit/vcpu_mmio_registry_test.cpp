// The registry of emulated guest-physical regions (core/vcpu/mmio.hpp): what registration
// refuses (every overlap geometry, empty, wrapping, no device, no width, full) and names,
// the address order it keeps, find() at the edges, and check()'s width, alignment and
// region-end rules.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/vcpu/mmio.hpp"
#include "tests/unit/mmio_support.hpp"

using namespace bulkhead;
using vcpu::MmioRefusal;
using vcpu::MmioRegion;
using vcpu::MmioRegistry;
using vcpu::RegistrationError;
namespace widths = vcpu::widths;

namespace {

// The registry's regions, all of one device that answers everything.
MmioRegion region(const char* name, uint64_t base, uint64_t size, uint8_t allowed = widths::any, bool unaligned = false) {
  return test::null_device_region(name, base, size, allowed, unaligned);
}

vcpu::MmioAccess access(uint64_t address, uint8_t width) {
  vcpu::MmioAccess a;
  a.address = address;
  a.width = width;
  return a;
}

}  // namespace

TEST_CASE("mmio registry: every overlap geometry is refused and names the region it hits, adjacent is fine") {
  // The existing region: [0x1000, 0x2000).
  struct Case {
    const char* geometry;
    uint64_t base, size;
    bool overlaps;
  };
  const Case cases[] = {
      {"same range", 0x1000, 0x1000, true},
      {"same base, shorter", 0x1000, 0x10, true},
      {"same base, longer", 0x1000, 0x5000, true},
      {"containing it", 0x0800, 0x2000, true},
      {"contained in it", 0x1800, 0x10, true},
      {"its last byte only", 0x1fff, 0x1, true},
      {"its first byte only", 0x1000, 0x1, true},
      {"partial at its start", 0x0800, 0x0801, true},
      {"partial at its end", 0x1fff, 0x1000, true},
      {"adjacent below", 0x0000, 0x1000, false},
      {"adjacent above", 0x2000, 0x1000, false},
      {"one byte below", 0x0fff, 0x1, false},
      {"far away", 0x80000000, 0x1000, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.geometry);
    MmioRegistry registry;
    REQUIRE(registry.add(region("existing", 0x1000, 0x1000)) == RegistrationError::none);
    const MmioRegion* conflict = nullptr;
    const RegistrationError error = registry.add(region("new", c.base, c.size), &conflict);
    if (c.overlaps) {
      CHECK(error == RegistrationError::overlap);
      REQUIRE(conflict != nullptr);
      CHECK(std::string(conflict->name) == "existing");
      CHECK(registry.size() == 1);  // nothing was added
    } else {
      CHECK(error == RegistrationError::none);
      CHECK(conflict == nullptr);
      CHECK(registry.size() == 2);
    }
    // Without a place to name it, the refusal is the same.
    MmioRegistry again;
    REQUIRE(again.add(region("existing", 0x1000, 0x1000)) == RegistrationError::none);
    CHECK(again.add(region("new", c.base, c.size)) == (c.overlaps ? RegistrationError::overlap : RegistrationError::none));
  }
}

TEST_CASE("mmio registry: the conflict is the region actually hit, among several") {
  MmioRegistry registry;
  REQUIRE(registry.add(region("uart", 0x09000000, 0x1000)) == RegistrationError::none);
  REQUIRE(registry.add(region("gicd", 0x08000000, 0x10000)) == RegistrationError::none);
  REQUIRE(registry.add(region("gicr", 0x080a0000, 0x40000)) == RegistrationError::none);
  const MmioRegion* conflict = nullptr;
  CHECK(registry.add(region("ecam", 0x080b0000, 0x100), &conflict) == RegistrationError::overlap);
  REQUIRE(conflict != nullptr);
  CHECK(std::string(conflict->name) == "gicr");
  CHECK(registry.add(region("big", 0x08fff000, 0x2000), &conflict) == RegistrationError::overlap);
  REQUIRE(conflict != nullptr);
  CHECK(std::string(conflict->name) == "uart");
}

TEST_CASE("mmio registry: malformed regions are refused with their reason") {
  MmioRegistry registry;
  CHECK(registry.add(region("empty", 0x1000, 0)) == RegistrationError::empty);
  CHECK(registry.add(region("wraps", 0xfffffffffffff000ull, 0x2000)) == RegistrationError::wraps);
  CHECK(registry.add(region("wraps far", 0x8000000000000000ull, 0x8000000000001000ull)) == RegistrationError::wraps);
  MmioRegion orphan = region("orphan", 0x1000, 0x1000);
  orphan.device = nullptr;
  CHECK(registry.add(orphan) == RegistrationError::no_device);
  CHECK(registry.add(region("no widths", 0x1000, 0x1000, 0)) == RegistrationError::no_widths);
  CHECK(registry.add(region("only unknown width bits", 0x1000, 0x1000, 0xf0)) == RegistrationError::no_widths);
  CHECK(registry.size() == 0);
  // A region may end just below 2^64, and start at 0.
  CHECK(registry.add(region("below top", 0xffffffffffffe000ull, 0x1fff)) == RegistrationError::none);
  CHECK(registry.add(region("base 0", 0, 1)) == RegistrationError::none);
  CHECK(registry.size() == 2);

  struct Name {
    RegistrationError error;
    const char* text;
  };
  const Name names[] = {
      {RegistrationError::none, "none"},
      {RegistrationError::full, "registry full"},
      {RegistrationError::empty, "empty range"},
      {RegistrationError::wraps, "range wraps past the top of the address space"},
      {RegistrationError::no_device, "no device"},
      {RegistrationError::no_widths, "no access width allowed"},
      {RegistrationError::overlap, "overlaps another region"},
  };
  for (const Name& n : names) CHECK(std::string(vcpu::registration_error_name(n.error)) == n.text);
}

TEST_CASE("mmio registry: a region ending exactly at 2^64 is taken, found and checked without overflow") {
  // Its end (base + size) wraps to 0; its last byte does not, and everything works by last
  // bytes: registration, overlaps, find() and check().
  MmioRegistry registry;
  CHECK(registry.add(region("top", 0xfffffffffffff000ull, 0x1000)) == RegistrationError::none);
  const MmioRegion* conflict = nullptr;
  CHECK(registry.add(region("over its last byte", 0xffffffffffffff00ull, 0x100), &conflict) == RegistrationError::overlap);
  REQUIRE(conflict != nullptr);
  CHECK(std::string(conflict->name) == "top");
  CHECK(registry.add(region("over its first byte", 0xffffffffffffe800ull, 0x1000)) == RegistrationError::overlap);
  CHECK(registry.add(region("below it", 0xffffffffffffe000ull, 0x1000)) == RegistrationError::none);
  CHECK(registry.add(region("at 0", 0, 0x1000)) == RegistrationError::none);  // 2^64 wrapped: no overlap
  CHECK(registry.size() == 3);
  const MmioRegion* top = registry.find(0xffffffffffffffffull);
  REQUIRE(top != nullptr);
  CHECK(std::string(top->name) == "top");
  CHECK(std::string(registry.find(0xfffffffffffff000ull)->name) == "top");
  CHECK(std::string(registry.find(0xffffffffffffefffull)->name) == "below it");
  CHECK(std::string(registry.find(0)->name) == "at 0");
  CHECK(MmioRegistry::check(*top, access(0xfffffffffffffff8ull, 8)) == MmioRefusal::none);  // its last 8 bytes
  const MmioRegion unaligned_top = region("unaligned top", 0xfffffffffffff000ull, 0x1000, widths::any, true);
  CHECK(MmioRegistry::check(unaligned_top, access(0xffffffffffffffffull, 2)) == MmioRefusal::width);  // past 2^64
}

TEST_CASE("mmio registry: capacity, then full, and clear() empties it") {
  MmioRegistry registry;
  for (uint64_t i = 0; i < MmioRegistry::capacity; ++i) {
    CAPTURE(i);
    REQUIRE(registry.add(region("r", 0x10000 * (i + 1), 0x1000)) == RegistrationError::none);
  }
  CHECK(registry.size() == MmioRegistry::capacity);
  CHECK(registry.add(region("one more", 0x10000000, 0x1000)) == RegistrationError::full);
  // An overlapping one is named as the overlap, the more precise error.
  CHECK(registry.add(region("overlapping", 0x10000, 0x1000)) == RegistrationError::overlap);
  CHECK(registry.size() == MmioRegistry::capacity);
  CHECK(registry.find(0x10000000) == nullptr);
  registry.clear();
  CHECK(registry.size() == 0);
  CHECK(registry.find(0x10000) == nullptr);
  CHECK(registry.add(region("again", 0x10000, 0x1000)) == RegistrationError::none);
}

TEST_CASE("mmio registry: regions are kept in address order whatever the order they come in") {
  const uint64_t bases[] = {0x50000, 0x10000, 0x90000, 0x30000, 0x70000, 0x20000, 0x00000, 0xa0000};
  const char* names[] = {"e", "b", "g", "d", "f", "c", "a", "h"};
  MmioRegistry registry;
  for (size_t i = 0; i < 8; ++i) REQUIRE(registry.add(region(names[i], bases[i], 0x8000)) == RegistrationError::none);
  REQUIRE(registry.size() == 8);
  const char* sorted = "abcdefgh";
  for (size_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    CHECK(registry.at(i).name[0] == sorted[i]);
    if (i > 0) CHECK(registry.at(i - 1).base < registry.at(i).base);
  }
}

TEST_CASE("mmio registry: find() at a region's base, last byte, one past and one before") {
  MmioRegistry registry;
  REQUIRE(registry.add(region("low", 0x08000000, 0x10000)) == RegistrationError::none);
  REQUIRE(registry.add(region("next", 0x08010000, 0x20000)) == RegistrationError::none);  // adjacent
  REQUIRE(registry.add(region("high", 0x09000000, 0x1000)) == RegistrationError::none);
  struct Case {
    uint64_t address;
    const char* name;  // nullptr: none
  };
  const Case cases[] = {
      {0x07ffffff, nullptr},     {0x08000000, "low"},  {0x0800fff8, "low"},  {0x0800ffff, "low"},
      {0x08010000, "next"},      {0x0802ffff, "next"}, {0x08030000, nullptr}, {0x08ffffff, nullptr},
      {0x09000000, "high"},      {0x09000fff, "high"}, {0x09001000, nullptr}, {0, nullptr},
      {~uint64_t{0}, nullptr},
  };
  for (const Case& c : cases) {
    CAPTURE(c.address);
    const MmioRegion* found = registry.find(c.address);
    if (c.name == nullptr) {
      CHECK(found == nullptr);
    } else {
      REQUIRE(found != nullptr);
      CHECK(std::string(found->name) == c.name);
    }
  }
}

TEST_CASE("mmio registry: find() with a hint gives what find() gives, whatever the hint, and leaves the region's index") {
  MmioRegistry registry;
  REQUIRE(registry.add(region("low", 0x08000000, 0x10000)) == RegistrationError::none);
  REQUIRE(registry.add(region("next", 0x08010000, 0x20000)) == RegistrationError::none);
  REQUIRE(registry.add(region("high", 0x09000000, 0x1000)) == RegistrationError::none);
  const uint64_t addresses[] = {0x07ffffff, 0x08000000, 0x0800ffff, 0x08010000, 0x0802ffff,
                                0x08030000, 0x09000000, 0x09000fff, 0x09001000, ~uint64_t{0}};
  for (const uint64_t address : addresses) {
    for (uint8_t start = 0; start < 5; ++start) {  // 3 and 4: past the last region
      CAPTURE(address);
      CAPTURE(start);
      uint8_t hint = start;
      const MmioRegion* found = registry.find(address, hint);
      CHECK(found == registry.find(address));
      if (found != nullptr) {
        CHECK(&registry.at(hint) == found);
      } else {
        CHECK(hint == start);
      }
    }
  }
  // A hint left from before clear() never finds a region that is gone.
  uint8_t hint = 2;
  REQUIRE(registry.find(0x09000000, hint) != nullptr);
  registry.clear();
  REQUIRE(registry.add(region("only", 0x10000000, 0x1000)) == RegistrationError::none);
  CHECK(registry.find(0x09000000, hint) == nullptr);
  CHECK(std::string(registry.find(0x10000000, hint)->name) == "only");
  CHECK(hint == 0);
}

TEST_CASE("mmio registry: check() against every width mask") {
  const uint8_t masks[] = {widths::bytes_1, widths::bytes_2, widths::bytes_4, widths::bytes_8,
                           widths::bytes_1 | widths::bytes_4 | widths::bytes_8,  // the GIC's
                           widths::bytes_4, widths::any};
  for (const uint8_t mask : masks) {
    const MmioRegion r = region("r", 0x1000, 0x100, mask);
    for (const unsigned width : {1u, 2u, 4u, 8u}) {
      CAPTURE(unsigned{mask});
      CAPTURE(width);
      const bool allowed = (mask & width) != 0;
      CHECK(MmioRegistry::check(r, access(0x1000, static_cast<uint8_t>(width))) ==
            (allowed ? MmioRefusal::none : MmioRefusal::width));
      CHECK(widths::allows(mask, width) == allowed);
    }
    // Widths no load or store has (and 0: ISV = 0) are never allowed.
    for (const unsigned width : {0u, 3u, 5u, 6u, 7u, 16u}) {
      CAPTURE(width);
      CHECK_FALSE(widths::allows(widths::any, width));
      CHECK(MmioRegistry::check(region("any", 0x1000, 0x100), access(0x1000, static_cast<uint8_t>(width))) ==
            MmioRefusal::width);
    }
  }
}

TEST_CASE("mmio registry: check() alignment, and accesses straddling the region's end") {
  const MmioRegion aligned = region("aligned", 0x1000, 0x100);
  const MmioRegion unaligned = region("unaligned", 0x1000, 0x100, widths::any, true);
  struct Case {
    uint64_t address;
    uint8_t width;
    MmioRefusal aligned_region, unaligned_region;
  };
  const Case cases[] = {
      {0x1000, 8, MmioRefusal::none, MmioRefusal::none},
      {0x1004, 4, MmioRefusal::none, MmioRefusal::none},
      {0x1002, 2, MmioRefusal::none, MmioRefusal::none},
      {0x1003, 1, MmioRefusal::none, MmioRefusal::none},
      {0x1004, 8, MmioRefusal::alignment, MmioRefusal::none},
      {0x1001, 2, MmioRefusal::alignment, MmioRefusal::none},
      {0x1002, 4, MmioRefusal::alignment, MmioRefusal::none},
      {0x1007, 8, MmioRefusal::alignment, MmioRefusal::none},
      // The last bytes of the region.
      {0x10f8, 8, MmioRefusal::none, MmioRefusal::none},
      {0x10ff, 1, MmioRefusal::none, MmioRefusal::none},
      {0x10fc, 4, MmioRefusal::none, MmioRefusal::none},
      // Straddling the end: only an unaligned access can, and it is refused.
      {0x10fc, 8, MmioRefusal::alignment, MmioRefusal::width},
      {0x10ff, 2, MmioRefusal::alignment, MmioRefusal::width},
      {0x10fe, 4, MmioRefusal::alignment, MmioRefusal::width},
      {0x10f9, 8, MmioRefusal::alignment, MmioRefusal::width},
  };
  for (const Case& c : cases) {
    CAPTURE(c.address);
    CAPTURE(unsigned{c.width});
    CHECK(MmioRegistry::check(aligned, access(c.address, c.width)) == c.aligned_region);
    CHECK(MmioRegistry::check(unaligned, access(c.address, c.width)) == c.unaligned_region);
  }
  // A region whose size is no multiple of the width: an aligned access can straddle its end.
  const MmioRegion odd = region("odd", 0x2000, 6);
  CHECK(MmioRegistry::check(odd, access(0x2004, 2)) == MmioRefusal::none);
  CHECK(MmioRegistry::check(odd, access(0x2004, 4)) == MmioRefusal::width);
  CHECK(MmioRegistry::check(odd, access(0x2000, 8)) == MmioRefusal::width);
  // A disallowed width is named before a misalignment.
  CHECK(MmioRegistry::check(region("words", 0x1000, 0x100, widths::bytes_4), access(0x1001, 2)) == MmioRefusal::width);
}

TEST_CASE("mmio registry: accepts_simple() agrees with check() for 1-, 2- and 4-byte accesses") {
  for (unsigned mask = 1; mask <= widths::any; ++mask) {
    for (const bool unaligned : {false, true}) {
      const MmioRegion r = region("r", 0x1000, 0x0ffe, static_cast<uint8_t>(mask), unaligned);  // ends mid-dword
      for (uint64_t address = 0x1000; address < 0x1004; ++address) {
        for (const uint64_t at : {address, address + 0x0ff8}) {
          for (const uint8_t width : {uint8_t{1}, uint8_t{2}, uint8_t{4}}) {
            CAPTURE(mask);
            CAPTURE(unaligned);
            CAPTURE(at);
            CAPTURE(width);
            CHECK(MmioRegistry::accepts_simple(r, at, width) == (MmioRegistry::check(r, access(at, width)) == MmioRefusal::none));
          }
        }
      }
    }
  }
}

TEST_CASE("mmio registry: the fast path is taken for a simple little-endian access the region accepts, and only then") {
  constexpr uint64_t isv = uint64_t{1} << 24;
  constexpr uint64_t il32 = uint64_t{1} << 25;
  constexpr uint64_t data_abort_lower = (uint64_t{0x24} << 26) | il32;
  constexpr uint64_t translation_level3 = 0x07;
  constexpr uint64_t sas_4 = uint64_t{2} << 22;
  constexpr uint64_t sas_8 = uint64_t{3} << 22;
  constexpr uint64_t sse = uint64_t{1} << 21;
  constexpr uint64_t ee = uint64_t{1} << 25;
  constexpr uint64_t e0e = uint64_t{1} << 24;
  constexpr uint64_t sctlr_little = 0x30d00801;
  const MmioRegion gic = region("gicd", 0x08000000, 0x10000, widths::bytes_1 | widths::bytes_4 | widths::bytes_8);
  const arch::Esr ldr_w(data_abort_lower | isv | sas_4 | translation_level3);
  CHECK(vcpu::mmio_fast_path(&gic, ldr_w, sctlr_little, 0x08000004));
  // Not taken: no region, big-endian data at EL1 or EL0, a width the region refuses, a
  // misaligned access, an access past the region's end, 8 bytes, sign extension, ISV = 0.
  CHECK_FALSE(vcpu::mmio_fast_path(nullptr, ldr_w, sctlr_little, 0x08000004));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, ldr_w, sctlr_little | ee, 0x08000004));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, ldr_w, sctlr_little | e0e, 0x08000004));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, arch::Esr(data_abort_lower | isv | (uint64_t{1} << 22) | translation_level3),
                                   sctlr_little, 0x08000004));  // 2 bytes: not a GIC width
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, ldr_w, sctlr_little, 0x08000006));
  const MmioRegion short_region = region("short", 0x09000000, 0x6, widths::any);
  CHECK_FALSE(vcpu::mmio_fast_path(&short_region, ldr_w, sctlr_little, 0x09000004));
  CHECK(vcpu::mmio_fast_path(&short_region, ldr_w, sctlr_little, 0x09000000));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, arch::Esr(data_abort_lower | isv | sas_8 | translation_level3), sctlr_little,
                                   0x08000008));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, arch::Esr(data_abort_lower | isv | sas_4 | sse | translation_level3),
                                   sctlr_little, 0x08000004));
  CHECK_FALSE(vcpu::mmio_fast_path(&gic, arch::Esr(data_abort_lower | translation_level3), sctlr_little, 0x08000004));
}
