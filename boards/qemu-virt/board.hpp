// QEMU `virt` (virtualization=on, gic-version=3): what the hypervisor assumes when the
// firmware device tree does not say.
#pragma once

#include <cstdint>

#include "core/platform/platform.hpp"

namespace bulkhead::board {

constexpr const char* name = "qemu-virt";
// The PL011 QEMU places at 0x09000000; used when /chosen/stdout-path is missing or unusable.
constexpr uint64_t default_uart_base = 0x09000000;
constexpr uint32_t default_uart_spi = 1;  // its receive interrupt, INTID 33
// With virtualization=on QEMU implements PSCI on SMC (HVC belongs to EL2, i.e. us).
constexpr PsciConduit default_psci_conduit = PsciConduit::smc;

}  // namespace bulkhead::board
