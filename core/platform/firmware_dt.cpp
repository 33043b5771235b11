#include "core/platform/firmware_dt.hpp"

#include <libfdt.h>

#include <cstdint>

#include "core/lib/format.hpp"
#include "core/lib/runtime.hpp"

namespace bulkhead {
namespace {

constexpr uint64_t mpidr_affinity_mask = 0xff00ffffffull;  // Aff3, Aff2, Aff1, Aff0
constexpr uint32_t max_cells = 4;                            // libfdt's FDT_MAX_NCELLS
constexpr uint32_t gic_spi_type = 0;
constexpr uint32_t gic_ppi_type = 1;
constexpr uint32_t pci_space_code_shift = 24;
constexpr uint32_t pci_space_code_mask = 0x3;
constexpr uint32_t pci_prefetchable_bit = 0x40000000;
constexpr uint64_t ecam_bytes_per_bus = uint64_t{1} << 20;
constexpr size_t pci_child_cells = 4;     // interrupt-map child: 3 unit-address cells + 1 pin
constexpr size_t id_map_entry_cells = 4;  // rid-base, phandle, output-base, length
constexpr size_t timer_interrupts = 4;    // secure phys, non-secure phys, virtual, hypervisor

template <typename... Args>
bool fail(FirmwareDtError& error, FormatString<std::type_identity_t<Args>...> message, Args... args) {
  FixedBuffer<sizeof(error.message)> text;  // cuts what does not fit
  format<Args...>(text, message, args...);
  rt::copy_string(error.message, sizeof(error.message), text.c_str());
  return false;
}

// Big-endian cells loaded bytewise, so no alignment is assumed. `count` is at most 2.
uint64_t load_cells(const fdt32_t* cells, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 32) | fdt32_ld(cells + i);
  return value;
}

bool overflows(uint64_t base, uint64_t size) { return size > UINT64_MAX - base; }

struct Property {
  const fdt32_t* cells = nullptr;  // nullptr: absent
  size_t length = 0;               // bytes
  bool present() const { return cells != nullptr; }
  uint32_t cell(size_t index) const { return fdt32_ld(cells + index); }
};

// A decoded `reg`, in the cell format of the node's parent.
struct Reg {
  Property value;
  uint32_t address_cells = 2;
  uint32_t size_cells = 1;
  size_t count = 0;
  AddressRange entry(size_t index) const {
    const fdt32_t* at = value.cells + index * (address_cells + size_cells);
    return {load_cells(at, address_cells), load_cells(at + address_cells, size_cells)};
  }
};

class Reader {
 public:
  Reader(const void* fdt, PlatformInfo& platform, FirmwareDtError& error)
      : fdt_(fdt), platform_(platform), error_(error) {}

  bool read() {
    // Not `platform_ = {}`: that may build a ~20 KiB temporary on the hypervisor's stack.
    rt::fill(&platform_, 0, sizeof(platform_));
    platform_.uart.source = ConsoleSource::board_default;
    return read_memory() && read_cpus() && read_psci() && read_gic() && read_smmu() && read_pcie_hosts() &&
           read_timer() && read_chosen();
  }

 private:
  template <typename... Args>
  bool fail(FormatString<std::type_identity_t<Args>...> message, Args... args) {
    return bulkhead::fail<Args...>(error_, message, args...);
  }

  Property property(int node, const char* name) const {
    int length = 0;
    const void* value = fdt_getprop(fdt_, node, name, &length);
    if (value == nullptr || length < 0) return {};
    return {static_cast<const fdt32_t*>(value), static_cast<size_t>(length)};
  }

  bool has_string(int node, const char* name, const char* expected) const {
    const Property found = property(node, name);
    const size_t expected_length = rt::length(expected) + 1;
    return found.length == expected_length && rt::compare(found.cells, expected, expected_length) == 0;
  }

  // The spec's rule: no status, "okay" or "ok" means usable.
  bool available(int node) const {
    return !property(node, "status").present() || has_string(node, "status", "okay") ||
           has_string(node, "status", "ok");
  }

  bool compatible(int node, const char* name) const { return fdt_node_check_compatible(fdt_, node, name) == 0; }

  // The next available node after `from` (-1: from the start) compatible with `name`.
  int next_compatible(int from, const char* name) const {
    int node = fdt_node_offset_by_compatible(fdt_, from, name);
    while (node >= 0 && !available(node)) node = fdt_node_offset_by_compatible(fdt_, node, name);
    return node;
  }

