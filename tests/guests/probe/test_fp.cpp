// fp: the guest's FP/SIMD registers, FPCR/FPSR, general-purpose registers and EL1/EL0
// system registers survive everything that exits to the hypervisor: hypercalls, trapped
// distributor and UART accesses, a trapped SGI to itself, more SGIs pending at once than
// there are list registers (the vGIC's overflow placement on every exit) and a timer interrupt.
#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"
#include "tests.hpp"
#include "timer.hpp"

namespace probe {
namespace {

constexpr uint32_t hypercalls = 100;
constexpr uint32_t distributor_reads = 100;
constexpr uint32_t uart_accesses = 50;
constexpr uint32_t fp_sgi = 7;
// SGIs 8..15 pending together: more than QEMU's 4 list registers, so each exit places them
// by urgency (the path where a libgcc popcount once clobbered v0).
constexpr uint32_t overflow_first_sgi = 8;
constexpr uint32_t overflow_sgis = 8;

alignas(16) uint8_t pattern[512];
alignas(16) uint8_t after[512];

// System registers the hypervisor has no reason to touch, with their test values.
enum SysReg : uint32_t { tpidr_el1, tpidr_el0, tpidrro_el0, contextidr_el1, sp_el0, mair_el1, ttbr0_el1, ttbr1_el1, cntkctl_el1, sysreg_count };
const char* const sysreg_names[sysreg_count] = {"TPIDR_EL1", "TPIDR_EL0", "TPIDRRO_EL0", "CONTEXTIDR_EL1", "SP_EL0",
                                                "MAIR_EL1",  "TTBR0_EL1", "TTBR1_EL1",   "CNTKCTL_EL1"};
constexpr uint64_t sysreg_values[sysreg_count] = {0x1111222233334444, 0x5555666677778888, 0x9999aaaabbbbcccc,
                                                  0x0000000012345678, 0x00000000600ff000, 0x44ff04bbaa0c0800,
                                                  0x0000000061000000, 0x0000000061001000, 0x0000000000000003};

void read_sysregs(uint64_t* values) {
  values[tpidr_el1] = PROBE_READ_SYSREG(tpidr_el1);
  values[tpidr_el0] = PROBE_READ_SYSREG(tpidr_el0);
  values[tpidrro_el0] = PROBE_READ_SYSREG(tpidrro_el0);
  values[contextidr_el1] = PROBE_READ_SYSREG(contextidr_el1);
  values[sp_el0] = PROBE_READ_SYSREG(sp_el0);
  values[mair_el1] = PROBE_READ_SYSREG(mair_el1);
  values[ttbr0_el1] = PROBE_READ_SYSREG(ttbr0_el1);
  values[ttbr1_el1] = PROBE_READ_SYSREG(ttbr1_el1);
  values[cntkctl_el1] = PROBE_READ_SYSREG(cntkctl_el1);
}

void write_sysregs(const uint64_t* values) {
  PROBE_WRITE_SYSREG(tpidr_el1, values[tpidr_el1]);
  PROBE_WRITE_SYSREG(tpidr_el0, values[tpidr_el0]);
  PROBE_WRITE_SYSREG(tpidrro_el0, values[tpidrro_el0]);
  PROBE_WRITE_SYSREG(contextidr_el1, values[contextidr_el1]);
  PROBE_WRITE_SYSREG(sp_el0, values[sp_el0]);
  PROBE_WRITE_SYSREG(mair_el1, values[mair_el1]);
  PROBE_WRITE_SYSREG(ttbr0_el1, values[ttbr0_el1]);
  PROBE_WRITE_SYSREG(ttbr1_el1, values[ttbr1_el1]);
  PROBE_WRITE_SYSREG(cntkctl_el1, values[cntkctl_el1]);
  isb();
}

// With interrupts masked, SGIs 8..15 made pending (each send traps), hypercalls exiting with
// all of them waiting, then all taken; false (with a FAIL line) if one did not arrive.
bool exercise_list_register_overflow() {
  gic::IrqRecord& r = gic::record(0);
  uint32_t before[overflow_sgis];
  irqs_off();
  for (uint32_t i = 0; i < overflow_sgis; ++i) {
    before[i] = r.count[overflow_first_sgi + i];
    gic::send_sgi(gic::sgi_to(overflow_first_sgi + i, 1u << 0));
  }
  for (uint32_t i = 0; i < 10; ++i) psci::hvc(psci::version);
  irqs_on();
  for (uint32_t i = 0; i < overflow_sgis; ++i) {
    if (!wait_change(r.count[overflow_first_sgi + i], before[i], 200000)) {
      begin_fail();
      put_text("SGI ");
      put_decimal(overflow_first_sgi + i);
      put_text(" of 8 pending together not taken within 200 ms");
      end_line();
      return false;
    }
  }
  return true;
}

// The traps; false (with a FAIL line) if an interrupt did not arrive.
bool exercise_traps(uint64_t& register_damage) {
  gic::IrqRecord& r = gic::record(0);
  for (uint32_t i = 0; i < hypercalls; ++i) psci::hvc(psci::version);
  for (uint32_t i = 0; i < distributor_reads; ++i) read32(gic::distributor + gic::gicd_typer);
  for (uint32_t i = 0; i < uart_accesses; ++i) {
    write32(0x09000000 + 0x38, 0);  // UARTIMSC: nothing unmasked, no output
    read32(0x09000000 + 0x18);      // UARTFR
  }
  const uint32_t sgis = r.count[fp_sgi];
  gic::send_sgi(gic::sgi_to(fp_sgi, 1u << 0));
  if (!wait_change(r.count[fp_sgi], sgis, 200000)) {
    fail("SGI 7 to self not taken within 200 ms");
    return false;
  }
  if (!exercise_list_register_overflow()) return false;
  const uint32_t ticks = r.count[gic::virtual_timer_ppi];
  timer::set_timer(timer::Kind::virtual_timer, counter_frequency() / 10000);  // 100 us
  timer::set_control(timer::Kind::virtual_timer, timer::ctl_enable);
  if (!wait_change(r.count[gic::virtual_timer_ppi], ticks, 200000)) {
    timer::set_control(timer::Kind::virtual_timer, 0);
    fail("virtual timer interrupt not taken within 200 ms");
    return false;
  }
  register_damage = hvc_preserves_registers(psci::version, 0x5eed000000000000ull);
  return true;
}

}  // namespace

void test_fp() {
  gic::init_this_cpu();
  gic::enable_private(fp_sgi, 0x80);
  gic::enable_private(gic::virtual_timer_ppi, 0xa0);
  for (uint32_t i = 0; i < overflow_sgis; ++i) gic::enable_private(overflow_first_sgi + i, static_cast<uint8_t>(0x90 - 8 * i));
  for (uint32_t i = 0; i < sizeof(pattern); ++i) pattern[i] = static_cast<uint8_t>((i * 37 + 11) ^ (i >> 4));
  uint64_t saved[sysreg_count];
  uint64_t seen[sysreg_count];
  read_sysregs(saved);

  // AHP, DN, FZ and round towards zero; every cumulative exception flag and QC.
  fp_write_control(0x07c00000, 0x0800009f);
  const uint64_t fpcr = fp_read_fpcr();
  const uint64_t fpsr = fp_read_fpsr();
  fp_load_all(pattern);
  write_sysregs(sysreg_values);
  irqs_on();
  uint64_t register_damage = 0;
  const bool traps_done = exercise_traps(register_damage);
  irqs_off();
  fp_store_all(after);
  const uint64_t fpcr_after = fp_read_fpcr();
  const uint64_t fpsr_after = fp_read_fpsr();
  read_sysregs(seen);
  write_sysregs(saved);
  fp_write_control(0, 0);
  for (uint32_t i = 0; i < overflow_sgis; ++i) gic::disable_private(overflow_first_sgi + i);
  if (!traps_done) return;

  for (uint32_t i = 0; i < sizeof(pattern); ++i) {
    if (after[i] != pattern[i]) {
      begin_fail();
      put_text("v");
      put_decimal(i / 16);
      put_text(" byte ");
      put_decimal(i % 16);
      put_text(" expected ");
      put_hex(pattern[i]);
      put_text(" got ");
      put_hex(after[i]);
      end_line();
      return;
    }
  }
  EXPECT_HEX("FPCR", fpcr_after, fpcr);
  EXPECT_HEX("FPSR", fpsr_after, fpsr);
  EXPECT_HEX("FPCR took the written value", fpcr, 0x07c00000);
  for (uint32_t i = 0; i < sysreg_count; ++i) EXPECT_HEX(sysreg_names[i], seen[i], sysreg_values[i]);
  EXPECT_HEX("mask of x4..x30 changed by an HVC", register_damage, 0);
  begin_pass();
  put_text("v0-v31 fpcr fpsr x4-x30 and 9 el1/el0 sysregs intact across ");
  put_decimal(hypercalls + 1);
  put_text(" hvc ");
  put_decimal(distributor_reads);
  put_text(" gicd reads ");
  put_decimal(uint64_t{2} * uart_accesses);
  put_text(" uart accesses, an sgi, 8 sgis pending at once and a vtimer irq");
  end_line();
}

}  // namespace probe
