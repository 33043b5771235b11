// A model of a partition's vCPUs around core/vgic's VirtualGic, for the list-register fast
// path tests: each vCPU has a simulated GICv3 virtual CPU interface (N list registers,
// ICH_HCR_EL2, ICH_ELRSR_EL2, ICH_MISR_EL2 as QEMU's arm_gicv3_cpuif computes them) and a
// guest that acknowledges the highest-priority pending LR its running priority allows,
// EOIs (EOImode 0: drop and deactivate; EOImode 1: drop, DIR later) and deactivates
// hardware-backed LRs' physical interrupts. The machine drives the vGIC exactly as
// core/vcpu/el2 does (exit: fold through an ELRSR-like shortcut when live LRs exist, the
// handler, sync only when needs_sync(), ICH_HCR = En | maintenance, then the vGIC's work
// for this CPU (take_work) when it asks; first entry: fill and the hardware PPIs synced),
// keeps the physical side of hardware interrupts (and answers the vGIC's questions about
// it: PhysicalInterrupts), and accounts every pend and acknowledgement independently of
// the vGIC.
//
// Checks, recorded as violations (with a trace of the last operations):
//   after every sync of vCPU k   the LRs hold exactly the interrupts the vGIC's contract
//                                delivers to k (README: pending+enabled+group enabled, or
//                                active) with their state, priority, group and HW fields,
//                                when they fit; otherwise the N most urgent (an active one
//                                already in an LR first, then active, then priority, then
//                                INTID) and a maintenance request that can fire; no INTID
//                                twice; no HW LR pending+active; a hardware-backed one
//                                written as virtual only while active with EOI maintenance;
//   at entry                     no maintenance interrupt fires at once (it would again
//                                and again: nothing changed when it is taken);
//   an exit that changed nothing writes no LR and leaves ICH_HCR alone;
//   every acknowledgement        matches a pend (or a pend withdrawn while the LR was
//                                live on that vCPU, which only its next exit can retract;
//                                or a second pend that arrived while a running vCPU's LR
//                                offered the first, which the vGIC may deliver again: see
//                                virtual_gic.hpp, at most once per such pend);
//   every guest deactivation     finds its LR (unless the interrupt was deactivated or
//                                re-activated by a register write meanwhile);
//   at the end (drain)           every pend acknowledged exactly once, nothing pending or
//                                active in the vGIC, no physical interrupt left active.
// Violations with a known cause (Known) can be counted instead; Options can leave out
// races. The machine's bodies: vgic_lr_model.cpp (exits, guest, sources), vgic_lr_checks.cpp (checks) and
// vgic_lr_traffic.cpp (boot, random steps, drain).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iterator>
#include <string>
#include <vector>

#include "core/vgic/sgi.hpp"
#include "core/vgic/virtual_gic.hpp"

namespace lr_model {

using namespace bulkhead::vgic;

constexpr uint64_t distributor_base = 0x08000000;
constexpr uint64_t redistributor_base = 0x080a0000;
constexpr uint64_t lr_state_mask = ich_lr::state_mask;
constexpr uint8_t no_vcpu = 0xff;

// SplitMix64: small, seedable, the same sequence on every host.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return n == 0 ? 0 : static_cast<uint32_t>(next() % n); }
  bool percent(uint32_t p) { return below(100) < p; }

 private:
  uint64_t state_;
};

// One PE's GICv3 virtual CPU interface and the guest's view of it.
struct CpuInterface {
  unsigned lr_count = 4;
  uint64_t lr[VirqQueue::max_list_registers] = {};
  uint64_t hcr = 0;  // ICH_HCR_EL2
  bool eoi_mode_split = false;  // the guest's ICC_CTLR_EL1.EOImode (as ICH_VMCR_EL2.VEOIM)
  struct Taken {
    uint16_t intid;
    uint8_t priority;
    unsigned activation;  // which activation of the interrupt (Shadow::activations)
  };
  std::vector<Taken> running;  // acknowledged, priority not dropped yet (innermost last)
  std::vector<Taken> dropped;  // EOImode 1: priority dropped, not deactivated yet

