#include "pci/bar_allocator.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::pci {
namespace {

using detail::ResourceRef;

constexpr uint64_t highest_64bit = ~0ull;
constexpr uint64_t highest_32bit = 0xffffffffull;
constexpr uint64_t highest_io_16bit = 0xffffull;
constexpr uint64_t memory_window_granularity = 1ull << 20;
constexpr uint64_t io_window_granularity = 1ull << 12;
// I/O port 0 looks unassigned to many drivers; like Linux, start I/O at 0x1000.
constexpr uint64_t io_floor = 0x1000;
// Stage 2 maps a partition's BARs page by page, so no two functions' memory BARs (ROMs
// included) may share a 4 KiB page: a smaller one gets a whole page to itself.
constexpr uint64_t memory_page = 0x1000;

// What one resource (BAR, ROM or bridge window) needs from the window that holds it.
struct Demand {
  bool present = false;
  bool io = false;
  bool prefetchable = false;
  uint64_t size = 0;
  uint64_t alignment = 0;
  uint64_t highest = highest_64bit;  // its last byte must not be above this
};

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > ~0ull - b ? ~0ull : a + b; }

uint64_t align_up(uint64_t value, uint64_t alignment) {
  const uint64_t mask = alignment - 1;
  return value > ~0ull - mask ? ~0ull : (value + mask) & ~mask;
}

uint64_t min(uint64_t a, uint64_t b) { return a < b ? a : b; }
uint64_t max(uint64_t a, uint64_t b) { return a > b ? a : b; }

WindowType window_type_of(uint8_t slot) { return static_cast<WindowType>(slot - detail::slot_window_first); }

Demand bar_demand(const Bar& bar) {
  Demand d;
  if (bar.kind == BarKind::none || bar.size == 0) return d;
  d.present = true;
  d.io = bar.kind == BarKind::io;
  d.prefetchable = !d.io && bar.prefetchable;
  d.size = d.io ? bar.size : max(bar.size, memory_page);
  d.alignment = d.size;
  if (d.io) d.highest = bar.io_16bit ? highest_io_16bit : highest_32bit;
  else d.highest = bar.kind == BarKind::mem64 ? highest_64bit : highest_32bit;
  return d;
}

Demand demand_of(const Function& f, uint8_t slot) {
  if (slot < bar_slots) return f.usable ? bar_demand(f.bars[slot]) : Demand{};
  if (slot == detail::slot_rom) {
    if (!f.usable || !f.has_rom) return {};
    Demand d = bar_demand(f.rom);
    d.prefetchable = false;
    return d;
  }
  if (!f.is_bridge()) return {};
  const WindowType type = window_type_of(slot);
  const BridgeWindow& w = f.bridge.window(type);
  if (w.size == 0) return {};
  return {true, type == WindowType::io, type == WindowType::prefetchable, w.size, w.alignment, w.highest_address};
}

// Which of a bridge's windows holds a child resource (Linux's policy): I/O in the I/O
// window; prefetchable memory in the prefetchable window, except 32-bit-only resources
// when that window is 64-bit (they use the memory window); everything else, 64-bit
// non-prefetchable BARs included, in the 32-bit memory window.
bool window_for(const Function& bridge, const Demand& d, WindowType& type) {
  const BridgeWindow& prefetchable = bridge.bridge.window(WindowType::prefetchable);
  if (d.io) {
    type = WindowType::io;
    return bridge.bridge.window(WindowType::io).implemented;
  }
  type = WindowType::memory;
  if (d.prefetchable && prefetchable.implemented && (!prefetchable.wide || d.highest > highest_32bit)) {
    type = WindowType::prefetchable;
  }
  return true;
}

uint64_t register_highest(WindowType type, bool wide) {
  switch (type) {
    case WindowType::io: return wide ? highest_32bit : highest_io_16bit;
    case WindowType::memory: return highest_32bit;
    case WindowType::prefetchable: return wide ? highest_64bit : highest_32bit;
  }
  return highest_32bit;
}

