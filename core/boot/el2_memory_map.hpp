// The hypervisor's own EL2 stage-1 identity map.
//
// Built in two steps without ever changing a live entry: before the MMU is on, only
// the image, the firmware DTB and the board's default UART are mapped; once the DTB
// has been read, RAM and the devices the hypervisor drives are added. Anything else
// stays unmapped, so a stray access faults with a crash report instead of reaching
// another partition's memory or a device.
#pragma once

#include <cstdint>

#include "core/mmu/page_table.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::boot {

struct MmuSettings {
  uint64_t mair;
  uint64_t tcr;
  uint64_t ttbr0;
};

// Step 1 (MMU off). Returns false if the tables could not be built (out of pages).
bool build_early_map(uint64_t dtb_address, uint64_t dtb_size, uint64_t uart_base);
MmuSettings mmu_settings();

// Step 2 (MMU on). Each logs an error naming the region when it fails.
bool map_ram(const AddressRange& range, const char* what);
bool map_device(const AddressRange& range, const char* what);

// The 2 MiB-rounded range holding the image, its BSS, stacks and page tables.
AddressRange image_range();

}  // namespace bulkhead::boot