  static LrState state(uint64_t value) { return list_register_state(value); }
  // ICH_ELRSR_EL2: LR n holds no valid interrupt (and no EOI maintenance request).
  uint32_t elrsr() const {
    uint32_t empty = 0;
    for (unsigned n = 0; n < lr_count; ++n) {
      if (state(lr[n]) == LrState::invalid && ((lr[n] & ich_lr::hardware) != 0 || (lr[n] & ich_lr::eoi) == 0)) {
        empty |= 1u << n;
      }
    }
    return empty;
  }
  // ICH_MISR_EL2's EOI, U and NP: an LR invalid with EOI set and HW clear (ICH_EISR_EL2);
  // UIE and at most one valid LR; NPIE and no LR in the pending state (pending+active is
  // not "pending").
  uint64_t misr() const {
    unsigned valid = 0;
    bool pending = false;
    bool eoi = false;
    for (unsigned n = 0; n < lr_count; ++n) {
      if (state(lr[n]) != LrState::invalid) ++valid;
      if (state(lr[n]) == LrState::pending) pending = true;
      if (state(lr[n]) == LrState::invalid && (lr[n] & ich_lr::hardware) == 0 && (lr[n] & ich_lr::eoi) != 0) eoi = true;
    }
    uint64_t value = eoi ? ich_misr::eoi : 0;
    if ((hcr & ich_hcr::uie) != 0 && valid < 2) value |= ich_misr::underflow;
    if ((hcr & ich_hcr::npie) != 0 && !pending) value |= ich_misr::no_pending;
    return value;
  }
  bool maintenance_asserted() const { return (hcr & ich_hcr::en) != 0 && misr() != 0; }
  // ICH_HCR_EL2.TALL0/TALL1: the guest's IAR/EOIR accesses trap to EL2 (the vGIC's
  // acknowledgement check of hardware level interrupts).
  bool traps_icc() const { return (hcr & (ich_hcr::tall0 | ich_hcr::tall1)) != 0; }
  unsigned running_priority() const {
    unsigned priority = 0x100;  // idle
    for (const Taken& taken : running) priority = std::min<unsigned>(priority, taken.priority);
    return priority;
  }
  // The LR the guest would take now: pending, highest priority (lowest LR on ties, as
  // QEMU), above the running priority (5 priority bits: group priority = priority).
  int highest_pending() const {
    if ((hcr & ich_hcr::en) == 0) return -1;
    int best = -1;
    unsigned best_priority = 0x100;
    for (unsigned n = 0; n < lr_count; ++n) {
      if (state(lr[n]) != LrState::pending) continue;
      const unsigned priority = decode_list_register(lr[n]).priority;
      if (priority < best_priority) {
        best_priority = priority;
        best = static_cast<int>(n);
      }
    }
    if (best >= 0 && best_priority >= running_priority()) return -1;
    return best;
  }
  bool holds(uint16_t intid) const {
    const auto is = [intid](const Taken& taken) { return taken.intid == intid; };
    return std::any_of(running.begin(), running.end(), is) || std::any_of(dropped.begin(), dropped.end(), is);
  }
  int find_active(uint16_t intid) const {
    for (unsigned n = 0; n < lr_count; ++n) {
      if (static_cast<uint32_t>(lr[n]) == intid && has_active(state(lr[n]))) return static_cast<int>(n);
    }
    return -1;
  }
};

// The model's record of one interrupt, kept independently of the vGIC.
struct Shadow {
  bool latch = false;           // pended and not acknowledged or cleared since
  bool software_pend = false;   // of which by a GICD/GICR_ISPENDR write (not its line)
  bool line = false;            // a virtual device's line (virtual level/edge sources)
  unsigned activations = 0;     // guest acknowledgements and ISACTIVER writes so far
  unsigned pends = 0;
  unsigned acks = 0;
  // Physical side of a hardware-backed interrupt.
  bool physical_line = false;
  bool physical_enabled = false;
  bool physical_active = false;
  uint8_t physical_cpu = 0;  // the vCPU whose physical CPU the SPI is routed to
  // A second pend came while a running vCPU's LR offered the first (see the header):
  // one acknowledgement more is allowed, until that vCPU's exit shows the first untaken.
  bool duplicate_allowed = false;
  uint8_t duplicate_vcpu = 0;
};