  bool path_of(int node, NodePath& path) {
    const int status = fdt_get_path(fdt_, node, path.text, sizeof(path.text));
    if (status == 0) return true;
    int length = 0;
    const char* name = fdt_get_name(fdt_, node, &length);
    const Text shown = name != nullptr ? Text{name, static_cast<size_t>(length)} : Text{"?", 1};
    if (status != -FDT_ERR_NOSPACE) return fail("node {}: path: {}", shown, fdt_strerror(status));
    return fail("node {}: path does not fit in {} bytes (max_node_path)", shown, max_node_path);
  }

  // A one-cell property; `fallback` when absent, or an error if there is none.
  bool read_cell(int node, const NodePath& path, const char* name, const uint32_t* fallback, uint32_t& value) {
    const Property found = property(node, name);
    if (!found.present() && fallback == nullptr) return fail("{}: {}: missing", path.text, name);
    if (found.present() && found.length != 4) return fail("{}: {}: length {} is not 4", path.text, name, found.length);
    value = found.present() ? found.cell(0) : *fallback;
    return true;
  }
  bool read_u32(int node, const NodePath& path, const char* name, uint32_t fallback, uint32_t& value) {
    return read_cell(node, path, name, &fallback, value);
  }
  bool read_required_u32(int node, const NodePath& path, const char* name, uint32_t& value) {
    return read_cell(node, path, name, nullptr, value);
  }

  // `text` is nullptr when the property is absent.
  bool read_string(int node, const NodePath& path, const char* name, const char*& text) {
    int length = 0;
    const char* value = static_cast<const char*>(fdt_getprop(fdt_, node, name, &length));
    text = nullptr;
    if (value == nullptr) return true;
    if (length <= 0 || value[length - 1] != '\0') return fail("{}: {}: not a NUL-terminated string", path.text, name);
    text = value;
    return true;
  }

  // `reg` is used as a CPU physical address: refuse buses that translate addresses.
  bool check_untranslated(int bus, const NodePath& path) {
    for (int node = bus; node > 0; node = fdt_parent_offset(fdt_, node)) {
      const Property ranges = property(node, "ranges");
      if (!ranges.present() || ranges.length == 0) continue;
      NodePath bus_path;
      if (!path_of(node, bus_path)) return false;
      return fail("{}: reg: parent bus {} translates addresses (non-empty ranges), which is not supported",
                  path.text, bus_path.text);
    }
    return true;
  }

  bool read_reg(int node, const NodePath& path, Reg& reg, bool required) {
    const char* p = path.text;
    const int parent = fdt_parent_offset(fdt_, node);
    NodePath parent_path;
    if (parent < 0) return fail("{}: reg: the root node has no parent bus", p);
    if (!path_of(parent, parent_path) || !read_u32(parent, parent_path, "#address-cells", 2, reg.address_cells) ||
        !read_u32(parent, parent_path, "#size-cells", 1, reg.size_cells)) {
      return false;
    }
    if (reg.address_cells < 1 || reg.address_cells > 2) {
      return fail("{}: reg: #address-cells {} of {} is not supported (1 or 2)", p, reg.address_cells,
                  parent_path.text);
    }
    if (reg.size_cells > 2) {
      return fail("{}: reg: #size-cells {} of {} is not supported (0 to 2)", p, reg.size_cells, parent_path.text);
    }
    if (!check_untranslated(parent, path)) return false;
    reg.value = property(node, "reg");
    if (!reg.value.present()) return required ? fail("{}: reg: missing", p) : true;
    const size_t entry_bytes = size_t{4} * (reg.address_cells + reg.size_cells);
    if (reg.value.length % entry_bytes != 0) {
      return fail("{}: reg: length {} is not a multiple of {} (#address-cells {}, #size-cells {})", p,
                  reg.value.length, entry_bytes, reg.address_cells, reg.size_cells);
    }
    reg.count = reg.value.length / entry_bytes;
    if (required && reg.count == 0) return fail("{}: reg: empty", p);
    for (size_t i = 0; i < reg.count; ++i) {
      const AddressRange range = reg.entry(i);
      if (overflows(range.base, range.size)) {
        return fail("{}: reg: entry {} base {} size {} overflows 64 bits", p, i, hex(range.base), hex(range.size));
      }
    }
    return true;
  }

