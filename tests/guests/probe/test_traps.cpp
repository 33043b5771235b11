// traps: how the hypervisor emulates data accesses to its emulated registers, as the
// architecture defines loads and stores: sign-extending loads (LDRSB/LDRSH/LDRSW into W
// and X registers), big-endian data accesses (SCTLR_EL1.EE), and the accesses it cannot
// or will not emulate, each of which must raise a synchronous external abort at EL1
// (EC 0x25, DFSC 0x10, FAR = the address, WnR) and nothing else:
//   - no syndrome (ESR_EL2.ISV = 0): load pair, store pair, post-index writeback, SIMD&FP;
//   - a width the region refuses: 16-bit on the GIC (GICv3 registers are 8/32/64-bit),
//     64-bit on the PL011 (8/16/32-bit).
// The refused write must change nothing. Run in tests/configs/probe-traps.dts, where the
// probe owns the virtual UART's SPI 33; the harness checks the hypervisor's fault lines.
#include "console.hpp"
#include "gic.hpp"
#include "tests.hpp"

namespace probe {
namespace {

constexpr uint64_t d = gic::distributor;
constexpr uint64_t uart = 0x09000000;
constexpr uint64_t uart_cr = uart + 0x30;
constexpr uint32_t uart_ctsen = 1u << 15;
constexpr uint64_t own_priority = d + gic::ipriorityr + gic::uart_spi;  // a byte
constexpr uint64_t own_router = d + gic::gicd_irouter + uint64_t{8} * gic::uart_spi;
constexpr uint64_t gicd_iidr = d + 0x0008;

constexpr uint64_t ec_data_abort_same_el = 0x25;
constexpr uint64_t dfsc_external_abort = 0x10;
constexpr uint64_t esr_wnr = 1u << 6;

// One access that must abort: `access` runs it and returns the instruction's address.
template <typename Access>
bool expect_refused(const char* what, uint64_t address, bool write, Access access) {
  expect_aborts(true);
  const uint64_t insn = access();
  expect_aborts(false);
  const AbortRecord& a = aborts();
  if (a.count != 1) {
    begin_fail();
    put_text(what);
    put_text(" at ");
    put_hex(address);
    put_text(" was emulated instead of aborting (aborts ");
    put_decimal(a.count);
    put(')');
    end_line();
    return false;
  }
  const uint64_t esr = a.esr;
  return expect_hex("ESR_EL1.EC", exception_class(esr), ec_data_abort_same_el) &&
         expect_hex("ESR_EL1.DFSC", esr & 0x3f, dfsc_external_abort) &&
         expect_hex("ESR_EL1.WnR", esr & esr_wnr, write ? esr_wnr : 0) && expect_hex("FAR_EL1", a.far, address) &&
         expect_hex("ELR_EL1", a.elr, insn);
}

bool check_no_syndrome() {
  // Load pair.
  if (!expect_refused("LDP", d, false, [] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: ldp w2, w3, [%1]" : "=&r"(insn) : "r"(d) : "x2", "x3", "memory");
        return insn;
      })) {
    return false;
  }
  // Store pair (to the UART: were it emulated, it would write DR).
  if (!expect_refused("STP", uart, true, [] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: stp wzr, wzr, [%1]" : "=&r"(insn) : "r"(uart) : "memory");
        return insn;
      })) {
    return false;
  }
  // Post-index writeback: the base register must not move either.
  uint64_t base = d;
  if (!expect_refused("LDR post-index", d, false, [&base] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: ldr w2, [%1], #4" : "=&r"(insn), "+r"(base) : : "x2", "memory");
        return insn;
      })) {
    return false;
  }
  if (!expect_hex("base register after the aborted writeback", base, d)) return false;
  // A SIMD&FP register.
  return expect_refused("LDR s0", d, false, [] {
    uint64_t insn;
    asm volatile("adr %0, 1f\n 1: ldr s0, [%1]" : "=&r"(insn) : "r"(d) : "v0", "memory");
    return insn;
  });
}

bool check_widths() {
  const uint32_t ctlr = read32(d + gic::gicd_ctlr);
  if (!expect_refused("16-bit read of GICD_CTLR", d, false, [] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: ldrh w2, [%1]" : "=&r"(insn) : "r"(d) : "x2", "memory");
        return insn;
      })) {
    return false;
  }
  if (!expect_refused("16-bit write of GICD_CTLR", d, true, [] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: strh wzr, [%1]" : "=&r"(insn) : "r"(d) : "memory");
        return insn;
      })) {
    return false;
  }
  if (!expect_hex("GICD_CTLR after the refused write", read32(d + gic::gicd_ctlr), ctlr)) return false;
  const uint64_t rd = gic::rd_base(0) + gic::gicr_waker;
  if (!expect_refused("16-bit read of GICR_WAKER", rd, false, [rd] {
        uint64_t insn;
        asm volatile("adr %0, 1f\n 1: ldrh w2, [%1]" : "=&r"(insn) : "r"(rd) : "x2", "memory");
        return insn;
      })) {
    return false;
  }
  return expect_refused("64-bit read of the UART", uart, false, [] {
    uint64_t insn;
    asm volatile("adr %0, 1f\n 1: ldr x2, [%1]" : "=&r"(insn) : "r"(uart) : "x2", "memory");
    return insn;
  });
}

