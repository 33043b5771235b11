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
    queues_[vcpu].clear();
  }
  mark_rebuild(~0u);
  return ConfigError::none;
}

void VirtualGic::reset() {
  distributor_.reset();
  for (uint8_t vcpu = 0; vcpu < max_vcpus; ++vcpu) {
    redistributors_[vcpu].reset();
    queues_[vcpu].clear();
  }
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

AccessResult VirtualGic::write(uint64_t address, unsigned width, uint64_t value, Events& events) {
  AccessResult result = AccessResult::unhandled;
  if (address - distributor_base_ < VirtualDistributor::frame_size) {
    result = distributor_.write(address - distributor_base_, width, value, events);
  } else {
    const uint64_t offset = address - redistributor_base_;
    const uint64_t vcpu = offset / VirtualRedistributor::frame_size;
    if (vcpu >= vcpu_count()) return AccessResult::unhandled;
    result = redistributors_[vcpu].write(offset % VirtualRedistributor::frame_size, width, value, events);
  }
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
    if (sgi.group1 != group1 || sgi.pending_latch) continue;
    sgi.pending_latch = true;
    requeue(sgi);
    events.kick(target);
  }
}

bool VirtualGic::set_line(uint8_t vcpu, uint16_t intid, bool asserted, Events& events) {
  InterruptState* irq = interrupt(vcpu, intid);
  if (irq == nullptr || irq->hardware) return false;
  const bool was_pending = irq->pending();
  const bool rising = asserted && !irq->line_asserted;
  irq->line_asserted = asserted;
  if (irq->edge && rising) irq->pending_latch = true;
  if (irq->pending() != was_pending) {
    requeue(*irq);
    events.kick(irq->target_vcpu);
  }
  return true;
}

void VirtualGic::rebuild(uint8_t vcpu) {
  VirqQueue& vcpu_queue = queues_[vcpu];
  const VirtualRedistributor& vcpu_redistributor = redistributors_[vcpu];
  vcpu_queue.clear();
  const auto add = [&](const InterruptState& irq) {
    const LrState state = make_state(deliverable(irq, vcpu_redistributor), irq.active);
    if (state != LrState::invalid) queue_interrupt(vcpu_queue, irq, state);
  };
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) add(vcpu_redistributor.interrupt(intid));
  for (size_t slot = 0; slot < distributor_.spi_count(); ++slot) {
    const InterruptState& irq = distributor_.spi_at(slot);
    if (irq.target_vcpu == vcpu) add(irq);
  }
  vcpu_queue.rebuild_done();
}

FillResult VirtualGic::fill(uint8_t vcpu, uint64_t* list_registers, size_t lr_count) {
  if (vcpu >= vcpu_count()) return {};
  rebuild(vcpu);
  return queues_[vcpu].fill(list_registers, lr_count);
}

}  // namespace bulkhead::vgic
