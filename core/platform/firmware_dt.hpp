// Reads the firmware device tree (the DTB the bootloader hands over in x0) into a
// PlatformInfo. Validation first (header, size bound, full structure check), then every
// property we use is length-checked: a malformed or over-capacity DTB is rejected with a
// message naming the node and property, never silently truncated or guessed around.
#pragma once

#include <cstddef>

#include "core/platform/platform.hpp"

namespace bulkhead {

struct FirmwareDtError {
  char message[256] = {};
};

// `max_size` bounds every access: the blob's totalsize must fit in it. The blob must be
// 8-byte aligned (the arm64 boot protocol guarantees it). On failure `platform` is left
// partially filled and must not be used; `error.message` says what was wrong.
//
// Policy worth knowing:
// - RAM: every available root child with device_type "memory"; zero-size ranges ignored.
// - CPUs: /cpus children with device_type "cpu"; MPIDR keeps only the affinity fields.
// - GICv3 redistributor regions: `#redistributor-regions` (default 1, per the binding;
//   further reg entries are the optional GICC/GICH/GICV frames and are ignored).
// - PCIe: `bus-range` absent means 0x00-0xff; the ECAM `reg` must cover the bus range.
// - UART: only /chosen/stdout-path naming an available "arm,pl011"; otherwise
//   uart.present stays false and the caller applies its board default.
// - `reg` is taken as a CPU physical address: a non-empty `ranges` on an ancestor
//   (address translation) is rejected rather than misread.
bool read_firmware_dt(const void* blob, size_t max_size, PlatformInfo& platform, FirmwareDtError& error);

}  // namespace bulkhead