bool check_sign_extension() {
  // A byte with bit 7 set: the SPI's priority (5 implemented bits keep 0xf8).
  write8(own_priority, 0xf8);
  uint64_t x = 0;
  uint64_t w = 0;
  asm volatile("ldrsb %0, [%2]\n ldrsb %w1, [%2]" : "=&r"(x), "=&r"(w) : "r"(own_priority) : "memory");
  write8(own_priority, 0);
  if (!expect_hex("LDRSB X of priority 0xf8", x, 0xfffffffffffffff8ull)) return false;
  if (!expect_hex("LDRSB W of priority 0xf8 (upper half zero)", w, 0xfffffff8ull)) return false;
  // A halfword with bit 15 set: UARTCR.CTSEn, which the model stores without effect.
  const uint32_t cr = read32(uart_cr);
  write32(uart_cr, cr | uart_ctsen);
  asm volatile("ldrsh %0, [%2]\n ldrsh %w1, [%2]" : "=&r"(x), "=&r"(w) : "r"(uart_cr) : "memory");
  write32(uart_cr, cr);
  if (!expect_hex("LDRSH X of UARTCR", x, 0xffffffffffff0000ull | cr | uart_ctsen)) return false;
  if (!expect_hex("LDRSH W of UARTCR", w, 0xffff0000ull | cr | uart_ctsen)) return false;
  // A word with bit 31 set: GICD_IROUTER.IRM of the SPI.
  write32(own_router, 1u << 31);
  asm volatile("ldrsw %0, [%1]" : "=&r"(x) : "r"(own_router) : "memory");
  write32(own_router, 0);
  return expect_hex("LDRSW X of GICD_IROUTER with IRM", x, 0xffffffff80000000ull);
}

// Accesses with SCTLR_EL1.EE = 1 (big-endian data at EL1): nothing else may touch memory
// meanwhile, so each is one asm block that sets EE, accesses, and clears it.
uint64_t big_endian_read32(uint64_t address) {
  uint64_t value;
  asm volatile(
      "mrs x3, sctlr_el1\n orr x4, x3, #(1 << 25)\n msr sctlr_el1, x4\n isb\n"
      "ldr %w0, [%1]\n msr sctlr_el1, x3\n isb"
      : "=&r"(value) : "r"(address) : "x3", "x4", "memory");
  return value;
}
uint64_t big_endian_read64(uint64_t address) {
  uint64_t value;
  asm volatile(
      "mrs x3, sctlr_el1\n orr x4, x3, #(1 << 25)\n msr sctlr_el1, x4\n isb\n"
      "ldr %0, [%1]\n msr sctlr_el1, x3\n isb"
      : "=&r"(value) : "r"(address) : "x3", "x4", "memory");
  return value;
}
void big_endian_write32(uint64_t address, uint32_t value) {
  asm volatile(
      "mrs x3, sctlr_el1\n orr x4, x3, #(1 << 25)\n msr sctlr_el1, x4\n isb\n"
      "str %w0, [%1]\n msr sctlr_el1, x3\n isb"
      : : "r"(value), "r"(address) : "x3", "x4", "memory");
}

uint64_t reversed(uint64_t value, unsigned bytes) {
  uint64_t result = 0;
  for (unsigned i = 0; i < bytes; ++i) result |= ((value >> (8 * i)) & 0xff) << (8 * (bytes - 1 - i));
  return result;
}

bool check_big_endian() {
  const uint32_t iidr = read32(gicd_iidr);
  if (!expect_hex("big-endian GICD_IIDR", big_endian_read32(gicd_iidr), reversed(iidr, 4))) return false;
  const uint64_t typer_address = gic::rd_base(0) + gic::gicr_typer;
  const uint64_t typer = read64(typer_address);
  if (!expect_hex("big-endian GICR_TYPER", big_endian_read64(typer_address), reversed(typer, 8))) return false;
  // A big-endian store of 0x00a00000 puts 0xa0 in byte 1 of the IPRIORITYR word: INTID 33.
  const uint64_t word = d + gic::ipriorityr + 32;
  big_endian_write32(word, 0x00a00000);
  const uint8_t priority = read8(own_priority);
  write8(own_priority, 0);
  return expect_hex("priority of SPI 33 after a big-endian word store", priority, 0xa0);
}

}  // namespace

void test_traps() {
  if (!check_no_syndrome() || !check_widths() || !check_sign_extension() || !check_big_endian()) return;
  begin_pass();
  put_text("no-syndrome and refused-width accesses aborted; sign-extending and big-endian accesses emulated");
  end_line();
}

}  // namespace probe
