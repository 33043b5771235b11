// Exceptions the hypervisor delivers to a guest (core/vcpu/guest_exception.hpp): the ESR_EL1
// the guest reads, the VBAR_EL1 offset it enters at and the PSTATE it runs with, as the
// architecture would have taken them at EL1 (Arm ARM D1.10.2, D17.2.37).
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>

#include "core/vcpu/guest_exception.hpp"

using namespace bulkhead;
using vcpu::InjectedKind;

namespace {
constexpr uint64_t ec(uint64_t value) { return value << 26; }
constexpr uint64_t il32 = uint64_t{1} << 25;
constexpr uint64_t wnr = uint64_t{1} << 6;
constexpr uint64_t synchronous_external = 0x10;
}  // namespace

TEST_CASE("guest exception: vector offset and exception class from where the guest was") {
  struct Case {
    const char* where;
    uint64_t spsr;
    uint64_t offset;         // VBAR_EL1 + this: the synchronous entry of the right group
    uint64_t data_abort;     // EC: same EL (0x25) from EL1, lower EL (0x24) from EL0
    uint64_t instruction_abort;
  };
  const Case cases[] = {
      {"EL1t", 0x3c4, 0x000, 0x25, 0x21},
      {"EL1t, unmasked", 0x004, 0x000, 0x25, 0x21},
      {"EL1h", 0x3c5, 0x200, 0x25, 0x21},
      {"EL1h, unmasked, NZCV set", 0xf0000005, 0x200, 0x25, 0x21},
      {"EL0 AArch64", 0x000, 0x400, 0x24, 0x20},
      {"EL0 AArch64, IRQs masked", 0x080, 0x400, 0x24, 0x20},
      {"EL0 AArch32 User", 0x010, 0x600, 0x24, 0x20},
      {"EL0 AArch32 User, Thumb", 0x030, 0x600, 0x24, 0x20},
  };
  for (const Case& c : cases) {
    CAPTURE(c.where);
    for (const bool write : {false, true}) {
      CAPTURE(write);
      const vcpu::InjectedException data = vcpu::make_guest_exception(InjectedKind::data_abort, c.spsr, write);
      CHECK(data.vector_offset == c.offset);
      // ISV = 0, IL = 1 (RES1 then), DFSC = synchronous external abort, WnR as the access.
      CHECK(data.esr == (ec(c.data_abort) | il32 | synchronous_external | (write ? wnr : 0)));
      CHECK(data.far_valid);
      CHECK(data.spsr == 0x3c5);  // EL1h with D, A, I, F masked

      const vcpu::InjectedException fetch = vcpu::make_guest_exception(InjectedKind::instruction_abort, c.spsr, write);
      CHECK(fetch.vector_offset == c.offset);
      CHECK(fetch.esr == (ec(c.instruction_abort) | il32 | synchronous_external));  // no WnR in an IFSC
      CHECK(fetch.far_valid);
      CHECK(fetch.spsr == 0x3c5);

      const vcpu::InjectedException undefined = vcpu::make_guest_exception(InjectedKind::undefined_instruction, c.spsr, write);
      CHECK(undefined.vector_offset == c.offset);
      CHECK(undefined.esr == il32);  // EC 0x00 "unknown reason", IL = 1, ISS 0
      CHECK_FALSE(undefined.far_valid);
      CHECK(undefined.spsr == 0x3c5);
    }
  }
}

TEST_CASE("guest exception: the well-known syndromes") {
  // What the probe guest checks: "EC 0x25, DFSC 0x10" from EL1h.
  CHECK(vcpu::make_guest_exception(InjectedKind::data_abort, 0x3c5, false).esr == 0x96000010);
  CHECK(vcpu::make_guest_exception(InjectedKind::data_abort, 0x3c5, true).esr == 0x96000050);
  CHECK(vcpu::make_guest_exception(InjectedKind::instruction_abort, 0x3c5, false).esr == 0x86000010);
  CHECK(vcpu::make_guest_exception(InjectedKind::data_abort, 0x000, true).esr == 0x92000050);
  CHECK(vcpu::make_guest_exception(InjectedKind::instruction_abort, 0x010, false).esr == 0x82000010);
  CHECK(vcpu::make_guest_exception(InjectedKind::undefined_instruction, 0x3c5, false).esr == 0x02000000);
}
