#include "pci/vpci/vpci_report.hpp"

#include "pci/vpci/virtual_bus.hpp"

namespace bulkhead::pci::vpci {

const char* guest_window_name(const Bar& bar) {
  if (bar.kind == BarKind::io) return "io";
  return bar.kind == BarKind::mem64 && bar.prefetchable ? "mem64" : "mem32";
}

void write_function_fact(Sink& out, const char* partition, const Function& function, uint8_t slot) {
  format(out, "partition {} pci {} vbdf 00:{}.0", partition, sbdf_text(function.address).text, plain_hex(slot, 2));
  for (uint8_t b = 0; b < bar_slots; ++b) {
    const Bar& bar = function.bars[b];
    if (bar.kind == BarKind::none) continue;
    format(out, " bar {} guest-window {} size {}", b, guest_window_name(bar), hex(guest_bar_size(bar)));
  }
}

}  // namespace bulkhead::pci::vpci
