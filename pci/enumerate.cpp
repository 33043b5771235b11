#include "pci/enumerate.hpp"

#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "pci/bar_allocator.hpp"
#include "pci/bars.hpp"
#include "pci/capabilities.hpp"
#include "pci/reset_method.hpp"
#include "pci/routing.hpp"
#include "pci/segments.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint8_t devices_per_bus = 32;
constexpr uint8_t functions_per_device = 8;
constexpr uint16_t command_decode_and_master = reg::command_io | reg::command_memory | reg::command_bus_master;
constexpr uint64_t ecam_bytes_per_bus = 1ull << 20;

constexpr uint16_t io_window_probe = 0xf0f0;
constexpr uint32_t memory_window_probe = 0xfff0fff0;
constexpr uint8_t window_64bit_decode = 0x1;  // low nibble of the base: 32-bit I/O or 64-bit memory

bool absent(uint32_t ids) {
  const uint16_t vendor = ids & 0xffff;
  return vendor == 0xffff || vendor == 0x0000;
}

struct Scan {
  PciTopology& topology;
  Segment& segment;
  ConfigAccessor& config;
  uint16_t next_bus;  // may run one past bus_last (up to 0x100)
  bool table_full = false;
  bool ok = true;
};

// A PCIe link carries only device 0 (ARI is not used), so below a port the other 31
// device numbers are not probed at all.
bool link_below(const Function& bridge) {
  return bridge.kind == FunctionKind::root_port || bridge.kind == FunctionKind::downstream_port ||
         bridge.kind == FunctionKind::pci_pcie_bridge;
}

// Finds which optional windows the bridge implements (writable base/limit registers)
// and leaves every window closed until allocation programs it.
void probe_bridge_windows(ConfigAccessor& config, Function& f) {
  const Bdf bdf = f.address.bdf;
  BridgeWindow& io = f.bridge.window(WindowType::io);
  uint16_t io_register = config.read16(bdf, reg::io_base_limit);
  if (io_register == 0) {
    config.write16(bdf, reg::io_base_limit, io_window_probe);
    io_register = config.read16(bdf, reg::io_base_limit);
  }
  io.implemented = io_register != 0;
  io.wide = (io_register & 0xf) == window_64bit_decode;
  if (io.implemented) config.write16(bdf, reg::io_base_limit, reg::io_window_closed);
  if (io.wide) config.write32(bdf, reg::io_upper, 0);

  BridgeWindow& memory = f.bridge.window(WindowType::memory);
  memory.implemented = true;  // mandatory
  config.write32(bdf, reg::memory_base_limit, reg::memory_window_closed);

  BridgeWindow& prefetchable = f.bridge.window(WindowType::prefetchable);
  uint32_t prefetch_register = config.read32(bdf, reg::prefetch_base_limit);
  if (prefetch_register == 0) {
    config.write32(bdf, reg::prefetch_base_limit, memory_window_probe);
    prefetch_register = config.read32(bdf, reg::prefetch_base_limit);
  }
  prefetchable.implemented = prefetch_register != 0;
  prefetchable.wide = (prefetch_register & 0xf) == window_64bit_decode;
  if (prefetchable.implemented) config.write32(bdf, reg::prefetch_base_limit, reg::memory_window_closed);
  if (prefetchable.wide) {
    config.write32(bdf, reg::prefetch_base_upper, 0);
    config.write32(bdf, reg::prefetch_limit_upper, 0);
  }
}

// Discovers one present function and records it; returns its index or no_function.
uint16_t record_function(Scan& s, Bdf bdf, uint32_t ids, uint16_t parent) {
  PciTopology& t = s.topology;
  const Sbdf address{s.segment.number, bdf};
  if (t.function_count >= max_functions) {
    log::error("pci {}: function table full ({} entries); it and the functions after it are not enumerated",
               sbdf_text(address).text, max_functions);
    s.table_full = true;
    s.ok = false;
    return no_function;
  }
  const auto index = static_cast<uint16_t>(t.function_count++);
  Function& f = t.functions[index];
  f = Function{};
  f.address = address;
  f.parent = parent;
  f.segment_index = static_cast<uint8_t>(&s.segment - t.segments);
  f.vendor_id = static_cast<uint16_t>(ids);
  f.device_id = static_cast<uint16_t>(ids >> 16);
  ConfigAccessor& config = s.config;

  const uint32_t header = config.read32(bdf, reg::header_dword);
  f.header_type = (header >> 16) & 0x7f;
  f.multi_function = ((header >> 16) & reg::header_multi_function) != 0;
  f.cache_line_size = static_cast<uint8_t>(header & reg::cache_line_size_mask);
  const uint32_t class_revision = config.read32(bdf, reg::class_revision);
  f.class_code = class_revision >> 8;
  f.revision = static_cast<uint8_t>(class_revision);

  // Decoding and bus mastering off before BARs are sized; INTx off until a partition owns it.
  const uint32_t command_status = config.read32(bdf, reg::command);
  const auto command = static_cast<uint16_t>(command_status);
  const auto status = static_cast<uint16_t>(command_status >> 16);
  f.command = static_cast<uint16_t>((command & ~command_decode_and_master) | reg::command_interrupt_disable);
  if (f.command != command) config.write16(bdf, reg::command, f.command);

  switch (f.header_type) {
    case 0: f.bar_count = 6; f.has_rom = true; break;
    case 1: f.bar_count = 2; f.has_rom = true; break;
    case 2: f.bar_count = 1; break;  // CardBus: socket registers only
    default: break;                  // unknown layout: touch nothing else
  }
  if (f.header_type <= 2) {
    if (!size_function_bars(config, f)) s.ok = false;
    f.interrupt.pin = static_cast<uint8_t>(config.read32(bdf, reg::interrupt_dword) >> 8);
    if (f.interrupt.pin > 4) f.interrupt.pin = 0;  // not a valid pin: treat as none
  }
  // CardBus keeps its capability pointer elsewhere; it is not walked.
  if (f.header_type <= 1 && !parse_capabilities(config, f, status)) s.ok = false;
  f.kind = derive_kind(f);

  if (f.is_bridge()) {
    // Stale bus numbers (earlier software) would route config cycles meant for buses we
    // are about to number; clear them before anything below this bus is scanned.
    const uint32_t buses = config.read32(bdf, reg::bus_numbers);
    if ((buses & 0x00ffff00u) != 0) {
      config.write16(bdf, reg::bus_numbers, bdf.bus);
      config.write8(bdf, reg::subordinate_bus, 0);
    }
    f.bridge.primary = bdf.bus;
    probe_bridge_windows(config, f);
  }
  return index;
}

