// The boot CPU's job once partitions run: the console and the interrupts of the rest of
// the system. The decisions are core/console/system_service.hpp's; this is the target.
// Console output: console_work() writes what partitions and the hypervisor queued, one
// line at a time, looking at interrupts between lines; with nothing queued the CPU waits
// for a producer's kick_sgi. Physical console input: the UART's receive interrupt, each
// byte handed to console_input() (core/boot/system.hpp), which routes it to a partition.
// Flow control: a byte the partition cannot take yet stays here, the physical receive
// interrupt goes off (the UART's FIFO fills and the line backs up, nothing is lost) and
// the EL2 timer retries every millisecond. Device interrupts (device_interrupts(): the
// SMMU's event queue and global errors) are routed here too and handed to
// handle_device_interrupt(), or polled with the same timer at the period asked when
// nothing is wired.
//
// The boot CPU may also run a partition's vCPU (CPU 0 in a description). It then serves
// from that vCPU's exits: its interrupts above are taken while the guest runs (physical
// IRQs exit to EL2, HCR_EL2.IMO), and an exit that took one, or finds console work
// queued, runs one bounded step (at most one line, one interrupt) before the guest runs
// again. Only that partition pays for the time. When its vCPU stops, the CPU serves
// alone again until another task (a restart, a CPU_ON) is posted to it (core/boot/smp.hpp).
#pragma once

#include <cstdint>

#include "core/arch/aarch64/pl011.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::boot {

// Once, after the boot. `console_intid` 0: the console has no receive interrupt. With no
// GIC nothing can wake the CPU: it parks.
[[noreturn]] void serve_system_interrupts(const PlatformInfo& platform, arch::Pl011Console& uart,
                                          uint32_t console_intid);

// The boot CPU, in its vCPU's exits (core/vcpu/el2):
// entering the vCPU (after the GIC's per-CPU set-up, which disabled the EL2 timer's PPI);
void serve_beside_guest();
// an IRQ acknowledged (its priority dropped): true if it is one of the service's, which
// is then left active for service_after_exit() to act on and deactivate;
bool take_service_interrupt(uint32_t intid);
// the exit done, no lock held: one step if an interrupt was taken or console work waits;
void service_after_exit();
// its vCPU stopped: back to serving alone (on a fresh stack).
[[noreturn]] void return_to_service();

}  // namespace bulkhead::boot
