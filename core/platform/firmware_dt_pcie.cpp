// The firmware DT reader's half for `pci-host-ecam-generic` host bridges: reg, bus-range,
// ranges, msi-map, iommu-map and interrupt-map, each checked and decoded.
#include "core/platform/firmware_dt_reader.hpp"

namespace bulkhead::firmware_dt_detail {

bool Reader::read_pcie_hosts() {
  constexpr const char* ecam_generic = "pci-host-ecam-generic";
  for (int node = next_compatible(-1, ecam_generic); node >= 0; node = next_compatible(node, ecam_generic)) {
    NodePath path;
    if (!path_of(node, path)) return false;
    if (platform_.pcie_host_count == max_pcie_hosts) {
      return fail("{}: more than {} PCIe host bridges (max_pcie_hosts)", path.text, max_pcie_hosts);
    }
    PcieHostInfo& host = platform_.pcie_hosts[platform_.pcie_host_count];
    // PcieHostInfo{}'s non-zero defaults (the whole platform was zeroed).
    host.bus_last = 0xff;
    host.msi_map.mask = 0xffffffff;
    host.iommu_map.mask = 0xffffffff;
    host.path = path;
    if (!read_pcie_host(node, host)) return false;
    ++platform_.pcie_host_count;
  }
  return true;
}

bool Reader::read_pcie_host(int node, PcieHostInfo& host) {
  const NodePath& path = host.path;
  uint32_t address_cells = 0;
  uint32_t size_cells = 0;
  if (!read_u32(node, "#address-cells", 2, address_cells) || !read_u32(node, "#size-cells", 1, size_cells)) {
    return false;
  }
  if (address_cells != 3) return fail("{}: #address-cells: {} is not 3 (PCI)", path.text, address_cells);
  if (size_cells != 2) return fail("{}: #size-cells: {} is not 2 (PCI)", path.text, size_cells);

  Reg reg;
  if (!read_reg(node, reg, true) || !read_bus_range(node, host)) return false;
  host.ecam = reg.entry(0);
  const uint64_t ecam_needed = (uint64_t{host.bus_last} - host.bus_first + 1) * ecam_bytes_per_bus;
  if (host.ecam.size < ecam_needed) {
    return fail("{}: reg: ECAM size {} is smaller than the {} that buses 0x{}-0x{} need", path.text,
                hex(host.ecam.size), hex(ecam_needed), plain_hex(host.bus_first, 2), plain_hex(host.bus_last, 2));
  }
  host.domain_from_dt = property(node, "linux,pci-domain").present();
  if (!read_u32(node, "linux,pci-domain", 0, host.domain)) return false;
  host.dma_coherent = property(node, "dma-coherent").present();
  // The CPU side of `ranges` uses the parent's #address-cells, which `reg` just used.
  return read_pci_ranges(node, host, reg.address_cells) &&
         read_id_map(node, "msi-map", "msi-map-mask", host.msi_map) &&
         read_id_map(node, "iommu-map", "iommu-map-mask", host.iommu_map) && read_interrupt_map(node, host);
}

bool Reader::read_bus_range(int node, PcieHostInfo& host) {
  const Property range = property(node, "bus-range");
  if (!range.present()) return true;  // buses 0x00-0xff, not from the DT
  const char* p = host.path.text;
  if (range.length != 8) return fail("{}: bus-range: length {} is not 8", p, range.length);
  const uint32_t first = range.cell(0);
  const uint32_t last = range.cell(1);
  if (first > 0xff || last > 0xff) {
    return fail("{}: bus-range: bus {} is above 0xff", p, hex(first > 0xff ? first : last));
  }
  if (first > last) {
    return fail("{}: bus-range: first bus 0x{} is after last bus 0x{}", p, plain_hex(first, 2), plain_hex(last, 2));
  }
  host.bus_first = static_cast<uint8_t>(first);
  host.bus_last = static_cast<uint8_t>(last);
  host.bus_range_from_dt = true;
  return true;
}

bool Reader::read_pci_ranges(int node, PcieHostInfo& host, uint32_t cpu_address_cells) {
  const Property ranges = property(node, "ranges");
  if (!ranges.present()) return true;
  const char* p = host.path.text;
  const size_t entry_cells = 3 + cpu_address_cells + 2;
  if (ranges.length % (4 * entry_cells) != 0) {
    return fail("{}: ranges: length {} is not a multiple of {} (3 PCI address cells, {} CPU address cells, "
                "2 size cells)", p, ranges.length, 4 * entry_cells, cpu_address_cells);
  }
  for (size_t i = 0; i < ranges.length / (4 * entry_cells); ++i) {
    const fdt32_t* entry = ranges.cells + i * entry_cells;
    const uint32_t phys_high = fdt32_ld(entry);
    PciWindow window;
    window.prefetchable = (phys_high & pci_prefetchable_bit) != 0;
    window.pci_address = load_cells(entry + 1, 2);
    window.cpu_address = load_cells(entry + 3, cpu_address_cells);
    window.size = load_cells(entry + 3 + cpu_address_cells, 2);
    if (window.size == 0) continue;
    switch ((phys_high >> pci_space_code_shift) & pci_space_code_mask) {
      case 1: window.space = PciSpace::io; break;
      case 2: window.space = PciSpace::mem32; break;
      case 3: window.space = PciSpace::mem64; break;
      default:
        return fail("{}: ranges: entry {} has space code 0 (configuration), expected 1 (io), 2 (mem32) or "
                    "3 (mem64)", p, i);
    }
    if (overflows(window.cpu_address, window.size) || overflows(window.pci_address, window.size)) {
      return fail("{}: ranges: entry {} pci {} cpu {} size {} overflows 64 bits", p, i, hex(window.pci_address),
                  hex(window.cpu_address), hex(window.size));
    }
    if (host.window_count == max_pci_windows) {
      return fail("{}: ranges: more than {} windows (max_pci_windows)", p, max_pci_windows);
    }
    host.windows[host.window_count++] = window;
  }
  return true;
}

// `msi-map` / `iommu-map`, assuming one specifier cell (#msi-cells, #iommu-cells = 1).
bool Reader::read_id_map(int node, const char* map_name, const char* mask_name, IdMap& map) {
  const Property value = property(node, map_name);
  if (value.present()) {
    const size_t entry_bytes = 4 * id_map_entry_cells;
    if (value.length % entry_bytes != 0) {
      return fail("{}: {}: length {} is not a multiple of {} (rid-base, phandle, output-base, length)", path_text(node).text,
                  map_name, value.length, entry_bytes);
    }
    map.count = value.length / entry_bytes;
    if (map.count > max_id_map_entries) {
      return fail("{}: {}: more than {} entries (max_id_map_entries)", path_text(node).text, map_name, max_id_map_entries);
    }
    for (size_t i = 0, at = 0; i < map.count; ++i, at += id_map_entry_cells) {
      map.entries[i] = {value.cell(at), value.cell(at + 1), value.cell(at + 2), value.cell(at + 3)};
    }
  }
  return read_u32(node, mask_name, 0xffffffff, map.mask);
}

// Entries are: child unit address (3) + pin (1), parent phandle, parent unit address
// (parent's #address-cells), parent specifier (#interrupt-cells: type, number, flags).
bool Reader::read_interrupt_map(int node, PcieHostInfo& host) {
  const Property map = property(node, "interrupt-map");
  if (!map.present()) return true;
  const char* p = host.path.text;
  uint32_t interrupt_cells = 0;
  if (!read_required_u32(node, "#interrupt-cells", interrupt_cells)) return false;
  if (interrupt_cells != 1) return fail("{}: #interrupt-cells: {} is not 1 (PCI)", p, interrupt_cells);
  const Property mask = property(node, "interrupt-map-mask");
  if (mask.present() && mask.length != 16) return fail("{}: interrupt-map-mask: length {} is not 16", p, mask.length);
  for (size_t i = 0; i < 4; ++i) host.interrupt_map_mask[i] = mask.present() ? mask.cell(i) : 0xffffffff;
  if (map.length % 4 != 0) return fail("{}: interrupt-map: length {} is not a multiple of 4", p, map.length);

  const size_t total = map.length / 4;
  for (size_t at = 0, index = 0; at < total; ++index) {
    if (total - at < pci_child_cells + 1) {
      return fail("{}: interrupt-map: entry {} is truncated (needs at least {} cells, {} left)", p, index,
                  pci_child_cells + 1, total - at);
    }
    const uint32_t phandle = map.cell(at + pci_child_cells);
    if (gic_node_ < 0 || phandle == 0 || phandle != platform_.gic.phandle) {
      if (index_.find_phandle(phandle) < 0) {
        return fail("{}: interrupt-map: entry {}: phandle {} matches no node", p, index, hex(phandle));
      }
      return fail("{}: interrupt-map: entry {}: parent phandle {} is not the GICv3", p, index, hex(phandle));
    }
    const size_t entry_cells = pci_child_cells + 1 + gic_address_cells_ + gic_interrupt_cells_;
    if (total - at < entry_cells) {
      return fail("{}: interrupt-map: entry {} is truncated (needs {} cells, {} left)", p, index, entry_cells,
                  total - at);
    }
    const size_t specifier = at + pci_child_cells + 1 + gic_address_cells_;
    if (map.cell(specifier) != gic_spi_type) {
      return fail("{}: interrupt-map: entry {}: interrupt type {} is not an SPI (0)", p, index, map.cell(specifier));
    }
    if (host.interrupt_map_count == max_interrupt_map_entries) {
      return fail("{}: interrupt-map: more than {} entries (max_interrupt_map_entries)", p,
                  max_interrupt_map_entries);
    }
    host.interrupt_map[host.interrupt_map_count++] = {map.cell(at), map.cell(at + 3), phandle,
                                                       map.cell(specifier + 1), map.cell(specifier + 2)};
    at += entry_cells;
  }
  return true;
}

}  // namespace bulkhead::firmware_dt_detail