detail::ScanFrame scan_bus(Scan& s, uint8_t bus, uint16_t bridge) {
  PciTopology& t = s.topology;
  detail::ScanFrame frame;
  frame.bus = bus;
  frame.bridge = bridge;
  frame.first = static_cast<uint16_t>(t.function_count);
  frame.next = frame.first;
  const uint8_t devices = bridge != no_function && link_below(t.functions[bridge]) ? 1 : devices_per_bus;
  for (uint8_t device = 0; device < devices && !s.table_full; ++device) {
    // One read per absent device number: the ID dword of function 0.
    const Bdf first{bus, device, 0};
    const uint32_t ids = s.config.read32(first, reg::vendor_device);
    if (absent(ids)) continue;
    const uint16_t index = record_function(s, first, ids, bridge);
    if (index == no_function || !t.functions[index].multi_function) continue;
    for (uint8_t function = 1; function < functions_per_device && !s.table_full; ++function) {
      const Bdf bdf{bus, device, function};
      const uint32_t function_ids = s.config.read32(bdf, reg::vendor_device);
      if (!absent(function_ids)) record_function(s, bdf, function_ids, bridge);
    }
  }
  frame.count = static_cast<uint16_t>(t.function_count - frame.first);
  return frame;
}

// Secondary = next free bus; subordinate = the segment's last bus until the subtree is
// done, so every bus below is reachable while it is scanned.
bool open_bus_range(Scan& s, Function& bridge) {
  BridgeInfo& b = bridge.bridge;
  const Bdf bdf = bridge.address.bdf;
  if (s.next_bus > s.segment.bus_last) {
    log::error("pci-bridge {}: no bus numbers left (range {}-{}); subtree not enumerated",
               sbdf_text(bridge.address).text, plain_hex(s.segment.bus_first, 2), plain_hex(s.segment.bus_last, 2));
    s.config.write16(bdf, reg::bus_numbers, b.primary);  // secondary 0: forwards nothing
    s.ok = false;
    return false;
  }
  b.secondary = static_cast<uint8_t>(s.next_bus++);
  b.subordinate = s.segment.bus_last;
  b.buses_assigned = true;
  s.config.write16(bdf, reg::bus_numbers, static_cast<uint16_t>(b.primary | b.secondary << 8));
  s.config.write8(bdf, reg::subordinate_bus, b.subordinate);
  return true;
}

void close_bus_range(Scan& s, Function& bridge) {
  bridge.bridge.subordinate = static_cast<uint8_t>(s.next_bus - 1);
  s.config.write8(bridge.address.bdf, reg::subordinate_bus, bridge.bridge.subordinate);
}

}  // namespace

FunctionKind derive_kind(const Function& f) {
  if (f.header_type == 2) return FunctionKind::cardbus_bridge;
  if (f.header_type > 2) return FunctionKind::unknown;
  const bool express = f.caps.pcie.offset != 0;
  const uint8_t type = f.caps.pcie.port_type;
  if (f.header_type == 1) {
    if (express) {
      switch (type) {
        case port_type::root_port: return FunctionKind::root_port;
        case port_type::upstream_port: return FunctionKind::upstream_port;
        case port_type::downstream_port: return FunctionKind::downstream_port;
        case port_type::pcie_pci_bridge: return FunctionKind::pcie_pci_bridge;
        case port_type::pci_pcie_bridge: return FunctionKind::pci_pcie_bridge;
        default: break;
      }
    }
    return FunctionKind::pci_bridge;
  }
  if ((f.class_code >> 8) == 0x0600) return FunctionKind::host_bridge;
  if (express) {
    switch (type) {
      case port_type::legacy_endpoint: return FunctionKind::legacy_endpoint;
      case port_type::rc_endpoint: return FunctionKind::rc_endpoint;
      case port_type::rc_event_collector: return FunctionKind::rc_event_collector;
      default: break;
    }
  }
  return FunctionKind::endpoint;
}

