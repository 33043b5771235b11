// The register vocabulary of core/arch/aarch64 against the Arm ARM and the GICv3
// architecture: vector offsets (D1.10.2), interrupt ID ranges (IHI 0069 2.2), SPSR mode
// decoding (C5.2.18), SCTLR endianness and RES1 values (D17.2.118), HCR_EL2 bit positions
// (D17.2.48). Expected values are written out here, not taken from the headers.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/arch/aarch64/exception_vectors.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/psr.hpp"
#include "core/arch/aarch64/sctlr.hpp"

using namespace bulkhead;
using arch::ExceptionVector;
using arch::Intid;
using arch::VectorSource;
using arch::VectorType;

TEST_CASE("arch vectors: every entry's offset from VBAR, its source, type and name") {
  struct Case {
    VectorSource source;
    VectorType type;
    uint64_t offset;
    const char* name;
  };
  const Case table[16] = {
      {VectorSource::current_sp0, VectorType::synchronous, 0x000, "sync-el2-sp0"},
      {VectorSource::current_sp0, VectorType::irq, 0x080, "irq-el2-sp0"},
      {VectorSource::current_sp0, VectorType::fiq, 0x100, "fiq-el2-sp0"},
      {VectorSource::current_sp0, VectorType::serror, 0x180, "serror-el2-sp0"},
      {VectorSource::current_spx, VectorType::synchronous, 0x200, "sync-el2"},
      {VectorSource::current_spx, VectorType::irq, 0x280, "irq-el2"},
      {VectorSource::current_spx, VectorType::fiq, 0x300, "fiq-el2"},
      {VectorSource::current_spx, VectorType::serror, 0x380, "serror-el2"},
      {VectorSource::lower_aarch64, VectorType::synchronous, 0x400, "sync-lower-a64"},
      {VectorSource::lower_aarch64, VectorType::irq, 0x480, "irq-lower-a64"},
      {VectorSource::lower_aarch64, VectorType::fiq, 0x500, "fiq-lower-a64"},
      {VectorSource::lower_aarch64, VectorType::serror, 0x580, "serror-lower-a64"},
      {VectorSource::lower_aarch32, VectorType::synchronous, 0x600, "sync-lower-a32"},
      {VectorSource::lower_aarch32, VectorType::irq, 0x680, "irq-lower-a32"},
      {VectorSource::lower_aarch32, VectorType::fiq, 0x700, "fiq-lower-a32"},
      {VectorSource::lower_aarch32, VectorType::serror, 0x780, "serror-lower-a32"},
  };
  for (unsigned index = 0; index < 16; ++index) {
    CAPTURE(index);
    const Case& c = table[index];
    const ExceptionVector by_index(index);
    const ExceptionVector by_kind(c.source, c.type);
    CHECK(by_kind.index() == index);
    CHECK(by_index.source() == c.source);
    CHECK(by_index.type() == c.type);
    CHECK(by_index.offset() == c.offset);
    CHECK(by_kind.offset() == c.offset);
    CHECK(std::string(by_index.name()) == c.name);
    CHECK(by_index.from_lower_el() == (c.source == VectorSource::lower_aarch64 || c.source == VectorSource::lower_aarch32));
  }
  // The assembly sizes agree with the architecture's: 0x80-byte entries, 0x200-byte groups.
  CHECK(BULKHEAD_VECTOR_ENTRY_SIZE == 0x80);
  CHECK(BULKHEAD_VECTOR_GROUP_SIZE == 0x200);
  // An index from the vector stubs is taken modulo 16: never out of the name table.
  CHECK(ExceptionVector(16 + 9).index() == 9);
  CHECK(std::string(ExceptionVector(0xffffffff).name()) == "serror-lower-a32");
}

