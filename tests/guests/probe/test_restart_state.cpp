// restart-state: every start and restart of a partition gives its vCPUs the EL1/EL0 state
// of a reset, whichever vCPU asked for the restart (issue 15). On every boot, vCPU 0 and
// vCPU 1 (started by CPU_ON) each check that every register they can read holds its reset
// value: zero where the architecture leaves it UNKNOWN (what the hypervisor promises),
// SCTLR_EL1 its Armv8.0 RES1 bits, VBAR_EL1 and CPACR_EL1 as entry.S found them. Then both
// write other values into all of them, read them back, and vCPU `probe.reset-from=` (0 or
// 1) asks for PSCI SYSTEM_RESET. With restart-policy "restart" the next boot checks again:
// the first boot's check is of fresh CPUs, every later one sees what the restart left of
// the run before (tests/integration/probe_tests.py, restart-state and
// restart-state-secondary). The vCPU that asks keeps its physical CPU through the restart
// only if it is vCPU 0 (it then enters the new run itself); every other CPU is powered off
// and on again, which on QEMU resets the CPU too. So the hypervisor's own reset of the
// CPU registers shows on vCPU 0 with probe.reset-from=0; the virtual GIC's (checked by
// vCPU 0) in both. Run it first: an exception taken before it would change
// ELR/SPSR/ESR/FAR_EL1 on its own.
#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

// An EL1/EL0 system register: its reset value and the value a run leaves in it.
struct Register {
  const char* name;
  uint64_t (*read)();
  void (*write)(uint64_t);
  uint64_t reset;
  uint64_t dirty;
  bool vcpu0_only;  // the GIC CPU interface: vCPU 1's entry code sets it before any test
};

#define PROBE_REGISTER(reg, reset, dirty, vcpu0_only)                                                       \
  Register {                                                                                                \
    #reg, [] { return PROBE_READ_SYSREG(reg); },                                                            \
        [](uint64_t value) {                                                                                \
          PROBE_WRITE_SYSREG(reg, value);                                                                   \
          isb();                                                                                            \
        },                                                                                                  \
        reset, dirty, vcpu0_only                                                                            \
  }

// SCTLR_EL1's RES1 bits in Armv8.0 (29, 28, 23, 22, 20, 11), everything else 0: MMU,
// caches, alignment checks off, little-endian. The run sets I, DZE and UCT.
constexpr uint64_t sctlr_reset = 0x30d00800;
constexpr uint64_t sctlr_dirty = sctlr_reset | (1u << 12) | (1u << 14) | (1u << 15);
// Timers left enabled with their interrupt masked, compare values far ahead (below 2^48:
// QEMU 7.2 adds CNTVOFF to the compare value without checking for overflow, and a wrapped
// sum makes it re-arm the timer forever).
constexpr uint64_t timer_enabled_masked = 3;