struct Source {
  uint16_t intid;
  bool hardware;
  bool edge;
};

// Violations the model can attribute to a known cause, so a run can tolerate (count) them
// while it looks for others.
enum class Known : uint8_t {
  none,
  // NPIE asked for while no LR is in the pending state, only pending+active ones: the
  // maintenance interrupt fires at once and again after every exit (fill/place_all counts
  // pending+active as "a pending entry offered").
  npie_without_pending_lr,
  // One LR holding an active interrupt while others wait: neither UIE nor NPIE can fire,
  // so the waiting ones wait for an unrelated exit.
  single_lr_without_maintenance,
  // A maintenance request left in place after the entries that waited for an LR left the
  // queue (a level line dropped, say) without the queue being marked for a sync: the
  // condition holds at once and after every exit.
  stale_maintenance,
};
constexpr size_t known_count = 4;

struct Options {
  uint8_t vcpus = 2;
  unsigned lrs = 4;
  uint64_t seed = 1;
  unsigned steps = 2000;
  // Races the model can create; with them off, level lines drop only in their target
  // vCPU's own exit and SPIs are re-routed only while in no LR and not active.
  bool racy_line_drops = true;
  bool racy_reroutes = true;
  // GICD/GICR_ISACTIVER writes that can leave a vCPU more active interrupts than LRs.
  bool active_overflow = true;
  // New pends (SGI, edge, ISPENDR) of an interrupt the guest acknowledged since its
  // vCPU's last exit (the vGIC still holds the old pend then).
  bool repend_before_fold = true;
  // A traffic mix of ticking hardware timers: mostly guest steps and physical interrupts,
  // the hardware PPIs' lines mostly asserted, the other sources rare. It reaches the
  // interrupt exit's fast path (VirtualGic::refire) often.
  bool ticking_timers = false;
  uint32_t tolerated = 0;  // bit n: Known(n) is counted, not reported
  unsigned trace_lines = 60;  // operations kept for a violation's report
};

struct Stats {
  unsigned exits = 0, syncs = 0, lr_writes = 0, overflow_syncs = 0, acks = 0, hardware_acks = 0,
           maintenance_exits = 0, noop_exits = 0, pending_active_lrs = 0, stale_acks = 0, kicks = 0,
           unrelated_exits_needed = 0, duplicate_acks = 0, eoi_maintenance_exits = 0, kept_actives = 0,
           icc_traps = 0, withdrawn_at_acknowledge = 0, unchecked_acks = 0, taken_at_once = 0,
           hardware_level_at_once = 0, refires = 0;
  unsigned known[known_count] = {};
};

class Machine;

// What the vGIC may ask of the physical GIC: the model's physical lines.
class PhysicalView final : public PhysicalInterrupts {
 public:
  explicit PhysicalView(const Machine& machine) : machine_(machine) {}
  bool pending(uint8_t vcpu, uint16_t physical_intid) const override;

 private:
  const Machine& machine_;
};

class Machine {
 public:
  // SPIs: virtual level and edge lines, two hardware-backed; PPIs 27 and 30 hardware-backed
  // (the timers), 20 and 23 virtual level lines; SGIs 0-15.
  static constexpr OwnedSpi spis[] = {{33, false, false}, {34, false, true}, {35, false, false}, {40, true, false},
                                      {41, true, true},   {48, false, true}, {63, false, false}, {64, false, true}};
  static constexpr uint16_t virtual_ppis[] = {20, 23};
  static constexpr uint16_t hardware_ppis[] = {27, 30};

