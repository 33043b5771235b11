#include "core/vgic/vgic_redistributor.hpp"

#include "core/vgic/vgic_distributor.hpp"

namespace bulkhead::vgic {

namespace {
constexpr uint64_t id_registers_first = gic_id::first;
constexpr uint64_t sgi_priority_end = gicr::sgi_base + gic_bank::ipriorityr + private_interrupt_count;
}  // namespace

void VirtualRedistributor::configure(const VirtualDistributor& distributor, uint8_t vcpu, uint32_t hardware_ppis) {
  distributor_ = &distributor;
  vcpu_ = vcpu;
  // Each interrupt written once, already in its reset state (what reset() sets, a fresh
  // InterruptState has but `edge`): one pass, before the partition's first instruction.
  for (uint32_t intid = 0; intid < private_interrupt_count; ++intid) {
    InterruptState irq;
    irq.intid = static_cast<uint16_t>(intid);
    irq.target_vcpu = vcpu;
    irq.routed_vcpu = vcpu;
    irq.hardware = intid >= sgi_count && ((hardware_ppis >> intid) & 1u) != 0;
    irq.physical_intid = irq.hardware ? static_cast<uint16_t>(intid) : 0;
    irq.edge_at_reset = intid < sgi_count;
    irq.edge = irq.edge_at_reset;
    interrupts_[intid] = irq;
  }
  processor_sleep_ = true;
}

void VirtualRedistributor::reset() {
  processor_sleep_ = true;
  for (InterruptState& irq : interrupts_) {
    irq.priority = 0;
    irq.group1 = true;
    irq.edge = irq.edge_at_reset;
    irq.enabled = false;
    irq.pending_latch = false;
    irq.repend = false;
    irq.repend_line = false;
    irq.deactivate_at_fold = false;
    if (irq.hardware) irq.line_asserted = false;  // EL2 samples the physical line again
    irq.active = false;
  }
}

uint64_t VirtualRedistributor::typer() const {
  // Affinity_Value [63:32] = the guest MPIDR (Aff0 = vCPU index); Processor_Number [23:8].
  const uint8_t count = distributor_ != nullptr ? distributor_->vcpu_count() : 1;
  uint64_t value = (uint64_t{vcpu_} << gicr::typer_affinity_shift) | (uint64_t{vcpu_} << gicr::typer_processor_number_shift);
  if (vcpu_ + 1u >= count) value |= gicr::typer_last;
  return value;
}

AccessResult VirtualRedistributor::read(uint64_t offset, unsigned width, uint64_t& value) const {
  value = 0;
  if (!valid_access(offset, width, frame_size)) return AccessResult::unhandled;
  if (offset == gicr::typer && width == 8) {
    value = typer();
    return AccessResult::handled;
  }
  if (width == 1) {
    if (offset < gicr::sgi_base + gic_bank::ipriorityr || offset >= sgi_priority_end) return AccessResult::unhandled;
    value = interrupt(static_cast<uint32_t>(offset - gicr::sgi_base - gic_bank::ipriorityr)).priority;
    return AccessResult::handled;
  }
  if (width != 4) return AccessResult::unhandled;
  uint32_t word = 0;
  const AccessResult result = offset < gicr::sgi_base ? read_rd_word(offset, word) : read_sgi_word(offset, word);
  value = word;
  return result;
}

AccessResult VirtualRedistributor::read_rd_word(uint64_t offset, uint32_t& value) const {
  value = 0;
  switch (offset) {
    case gicr::ctlr: return AccessResult::handled;  // no LPIs: EnableLPIs RAZ, RWP/UWP 0
    case gicr::iidr: value = gic_iidr; return AccessResult::handled;
    case gicr::typer: value = static_cast<uint32_t>(typer()); return AccessResult::handled;
    case gicr::typer + 4: value = static_cast<uint32_t>(typer() >> 32); return AccessResult::handled;
    case gicr::statusr: return AccessResult::handled;
    case gicr::waker:
      // Waking and sleeping are immediate: ChildrenAsleep follows ProcessorSleep.
      value = processor_sleep_ ? gicr::waker_processor_sleep | gicr::waker_children_asleep : 0;
      return AccessResult::handled;
    case gicr::pidr2: value = gic_pidr2; return AccessResult::handled;
    default: break;
  }
  if (offset >= id_registers_first) return AccessResult::handled;
  return AccessResult::unhandled;
}

AccessResult VirtualRedistributor::read_sgi_word(uint64_t offset, uint32_t& value) const {
  value = 0;
  const uint64_t local = offset - gicr::sgi_base;
  BitRegister which{};
  uint32_t index = 0;
  if (bit_register_at(local, which, index)) {
    if (index != 0) return AccessResult::unhandled;  // the extended PPI range is not implemented
    for (uint32_t bit = 0; bit < 32; ++bit) {
      if (read_bit(interrupts_[bit], which, physical_)) value |= 1u << bit;
    }
    return AccessResult::handled;
  }
  if (offset >= gicr::sgi_base + gic_bank::ipriorityr && offset < sgi_priority_end) {
    const uint32_t first = static_cast<uint32_t>(local - gic_bank::ipriorityr);
    for (uint32_t byte = 0; byte < 4; ++byte) value |= uint32_t{interrupts_[first + byte].priority} << (8 * byte);
    return AccessResult::handled;
  }
  if (offset == gicr::icfgr0 || offset == gicr::icfgr1) {
    const uint32_t first = offset == gicr::icfgr0 ? 0 : 16;
    for (uint32_t field = 0; field < 16; ++field) value |= read_config(interrupts_[first + field]) << (2 * field);
    return AccessResult::handled;
  }
  if (local == gic_bank::nsacr) return AccessResult::handled;  // RAZ/WI with a single security state
  return AccessResult::unhandled;
}

AccessResult VirtualRedistributor::write(uint64_t offset, unsigned width, uint64_t value, Events& events) {
  if (!valid_access(offset, width, frame_size)) return AccessResult::unhandled;
  const uint8_t mask = distributor_ != nullptr ? distributor_->priority_mask() : 0xff;
  if (width == 1) {
    if (offset < gicr::sgi_base + gic_bank::ipriorityr || offset >= sgi_priority_end) return AccessResult::unhandled;
    write_priority(interrupt(static_cast<uint32_t>(offset - gicr::sgi_base - gic_bank::ipriorityr)),
                   static_cast<uint8_t>(value), mask, events);
    return AccessResult::handled;
  }
  if (offset == gicr::typer && width == 8) return AccessResult::handled;  // read-only
  if (width != 4) return AccessResult::unhandled;
  if (offset >= gicr::sgi_base) return write_sgi_word(offset, static_cast<uint32_t>(value), events);
  switch (offset) {
    case gicr::waker: {
      // Read back as written; delivery does not depend on it (as KVM: see the header). A
      // change is a change of the redistributor's state: its vCPU rebuilds its queue.
      const bool sleep = (value & gicr::waker_processor_sleep) != 0;
      if (sleep != processor_sleep_) {
        processor_sleep_ = sleep;
        events.kick(vcpu_);
      }
      return AccessResult::handled;
    }
    case gicr::ctlr:
    case gicr::iidr:
    case gicr::typer:
    case gicr::typer + 4:
    case gicr::statusr: return AccessResult::handled;
    default: break;
  }
  if (offset >= id_registers_first) return AccessResult::handled;
  return AccessResult::unhandled;
}

AccessResult VirtualRedistributor::write_sgi_word(uint64_t offset, uint32_t value, Events& events) {
  const uint64_t local = offset - gicr::sgi_base;
  BitRegister which{};
  uint32_t index = 0;
  if (bit_register_at(local, which, index)) {
    if (index != 0) return AccessResult::unhandled;
    for (uint32_t bit = 0; bit < 32; ++bit) write_bit(interrupts_[bit], which, ((value >> bit) & 1u) != 0, events, physical_);
    return AccessResult::handled;
  }
  if (offset >= gicr::sgi_base + gic_bank::ipriorityr && offset < sgi_priority_end) {
    const uint8_t mask = distributor_ != nullptr ? distributor_->priority_mask() : 0xff;
    const uint32_t first = static_cast<uint32_t>(local - gic_bank::ipriorityr);
    for (uint32_t byte = 0; byte < 4; ++byte) {
      write_priority(interrupts_[first + byte], static_cast<uint8_t>(value >> (8 * byte)), mask, events);
    }
    return AccessResult::handled;
  }
  if (offset == gicr::icfgr0) return AccessResult::handled;  // SGIs: edge, read-only
  if (offset == gicr::icfgr1) {
    for (uint32_t field = 0; field < 16; ++field) write_config(interrupts_[16 + field], (value >> (2 * field)) & 3u, events);
    return AccessResult::handled;
  }
  if (local == gic_bank::nsacr) return AccessResult::handled;
  return AccessResult::unhandled;
}

}  // namespace bulkhead::vgic