TEST_CASE("arch intid: ranges at their boundaries") {
  struct Case {
    uint32_t value;
    bool sgi, ppi, is_private, spi, special, lpi;
  };
  const Case cases[] = {
      {0, true, false, true, false, false, false},
      {15, true, false, true, false, false, false},
      {16, false, true, true, false, false, false},
      {27, false, true, true, false, false, false},
      {31, false, true, true, false, false, false},
      {32, false, false, false, true, false, false},
      {1019, false, false, false, true, false, false},
      {1020, false, false, false, false, true, false},
      {1023, false, false, false, false, true, false},
      {1024, false, false, false, false, false, false},  // reserved, not special
      {8191, false, false, false, false, false, false},
      {8192, false, false, false, false, false, true},
      {0xffffff, false, false, false, false, false, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    const Intid id(c.value);
    CHECK(id.value() == c.value);
    CHECK(id.is_sgi() == c.sgi);
    CHECK(id.is_ppi() == c.ppi);
    CHECK(id.is_private() == c.is_private);
    CHECK(id.is_spi() == c.spi);
    CHECK(id.is_special() == c.special);
    CHECK(id.is_lpi() == c.lpi);
  }
  CHECK(Intid::spurious().value() == 1023);
  CHECK(Intid::spurious().is_special());
  CHECK(Intid().value() == 0);
  CHECK(Intid::sgi_count == 16);
  CHECK(Intid::private_count == 32);
}

TEST_CASE("arch intid: device-tree numbers and register bit positions") {
  // Device trees say "GIC_PPI 11" for the virtual timer (INTID 27), "GIC_SPI 1" for INTID 33.
  CHECK(Intid::from_dt_ppi(11).value() == 27);
  CHECK(Intid::from_dt_ppi(14).value() == 30);
  CHECK(Intid::from_dt_spi(0).value() == 32);
  CHECK(Intid::from_dt_spi(1).value() == 33);
  CHECK(Intid::from_dt_spi(987).value() == 1019);
  CHECK(Intid(27).dt_ppi() == 11);
  CHECK(Intid(33).dt_spi() == 1);
  for (uint32_t n = 0; n < 988; ++n) CHECK(Intid::from_dt_spi(n).dt_spi() == n);
  for (uint32_t n = 0; n < 16; ++n) CHECK(Intid::from_dt_ppi(n).dt_ppi() == n);
  CHECK(Intid::sgi(7).value() == 7);
  CHECK(Intid::sgi(7).is_sgi());
  // One bit per interrupt: INTID 33 is bit 1 of word 1 (GICD_ISENABLER1), 1019 bit 27 of word 31.
  CHECK(Intid(33).word() == 1);
  CHECK(Intid(33).bit() == 0x2);
  CHECK(Intid(31).word() == 0);
  CHECK(Intid(31).bit() == 0x80000000u);
  CHECK(Intid(1019).word() == 31);
  CHECK(Intid(1019).bit() == (1u << 27));
  CHECK(Intid(40) == Intid::from_dt_spi(8));
  CHECK_FALSE(Intid(40) == Intid(41));
}

TEST_CASE("arch psr: where a saved PSTATE was") {
  struct Case {
    const char* what;
    uint64_t spsr;
    unsigned el;
    bool aarch32;
    bool sp_elx;
  };
  const Case cases[] = {
      {"EL0t", 0x000, 0, false, false},
      {"EL1t", 0x004, 1, false, false},
      {"EL1h", 0x005, 1, false, true},
      {"EL1h, DAIF masked", 0x3c5, 1, false, true},
      {"EL1h, NZCV and PAN set", 0xf04003c5, 1, false, true},
      {"EL2t", 0x008, 2, false, false},
      {"EL2h", 0x009, 2, false, true},
      {"AArch32 User", 0x010, 0, true, false},
      {"AArch32 User, Thumb", 0x030, 0, true, false},
      {"AArch32 System (reads as EL0 with EL1 in AArch64)", 0x01f, 0, true, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(arch::psr::exception_level(c.spsr) == c.el);
    CHECK(arch::psr::from_aarch32(c.spsr) == c.aarch32);
    CHECK(arch::psr::uses_sp_elx(c.spsr) == c.sp_elx);
  }
  // What a guest starts with and an injected exception enters with: EL1h, D A I F masked.
  CHECK(arch::psr::el1h_masked == 0x3c5);
  CHECK(BULKHEAD_SPSR_EL1H_MASKED == 0x3c5);
  CHECK(arch::psr::daif == 0x3c0);
  CHECK(arch::psr::irq_mask == 0x80);
  CHECK(arch::psr::fiq_mask == 0x40);
  CHECK(arch::psr::serror_mask == 0x100);
  CHECK(arch::psr::debug_mask == 0x200);
}

TEST_CASE("arch sctlr: data endianness per exception level, reset values") {
  struct Case {
    uint64_t sctlr;
    bool el0_big, el1_big;
  };
  const Case cases[] = {
      {0, false, false},
      {uint64_t{1} << 24, true, false},  // E0E
      {uint64_t{1} << 25, false, true},  // EE
      {(uint64_t{1} << 24) | (uint64_t{1} << 25), true, true},
      {0x30d00800, false, false},  // the reset value: little-endian
      {~((uint64_t{1} << 24) | (uint64_t{1} << 25)), false, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.sctlr);
    CHECK(arch::sctlr::data_big_endian(c.sctlr, 0) == c.el0_big);
    CHECK(arch::sctlr::data_big_endian(c.sctlr, 1) == c.el1_big);
  }
  // SCTLR_EL1 RES1 bits of Armv8.0: 29, 28, 23, 22, 20, 11.
  CHECK(arch::sctlr::el1_reset == ((1u << 29) | (1u << 28) | (1u << 23) | (1u << 22) | (1u << 20) | (1u << 11)));
  // SCTLR_EL2 RES1 (E2H = 0): 29, 28, 23, 22, 18, 16, 11, 5, 4; with M, C, SA and I for the MMU.
  CHECK(BULKHEAD_SCTLR_EL2_RES1 ==
        ((1u << 29) | (1u << 28) | (1u << 23) | (1u << 22) | (1u << 18) | (1u << 16) | (1u << 11) | (1u << 5) | (1u << 4)));
  CHECK(arch::sctlr::el2_mmu_on == (BULKHEAD_SCTLR_EL2_RES1 | 0x1 | 0x4 | 0x8 | 0x1000));
  CHECK(arch::sctlr::alignment_check == 0x2);
}

TEST_CASE("arch hcr: HCR_EL2 bit positions") {
  struct Case {
    const char* name;
    uint64_t bit;
    unsigned position;
  };
  namespace hcr = arch::hcr;
  const Case cases[] = {
      {"VM", hcr::vm, 0},     {"SWIO", hcr::swio, 1},   {"PTW", hcr::ptw, 2},     {"FMO", hcr::fmo, 3},
      {"IMO", hcr::imo, 4},   {"AMO", hcr::amo, 5},     {"VF", hcr::vf, 6},       {"VI", hcr::vi, 7},
      {"VSE", hcr::vse, 8},   {"FB", hcr::fb, 9},       {"BSU=IS", hcr::bsu_inner, 10},
      {"DC", hcr::dc, 12},    {"TWI", hcr::twi, 13},    {"TWE", hcr::twe, 14},    {"TID0", hcr::tid0, 15},
      {"TID1", hcr::tid1, 16}, {"TID2", hcr::tid2, 17}, {"TID3", hcr::tid3, 18},  {"TSC", hcr::tsc, 19},
      {"TIDCP", hcr::tidcp, 20}, {"TACR", hcr::tacr, 21}, {"TSW", hcr::tsw, 22}, {"TPC", hcr::tpc, 23},
      {"TPU", hcr::tpu, 24},  {"TTLB", hcr::ttlb, 25},  {"TVM", hcr::tvm, 26},    {"TGE", hcr::tge, 27},
      {"TDZ", hcr::tdz, 28},  {"HCD", hcr::hcd, 29},    {"TRVM", hcr::trvm, 30},  {"RW", hcr::rw, 31},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(c.bit == (uint64_t{1} << c.position));
  }
  // CNTHCTL_EL2: EL1PCTEN, EL1PCEN, EVNTEN, EVNTI = 12.
  CHECK(arch::cnthctl_el2_value == 0xc7);
  // CPTR_EL2 (E2H = 0): RES1 bits 13, 12, 9..0; TTA (20) set; TFP (10), TCPAC (31) clear.
  CHECK(arch::cptr_el2_value == 0x1033ff);
}
