// Sizing BARs by the standard probe: with decoding off, write all ones, read back which
// address bits stick, restore. Used for function BARs, expansion ROMs and SR-IOV VF BARs.
#pragma once

#include <cstdint>

#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

struct ProbedBar {
  BarKind kind = BarKind::none;  // none: unimplemented (or malformed)
  bool prefetchable = false;
  bool io_16bit = false;
  bool malformed = false;  // 64-bit BAR in the last slot, or a reserved memory type
  uint8_t slots = 1;       // 2 for a 64-bit memory BAR
  uint64_t size = 0;
};

// Probes the BAR register at `offset`; `upper_half_available` says whether the next
// dword may hold the upper half of a 64-bit BAR. Restores the original value.
ProbedBar probe_bar(ConfigAccessor& config, Bdf bdf, uint16_t offset, bool upper_half_available);

// Probes the expansion ROM register at `offset` (kept disabled); returns its size or 0.
uint64_t probe_rom(ConfigAccessor& config, Bdf bdf, uint16_t offset);

// Sizes every BAR slot and the ROM of `function` (bar_count, has_rom already set).
// Decoding must already be off. Returns false when a BAR was malformed (logged).
bool size_function_bars(ConfigAccessor& config, Function& function);

}  // namespace bulkhead::pci