  explicit Machine(uint8_t vcpus, unsigned lrs, const Options& options = {})
      : physical_view_(*this), vcpus_(vcpus), lrs_(lrs), options_(options) {
    GicConfig config;
    config.vcpu_count = vcpus;
    config.distributor_base = distributor_base;
    config.redistributor_base = redistributor_base;
    config.spis = spis;
    config.spi_count = sizeof(spis) / sizeof(spis[0]);
    config.hardware_ppis = (1u << 27) | (1u << 30);
    configured_ = gic.configure(config) == ConfigError::none;
    gic.set_physical(&physical_view_);
    for (uint8_t k = 0; k < vcpus; ++k) cpu[k].lr_count = lrs;
  }
  bool configured() const { return configured_; }

  VirtualGic gic;
  CpuInterface cpu[max_vcpus];
  Stats stats;
  std::vector<std::string> violations;

  // ---- what the target does -------------------------------------------------------

  // First entry (load_list_registers): a full fill, every LR written.
  void first_entry(uint8_t k);

  // One exit of vCPU k as handle_exit() runs it: fold, `handler`, sync if needed.
  // `changes_state`: whether the handler may change interrupt state (false: HVC, a read).
  template <typename Handler>
  void exit(uint8_t k, const char* why, bool changes_state, Handler&& handler) {
    ++stats.exits;
    CpuInterface& c = cpu[k];
    const bool guest_changed = !std::equal(c.lr, c.lr + lrs_, entered_lr_[k]);
    trace("exit vcpu " + std::to_string(k) + " (" + why + ")" + (guest_changed ? " guest changed LRs" : ""));
    exit_started(k);
    // The first exit after an ICC trap arms the acknowledgement check again.
    const bool rearms = after_icc_trap_[k];
    after_icc_trap_[k] = false;
    if (gic.queue(k).live_mask() != 0) {
      const uint32_t empty = c.elrsr();
      gic.fold(k, lrs_, [&](size_t slot, uint64_t written) -> uint64_t {
        if (slot >= lrs_) violation("fold read LR " + std::to_string(slot) + " of " + std::to_string(lrs_));
        return ((empty >> slot) & 1u) != 0 ? written & ~lr_state_mask : c.lr[slot % VirqQueue::max_list_registers];
      });
    }
    handler();
    unsigned writes = 0;
    const uint64_t hcr_before = c.hcr;
    if (gic.needs_sync(k)) {
      ++stats.syncs;
      const uint64_t maintenance = gic.sync(
          k, lrs_,
          [&](size_t slot, uint64_t value) {
            if (slot >= lrs_) {
              violation("sync wrote LR " + std::to_string(slot) + " of " + std::to_string(lrs_));
              return;
            }
            c.lr[slot] = value;
            ++writes;
          },
          [&] { return guest_mask(k); });
      c.hcr = ich_hcr::en | maintenance;
      neutralized_[k] = false;
      trace("  sync vcpu " + std::to_string(k) + ": LRs " + lr_listing(k) + " ICH_HCR " + hex(c.hcr));
      if (gic.needs_attention(k)) {  // sync_list_registers() asks, after the sync
        Events work;
        gic.take_work(k, work);
        apply(work, k);
      }
    }
    if (gic.needs_attention(k)) violation("vCPU " + std::to_string(k) + " has work for its CPU and no sync");
    stats.lr_writes += writes;
    if (!guest_changed && !touched_[k] && !changes_state) {
      ++stats.noop_exits;
      const uint64_t check_bits = ich_hcr::tall0 | ich_hcr::tall1;
      if (writes != 0 || (c.hcr & ~check_bits) != (hcr_before & ~check_bits) ||
          (!rearms && c.hcr != hcr_before)) {
        violation("an exit that changed nothing wrote " + std::to_string(writes) + " LRs, ICH_HCR " +
                  hex(hcr_before) + " -> " + hex(c.hcr));
      }
    }
    entered(k);
  }

