// The exit decoder (core/vcpu/exit.hpp) against syndromes encoded by hand from the Arm ARM
// layouts (D17.2.37 ESR_ELx, the data-abort and MSR/MRS ISS, D17.2.62 HPFAR_EL2). The field
// positions below are this test's own, not the ones in core/arch/aarch64/esr.hpp, so a
// wrong constant there shows up here.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/arch/aarch64/esr.hpp"
#include "core/vcpu/exit.hpp"

using namespace bulkhead;
using arch::ExceptionClass;
using vcpu::ExitKind;
using vcpu::MmioRefusal;

namespace {

// ESR_ELx: EC [31:26], IL [25], ISS [24:0].
constexpr uint64_t ec(uint64_t exception_class) { return exception_class << 26; }
constexpr uint64_t il32 = uint64_t{1} << 25;
// Data abort ISS.
constexpr uint64_t isv = uint64_t{1} << 24;
constexpr uint64_t sas(uint64_t size_log2) { return size_log2 << 22; }
constexpr uint64_t sse = uint64_t{1} << 21;
constexpr uint64_t srt(uint64_t reg) { return reg << 16; }
constexpr uint64_t sf = uint64_t{1} << 15;
constexpr uint64_t ar = uint64_t{1} << 14;
constexpr uint64_t fnv = uint64_t{1} << 10;
constexpr uint64_t ea = uint64_t{1} << 9;
constexpr uint64_t cm = uint64_t{1} << 8;
constexpr uint64_t s1ptw = uint64_t{1} << 7;
constexpr uint64_t wnr = uint64_t{1} << 6;
constexpr uint64_t translation_level3 = 0x07;
constexpr uint64_t data_abort_lower = ec(0x24) | il32;
// MSR/MRS ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], Direction [0].
constexpr uint64_t sysreg_iss(uint64_t op0, uint64_t op1, uint64_t crn, uint64_t crm, uint64_t op2, uint64_t rt, bool read) {
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (read ? 1 : 0);
}

// A page of the distributor: IPA 0x08000000, and a guest VA whose page offset is 0x004.
constexpr uint64_t gicd_hpfar = (uint64_t{0x08000000} >> 12) << 4;
constexpr uint64_t guest_va = 0xffff800008000004ull;

}  // namespace

TEST_CASE("exit decode: exit kinds of the exception classes the engine handles, the rest unexpected") {
  struct Case {
    uint64_t ec;
    ExitKind kind;
  };
  const Case cases[] = {
      {0x16, ExitKind::hypercall},            // HVC (AArch64)
      {0x17, ExitKind::secure_monitor_call},  // trapped SMC (AArch64)
      {0x24, ExitKind::mmio},                 // data abort from a lower EL
      {0x20, ExitKind::instruction_fetch},    // instruction abort from a lower EL
      {0x18, ExitKind::system_register},      // trapped MSR/MRS
      // A sample of the others: none may be mistaken for one handled.
      {0x00, ExitKind::unexpected},  // unknown reason
      {0x01, ExitKind::unexpected},  // WFI/WFE
      {0x07, ExitKind::unexpected},  // FP/SIMD access
      {0x0e, ExitKind::unexpected},  // illegal execution state
      {0x12, ExitKind::unexpected},  // HVC from AArch32
      {0x13, ExitKind::unexpected},  // SMC from AArch32
      {0x15, ExitKind::unexpected},  // SVC (never routed to EL2)
      {0x19, ExitKind::unexpected},  // SVE access (not in the enum)
      {0x21, ExitKind::unexpected},  // instruction abort at EL2 itself
      {0x22, ExitKind::unexpected},  // PC alignment
      {0x25, ExitKind::unexpected},  // data abort at EL2 itself
      {0x26, ExitKind::unexpected},  // SP alignment
      {0x2c, ExitKind::unexpected},  // FP exception
      {0x2f, ExitKind::unexpected},  // SError
      {0x30, ExitKind::unexpected},  // breakpoint
      {0x32, ExitKind::unexpected},  // software step
      {0x34, ExitKind::unexpected},  // watchpoint
      {0x3c, ExitKind::unexpected},  // BRK
      {0x3f, ExitKind::unexpected},  // reserved
  };
  for (const Case& c : cases) {
    CAPTURE(c.ec);
    const uint64_t esr = ec(c.ec) | il32 | translation_level3 | isv;
    CHECK(vcpu::exit_kind(arch::Esr(esr)) == c.kind);
    const vcpu::Exit exit = vcpu::decode_exit(esr, guest_va, gicd_hpfar);
    CHECK(static_cast<uint64_t>(exit.exception_class) == c.ec);
    CHECK(exit.kind == c.kind);
  }
}

