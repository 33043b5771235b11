// Placing BARs and bridge windows in the host bridge's address windows (`ranges`), and
// programming them: window sizes bottom-up, addresses top-down, largest first.
#pragma once

#include "core/platform/platform.hpp"
#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// Allocates and programs the BARs, ROMs and bridge windows of one scanned segment, then
// sets each bridge's final command register (forwarding on). A BAR that cannot be placed
// makes its function unusable (logged); the rest is still placed. Returns false if any
// function was made unusable.
bool allocate_resources(PciTopology& topology, const Segment& segment, const PcieHostInfo& host, ConfigAccessor& config);

// Writes a function's assigned BAR addresses (64-bit BARs as both halves) and its ROM
// address (enable bit clear) from its record: allocation programs them, and a function
// reset (pci/reset.hpp) restores them with it.
void program_bars(ConfigAccessor& config, const Function& function);

// A bridge's window registers as its record says they hold: open windows with their base
// and limit, implemented closed ones closed (base above limit), upper halves 0 when closed.
// Only the address bits count: the low nibbles of the base/limit registers are read-only.
struct BridgeWindowRegisters {
  uint16_t io_base_limit = 0;  // 0 when the I/O window is not implemented
  uint32_t io_upper = 0;
  uint32_t memory_base_limit = 0;
  uint32_t prefetch_base_limit = 0;  // 0 when the prefetchable window is not implemented
  uint32_t prefetch_base_upper = 0;
  uint32_t prefetch_limit_upper = 0;
};
BridgeWindowRegisters bridge_window_registers(const Function& bridge);
// Writes every implemented window register of the bridge from its record.
void program_bridge_windows(ConfigAccessor& config, const Function& bridge);

}  // namespace bulkhead::pci