const Register registers[] = {
    PROBE_REGISTER(sctlr_el1, sctlr_reset, sctlr_dirty, false),
    PROBE_REGISTER(ttbr0_el1, 0, 0x0000000061000000, false),
    PROBE_REGISTER(ttbr1_el1, 0, 0x0000000061001000, false),
    PROBE_REGISTER(tcr_el1, 0, 0x0000000080803510, false),
    PROBE_REGISTER(mair_el1, 0, 0x44ff04bbaa0c0800, false),
    PROBE_REGISTER(contextidr_el1, 0, 0x12345678, false),
    PROBE_REGISTER(esr_el1, 0, 0x96000045, false),
    PROBE_REGISTER(far_el1, 0, 0x0000000060fff123, false),
    PROBE_REGISTER(par_el1, 0, 0x0000000060ff0000, false),
    PROBE_REGISTER(elr_el1, 0, 0x0000000060001234, false),
    PROBE_REGISTER(spsr_el1, 0, 0x3c5, false),
    PROBE_REGISTER(sp_el0, 0, 0x00000000600ff000, false),
    PROBE_REGISTER(tpidr_el1, 0, 0x1111222233334444, false),
    PROBE_REGISTER(tpidr_el0, 0, 0x5555666677778888, false),
    PROBE_REGISTER(tpidrro_el0, 0, 0x9999aaaabbbbcccc, false),
    PROBE_REGISTER(mdscr_el1, 0, (1u << 15) | (1u << 12), false),  // MDE, TDCC (no KDE: nothing fires)
    PROBE_REGISTER(csselr_el1, 0, 2, false),
    PROBE_REGISTER(cntkctl_el1, 0, 3, false),
    PROBE_REGISTER(cntv_cval_el0, 0, 0x0000ffffff000000, false),
    PROBE_REGISTER(cntv_ctl_el0, 0, timer_enabled_masked, false),
    PROBE_REGISTER(cntp_cval_el0, 0, 0x0000fffff0000000, false),
    PROBE_REGISTER(cntp_ctl_el0, 0, timer_enabled_masked, false),
    // Not MDCCINT_EL1: QEMU implements it as no storage (a read leaves the destination
    // register as it was), so no run could show a leak there.
    // The OS Double Lock: clear at reset.
    PROBE_REGISTER(osdlr_el1, 0, 1, false),
    // The OS Lock: locked at reset (OSLSR_EL1.OSLK = 1); a run unlocks it through OSLAR_EL1.
    Register{"oslsr_el1.oslk", [] { return (PROBE_READ_SYSREG(oslsr_el1) >> 1) & 1; },
             [](uint64_t value) {
               PROBE_WRITE_SYSREG(oslar_el1, value);
               isb();
             },
             1, 0, false},
    PROBE_REGISTER(icc_pmr_el1, 0, 0xf0, true),
    PROBE_REGISTER(icc_igrpen0_el1, 0, 1, true),
    PROBE_REGISTER(icc_igrpen1_el1, 0, 1, true),
    // EOImode and CBPR (the other fields are read-only). A run sets both, after the
    // binary points below (with CBPR set, BPR1 follows BPR0).
    Register{"icc_ctlr_el1.eoimode.cbpr", [] { return PROBE_READ_SYSREG(icc_ctlr_el1) & 3; },
             [](uint64_t value) {
               PROBE_WRITE_SYSREG(icc_ctlr_el1, value);
               isb();
             },
             0, 3, true},
};

// The binary points reset to their minimum, which depends on the priority bits the
// (virtual) CPU interface implements: what a write of 0 leaves in them.
constexpr uint64_t bpr0_dirty = 6;
constexpr uint64_t bpr1_dirty = 7;

// The breakpoint and watchpoint registers, by number (ID_AA64DFR0_EL1 says how many).
enum class Debug { bvr, bcr, wvr, wcr };
const char* const debug_names[] = {"dbgbvr_el1", "dbgbcr_el1", "dbgwvr_el1", "dbgwcr_el1"};