TEST_CASE("exit decode: HVC and SMC carry the class, the immediate and the instruction length") {
  // HVC #0x1234 and SMC #0 as an AArch64 guest executes them (IL = 1).
  const vcpu::Exit hvc = vcpu::decode_exit(0x5a001234, 0, 0);
  CHECK(hvc.kind == ExitKind::hypercall);
  CHECK(hvc.exception_class == ExceptionClass::hvc_a64);
  CHECK(hvc.instruction_length == 4);
  CHECK(hvc.refusal == MmioRefusal::none);
  CHECK(arch::Esr(0x5a001234).immediate() == 0x1234);
  const vcpu::Exit smc = vcpu::decode_exit(0x5e000000, 0, 0);
  CHECK(smc.kind == ExitKind::secure_monitor_call);
  CHECK(smc.exception_class == ExceptionClass::smc_a64);
  CHECK(smc.instruction_length == 4);
  // IL = 0: a 16-bit instruction, so what the PC skips is 2.
  CHECK(vcpu::decode_exit(0x58000000, 0, 0).instruction_length == 2);
  CHECK(vcpu::decode_exit(0x5c000000, 0, 0).instruction_length == 2);
}

TEST_CASE("exit decode: every access size, register, sign extension, register width and direction with ISV = 1") {
  const unsigned sizes[] = {1, 2, 4, 8};
  for (uint64_t size_log2 = 0; size_log2 < 4; ++size_log2) {
    for (uint64_t reg = 0; reg < 32; ++reg) {
      for (unsigned flags = 0; flags < 8; ++flags) {
        const bool sign = (flags & 1) != 0;
        const bool sixty_four = (flags & 2) != 0;
        const bool write = (flags & 4) != 0;
        const uint64_t esr = data_abort_lower | isv | sas(size_log2) | (sign ? sse : 0) | srt(reg) |
                             (sixty_four ? sf : 0) | (write ? wnr : 0) | translation_level3;
        CAPTURE(esr);
        const vcpu::Exit exit = vcpu::decode_exit(esr, guest_va, gicd_hpfar);
        REQUIRE(exit.kind == ExitKind::mmio);
        CHECK(exit.refusal == MmioRefusal::none);
        CHECK(exit.exception_class == ExceptionClass::data_abort_lower);
        CHECK(exit.instruction_length == 4);
        CHECK(exit.access.address == 0x08000004);
        CHECK(exit.access.width == sizes[size_log2]);
        CHECK(exit.access.reg == reg);  // 31 is XZR/WZR: the register-access helpers handle it
        CHECK(exit.access.sign_extend == sign);
        CHECK(exit.access.sixty_four == sixty_four);
        CHECK(exit.access.write == write);
        // decode_data_abort is what the target calls: the same answer.
        const vcpu::Exit direct = vcpu::decode_data_abort(arch::Esr(esr), guest_va, gicd_hpfar);
        CHECK(direct.kind == exit.kind);
        CHECK(direct.access.address == exit.access.address);
        CHECK(direct.access.width == exit.access.width);
        CHECK(direct.access.reg == exit.access.reg);
        CHECK(direct.access.sign_extend == exit.access.sign_extend);
        CHECK(direct.access.sixty_four == exit.access.sixty_four);
        CHECK(direct.access.write == exit.access.write);
      }
    }
  }
}