// Largest alignment first, then largest size, then table order: natural alignment with
// little padding, and a deterministic layout.
bool placed_before(const PciTopology& t, ResourceRef a, ResourceRef b) {
  const Demand da = demand_of(t.functions[a.function], a.slot);
  const Demand db = demand_of(t.functions[b.function], b.slot);
  if (da.alignment != db.alignment) return da.alignment > db.alignment;
  if (da.size != db.size) return da.size > db.size;
  if (a.function != b.function) return a.function < b.function;
  return a.slot < b.slot;
}

void sift_down(const PciTopology& t, ResourceRef* refs, size_t root, size_t count) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= count) return;
    // Max-heap on "placed later", so the sorted array runs in placement order.
    if (child + 1 < count && placed_before(t, refs[child], refs[child + 1])) ++child;
    if (!placed_before(t, refs[root], refs[child])) return;
    const ResourceRef swap = refs[root];
    refs[root] = refs[child];
    refs[child] = swap;
    root = child;
  }
}

void sort_for_placement(const PciTopology& t, ResourceRef* refs, size_t count) {
  for (size_t i = count / 2; i-- > 0;) sift_down(t, refs, i, count);
  for (size_t end = count; end-- > 1;) {
    const ResourceRef swap = refs[0];
    refs[0] = refs[end];
    refs[end] = swap;
    sift_down(t, refs, 0, end);
  }
}

// The resources of a bridge's children that belong in its window `type`.
size_t collect_children(const PciTopology& t, const Function& bridge, WindowType type, ResourceRef* out) {
  size_t n = 0;
  const BridgeInfo& b = bridge.bridge;
  for (uint16_t c = b.first_child; c < b.first_child + b.child_count; ++c) {
    for (uint8_t slot = 0; slot < detail::slots_per_function; ++slot) {
      const Demand d = demand_of(t.functions[c], slot);
      WindowType holder;
      if (d.present && window_for(bridge, d, holder) && holder == type) out[n++] = {c, slot};
    }
  }
  return n;
}

size_t collect_root(const PciTopology& t, const Segment& segment, ResourceRef* out) {
  size_t n = 0;
  for (uint16_t c = segment.first_function; c < segment.first_function + segment.root_function_count; ++c) {
    for (uint8_t slot = 0; slot < detail::slots_per_function; ++slot) {
      if (demand_of(t.functions[c], slot).present) out[n++] = {c, slot};
    }
  }
  return n;
}

// Bottom-up: the size, alignment and address limit of each window of `bridge`, from its
// children (already sized). Fails with `failed` naming a child resource no window takes.
bool size_bridge_windows(PciTopology& t, Function& bridge, ResourceRef& failed) {
  BridgeInfo& b = bridge.bridge;
  for (uint16_t c = b.first_child; c < b.first_child + b.child_count; ++c) {
    for (uint8_t slot = 0; slot < detail::slots_per_function; ++slot) {
      const Demand d = demand_of(t.functions[c], slot);
      WindowType holder;
      if (d.present && !window_for(bridge, d, holder)) {
        failed = {c, slot};
        return false;
      }
    }
  }
  ResourceRef* refs = t.workspace.resources;
  for (size_t i = 0; i < window_types; ++i) {
    const auto type = static_cast<WindowType>(i);
    BridgeWindow& w = b.window(type);
    w.size = 0;
    w.alignment = 0;
    w.highest_address = register_highest(type, w.wide);
    if (!w.implemented) continue;
    const size_t n = collect_children(t, bridge, type, refs);
    if (n == 0) continue;
    sort_for_placement(t, refs, n);
    const uint64_t granularity = type == WindowType::io ? io_window_granularity : memory_window_granularity;
    uint64_t offset = 0;
    uint64_t alignment = granularity;
    for (size_t r = 0; r < n; ++r) {
      const Demand d = demand_of(t.functions[refs[r].function], refs[r].slot);
      offset = saturating_add(align_up(offset, d.alignment), d.size);
      alignment = max(alignment, d.alignment);
      w.highest_address = min(w.highest_address, d.highest);
    }
    w.size = align_up(offset, granularity);
    w.alignment = alignment;
  }
  return true;
}

enum class HostClass : uint8_t { io, mem32, mem32_prefetchable, mem64, mem64_prefetchable };

