// The physical side of a VM's interrupts: list registers on exit and entry, the physical
// GIC in step with what the vGIC asked, and kicks to other vCPUs.
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/psr.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/vcpu/el2/list_registers.hpp"
#include "core/vcpu/el2/vcpu.hpp"

namespace bulkhead::vcpu {
namespace {

// One change the vGIC asked of the physical GIC. A PPI belongs to the CPU of its vCPU:
// the vGIC hands another vCPU's PPI requests to that vCPU (VirtualGic::take_work), so a
// PPI event here is the caller's own.
void apply_hardware_event(const Vm& vm, const vgic::HardwareEvent& event, const Vcpu* self) {
  const PlatformInfo& platform = machine();
  const arch::Intid intid(event.physical_intid);
  const bool own_ppi = self != nullptr && event.vcpu == self->index;
  if (!intid.is_spi() && !own_ppi) return;
  const uint64_t redistributor = intid.is_spi() ? 0 : self->redistributor;
  switch (event.request) {
    case vgic::HardwareRequest::enable:
    case vgic::HardwareRequest::disable: {
      const bool enable = event.request == vgic::HardwareRequest::enable;
      if (intid.is_spi()) {
        arch::gic::enable_spi(platform.gic, intid.value(), enable);
      } else {
        arch::gic::set_ppi_enabled(redistributor, intid.value(), enable);
      }
      return;
    }
    case vgic::HardwareRequest::route:
      if (intid.is_spi() && event.vcpu < vm.vcpu_count) {
        arch::gic::route_spi(platform.gic, intid.value(), vcpu_mpidr(vm, event.vcpu));
      }
      return;
    case vgic::HardwareRequest::deactivate: arch::gic::clear_active(platform.gic, redistributor, intid.value()); return;
    case vgic::HardwareRequest::activate: arch::gic::set_active(platform.gic, redistributor, intid.value()); return;
    case vgic::HardwareRequest::clear_pending:
      arch::gic::clear_pending(platform.gic, redistributor, intid.value());
      return;
  }
}

}  // namespace

void PhysicalGicView::attach(const Vm& vm) {
  for (uint32_t index = 0; index < vm.vcpu_count && index < vgic::max_vcpus; ++index) {
    redistributors_[index] = arch::gic::redistributor_of(machine().gic, vcpu_mpidr(vm, index));
  }
}

bool PhysicalGicView::pending(uint8_t vcpu, uint16_t physical_intid) const {
  const uint64_t redistributor = vcpu < vgic::max_vcpus ? redistributors_[vcpu] : 0;
  return arch::gic::is_pending(machine().gic, redistributor, physical_intid);
}

void apply_events(const Vm& vm, const vgic::Events& events, const Vcpu* self) {
  for (size_t i = 0; i < events.hardware_count; ++i) apply_hardware_event(vm, events.hardware[i], self);
  const uint32_t self_index = self != nullptr ? self->index : ~0u;
  for (uint32_t kicks = events.kick_vcpus & ~(self_index < 32 ? uint32_t{1} << self_index : 0); kicks != 0;
       kicks &= kicks - 1) {
    const auto index = static_cast<uint32_t>(__builtin_ctz(kicks));
    if (index < vm.vcpu_count) arch::gic::send_sgi(arch::gic::kick_sgi, vcpu_mpidr(vm, index));
  }
}

void kick_running_vcpus(const Vm& vm, uint32_t self_index) {
  for (uint32_t index = 0; index < vm.vcpu_count; ++index) {
    if (index != self_index && vm.psci.power(index) != psci_guest::VcpuPower::off) {
      arch::gic::send_sgi(arch::gic::kick_sgi, vcpu_mpidr(vm, index));
    }
  }
}

void reset_physical_interrupts(const Vm& vm) {
  const PlatformInfo& platform = machine();
  const uint64_t boot_mpidr = vcpu_mpidr(vm, 0);
  for (size_t i = 0; i < vm.spi_count; ++i) {
    if (!vm.spis[i].hardware) continue;
    arch::gic::enable_spi(platform.gic, vm.spis[i].intid, false);
    arch::gic::clear_active(platform.gic, 0, vm.spis[i].intid);
    arch::gic::route_spi(platform.gic, vm.spis[i].intid, boot_mpidr);
  }
}

void do_gic_work(Vcpu& vcpu) {
  vgic::Events& events = vcpu.events;
  events.clear();
  vcpu.vm->gic.take_work(static_cast<uint8_t>(vcpu.index), events);
  if (has_effects(events, vcpu.index)) apply_events(*vcpu.vm, events, &vcpu);
}

void forget_list_registers(Vcpu& vcpu) {
  vgic::Events& events = vcpu.events;
  events.clear();
  vcpu.vm->gic.vcpu_stopped(static_cast<uint8_t>(vcpu.index), events);
  if (has_effects(events, vcpu.index)) apply_events(*vcpu.vm, events, &vcpu);
}

void fold_list_registers(Vcpu& vcpu) {
  // An LR that ICH_ELRSR_EL2 calls empty was deactivated: no need to read it back.
  const uint64_t empty = arch::sysreg::ich_elrsr_el2::read();
  vcpu.vm->gic.fold(static_cast<uint8_t>(vcpu.index), vcpu.lr_count, [empty](size_t slot, uint64_t written) {
    return ((empty >> slot) & 1) != 0 ? written & ~vgic::ich_lr::state_mask : arch::sysreg::read_list_register(slot);
  });
}

void sync_list_registers(Vcpu& vcpu) { sync_list_registers(vcpu, arch::psr::daif); }

void sync_list_registers(Vcpu& vcpu, uint64_t guest_pstate) {
  const auto index = static_cast<uint8_t>(vcpu.index);
  const auto read_guest = [guest_pstate] { return guest_interrupt_mask(guest_pstate); };
  const uint64_t maintenance = vcpu.vm->gic.sync(
      index, vcpu.lr_count, [](size_t slot, uint64_t value) { arch::sysreg::write_list_register(slot, value); }, read_guest);
  write_ich_hcr(vcpu, maintenance);
  // What only this CPU may do: asked only here, as the vGIC makes the queue ask for a
  // sync whenever it leaves this CPU work.
  if (vcpu.vm->gic.needs_attention(index)) do_gic_work(vcpu);
}

void load_list_registers(Vcpu& vcpu) {
  uint64_t* lrs = vcpu.list_registers;
  vgic::VirtualGic& gic = vcpu.vm->gic;
  const auto index = static_cast<uint8_t>(vcpu.index);
  const vgic::FillResult fill = gic.fill(index, lrs, vcpu.lr_count);
  for (size_t i = 0; i < vcpu.lr_count; ++i) arch::sysreg::write_list_register(i, lrs[i]);
  vcpu.ich_hcr = ~uint64_t{0};
  write_ich_hcr(vcpu, fill.maintenance_bits());
  // Its hardware PPIs as the virtual state says (init_this_cpu left them disabled).
  gic.request_ppi_sync(index);
  do_gic_work(vcpu);
}

}  // namespace bulkhead::vcpu
