// The boot CPU's job once partitions run: the console and the interrupts of the rest of
// the system. Console output: console_work() writes what partitions and the hypervisor
// queued, one line at a time, looking at interrupts between lines; with nothing queued
// the CPU sleeps until a producer's kick_sgi. Physical console input: it sleeps in WFI with its interrupts masked, wakes when the
// UART's receive interrupt is pending, and hands each byte to console_input()
// (core/boot/system.hpp), which routes it to a partition. Flow control: a byte the
// partition cannot take yet stays here, the physical receive interrupt goes off (the
// UART's FIFO fills and the line backs up, nothing is lost) and the EL2 timer retries
// every millisecond. Device interrupts (device_interrupts(): the SMMU's event queue and
// global errors) are routed here too and handed to handle_device_interrupt(), or polled
// with the same timer at the period asked when nothing is wired.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/pl011.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::boot {

// `console_intid` 0: the console has no receive interrupt. With no GIC nothing can wake
// the CPU: it parks.
[[noreturn]] void serve_system_interrupts(const PlatformInfo& platform, arch::Pl011Console& uart,
                                          uint32_t console_intid);

}  // namespace bulkhead::boot