#define PROBE_DEBUG_CASE(n)                                \
  case n:                                                  \
    switch (kind) {                                        \
      case Debug::bvr: return PROBE_READ_SYSREG(dbgbvr##n##_el1); \
      case Debug::bcr: return PROBE_READ_SYSREG(dbgbcr##n##_el1); \
      case Debug::wvr: return PROBE_READ_SYSREG(dbgwvr##n##_el1); \
      case Debug::wcr: return PROBE_READ_SYSREG(dbgwcr##n##_el1); \
    }                                                      \
    break;
uint64_t read_debug(Debug kind, unsigned n) {
  switch (n) {
    PROBE_DEBUG_CASE(0) PROBE_DEBUG_CASE(1) PROBE_DEBUG_CASE(2) PROBE_DEBUG_CASE(3)
    PROBE_DEBUG_CASE(4) PROBE_DEBUG_CASE(5) PROBE_DEBUG_CASE(6) PROBE_DEBUG_CASE(7)
    PROBE_DEBUG_CASE(8) PROBE_DEBUG_CASE(9) PROBE_DEBUG_CASE(10) PROBE_DEBUG_CASE(11)
    PROBE_DEBUG_CASE(12) PROBE_DEBUG_CASE(13) PROBE_DEBUG_CASE(14) PROBE_DEBUG_CASE(15)
    default: break;
  }
  return 0;
}
#undef PROBE_DEBUG_CASE

#define PROBE_DEBUG_CASE(n)                                               \
  case n:                                                                 \
    switch (kind) {                                                       \
      case Debug::bvr: PROBE_WRITE_SYSREG(dbgbvr##n##_el1, value); break; \
      case Debug::bcr: PROBE_WRITE_SYSREG(dbgbcr##n##_el1, value); break; \
      case Debug::wvr: PROBE_WRITE_SYSREG(dbgwvr##n##_el1, value); break; \
      case Debug::wcr: PROBE_WRITE_SYSREG(dbgwcr##n##_el1, value); break; \
    }                                                                     \
    break;
void write_debug(Debug kind, unsigned n, uint64_t value) {
  switch (n) {
    PROBE_DEBUG_CASE(0) PROBE_DEBUG_CASE(1) PROBE_DEBUG_CASE(2) PROBE_DEBUG_CASE(3)
    PROBE_DEBUG_CASE(4) PROBE_DEBUG_CASE(5) PROBE_DEBUG_CASE(6) PROBE_DEBUG_CASE(7)
    PROBE_DEBUG_CASE(8) PROBE_DEBUG_CASE(9) PROBE_DEBUG_CASE(10) PROBE_DEBUG_CASE(11)
    PROBE_DEBUG_CASE(12) PROBE_DEBUG_CASE(13) PROBE_DEBUG_CASE(14) PROBE_DEBUG_CASE(15)
    default: break;
  }
  isb();
}
#undef PROBE_DEBUG_CASE

unsigned debug_count(Debug kind) {
  const uint64_t dfr0 = PROBE_READ_SYSREG(id_aa64dfr0_el1);
  const unsigned shift = kind == Debug::bvr || kind == Debug::bcr ? 12 : 20;  // BRPs, WRPs
  return static_cast<unsigned>((dfr0 >> shift) & 0xf) + 1;
}

// What a run leaves: enabled breakpoints and watchpoints (they cannot fire: MDSCR_EL1.KDE
// stays 0 and PSTATE.D 1) on addresses in the partition's RAM the probe never touches.
uint64_t debug_dirty(Debug kind, unsigned n) {
  switch (kind) {
    case Debug::bvr: return 0x60f00000 + uint64_t{n} * 0x10;
    case Debug::bcr: return 0x1e7;  // BAS 0xf, PMC EL1+EL0, enabled
    case Debug::wvr: return 0x60f10000 + uint64_t{n} * 0x10;
    case Debug::wcr: return 0x1fff;  // BAS 0xff, LSC load+store, PAC EL1+EL0, enabled
  }
  return 0;
}
constexpr Debug debug_kinds[] = {Debug::bvr, Debug::bcr, Debug::wvr, Debug::wcr};

// FP/SIMD as a run leaves it: v0-v31 a pattern, FPCR AHP DN FZ RZ, FPSR every flag.
constexpr uint64_t fpcr_dirty = 0x07c00000;
constexpr uint64_t fpsr_dirty = 0x0800009f;
alignas(16) uint8_t fp_pattern[512];
alignas(16) uint8_t fp_seen[2][512];

// What one vCPU found: how many values it compared and the first mismatches (vCPU 0
// prints them, vCPU 1's too).
struct Mismatch {
  const char* what;
  int32_t index;  // register number (v<n>, dbg*<n>), or -1
  uint64_t got;
  uint64_t expected;
};
constexpr uint32_t listed_mismatches = 8;
struct Report {
  uint32_t checked;
  uint32_t mismatches;
  Mismatch list[listed_mismatches];
};
Report check_reports[2];
Report dirty_reports[2];

void compare(Report& r, const char* what, int32_t index, uint64_t got, uint64_t expected) {
  ++r.checked;
  if (got == expected) return;
  if (r.mismatches < listed_mismatches) r.list[r.mismatches] = {what, index, got, expected};
  ++r.mismatches;
}

// The debug claim tags (DBGCLAIMSET_EL1/DBGCLAIMCLR_EL1), when the CPU implements them:
// Armv8.0 requires 8 of them, but QEMU before 8.0 has none (an undefined instruction).
// Asked after the registers an exception would change have been judged or written.
bool claim_tags_implemented() {
  expect_undefined(true);
  (void)PROBE_READ_SYSREG(dbgclaimclr_el1);
  expect_undefined(false);
  return aborts().count == 0;
}
constexpr uint64_t claim_tags_dirty = 0xa5;
bool claim_tags_present[2];

// The virtual GIC's state a run changes, as vCPU 0 sees it through the distributor and
// both redistributors: `set` is the write-1-to-set register (or the register itself),
// `bits` what a run sets there. Every one resets to 0. vCPU 0 checks them before vCPU 1
// is started (whose entry code enables its SGIs at priority 0x80), so both
// redistributors are seen as the restart left them; vCPU 1's gets only enables and PPI
// priorities (a pending enabled SGI would be taken there).
struct GicState {
  const char* name;
  uint64_t address;
  uint32_t bits;
  bool read_modify_write;  // a plain register (priorities, GICD_CTLR) rather than W1S
  uint32_t checked = 0xffffffff;  // the bits that must read 0 at reset
};
constexpr uint32_t sgi_pending = 1u << 14;  // never enabled by a run
constexpr uint32_t sgi_active = 1u << 13;   // never enabled by a run
constexpr uint32_t spi_uart_bit = 1u << (gic::uart_spi - 32);
constexpr uint64_t sgi_frame(uint32_t vcpu) {
  return gic::redistributors + vcpu * gic::redistributor_stride + gic::sgi_base;
}
constexpr GicState gic_state[] = {
    {"gicd_ctlr.enablegrp", gic::distributor + gic::gicd_ctlr, gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1, true,
     gic::ctlr_enable_grp0 | gic::ctlr_enable_grp1},  // ARE and DS read as one
    {"gicd_ispendr1 (spi 33)", gic::distributor + gic::ispendr + 4, spi_uart_bit, false},
    {"gicd_ipriorityr8 (spi 33)", gic::distributor + gic::ipriorityr + 32, 0xa000, true},
    {"gicr0_isenabler0", sgi_frame(0) + gic::isenabler, 0xff, false},
    {"gicr0_ispendr0", sgi_frame(0) + gic::ispendr, sgi_pending, false},
    {"gicr0_isactiver0", sgi_frame(0) + gic::isactiver, sgi_active, false},
    {"gicr0_ipriorityr0", sgi_frame(0) + gic::ipriorityr, 0x80a0c0e0, true},
    {"gicr0_ipriorityr6 (ppi 27)", sgi_frame(0) + gic::ipriorityr + 24, 0xa0000000, true},
    {"gicr1_isenabler0", sgi_frame(1) + gic::isenabler, 0xff, false},
    {"gicr1_ipriorityr7 (ppi 30)", sgi_frame(1) + gic::ipriorityr + 28, 0x00a00000, true},
};

uint64_t fp_half(const uint8_t* bytes, uint32_t v, uint32_t half) {
  uint64_t value = 0;
  for (uint32_t i = 0; i < 8; ++i) value |= uint64_t{bytes[v * 16 + half * 8 + i]} << (8 * i);
  return value;
}

// Runs on the vCPU whose state it judges.
void check_state(uint32_t vcpu) {
  Report& r = check_reports[vcpu];
  r = Report{};
  compare(r, "vbar_el1 at entry", -1, entry_el1_controls[vcpu][0], 0);
  compare(r, "cpacr_el1 at entry", -1, entry_el1_controls[vcpu][1], 0);
  for (const Register& reg : registers) {
    if (!reg.vcpu0_only || vcpu == 0) compare(r, reg.name, -1, reg.read(), reg.reset);
  }
  fp_store_all(fp_seen[vcpu]);
  compare(r, "fpcr", -1, fp_read_fpcr(), 0);
  compare(r, "fpsr", -1, fp_read_fpsr(), 0);
  for (uint32_t v = 0; v < 32; ++v) {
    compare(r, "v low half", static_cast<int32_t>(v), fp_half(fp_seen[vcpu], v, 0), 0);
    compare(r, "v high half", static_cast<int32_t>(v), fp_half(fp_seen[vcpu], v, 1), 0);
  }
  for (const Debug kind : debug_kinds) {
    const unsigned count = debug_count(kind);
    for (unsigned n = 0; n < count; ++n) {
      compare(r, debug_names[static_cast<unsigned>(kind)], static_cast<int32_t>(n), read_debug(kind, n), 0);
    }
  }
  if (vcpu == 0) {
    for (const GicState& g : gic_state) compare(r, g.name, -1, read32(g.address) & g.checked, 0);
    const uint64_t bpr0 = PROBE_READ_SYSREG(icc_bpr0_el1);
    const uint64_t bpr1 = PROBE_READ_SYSREG(icc_bpr1_el1);
    PROBE_WRITE_SYSREG(icc_bpr0_el1, 0);
    PROBE_WRITE_SYSREG(icc_bpr1_el1, 0);
    isb();
    compare(r, "icc_bpr0_el1 (minimum)", -1, bpr0, PROBE_READ_SYSREG(icc_bpr0_el1));
    compare(r, "icc_bpr1_el1 (minimum)", -1, bpr1, PROBE_READ_SYSREG(icc_bpr1_el1));
  }
  // Last: where they are missing, the probe takes an undefined instruction exception.
  claim_tags_present[vcpu] = claim_tags_implemented();
  if (claim_tags_present[vcpu]) compare(r, "dbgclaimclr_el1", -1, PROBE_READ_SYSREG(dbgclaimclr_el1), 0);
  dsb();
}

// vCPU 0's share of a run: the virtual GIC's state and its binary points (before
// ICC_CTLR_EL1.CBPR is set with the other registers).
void dirty_gic(Report& r) {
  for (const GicState& g : gic_state) {
    write32(g.address, g.read_modify_write ? read32(g.address) | g.bits : g.bits);
    compare(r, g.name, -1, read32(g.address) & g.bits, g.bits);
  }
  PROBE_WRITE_SYSREG(icc_bpr0_el1, bpr0_dirty);
  PROBE_WRITE_SYSREG(icc_bpr1_el1, bpr1_dirty);
  isb();
  compare(r, "icc_bpr0_el1", -1, PROBE_READ_SYSREG(icc_bpr0_el1), bpr0_dirty);
  compare(r, "icc_bpr1_el1", -1, PROBE_READ_SYSREG(icc_bpr1_el1), bpr1_dirty);
}

// Runs on the vCPU it dirties; reads every value back, so that a register that ignores
// the write (and so could not show a leak) is a failure rather than a silent pass.
void dirty_state(uint32_t vcpu) {
  Report& r = dirty_reports[vcpu];
  r = Report{};
  if (claim_tags_present[vcpu]) {
    PROBE_WRITE_SYSREG(dbgclaimset_el1, claim_tags_dirty);
    isb();
    compare(r, "dbgclaimclr_el1", -1, PROBE_READ_SYSREG(dbgclaimclr_el1), claim_tags_dirty);
  }
  if (vcpu == 0) dirty_gic(r);
  for (const Register& reg : registers) {
    if (reg.vcpu0_only && vcpu != 0) continue;
    reg.write(reg.dirty);
    compare(r, reg.name, -1, reg.read(), reg.dirty);
  }
  for (const Debug kind : debug_kinds) {
    const unsigned count = debug_count(kind);
    for (unsigned n = 0; n < count; ++n) {
      write_debug(kind, n, debug_dirty(kind, n));
      compare(r, debug_names[static_cast<unsigned>(kind)], static_cast<int32_t>(n), read_debug(kind, n),
              debug_dirty(kind, n));
    }
  }
  for (uint32_t i = 0; i < sizeof(fp_pattern); ++i) fp_pattern[i] = static_cast<uint8_t>((i * 29 + 7) | 1);
  fp_write_control(fpcr_dirty, fpsr_dirty);
  fp_load_all(fp_pattern);
  fp_store_all(fp_seen[vcpu]);
  compare(r, "fpcr", -1, fp_read_fpcr(), fpcr_dirty);
  compare(r, "fpsr", -1, fp_read_fpsr(), fpsr_dirty);
  for (uint32_t v = 0; v < 32; ++v) {
    compare(r, "v low half", static_cast<int32_t>(v), fp_half(fp_seen[vcpu], v, 0), fp_half(fp_pattern, v, 0));
    compare(r, "v high half", static_cast<int32_t>(v), fp_half(fp_seen[vcpu], v, 1), fp_half(fp_pattern, v, 1));
  }
  dsb();
}

void check_on_vcpu1() { check_state(1); }
void dirty_on_vcpu1() { dirty_state(1); }
volatile int64_t secondary_reset_status = 0;
void reset_on_vcpu1() {
  secondary_reset_status = psci::hvc(psci::system_reset);  // returns only on failure
  dsb();
}

void print_mismatch(uint32_t vcpu, const Mismatch& m, const char* relation) {
  begin_fail();
  put_text("vcpu ");
  put_decimal(vcpu);
  put(' ');
  put_text(m.what);
  if (m.index >= 0) {
    put_text(" n=");
    put_decimal(static_cast<uint64_t>(m.index));
  }
  put(' ');
  put_text(relation);
  put_text(" expected ");
  put_hex(m.expected);
  put_text(" got ");
  put_hex(m.got);
  end_line();
}

// One PASS line, or one FAIL line per listed mismatch (and how many more there were).
bool judge(uint32_t vcpu, const Report& r, const char* relation) {
  if (r.mismatches == 0) return true;
  for (uint32_t i = 0; i < r.mismatches && i < listed_mismatches; ++i) print_mismatch(vcpu, r.list[i], relation);
  if (r.mismatches > listed_mismatches) {
    begin_fail();
    put_text("vcpu ");
    put_decimal(vcpu);
    put(' ');
    put_decimal(r.mismatches - listed_mismatches);
    put_text(" more mismatches");
    end_line();
  }
  return false;
}

void report_clean(uint32_t vcpu) {
  const Report& r = check_reports[vcpu];
  if (!judge(vcpu, r, "at entry")) return;
  begin_pass();
  put_text("vcpu ");
  put_decimal(vcpu);
  put_text(" at reset values: ");
  put_decimal(r.checked);
  put_text(" values (EL1/EL0 system registers, v0-v31, fpcr, fpsr, ");
  put_decimal(debug_count(Debug::bvr));
  put_text(" breakpoints, ");
  put_decimal(debug_count(Debug::wvr));
  put_text(" watchpoints, ");
  put_text(claim_tags_present[vcpu] ? "claim tags" : "no claim tags");
  if (vcpu == 0) put_text(", the virtual GIC");
  put_text(")");
  end_line();
}

bool report_dirty(uint32_t vcpu) {
  const Report& r = dirty_reports[vcpu];
  if (!judge(vcpu, r, "did not keep the value written:")) return false;
  put_text("probe: restart-state vcpu ");
  put_decimal(vcpu);
  put_text(" dirtied ");
  put_decimal(r.checked);
  put_text(" values");
  end_line();
  return true;
}

}  // namespace

void test_restart_state() {
  const uint32_t reset_from = settings().reset_from;
  if (settings().guest.vcpu_count < 2 || reset_from > 1) {
    fail("needs 2 vCPUs and probe.reset-from=0 or 1");
    return;
  }
  check_state(0);
  report_clean(0);
  if (!smp::ensure_online(1)) return;
  if (!smp::run(1, smp::Command::call, reinterpret_cast<uint64_t>(&check_on_vcpu1))) {
    fail("vcpu 1 did not check its state within 1 s");
    return;
  }
  report_clean(1);
  if (!smp::run(1, smp::Command::call, reinterpret_cast<uint64_t>(&dirty_on_vcpu1))) {
    fail("vcpu 1 did not write its state within 1 s");
    return;
  }
  const bool dirtied = report_dirty(1);
  // From here on vCPU 0 runs only general-register code, and takes no exception.
  dirty_state(0);
  if (!report_dirty(0) || !dirtied) return;
  put_text("probe: restart-state SYSTEM_RESET from vcpu ");
  put_decimal(reset_from);
  end_line();
  if (reset_from == 0) {
    const int64_t status = psci::hvc(psci::system_reset);
    begin_fail();
    put_text("SYSTEM_RESET from vcpu 0 returned ");
    put_signed(status);
    end_line();
    return;
  }
  smp::run(1, smp::Command::call, reinterpret_cast<uint64_t>(&reset_on_vcpu1), 10000000);
  begin_fail();
  put_text("SYSTEM_RESET from vcpu 1 did not restart the partition within 10 s (it returned ");
  put_signed(secondary_reset_status);
  put_text(")");
  end_line();
}

}  // namespace probe
