// The seam between taking a physical interrupt at EL2 (core/vcpu) and the MSIs a VM's
// owner routes through the ITS (partitions/boot/its_boot.cpp): an LPI is an MSI of one
// of the owner's PCI functions, never a forwarded hardware interrupt.
#pragma once

#include <cstdint>

#include "core/vcpu/el2/vcpu.hpp"
#include "core/vgic/virtual_gic.hpp"

namespace bulkhead::vcpu {

// Physical interrupt `intid` was acknowledged (and its priority dropped) on the CPU of
// vCPU `self` of `vm`, with vm.lock held. False when it is not an LPI (the caller goes on
// as usual). An LPI is made pending as the guest SPI it stands for (`events` then says
// which vCPU to kick) or dropped and counted when nothing of `vm` is bound to it now.
bool take_message_interrupt(Vcpu& self, Vm& vm, uint32_t intid, vgic::Events& events);

}  // namespace bulkhead::vcpu
