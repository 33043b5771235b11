// The seam between running a VM (core/vcpu) and owning it (partitions/boot): what happens
// when a guest ends its run. Each is called by vCPU `self` of `vm` with vm.lock held and
// never returns to that guest. Implemented by the owner, as boot::run_system() is.
// vm_entering() is the one that returns: the owner's note of a vCPU about to start.
#pragma once

#include "core/vcpu/el2/vcpu.hpp"

namespace bulkhead::vcpu {

[[noreturn]] void vm_power_off(Vcpu& self, const Vm& vm);     // PSCI SYSTEM_OFF
[[noreturn]] void vm_system_reset(Vcpu& self, const Vm& vm);  // PSCI SYSTEM_RESET
// An exception the hypervisor cannot reflect into the guest (already logged).
[[noreturn]] void vm_crashed(Vcpu& self, const Vm& vm);

// vCPU `self` of `vm` is about to enter its guest at its start (a first entry or a
// restart), vm.lock released: the boot timeline's partition first-entry line.
void vm_entering(const Vcpu& self, const Vm& vm);

}  // namespace bulkhead::vcpu
