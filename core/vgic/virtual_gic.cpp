#include "core/vgic/virtual_gic.hpp"

namespace bulkhead::vgic {

ConfigError VirtualGic::configure(const GicConfig& config) {
  DistributorConfig distributor_config;
  distributor_config.vcpu_count = config.vcpu_count;
  distributor_config.priority_bits = config.priority_bits;
  distributor_config.spis = config.spis;
  distributor_config.spi_count = config.spi_count;
  distributor_config.messages = config.messages;
  const ConfigError error = distributor_.configure(distributor_config);
  if (error != ConfigError::none) return error;
  distributor_base_ = config.distributor_base;
  redistributor_base_ = config.redistributor_base;
  // Only the partition's vCPUs have a redistributor frame (claims()) and run: the others'
  // stay as constructed, and configuring all max_vcpus cost ~600 instructions each at boot.
  for (uint8_t vcpu = 0; vcpu < config.vcpu_count && vcpu < max_vcpus; ++vcpu) {
    redistributors_[vcpu].configure(distributor_, vcpu, config.hardware_ppis);
  }
  set_physical(physical_);
  reset_queues();  // the distributor and the redistributors configured are in reset state
  return ConfigError::none;
}

void VirtualGic::set_physical(const PhysicalInterrupts* physical) {
  physical_ = physical;
  distributor_.set_physical(physical);
  for (VirtualRedistributor& each : redistributors_) each.set_physical(physical);
}

void VirtualGic::reset() {
  distributor_.reset();
  // The vCPUs past vcpu_count() are unreachable (every access and delivery checks the
  // count), and configure() sets up every vCPU a new count includes.
  for (uint8_t vcpu = 0; vcpu < vcpu_count() && vcpu < max_vcpus; ++vcpu) redistributors_[vcpu].reset();
  reset_queues();
}

void VirtualGic::reset_queues() {
  for (uint8_t vcpu = 0; vcpu < vcpu_count() && vcpu < max_vcpus; ++vcpu) {
    queues_[vcpu].clear();
    ppi_follow_[vcpu] = 0;
    ppi_clear_pending_[vcpu] = 0;
  }
  attention_ = 0;
  deferred_.clear();
  deferred_vcpu_ = no_vcpu;
  mark_rebuild(~0u);
}

bool VirtualGic::claims(uint64_t address) const {
  if (address - distributor_base_ < VirtualDistributor::frame_size) return true;
  return address - redistributor_base_ < uint64_t{vcpu_count()} * VirtualRedistributor::frame_size;
}

AccessResult VirtualGic::read(uint64_t address, unsigned width, uint64_t& value) const {
  value = 0;
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    return distributor_.read(address - distributor_base_, width, value);
  }
  const uint64_t offset = address - redistributor_base_;
  const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
  if (vcpu >= vcpu_count()) return AccessResult::unhandled;
  return redistributors_[vcpu].read(offset % VirtualRedistributor::frame_size, width, value);
}

VirtualGic::AlreadyPending VirtualGic::already_pending(uint64_t address, unsigned width, uint64_t value) {
  AlreadyPending found;
  if (width != 4) return found;
  const auto word = static_cast<uint32_t>(value);
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    const uint64_t offset = address - distributor_base_;
    if (offset == gicd_message::setspi_nsr) {
      const InterruptState* irq = (word & ~gicd_message::intid_mask) == 0 ? distributor_.message_spi(word) : nullptr;
      if (irq != nullptr && irq->pending()) {
        found.first_intid = word & ~31u;
        found.mask = uint32_t{1} << (word % 32);
      }
      return found;
    }
    if (offset < gic_bank::ispendr || offset >= gic_bank::ispendr + gic_bank::bitmap_block || offset % 4 != 0) {
      return found;
    }
    found.first_intid = static_cast<uint32_t>(offset - gic_bank::ispendr) * 8;
  } else {
    const uint64_t offset = address - redistributor_base_;
    const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
    if (vcpu >= vcpu_count() || offset % VirtualRedistributor::frame_size != gicr::sgi_base + gic_bank::ispendr) {
      return found;
    }
    found.vcpu = static_cast<uint8_t>(vcpu);
  }
  for (uint32_t bits = word; bits != 0; bits &= bits - 1) {
    const auto bit = static_cast<uint32_t>(__builtin_ctz(bits));
    const InterruptState* irq = interrupt(found.vcpu, found.first_intid + bit);
    if (irq != nullptr && irq->pending()) found.mask |= uint32_t{1} << bit;
  }
  return found;
}