  bool read_memory() {
    int node = 0;
    fdt_for_each_subnode(node, fdt_, 0) {
      if (!has_string(node, "device_type", "memory") || !available(node)) continue;
      NodePath path;
      Reg reg;
      if (!path_of(node, path) || !read_reg(node, path, reg, false)) return false;
      for (size_t i = 0; i < reg.count; ++i) {
        const AddressRange range = reg.entry(i);
        if (range.size == 0) continue;
        for (size_t j = 0; j < platform_.ram_count; ++j) {
          const AddressRange& other = platform_.ram[j];
          if (range.base < other.end() && other.base < range.end()) {
            return fail("{}: reg: RAM {} size {} overlaps RAM {} size {}", path.text, hex(range.base),
                        hex(range.size), hex(other.base), hex(other.size));
          }
        }
        if (platform_.ram_count == max_ram_ranges) {
          return fail("{}: reg: more than {} RAM ranges (max_ram_ranges)", path.text, max_ram_ranges);
        }
        platform_.ram[platform_.ram_count++] = range;
      }
    }
    return platform_.ram_count != 0 || fail("no /memory node with a usable reg");
  }

  bool read_cpus() {
    const int cpus = fdt_path_offset(fdt_, "/cpus");
    if (cpus < 0) return fail("no /cpus node");
    NodePath cpus_path;
    uint32_t address_cells = 0;
    uint32_t size_cells = 0;
    if (!path_of(cpus, cpus_path) || !read_u32(cpus, cpus_path, "#address-cells", 2, address_cells) ||
        !read_u32(cpus, cpus_path, "#size-cells", 1, size_cells)) {
      return false;
    }
    if (address_cells < 1 || address_cells > 2) {
      return fail("/cpus: #address-cells {} is not supported (1 or 2)", address_cells);
    }
    if (size_cells != 0) return fail("/cpus: #size-cells {} is not 0", size_cells);
    int node = 0;
    fdt_for_each_subnode(node, fdt_, cpus) {
      if (!has_string(node, "device_type", "cpu") || !available(node)) continue;
      NodePath path;
      if (!path_of(node, path)) return false;
      const Property reg = property(node, "reg");
      if (!reg.present()) return fail("{}: reg: missing", path.text);
      if (reg.length != size_t{4} * address_cells) {
        return fail("{}: reg: length {} is not {} (#address-cells {})", path.text, reg.length, 4 * address_cells,
                    address_cells);
      }
      const uint64_t mpidr = load_cells(reg.cells, address_cells) & mpidr_affinity_mask;
      for (size_t i = 0; i < platform_.cpu_count; ++i) {
        const CpuInfo& other = platform_.cpus[i];
        if (other.mpidr == mpidr) return fail("{}: reg: MPIDR {} is also {}", path.text, hex(mpidr), other.path.text);
      }
      if (platform_.cpu_count == max_cpus) return fail("{}: more than {} CPUs (max_cpus)", path.text, max_cpus);
      platform_.cpus[platform_.cpu_count++] = {mpidr, path};
    }
    return platform_.cpu_count != 0 || fail("/cpus: no available cpu node");
  }

  bool read_psci() {
    int node = 0;
    for (node = fdt_next_node(fdt_, 0, nullptr); node >= 0; node = fdt_next_node(fdt_, node, nullptr)) {
      const bool psci =
          compatible(node, "arm,psci-1.0") || compatible(node, "arm,psci-0.2") || compatible(node, "arm,psci");
      if (psci && available(node)) break;
    }
    if (node < 0) return true;  // absent: the caller decides whether it can live without
    NodePath path;
    const char* method = nullptr;
    if (!path_of(node, path) || !read_string(node, path, "method", method)) return false;
    if (method == nullptr) return fail("{}: method: missing", path.text);
    const bool smc = rt::compare_strings(method, "smc") == 0;
    if (!smc && rt::compare_strings(method, "hvc") != 0) {
      return fail("{}: method: \"{}\" is neither smc nor hvc", path.text, method);
    }
    platform_.psci = {smc ? PsciConduit::smc : PsciConduit::hvc,
                      compatible(node, "arm,psci-1.0") || compatible(node, "arm,psci-0.2")};
    return true;
  }

