// Moving data between a guest register and an emulated device (core/vcpu/register_access.hpp)
// as the architecture defines a load or store: only the access's bytes, LDRS* sign
// extension, W destinations zeroing the upper half, XZR, and big-endian data accesses.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <cstring>

#include "core/vcpu/register_access.hpp"

using namespace bulkhead::vcpu;

namespace {

MmioAccess access(uint8_t width, bool sign_extend, bool sixty_four, uint8_t reg = 1) {
  MmioAccess a;
  a.address = 0x09000000;
  a.width = width;
  a.sign_extend = sign_extend;
  a.sixty_four = sixty_four;
  a.reg = reg;
  return a;
}

// What a device whose registers are memory sees at offsets 0..width-1 (little-endian bus).
void device_bytes(uint64_t device_value, unsigned width, uint8_t* bytes) {
  for (unsigned i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(device_value >> (8 * i));
}

}  // namespace

TEST_CASE("register access: loads of every width, with and without sign extension, into W and X") {
  struct Case {
    const char* instruction;
    uint8_t width;
    bool sign_extend;
    bool sixty_four;
    uint64_t device;  // what the device returned (bits above the width are garbage)
    uint64_t result;
  };
  const Case cases[] = {
      {"ldrb w", 1, false, false, 0xffffffffffffff80ull, 0x80},
      {"ldrb w (positive)", 1, false, false, 0x123456789abcde7full, 0x7f},
      {"ldrsb w", 1, true, false, 0xffffffffffffff80ull, 0xffffff80},
      {"ldrsb w (positive)", 1, true, false, 0xaaaaaaaaaaaaaa7full, 0x7f},
      {"ldrsb x", 1, true, true, 0x0000000000000080ull, 0xffffffffffffff80ull},
      {"ldrsb x (positive)", 1, true, true, 0xffffffffffffff7full, 0x7f},
      {"ldrh w", 2, false, false, 0xffffffffffff8001ull, 0x8001},
      {"ldrsh w", 2, true, false, 0x0000000000008001ull, 0xffff8001},
      {"ldrsh w (positive)", 2, true, false, 0xffffffffffff7001ull, 0x7001},
      {"ldrsh x", 2, true, true, 0x0000000000008001ull, 0xffffffffffff8001ull},
      {"ldr w", 4, false, false, 0xdeadbeef80000001ull, 0x80000001},
      {"ldrsw x", 4, true, true, 0x0000000080000001ull, 0xffffffff80000001ull},
      {"ldrsw x (positive)", 4, true, true, 0xffffffff70000001ull, 0x70000001},
      {"ldr x", 8, false, true, 0x8877665544332211ull, 0x8877665544332211ull},
      {"ldr x (top bit)", 8, false, true, 0xffffffffffffffffull, 0xffffffffffffffffull},
  };
  for (const Case& c : cases) {
    CAPTURE(c.instruction);
    CHECK(load_result(access(c.width, c.sign_extend, c.sixty_four), c.device, false) == c.result);
  }
}

TEST_CASE("register access: a W destination never keeps bits above 31") {
  for (const uint8_t width : {uint8_t{1}, uint8_t{2}, uint8_t{4}}) {
    for (const bool sign : {false, true}) {
      CAPTURE(width);
      CAPTURE(sign);
      CHECK((load_result(access(width, sign, false), ~uint64_t{0}, false) >> 32) == 0);
      CHECK((load_result(access(width, sign, false), ~uint64_t{0}, true) >> 32) == 0);
    }
  }
}

TEST_CASE("register access: stores hand the device only the access's bytes, XZR stores zero") {
  const uint64_t x = 0x1122334455667788ull;
  struct Case {
    uint8_t width;
    uint64_t little, big;
  };
  const Case cases[] = {
      {1, 0x88, 0x88},
      {2, 0x7788, 0x8877},
      {4, 0x55667788, 0x88776655},
      {8, 0x1122334455667788ull, 0x8877665544332211ull},
  };
  for (const Case& c : cases) {
    CAPTURE(c.width);
    CHECK(store_data(access(c.width, false, c.width == 8, 2), x, false) == c.little);
    CHECK(store_data(access(c.width, false, c.width == 8, 2), x, true) == c.big);
    // STR xzr / STRB wzr: register 31 is the zero register, whatever frame.x[31] holds.
    CHECK(store_data(access(c.width, false, c.width == 8, 31), ~uint64_t{0}, false) == 0);
    CHECK(store_data(access(c.width, false, c.width == 8, 31), ~uint64_t{0}, true) == 0);
    // Register 30 is a real register, not the zero register.
    CHECK(store_data(access(c.width, false, c.width == 8, 30), x, false) == c.little);
  }
}

TEST_CASE("register access: big-endian loads reverse the bytes of every width, then sign-extend") {
  struct Case {
    uint8_t width;
    bool sign_extend;
    bool sixty_four;
    uint64_t device;
    uint64_t result;
  };
  const Case cases[] = {
      {1, false, false, 0xab, 0xab},
      {1, true, true, 0x80, 0xffffffffffffff80ull},
      {2, false, false, 0x1234, 0x3412},
      {2, true, false, 0x0080, 0xffff8000},  // bytes 80 00 at offsets 1, 0: the value 0x8000
      {2, true, true, 0x0080, 0xffffffffffff8000ull},
      {2, true, false, 0x0070, 0x7000},
      {4, false, false, 0x11223344, 0x44332211},
      {4, true, true, 0x00000080, 0xffffffff80000000ull},
      {8, false, true, 0x0102030405060708ull, 0x0807060504030201ull},
      // Garbage above the width is dropped before the reversal.
      {2, false, false, 0xffffffffffff1234ull, 0x3412},
      {4, false, false, 0xffffffff11223344ull, 0x44332211},
  };
  for (const Case& c : cases) {
    CAPTURE(c.width);
    CAPTURE(c.device);
    CHECK(load_result(access(c.width, c.sign_extend, c.sixty_four), c.device, true) == c.result);
  }
}

TEST_CASE("register access: big-endian data puts the most significant byte at the lowest address") {
  const uint64_t value = 0x0102030405060708ull;
  for (const uint8_t width : {uint8_t{1}, uint8_t{2}, uint8_t{4}, uint8_t{8}}) {
    CAPTURE(width);
    uint8_t little[8] = {};
    uint8_t big[8] = {};
    device_bytes(store_data(access(width, false, width == 8), value, false), width, little);
    device_bytes(store_data(access(width, false, width == 8), value, true), width, big);
    for (unsigned i = 0; i < width; ++i) {
      CHECK(little[i] == static_cast<uint8_t>(value >> (8 * i)));
      CHECK(big[i] == static_cast<uint8_t>(value >> (8 * (width - 1 - i))));
    }
  }
}

TEST_CASE("register access: store then load round-trips in both endiannesses") {
  const uint64_t values[] = {0, 1, 0x80, 0x7f, 0x8000, 0xffff, 0x80000000, 0x12345678, 0xfedcba9876543210ull, ~uint64_t{0}};
  for (const bool big_endian : {false, true}) {
    for (const uint8_t width : {uint8_t{1}, uint8_t{2}, uint8_t{4}, uint8_t{8}}) {
      const uint64_t mask = width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
      for (const uint64_t value : values) {
        CAPTURE(big_endian);
        CAPTURE(width);
        CAPTURE(value);
        const bool x = width == 8;
        // The device stores the bytes it was given and returns them, with garbage above.
        const uint64_t stored = store_data(access(width, false, x), value, big_endian);
        CHECK((stored & ~mask) == 0);
        const uint64_t returned = stored | ~mask;
        CHECK(load_result(access(width, false, x), returned, big_endian) == (value & mask));
        // Sign-extending: the value's sign bit (in the guest's view) fills the register.
        if (width < 8) {
          const uint64_t sign = uint64_t{1} << (8 * width - 1);
          const uint64_t extended = (value & sign) != 0 ? (value | ~mask) : (value & mask);
          CHECK(load_result(access(width, true, true), returned, big_endian) == extended);
          CHECK(load_result(access(width, true, false), returned, big_endian) == (extended & 0xffffffffull));
        }
      }
    }
  }
}

TEST_CASE("register access: width masks and byte reversal") {
  CHECK(width_mask(1) == 0xff);
  CHECK(width_mask(2) == 0xffff);
  CHECK(width_mask(4) == 0xffffffffull);
  CHECK(width_mask(8) == ~uint64_t{0});
  CHECK(byte_reverse(0xab, 1) == 0xab);
  CHECK(byte_reverse(0x0102, 2) == 0x0201);
  CHECK(byte_reverse(0x01020304, 4) == 0x04030201);
  CHECK(byte_reverse(0x0102030405060708ull, 8) == 0x0807060504030201ull);
  for (const unsigned width : {1u, 2u, 4u, 8u}) {
    const uint64_t value = 0x8899aabbccddeeffull & width_mask(width);
    CHECK(byte_reverse(byte_reverse(value, width), width) == value);
  }
}

TEST_CASE("register access: the fast path's simple moves equal the general ones for little-endian, zero-extending accesses") {
  const uint64_t values[] = {0, 0x80, 0xff, 0x8001, 0xdeadbeef80000001ull, 0xffffffffffffffffull, 0x123456789abcdef0ull};
  for (const uint8_t width : {uint8_t{1}, uint8_t{2}, uint8_t{4}}) {
    for (const bool sixty_four : {false, true}) {
      for (const uint64_t value : values) {
        CAPTURE(width);
        CAPTURE(sixty_four);
        CAPTURE(value);
        const MmioAccess a = access(width, false, sixty_four);
        CHECK(simple_store_data(value, width) == store_data(a, value, false));
        CHECK(simple_load_result(value, width) == load_result(a, value, false));
      }
    }
  }
  // XZR: the caller reads it as 0, as store_data does.
  CHECK(simple_store_data(0, 4) == store_data(access(4, false, false, 31), 0x1234, false));
}