void VirtualGic::pend_again_all(const AlreadyPending& found, uint8_t caller, Events& events) {
  for (uint32_t bits = found.mask; bits != 0; bits &= bits - 1) {
    InterruptState* irq = interrupt(found.vcpu, found.first_intid + static_cast<uint32_t>(__builtin_ctz(bits)));
    if (irq != nullptr && irq->pending_latch) pend_again(*irq, caller, events, false);
  }
}

void VirtualGic::deactivate_at_holders_fold(uint64_t address, unsigned width, uint64_t value, uint8_t caller,
                                            Events& events) {
  if (width != 4) return;
  uint8_t bank = 0;
  uint32_t first_intid = 0;
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    const uint64_t offset = address - distributor_base_;
    if (offset < gic_bank::icactiver || offset >= gic_bank::icactiver + gic_bank::bitmap_block || offset % 4 != 0) {
      return;
    }
    first_intid = static_cast<uint32_t>(offset - gic_bank::icactiver) * 8;
  } else {
    const uint64_t offset = address - redistributor_base_;
    const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
    if (vcpu >= vcpu_count() || offset % VirtualRedistributor::frame_size != gicr::sgi_base + gic_bank::icactiver) {
      return;
    }
    bank = static_cast<uint8_t>(vcpu);
  }
  for (auto bits = static_cast<uint32_t>(value); bits != 0; bits &= bits - 1) {
    InterruptState* irq = interrupt(bank, first_intid + static_cast<uint32_t>(__builtin_ctz(bits)));
    if (irq == nullptr) continue;
    const uint8_t holder = irq->target_vcpu;
    if (holder >= vcpu_count() || holder == caller || !queues_[holder].offered_pending(irq->intid)) continue;
    irq->deactivate_at_fold = true;
    queues_[holder].watch(irq->intid);
    events.kick(holder);
  }
}

void VirtualGic::hand_over_ppi_requests(Events& events, uint8_t caller) {
  size_t kept = 0;
  for (size_t i = 0; i < events.hardware_count; ++i) {
    const HardwareEvent event = events.hardware[i];
    const bool other_vcpus_ppi = event.physical_intid < private_interrupt_count && event.vcpu != caller;
    if (!other_vcpus_ppi) {
      events.hardware[kept++] = event;
      continue;
    }
    if (event.vcpu >= vcpu_count()) continue;
    const uint32_t bit = uint32_t{1} << event.physical_intid;
    if (event.request == HardwareRequest::clear_pending) {
      ppi_clear_pending_[event.vcpu] |= bit;
    } else {
      ppi_follow_[event.vcpu] |= bit;
    }
    want_attention(event.vcpu);
    events.kick(event.vcpu);
  }
  events.hardware_count = static_cast<uint8_t>(kept);
}

AccessResult VirtualGic::write(uint64_t address, unsigned width, uint64_t value, Events& events, uint8_t caller) {
  const AlreadyPending found = already_pending(address, width, value);
  AccessResult result = AccessResult::unhandled;
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    const uint64_t offset = address - distributor_base_;
    const uint64_t router = (offset - gicd::irouter) / 8;  // the INTID of a GICD_IROUTER<n> access
    InterruptState* routed = offset >= gicd::irouter && router <= last_spi ? distributor_.spi(static_cast<uint32_t>(router)) : nullptr;
    const uint8_t holder = routed != nullptr ? routed->target_vcpu : no_vcpu;
    result = distributor_.write(offset, width, value, events);
    if (routed != nullptr && routed->target_vcpu != holder) keep_while_held(*routed, holder, caller);
  } else {
    const uint64_t offset = address - redistributor_base_;
    const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
    if (vcpu >= vcpu_count()) return AccessResult::unhandled;
    result = redistributors_[vcpu].write(offset % VirtualRedistributor::frame_size, width, value, events);
  }
  pend_again_all(found, caller, events);
  deactivate_at_holders_fold(address, width, value, caller, events);
  hand_over_ppi_requests(events, caller);
  // Register writes change what is deliverable in ways too varied to patch entry by
  // entry: the vCPUs concerned (those kicked) rebuild their queues.
  mark_rebuild(events.kick_vcpus);
  return result;
}