HostClass host_class(const PciWindow& w) {
  if (w.space == PciSpace::io) return HostClass::io;
  if (w.space == PciSpace::mem32) return w.prefetchable ? HostClass::mem32_prefetchable : HostClass::mem32;
  return w.prefetchable ? HostClass::mem64_prefetchable : HostClass::mem64;
}

// Host windows to try, in order. 64-bit-capable resources go above 4 GiB when they can,
// saving 32-bit space; prefetchable ones may use non-prefetchable windows, never the
// reverse; a 64-bit prefetchable resource falls back to 32-bit windows.
struct CandidateOrder {
  const HostClass* classes;
  size_t count;
};

CandidateOrder candidates(const Demand& d) {
  static constexpr HostClass io[] = {HostClass::io};
  static constexpr HostClass low[] = {HostClass::mem32, HostClass::mem64};
  static constexpr HostClass high[] = {HostClass::mem64, HostClass::mem32};
  static constexpr HostClass prefetchable_low[] = {HostClass::mem32_prefetchable, HostClass::mem32,
                                                    HostClass::mem64_prefetchable, HostClass::mem64};
  static constexpr HostClass prefetchable_high[] = {HostClass::mem64_prefetchable, HostClass::mem64,
                                                     HostClass::mem32_prefetchable, HostClass::mem32};
  const bool above_4g = d.highest > highest_32bit;
  if (d.io) return {io, 1};
  if (!d.prefetchable) return above_4g ? CandidateOrder{high, 2} : CandidateOrder{low, 2};
  return above_4g ? CandidateOrder{prefetchable_high, 4} : CandidateOrder{prefetchable_low, 4};
}

struct HostCursor {
  bool usable = false;
  uint64_t next = 0;  // bus address of the first free byte
  uint64_t last = 0;
};

bool place_in_host(const PcieHostInfo& host, HostCursor* cursors, const Demand& d, uint64_t& address) {
  const CandidateOrder order = candidates(d);
  for (size_t c = 0; c < order.count; ++c) {
    for (size_t w = 0; w < host.window_count; ++w) {
      HostCursor& cursor = cursors[w];
      if (!cursor.usable || host_class(host.windows[w]) != order.classes[c]) continue;
      const uint64_t start = align_up(cursor.next, d.alignment);
      if (start < cursor.next || start > cursor.last || d.size - 1 > cursor.last - start) continue;
      const uint64_t last = start + (d.size - 1);
      if (last > d.highest) continue;
      address = start;
      cursor.usable = last != cursor.last;
      cursor.next = last + 1;
      return true;
    }
  }
  return false;
}

uint64_t cpu_address_of(const PcieHostInfo& host, bool io, uint64_t bus_address) {
  for (size_t w = 0; w < host.window_count; ++w) {
    const PciWindow& window = host.windows[w];
    if ((window.space == PciSpace::io) != io) continue;
    if (bus_address >= window.pci_address && bus_address - window.pci_address < window.size) {
      return window.cpu_address + (bus_address - window.pci_address);
    }
  }
  return bus_address;
}

void set_address(PciTopology& t, const PcieHostInfo& host, ResourceRef r, uint64_t address) {
  Function& f = t.functions[r.function];
  if (r.slot <= detail::slot_rom) {
    Bar& bar = r.slot == detail::slot_rom ? f.rom : f.bars[r.slot];
    bar.assigned = true;
    bar.bus_address = address;
    bar.cpu_address = cpu_address_of(host, bar.kind == BarKind::io, address);
    return;
  }
  BridgeWindow& w = f.bridge.window(window_type_of(r.slot));
  w.open = true;
  w.base = address;
  w.limit = address + (w.size - 1);
}

