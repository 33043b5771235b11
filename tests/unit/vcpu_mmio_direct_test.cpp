// What the MMIO registry vouches for on the trap path (core/vcpu/mmio.hpp): regions served
// by direct handlers (registration rules, direct_access), fast_accesses (the fast path
// checks width and alignment in one bit test, with the same verdict as the full test)
// and hinted() (any hint is a region, an empty one past the last).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/vcpu/mmio.hpp"
#include "tests/unit/mmio_support.hpp"

using namespace bulkhead;
using vcpu::MmioDirectRead;
using vcpu::MmioRegion;
using vcpu::MmioRegistry;
using vcpu::MmioResult;
using vcpu::RegistrationError;
namespace widths = vcpu::widths;

namespace {

// A direct device that records its last call.
struct Recorder {
  uint64_t offset = 0;
  unsigned width = 0;
  uint64_t written = 0;
  bool wrote = false;
  MmioResult result = MmioResult::handled;
  vcpu::MmioLock lock = vcpu::MmioLock::not_held;
};
MmioDirectRead recorded_read(void* context, uint64_t offset, unsigned width, vcpu::MmioLock lock) {
  auto& r = *static_cast<Recorder*>(context);
  r.lock = lock;
  r.offset = offset;
  r.width = width;
  r.wrote = false;
  if (r.result != MmioResult::handled) return MmioDirectRead::not_handled(r.result, 0x77);
  return MmioDirectRead::handled(0xa5a5u & ((1u << (8 * width)) - 1));
}
MmioResult recorded_write(void* context, uint64_t offset, unsigned width, uint64_t value, vcpu::MmioLock lock) {
  auto& r = *static_cast<Recorder*>(context);
  r.lock = lock;
  r.offset = offset;
  r.width = width;
  r.written = value;
  r.wrote = true;
  return r.result;
}

MmioRegion direct_region(const char* name, uint64_t base, uint64_t size, Recorder& recorder,
                         uint8_t allowed = widths::bytes_1 | widths::bytes_2 | widths::bytes_4) {
  MmioRegion r;
  r.name = name;
  r.base = base;
  r.size = size;
  r.widths = allowed;
  r.direct = {recorded_read, recorded_write, &recorder};
  return r;
}

MmioRegion device_region(const char* name, uint64_t base, uint64_t size, uint8_t allowed = widths::any,
                         bool unaligned = false) {
  return test::null_device_region(name, base, size, allowed, unaligned);
}

constexpr uint64_t isv = uint64_t{1} << 24;
constexpr uint64_t il32 = uint64_t{1} << 25;
constexpr uint64_t data_abort_lower = (uint64_t{0x24} << 26) | il32;
constexpr uint64_t translation_level3 = 0x07;
constexpr uint64_t sctlr_little = 0x30d00801;
arch::Esr simple_access(unsigned sas) { return arch::Esr(data_abort_lower | isv | uint64_t{sas} << 22 | translation_level3); }

}  // namespace

TEST_CASE("mmio direct: a region takes a device or direct handlers, never both, and at most 4 bytes direct") {
  Recorder recorder;
  MmioRegistry registry;
  MmioRegion both = direct_region("both", 0x1000, 0x1000, recorder);
  both.device = &test::null_mmio_device;
  CHECK(registry.add(both) == RegistrationError::two_devices);
  MmioRegion half = direct_region("half", 0x1000, 0x1000, recorder);
  half.direct.write = nullptr;
  CHECK(registry.add(half) == RegistrationError::no_device);
  MmioRegion other_half = direct_region("other half", 0x1000, 0x1000, recorder);
  other_half.direct.read = nullptr;
  CHECK(registry.add(other_half) == RegistrationError::no_device);
  CHECK(registry.add(direct_region("eight", 0x1000, 0x1000, recorder, widths::any)) == RegistrationError::direct_width);
  CHECK(registry.size() == 0);
  CHECK(registry.add(direct_region("ecam", 0x1000, 0x1000, recorder)) == RegistrationError::none);
  CHECK(std::string(vcpu::registration_error_name(RegistrationError::two_devices)) == "both a device and direct handlers");
  CHECK(std::string(vcpu::registration_error_name(RegistrationError::direct_width)) ==
        "direct handlers take at most 4 bytes");
}

