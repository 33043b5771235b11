// The boot CPU's job once partitions run: physical console input. It sleeps in WFI with
// its interrupts masked, wakes when the UART's receive interrupt is pending, and hands
// each byte to console_input() (core/boot/system.hpp), which routes it to a partition.
// Flow control: a byte the partition cannot take yet stays here, the physical receive
// interrupt goes off (the UART's FIFO fills and the line backs up, nothing is lost) and
// the EL2 timer retries every millisecond.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/pl011.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::boot {

// `intid` 0: the console has no receive interrupt; the CPU just parks.
[[noreturn]] void serve_console_input(const PlatformInfo& platform, arch::Pl011Console& uart, uint32_t intid);

}  // namespace bulkhead::boot
