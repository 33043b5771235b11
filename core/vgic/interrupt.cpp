#include "core/vgic/interrupt.hpp"

namespace bulkhead::vgic {

const char* hardware_request_name(HardwareRequest request) {
  switch (request) {
    case HardwareRequest::enable: return "enable";
    case HardwareRequest::disable: return "disable";
    case HardwareRequest::route: return "route";
    case HardwareRequest::activate: return "activate";
    case HardwareRequest::deactivate: return "deactivate";
    case HardwareRequest::clear_pending: return "clear-pending";
  }
  return "unknown";
}

void Events::add(HardwareRequest request, uint8_t vcpu, uint16_t physical_intid) {
  if (hardware_count >= capacity) {
    hardware_overflow = true;
    return;
  }
  hardware[hardware_count++] = {request, vcpu, physical_intid};
}

bool read_bit(const InterruptState& irq, BitRegister which, const PhysicalInterrupts* physical) {
  switch (which) {
    case BitRegister::group: return irq.group1;
    case BitRegister::set_enable:
    case BitRegister::clear_enable: return irq.enabled;
    case BitRegister::set_pending:
    case BitRegister::clear_pending:
      if (!irq.hardware || physical == nullptr) return irq.pending();
      // The physical interrupt is pending while its line is (level), or latched: a
      // disabled one included. What EL2 took of a level line may have dropped since.
      return irq.pending_latch || (irq.edge && irq.pending()) || physical->pending(irq.target_vcpu, irq.physical_intid);
    case BitRegister::set_active:
    case BitRegister::clear_active: return irq.active;
    case BitRegister::group_modifier: return false;
  }
  return false;
}

namespace {
// Keeps the physical active state of a hardware-backed interrupt in step with the
// virtual pending/active state (see InterruptState::needs_physical_active).
void follow_physical_active(const InterruptState& irq, bool was_needed, Events& events) {
  const bool needed = irq.needs_physical_active();
  if (needed == was_needed) return;
  events.add(needed ? HardwareRequest::activate : HardwareRequest::deactivate, irq.target_vcpu, irq.physical_intid);
}
}  // namespace

void write_bit(InterruptState& irq, BitRegister which, bool bit, Events& events, const PhysicalInterrupts* physical) {
  if (which == BitRegister::group_modifier) return;
  if (which == BitRegister::group) {
    if (irq.group1 == bit) return;
    irq.group1 = bit;
    events.kick(irq.target_vcpu);
    return;
  }
  if (!bit) return;  // set/clear registers ignore zeros
  const bool was_pending = irq.pending();
  const bool was_active = irq.active;
  const bool was_enabled = irq.enabled;
  const bool physical_was_needed = irq.needs_physical_active();
  switch (which) {
    case BitRegister::set_enable: irq.enabled = true; break;
    case BitRegister::clear_enable: irq.enabled = false; break;
    case BitRegister::set_pending: irq.pending_latch = true; break;
    case BitRegister::clear_pending:
      irq.pending_latch = false;
      irq.repend = false;
      if (irq.hardware) {
        // What EL2 took of a hardware level line is forgotten too: the physical interrupt
        // is released (below) and, if its line is still asserted, fires again at once, as
        // it stays pending on hardware. What the physical GIC latched goes too.
        irq.line_asserted = false;
        irq.repend_line = false;
        if (physical != nullptr && physical->pending(irq.target_vcpu, irq.physical_intid)) {
          events.add(HardwareRequest::clear_pending, irq.target_vcpu, irq.physical_intid);
        }
      }
      break;
    case BitRegister::set_active: irq.active = true; break;
    case BitRegister::clear_active: irq.active = false; break;
    case BitRegister::group:
    case BitRegister::group_modifier: break;
  }
  if (irq.hardware && irq.enabled != was_enabled) {
    events.add(irq.enabled ? HardwareRequest::enable : HardwareRequest::disable, irq.target_vcpu, irq.physical_intid);
  }
  if (irq.hardware) follow_physical_active(irq, physical_was_needed, events);
  if (irq.pending() != was_pending || irq.active != was_active || irq.enabled != was_enabled) {
    events.kick(irq.target_vcpu);
  }
}

void write_priority(InterruptState& irq, uint8_t value, uint8_t mask, Events& events) {
  const uint8_t priority = value & mask;
  if (priority == irq.priority) return;
  irq.priority = priority;
  // Only matters to the list registers when the interrupt is queued for its vCPU.
  if (irq.pending() || irq.active) events.kick(irq.target_vcpu);
}

uint32_t read_config(const InterruptState& irq) { return irq.edge ? 2u : 0u; }

void write_config(InterruptState& irq, uint32_t field, Events& events) {
  if (irq.intid < sgi_count) return;  // SGIs are always edge-triggered
  const bool edge = (field & 2u) != 0;
  if (edge == irq.edge) return;
  const bool was_pending = irq.pending();
  irq.edge = edge;
  if (irq.pending() != was_pending) events.kick(irq.target_vcpu);
}

}  // namespace bulkhead::vgic
