#include "pci/capabilities.hpp"

#include "core/lib/log.hpp"
#include "pci/bars.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint16_t standard_list_first = 0x40;
constexpr uint16_t standard_list_end = 0x100;
constexpr uint16_t extended_list_end = 0x1000;
constexpr size_t extended_slots = (extended_list_end - reg::extended_capabilities) / 4;

constexpr uint16_t msi_enable = 1u << 0;
constexpr uint16_t msi_64bit = 1u << 7;
constexpr uint16_t msi_per_vector_mask = 1u << 8;
constexpr uint16_t msix_enable = 1u << 15;
constexpr uint16_t msix_table_size_mask = 0x7ff;
constexpr uint8_t msix_bir_mask = 0x7;
constexpr uint8_t max_bar_index = 5;

constexpr uint16_t sriov_control = 0x08;
constexpr uint16_t sriov_vf_counts = 0x0c;  // InitialVFs [15:0], TotalVFs [31:16]
constexpr uint16_t sriov_vf_routing = 0x14;  // First VF Offset [15:0], VF Stride [31:16]
constexpr uint16_t sriov_vf_device = 0x18;   // VF Device ID [31:16]
constexpr uint16_t sriov_vf_bar0 = 0x24;
constexpr uint16_t sriov_length = 0x40;
constexpr uint16_t sriov_vf_enable = 1u << 0;
constexpr uint16_t sriov_vf_memory_enable = 1u << 3;

constexpr uint8_t msix_length = 12;

void record_msi(ConfigAccessor& config, Function& f, uint8_t offset, uint16_t control) {
  if (f.caps.msi.offset != 0) return;  // the first instance is the one a driver uses
  if ((control & msi_enable) != 0) {
    config.write16(f.address.bdf, static_cast<uint16_t>(offset + 2), control & ~msi_enable);
  }
  uint8_t log2_vectors = (control >> 1) & 0x7;
  if (log2_vectors > 5) log2_vectors = 5;  // 6 and 7 are reserved encodings
  f.caps.msi = {offset, static_cast<uint8_t>(1u << log2_vectors), (control & msi_64bit) != 0,
                (control & msi_per_vector_mask) != 0};
}

bool record_msix(ConfigAccessor& config, Function& f, uint8_t offset, uint16_t control) {
  if (f.caps.msix.offset != 0) return true;
  const Bdf bdf = f.address.bdf;
  if ((control & msix_enable) != 0) config.write16(bdf, static_cast<uint16_t>(offset + 2), control & ~msix_enable);
  const uint32_t table = config.read32(bdf, static_cast<uint16_t>(offset + 4));
  const uint32_t pba = config.read32(bdf, static_cast<uint16_t>(offset + 8));
  MsixInfo& msix = f.caps.msix;
  msix.offset = offset;
  msix.table_size = static_cast<uint16_t>((control & msix_table_size_mask) + 1);
  msix.table_bar = table & msix_bir_mask;
  msix.table_offset = table & ~static_cast<uint32_t>(msix_bir_mask);
  msix.pba_bar = pba & msix_bir_mask;
  msix.pba_offset = pba & ~static_cast<uint32_t>(msix_bir_mask);
  if (msix.table_bar > max_bar_index || msix.pba_bar > max_bar_index) {
    log::error("pci {} msix capability at {} names bar {} / {}; no such bar", sbdf_text(f.address).text, hex(offset),
               msix.table_bar, msix.pba_bar);
    return false;
  }
  return true;
}

// Returns false when a loop or malformed pointer ended the walk; `ok` turns false on
// any error, including a malformed capability the walk could step over.
bool walk_standard_list(ConfigAccessor& config, Function& f, bool& ok) {
  const Bdf bdf = f.address.bdf;
  uint64_t visited = 0;  // one bit per dword in 0x40..0xff: at most 48 entries
  uint16_t pointer_at = reg::capability_pointer;
  uint8_t pointer = config.read8(bdf, reg::capability_pointer);
  while (pointer != 0) {
    if (pointer < standard_list_first || (pointer & 3) != 0) {
      log::error("pci {} capability pointer {} at {} is malformed", sbdf_text(f.address).text, hex(pointer),
                 hex(pointer_at));
      return false;
    }
    const uint64_t bit = 1ull << ((pointer - standard_list_first) / 4);
    if ((visited & bit) != 0) {
      log::error("pci {} capability list loops at {}", sbdf_text(f.address).text, hex(pointer));
      return false;
    }
    visited |= bit;
    const uint32_t header = config.read32(bdf, pointer);
    const uint8_t id = header & 0xff;
    const uint16_t control = static_cast<uint16_t>(header >> 16);
    switch (id) {
      case capability_id::power_management:
        if (f.caps.power_management == 0) f.caps.power_management = pointer;
        break;
      case capability_id::msi: record_msi(config, f, pointer, control); break;
      case capability_id::advanced_features:
        if (f.caps.advanced_features == 0) f.caps.advanced_features = pointer;
        break;
      case capability_id::pci_express:
        if (f.caps.pcie.offset == 0) f.caps.pcie = {pointer, static_cast<uint8_t>((control >> 4) & 0xf),
                                                    static_cast<uint8_t>(control & 0xf)};
        break;
      case capability_id::msix:
        if (pointer + msix_length > standard_list_end) {
          log::error("pci {} msix capability at {} runs past 0xff", sbdf_text(f.address).text, hex(pointer));
          return false;
        }
        if (!record_msix(config, f, pointer, control)) ok = false;
        break;
      default: break;
    }
    pointer_at = static_cast<uint16_t>(pointer + 1);
    pointer = static_cast<uint8_t>(header >> 8);
  }
  return true;
}

