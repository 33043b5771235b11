#include "pci/pci_report.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::pci {
namespace {

const char* pin_name(uint8_t pin) {
  static constexpr const char* names[] = {"none", "A", "B", "C", "D"};
  return pin <= 4 ? names[pin] : "none";
}

void report_bar(const SbdfText& name, const char* index, const Bar& bar) {
  const char* pref = bar.prefetchable ? " pref" : "";
  if (!bar.assigned) {
    log::fact("pci-bar {} {} {}{} addr none size {}", name.text, index, bar_kind_name(bar.kind), pref, hex(bar.size));
  } else if (bar.cpu_address != bar.bus_address) {
    log::fact("pci-bar {} {} {}{} addr {} size {} bus-addr {}", name.text, index, bar_kind_name(bar.kind), pref,
              hex(bar.cpu_address), hex(bar.size), hex(bar.bus_address));
  } else {
    log::fact("pci-bar {} {} {}{} addr {} size {}", name.text, index, bar_kind_name(bar.kind), pref,
              hex(bar.cpu_address), hex(bar.size));
  }
}

// "0xB-0xL" or "none", into a small buffer: the bridge line has three of them.
struct WindowText {
  FixedBuffer<48> buffer;
};

void describe_window(WindowText& out, const BridgeWindow& w) {
  if (w.open) format(out.buffer, "{}-{}", hex(w.base), hex(w.limit));
  else format(out.buffer, "none");
}

void report_bridge(const SbdfText& name, const BridgeInfo& b) {
  WindowText io, memory, prefetchable;
  describe_window(io, b.window(WindowType::io));
  describe_window(memory, b.window(WindowType::memory));
  describe_window(prefetchable, b.window(WindowType::prefetchable));
  log::fact("pci-bridge {} buses {}/{}/{} io {} mem {} pref {}", name.text, plain_hex(b.primary, 2),
            plain_hex(b.secondary, 2), plain_hex(b.subordinate, 2), io.buffer.c_str(), memory.buffer.c_str(),
            prefetchable.buffer.c_str());
}

void report_capabilities(const SbdfText& name, const Capabilities& caps) {
  if (caps.pcie.offset != 0) log::fact("pci-cap {} pcie type {}", name.text, port_type_name(caps.pcie.port_type));
  if (caps.power_management != 0) log::fact("pci-cap {} pm", name.text);
  if (caps.msi.offset != 0) {
    log::fact("pci-cap {} msi vectors {} 64bit {} mask {}", name.text, caps.msi.vectors, caps.msi.address_64bit,
              caps.msi.per_vector_mask);
  }
  if (caps.msix.offset != 0) {
    log::fact("pci-cap {} msix table-size {} table bar {} offset {} pba bar {} offset {}", name.text,
              caps.msix.table_size, caps.msix.table_bar, hex(caps.msix.table_offset), caps.msix.pba_bar,
              hex(caps.msix.pba_offset));
  }
  if (caps.acs != 0) log::fact("pci-cap {} acs", name.text);
  if (caps.aer != 0) log::fact("pci-cap {} aer", name.text);
  if (caps.sriov.offset != 0) {
    log::fact("pci-cap {} sriov total-vfs {}", name.text, caps.sriov.total_vfs);
    for (uint8_t slot = 0; slot < bar_slots; ++slot) {
      const VfBar& bar = caps.sriov.vf_bars[slot];
      if (bar.kind == BarKind::none) continue;
      log::fact("pci-vf-bar {} {} {}{} size {}", name.text, slot, bar_kind_name(bar.kind),
                bar.prefetchable ? " pref" : "", hex(bar.size));
    }
  }
}

void report_routing(const SbdfText& name, const Function& f) {
  if (f.interrupt.pin != 0) {
    if (f.interrupt.routed) {
      log::fact("pci-irq {} pin {} spi {}", name.text, pin_name(f.interrupt.pin), f.interrupt.spi);
    } else {
      log::fact("pci-irq {} pin {} spi none", name.text, pin_name(f.interrupt.pin));
    }
  }
  const DmaIdentity& dma = f.dma;
  FixedBuffer<24> stream, its;
  if (dma.stream_id_valid) format(stream, "{}", hex(dma.stream_id)); else format(stream, "none");
  if (dma.its_device_id_valid) format(its, "{}", hex(dma.its_device_id)); else format(its, "none");
  log::fact("pci-stream {} rid {} stream-id {} its-device-id {}", name.text, hex(dma.requester_id, 4), stream.c_str(),
            its.c_str());
}

}  // namespace

void report_function(const Function& f) {
  const SbdfText name = sbdf_text(f.address);
  log::fact("pci {} {}:{} class {} kind {}{}", name.text, plain_hex(f.vendor_id, 4), plain_hex(f.device_id, 4),
            plain_hex(f.class_code, 6), kind_name(f.kind), f.usable ? "" : " unusable");
  static constexpr const char* indexes[] = {"0", "1", "2", "3", "4", "5"};
  for (uint8_t slot = 0; slot < f.bar_count; ++slot) {
    if (f.bars[slot].kind != BarKind::none) report_bar(name, indexes[slot], f.bars[slot]);
  }
  if (f.rom.kind != BarKind::none) report_bar(name, "rom", f.rom);
  if (f.is_bridge()) report_bridge(name, f.bridge);
  report_capabilities(name, f.caps);
  report_routing(name, f);
}

void report_segment(const PciTopology& topology, const Segment& segment) {
  log::fact("pci-segment {} host {} source {} buses {}-{} ecam {}", plain_hex(segment.number, 4),
            segment.host_path.text, segment.number_from_dt ? "dt" : "assigned", plain_hex(segment.bus_first, 2),
            plain_hex(segment.bus_last, 2), hex(segment.ecam_base));
  size_t bridges = 0;
  size_t unusable = 0;
  for (size_t i = segment.first_function; i < segment.first_function + segment.function_count; ++i) {
    const Function& f = topology.functions[i];
    report_function(f);
    if (f.is_bridge()) ++bridges;
    if (!f.usable) ++unusable;
  }
  log::fact("pci-summary {} functions {} bridges {} unusable {} config-accesses {}", plain_hex(segment.number, 4),
            segment.function_count, bridges, unusable, segment.config_reads + segment.config_writes);
}

void report_topology(const PciTopology& topology) {
  for (size_t i = 0; i < topology.segment_count; ++i) report_segment(topology, topology.segments[i]);
}

}  // namespace bulkhead::pci
