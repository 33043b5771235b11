// The tests `probe.tests=` names, the configuration they read, and what the exception
// handlers share with them.
#pragma once

#include <cstdint>

#include "arch.hpp"
#include "fdt.hpp"

namespace probe {

struct Settings {
  GuestInfo guest;
  Text isolation;                 // probe.isolation=NAME@0xADDR,...
  uint64_t faults = 1000;         // probe.faults=N
  uint64_t fault_address = 0;     // probe.fault-address=ADDR (default: first byte past RAM)
  uint32_t reset_from = 0;        // probe.reset-from=N: the vCPU restart-state resets from
  bool wake_redistributors = true;  // probe.waker=untouched: no vCPU ever writes GICR_WAKER
};
const Settings& settings();

// Prints `probe: done passed N failed M` and powers the partition off (SYSTEM_OFF).
[[noreturn]] void finish();

// Synchronous external aborts the tests provoke: while expected, each data abort taken
// at EL1 (EC 0x25) is recorded and its instruction skipped; anything else stops the run.
// Expecting resets the record; no longer expecting keeps it for the checks.
struct AbortRecord {
  volatile uint32_t count;
  volatile uint64_t esr;
  volatile uint64_t far;
  volatile uint64_t elr;
  volatile uint64_t spsr;
};
void expect_aborts(bool expected);
// While expected, any synchronous exception is recorded and resumed at x30 (probe_call's
// return address): for branches that must fault on the instruction fetch.
void expect_fetch_faults(bool expected);
// While expected, each UNDEFINED instruction exception taken at EL1 (EC 0x00) is recorded
// in the same record and its instruction skipped.
void expect_undefined(bool expected);
AbortRecord& aborts();

void test_smp();
void test_vtimer();
void test_ptimer();
void test_suspend();
void test_sgi();
void test_gic_registers();
void test_fp();
void test_isolation();
void test_exec_fault();
void test_fault_loop();
void test_reset_loop();
void test_bench();
void test_entry();
void test_traps();
void test_restart_state();
void test_pmu();
void test_actlr();
void test_impdef();
void test_set_way();
void test_pci_enumerate();
void test_pci_bars();
void test_pci_registers();
void test_pci_move();
void test_pci_decode();
void test_pci_power_on();
void test_pci_forbidden();
void test_pci_intx();
void test_pci_bus_master();
void test_pci_hold();
void test_park();
void test_msi();
void test_msi_bench();
void test_pci_reset_dirty();
void test_dma_own();
void test_dma_isolation();
void test_dma_watch();
void test_dma_bench();
void test_console_flood();
void test_console_witness();
void test_cpu_on_race();
void test_waker_untouched();
void test_sgi_wfi();
void test_disabled_pending();
void test_level_eoi_first();
void test_other_vcpu_ppi();

// probe.sleep-first-ms=N: before anything else, sleep N ms in PSCI CPU_SUSPEND (the vCPU
// halts, so under -icount the other partitions' CPUs run meanwhile and this guest adds
// nothing to their figures). The bench figures then include `sleep-counter`, CNTPCT
// when the sleep began.
void sleep_first(uint64_t milliseconds);

}  // namespace probe