  bool read_gic() {
    const int node = next_compatible(-1, "arm,gic-v3");
    if (node < 0) return true;
    GicV3Info& gic = platform_.gic;
    const char* p = gic.path.text;
    Reg reg;
    uint32_t regions = 0;
    if (!path_of(node, gic.path) || !read_reg(node, gic.path, reg, true) ||
        !read_u32(node, gic.path, "#redistributor-regions", 1, regions)) {
      return false;
    }
    if (regions == 0) return fail("{}: #redistributor-regions: 0 regions", p);
    if (regions > max_redistributor_regions) {
      return fail("{}: #redistributor-regions: {} is more than {} (max_redistributor_regions)", p, regions,
                  max_redistributor_regions);
    }
    if (reg.count < 1 + regions) {
      return fail("{}: reg: {} entries, need {} (distributor and {} redistributor regions)", p, reg.count,
                  1 + regions, regions);
    }
    gic.distributor = reg.entry(0);
    for (size_t i = 0; i < regions; ++i) gic.redistributors[i] = reg.entry(1 + i);
    gic.redistributor_region_count = regions;
    gic.phandle = fdt_get_phandle(fdt_, node);

    if (!read_required_u32(node, gic.path, "#interrupt-cells", gic_interrupt_cells_)) return false;
    if (gic_interrupt_cells_ < 3 || gic_interrupt_cells_ > 4) {
      return fail("{}: #interrupt-cells: {} is not 3 or 4", p, gic_interrupt_cells_);
    }
    // An interrupt-map parent without #address-cells takes no unit-address cells (as in Linux).
    if (!read_u32(node, gic.path, "#address-cells", 0, gic_address_cells_)) return false;
    if (gic_address_cells_ > max_cells) return fail("{}: #address-cells: {} is more than 4", p, gic_address_cells_);
    const Property interrupts = property(node, "interrupts");
    if (interrupts.present()) {
      if (!check_interrupts_length(gic.path, interrupts)) return false;
      if (interrupts.cell(0) != gic_ppi_type) {
        return fail("{}: interrupts: maintenance interrupt type {} is not a PPI (1)", p, interrupts.cell(0));
      }
      gic.maintenance_ppi = interrupts.cell(1);
    }
    gic_node_ = node;
    gic.present = true;

    int child = 0;
    fdt_for_each_subnode(child, fdt_, node) {
      if (!compatible(child, "arm,gic-v3-its") || !available(child)) continue;
      Reg its_reg;
      if (!path_of(child, gic.its_path) || !read_reg(child, gic.its_path, its_reg, true)) return false;
      gic.its = its_reg.entry(0);
      gic.its_phandle = fdt_get_phandle(fdt_, child);
      gic.its_present = true;
      break;
    }
    return true;
  }

  // GIC specifiers: a whole, non-zero number of #interrupt-cells entries.
  bool check_interrupts_length(const NodePath& path, const Property& interrupts) {
    const size_t entry_bytes = size_t{4} * gic_interrupt_cells_;
    if (interrupts.length != 0 && interrupts.length % entry_bytes == 0) return true;
    return fail("{}: interrupts: length {} is not a non-zero multiple of {} (#interrupt-cells {})", path.text,
                interrupts.length, entry_bytes, gic_interrupt_cells_);
  }

  // We decode `interrupts` as GICv3 specifiers, so the node's interrupt parent must be it.
  bool check_gic_parent(int node, const NodePath& path) {
    for (int at = node; at >= 0; at = fdt_parent_offset(fdt_, at)) {
      const Property parent = property(at, "interrupt-parent");
      if (!parent.present()) continue;
      NodePath at_path;
      if (parent.length != 4) {
        return path_of(at, at_path) && fail("{}: interrupt-parent: length {} is not 4", at_path.text, parent.length);
      }
      const uint32_t phandle = parent.cell(0);
      if (gic_node_ >= 0 && fdt_node_offset_by_phandle(fdt_, phandle) == gic_node_) return true;
      return fail("{}: interrupts: interrupt parent (phandle {}) is not the GICv3", path.text, hex(phandle));
    }
    return fail("{}: interrupts: no interrupt-parent", path.text);
  }

  bool read_smmu() {
    const int node = next_compatible(-1, "arm,smmu-v3");
    if (node < 0) return true;
    SmmuV3Info& smmu = platform_.smmu;
    Reg reg;
    if (!path_of(node, smmu.path) || !read_reg(node, smmu.path, reg, true)) return false;
    smmu.registers = reg.entry(0);
    smmu.phandle = fdt_get_phandle(fdt_, node);
    smmu.present = true;
    return true;
  }