// Places the root bus's resources in the host windows. Fails with `failed` set.
bool place_root(PciTopology& t, const Segment& segment, const PcieHostInfo& host, ResourceRef& failed) {
  HostCursor cursors[max_pci_windows];
  for (size_t w = 0; w < host.window_count && w < max_pci_windows; ++w) {
    const PciWindow& window = host.windows[w];
    if (window.size == 0 || window.pci_address > ~0ull - (window.size - 1)) continue;
    cursors[w] = {true, window.pci_address, window.pci_address + (window.size - 1)};
    if (window.space == PciSpace::io && cursors[w].next < io_floor) {
      cursors[w].usable = cursors[w].last >= io_floor;
      cursors[w].next = io_floor;
    }
  }
  ResourceRef* refs = t.workspace.resources;
  const size_t n = collect_root(t, segment, refs);
  sort_for_placement(t, refs, n);
  for (size_t r = 0; r < n; ++r) {
    uint64_t address = 0;
    if (!place_in_host(host, cursors, demand_of(t.functions[refs[r].function], refs[r].slot), address)) {
      failed = refs[r];
      return false;
    }
    set_address(t, host, refs[r], address);
  }
  return true;
}

// Top-down: each open window hands out its space to its members in placement order.
void place_below(PciTopology& t, const Segment& segment, const PcieHostInfo& host) {
  ResourceRef* refs = t.workspace.resources;
  for (uint16_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    const Function& bridge = t.functions[i];
    if (!bridge.is_bridge()) continue;
    for (size_t type = 0; type < window_types; ++type) {
      const BridgeWindow& w = bridge.bridge.windows[type];
      if (!w.open) continue;
      const size_t n = collect_children(t, bridge, static_cast<WindowType>(type), refs);
      sort_for_placement(t, refs, n);
      uint64_t offset = 0;
      for (size_t r = 0; r < n; ++r) {
        const Demand d = demand_of(t.functions[refs[r].function], refs[r].slot);
        offset = align_up(offset, d.alignment);
        set_address(t, host, refs[r], w.base + offset);
        offset += d.size;
      }
    }
  }
}

// The BAR to give up when `r` cannot be placed: `r` itself, or inside a window the
// largest resource (later in the table on ties), recursively.
ResourceRef culprit(PciTopology& t, ResourceRef r) {
  ResourceRef* refs = t.workspace.resources;
  while (r.slot >= detail::slot_window_first) {
    const size_t n = collect_children(t, t.functions[r.function], window_type_of(r.slot), refs);
    if (n == 0) break;
    ResourceRef best = refs[0];
    for (size_t i = 1; i < n; ++i) {
      const Demand d = demand_of(t.functions[refs[i].function], refs[i].slot);
      const Demand b = demand_of(t.functions[best.function], best.slot);
      if (d.size > b.size || (d.size == b.size && d.alignment >= b.alignment)) best = refs[i];
    }
    r = best;
  }
  return r;
}

const char* slot_label(uint8_t slot) {
  static constexpr const char* labels[] = {"0", "1", "2", "3", "4", "5", "rom"};
  return slot <= detail::slot_rom ? labels[slot] : "window";
}

void give_up(PciTopology& t, ResourceRef r) {
  Function& f = t.functions[r.function];
  if (r.slot > detail::slot_rom) {  // cannot happen: an open window always has members
    log::error("pci-bridge {}: window cannot be placed; function unusable", sbdf_text(f.address).text);
    f.usable = false;
    return;
  }
  const Bar& bar = r.slot == detail::slot_rom ? f.rom : f.bars[r.slot];
  log::error("pci {} bar {} {}{} size {}: no window can hold it; function unusable", sbdf_text(f.address).text,
             slot_label(r.slot), bar_kind_name(bar.kind), bar.prefetchable ? " pref" : "", hex(bar.size));
  f.usable = false;
}

void reset_assignments(PciTopology& t, const Segment& segment) {
  for (uint16_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    Function& f = t.functions[i];
    for (Bar& bar : f.bars) bar.assigned = false;
    f.rom.assigned = false;
    for (BridgeWindow& w : f.bridge.windows) w.open = false;
  }
}

// One sizing and placement attempt. Fails with `failed` naming what did not fit.
bool try_allocate(PciTopology& t, const Segment& segment, const PcieHostInfo& host, ResourceRef& failed) {
  reset_assignments(t, segment);
  // Children follow their bridge in the table, so reverse order sizes them first.
  const auto end = static_cast<uint16_t>(segment.first_function + segment.function_count);
  for (uint16_t i = end; i-- > segment.first_function;) {
    Function& f = t.functions[i];
    if (f.is_bridge() && !size_bridge_windows(t, f, failed)) return false;
  }
  if (!place_root(t, segment, host, failed)) return false;
  place_below(t, segment, host);
  return true;
}

