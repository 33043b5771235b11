#include "tests/sim/sim_msi_device.hpp"

#include <stdexcept>

namespace bulkhead::sim {
namespace {

constexpr uint64_t entry_bytes = 16;
uint32_t width_mask(pci::AccessWidth width) {
  return width == pci::AccessWidth::word ? 0xffffffffu : (1u << (8 * static_cast<unsigned>(width))) - 1;
}

}  // namespace

void SimMessageDevices::add(const pci::Function& function) {
  Device device;
  device.function = &function;
  SimFunction& s = sim(function);
  const pci::MsiInfo& msi = function.caps.msi;
  if (msi.offset != 0) {
    const uint8_t at = msi.offset;
    s.writable32(at + 4, 0xfffffffcu);
    if (msi.address_64bit) s.writable32(at + 8, 0xffffffffu);
    s.writable32(at + (msi.address_64bit ? 0xc : 0x8), 0x0000ffffu);
    if (msi.per_vector_mask) {
      s.writable32(at + (msi.address_64bit ? 0x10 : 0xc), msi.vectors >= 32 ? 0xffffffffu : (1u << msi.vectors) - 1);
    }
  }
  const pci::MsixInfo& msix = function.caps.msix;
  if (msix.offset != 0) {
    for (uint16_t v = 0; v < msix.table_size; ++v) device.table[v * entry_bytes + 12] = 1;  // masked at reset
    device.pba.assign(msix.table_size, false);
  }
  devices_.push_back(std::move(device));
}

SimMessageDevices::Device& SimMessageDevices::device_of(const pci::Function& function) {
  for (Device& device : devices_) {
    if (device.function == &function) return device;
  }
  throw std::runtime_error("no simulated message device for " + std::string(pci::sbdf_text(function.address).text));
}

const SimMessageDevices::Device& SimMessageDevices::device_of(const pci::Function& function) const {
  return const_cast<SimMessageDevices*>(this)->device_of(function);
}

SimMessageDevices::Device* SimMessageDevices::device_at(uint64_t address, uint64_t& table_offset, uint64_t& pba_offset) {
  table_offset = pba_offset = ~uint64_t{0};
  for (Device& device : devices_) {
    const pci::Function& f = *device.function;
    for (const pci::Bar& bar : f.bars) {
      if (bar.kind != pci::BarKind::mem32 && bar.kind != pci::BarKind::mem64) continue;
      if (address < bar.cpu_address || address - bar.cpu_address >= (bar.size < 0x1000 ? 0x1000 : bar.size)) continue;
      const pci::MsixInfo& msix = f.caps.msix;
      if (msix.offset != 0) {
        const uint64_t table = f.bars[msix.table_bar].cpu_address + msix.table_offset;
        const uint64_t pba = f.bars[msix.pba_bar].cpu_address + msix.pba_offset;
        if (address >= table && address - table < msix.table_size * entry_bytes) table_offset = address - table;
        if (address >= pba && address - pba < (msix.table_size + 63u) / 64 * 8) pba_offset = address - pba;
      }
      return &device;
    }
  }
  return nullptr;
}

uint32_t SimMessageDevices::bar_read(uint64_t address, pci::AccessWidth width) {
  uint64_t table_offset = 0, pba_offset = 0;
  Device* device = device_at(address, table_offset, pba_offset);
  if (device == nullptr) throw std::runtime_error("BAR read outside every function's BARs");
  if (!decodes(*device->function)) {
    dropped_writes.push_back("read while not decoding");
    return width_mask(width);
  }
  const unsigned shift = 8 * static_cast<unsigned>(address % 4);
  if (table_offset != ~uint64_t{0}) return (device->table[table_offset & ~uint64_t{3}] >> shift) & width_mask(width);
  if (pba_offset != ~uint64_t{0}) {
    uint32_t value = 0;
    for (unsigned byte = 0; byte < static_cast<unsigned>(width); ++byte) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        const uint64_t vector = (pba_offset + byte) * 8 + bit;
        if (vector < device->pba.size() && device->pba[vector]) value |= 1u << (8 * byte + bit);
      }
    }
    return value;
  }
  return 0x5a5a5a5au & width_mask(width);  // some other register of the function
}

void SimMessageDevices::bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) {
  uint64_t table_offset = 0, pba_offset = 0;
  Device* device = device_at(address, table_offset, pba_offset);
  if (device == nullptr) throw std::runtime_error("BAR write outside every function's BARs");
  if (!decodes(*device->function)) {
    dropped_writes.push_back("write while not decoding");
    return;
  }
  if (table_offset == ~uint64_t{0}) return;  // the PBA is read-only; other registers: nothing modelled
  const unsigned shift = 8 * static_cast<unsigned>(address % 4);
  uint32_t& word = device->table[table_offset & ~uint64_t{3}];
  const uint32_t mask = width_mask(width) << shift;
  word = (word & ~mask) | ((value << shift) & mask);
  if ((table_offset & 0xf & ~uint64_t{3}) == 12) deliver_pending_msix(*device);
}

