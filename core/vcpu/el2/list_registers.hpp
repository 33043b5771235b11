// List-register work the exits compile in (interrupts.cpp has the rest): ICH_HCR_EL2
// written only when it changes, the guest's interrupt masks as an entry finds them, and
// the interrupt exit's fast path. Inline: they run on the interrupt exit's path, whose
// every call costs (issue 9's timer IRQ budget).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/psr.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/vcpu/el2/vcpu.hpp"

namespace bulkhead::vcpu {

[[gnu::always_inline]] inline void write_ich_hcr(Vcpu& vcpu, uint64_t maintenance) {
  const uint64_t value = arch::ich_hcr::en | maintenance;
  if (value == vcpu.ich_hcr) return;
  arch::sysreg::ich_hcr_el2::write(value);
  vcpu.ich_hcr = value;
}

// The guest as it resumes with `guest_pstate` (SPSR_EL2): read only while an LR offers a
// hardware level interrupt pending, for whether it takes it at once (then its
// acknowledgement is not trapped).
[[gnu::always_inline]] inline vgic::GuestInterruptMask guest_interrupt_mask(uint64_t guest_pstate) {
  vgic::GuestInterruptMask guest;
  guest.irqs_masked = (guest_pstate & arch::psr::irq_mask) != 0;
  guest.fiqs_masked = (guest_pstate & arch::psr::fiq_mask) != 0;
  const uint64_t vmcr = arch::sysreg::ich_vmcr_el2::read();
  guest.group0_enabled = (vmcr & arch::ich_vmcr::veng0) != 0;
  guest.group1_enabled = (vmcr & arch::ich_vmcr::veng1) != 0;
  guest.priority_mask = arch::ich_vmcr::priority_mask(vmcr);
  // 5 priority bits: one active-priority register per group (as vcpu_entry.cpp resets them).
  guest.handling = (arch::sysreg::ich_ap0r0_el2::read() | arch::sysreg::ich_ap1r0_el2::read()) != 0;
  return guest;
}

// The interrupt exit's fast path (VirtualGic::refire): the physical interrupt `intid`,
// acknowledged and priority-dropped, fires again for the LR the guest has just finished
// with: that LR is written again and ICH_HCR_EL2 set (for a guest resuming with
// `guest_pstate`), with no fold or sync. False when it does not apply (nothing done).
[[gnu::always_inline]] inline bool refire_list_register(Vcpu& vcpu, uint32_t intid, uint64_t guest_pstate) {
  uint64_t control = 0;
  if (!vcpu.vm->gic.refire(
          static_cast<uint8_t>(vcpu.index), intid, arch::sysreg::ich_elrsr_el2::read(),
          [](size_t slot, uint64_t value) { arch::sysreg::write_list_register(slot, value); },
          [guest_pstate] { return guest_interrupt_mask(guest_pstate); }, control)) {
    return false;
  }
  write_ich_hcr(vcpu, control);
  return true;
}

}  // namespace bulkhead::vcpu
