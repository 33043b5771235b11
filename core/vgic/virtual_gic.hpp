// A partition's whole virtual GICv3: the distributor, one redistributor and one list-
// register queue per vCPU, and the plumbing between them. The target drives it from its
// trap handlers and calls nothing else in core/vgic:
//
//   exit from vCPU k       live_list_registers(k)      the only LRs worth reading back
//                          fold_back(k, lrs)           what the guest did to them
//   MMIO trap in the GIC   read()/write()              events: program the physical GIC,
//   ICC_SGI1R/SGI0R trap   send_sgi()                  kick vCPUs (IPI those running
//   physical IRQ acked     hardware_interrupt()        elsewhere so they exit)
//   LPI of an MSI acked    signal_message()
//   virtual device line    set_line()
//   entry into vCPU k      sync(k, lrs)                the LRs to write + ICH_HCR_EL2
//                                                      maintenance bits
//
// The interrupt state in the distributor and redistributors is authoritative; each
// vCPU's queue mirrors what of it must be in that vCPU's LRs, and fold_back applies only
// what the guest did (see virq_queue.hpp), so accesses made meanwhile from other vCPUs are
// not lost. The queue is kept in step cheaply: a newly pending interrupt (a physical
// interrupt, an SGI, a device line) and an LR the guest changed update just that entry;
// any other change (enables, priorities, groups, routing, GICD_CTLR, GICR_WAKER, pending
// or active bits written by the guest) marks the vCPUs it concerns for a rebuild of their
// queue from the authoritative state at their next entry. `fill` is that rebuild plus a
// full placement. An exit that changes nothing writes no LR. The target serialises all
// calls for one partition (one lock per partition).
//
// Delivered to vCPU k on entry: its SGIs/PPIs and the SPIs routed to it that are pending,
// enabled, in a group GICD_CTLR enables, while its GICR_WAKER.ProcessorSleep is 0; and
// every active one (it must stay in an LR until the guest deactivates it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/vgic/interrupt.hpp"
#include "core/vgic/sgi.hpp"
#include "core/vgic/vgic_distributor.hpp"
#include "core/vgic/vgic_redistributor.hpp"
#include "core/vgic/virq_queue.hpp"

namespace bulkhead::vgic {

struct GicConfig {
  uint8_t vcpu_count = 1;
  uint8_t priority_bits = 5;
  uint64_t distributor_base = 0;    // guest-physical, 64 KiB
  uint64_t redistributor_base = 0;  // guest-physical, 128 KiB per vCPU in vCPU order
  const OwnedSpi* spis = nullptr;
  size_t spi_count = 0;
  MessageRange messages;       // the partition's MBI SPIs (its MSIs), besides `spis`
  uint32_t hardware_ppis = 0;  // e.g. the virtual and EL1 physical timer PPIs (27, 30)
};

class VirtualGic {
 public:
  ConfigError configure(const GicConfig& config);
  void reset();  // partition reset: architectural reset of every register and queue

  // Guest-physical addresses: the distributor frame and the vCPUs' redistributor frames.
  bool claims(uint64_t address) const;
  AccessResult read(uint64_t address, unsigned width, uint64_t& value) const;
  AccessResult write(uint64_t address, unsigned width, uint64_t value, Events& events);