bool record_sriov(ConfigAccessor& config, Function& f, uint16_t offset) {
  if (f.caps.sriov.offset != 0) return true;
  const Bdf bdf = f.address.bdf;
  if (offset + sriov_length > extended_list_end) {
    log::error("pci {} sr-iov capability at {} runs past 0xfff", sbdf_text(f.address).text, hex(offset));
    return false;
  }
  SriovInfo& sriov = f.caps.sriov;
  sriov.offset = offset;
  // VFs are not managed yet: keep them disabled, and their BARs must not decode while sized.
  const uint16_t control = config.read16(bdf, static_cast<uint16_t>(offset + sriov_control));
  if ((control & (sriov_vf_enable | sriov_vf_memory_enable)) != 0) {
    config.write16(bdf, static_cast<uint16_t>(offset + sriov_control),
                   control & ~(sriov_vf_enable | sriov_vf_memory_enable));
  }
  const uint32_t counts = config.read32(bdf, static_cast<uint16_t>(offset + sriov_vf_counts));
  const uint32_t routing = config.read32(bdf, static_cast<uint16_t>(offset + sriov_vf_routing));
  const uint32_t device = config.read32(bdf, static_cast<uint16_t>(offset + sriov_vf_device));
  sriov.initial_vfs = static_cast<uint16_t>(counts);
  sriov.total_vfs = static_cast<uint16_t>(counts >> 16);
  sriov.first_vf_offset = static_cast<uint16_t>(routing);
  sriov.vf_stride = static_cast<uint16_t>(routing >> 16);
  sriov.vf_device_id = static_cast<uint16_t>(device >> 16);
  bool ok = true;
  for (uint8_t slot = 0; slot < bar_slots;) {
    const uint16_t bar_offset = static_cast<uint16_t>(offset + sriov_vf_bar0 + 4 * slot);
    const ProbedBar probed = probe_bar(config, bdf, bar_offset, slot + 1u < bar_slots);
    if (probed.malformed || probed.kind == BarKind::io) {
      log::error("pci {} vf bar {} is not a valid memory bar; ignored", sbdf_text(f.address).text, slot);
      ok = false;
    } else if (probed.kind != BarKind::none) {
      sriov.vf_bars[slot] = {probed.kind, probed.prefetchable, probed.size};
    }
    slot = static_cast<uint8_t>(slot + probed.slots);
  }
  return ok;
}

bool walk_extended_list(ConfigAccessor& config, Function& f, bool& ok) {
  const Bdf bdf = f.address.bdf;
  uint64_t visited[(extended_slots + 63) / 64] = {};  // at most (4096-256)/4 entries
  uint16_t offset = reg::extended_capabilities;
  uint32_t header = config.read32(bdf, offset);
  if (header == 0 || header == 0xffffffffu) return true;  // no extended capabilities
  for (;;) {
    const size_t slot = (offset - reg::extended_capabilities) / 4;
    if ((visited[slot / 64] & (1ull << (slot % 64))) != 0) {
      log::error("pci {} extended capability list loops at {}", sbdf_text(f.address).text, hex(offset));
      return false;
    }
    visited[slot / 64] |= 1ull << (slot % 64);
    switch (header & 0xffff) {
      case extended_capability_id::aer:
        if (f.caps.aer == 0) f.caps.aer = offset;
        break;
      case extended_capability_id::acs:
        if (f.caps.acs == 0) f.caps.acs = offset;
        break;
      case extended_capability_id::sriov:
        if (!record_sriov(config, f, offset)) ok = false;
        break;
      default: break;  // includes ID 0, a placeholder some devices put at 0x100
    }
    const uint16_t next = static_cast<uint16_t>(header >> 20);
    if (next == 0) return true;
    if (next < reg::extended_capabilities || (next & 3) != 0) {
      log::error("pci {} extended capability pointer {} at {} is malformed", sbdf_text(f.address).text, hex(next),
                 hex(offset + 2));
      return false;
    }
    offset = next;
    header = config.read32(bdf, offset);
  }
}

}  // namespace

bool parse_capabilities(ConfigAccessor& config, Function& function, uint16_t status) {
  bool ok = true;
  if ((status & reg::status_capability_list) != 0 && !walk_standard_list(config, function, ok)) {
    function.caps.standard_list_broken = true;
  }
  // Only PCI Express functions have the extended configuration space.
  if (function.caps.pcie.offset != 0 && !walk_extended_list(config, function, ok)) {
    function.caps.extended_list_broken = true;
  }
  return ok && !function.caps.standard_list_broken && !function.caps.extended_list_broken;
}

}  // namespace bulkhead::pci
