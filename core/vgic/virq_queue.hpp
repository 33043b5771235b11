// One vCPU's virtual interrupts waiting for, or sitting in, its list registers.
//
// `fill` places the most urgent entries into the N list registers the CPU has (4 on
// QEMU's cortex-a57): active ones first (an active interrupt must stay visible so the
// guest can deactivate it), then pending ones by priority (lower value first), ties by
// lower INTID. What does not fit stays queued and `fill` asks for a maintenance
// interrupt so the target can refill:
//   - NPIE (no LR pending) when some LR holds a pending entry: fires once the guest has
//     acknowledged everything it was offered;
//   - UIE (underflow, at most one valid LR) with two or more LRs: fires once the guest has
//     deactivated enough. NPIE alone would fire at once when every LR holds an active
//     interrupt; UIE alone with one LR would fire at once, so neither is used then.
//
// `fold_back` reads the list registers after an exit and compares each with what `fill`
// wrote. The difference is what the guest did: acknowledged the pending interrupt
// (pending consumed) and/or changed its active state (deactivation, or acknowledgement).
// Only that difference is applied, to the entry and reported to the caller, so changes
// another CPU made to the interrupt meanwhile (a guest ICPENDR write, say) are not undone
// by a stale LR. Entries neither pending nor active afterwards (EOI'd) leave the queue.
//
// Level-triggered interrupts: the queue only sees the latch; the owner re-queues a
// level interrupt whose line is still asserted after the guest consumed it (VirtualGic
// does this by rebuilding the queue from the interrupt state before each entry).
// Hardware-backed entries never go into an LR as pending+active: the pending part waits
// until the active one is deactivated (the physical interrupt can only be active once).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/vgic/interrupt.hpp"
#include "core/vgic/list_register.hpp"

namespace bulkhead::vgic {

struct Virq {
  uint16_t intid = 0;
  uint16_t physical_intid = 0;  // hardware only
  uint8_t priority = 0;
  bool group1 = true;
  bool hardware = false;
};

struct FillResult {
  size_t used = 0;      // LRs written with a valid entry (the rest were written invalid)
  size_t left_out = 0;  // entries still waiting
  bool underflow = false;
  bool no_pending = false;
  // OR into ICH_HCR_EL2 (with En).
  uint64_t maintenance_bits() const { return (underflow ? ich_hcr::uie : 0) | (no_pending ? ich_hcr::npie : 0); }
};

// What the guest did to one interrupt while it sat in a list register.
struct LrTransition {
  uint16_t intid = 0;
  bool pending_consumed = false;  // acknowledged: clear the pending latch
  bool active_changed = false;    // then the active state is `active`
  bool active = false;
};

class VirqQueue {
 public:
  static constexpr size_t capacity = private_interrupt_count + max_owned_spis;
  static constexpr size_t max_list_registers = 16;

  void clear();  // drops every entry and what the last fill wrote
  // Inserts or replaces the entry for virq.intid with this state; `invalid` removes it.
  // False only when full (the interrupt stays pending at its source).
  bool set(const Virq& virq, LrState state);
  // Makes the interrupt pending (pending+active if it is active). False when full.
  bool add_pending(const Virq& virq);
  LrState state_of(uint32_t intid) const;
  size_t size() const { return count_; }

  // Writes `lr_count` list register values (at most max_list_registers).
  FillResult fill(uint64_t* list_registers, size_t lr_count);
  // Reads back the list registers `fill` wrote; writes one transition per changed LR
  // into `transitions` (room for lr_count) and returns how many.
  size_t fold_back(const uint64_t* list_registers, size_t lr_count, LrTransition* transitions);

 private:
  struct Entry {
    Virq virq;
    LrState state = LrState::invalid;
  };
  struct Written {
    uint16_t intid = 0;
    LrState state = LrState::invalid;
  };

  size_t find(uint32_t intid) const;  // capacity when absent
  void remove(size_t index);
  static bool more_urgent(const Entry& left, const Entry& right);

  Entry entries_[capacity] = {};
  size_t count_ = 0;
  Written written_[max_list_registers] = {};
  size_t written_count_ = 0;
};

}  // namespace bulkhead::vgic