  // A trapped ICC_SGI1R_EL1 (group1 = true) or ICC_SGI0R_EL1 (false) write by vCPU `vcpu`.
  // With a single security state, an SGI is only set pending at targets where that SGI
  // is configured in the same group (as KVM does).
  void send_sgi(uint8_t vcpu, uint64_t value, bool group1, Events& events);
  // The target acknowledged (and priority-dropped, EOImode = 1) a physical interrupt on
  // the CPU running `vcpu`, leaving it active: mark the virtual one pending. False when
  // the partition does not own it as hardware-backed (the target deactivates and logs).
  bool hardware_interrupt(uint8_t vcpu, uint16_t physical_intid, Events& events) {
    InterruptState* irq = interrupt(vcpu, physical_intid);  // identity mapping
    if (irq == nullptr || !irq->hardware) return false;
    irq->pending_latch = true;
    if (irq->target_vcpu == vcpu) {
      requeue_here(*irq);  // taken on the CPU of its vCPU: straight into a free LR
    } else {
      requeue(*irq);
    }
    events.kick(irq->target_vcpu);
    return true;
  }
  // A message for SPI `intid` of the partition's MBI range arrived (the LPI an MSI of its
  // functions raised was taken on the CPU running `vcpu`): it becomes pending, edge
  // semantics, as a GICD_SETSPI_NSR write would make it. False when `intid` is not one of
  // its message-based SPIs. Inline: the LPI path compiles it in.
  bool signal_message(uint8_t vcpu, uint16_t intid, Events& events) {
    InterruptState* irq = distributor_.message_spi(intid);
    if (irq == nullptr) return false;
    if (irq->pending_latch) {
      // Taken on the target vCPU's own CPU, its list registers were folded at this exit:
      // still pending means not yet acknowledged, and the two messages are one interrupt.
      // Elsewhere the guest may have acknowledged it since; pend it again when the fold
      // says so, rather than lose a message.
      if (irq->target_vcpu != vcpu) irq->message_again = true;
      return true;
    }
    irq->pending_latch = true;
    if (irq->target_vcpu == vcpu) {
      requeue_here(*irq);
    } else {
      requeue(*irq);
    }
    events.kick(irq->target_vcpu);
    return true;
  }
  // A virtual device's interrupt line. Level-triggered: pending while asserted; configured
  // edge-triggered: a rising edge latches pending. `vcpu` selects the bank for PPIs.
  bool set_line(uint8_t vcpu, uint16_t intid, bool asserted, Events& events);

  // LRs that can hold something the guest changed (bit n: LR n): read back only these.
  uint32_t live_list_registers(uint8_t vcpu) const { return queues_[vcpu % max_vcpus].live_mask(); }
  // What the guest did to vCPU `vcpu`'s live LRs, read through `read_lr(slot,
  // written_value)` (see VirqQueue::fold). Inline: the target's exit path compiles it in.
  template <typename ReadLr>
  void fold(uint8_t vcpu, size_t lr_count, ReadLr&& read_lr) {
    if (vcpu >= vcpu_count()) return;
    queues_[vcpu].fold(lr_count, read_lr, [this, vcpu](const LrTransition& transition) {
      InterruptState* irq = interrupt(vcpu, transition.intid);
      if (irq == nullptr) return;
      if (transition.pending_consumed) {
        irq->pending_latch = irq->message_again;  // a message that came meanwhile on another CPU
        irq->message_again = false;
      }
      if (transition.active_changed) irq->active = transition.active;
      // The queue applied the same difference to the entry; only a level-triggered line
      // still asserted makes the interrupt pending again at once.
      if (irq->pending()) requeue(*irq);
    });
  }
  void fold_back(uint8_t vcpu, const uint64_t* list_registers, size_t lr_count) {
    fold(vcpu, lr_count, [list_registers](size_t slot, uint64_t) { return list_registers[slot]; });
  }
  // Rebuilds vCPU `vcpu`'s queue from the interrupt state and writes every LR.
  FillResult fill(uint8_t vcpu, uint64_t* list_registers, size_t lr_count);
  // The cheap path at every entry: rebuilds only if something asked for it, then calls
  // `write_lr(slot, value)` for the LRs that change; returns the maintenance bits.
  template <typename WriteLr>
  uint64_t sync(uint8_t vcpu, size_t lr_count, WriteLr&& write_lr) {
    if (vcpu >= vcpu_count()) return 0;
    if (queues_[vcpu].rebuild_requested()) rebuild(vcpu);
    return queues_[vcpu].sync(lr_count, write_lr);
  }
  SyncResult sync(uint8_t vcpu, uint64_t* list_registers, size_t lr_count) {
    SyncResult result;
    result.maintenance = sync(vcpu, lr_count, [&](size_t slot, uint64_t value) {
      list_registers[slot] = value;
      result.written |= uint32_t{1} << slot;
    });
    return result;
  }
  // The vCPU's LRs may need writing: a rebuild is due or its queue changed.
  bool needs_sync(uint8_t vcpu) const {
    return queues_[vcpu % max_vcpus].needs_sync();
  }
  // Something is pending or active for the vCPU (after a sync): CPU_SUSPEND returns.
  bool has_work(uint8_t vcpu) const { return queues_[vcpu % max_vcpus].size() != 0; }

