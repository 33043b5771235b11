// The EL1 virtual (CNTV_*, PPI 27) and physical (CNTP_*, PPI 30) timers.
#pragma once

#include <cstdint>

namespace probe::timer {

constexpr uint64_t ctl_enable = 1u << 0;
constexpr uint64_t ctl_imask = 1u << 1;
constexpr uint64_t ctl_istatus = 1u << 2;

enum class Kind { virtual_timer, physical_timer };

uint32_t ppi(Kind kind);
uint64_t count(Kind kind);  // CNTVCT_EL0 / CNTPCT_EL0
uint64_t control(Kind kind);
void set_control(Kind kind, uint64_t value);
void set_compare(Kind kind, uint64_t value);  // CVAL
void set_timer(Kind kind, uint64_t ticks);    // TVAL
uint64_t compare(Kind kind);

// The IRQ hooks for both PPIs: record CTL (ISTATUS) in the vCPU's IrqRecord, then
// disable the timer so its level drops before the EOI.
void install_hooks();

}  // namespace probe::timer