TEST_CASE("exit decode: hand-assembled data aborts of real instructions") {
  struct Case {
    const char* instruction;
    uint64_t esr;
    unsigned width;
    unsigned reg;
    bool sign_extend;
    bool sixty_four;
    bool write;
  };
  const Case cases[] = {
      {"ldr w1, [x0] (level 3)", 0x93810007, 4, 1, false, false, false},
      {"str x30, [x0] (level 1)", 0x93de8045, 8, 30, false, true, true},
      {"ldrsb x2, [x0]", 0x93228006, 1, 2, true, true, false},
      {"ldrsh w3, [x0]", 0x93630007, 2, 3, true, false, false},
      {"strb wzr, [x0]", 0x931f0047, 1, 31, false, false, true},
      {"stlr w4, [x0] (acquire/release)", 0x93844047, 4, 4, false, false, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.instruction);
    const vcpu::Exit exit = vcpu::decode_exit(c.esr, guest_va, gicd_hpfar);
    REQUIRE(exit.kind == ExitKind::mmio);
    CHECK(exit.access.width == c.width);
    CHECK(exit.access.reg == c.reg);
    CHECK(exit.access.sign_extend == c.sign_extend);
    CHECK(exit.access.sixty_four == c.sixty_four);
    CHECK(exit.access.write == c.write);
  }
}

TEST_CASE("exit decode: a data abort with a 16-bit instruction (IL = 0) skips 2 bytes") {
  const uint64_t esr = ec(0x24) | isv | sas(2) | translation_level3;  // SRT 0
  const vcpu::Exit exit = vcpu::decode_exit(esr, guest_va, gicd_hpfar);
  REQUIRE(exit.kind == ExitKind::mmio);
  CHECK(exit.instruction_length == 2);
  CHECK(vcpu::decode_exit(esr | il32, guest_va, gicd_hpfar).instruction_length == 4);
}

TEST_CASE("exit decode: stage-2 translation faults at every level are emulated") {
  for (uint64_t level = 0; level < 4; ++level) {
    CAPTURE(level);
    const vcpu::Exit exit = vcpu::decode_exit(data_abort_lower | isv | sas(2) | (0x04 + level), guest_va, gicd_hpfar);
    CHECK(exit.kind == ExitKind::mmio);
    CHECK(exit.refusal == MmioRefusal::none);
  }
}