namespace {

// One segment (already in out.segments): bus scan and numbering, and discovery of each
// function (IDs, BAR sizes, capabilities, bridge window support) with decoding off.
bool scan_segment(PciTopology& out, Segment& segment, ConfigAccessor& config) {
  Scan s{out, segment, config, static_cast<uint16_t>(segment.bus_first + 1)};
  segment.first_function = static_cast<uint16_t>(out.function_count);
  detail::ScanFrame* stack = out.workspace.scan_stack;
  size_t depth = 0;
  stack[depth++] = scan_bus(s, segment.bus_first, no_function);
  segment.root_function_count = stack[0].count;
  // Depth-first, one bus at a time: a bus is scanned whole before any bridge on it is
  // descended (so its stale bridges are already quiet), then bridges in table order.
  // Each push takes a new bus number, so depth never exceeds 257.
  while (depth > 0) {
    detail::ScanFrame& top = stack[depth - 1];
    uint16_t child = no_function;
    while (top.next < top.first + top.count) {
      const uint16_t candidate = top.next++;
      if (out.functions[candidate].is_bridge()) {
        child = candidate;
        break;
      }
    }
    if (child == no_function) {
      if (top.bridge != no_function) close_bus_range(s, out.functions[top.bridge]);
      --depth;
      continue;
    }
    Function& bridge = out.functions[child];
    if (!open_bus_range(s, bridge)) continue;
    stack[depth] = scan_bus(s, bridge.bridge.secondary, child);
    bridge.bridge.first_child = stack[depth].first;
    bridge.bridge.child_count = stack[depth].count;
    ++depth;
  }
  segment.function_count = static_cast<uint16_t>(out.function_count - segment.first_function);
  segment.bus_last_used = static_cast<uint8_t>(s.next_bus - 1);
  return s.ok;
}

}  // namespace

bool enumerate_hosts(const PcieHostInfo* hosts, size_t host_count, ConfigAccessor* const* accessors,
                     PciTopology& out) {
  out.clear();
  bool ok = true;
  if (host_count > max_segments) {
    log::error("pci: {} host bridges, at most {} supported; the rest are not enumerated", host_count, max_segments);
    host_count = max_segments;
    ok = false;
  }
  SegmentAssignment assignments[max_segments];
  if (!assign_segments(hosts, host_count, assignments)) ok = false;

  for (size_t i = 0; i < host_count; ++i) {
    if (!assignments[i].valid) continue;
    const PcieHostInfo& host = hosts[i];
    const uint16_t number = assignments[i].number;
    if (accessors[i] == nullptr) {
      log::error("pci-segment {}: {} has no config-space access; not enumerated", plain_hex(number, 4), host.path.text);
      ok = false;
      continue;
    }
    if (host.bus_first > host.bus_last) {
      log::error("pci-segment {}: {} bus-range {}-{} is empty; not enumerated", plain_hex(number, 4), host.path.text,
                 plain_hex(host.bus_first, 2), plain_hex(host.bus_last, 2));
      ok = false;
      continue;
    }
    uint8_t bus_last = host.bus_last;
    const uint64_t ecam_buses = host.ecam.size / ecam_bytes_per_bus;
    if (ecam_buses == 0) {
      log::error("pci-segment {}: {} ecam size {} holds no bus; not enumerated", plain_hex(number, 4), host.path.text,
                 hex(host.ecam.size));
      ok = false;
      continue;
    }
    if (ecam_buses < static_cast<uint64_t>(host.bus_last - host.bus_first) + 1) {
      bus_last = static_cast<uint8_t>(host.bus_first + ecam_buses - 1);
      log::error("pci-segment {}: {} ecam size {} only covers buses {}-{}; using that range", plain_hex(number, 4),
                 host.path.text, hex(host.ecam.size), plain_hex(host.bus_first, 2), plain_hex(bus_last, 2));
      ok = false;
    }

    Segment& segment = out.segments[out.segment_count++];
    segment = Segment{};
    segment.number = number;
    segment.number_from_dt = assignments[i].from_dt;
    segment.host_index = static_cast<uint8_t>(i);
    rt::copy_string(segment.host_path.text, sizeof(segment.host_path.text), host.path.text);
    segment.ecam_base = host.ecam.base;
    segment.bus_first = host.bus_first;
    segment.bus_last = bus_last;

    CountingAccessor counting(*accessors[i]);
    if (!scan_segment(out, segment, counting)) ok = false;
    if (!allocate_resources(out, segment, host, counting)) ok = false;
    route_segment(out, segment, host);
    choose_reset_methods(out, segment, counting);
    segment.config_reads = counting.reads();
    segment.config_writes = counting.writes();
  }
  return ok;
}

}  // namespace bulkhead::pci