  uint8_t vcpu_count() const { return distributor_.vcpu_count(); }
  VirtualDistributor& distributor() { return distributor_; }
  const VirtualDistributor& distributor() const { return distributor_; }
  VirtualRedistributor& redistributor(uint8_t vcpu) { return redistributors_[vcpu % max_vcpus]; }
  const VirtualRedistributor& redistributor(uint8_t vcpu) const { return redistributors_[vcpu % max_vcpus]; }
  const VirqQueue& queue(uint8_t vcpu) const { return queues_[vcpu % max_vcpus]; }
  // The interrupt `intid` as vCPU `vcpu` sees it; nullptr when the partition does not own it.
  InterruptState* interrupt(uint8_t vcpu, uint32_t intid) {
    if (intid < private_interrupt_count) {
      return vcpu < vcpu_count() ? &redistributors_[vcpu % max_vcpus].interrupt(intid) : nullptr;
    }
    return distributor_.spi(intid);
  }

 private:
  // `bank`: the redistributor of the vCPU the interrupt would be delivered to.
  bool deliverable(const InterruptState& irq, const VirtualRedistributor& bank) const {
    return irq.pending() && irq.enabled && distributor_.group_enabled(irq.group1) && !bank.processor_sleep();
  }
  // Brings `destination`'s entry for `irq` in line with its state (removes it when it is
  // neither deliverable nor active).
  static void queue_interrupt(VirqQueue& destination, const InterruptState& irq, LrState state) {
    Virq virq;
    virq.intid = irq.intid;
    virq.physical_intid = irq.physical_intid;
    virq.priority = irq.priority;
    virq.group1 = irq.group1;
    virq.hardware = irq.hardware;
    destination.set(virq, state);  // cannot be full: capacity covers every interrupt a vCPU can own
  }
  // The same for an interrupt that became pending for the calling vCPU itself.
  void requeue_here(const InterruptState& irq) {
    const uint8_t vcpu = irq.target_vcpu;
    if (vcpu >= vcpu_count() || queues_[vcpu].rebuild_requested()) return;
    if (!deliverable(irq, redistributors_[vcpu])) return requeue(irq);
    Virq virq;
    virq.intid = irq.intid;
    virq.physical_intid = irq.physical_intid;
    virq.priority = irq.priority;
    virq.group1 = irq.group1;
    virq.hardware = irq.hardware;
    if (irq.active) {
      queues_[vcpu].add_pending(virq);
    } else {
      queues_[vcpu].add_pending_here(virq);
    }
  }
  // One interrupt changed: bring its vCPU's queue entry in line, unless a rebuild is due.
  void requeue(const InterruptState& irq) {
    const uint8_t vcpu = irq.target_vcpu;
    if (vcpu >= vcpu_count() || queues_[vcpu].rebuild_requested()) return;
    queue_interrupt(queues_[vcpu], irq, make_state(deliverable(irq, redistributors_[vcpu]), irq.active));
  }
  void rebuild(uint8_t vcpu);
  // Every vCPU in `vcpus` (bit n: vCPU n) rebuilds its queue before it next runs.
  void mark_rebuild(uint32_t vcpus) {
    for (; vcpus != 0; vcpus &= vcpus - 1) queues_[__builtin_ctz(vcpus) % max_vcpus].request_rebuild();
  }

  VirtualDistributor distributor_;
  VirtualRedistributor redistributors_[max_vcpus];
  VirqQueue queues_[max_vcpus];
  uint64_t distributor_base_ = 0;
  uint64_t redistributor_base_ = 0;
};

}  // namespace bulkhead::vgic