void VirtualGic::send_sgi(uint8_t vcpu, uint64_t value, bool group1, Events& events) {
  const SgiTargets targets = decode_sgi1r(value, vcpu, vcpu_count());
  for (uint8_t target = 0; target < vcpu_count(); ++target) {
    if (((targets.vcpus >> target) & 1u) == 0) continue;
    InterruptState& sgi = redistributors_[target].interrupt(targets.intid);
    if (sgi.group1 == group1) pend(sgi, vcpu, events);
  }
}

bool VirtualGic::set_line(uint8_t bank, uint16_t intid, bool asserted, Events& events, uint8_t caller) {
  InterruptState* irq = interrupt(bank, intid);
  if (irq == nullptr || irq->hardware) return false;
  if (asserted == irq->line_asserted) return true;
  irq->line_asserted = asserted;
  if (irq->edge) {
    if (asserted) pend(*irq, caller, events);
    return true;
  }
  // Level: pending follows the line (and its LR asks for EOI maintenance while it is up).
  requeue(*irq);
  events.kick(irq->target_vcpu);
  return true;
}

void VirtualGic::defer(HardwareRequest request, const InterruptState& irq, uint8_t vcpu) {
  deferred_vcpu_ = vcpu;
  deferred_.add(request, irq.target_vcpu, irq.physical_intid);
  want_attention(vcpu);
}

void VirtualGic::after_transition_rest(uint8_t vcpu, InterruptState& irq, const LrTransition& transition,
                                       bool deactivated) {
  // Deactivated by another vCPU: its LR (HW = 1) no longer stands for the physical
  // interrupt, which this vCPU's CPU deactivates unless it is due again.
  const bool physical_released = transition.physical_deactivate || (deactivated && irq.hardware);
  if (physical_released && !irq.needs_physical_active()) {
    defer(HardwareRequest::deactivate, irq, vcpu);
  }
  // The queue applied the same difference to the entry; the interrupt may be pending
  // again (a level line, a new pend) or due elsewhere.
  settle(irq, vcpu);
}

void VirtualGic::still_offered(uint8_t vcpu, uint16_t intid) {
  InterruptState* irq = interrupt(vcpu, intid);
  if (irq == nullptr) return;
  // The guest has not taken the first pend: the second is the same interrupt, and a
  // deactivation by another vCPU found it inactive, as the write did.
  irq->repend = false;
  irq->repend_line = false;
  irq->deactivate_at_fold = false;
}

bool VirtualGic::sample_line(InterruptState& irq, uint8_t self, Events& events) {
  if (physical_ == nullptr || physical_->pending(irq.target_vcpu, irq.physical_intid)) return true;
  irq.line_asserted = false;
  irq.repend_line = false;
  // EL2 took it with its line asserted and kept it active for the guest: released.
  if (!irq.needs_physical_active()) events.add(HardwareRequest::deactivate, irq.target_vcpu, irq.physical_intid);
  settle(irq, self);
  return false;
}

void VirtualGic::check_acknowledgement(uint8_t vcpu, Events& events) {
  if (vcpu >= vcpu_count()) return;
  VirqQueue& vcpu_queue = queues_[vcpu];
  vcpu_queue.for_each_checked([&](uint16_t intid) {
    InterruptState* irq = interrupt(vcpu, intid);
    if (irq != nullptr && irq->hardware && !irq->edge && irq->line_asserted && irq->target_vcpu == vcpu) {
      sample_line(*irq, vcpu, events);
    }
  });
  vcpu_queue.suspend_check();
}

void VirtualGic::settle(InterruptState& irq, uint8_t self) {
  if (irq.intid >= private_interrupt_count && irq.target_vcpu == self && irq.routed_vcpu != self && !irq.active) {
    release_to_routed(irq, self);
  } else {
    requeue(irq);
  }
}

void VirtualGic::release_to_routed(InterruptState& irq, uint8_t self) {
  deferred_vcpu_ = self;
  move_to_routed(irq, deferred_);
  if (deferred_.kick_vcpus != 0) want_attention(self);
}

void VirtualGic::move_to_routed(InterruptState& irq, Events& kicks) {
  const uint8_t from = irq.target_vcpu;
  irq.target_vcpu = irq.routed_vcpu;
  if (from < vcpu_count()) queue_interrupt(queues_[from], irq, LrState::invalid);
  requeue(irq);
  if (irq.pending() || irq.active) kicks.kick(irq.target_vcpu);
}