// An unusable bridge with a BAR has a BAR that holds no valid address.
bool own_bar_unplaced(const Function& bridge) {
  if (bridge.usable) return false;
  for (uint8_t slot = 0; slot < bridge.bar_count; ++slot) {
    if (bridge.bars[slot].kind != BarKind::none) return true;
  }
  return false;
}

bool is_below(const Function& bridge, const Function& f) {
  const BridgeInfo& b = bridge.bridge;
  return b.buses_assigned && f.address.bdf.bus >= b.secondary && f.address.bdf.bus <= b.subordinate;
}

// A bridge whose own BAR was not placed must not decode that space (the BAR register
// holds no valid address), so nothing behind it is reachable there.
bool check_bridge_bars(PciTopology& t, const Segment& segment) {
  bool ok = true;
  const uint16_t end = static_cast<uint16_t>(segment.first_function + segment.function_count);
  for (uint16_t i = segment.first_function; i < end; ++i) {
    const Function& bridge = t.functions[i];
    if (!bridge.is_bridge() || !own_bar_unplaced(bridge)) continue;
    log::error("pci-bridge {}: a bar of its own is not placed; forwarding stays off and the functions behind it "
               "are unusable",
               sbdf_text(bridge.address).text);
    ok = false;
    for (uint16_t j = static_cast<uint16_t>(i + 1); j < end; ++j) {
      if (!is_below(bridge, t.functions[j])) continue;
      t.functions[j].usable = false;
      for (Bar& bar : t.functions[j].bars) bar.assigned = false;
      t.functions[j].rom.assigned = false;
    }
  }
  return ok;
}

// Only open windows: closed ones were already closed when the bridge was found.
void program_open_windows(ConfigAccessor& config, const Function& f) {
  const Bdf bdf = f.address.bdf;
  const BridgeWindowRegisters r = bridge_window_registers(f);
  const BridgeWindow& io = f.bridge.window(WindowType::io);
  if (io.open) {
    config.write16(bdf, reg::io_base_limit, r.io_base_limit);
    if (io.wide) config.write32(bdf, reg::io_upper, r.io_upper);
  }
  if (f.bridge.window(WindowType::memory).open) config.write32(bdf, reg::memory_base_limit, r.memory_base_limit);
  const BridgeWindow& prefetchable = f.bridge.window(WindowType::prefetchable);
  if (prefetchable.open) {
    config.write32(bdf, reg::prefetch_base_limit, r.prefetch_base_limit);
    if (prefetchable.wide) {
      config.write32(bdf, reg::prefetch_base_upper, r.prefetch_base_upper);
      config.write32(bdf, reg::prefetch_limit_upper, r.prefetch_limit_upper);
    }
  }
}

// Bridges only forward: bus mastering (upstream DMA and MSI from the functions behind
// them) and decoding of the spaces whose windows are open.
void enable_forwarding(ConfigAccessor& config, Function& f) {
  uint16_t command = static_cast<uint16_t>(f.command | reg::command_bus_master | reg::command_interrupt_disable);
  if (!own_bar_unplaced(f)) {
    if (f.bridge.window(WindowType::io).open) command |= reg::command_io;
    if (f.bridge.window(WindowType::memory).open || f.bridge.window(WindowType::prefetchable).open) {
      command |= reg::command_memory;
    }
  }
  if (command == f.command) return;
  f.command = command;
  config.write16(f.address.bdf, reg::command, command);
}

}  // namespace

