// What goes between the virtual interrupt queue (virq_queue.hpp) and its owner: a
// virtual interrupt as the list registers carry it, the guest's interrupt masks an entry
// finds, and what a fill, a sync and a fold report.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/vgic/list_register.hpp"

namespace bulkhead::vgic {

struct Virq {
  uint16_t intid = 0;
  uint16_t physical_intid = 0;  // hardware only
  uint8_t priority = 0;
  bool group1 = true;
  bool hardware = false;
  // A virtual level interrupt whose line is asserted: EOI maintenance on its deactivation
  // (it is pending again at once).
  bool level_resample = false;
  // A hardware-backed level interrupt: while an LR offers it pending, the guest's
  // acknowledgement is checked (virq_queue.hpp).
  bool checked = false;
};

// The guest as an entry finds it, for the acknowledgement check (read by the target from
// SPSR_EL2, the PSTATE the guest resumes with, ICH_VMCR_EL2 and ICH_AP0R0/AP1R0_EL2). The
// default is a guest that takes nothing at once: the check stays armed.
struct GuestInterruptMask {
  bool irqs_masked = true;      // PSTATE.I: Group 1 interrupts (virtual IRQs)
  bool fiqs_masked = true;      // PSTATE.F: Group 0 interrupts (virtual FIQs)
  bool group0_enabled = false;  // ICH_VMCR_EL2.VENG0
  bool group1_enabled = false;  // ICH_VMCR_EL2.VENG1
  uint8_t priority_mask = 0;    // ICH_VMCR_EL2.VPMR: priorities below it are signalled
  bool handling = true;         // an active priority: the guest is in a handler
};

struct FillResult {
  size_t used = 0;      // LRs written with a valid entry (the rest were written invalid)
  size_t left_out = 0;  // entries still waiting
  bool underflow = false;
  bool no_pending = false;
  bool eoi = false;    // an LR asks for EOI maintenance so that waiting entries get in
  bool check = false;  // an LR offers a checked interrupt pending: trap the acknowledgement
  // OR into ICH_HCR_EL2 (with En).
  uint64_t maintenance_bits() const {
    return (underflow ? ich_hcr::uie : 0) | (no_pending ? ich_hcr::npie : 0) |
           (check ? ich_hcr::tall0 | ich_hcr::tall1 : 0);
  }
};

// What one sync wrote: bit n of `written` set = list_registers[n] holds the new value of
// LR n, which the target must write; the other LRs keep what the hardware holds.
struct SyncResult {
  uint32_t written = 0;
  uint64_t maintenance = 0;  // ICH_HCR_EL2 bits now wanted besides En
};

// What the guest did to one interrupt while it sat in a list register. No default
// member values: arrays of them are filled before they are read, and an exit should not
// pay for clearing them.
struct LrTransition {
  uint16_t intid;
  bool pending_consumed;  // acknowledged: clear the pending latch
  bool active_changed;    // then the active state is `active`
  bool active;
  // A hardware-backed interrupt written as a virtual one (EOI maintenance) was
  // deactivated: EL2 deactivates its physical interrupt.
  bool physical_deactivate;
  bool left;  // it has no entry in the queue any more (the owner re-queues what is still due)
};

}  // namespace bulkhead::vgic
