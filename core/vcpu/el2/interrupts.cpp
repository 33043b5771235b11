// The physical side of a VM's interrupts: list registers on exit and entry, the physical
// GIC in step with what the vGIC asked, and kicks to other vCPUs.
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/vcpu/el2/vcpu.hpp"

namespace bulkhead::vcpu {
namespace {

void write_ich_hcr(Vcpu& vcpu, uint64_t maintenance) {
  const uint64_t value = arch::ich_hcr::en | maintenance;
  if (value == vcpu.ich_hcr) return;
  arch::sysreg::ich_hcr_el2::write(value);
  vcpu.ich_hcr = value;
}

}  // namespace

namespace {

// One change the vGIC asked of the physical GIC. A PPI belongs to the CPU of its vCPU:
// only that vCPU's own exit can act on it.
void apply_hardware_event(const Vm& vm, const vgic::HardwareEvent& event, const Vcpu* self) {
  const PlatformInfo& platform = machine();
  const arch::Intid intid(event.physical_intid);
  const bool own_ppi = self != nullptr && event.vcpu == self->index;
  switch (event.request) {
    case vgic::HardwareRequest::enable:
    case vgic::HardwareRequest::disable: {
      const bool enable = event.request == vgic::HardwareRequest::enable;
      if (intid.is_spi()) {
        arch::gic::enable_spi(platform.gic, intid.value(), enable);
      } else if (own_ppi) {
        arch::gic::set_ppi_enabled(self->redistributor, intid.value(), enable);
      }
      return;
    }
    case vgic::HardwareRequest::route:
      if (intid.is_spi() && event.vcpu < vm.vcpu_count) {
        arch::gic::route_spi(platform.gic, intid.value(), vcpu_mpidr(vm, event.vcpu));
      }
      return;
    case vgic::HardwareRequest::deactivate:
      arch::gic::clear_active(platform.gic, self != nullptr ? self->redistributor : 0, intid.value());
      return;
    case vgic::HardwareRequest::activate: return;  // the physical interrupt becomes active when it next fires
  }
}

}  // namespace

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

void fold_list_registers(Vcpu& vcpu) {
  // An LR that ICH_ELRSR_EL2 calls empty was deactivated: no need to read it back.
  const uint64_t empty = arch::sysreg::ich_elrsr_el2::read();
  vcpu.vm->gic.fold(static_cast<uint8_t>(vcpu.index), vcpu.lr_count, [empty](size_t slot, uint64_t written) {
    return ((empty >> slot) & 1) != 0 ? written & ~vgic::ich_lr::state_mask : arch::sysreg::read_list_register(slot);
  });
}

void sync_list_registers(Vcpu& vcpu) {
  const uint64_t maintenance = vcpu.vm->gic.sync(static_cast<uint8_t>(vcpu.index), vcpu.lr_count,
                                                 [](size_t slot, uint64_t value) { arch::sysreg::write_list_register(slot, value); });
  write_ich_hcr(vcpu, maintenance);
}

void load_list_registers(Vcpu& vcpu) {
  uint64_t* lrs = vcpu.list_registers;
  const vgic::FillResult fill = vcpu.vm->gic.fill(static_cast<uint8_t>(vcpu.index), lrs, vcpu.lr_count);
  for (size_t i = 0; i < vcpu.lr_count; ++i) arch::sysreg::write_list_register(i, lrs[i]);
  vcpu.ich_hcr = ~uint64_t{0};
  write_ich_hcr(vcpu, fill.maintenance_bits());
}

}  // namespace bulkhead::vcpu