bool SimMessageDevices::msix_masked(const Device& device, uint16_t vector) const {
  const SimFunction& s = sim(*device.function);
  const uint16_t control = s.peek16(device.function->caps.msix.offset + 2);
  const auto it = device.table.find(vector * entry_bytes + 12);
  return (control & 0x4000) != 0 || (it != device.table.end() && (it->second & 1) != 0);
}

void SimMessageDevices::send(const pci::Function& function, uint64_t address, uint32_t data) {
  if ((sim(function).peek16(0x04) & 0x4) == 0) {
    dropped_writes.push_back("message without bus mastering");
    return;
  }
  sent.push_back({address, data});
  if (its != nullptr && address == doorbell) deliveries.push_back(its->inject(function.dma.its_device_id, data));
}

void SimMessageDevices::deliver_pending_msix(Device& device) {
  const pci::Function& f = *device.function;
  if ((sim(f).peek16(f.caps.msix.offset + 2) & 0x8000) == 0) return;
  for (uint16_t v = 0; v < device.pba.size(); ++v) {
    if (!device.pba[v] || msix_masked(device, v)) continue;
    device.pba[v] = false;
    send(f, uint64_t{device.table[v * entry_bytes + 4]} << 32 | device.table[v * entry_bytes], device.table[v * entry_bytes + 8]);
  }
}

void SimMessageDevices::fire_msix(const pci::Function& function, uint16_t vector) {
  Device& device = device_of(function);
  if ((sim(function).peek16(function.caps.msix.offset + 2) & 0x8000) == 0) return;  // MSI-X off: nothing
  if (msix_masked(device, vector)) {
    device.pba.at(vector) = true;
    return;
  }
  send(function, uint64_t{device.table[vector * entry_bytes + 4]} << 32 | device.table[vector * entry_bytes],
       device.table[vector * entry_bytes + 8]);
}

void SimMessageDevices::fire_msi(const pci::Function& function, unsigned vector) {
  SimFunction& s = sim(function);
  const pci::MsiInfo& msi = function.caps.msi;
  const uint16_t control = s.peek16(msi.offset + 2);
  const unsigned count = 1u << ((control >> 4) & 7);
  if ((control & 1) == 0 || vector >= count) return;
  const uint8_t mask_at = msi.offset + (msi.address_64bit ? 0x10 : 0xc);
  if (msi.per_vector_mask && ((s.peek32(mask_at) >> vector) & 1) != 0) {
    s.poke32(mask_at + 4, s.peek32(mask_at + 4) | 1u << vector);  // pending
    return;
  }
  const uint64_t address = s.peek32(msi.offset + 4) | (msi.address_64bit ? uint64_t{s.peek32(msi.offset + 8)} << 32 : 0);
  const uint32_t data = s.peek16(msi.offset + (msi.address_64bit ? 0xc : 0x8));
  send(function, address, (data & ~(count - 1)) | vector);
}

void SimMessageDevices::poll(const pci::Function& function) {
  const pci::MsiInfo& msi = function.caps.msi;
  if (msi.offset != 0 && msi.per_vector_mask) {
    SimFunction& s = sim(function);
    const uint8_t mask_at = msi.offset + (msi.address_64bit ? 0x10 : 0xc);
    for (unsigned v = 0; v < 32; ++v) {
      const uint32_t pending = s.peek32(mask_at + 4);
      if (((pending >> v) & 1) == 0 || ((s.peek32(mask_at) >> v) & 1) != 0) continue;
      s.poke32(mask_at + 4, pending & ~(1u << v));
      fire_msi(function, v);
    }
  }
  if (function.caps.msix.offset != 0) deliver_pending_msix(device_of(function));
}

uint32_t SimMessageDevices::table_word(const pci::Function& function, uint16_t vector, unsigned word) const {
  const Device& device = device_of(function);
  const auto it = device.table.find(vector * entry_bytes + 4 * word);
  return it == device.table.end() ? 0 : it->second;
}

bool SimMessageDevices::pba_bit(const pci::Function& function, uint16_t vector) const {
  return device_of(function).pba.at(vector);
}

void SimMessageDevices::poke_table(const pci::Function& function, uint16_t vector, unsigned word, uint32_t value) {
  device_of(function).table[vector * entry_bytes + 4 * word] = value;
}

}  // namespace bulkhead::sim