void program_bars(ConfigAccessor& config, const Function& f) {
  const Bdf bdf = f.address.bdf;
  for (uint8_t slot = 0; slot < f.bar_count; ++slot) {
    const Bar& bar = f.bars[slot];
    if (!bar.assigned) continue;
    const auto offset = static_cast<uint16_t>(reg::bar0 + 4 * slot);
    config.write32(bdf, offset, static_cast<uint32_t>(bar.bus_address));
    if (bar.kind == BarKind::mem64) {
      config.write32(bdf, static_cast<uint16_t>(offset + 4), static_cast<uint32_t>(bar.bus_address >> 32));
    }
  }
  // The ROM stays disabled (enable bit clear) until its owner enables it.
  if (f.rom.assigned) config.write32(bdf, f.rom_register(), static_cast<uint32_t>(f.rom.bus_address));
}

BridgeWindowRegisters bridge_window_registers(const Function& bridge) {
  BridgeWindowRegisters r;
  const BridgeWindow& io = bridge.bridge.window(WindowType::io);
  if (io.implemented) {
    r.io_base_limit = io.open ? static_cast<uint16_t>(((io.base >> 8) & 0xf0) | (((io.limit >> 8) & 0xf0) << 8))
                              : reg::io_window_closed;
    if (io.open && io.wide) r.io_upper = static_cast<uint32_t>((io.base >> 16) | ((io.limit >> 16) << 16));
  }
  const BridgeWindow& memory = bridge.bridge.window(WindowType::memory);
  r.memory_base_limit =
      memory.open ? static_cast<uint32_t>(((memory.base >> 16) & 0xfff0) | (((memory.limit >> 16) & 0xfff0) << 16))
                  : reg::memory_window_closed;
  const BridgeWindow& prefetchable = bridge.bridge.window(WindowType::prefetchable);
  if (prefetchable.implemented) {
    r.prefetch_base_limit = prefetchable.open ? static_cast<uint32_t>(((prefetchable.base >> 16) & 0xfff0) |
                                                                      (((prefetchable.limit >> 16) & 0xfff0) << 16))
                                              : reg::memory_window_closed;
    if (prefetchable.open && prefetchable.wide) {
      r.prefetch_base_upper = static_cast<uint32_t>(prefetchable.base >> 32);
      r.prefetch_limit_upper = static_cast<uint32_t>(prefetchable.limit >> 32);
    }
  }
  return r;
}

void program_bridge_windows(ConfigAccessor& config, const Function& bridge) {
  const Bdf bdf = bridge.address.bdf;
  const BridgeWindowRegisters r = bridge_window_registers(bridge);
  const BridgeWindow& io = bridge.bridge.window(WindowType::io);
  if (io.implemented) config.write16(bdf, reg::io_base_limit, r.io_base_limit);
  if (io.wide) config.write32(bdf, reg::io_upper, r.io_upper);
  config.write32(bdf, reg::memory_base_limit, r.memory_base_limit);
  const BridgeWindow& prefetchable = bridge.bridge.window(WindowType::prefetchable);
  if (prefetchable.implemented) config.write32(bdf, reg::prefetch_base_limit, r.prefetch_base_limit);
  if (prefetchable.wide) {
    config.write32(bdf, reg::prefetch_base_upper, r.prefetch_base_upper);
    config.write32(bdf, reg::prefetch_limit_upper, r.prefetch_limit_upper);
  }
}

bool allocate_resources(PciTopology& t, const Segment& segment, const PcieHostInfo& host, ConfigAccessor& config) {
  bool ok = true;
  // Each failed attempt gives up one usable function, so this ends after at most one
  // attempt per function; the bound is a second guard.
  bool placed = false;
  for (size_t attempt = 0; attempt <= segment.function_count && !placed; ++attempt) {
    ResourceRef failed;
    placed = try_allocate(t, segment, host, failed);
    if (!placed) {
      give_up(t, culprit(t, failed));
      ok = false;
    }
  }
  if (!placed) {
    reset_assignments(t, segment);
    log::error("pci-segment {}: resources could not be placed; nothing is assigned", plain_hex(segment.number, 4));
  }
  if (!check_bridge_bars(t, segment)) ok = false;
  for (uint16_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    const Function& f = t.functions[i];
    program_bars(config, f);
    if (f.is_bridge()) program_open_windows(config, f);
  }
  for (uint16_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    if (t.functions[i].is_bridge()) enable_forwarding(config, t.functions[i]);
  }
  return ok;
}

}  // namespace bulkhead::pci
