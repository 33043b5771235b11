// Internal to the firmware DT reader (firmware_dt.cpp, firmware_dt_pcie.cpp): the
// reader class and the helpers both halves share. Not an interface for other code.
// The blob is checked (as fdt_check_full() would) and its nodes indexed in one pass
// (core/lib/fdt_index.hpp); every lookup goes through that index.
#pragma once

#include <libfdt.h>

#include <cstdint>

#include "core/lib/format.hpp"
#include "core/lib/runtime.hpp"
#include "core/platform/firmware_dt.hpp"
#include "core/lib/fdt_index.hpp"

namespace bulkhead::firmware_dt_detail {

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
// QEMU's virt DT has about 60 nodes; large SoC trees a few hundred.
constexpr size_t max_dt_nodes = 2048;

// The SMMUv3's wired interrupt lines by their binding names (firmware_dt_smmu.cpp).
enum class SmmuLine : uint8_t { eventq, gerror, priq, cmdq_sync, combined };
constexpr size_t smmu_line_count = 5;

using fdt::IndexedNode;
using fdt::IndexedProperty;

template <typename... Args>
inline bool fail(FirmwareDtError& error, FormatString<std::type_identity_t<Args>...> message, Args... args) {
  FixedBuffer<sizeof(error.message)> text;  // cuts what does not fit
  format<Args...>(text, message, args...);
  rt::copy_string(error.message, sizeof(error.message), text.c_str());
  return false;
}

// Big-endian cells loaded bytewise, so no alignment is assumed. `count` is at most 2.
inline uint64_t load_cells(const fdt32_t* cells, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 32) | fdt32_ld(cells + i);
  return value;
}

inline bool overflows(uint64_t base, uint64_t size) { return size > UINT64_MAX - base; }

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