  // The interrupt exit's fast path, tried first as handle_irq_exit() does
  // (VirtualGic::refire): physical `intid` taken on vCPU k's CPU. When it applies, the
  // exit ends there (`taken_at_el2` keeps the model's books, the LR written, ICH_HCR
  // set) and this returns true; otherwise nothing changed and the caller runs exit().
  template <typename TakenAtEl2>
  bool refire(uint8_t k, uint16_t intid, TakenAtEl2&& taken_at_el2) {
    CpuInterface& c = cpu[k];
    unsigned writes = 0;
    size_t written_slot = 0;
    uint64_t written_value = 0;
    uint64_t control = 0;
    const bool taken = gic.refire(
        k, intid, c.elrsr(),
        [&](size_t slot, uint64_t value) {
          ++writes;
          written_slot = slot;
          written_value = value;
        },
        [&] { return guest_mask(k); }, control);
    if (!taken) {
      if (writes != 0) violation("refire wrote an LR and then refused");
      return false;
    }
    ++stats.exits;
    ++stats.refires;
    trace("exit vcpu " + std::to_string(k) + " (irq " + std::to_string(intid) + ", refire)");
    exit_started(k);
    after_icc_trap_[k] = false;
    taken_at_el2();
    if (writes != 1 || written_slot >= lrs_) {
      violation("refire wrote " + std::to_string(writes) + " LRs (slot " + std::to_string(written_slot) + ")");
    } else {
      c.lr[written_slot] = written_value;
    }
    stats.lr_writes += writes;
    c.hcr = ich_hcr::en | control;
    neutralized_[k] = false;
    trace("  refire vcpu " + std::to_string(k) + ": LRs " + lr_listing(k) + " ICH_HCR " + hex(c.hcr));
    if (gic.needs_sync(k)) violation("vCPU " + std::to_string(k) + " needs a sync after a refire");
    entered(k);
    return true;
  }

  // What apply_events() does with what a vGIC call asked (`self`: the calling vCPU, or
  // no_vcpu for a device outside any vCPU).
  void apply(const Events& events, uint8_t self);

  // ---- the guest ----------------------------------------------------------------------

  // Takes the interrupt its CPU interface signals, if any. True when it did. Its IAR read
  // traps first while ICH_HCR_EL2 asks for it (the check may withdraw the interrupt:
  // then the guest reads a spurious INTID and this returns false).
  bool guest_acknowledge(uint8_t k);
  // EOI of the innermost taken interrupt: priority drop, and deactivation with EOImode 0.
  bool guest_eoi(uint8_t k);
  bool guest_deactivate_one(uint8_t k, Random& random);
  // The maintenance interrupt is a level PPI: taken as soon as it is asserted. If it
  // still is after the exit it caused, it fires again at once, forever.
  void take_maintenance(uint8_t k);
  // The guest idles with its interrupts unmasked (PSTATE.I and F clear): it takes what
  // its CPU interface signals at once, now and after each entry, until it takes one (the
  // exception masks them again).
  void guest_unmask(uint8_t k);
  // The guest's state as the target reads it at a sync (SPSR_EL2, ICH_VMCR_EL2, the
  // active priorities): both groups enabled, no priority mask.
  GuestInterruptMask guest_mask(uint8_t k) const;
  // An unmasked guest takes the interrupt signalled, if any.
  void take_at_once(uint8_t k);
  // A guest ICC_IAR/EOIR access while TALL0/TALL1 is set: the trap exit (the target's
  // check_acknowledgement), after which the access runs natively.
  void icc_trap(uint8_t k);

  // ---- interrupt sources --------------------------------------------------------------