TEST_CASE("mmio direct: direct_access() makes the device interface's request of the handlers") {
  Recorder recorder;
  const MmioRegion region = direct_region("ecam", 0x3f000000, 0x1000000, recorder);
  vcpu::MmioRequest read;
  read.offset = 0x18002;
  read.width = 2;
  CHECK(vcpu::direct_access(region, read) == MmioResult::handled);
  CHECK(read.value == 0xa5a5);
  CHECK(recorder.offset == 0x18002);
  CHECK(recorder.width == 2);
  CHECK(recorder.lock == vcpu::MmioLock::held);  // direct_access serves the locked paths
  CHECK_FALSE(recorder.wrote);
  vcpu::MmioRequest write;
  write.offset = 0x1803c;
  write.width = 1;
  write.write = true;
  write.value = 0x2a;
  recorder.result = MmioResult::refused;
  CHECK(vcpu::direct_access(region, write) == MmioResult::refused);
  CHECK(recorder.wrote);
  CHECK(recorder.written == 0x2a);
  CHECK(recorder.lock == vcpu::MmioLock::held);
  recorder.result = MmioResult::unhandled;
  CHECK(vcpu::direct_access(region, read) == MmioResult::unhandled);
  CHECK(read.value == 0x77);
  // The answer's two halves, packed in one register.
  CHECK(MmioDirectRead::handled(0xffffffffu).value() == 0xffffffffu);
  CHECK(MmioDirectRead::handled(0xffffffffu).result() == MmioResult::handled);
  CHECK(MmioDirectRead::handled(0xffffffffu).is_handled());
  CHECK(MmioDirectRead::handled(0xffffffffu).register_value() == 0xffffffffu);  // zero-extended, as the guest gets it
  CHECK(MmioDirectRead::not_handled(MmioResult::refused).result() == MmioResult::refused);
  CHECK(MmioDirectRead::not_handled(MmioResult::refused).value() == 0);
  CHECK_FALSE(MmioDirectRead::not_handled(MmioResult::refused).is_handled());
  CHECK_FALSE(MmioDirectRead::not_handled(MmioResult::unhandled, 0xffffffffu).is_handled());
  CHECK(MmioDirectRead::not_handled(MmioResult::unhandled, 0xffffffffu).result() == MmioResult::unhandled);
  CHECK(MmioDirectRead::not_handled(MmioResult::unhandled, 0xffffffffu).value() == 0xffffffffu);
}

TEST_CASE("mmio direct: fast_accesses is set by add() for regions of whole words only, whatever the caller gave") {
  struct Case {
    uint64_t base;
    uint64_t size;
    uint8_t allowed;
    bool unaligned;
    uint16_t fast;  // bit 4 * log2(width) + (address & 3)
  };
  const Case cases[] = {
      // Bytes at any address (bits 0-3), halfwords at 0 and 2 (4, 6), words at 0 (8).
      {0x08000000, 0x10000, widths::any, false, 0x15f},
      {0x08000000, 0x10000, widths::bytes_4 | widths::bytes_8, false, 0x100},  // words only
      {0x08000000, 0x10000, widths::bytes_2, false, 0x50},                    // halfwords only
      {0x09000000, 0x6, widths::any, false, 0},  // ends mid-word
      {0x09000002, 0x8, widths::any, false, 0},  // starts mid-word
      {0x09000000, 0x1000, widths::any, true, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.base);
    CAPTURE(c.size);
    MmioRegistry registry;
    MmioRegion region = device_region("r", c.base, c.size, c.allowed, c.unaligned);
    region.fast_accesses = 0xffff;  // not the caller's to set
    REQUIRE(registry.add(region) == RegistrationError::none);
    CHECK(registry.at(0).fast_accesses == c.fast);
  }
}

TEST_CASE("mmio direct: on registered regions the fast path gives the full test's verdict") {
  MmioRegistry registry;
  REQUIRE(registry.add(device_region("words", 0x1000, 0x100, widths::bytes_1 | widths::bytes_4 | widths::bytes_8)) ==
          RegistrationError::none);
  REQUIRE(registry.add(device_region("odd", 0x2000, 0x6)) == RegistrationError::none);
  REQUIRE(registry.add(device_region("loose", 0x3000, 0x100, widths::any, true)) == RegistrationError::none);
  for (size_t i = 0; i < registry.size(); ++i) {
    const MmioRegion& region = registry.at(i);
    for (uint64_t address = region.base; address < region.base + region.size; ++address) {
      for (unsigned sas = 0; sas < 4; ++sas) {
        const arch::Esr esr = simple_access(sas);
        CAPTURE(region.name);
        CAPTURE(address);
        CAPTURE(sas);
        const bool full = vcpu::simple_data_abort(esr) && MmioRegistry::accepts_simple(region, address, esr.access_size());
        CHECK(vcpu::mmio_fast_path(&region, esr, sctlr_little, address) == full);
      }
    }
  }
}

TEST_CASE("mmio direct: any hint names a region, past the last and after clear() an empty one") {
  MmioRegistry registry;
  for (unsigned hint = 0; hint < 256; ++hint) CHECK_FALSE(registry.hinted(static_cast<uint8_t>(hint)).contains(0));
  REQUIRE(registry.add(device_region("a", 0x1000, 0x1000)) == RegistrationError::none);
  REQUIRE(registry.add(device_region("b", 0x3000, 0x1000)) == RegistrationError::none);
  CHECK(registry.hinted(1).contains(0x3000));
  CHECK(&registry.hinted(MmioRegistry::capacity + 1) == &registry.at(1));  // the hint is masked, never out of bounds
  for (unsigned hint = 2; hint < MmioRegistry::capacity; ++hint) {
    CHECK_FALSE(registry.hinted(static_cast<uint8_t>(hint)).contains(0));
    CHECK_FALSE(registry.hinted(static_cast<uint8_t>(hint)).contains(0x3000));
  }
  uint8_t hint = 7;
  CHECK(registry.find(0x3004, hint) == &registry.at(1));
  CHECK(hint == 1);
  registry.clear();
  CHECK_FALSE(registry.hinted(hint).contains(0x3004));
  CHECK(registry.find(0x3004, hint) == nullptr);
}