// Nodes are fdt::Index indices (the root is 0), not libfdt offsets: every lookup goes
// through the index. A node's path is built only where it is kept (PlatformInfo) or a
// message needs it; that it fits max_node_path is checked wherever libfdt's
// fdt_get_path() used to be called, so the same trees are refused with the same message.
class Reader {
 public:
  // `index` was built over the blob, without error or overflow.
  Reader(const fdt::Index& index, PlatformInfo& platform, FirmwareDtError& error)
      : index_(index), platform_(platform), error_(error) {}

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
    return firmware_dt_detail::fail<Args...>(error_, message, args...);
  }

  Property property(int node, const char* name) const {
    const IndexedProperty found = index_.property(node, name);
    if (found.value == nullptr) return {};
    return {static_cast<const fdt32_t*>(found.value), found.length};
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

  bool compatible(int node, const char* name) const { return index_.compatible(node, name); }

  // The next available node after `from` (-1: from the start) compatible with `name`.
  int next_compatible(int from, const char* name) const {
    int node = index_.next_compatible(from, name);
    while (node >= 0 && !available(node)) node = index_.next_compatible(node, name);
    return node;
  }

  // Refuses a node whose path would not fit a NodePath (it may be reported or kept).
  bool path_fits(int node) {
    if (index_.node(node).path_length < max_node_path) return true;
    const IndexedNode& found = index_.node(node);
    return fail("node {}: path does not fit in {} bytes (max_node_path)", Text{found.name, found.name_length},
                max_node_path);
  }

  // A path to keep: checked, then built.
  bool path_of(int node, NodePath& path) { return path_fits(node) && index_.path(node, path.text, sizeof(path.text)); }

  // A path for a message, about a node path_fits() accepted.
  NodePath path_text(int node) const {
    NodePath path;
    if (!index_.path(node, path.text, sizeof(path.text))) rt::copy_string(path.text, sizeof(path.text), "?");
    return path;
  }

  // A one-cell property; `fallback` when absent, or an error if there is none.
  bool read_cell(int node, const char* name, const uint32_t* fallback, uint32_t& value) {
    const Property found = property(node, name);
    if (!found.present() && fallback == nullptr) return fail("{}: {}: missing", path_text(node).text, name);
    if (found.present() && found.length != 4) {
      return fail("{}: {}: length {} is not 4", path_text(node).text, name, found.length);
    }
    value = found.present() ? found.cell(0) : *fallback;
    return true;
  }
  bool read_u32(int node, const char* name, uint32_t fallback, uint32_t& value) {
    return read_cell(node, name, &fallback, value);
  }
  bool read_required_u32(int node, const char* name, uint32_t& value) { return read_cell(node, name, nullptr, value); }

  // `text` is nullptr when the property is absent.
  bool read_string(int node, const char* name, const char*& text) {
    const IndexedProperty found = index_.property(node, name);
    const auto* value = static_cast<const char*>(found.value);
    text = nullptr;
    if (value == nullptr) return true;
    if (found.length == 0 || value[found.length - 1] != '\0') {
      return fail("{}: {}: not a NUL-terminated string", path_text(node).text, name);
    }
    text = value;
    return true;
  }

  // `reg` is used as a CPU physical address: refuse buses that translate addresses.
  bool check_untranslated(int bus, int node) {
    for (int at = bus; at > 0; at = index_.parent(at)) {
      const Property ranges = property(at, "ranges");
      if (!ranges.present() || ranges.length == 0) continue;
      if (!path_fits(at)) return false;
      return fail("{}: reg: parent bus {} translates addresses (non-empty ranges), which is not supported",
                  path_text(node).text, path_text(at).text);
    }
    return true;
  }

  bool read_reg(int node, Reg& reg, bool required) {
    const int parent = index_.parent(node);
    if (parent < 0) return fail("{}: reg: the root node has no parent bus", path_text(node).text);
    if (!path_fits(parent) || !read_u32(parent, "#address-cells", 2, reg.address_cells) ||
        !read_u32(parent, "#size-cells", 1, reg.size_cells)) {
      return false;
    }
    if (reg.address_cells < 1 || reg.address_cells > 2) {
      return fail("{}: reg: #address-cells {} of {} is not supported (1 or 2)", path_text(node).text,
                  reg.address_cells, path_text(parent).text);
    }
    if (reg.size_cells > 2) {
      return fail("{}: reg: #size-cells {} of {} is not supported (0 to 2)", path_text(node).text, reg.size_cells,
                  path_text(parent).text);
    }
    if (!check_untranslated(parent, node)) return false;
    reg.value = property(node, "reg");
    if (!reg.value.present()) return required ? fail("{}: reg: missing", path_text(node).text) : true;
    const size_t entry_bytes = size_t{4} * (reg.address_cells + reg.size_cells);
    if (reg.value.length % entry_bytes != 0) {
      return fail("{}: reg: length {} is not a multiple of {} (#address-cells {}, #size-cells {})",
                  path_text(node).text, reg.value.length, entry_bytes, reg.address_cells, reg.size_cells);
    }
    reg.count = reg.value.length / entry_bytes;
    if (required && reg.count == 0) return fail("{}: reg: empty", path_text(node).text);
    for (size_t i = 0; i < reg.count; ++i) {
      const AddressRange range = reg.entry(i);
      if (overflows(range.base, range.size)) {
        return fail("{}: reg: entry {} base {} size {} overflows 64 bits", path_text(node).text, i, hex(range.base),
                    hex(range.size));
      }
    }
    return true;
  }

  // Node readers: firmware_dt.cpp, and firmware_dt_pcie.cpp for the host bridges.
  bool read_memory();
  bool add_ram(int node, const AddressRange& range);
  bool read_cpus();
  bool read_psci();
  bool read_gic();
  // GIC specifiers: a whole, non-zero number of #interrupt-cells entries.
  bool check_interrupts_length(int node, const Property& interrupts);
  // We decode `interrupts` as GICv3 specifiers, so the node's interrupt parent must be it.
  bool check_gic_parent(int node);
  bool read_smmu();
  // Its `interrupts` and `interrupt-names` (firmware_dt_smmu.cpp): eventq and gerror SPIs.
  bool read_smmu_interrupts(int node, SmmuV3Info& smmu);
  bool read_smmu_interrupt_names(int node, const SmmuV3Info& smmu, size_t count, SmmuLine* lines);
  bool read_pcie_hosts();
  bool read_pcie_host(int node, PcieHostInfo& host);
  bool read_bus_range(int node, PcieHostInfo& host);
  bool read_pci_ranges(int node, PcieHostInfo& host, uint32_t cpu_address_cells);
  // `msi-map` / `iommu-map`, assuming one specifier cell (#msi-cells, #iommu-cells = 1).
  bool read_id_map(int node, const char* map_name, const char* mask_name, IdMap& map);
  // Entries are: child unit address (3) + pin (1), parent phandle, parent unit address
  // (parent's #address-cells), parent specifier (#interrupt-cells: type, number, flags).
  bool read_interrupt_map(int node, PcieHostInfo& host);
  // libfdt follows an alias with strlen(): make sure the alias value is a string first.
  bool check_alias(const char* path, size_t length);
  bool read_chosen();
  // Only what stdout-path names; anything else is the caller's (board's) decision.
  bool read_uart(const char* stdout_path);
  bool read_timer();

  const fdt::Index& index_;
  PlatformInfo& platform_;
  FirmwareDtError& error_;
  int gic_node_ = -1;
  uint32_t gic_interrupt_cells_ = 3;
  uint32_t gic_address_cells_ = 0;
};

}  // namespace bulkhead::firmware_dt_detail
