#include "core/vgic/virtual_gic.hpp"

namespace bulkhead::vgic {

ConfigError VirtualGic::configure(const GicConfig& config) {
  DistributorConfig distributor_config;
  distributor_config.vcpu_count = config.vcpu_count;
  distributor_config.priority_bits = config.priority_bits;
  distributor_config.spis = config.spis;
  distributor_config.spi_count = config.spi_count;
  const ConfigError error = distributor_.configure(distributor_config);
  if (error != ConfigError::none) return error;
  distributor_base_ = config.distributor_base;
  redistributor_base_ = config.redistributor_base;
  for (uint8_t vcpu = 0; vcpu < max_vcpus; ++vcpu) {
    redistributors_[vcpu].configure(distributor_, vcpu, config.hardware_ppis);
    queues_[vcpu].clear();
  }
  return ConfigError::none;
}

void VirtualGic::reset() {
  distributor_.reset();
  for (uint8_t vcpu = 0; vcpu < max_vcpus; ++vcpu) {
    redistributors_[vcpu].reset();
    queues_[vcpu].clear();
  }
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

AccessResult VirtualGic::write(uint64_t address, unsigned width, uint64_t value, Events& events) {
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    return distributor_.write(address - distributor_base_, width, value, events);
  }
  const uint64_t offset = address - redistributor_base_;
  const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
  if (vcpu >= vcpu_count()) return AccessResult::unhandled;
  return redistributors_[vcpu].write(offset % VirtualRedistributor::frame_size, width, value, events);
}

InterruptState* VirtualGic::interrupt(uint8_t vcpu, uint32_t intid) {
  if (intid < private_interrupt_count) {
    return vcpu < vcpu_count() ? &redistributors_[vcpu].interrupt(intid) : nullptr;
  }
  return distributor_.spi(intid);
}

void VirtualGic::send_sgi(uint8_t vcpu, uint64_t value, bool group1, Events& events) {
  const SgiTargets targets = decode_sgi1r(value, vcpu, vcpu_count());
  for (uint8_t target = 0; target < vcpu_count(); ++target) {
    if (((targets.vcpus >> target) & 1u) == 0) continue;
    InterruptState& sgi = redistributors_[target].interrupt(targets.intid);
    if (sgi.group1 != group1 || sgi.pending_latch) continue;
    sgi.pending_latch = true;
    events.kick(target);
  }
}

bool VirtualGic::hardware_interrupt(uint8_t vcpu, uint16_t physical_intid, Events& events) {
  InterruptState* irq = interrupt(vcpu, physical_intid);  // identity mapping
  if (irq == nullptr || !irq->hardware) return false;
  irq->pending_latch = true;
  events.kick(irq->target_vcpu);
  return true;
}

bool VirtualGic::set_line(uint8_t vcpu, uint16_t intid, bool asserted, Events& events) {
  InterruptState* irq = interrupt(vcpu, intid);
  if (irq == nullptr || irq->hardware) return false;
  const bool was_pending = irq->pending();
  const bool rising = asserted && !irq->line_asserted;
  irq->line_asserted = asserted;
  if (irq->edge && rising) irq->pending_latch = true;
  if (irq->pending() != was_pending) events.kick(irq->target_vcpu);
  return true;
}

bool VirtualGic::deliverable(const InterruptState& irq, const VirtualRedistributor& bank) const {
  return irq.pending() && irq.enabled && distributor_.group_enabled(irq.group1) && !bank.processor_sleep();
}

void VirtualGic::queue_interrupt(VirqQueue& destination, const InterruptState& irq, const VirtualRedistributor& bank) {
  const LrState state = make_state(deliverable(irq, bank), irq.active);
  if (state == LrState::invalid) return;
  Virq virq;
  virq.intid = irq.intid;
  virq.physical_intid = irq.physical_intid;
  virq.priority = irq.priority;
  virq.group1 = irq.group1;
  virq.hardware = irq.hardware;
  destination.set(virq, state);  // cannot be full: capacity covers every interrupt a vCPU can own
}

FillResult VirtualGic::fill(uint8_t vcpu, uint64_t* list_registers, size_t lr_count) {
  if (vcpu >= vcpu_count()) return {};
  VirqQueue& vcpu_queue = queues_[vcpu];
  const VirtualRedistributor& vcpu_redistributor = redistributors_[vcpu];
  vcpu_queue.clear();
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) {
    queue_interrupt(vcpu_queue, vcpu_redistributor.interrupt(intid), vcpu_redistributor);
  }
  for (size_t slot = 0; slot < distributor_.spi_count(); ++slot) {
    const InterruptState& irq = distributor_.spi_at(slot);
    if (irq.target_vcpu == vcpu) queue_interrupt(vcpu_queue, irq, vcpu_redistributor);
  }
  return vcpu_queue.fill(list_registers, lr_count);
}

void VirtualGic::fold_back(uint8_t vcpu, const uint64_t* list_registers, size_t lr_count) {
  if (vcpu >= vcpu_count()) return;
  LrTransition transitions[VirqQueue::max_list_registers];
  const size_t count = queues_[vcpu].fold_back(list_registers, lr_count, transitions);
  for (size_t i = 0; i < count; ++i) {
    InterruptState* irq = interrupt(vcpu, transitions[i].intid);
    if (irq == nullptr) continue;
    if (transitions[i].pending_consumed) irq->pending_latch = false;
    if (transitions[i].active_changed) irq->active = transitions[i].active;
  }
}

}  // namespace bulkhead::vgic