void VirtualGic::keep_while_held(InterruptState& irq, uint8_t holder, uint8_t caller) {
  if (holder >= vcpu_count()) return;
  // Held: the holder's guest may be handling it, or taking it from its LR now. It lets go
  // at its next exit (kicked by the write: its rebuild does). Otherwise both vCPUs'
  // rebuilds (they were kicked) move it.
  const bool held = irq.active || (holder != caller && queues_[holder].in_list_register(irq.intid));
  if (held) irq.target_vcpu = holder;
}

void VirtualGic::take_work(uint8_t vcpu, Events& events) {
  const uint8_t index = vcpu % max_vcpus;
  attention_ &= ~(uint32_t{1} << index);
  if (deferred_vcpu_ == vcpu) {
    for (size_t i = 0; i < deferred_.hardware_count; ++i) {
      const HardwareEvent& event = deferred_.hardware[i];
      events.add(event.request, event.vcpu, event.physical_intid);
    }
    events.kick_vcpus |= deferred_.kick_vcpus;
    events.hardware_overflow = events.hardware_overflow || deferred_.hardware_overflow;
    deferred_.clear();
    deferred_vcpu_ = no_vcpu;
  }
  if (vcpu >= vcpu_count()) return;
  for (uint32_t bits = ppi_clear_pending_[index]; bits != 0; bits &= bits - 1) {
    events.add(HardwareRequest::clear_pending, vcpu, static_cast<uint16_t>(__builtin_ctz(bits)));
  }
  for (uint32_t bits = ppi_follow_[index]; bits != 0; bits &= bits - 1) {
    const InterruptState& irq = redistributors_[index].interrupt(static_cast<uint32_t>(__builtin_ctz(bits)));
    if (!irq.hardware) continue;
    events.add(irq.enabled ? HardwareRequest::enable : HardwareRequest::disable, vcpu, irq.physical_intid);
    events.add(irq.needs_physical_active() ? HardwareRequest::activate : HardwareRequest::deactivate, vcpu,
               irq.physical_intid);
  }
  ppi_clear_pending_[index] = 0;
  ppi_follow_[index] = 0;
}

void VirtualGic::request_ppi_sync(uint8_t vcpu) {
  if (vcpu >= vcpu_count()) return;
  uint32_t hardware = 0;
  for (uint32_t intid = arch::Intid::first_ppi; intid < private_interrupt_count; ++intid) {
    if (redistributors_[vcpu].interrupt(intid).hardware) hardware |= uint32_t{1} << intid;
  }
  ppi_follow_[vcpu] |= hardware;
  if (hardware != 0) want_attention(vcpu);
}

void VirtualGic::vcpu_stopped(uint8_t vcpu, Events& events) {
  if (vcpu >= vcpu_count()) return;
  queues_[vcpu].forget_list_registers();
  // Its LRs are gone without a fold: what waited for one does not apply to them.
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) {
    redistributors_[vcpu].interrupt(intid).deactivate_at_fold = false;
  }
  for (size_t slot = 0; slot < distributor_.spi_count(); ++slot) {
    InterruptState& irq = distributor_.spi_at(slot);
    if (irq.target_vcpu != vcpu) continue;
    irq.deactivate_at_fold = false;
    if (irq.routed_vcpu != vcpu && !irq.active) move_to_routed(irq, events);
  }
  queues_[vcpu].request_rebuild();
}

void VirtualGic::rebuild(uint8_t vcpu) {
  VirqQueue& vcpu_queue = queues_[vcpu];
  const auto add = [&](const InterruptState& irq) {
    const LrState state = make_state(deliverable(irq), irq.active);
    if (state != LrState::invalid) queue_interrupt(vcpu_queue, irq, state);
  };
  vcpu_queue.begin_rebuild();
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) add(redistributors_[vcpu].interrupt(intid));
  for (size_t slot = 0; slot < distributor_.spi_count(); ++slot) {
    InterruptState& irq = distributor_.spi_at(slot);
    if (irq.target_vcpu != vcpu) continue;
    if (irq.routed_vcpu != vcpu && !irq.active) {
      release_to_routed(irq, vcpu);  // rerouted while this vCPU held it; its LRs are folded now
      continue;
    }
    add(irq);
  }
  vcpu_queue.end_rebuild();
}

FillResult VirtualGic::fill(uint8_t vcpu, uint64_t* list_registers, size_t lr_count) {
  if (vcpu >= vcpu_count()) return {};
  rebuild(vcpu);
  return queues_[vcpu].fill(list_registers, lr_count);
}

}  // namespace bulkhead::vgic