  // A guest register write by vCPU k (the vGIC region's handler on an MMIO exit).
  void guest_write(uint8_t k, uint64_t address, unsigned width, uint64_t value);
  uint64_t read(uint64_t address, unsigned width = 4) const {
    uint64_t value = 0;
    gic.read(address, width, value);
    return value;
  }
  // A trapped ICC_SGI1R_EL1 (group1) / ICC_SGI0R_EL1 write by vCPU k.
  void guest_send_sgi(uint8_t k, uint64_t value, bool group1);
  // A virtual device's line, driven from an MMIO exit of vCPU `self` or from outside any
  // vCPU (self = no_vcpu, as console input does). `bank`: the vCPU of a PPI.
  void device_line(uint8_t self, uint8_t bank, uint16_t intid, bool asserted);
  // A hardware-backed interrupt's physical line.
  void physical_line(uint8_t bank, uint16_t intid, bool asserted);
  // Fires one physical interrupt that can fire, on the CPU it is routed to. True if one did.
  bool fire_physical(Random& random);
  // The kick SGI reaches vCPU k: it exits (an IRQ the target deactivates itself).
  bool deliver_kick(uint8_t k);
  bool kicked(uint8_t k) const { return kicked_[k]; }

  // ---- checks ---------------------------------------------------------------------------

  struct Wanted {
    uint16_t intid;
    LrState state;  // as the vGIC holds it
    uint8_t priority;
    bool group1;
    bool hardware;
    bool kept;  // active in an LR at the start of the exit: it keeps an LR
  };
  // What the vGIC's contract delivers to vCPU k now (core/vgic/README.md, virtual_gic.hpp).
  std::vector<Wanted> deliverable_to(uint8_t k);
  static LrState lr_form(const Wanted& w) {
    return w.hardware && w.state == LrState::pending_active ? LrState::active : w.state;
  }

  void check_list_registers(uint8_t k);

  // ---- the whole run ------------------------------------------------------------------

  // What Linux does at boot on every vCPU: groups on, redistributor awake, everything
  // enabled, spread priorities.
  void boot(Random& random);

  // The same without randomness, for targeted sequences: every interrupt at `priority`.
  void boot_plain(uint8_t priority);
  void set_priority(uint8_t k, uint16_t intid, uint8_t priority);
  // DIR of one interrupt the guest dropped the priority of (EOImode 1).
  bool guest_deactivate(uint8_t k, uint16_t intid);
  // The state LR n of vCPU k holds for `intid`, invalid if none.
  LrState lr_state_of(uint8_t k, uint16_t intid) const;
  // The physical line as the vGIC samples it (PhysicalView).
  bool physical_pending(uint8_t vcpu, uint16_t intid) const {
    return intid < private_interrupt_count ? private_[vcpu % max_vcpus][intid].physical_line : shared_[intid % 1024].physical_line;
  }
  unsigned acks_of(uint8_t bank, uint16_t intid) { return shadow_of(bank, intid).acks; }
  unsigned pends_of(uint8_t bank, uint16_t intid) { return shadow_of(bank, intid).pends; }

  void random_step(Random& random);

  // No new interrupts: lines down, everything made deliverable, the guests left to take
  // and finish everything; only kicks and maintenance interrupts make them exit.
  void drain(Random& random);

  void final_checks();

  static std::string hex(uint64_t value);
  void trace(const std::string& line);
  std::string recent_trace() const;
  void violation(const std::string& what, Known cause = Known::none);
  std::string wanted_listing(uint8_t k);
  std::string lr_listing(uint8_t k) const;

  Shadow& shadow_of(uint8_t vcpu, uint16_t intid) { return at(intid < private_interrupt_count ? vcpu : no_vcpu, intid); }
  static uint64_t redistributor(uint8_t k) { return redistributor_base + uint64_t{k} * VirtualRedistributor::frame_size; }
  uint8_t vcpu_count() const { return vcpus_; }