TEST_CASE("exit decode: every refusal reason, the address and direction still reported") {
  struct Case {
    const char* what;
    uint64_t iss;
    MmioRefusal refusal;
    bool write;  // as reported
  };
  const uint64_t valid_load = isv | sas(2) | srt(1);
  const Case cases[] = {
      // ISV = 0: load/store pair, writeback, SIMD/FP, exclusives...
      {"ldp (no syndrome)", translation_level3, MmioRefusal::no_syndrome, false},
      {"stp (no syndrome)", wnr | translation_level3, MmioRefusal::no_syndrome, true},
      // DC ZVA / DC CIVAC / AT on the address: CM = 1, WnR = 1 whatever the operation.
      {"dc zva", cm | wnr | translation_level3, MmioRefusal::cache_maintenance, false},
      {"dc civac (ISV set)", valid_load | cm | wnr | translation_level3, MmioRefusal::cache_maintenance, false},
      // The guest's own stage-1 walk hit an unmapped IPA.
      {"stage-1 walk", s1ptw | translation_level3, MmioRefusal::stage1_walk, false},
      {"stage-1 walk with ISV", valid_load | s1ptw | 0x05, MmioRefusal::stage1_walk, false},
      // Non-translation fault status codes at every level they exist.
      {"address size level 0", valid_load, MmioRefusal::not_translation, false},  // DFSC 0x00
      {"address size level 3", valid_load | 0x03, MmioRefusal::not_translation, false},
      {"access flag level 1", valid_load | 0x09, MmioRefusal::not_translation, false},
      {"access flag level 3", valid_load | wnr | 0x0b, MmioRefusal::not_translation, true},
      {"permission level 1", valid_load | 0x0d, MmioRefusal::not_translation, false},
      {"permission level 3", valid_load | wnr | 0x0f, MmioRefusal::not_translation, true},
      {"synchronous external", valid_load | ea | 0x10, MmioRefusal::not_translation, false},
      {"synchronous external on a walk", valid_load | 0x14, MmioRefusal::not_translation, false},
      {"alignment", valid_load | 0x21, MmioRefusal::not_translation, false},
      {"TLB conflict", valid_load | 0x30, MmioRefusal::not_translation, false},
      // FnV: the FAR (and so the page offset) is not known.
      {"FAR not valid", valid_load | fnv | translation_level3, MmioRefusal::address_unknown, false},
      // More than one reason: the most fundamental one is named.
      {"permission and stage-1 walk", valid_load | s1ptw | 0x0f, MmioRefusal::not_translation, false},
      {"stage-1 walk and CM", s1ptw | cm | translation_level3, MmioRefusal::stage1_walk, false},
      {"CM and no syndrome", cm | translation_level3, MmioRefusal::cache_maintenance, false},
      {"no syndrome and FnV", fnv | translation_level3, MmioRefusal::no_syndrome, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const vcpu::Exit exit = vcpu::decode_exit(data_abort_lower | c.iss, guest_va, gicd_hpfar);
    CHECK(exit.kind == ExitKind::mmio_refused);
    CHECK(exit.refusal == c.refusal);
    CHECK(exit.exception_class == ExceptionClass::data_abort_lower);
    CHECK(exit.access.address == 0x08000004);
    CHECK(exit.access.write == c.write);
    CHECK(exit.instruction_length == 4);
    // The target asks exit_kind() first: it must route these to the data-abort handler too.
    CHECK(vcpu::exit_kind(arch::Esr(data_abort_lower | c.iss)) == ExitKind::mmio);
  }
  // ISV = 0 gives no width: the access is not to be emulated at any width.
  CHECK(vcpu::decode_exit(data_abort_lower | translation_level3, guest_va, gicd_hpfar).access.width == 0);
}

TEST_CASE("exit decode: refusal names are distinct and stable") {
  const MmioRefusal all[] = {MmioRefusal::none,         MmioRefusal::no_syndrome,     MmioRefusal::cache_maintenance,
                             MmioRefusal::stage1_walk,  MmioRefusal::not_translation, MmioRefusal::address_unknown,
                             MmioRefusal::width,        MmioRefusal::alignment};
  const char* expected[] = {"none", "no-syndrome", "cache-maintenance", "stage1-walk", "not-translation-fault",
                            "address-unknown", "width", "alignment"};
  for (size_t i = 0; i < 8; ++i) CHECK(std::string(vcpu::mmio_refusal_name(all[i])) == expected[i]);
}

TEST_CASE("exit decode: the faulting IPA from HPFAR_EL2.FIPA and FAR_EL2's page offset") {
  struct Case {
    uint64_t hpfar;
    uint64_t far;
    uint64_t ipa;
  };
  const Case cases[] = {
      {0, 0, 0},
      {gicd_hpfar, guest_va, 0x08000004},
      // FAR bits above the page offset belong to the guest's VA: ignored.
      {gicd_hpfar, 0xfffffffffffff004ull, 0x08000004},
      {gicd_hpfar, 0xfff, 0x08000fff},
      // 40-bit, 48-bit and 52-bit (FEAT_LPA) IPAs: FIPA [43:4] holds IPA [51:12].
      {uint64_t{0xff00000} << 4, 0x123, 0xff00000123ull},
      {uint64_t{0xfffffffff} << 4, 0xabc, 0xfffffffffabcull},
      {uint64_t{1} << 40, 0, uint64_t{1} << 48},
      {0x00000ffffffffff0ull, 0x123, 0x000ffffffffff123ull},
      // NS [63] and the RES0 bits [3:0] and [62:44] are not part of the address.
      {(uint64_t{1} << 63) | gicd_hpfar | 0xf, 0x004, 0x08000004},
      {0x7ffff00000000000ull | gicd_hpfar, 0x004, 0x08000004},
  };
  for (const Case& c : cases) {
    CAPTURE(c.hpfar);
    CHECK(vcpu::fault_ipa(c.hpfar, c.far) == c.ipa);
  }
  // The data abort and the instruction abort both report it.
  const uint64_t hpfar = uint64_t{0x8765432} << 4;
  CHECK(vcpu::decode_exit(data_abort_lower | isv | sas(3) | translation_level3, 0x9a8, hpfar).access.address ==
        0x87654329a8ull);
  const vcpu::Exit fetch = vcpu::decode_exit(ec(0x20) | il32 | 0x06, 0x9a8, hpfar);
  CHECK(fetch.kind == ExitKind::instruction_fetch);
  CHECK(fetch.fault_address == 0x87654329a8ull);
  CHECK(fetch.instruction_length == 4);
}

TEST_CASE("exit decode: trapped writes of ICC_SGI1R_EL1, ICC_ASGI1R_EL1 and ICC_SGI0R_EL1") {
  // MSR ICC_SGI1R_EL1, x3: op0 3, op1 0, CRn 12, CRm 11, op2 5, Rt 3, direction 0 (write):
  // ISS = 0x300000 | 0xa0000 | 0x3000 | 0x60 | 0x16 = 0x3a3076; EC 0x18 with IL.
  const vcpu::Exit sgi1r = vcpu::decode_exit(0x623a3076, 0, 0);
  CHECK(sgi1r.kind == ExitKind::system_register);
  CHECK(sgi1r.exception_class == ExceptionClass::system_register);
  CHECK(sgi1r.sysreg_key == 0x3a3016);
  CHECK(sgi1r.sysreg_register == 3);
  CHECK_FALSE(sgi1r.sysreg_read);
  CHECK(sgi1r.instruction_length == 4);
  CHECK(arch::sysregs::icc_sgi1r_el1.key() == 0x3a3016);

  struct Case {
    const char* name;
    uint64_t op2;
    uint32_t key;
    arch::SysregEncoding encoding;
  };
  const Case registers[] = {
      {"ICC_SGI1R_EL1", 5, 0x3a3016, arch::sysregs::icc_sgi1r_el1},
      {"ICC_ASGI1R_EL1", 6, 0x3c3016, arch::sysregs::icc_asgi1r_el1},
      {"ICC_SGI0R_EL1", 7, 0x3e3016, arch::sysregs::icc_sgi0r_el1},
  };
  for (const Case& c : registers) {
    CAPTURE(c.name);
    CHECK(c.encoding.key() == c.key);
    for (uint64_t rt = 0; rt < 32; ++rt) {
      for (const bool read : {false, true}) {
        const uint64_t esr = ec(0x18) | il32 | sysreg_iss(3, 0, 12, 11, c.op2, rt, read);
        const vcpu::Exit exit = vcpu::decode_exit(esr, 0, 0);
        CHECK(exit.kind == ExitKind::system_register);
        CHECK(exit.sysreg_key == c.key);  // Rt and the direction are not part of the key
        CHECK(exit.sysreg_register == rt);
        CHECK(exit.sysreg_read == read);
        CHECK(arch::sysreg_key(arch::Esr(esr)) == c.key);
      }
    }
  }
  // MSR ICC_SGI1R_EL1, xzr: Rt 31.
  CHECK(vcpu::decode_exit(0x623a33f6, 0, 0).sysreg_register == 31);
  // Neighbouring registers are not mistaken for them: ICC_SRE_EL1 (3, 0, 12, 12, 5),
  // ICC_EOIR1_EL1 (3, 0, 12, 12, 1), ICC_SGI1R's op1/op0 changed.
  const uint64_t others[] = {sysreg_iss(3, 0, 12, 12, 5, 0, false), sysreg_iss(3, 0, 12, 12, 1, 0, false),
                             sysreg_iss(3, 1, 12, 11, 5, 0, false), sysreg_iss(2, 0, 12, 11, 5, 0, false),
                             sysreg_iss(3, 0, 13, 11, 5, 0, false)};
  for (const uint64_t iss : others) {
    CAPTURE(iss);
    const uint32_t key = vcpu::decode_exit(ec(0x18) | il32 | iss, 0, 0).sysreg_key;
    for (const Case& c : registers) CHECK(key != c.key);
  }
  // SysregEncoding::key() lays the fields out as the ISS does, for any register.
  const arch::SysregEncoding sre{3, 0, 12, 12, 5};
  CHECK(sre.key() == sysreg_iss(3, 0, 12, 12, 5, 0, false));
  const arch::SysregEncoding widest{3, 7, 15, 15, 7};
  CHECK(widest.key() == sysreg_iss(3, 7, 15, 15, 7, 0, false));
}

TEST_CASE("exit decode: Esr accessors on a hand-encoded syndrome") {
  // STR x30 to an unmapped IPA at level 1: EC 0x24, IL, ISV, SAS 3, SRT 30, SF, WnR, DFSC 5.
  const arch::Esr store(0x93de8045);
  CHECK(store.exception_class() == ExceptionClass::data_abort_lower);
  CHECK(store.exception_class_index() == 0x24);
  CHECK(store.instruction_length() == 4);
  CHECK(store.iss() == 0x1de8045);
  CHECK(store.syndrome_valid());
  CHECK(store.access_size() == 8);
  CHECK_FALSE(store.sign_extend());
  CHECK(store.transfer_register() == 30);
  CHECK(store.sixty_four_bit_register());
  CHECK_FALSE(store.acquire_release());
  CHECK_FALSE(store.far_not_valid());
  CHECK_FALSE(store.cache_maintenance());
  CHECK_FALSE(store.stage1_walk());
  CHECK(store.write());
  CHECK(store.fault_status() == 0x05);

  // Every flag set, the rest zero; upper 32 bits (ISS2 on newer cores) do not leak in.
  const arch::Esr flags((uint64_t{0xffffffff} << 32) | ec(0x24) | isv | sse | ar | fnv | cm | s1ptw | sas(1) | 0x3f);
  CHECK(flags.exception_class() == ExceptionClass::data_abort_lower);
  CHECK(flags.instruction_length() == 2);
  CHECK(flags.access_size() == 2);
  CHECK(flags.sign_extend());
  CHECK(flags.acquire_release());
  CHECK(flags.far_not_valid());
  CHECK(flags.cache_maintenance());
  CHECK(flags.stage1_walk());
  CHECK_FALSE(flags.write());
  CHECK_FALSE(flags.sixty_four_bit_register());
  CHECK(flags.transfer_register() == 0);
  CHECK(flags.fault_status() == 0x3f);

  // MRS x7, ICC_SGI1R_EL1 fields.
  const arch::Esr mrs(ec(0x18) | il32 | sysreg_iss(3, 0, 12, 11, 5, 7, true));
  CHECK(mrs.sysreg_op0() == 3);
  CHECK(mrs.sysreg_op1() == 0);
  CHECK(mrs.sysreg_crn() == 12);
  CHECK(mrs.sysreg_crm() == 11);
  CHECK(mrs.sysreg_op2() == 5);
  CHECK(mrs.sysreg_rt() == 7);
  CHECK(mrs.sysreg_is_read());
  const arch::Esr msr(ec(0x18) | il32 | sysreg_iss(2, 7, 15, 15, 7, 31, false));
  CHECK(msr.sysreg_op0() == 2);
  CHECK(msr.sysreg_op1() == 7);
  CHECK(msr.sysreg_crn() == 15);
  CHECK(msr.sysreg_crm() == 15);
  CHECK(msr.sysreg_op2() == 7);
  CHECK(msr.sysreg_rt() == 31);
  CHECK_FALSE(msr.sysreg_is_read());

  // make_esr builds what the Arm ARM lays out; the well-known "0x96000050": a synchronous
  // external abort on a write at EL1.
  CHECK(arch::make_esr(ExceptionClass::data_abort_same, true, 0x10 | wnr) == 0x96000050);
  CHECK(arch::make_esr(ExceptionClass::unknown, true, 0) == 0x02000000);
  CHECK(arch::make_esr(ExceptionClass::hvc_a64, false, 0xffffffff) == (ec(0x16) | 0x1ffffff));
}

TEST_CASE("exit decode: exception class values and names") {
  struct Case {
    const char* name;
    unsigned value;
    ExceptionClass ec;
    bool far_valid;
  };
  const Case cases[] = {
      {"unknown-reason", 0x00, ExceptionClass::unknown, false},
      {"wfi-wfe", 0x01, ExceptionClass::wfx, false},
      {"hvc-a64", 0x16, ExceptionClass::hvc_a64, false},
      {"smc-a64", 0x17, ExceptionClass::smc_a64, false},
      {"system-register-access", 0x18, ExceptionClass::system_register, false},
      {"instruction-abort-lower-el", 0x20, ExceptionClass::instruction_abort_lower, true},
      {"instruction-abort-same-el", 0x21, ExceptionClass::instruction_abort_same, true},
      {"pc-alignment", 0x22, ExceptionClass::pc_alignment, true},
      {"data-abort-lower-el", 0x24, ExceptionClass::data_abort_lower, true},
      {"data-abort-same-el", 0x25, ExceptionClass::data_abort_same, true},
      {"sp-alignment", 0x26, ExceptionClass::sp_alignment, false},
      {"serror", 0x2f, ExceptionClass::serror, false},
      {"watchpoint-lower-el", 0x34, ExceptionClass::watchpoint_lower, true},
      {"watchpoint-same-el", 0x35, ExceptionClass::watchpoint_same, true},
      {"brk-a64", 0x3c, ExceptionClass::brk_a64, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    CHECK(static_cast<unsigned>(c.ec) == c.value);
    CHECK(arch::Esr(ec(c.value)).exception_class() == c.ec);
    CHECK(std::string(arch::exception_class_name(c.ec)) == c.name);
    CHECK(arch::far_is_valid(c.ec) == c.far_valid);
  }
  CHECK(std::string(arch::exception_class_name(static_cast<ExceptionClass>(0x19))) == "unlisted-class");
}

TEST_CASE("exit decode: fault status classes") {
  for (uint8_t fsc = 0; fsc < 0x40; ++fsc) {
    CAPTURE(fsc);
    CHECK(arch::fault_status::is_translation(fsc) == (fsc >= 0x04 && fsc <= 0x07));
    CHECK(arch::fault_status::is_access_flag(fsc) == (fsc >= 0x08 && fsc <= 0x0b));
    CHECK(arch::fault_status::is_permission(fsc) == (fsc >= 0x0c && fsc <= 0x0f));
  }
  CHECK(arch::fault_status::synchronous_external == 0x10);
}

TEST_CASE("exit decode: the fast path's simple data aborts are exactly the emulatable 1-, 2- and 4-byte, zero-extending ones of 32-bit instructions") {
  // Every combination of the fields the fast path reads, and of the ones it must refuse:
  // each syndrome is simple exactly when the full decode emulates it with a width of at
  // most 4, no sign extension and a 4-byte instruction.
  const uint64_t extras[] = {0, s1ptw, cm, fnv, ea, ar, cm | wnr};
  const uint64_t statuses[] = {0x04, 0x05, 0x06, 0x07, 0x00, 0x03, 0x09, 0x0d, 0x0f, 0x10, 0x21};
  unsigned simple_count = 0;
  for (const uint64_t instruction : {il32, uint64_t{0}}) {
    for (const uint64_t valid : {isv, uint64_t{0}}) {
      for (uint64_t size_log2 = 0; size_log2 < 4; ++size_log2) {
        for (unsigned flags = 0; flags < 8; ++flags) {
          for (const uint64_t extra : extras) {
            for (const uint64_t status : statuses) {
              for (const uint64_t reg : {uint64_t{0}, uint64_t{17}, uint64_t{31}}) {
                const uint64_t esr = ec(0x24) | instruction | valid | sas(size_log2) | ((flags & 1) != 0 ? sse : 0) |
                                     ((flags & 2) != 0 ? sf : 0) | ((flags & 4) != 0 ? wnr : 0) | srt(reg) | extra | status;
                CAPTURE(esr);
                const vcpu::Exit exit = vcpu::decode_exit(esr, guest_va, gicd_hpfar);
                const bool expected = exit.kind == ExitKind::mmio && exit.access.width <= 4 && !exit.access.sign_extend &&
                                      exit.instruction_length == 4;
                CHECK(vcpu::simple_data_abort(arch::Esr(esr)) == expected);
                if (expected) {
                  ++simple_count;
                  CHECK(vcpu::emulatable_data_abort(arch::Esr(esr)));
                  CHECK(arch::Esr(esr).instruction_length() == vcpu::simple_instruction_length);
                }
              }
            }
          }
        }
      }
    }
  }
  // 3 sizes x (SF, WnR) x 4 translation levels x 3 registers, with either extra that is no reason (none, EA, AR).
  CHECK(simple_count == 3 * 4 * 4 * 3 * 3);
  // Real instructions the fast path must not take: LDRSW, LDR X, a T32 LDR, LDP, DC ZVA.
  CHECK_FALSE(vcpu::simple_data_abort(arch::Esr(data_abort_lower | isv | sas(2) | sse | sf | srt(1) | translation_level3)));
  CHECK_FALSE(vcpu::simple_data_abort(arch::Esr(data_abort_lower | isv | sas(3) | sf | srt(1) | translation_level3)));
  CHECK_FALSE(vcpu::simple_data_abort(arch::Esr(ec(0x24) | isv | sas(2) | srt(1) | translation_level3)));
  CHECK_FALSE(vcpu::simple_data_abort(arch::Esr(data_abort_lower | translation_level3)));
  CHECK_FALSE(vcpu::simple_data_abort(arch::Esr(data_abort_lower | cm | wnr | translation_level3)));
  CHECK(vcpu::simple_data_abort(arch::Esr(data_abort_lower | isv | sas(1) | srt(3) | translation_level3)));  // ldrh w3
}
