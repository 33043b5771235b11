#include "core/platform/firmware_dt.hpp"

#include "core/lib/boot_storage.hpp"
#include "core/platform/firmware_dt_reader.hpp"

namespace bulkhead {
namespace firmware_dt_detail {

bool Reader::read_memory() {
  for (int node = index_.first_child(0); node >= 0; node = index_.next_sibling(node)) {
    if (!index_.has_device_type(node, "memory") || !available(node)) continue;
    Reg reg;
    if (!path_fits(node) || !read_reg(node, reg, false)) return false;
    for (size_t i = 0; i < reg.count; ++i) {
      if (!add_ram(node, reg.entry(i))) return false;
    }
  }
  return platform_.ram_count != 0 || fail("no /memory node with a usable reg");
}

// One `reg` entry of a memory node: an empty one is skipped, an overlap is refused.
bool Reader::add_ram(int node, const AddressRange& range) {
  if (range.size == 0) return true;
  for (size_t j = 0; j < platform_.ram_count; ++j) {
    const AddressRange& other = platform_.ram[j];
    if (range.base < other.end() && other.base < range.end()) {
      return fail("{}: reg: RAM {} size {} overlaps RAM {} size {}", path_text(node).text, hex(range.base),
                  hex(range.size), hex(other.base), hex(other.size));
    }
  }
  if (platform_.ram_count == max_ram_ranges) {
    return fail("{}: reg: more than {} RAM ranges (max_ram_ranges)", path_text(node).text, max_ram_ranges);
  }
  platform_.ram[platform_.ram_count++] = range;
  return true;
}

bool Reader::read_cpus() {
  const int cpus = index_.find_path("/cpus", 5);
  if (cpus < 0) return fail("no /cpus node");
  uint32_t address_cells = 0;
  uint32_t size_cells = 0;
  if (!path_fits(cpus) || !read_u32(cpus, "#address-cells", 2, address_cells) ||
      !read_u32(cpus, "#size-cells", 1, size_cells)) {
    return false;
  }
  if (address_cells < 1 || address_cells > 2) {
    return fail("/cpus: #address-cells {} is not supported (1 or 2)", address_cells);
  }
  if (size_cells != 0) return fail("/cpus: #size-cells {} is not 0", size_cells);
  for (int node = index_.first_child(cpus); node >= 0; node = index_.next_sibling(node)) {
    if (!index_.has_device_type(node, "cpu") || !available(node)) continue;
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

bool Reader::read_psci() {
  // Every node after the root, in tree order.
  int node = 1;
  for (; node < index_.count(); ++node) {
    const bool psci =
        compatible(node, "arm,psci-1.0") || compatible(node, "arm,psci-0.2") || compatible(node, "arm,psci");
    if (psci && available(node)) break;
  }
  if (node >= index_.count()) return true;  // absent: the caller decides whether it can live without
  const char* method = nullptr;
  if (!path_fits(node) || !read_string(node, "method", method)) return false;
  if (method == nullptr) return fail("{}: method: missing", path_text(node).text);
  const bool smc = rt::compare_strings(method, "smc") == 0;
  if (!smc && rt::compare_strings(method, "hvc") != 0) {
    return fail("{}: method: \"{}\" is neither smc nor hvc", path_text(node).text, method);
  }
  platform_.psci = {smc ? PsciConduit::smc : PsciConduit::hvc,
                    compatible(node, "arm,psci-1.0") || compatible(node, "arm,psci-0.2")};
  return true;
}

bool Reader::read_gic() {
  const int node = next_compatible(-1, "arm,gic-v3");
  if (node < 0) return true;
  GicV3Info& gic = platform_.gic;
  const char* p = gic.path.text;
  Reg reg;
  uint32_t regions = 0;
  if (!path_of(node, gic.path) || !read_reg(node, reg, true) || !read_u32(node, "#redistributor-regions", 1, regions)) {
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
  gic.phandle = index_.node(node).phandle;

  if (!read_required_u32(node, "#interrupt-cells", gic_interrupt_cells_)) return false;
  if (gic_interrupt_cells_ < 3 || gic_interrupt_cells_ > 4) {
    return fail("{}: #interrupt-cells: {} is not 3 or 4", p, gic_interrupt_cells_);
  }
  // An interrupt-map parent without #address-cells takes no unit-address cells (as in Linux).
  if (!read_u32(node, "#address-cells", 0, gic_address_cells_)) return false;
  if (gic_address_cells_ > max_cells) return fail("{}: #address-cells: {} is more than 4", p, gic_address_cells_);
  const Property interrupts = property(node, "interrupts");
  if (interrupts.present()) {
    if (!check_interrupts_length(node, interrupts)) return false;
    if (interrupts.cell(0) != gic_ppi_type) {
      return fail("{}: interrupts: maintenance interrupt type {} is not a PPI (1)", p, interrupts.cell(0));
    }
    gic.maintenance_ppi = interrupts.cell(1);
  }
  gic_node_ = node;
  gic.present = true;

  for (int child = index_.first_child(node); child >= 0; child = index_.next_sibling(child)) {
    if (!compatible(child, "arm,gic-v3-its") || !available(child)) continue;
    Reg its_reg;
    if (!path_of(child, gic.its_path) || !read_reg(child, its_reg, true)) return false;
    gic.its = its_reg.entry(0);
    gic.its_phandle = index_.node(child).phandle;
    gic.its_present = true;
    break;
  }
  return true;
}

// GIC specifiers: a whole, non-zero number of #interrupt-cells entries.
bool Reader::check_interrupts_length(int node, const Property& interrupts) {
  const size_t entry_bytes = size_t{4} * gic_interrupt_cells_;
  if (interrupts.length != 0 && interrupts.length % entry_bytes == 0) return true;
  return fail("{}: interrupts: length {} is not a non-zero multiple of {} (#interrupt-cells {})",
              path_text(node).text, interrupts.length, entry_bytes, gic_interrupt_cells_);
}

// We decode `interrupts` as GICv3 specifiers, so the node's interrupt parent must be it.
bool Reader::check_gic_parent(int node) {
  for (int at = node; at >= 0; at = index_.parent(at)) {
    const Property parent = property(at, "interrupt-parent");
    if (!parent.present()) continue;
    if (parent.length != 4) {
      return path_fits(at) && fail("{}: interrupt-parent: length {} is not 4", path_text(at).text, parent.length);
    }
    const uint32_t phandle = parent.cell(0);
    if (gic_node_ >= 0 && index_.find_phandle(phandle) == gic_node_) return true;
    return fail("{}: interrupts: interrupt parent (phandle {}) is not the GICv3", path_text(node).text, hex(phandle));
  }
  return fail("{}: interrupts: no interrupt-parent", path_text(node).text);
}

bool Reader::read_smmu() {
  const int node = next_compatible(-1, "arm,smmu-v3");
  if (node < 0) return true;
  SmmuV3Info& smmu = platform_.smmu;
  Reg reg;
  if (!path_of(node, smmu.path) || !read_reg(node, reg, true) || !read_smmu_interrupts(node, smmu)) return false;
  smmu.registers = reg.entry(0);
  smmu.phandle = index_.node(node).phandle;
  smmu.present = true;
  return true;
}

// libfdt follows an alias with strlen(): make sure the alias value is a string first. It
// also resolves the value as a path again, so a value that is another alias would recurse
// without bound (libfdt before 1.7.1): only a full path is taken.
bool Reader::check_alias(const char* path, size_t length) {
  size_t alias_length = 0;
  while (alias_length < length && path[alias_length] != '/') ++alias_length;
  const int aliases = index_.find_path("/aliases", 8);
  if (aliases < 0) return true;
  const IndexedProperty alias = index_.property(aliases, path, alias_length);
  const auto* value = static_cast<const char*>(alias.value);
  if (value == nullptr) return true;
  if (alias.length == 0 || value[alias.length - 1] != '\0') {
    return fail("/aliases: {}: not a NUL-terminated string", Text{path, alias_length});
  }
  if (value[0] != '/') return fail("/aliases: {}: \"{}\" is not a full path", Text{path, alias_length}, value);
  return true;
}

bool Reader::read_chosen() {
  const int chosen = index_.find_path("/chosen", 7);
  const char* bootargs = nullptr;
  const char* stdout_path = nullptr;
  if (chosen < 0) return true;
  if (!path_fits(chosen) || !read_string(chosen, "bootargs", bootargs) ||
      !read_string(chosen, "stdout-path", stdout_path)) {
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
bool Reader::read_uart(const char* stdout_path) {
  const char* options = rt::find_char(stdout_path, ':');
  const size_t length = options != nullptr ? static_cast<size_t>(options - stdout_path) : rt::length(stdout_path);
  if (length == 0) return true;
  if (stdout_path[0] != '/' && !check_alias(stdout_path, length)) return false;
  const int node = index_.find_path(stdout_path, length);
  if (node < 0 || !compatible(node, "arm,pl011") || !available(node)) return true;
  UartInfo& uart = platform_.uart;
  Reg reg;
  if (!path_of(node, uart.path) || !read_reg(node, reg, false)) return false;
  if (reg.count == 0) return true;
  uart.registers = reg.entry(0);
  uart.source = ConsoleSource::stdout_path;
  uart.present = true;
  // Optional: without an interrupt the console is output-only.
  const Property interrupts = property(node, "interrupts");
  if (!interrupts.present()) return true;
  if (!check_gic_parent(node) || !check_interrupts_length(node, interrupts)) return false;
  if (interrupts.cell(0) != gic_spi_type) {
    return fail("{}: interrupts: type {} is not an SPI (0)", uart.path.text, interrupts.cell(0));
  }
  uart.spi = interrupts.cell(1);
  uart.has_spi = true;
  return true;
}

bool Reader::read_timer() {
  const int node = next_compatible(-1, "arm,armv8-timer");
  if (node < 0) return true;
  if (!path_fits(node)) return false;
  const Property interrupts = property(node, "interrupts");
  if (!interrupts.present()) return fail("{}: interrupts: missing", path_text(node).text);
  if (!check_gic_parent(node) || !check_interrupts_length(node, interrupts)) return false;
  const size_t count = interrupts.length / (gic_interrupt_cells_ * sizeof(uint32_t));
  if (count < timer_interrupts) {
    return fail("{}: interrupts: {} entries, need 4 (secure phys, phys, virt, hyp)", path_text(node).text, count);
  }
  uint32_t ppis[timer_interrupts] = {};
  for (size_t i = 0; i < timer_interrupts; ++i) {
    const uint32_t type = interrupts.cell(i * gic_interrupt_cells_);
    if (type != gic_ppi_type) {
      return fail("{}: interrupts: entry {} type {} is not a PPI (1)", path_text(node).text, i, type);
    }
    ppis[i] = interrupts.cell(i * gic_interrupt_cells_ + 1);
  }
  platform_.timer = {true, ppis[0], ppis[1], ppis[2], ppis[3]};
  return true;
}

}  // namespace firmware_dt_detail

namespace {
using namespace firmware_dt_detail;

// The index of the firmware DT, filled by check_blob() before anything reads it.
BULKHEAD_NOINIT constinit BootStorage<IndexedNode[max_dt_nodes]> index_nodes;

// Everything the reader needs to be safe on a hostile blob, before any lookup: the
// header, then the structure (fdt_check_full()'s checks) while indexing it.
bool check_blob(const void* blob, size_t max_size, fdt::Index& index, FirmwareDtError& error) {
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
  status = index.build(blob, total_size);
  if (status != 0) return fail(error, "structure is corrupt: {}", fdt_strerror(status));
  if (index.overflowed()) return fail(error, "{} nodes, more than {} (max_dt_nodes)", index.node_count(), max_dt_nodes);
  return true;
}

}  // namespace

bool read_firmware_dt(const void* blob, size_t max_size, PlatformInfo& platform, FirmwareDtError& error) {
  error.message[0] = '\0';
  fdt::Index index(index_nodes.get(), max_dt_nodes);
  if (!check_blob(blob, max_size, index, error)) return false;
  Reader reader(index, platform, error);
  return reader.read();
}

}  // namespace bulkhead