 private:
  static Source source_of(uint16_t intid);
  Shadow& at(uint8_t bank, uint16_t intid) {
    if (intid < private_interrupt_count) return private_[bank % max_vcpus][intid];
    return shared_[intid % 1024];
  }
  static bool can_fire(const Shadow& shadow) {
    return shadow.physical_line && shadow.physical_enabled && !shadow.physical_active;
  }
  static uint8_t priority(Random& random);
  Source random_virtual_source(Random& random) const;
  void pend(Shadow& shadow);
  // A pend of (bank, intid) by vCPU `caller` (no_vcpu: a device) about to be made: if the
  // model merges it into one not yet acknowledged that a running vCPU's LR offers, the
  // vGIC may deliver it once more (see the header).
  void note_repend(uint8_t bank, uint16_t intid, uint8_t caller);
  // Whether `intid` is pending and not yet acknowledged in the model (a hardware level one
  // only while its line is asserted).
  bool owed(uint8_t bank, uint16_t intid);
  // Start of vCPU k's exit: what its guest holds active in an LR (kept by placement), and
  // the duplicates its LRs rule out.
  void exit_started(uint8_t k);
  // A pend taken back (ICPENDR, a level line dropped) while the interrupt may sit pending
  // in a running vCPU's LR: that vCPU may still take it until its next exit.
  void withdrawn(uint8_t bank, uint16_t intid);
  void deactivate(uint8_t k, const CpuInterface::Taken& taken);
  void account_write(uint64_t address, unsigned width, uint64_t value);
  // One guest action, picked among the first `range` percent of the mix (75: only what
  // guests do with their interrupts, no register writes or SGIs).
  void guest_step(uint8_t k, Random& random, uint32_t range = 100);
  // One step of the default traffic mix, `pick` in 0..99 choosing what.
  void random_mix_step(uint8_t k, Random& random, uint32_t pick);
  // Whether the traffic the options leave out would include this register write.
  bool allowed_bit_write(uint64_t bit_register, uint8_t bank, uint16_t intid);
  // Whether a new pend would land while a guest has taken the interrupt's previous pend
  // from an LR and its vCPU has not exited since (the vGIC still holds the old pend).
  bool repend_allowed(uint8_t bank, uint16_t intid);
  // A virtual device line flips. Without racy drops, a level line falls only in an exit of
  // the vCPU it targets (no LR of a running vCPU can then hold it pending).
  void toggle_line(uint8_t self, uint8_t bank, const Source& source);
  void random_register_write(uint8_t k, Random& random);
  // Lets every guest take and finish everything, exiting only for kicks and maintenance
  // interrupts. A vCPU that then still has something deliverable its LRs do not show
  // waits for an unrelated exit: recorded, and given one (an HVC) so the run can finish.
  void settle(Random& random);
  void final_check(uint8_t k, uint16_t intid);
  // vCPU k enters its guest: the LR checks, and the baseline its next exit compares with.
  void entered(uint8_t k);

  bool holds_pending_active(uint8_t k) const;
  // In an LR of some vCPU now, or at its last entry (what the guest did since is not
  // folded yet).
  bool in_any_lr(uint16_t intid) const;

  PhysicalView physical_view_;
  uint8_t vcpus_;
  unsigned lrs_;
  Options options_;
  std::vector<uint16_t> kept_[max_vcpus];
  uint8_t writer_ = no_vcpu;  // the vCPU whose register write account_write() accounts
  std::vector<std::pair<uint8_t, uint16_t>> duplicates_;  // (bank or no_vcpu, INTID) allowed one more ack
  bool configured_ = false;
  bool neutralized_[max_vcpus] = {};
  // The last exit of vCPU k was an ICC trap: until its next exit, acknowledgements run
  // without a check (a hardware line that drops meanwhile is the documented window).
  bool after_icc_trap_[max_vcpus] = {};
  bool unmasked_[max_vcpus] = {};  // guest_unmask(), until it takes an interrupt
  bool maintenance_at_entry_[max_vcpus] = {};  // the maintenance interrupt was asserted at the last entry
  bool icc_trap_exit_ = false;  // the exit under way is an ICC trap
  Shadow private_[max_vcpus][private_interrupt_count];
  Shadow shared_[1024];
  uint64_t entered_lr_[max_vcpus][VirqQueue::max_list_registers] = {};
  bool touched_[max_vcpus] = {};
  bool kicked_[max_vcpus] = {};
  bool tolerate_[max_vcpus][1024] = {};
  std::deque<std::string> trace_;
};

}  // namespace lr_model