  bool read_pcie_hosts() {
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

  bool read_pcie_host(int node, PcieHostInfo& host) {
    const NodePath& path = host.path;
    uint32_t address_cells = 0;
    uint32_t size_cells = 0;
    if (!read_u32(node, path, "#address-cells", 2, address_cells) ||
        !read_u32(node, path, "#size-cells", 1, size_cells)) {
      return false;
    }
    if (address_cells != 3) return fail("{}: #address-cells: {} is not 3 (PCI)", path.text, address_cells);
    if (size_cells != 2) return fail("{}: #size-cells: {} is not 2 (PCI)", path.text, size_cells);

    Reg reg;
    if (!read_reg(node, path, reg, true) || !read_bus_range(node, host)) return false;
    host.ecam = reg.entry(0);
    const uint64_t ecam_needed = (uint64_t{host.bus_last} - host.bus_first + 1) * ecam_bytes_per_bus;
    if (host.ecam.size < ecam_needed) {
      return fail("{}: reg: ECAM size {} is smaller than the {} that buses 0x{}-0x{} need", path.text,
                  hex(host.ecam.size), hex(ecam_needed), plain_hex(host.bus_first, 2), plain_hex(host.bus_last, 2));
    }
    host.domain_from_dt = property(node, "linux,pci-domain").present();
    if (!read_u32(node, path, "linux,pci-domain", 0, host.domain)) return false;
    host.dma_coherent = property(node, "dma-coherent").present();
    // The CPU side of `ranges` uses the parent's #address-cells, which `reg` just used.
    return read_pci_ranges(node, host, reg.address_cells) &&
           read_id_map(node, path, "msi-map", "msi-map-mask", host.msi_map) &&
           read_id_map(node, path, "iommu-map", "iommu-map-mask", host.iommu_map) && read_interrupt_map(node, host);
  }

  bool read_bus_range(int node, PcieHostInfo& host) {
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

  bool read_pci_ranges(int node, PcieHostInfo& host, uint32_t cpu_address_cells) {
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
  bool read_id_map(int node, const NodePath& path, const char* map_name, const char* mask_name, IdMap& map) {
    const Property value = property(node, map_name);
    if (value.present()) {
      const size_t entry_bytes = 4 * id_map_entry_cells;
      if (value.length % entry_bytes != 0) {
        return fail("{}: {}: length {} is not a multiple of {} (rid-base, phandle, output-base, length)", path.text,
                    map_name, value.length, entry_bytes);
      }
      map.count = value.length / entry_bytes;
      if (map.count > max_id_map_entries) {
        return fail("{}: {}: more than {} entries (max_id_map_entries)", path.text, map_name, max_id_map_entries);
      }
      for (size_t i = 0, at = 0; i < map.count; ++i, at += id_map_entry_cells) {
        map.entries[i] = {value.cell(at), value.cell(at + 1), value.cell(at + 2), value.cell(at + 3)};
      }
    }
    return read_u32(node, path, mask_name, 0xffffffff, map.mask);
  }

  // Entries are: child unit address (3) + pin (1), parent phandle, parent unit address
  // (parent's #address-cells), parent specifier (#interrupt-cells: type, number, flags).
  bool read_interrupt_map(int node, PcieHostInfo& host) {
    const Property map = property(node, "interrupt-map");
    if (!map.present()) return true;
    const char* p = host.path.text;
    uint32_t interrupt_cells = 0;
    if (!read_required_u32(node, host.path, "#interrupt-cells", interrupt_cells)) return false;
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
        if (fdt_node_offset_by_phandle(fdt_, phandle) < 0) {
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

  // libfdt follows an alias with strlen(): make sure the alias value is a string first.
  bool check_alias(const char* path, size_t length) {
    size_t alias_length = 0;
    while (alias_length < length && path[alias_length] != '/') ++alias_length;
    const int aliases = fdt_path_offset(fdt_, "/aliases");
    if (aliases < 0) return true;
    int value_length = 0;
    const char* value = static_cast<const char*>(
        fdt_getprop_namelen(fdt_, aliases, path, static_cast<int>(alias_length), &value_length));
    if (value == nullptr || (value_length > 0 && value[value_length - 1] == '\0')) return true;
    return fail("/aliases: {}: not a NUL-terminated string", Text{path, alias_length});
  }

  bool read_chosen() {
    const int chosen = fdt_path_offset(fdt_, "/chosen");
    NodePath path;
    const char* bootargs = nullptr;
    const char* stdout_path = nullptr;
    if (chosen < 0) return true;
    if (!path_of(chosen, path) || !read_string(chosen, path, "bootargs", bootargs) ||
        !read_string(chosen, path, "stdout-path", stdout_path)) {
      return false;
    }
    const size_t length = bootargs != nullptr ? rt::length(bootargs) : 0;
    if (length >= max_bootargs) {
      return fail("/chosen: bootargs: {} characters, more than {} (max_bootargs)", length, max_bootargs - 1);
    }
    if (bootargs != nullptr) rt::copy_string(platform_.bootargs, sizeof(platform_.bootargs), bootargs);
    return stdout_path == nullptr || read_uart(stdout_path);
  }

  // Only what stdout-path names; anything else is the caller's (board's) decision.
  bool read_uart(const char* stdout_path) {
    const char* options = rt::find_char(stdout_path, ':');
    const size_t length = options != nullptr ? static_cast<size_t>(options - stdout_path) : rt::length(stdout_path);
    if (length == 0) return true;
    if (stdout_path[0] != '/' && !check_alias(stdout_path, length)) return false;
    const int node = fdt_path_offset_namelen(fdt_, stdout_path, static_cast<int>(length));
    if (node < 0 || !compatible(node, "arm,pl011") || !available(node)) return true;
    UartInfo& uart = platform_.uart;
    Reg reg;
    if (!path_of(node, uart.path) || !read_reg(node, uart.path, reg, false)) return false;
    if (reg.count == 0) return true;
    uart.registers = reg.entry(0);
    uart.source = ConsoleSource::stdout_path;
    uart.present = true;
    return true;
  }

  bool read_timer() {
    const int node = next_compatible(-1, "arm,armv8-timer");
    if (node < 0) return true;
    NodePath path;
    if (!path_of(node, path)) return false;
    const Property interrupts = property(node, "interrupts");
    if (!interrupts.present()) return fail("{}: interrupts: missing", path.text);
    if (!check_gic_parent(node, path) || !check_interrupts_length(path, interrupts)) return false;
    const size_t count = interrupts.length / (gic_interrupt_cells_ * sizeof(uint32_t));
    if (count < timer_interrupts) {
      return fail("{}: interrupts: {} entries, need 4 (secure phys, phys, virt, hyp)", path.text, count);
    }
    uint32_t ppis[timer_interrupts] = {};
    for (size_t i = 0; i < timer_interrupts; ++i) {
      const uint32_t type = interrupts.cell(i * gic_interrupt_cells_);
      if (type != gic_ppi_type) return fail("{}: interrupts: entry {} type {} is not a PPI (1)", path.text, i, type);
      ppis[i] = interrupts.cell(i * gic_interrupt_cells_ + 1);
    }
    platform_.timer = {true, ppis[0], ppis[1], ppis[2], ppis[3]};
    return true;
  }

  const void* fdt_;
  PlatformInfo& platform_;
  FirmwareDtError& error_;
  int gic_node_ = -1;
  uint32_t gic_interrupt_cells_ = 3;
  uint32_t gic_address_cells_ = 0;
};

// Everything libfdt needs to be safe on a hostile blob, before any lookup.
bool check_blob(const void* blob, size_t max_size, FirmwareDtError& error) {
  if (blob == nullptr) return fail(error, "no blob (null address)");
  const uintptr_t address = reinterpret_cast<uintptr_t>(blob);
  if (address % 8 != 0) return fail(error, "address {} is not 8-byte aligned", hex(address));
  if (max_size < sizeof(fdt_header)) {
    return fail(error, "{} bytes available, fewer than the {}-byte header", max_size,
                sizeof(fdt_header));
  }
  const uint32_t magic = fdt_magic(blob);
  if (magic != FDT_MAGIC) return fail(error, "bad magic {}", hex(magic));
  const uint32_t total_size = fdt_totalsize(blob);
  if (total_size > max_size) {
    return fail(error, "totalsize {} exceeds the {} bytes available", hex(total_size), hex(max_size));
  }
  int status = fdt_check_header(blob);
  if (status != 0) return fail(error, "bad header: {}", fdt_strerror(status));
  status = fdt_check_full(blob, total_size);
  if (status != 0) return fail(error, "structure is corrupt: {}", fdt_strerror(status));
  return true;
}

}  // namespace

bool read_firmware_dt(const void* blob, size_t max_size, PlatformInfo& platform, FirmwareDtError& error) {
  error.message[0] = '\0';
  if (!check_blob(blob, max_size, error)) return false;
  Reader reader(blob, platform, error);
  return reader.read();
}

}  // namespace bulkhead
