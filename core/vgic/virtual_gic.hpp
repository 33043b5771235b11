// A partition's whole virtual GICv3: the distributor, one redistributor and one list-
// register queue per vCPU, and the plumbing between them. The target drives it from its
// trap handlers and calls nothing else in core/vgic:
//
//   exit from vCPU k       live_list_registers(k)      the only LRs worth reading back
//                          fold(k, ...)                what the guest did to them
//   MMIO trap in the GIC   read()/write()              events: program the physical GIC,
//   ICC_SGI1R/SGI0R trap   send_sgi()                  kick vCPUs (IPI those running
//   physical IRQ acked     hardware_interrupt()        elsewhere so they exit)
//   LPI of an MSI acked    signal_message()
//   virtual device line    set_line()
//   entry into vCPU k      sync(k, ...)                the LRs to write + ICH_HCR_EL2
//                                                      maintenance bits
//   ICC_* trap (TALL0/1)   check_acknowledgement(k)    hardware level lines sampled
//   after k's sync         needs_attention(k)          work only k's CPU can do: another
//                          take_work(k, events)        vCPU's requests for k's hardware
//                                                      PPIs, and what k's fold/sync found
//                                                      (k's queue then asks for a sync)
//
// The interrupt state in the distributor and redistributors is authoritative; each
// vCPU's queue mirrors what of it must be in that vCPU's LRs, and fold applies only
// what the guest did (see virq_queue.hpp), so accesses made meanwhile from other vCPUs are
// not lost. The queue is kept in step cheaply: a newly pending interrupt (a physical
// interrupt, an SGI, a device line) and an LR the guest changed update just that entry;
// any other change (enables, priorities, groups, routing, GICD_CTLR, pending or active
// bits written by the guest) marks the vCPUs it concerns for a rebuild of their queue
// from the authoritative state at their next entry. `fill` is that rebuild plus a full
// placement. An exit that changes nothing writes no LR. The target serialises all calls
// for one partition (one lock per partition).
//
// Delivered to vCPU k on entry: its SGIs/PPIs and the SPIs whose target it is that are
// pending, enabled, in a group GICD_CTLR enables; and every active one (it must stay in an
// LR until the guest deactivates it). GICR_WAKER does not gate delivery (KVM neither).
//
// Exactness while the guest runs. A pend (SGI, edge, GICD_ISPENDR, GICD_SETSPI_NSR,
// message) of an interrupt that is still pending is one interrupt, unless a running vCPU's
// LR offers it: the guest may have taken the first one already, without an exit. Then the
// interrupt is marked `repend` and that vCPU kicked; its fold decides: the guest took the
// first -> pending again; it did not -> one interrupt. Only a guest that takes the first
// between the second pend and its exit gets one interrupt more than hardware would give
// (no hypervisor can see that order; KVM does the same), never one less. A broadcast
// (IRM = 1) reaches every other vCPU every time. Likewise a deactivation (ICACTIVER) by
// another vCPU of an interrupt a running vCPU's LR offers pending: that guest may have
// acknowledged it meanwhile, so the interrupt is marked `deactivate_at_fold` and that vCPU
// kicked; its fold applies what its guest did, then the deactivation (of the physical
// interrupt too, on its own CPU), so the guest that asked is never ignored.
//
// Routing (KVM's rule). An SPI stays with the vCPU whose LRs hold it (active, or offered
// to its running guest) until it has left them; then it follows GICD_IROUTER. So its
// deactivation always finds its LR and it is never offered on two vCPUs.
//
// Hardware-backed level interrupts are pending while their physical line is asserted:
// EL2 takes one with the line asserted; the guest's acknowledgement consumes that (if the
// line stays asserted, the physical interrupt fires again once the guest's deactivation
// deactivates it). The guest can clear the device without an exit between EL2 taking it
// and its own acknowledgement (a guest that EOIs before it clears the device meets exactly
// that: the interrupt fires again at its EOI), so the acknowledgement is checked: while an
// LR offers one pending, the guest's ICC_* accesses trap (virq_queue.hpp), and
// check_acknowledgement() samples the line (PhysicalInterrupts) and withdraws it if it
// dropped; unless the entry finds the guest taking it at once (sync's `read_guest`,
// VirqQueue::taken_at_once: EL2 took it in this very exit), which leaves it no chance to
// clear the device first. Its pending bit in GICD_ISPENDR/GICR_ISPENDR0 reads the
// physical interrupt too, so a disabled one with its line asserted reads pending, and is
// delivered once enabled.
//
// Another vCPU's hardware PPIs. A PPI exists only in the redistributor of the CPU running
// its vCPU, so a guest write that changes one of another vCPU's hardware PPIs (enable,
// pending, active) leaves that CPU a request (needs_attention/take_work) and kicks it:
// its physical PPI then follows the virtual state, exactly as the guest asked.
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
  // The caller of an operation when it is no vCPU of the partition (a device, console input).
  static constexpr uint8_t no_vcpu = InterruptState::no_vcpu;

  ConfigError configure(const GicConfig& config);
  void reset();  // partition reset: architectural reset of every register and queue
  // The physical GIC's pending state, for hardware-backed interrupts (kept across
  // configure and reset); null, the default: none is read, the virtual state alone decides.
  void set_physical(const PhysicalInterrupts* physical);

  // Guest-physical addresses: the distributor frame and the vCPUs' redistributor frames.
  bool claims(uint64_t address) const;
  AccessResult read(uint64_t address, unsigned width, uint64_t& value) const;
  // A guest access by vCPU `caller`. Requests for another vCPU's hardware PPIs do not
  // appear in `events`: they wait for that vCPU (take_work), which `events` kicks.
  AccessResult write(uint64_t address, unsigned width, uint64_t value, Events& events, uint8_t caller);

  // A trapped ICC_SGI1R_EL1 (group1 = true) or ICC_SGI0R_EL1 (false) write by vCPU `vcpu`.
  // With a single security state, an SGI is only set pending at targets where that SGI
  // is configured in the same group (as KVM does).
  void send_sgi(uint8_t vcpu, uint64_t value, bool group1, Events& events);
  // The target acknowledged (and priority-dropped, EOImode = 1) a physical interrupt on
  // the CPU running `vcpu`, leaving it active: the virtual one becomes pending (level:
  // while its line stays asserted). False when the partition does not own it as
  // hardware-backed (the target deactivates and logs). Inline: the IRQ path compiles it in.
  [[gnu::always_inline]] bool hardware_interrupt(uint8_t vcpu, uint16_t physical_intid, Events& events) {
    InterruptState* irq = interrupt(vcpu, physical_intid);  // identity mapping
    if (irq == nullptr || !irq->hardware) return false;
    if (irq->edge) {
      pend(*irq, vcpu, events);
      return true;
    }
    const bool was_pending = irq->pending();
    irq->line_asserted = true;
    sampled_line_[vcpu % max_vcpus] = physical_intid;
    if (was_pending) {
      requeue(*irq);  // its LR is now to be checked
      pend_again(*irq, vcpu, events, true);
    } else {
      queue_pended(*irq, vcpu, events);
    }
    return true;
  }
  // The interrupt exit's fast path, tried before the fold: the physical interrupt
  // `physical_intid` (acknowledged and priority-dropped on vCPU `vcpu`'s CPU) fires again
  // for the one LR of `vcpu` that offered it pending, which the guest has acknowledged
  // and deactivated since (`empty_lrs`: ICH_ELRSR_EL2). A hardware-backed interrupt
  // pending by that one pend alone (its line, or its latch if edge), not active, enabled,
  // delivered and routed to `vcpu`, with nothing marked for the fold, in a queue holding
  // nothing else (VirqQueue::refire_slot): the fold would consume the pend and
  // hardware_interrupt() restore it, so the model stays as it is. `write_lr(slot, value)`
  // writes that LR again; `control` gets the ICH_HCR_EL2 bits wanted besides En, the
  // acknowledgement check left off when `read_guest()` shows the guest takes it at once
  // (as sync does). False when anything else holds: nothing changed, and the caller runs
  // the full path (fold, hardware_interrupt, sync). Inline: the IRQ path compiles it in.
  template <typename WriteLr, typename ReadGuest>
  [[gnu::always_inline]] bool refire(uint8_t vcpu, uint32_t physical_intid, uint64_t empty_lrs, WriteLr&& write_lr,
                                     ReadGuest&& read_guest, uint64_t& control) {
    constexpr uint64_t check_bits = ich_hcr::tall0 | ich_hcr::tall1;
    if (vcpu >= vcpu_count()) return false;
    VirqQueue& vcpu_queue = queues_[vcpu];
    const size_t slot = vcpu_queue.refire_slot(physical_intid, empty_lrs);
    if (slot == VirqQueue::no_list_register || needs_attention(vcpu)) return false;
    const InterruptState* irq = interrupt(vcpu, physical_intid);  // identity mapping
    if (irq == nullptr || !refires_unchanged(*irq, vcpu)) return false;
    const uint64_t value = vcpu_queue.refire(slot);
    write_lr(slot, value);
    control = vcpu_queue.control_bits();
    // Its LR is the only live one, and the check (if any) is for it: the guest takes it
    // at once exactly when it is signalled (VirqQueue::taken_at_once).
    if ((control & check_bits) != 0 && VirqQueue::signalled_at_once(read_guest(), value)) control &= ~check_bits;
    return true;
  }
  // A message for SPI `intid` of the partition's MBI range arrived (the LPI an MSI of its
  // functions raised was taken on the CPU running `vcpu`): it becomes pending, edge
  // semantics, as a GICD_SETSPI_NSR write would make it. False when `intid` is not one of
  // its message-based SPIs. Inline: the LPI path compiles it in.
  bool signal_message(uint8_t vcpu, uint16_t intid, Events& events) {
    InterruptState* irq = distributor_.message_spi(intid);
    if (irq == nullptr) return false;
    pend(*irq, vcpu, events);
    return true;
  }
  // A virtual device's interrupt line. Level-triggered: pending while asserted; configured
  // edge-triggered: a rising edge latches pending. `bank` selects the vCPU for PPIs;
  // `caller`: the vCPU whose exit drives the device, if it is one.
  bool set_line(uint8_t bank, uint16_t intid, bool asserted, Events& events, uint8_t caller = no_vcpu);

  // LRs that can hold something the guest changed (bit n: LR n): read back only these.
  uint32_t live_list_registers(uint8_t vcpu) const { return queues_[vcpu % max_vcpus].live_mask(); }
  // What the guest did to vCPU `vcpu`'s live LRs, read through `read_lr(slot,
  // written_value)` (see VirqQueue::fold), on that vCPU's exit. Inline: the target's exit
  // path compiles it in.
  template <typename ReadLr>
  void fold(uint8_t vcpu, size_t lr_count, ReadLr&& read_lr) {
    if (vcpu >= vcpu_count()) return;
    queues_[vcpu].fold(
        lr_count, read_lr, [this, vcpu](const LrTransition& transition) { after_transition(vcpu, transition); },
        [this, vcpu](uint16_t intid) { still_offered(vcpu, intid); });
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
    sampled_line_[vcpu] = 0;
    return sync_queue(vcpu, lr_count, write_lr);
  }
  // The same for an entry into a guest whose state `read_guest()` gives (GuestInterruptMask;
  // asked only while an LR offers a checked interrupt pending): no acknowledgement check
  // when the guest takes that interrupt at once (VirqQueue::taken_at_once).
  // Only for the interrupt EL2 took in this very exit (hardware_interrupt): its line was
  // asserted just now; one that waited for an LR may have dropped since.
  template <typename WriteLr, typename ReadGuest>
  uint64_t sync(uint8_t vcpu, size_t lr_count, WriteLr&& write_lr, ReadGuest&& read_guest) {
    constexpr uint64_t check_bits = ich_hcr::tall0 | ich_hcr::tall1;
    if (vcpu >= vcpu_count()) return 0;
    const uint16_t sampled = sampled_line_[vcpu];
    sampled_line_[vcpu] = 0;
    const uint64_t control = sync_queue(vcpu, lr_count, write_lr);
    if ((control & check_bits) == 0 || sampled == 0 || !queues_[vcpu].taken_at_once(read_guest(), sampled)) {
      return control;
    }
    return control & ~check_bits;
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
  // vCPU `vcpu`'s guest accessed an ICC_* register while the acknowledgement check was
  // armed (ICH_HCR_EL2.TALL0/TALL1, from sync/fill): the hardware level lines its LRs
  // offer pending are sampled, those that dropped withdrawn (`events`: their physical
  // interrupts deactivated), and the check is off until its next exit, so that the
  // target returns to the trapped instruction and the guest's access runs natively.
  void check_acknowledgement(uint8_t vcpu, Events& events);

  // Work for the physical CPU of vCPU `vcpu` (see the table above). Its queue then asks
  // for a sync too (VirqQueue::needs_sync), so an exit asks this only after a sync.
  bool needs_attention(uint8_t vcpu) const { return ((attention_ >> (vcpu % max_vcpus)) & 1u) != 0; }
  // Moves that work into `events` (hardware requests on this vCPU's own PPIs, SPIs, kicks).
  void take_work(uint8_t vcpu, Events& events);
  // vCPU `vcpu` enters: its CPU's hardware PPIs must follow the virtual state (enable and
  // active), whatever they were; take_work() then carries it out.
  void request_ppi_sync(uint8_t vcpu);
  // vCPU `vcpu` stopped (PSCI CPU_OFF): its list registers are gone. SPIs it held that
  // are routed to another vCPU go there (`events` kicks it); actives stay (the guest can
  // no longer deactivate them there, as on hardware).
  void vcpu_stopped(uint8_t vcpu, Events& events);

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
  bool deliverable(const InterruptState& irq) const {
    return irq.pending() && irq.enabled && distributor_.group_enabled(irq.group1);
  }
  [[gnu::always_inline]] static Virq virq_of(const InterruptState& irq) {
    Virq virq;
    virq.intid = irq.intid;
    virq.physical_intid = irq.physical_intid;
    virq.priority = irq.priority;
    virq.group1 = irq.group1;
    virq.hardware = irq.hardware;
    const bool line_pending = !irq.edge && irq.line_asserted;
    virq.level_resample = line_pending && !irq.hardware;
    virq.checked = line_pending && irq.hardware;
    return virq;
  }
  // refire()'s condition on the interrupt: its fold (pend consumed, not active, left the
  // queue, routing unchanged) followed by its new pend (hardware_interrupt) restores
  // exactly this state.
  bool refires_unchanged(const InterruptState& irq, uint8_t vcpu) const {
    const bool pended_once = irq.edge ? irq.pending_latch : irq.line_asserted && !irq.pending_latch;
    const bool routed_here = irq.intid < private_interrupt_count || irq.routed_vcpu == vcpu;
    return irq.hardware && irq.target_vcpu == vcpu && routed_here && pended_once && !irq.active && !irq.repend &&
           !irq.repend_line && !irq.deactivate_at_fold && irq.enabled && distributor_.group_enabled(irq.group1);
  }
  template <typename WriteLr>
  uint64_t sync_queue(uint8_t vcpu, size_t lr_count, WriteLr&& write_lr) {
    VirqQueue& vcpu_queue = queues_[vcpu];
    if (vcpu_queue.rebuild_requested()) rebuild(vcpu);
    return vcpu_queue.sync(lr_count, write_lr);
  }
  // Brings `destination`'s entry for `irq` in line with `state` (invalid: removes it).
  static void queue_interrupt(VirqQueue& destination, const InterruptState& irq, LrState state) {
    destination.set(virq_of(irq), state);  // cannot be full: capacity covers every interrupt a vCPU can own
  }
  // One interrupt changed: bring its vCPU's queue entry in line, unless a rebuild is due.
  void requeue(const InterruptState& irq) {
    const uint8_t vcpu = irq.target_vcpu;
    if (vcpu >= vcpu_count() || queues_[vcpu].rebuild_requested()) return;
    const LrState state = make_state(deliverable(irq), irq.active);
    if (state == LrState::invalid) {
      queues_[vcpu].drop(irq.intid);  // the usual end of an interrupt: no Virq to build
    } else {
      queue_interrupt(queues_[vcpu], irq, state);
    }
  }
  // The same for an interrupt that became pending for the calling vCPU itself: straight
  // into a free LR when its queue is in step (VirqQueue::add_pending_here).
  [[gnu::always_inline]] void requeue_here(const InterruptState& irq) {
    const uint8_t vcpu = irq.target_vcpu;
    if (vcpu >= vcpu_count() || queues_[vcpu].rebuild_requested()) return;
    if (!deliverable(irq)) return requeue(irq);
    if (irq.active || !queues_[vcpu].place_here(virq_of(irq))) add_pending_elsewhere(irq);
  }
  // requeue_here()'s slow path (an entry exists, or something waits for an LR): out of
  // line, so that the interrupt exit keeps no Virq in memory.
  [[gnu::noinline]] void add_pending_elsewhere(const InterruptState& irq) {
    queues_[irq.target_vcpu % max_vcpus].add_pending(virq_of(irq));
  }
  // `irq` just became pending, by an action of vCPU `caller` (or none).
  [[gnu::always_inline]] void queue_pended(const InterruptState& irq, uint8_t caller, Events& events) {
    if (irq.target_vcpu == caller) {
      requeue_here(irq);
    } else {
      requeue(irq);
    }
    events.kick(irq.target_vcpu);
  }
  // A new pend (edge, SGI, software, message) of `irq` by vCPU `caller` (or none).
  void pend(InterruptState& irq, uint8_t caller, Events& events) {
    if (irq.pending_latch) return pend_again(irq, caller, events, false);
    irq.pending_latch = true;
    queue_pended(irq, caller, events);
  }
  // A new pend of an interrupt already pending (`line`: a hardware level interrupt fired
  // again): one interrupt, unless the guest of a running vCPU may have taken the first
  // from its LR (see the header).
  void pend_again(InterruptState& irq, uint8_t caller, Events& events, bool line) {
    const uint8_t holder = irq.target_vcpu;
    if (holder >= vcpu_count() || holder == caller || !queues_[holder].offered_pending(irq.intid)) return;
    if (line) {
      irq.repend_line = true;
    } else {
      irq.repend = true;
    }
    queues_[holder].watch(irq.intid);
    events.kick(holder);
  }
  // The fold of vCPU `vcpu`: what its guest did to one interrupt, and one its LR still
  // offers pending.
  // Inline, in the fold on every exit: the usual end of an interrupt (its entry gone,
  // nothing due, its routing unchanged) costs no call.
  void after_transition(uint8_t vcpu, const LrTransition& transition) {
    InterruptState* irq = interrupt(vcpu, transition.intid);
    if (irq == nullptr) return;
    if (transition.pending_consumed) {
      // A pend that came while the guest could have been taking this one is another
      // interrupt (see the header). A hardware level line still asserted fires again
      // once the guest's deactivation deactivates the physical interrupt.
      irq->pending_latch = irq->repend;
      if (irq->hardware && !irq->edge) irq->line_asserted = irq->repend_line;
    }
    irq->repend = false;
    irq->repend_line = false;
    if (transition.active_changed) irq->active = transition.active;
    // Another vCPU deactivated it while this guest could have been acknowledging it.
    const bool deactivated = irq->deactivate_at_fold && irq->active;
    irq->deactivate_at_fold = false;
    if (deactivated) irq->active = false;
    const bool rerouted = irq->intid >= private_interrupt_count && irq->routed_vcpu != irq->target_vcpu;
    if (transition.left && !transition.physical_deactivate && !deactivated && !irq->pending() && !irq->active &&
        !rerouted) {
      return;
    }
    after_transition_rest(vcpu, *irq, transition, deactivated);
  }
  // `deactivated`: by another vCPU, applied by this fold (after_transition).
  void after_transition_rest(uint8_t vcpu, InterruptState& irq, const LrTransition& transition, bool deactivated);
  void still_offered(uint8_t vcpu, uint16_t intid);
  // Samples the physical line of a hardware-backed level interrupt EL2 took for vCPU
  // `self` (in its own exit); false when it has dropped: then withdrawn, and its physical
  // interrupt deactivated through `events` if nothing holds it any more.
  bool sample_line(InterruptState& irq, uint8_t self, Events& events);
  // On vCPU `self`'s own exit (its LRs folded, it does not run): brings `irq`'s entry in
  // line, moving an SPI that has left `self`'s LRs to the vCPU it is routed to.
  void settle(InterruptState& irq, uint8_t self);
  // An SPI that left its vCPU's LRs follows GICD_IROUTER: `kicks` gets the new vCPU.
  void move_to_routed(InterruptState& irq, Events& kicks);
  // The same on vCPU `self`'s own exit: the kick waits for take_work().
  void release_to_routed(InterruptState& irq, uint8_t self);
  // After a GICD_IROUTER write by vCPU `caller` that moved the SPI away from `holder`:
  // it stays there while `holder` holds it (settle() moves it later).
  void keep_while_held(InterruptState& irq, uint8_t holder, uint8_t caller);
  // Pends of interrupts that were pending already (GICD/GICR_ISPENDR, GICD_SETSPI_NSR):
  // found before the write, decided after it.
  struct AlreadyPending {
    uint8_t vcpu = no_vcpu;  // redistributor writes: whose
    uint32_t first_intid = 0;
    uint32_t mask = 0;  // bit n: INTID first_intid + n
  };
  AlreadyPending already_pending(uint64_t address, unsigned width, uint64_t value);
  void pend_again_all(const AlreadyPending& found, uint8_t caller, Events& events);
  // A GICD_ICACTIVER/GICR_ICACTIVER0 write by `caller` of interrupts another running
  // vCPU's LR offers pending: marked `deactivate_at_fold`, that vCPU kicked.
  void deactivate_at_holders_fold(uint64_t address, unsigned width, uint64_t value, uint8_t caller, Events& events);
  // Requests for another vCPU's hardware PPIs leave `events` for that vCPU's mailbox.
  void hand_over_ppi_requests(Events& events, uint8_t caller);
  // Work found in vCPU `vcpu`'s own fold or sync (the target applies it before the guest
  // runs again).
  void defer(HardwareRequest request, const InterruptState& irq, uint8_t vcpu);
  void rebuild(uint8_t vcpu);
  // vCPU `vcpu`'s CPU has work (take_work) at the end of its next exit, which syncs.
  void want_attention(uint8_t vcpu) {
    attention_ |= uint32_t{1} << (vcpu % max_vcpus);
    queues_[vcpu % max_vcpus].request_sync();
  }
  // Every vCPU in `vcpus` (bit n: vCPU n) rebuilds its queue before it next runs.
  // reset() but the interrupts themselves (configure() leaves them in their reset state).
  void reset_queues();
  void mark_rebuild(uint32_t vcpus) {
    for (; vcpus != 0; vcpus &= vcpus - 1) queues_[__builtin_ctz(vcpus) % max_vcpus].request_rebuild();
  }

  VirtualDistributor distributor_;
  VirtualRedistributor redistributors_[max_vcpus];
  VirqQueue queues_[max_vcpus];
  uint64_t distributor_base_ = 0;
  uint64_t redistributor_base_ = 0;
  const PhysicalInterrupts* physical_ = nullptr;
  // take_work(): bit n: vCPU n has some.
  uint32_t attention_ = 0;
  // Found in a vCPU's own fold or sync; only that vCPU (`deferred_vcpu_`) takes them, at
  // the end of the same exit.
  Events deferred_;
  uint8_t deferred_vcpu_ = no_vcpu;
  // Another vCPU's requests for vCPU n's hardware PPIs (bit = INTID): the physical enable
  // and active state follow the virtual one; a latched physical pend is cleared.
  uint32_t ppi_follow_[max_vcpus] = {};
  uint32_t ppi_clear_pending_[max_vcpus] = {};
  // The hardware level interrupt EL2 took in vCPU n's exit under way (0: none; INTID 0 is
  // an SGI, never hardware-backed): its line is known asserted until that exit's sync.
  uint16_t sampled_line_[max_vcpus] = {};
};

}  // namespace bulkhead::vgic
