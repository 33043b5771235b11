#include "timer.hpp"

#include "arch.hpp"
#include "gic.hpp"

namespace probe::timer {

uint32_t ppi(Kind kind) { return kind == Kind::virtual_timer ? gic::virtual_timer_ppi : gic::physical_timer_ppi; }

uint64_t count(Kind kind) { return kind == Kind::virtual_timer ? virtual_count() : physical_count(); }

uint64_t control(Kind kind) {
  isb();
  return kind == Kind::virtual_timer ? PROBE_READ_SYSREG(cntv_ctl_el0) : PROBE_READ_SYSREG(cntp_ctl_el0);
}

void set_control(Kind kind, uint64_t value) {
  if (kind == Kind::virtual_timer) {
    PROBE_WRITE_SYSREG(cntv_ctl_el0, value);
  } else {
    PROBE_WRITE_SYSREG(cntp_ctl_el0, value);
  }
  isb();
}

void set_compare(Kind kind, uint64_t value) {
  if (kind == Kind::virtual_timer) {
    PROBE_WRITE_SYSREG(cntv_cval_el0, value);
  } else {
    PROBE_WRITE_SYSREG(cntp_cval_el0, value);
  }
  isb();
}

void set_timer(Kind kind, uint64_t ticks) {
  if (kind == Kind::virtual_timer) {
    PROBE_WRITE_SYSREG(cntv_tval_el0, ticks);
  } else {
    PROBE_WRITE_SYSREG(cntp_tval_el0, ticks);
  }
  isb();
}

uint64_t compare(Kind kind) {
  return kind == Kind::virtual_timer ? PROBE_READ_SYSREG(cntv_cval_el0) : PROBE_READ_SYSREG(cntp_cval_el0);
}

namespace {
void timer_hook(uint32_t intid) {
  const Kind kind = intid == gic::virtual_timer_ppi ? Kind::virtual_timer : Kind::physical_timer;
  gic::record(vcpu_index()).timer_control = static_cast<uint32_t>(control(kind));
  set_control(kind, 0);
}
}  // namespace

void install_hooks() {
  gic::set_hook(gic::virtual_timer_ppi, timer_hook);
  gic::set_hook(gic::physical_timer_ppi, timer_hook);
}

}  // namespace probe::timer
