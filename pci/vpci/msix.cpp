#include "pci/vpci/msix.hpp"

#include "core/lib/format.hpp"
#include "pci/vpci/access.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {
namespace {

bool is_memory_bar(const Bar& bar) { return bar.kind == BarKind::mem32 || bar.kind == BarKind::mem64; }

// The function decodes memory while this lives, so the hypervisor's own writes to its
// table reach it (the guest's accesses only come while it decodes anyway).
class MemoryDecode {
 public:
  MemoryDecode(VpciHost& host, const Function& function) : host_(host), function_(function) {
    command_ = static_cast<uint16_t>(host.config_read(function, reg::command, AccessWidth::half));
    if ((command_ & reg::command_memory) == 0) {
      host.config_write(function, reg::command, AccessWidth::half, command_ | reg::command_memory);
    }
  }
  ~MemoryDecode() {
    if ((command_ & reg::command_memory) == 0) host_.config_write(function_, reg::command, AccessWidth::half, command_);
  }
  MemoryDecode(const MemoryDecode&) = delete;
  MemoryDecode& operator=(const MemoryDecode&) = delete;

 private:
  VpciHost& host_;
  const Function& function_;
  uint16_t command_ = 0;
};

}  // namespace

bool MsixHandler::configure(const MessageSetup& setup, VirtualPciBus& bus, MsixVector* vectors, size_t capacity) {
  if (setup.function == nullptr || setup.host == nullptr || setup.router == nullptr || setup.bars == nullptr) {
    return false;
  }
  const Function& function = *setup.function;
  const MsixInfo& msix = function.caps.msix;
  if (msix.offset == 0) return false;
  const auto refuse = [&setup](const char* why) {
    FixedBuffer<256> line;
    format(line, "partition {} vpci 00:{}.0 msix not emulated: {}", setup.partition, plain_hex(setup.slot, 2), why);
    setup.host->log(line.c_str());
    return false;
  };
  if (vectors == nullptr || capacity < msix.table_size || msix.table_size == 0) {
    return refuse("no room for its table's entries");
  }
  if (msix.table_bar >= bar_slots || msix.pba_bar >= bar_slots) return refuse("its table or PBA BAR is beyond BAR 5");
  const Bar& table_bar = function.bars[msix.table_bar];
  const Bar& pba_bar = function.bars[msix.pba_bar];
  const uint64_t table_bytes = uint64_t{msix.table_size} * reg::msix::entry_bytes;
  const uint64_t pba_bytes = reg::msix::pba_bytes(msix.table_size);
  if (!is_memory_bar(table_bar) || !is_memory_bar(pba_bar) || !table_bar.assigned || !pba_bar.assigned ||
      msix.table_offset > table_bar.size || table_bytes > table_bar.size - msix.table_offset ||
      msix.pba_offset > pba_bar.size || pba_bytes > pba_bar.size - msix.pba_offset) {
    return refuse("its table or PBA is not inside a placed memory BAR");
  }
  setup_ = setup;
  cap_ = msix.offset;
  table_size_ = msix.table_size;
  vectors_ = vectors;
  table_bar_ = msix.table_bar;
  table_offset_ = msix.table_offset;
  table_ = table_bar.cpu_address + msix.table_offset;
  pba_bar_ = msix.pba_bar;
  pba_offset_ = msix.pba_offset;
  pba_ = pba_bar.cpu_address + msix.pba_offset;
  // The guest's accesses to the table must trap; the PBA's too when it shares the BAR
  // (they share a page on many devices: QEMU's virtio puts the PBA 2 KiB after the table).
  uint64_t trap_first = table_offset_;
  uint64_t trap_end = table_offset_ + table_bytes;
  if (pba_bar_ == table_bar_) {
    if (pba_offset_ < trap_first) trap_first = pba_offset_;
    if (pba_offset_ + pba_bytes > trap_end) trap_end = pba_offset_ + pba_bytes;
  }
  if (!bus.attach_capability(setup.slot, CapabilityKind::msix, *this) ||
      !bus.trap_bar_range(setup.slot, table_bar_, trap_first, trap_end - trap_first, *this)) {
    return refuse("the virtual bus refused its capability or its table's pages");
  }
  for (uint16_t v = 0; v < table_size_; ++v) vectors_[v] = MsixVector{0, 0, 0, 0, guest_masked};
  control_ = 0;
  physical_control_ = 0;
  setup_.host->config_write(function, static_cast<uint16_t>(cap_ + reg::msix::control), AccessWidth::half, 0);
  mask_every_vector();
  return true;
}

void MsixHandler::write_physical_control() {
  if (control_ == physical_control_) return;
  physical_control_ = control_;
  setup_.host->config_write(*setup_.function, static_cast<uint16_t>(cap_ + reg::msix::control), AccessWidth::half,
                            control_);
}

void MsixHandler::mask_physical(uint16_t vector) {
  MsixVector& entry = vectors_[vector];
  if ((entry.flags & physical_unmasked) == 0) return;
  entry.flags = static_cast<uint8_t>(entry.flags & ~physical_unmasked);
  setup_.bars->bar_write(entry_address(vector) + reg::msix::entry_vector_control, AccessWidth::word,
                         reg::msix::vector_control_mask);
}

void MsixHandler::unmask_physical(uint16_t vector) {
  MsixVector& entry = vectors_[vector];
  if ((entry.flags & physical_unmasked) != 0) return;
  entry.flags = static_cast<uint8_t>(entry.flags | physical_unmasked);
  setup_.bars->bar_write(entry_address(vector) + reg::msix::entry_vector_control, AccessWidth::word, 0);
}

// Every physical entry masked, whatever earlier software left there.
void MsixHandler::mask_every_vector() {
  const MemoryDecode decode(*setup_.host, *setup_.function);
  for (uint16_t v = 0; v < table_size_; ++v) {
    vectors_[v].flags = static_cast<uint8_t>(vectors_[v].flags | physical_unmasked);
    mask_physical(v);
  }
}

uint32_t MsixHandler::read_config(uint16_t offset) {
  const uint16_t at = static_cast<uint16_t>(offset - cap_);
  const uint32_t own = setup_.host->config_read(*setup_.function, offset, AccessWidth::word);
  if (at != 0) return own;  // Table and PBA Offset/BIR: the guest's BARs have the host's layout
  const auto size = static_cast<uint16_t>((own >> 16) & reg::msix::control_table_size);
  return static_cast<uint32_t>(size | control_) << 16;
}

void MsixHandler::write_config(uint16_t offset, uint32_t value, uint8_t byte_mask) {
  if (offset != cap_) return;  // the offsets are read-only
  const uint32_t bits = byte_bits(byte_mask);
  const auto written = static_cast<uint16_t>((((uint32_t{control_} << 16) & ~bits) | (value & bits)) >> 16);
  const auto control = static_cast<uint16_t>(written & (reg::msix::control_enable | reg::msix::control_function_mask));
  if (control == control_) return;
  const bool was_enabled = enabled();
  control_ = control;
  const MemoryDecode decode(*setup_.host, *setup_.function);
  if (!enabled()) {
    write_physical_control();  // the function stops first, then its translations go
    apply_all();
    return;
  }
  if (!was_enabled) apply_all();  // vectors bound and programmed before the function may send
  write_physical_control();
}

void MsixHandler::apply_all() {
  for (uint16_t v = 0; v < table_size_; ++v) apply(v);
}

// Brings one vector's translation and physical entry in line with the guest's.
void MsixHandler::apply(uint16_t vector) {
  MsixVector& entry = vectors_[vector];
  const uint64_t address = uint64_t{entry.address_high} << 32 | entry.address_low;
  const uint32_t spi = enabled() ? setup_.target.spi_of(address, entry.data) : 0;
  if (entry.bound_spi != 0 && entry.bound_spi != spi) {
    mask_physical(vector);
    setup_.router->unbind(*setup_.function, MessageKind::msix, vector);
    entry.bound_spi = 0;
  }
  if (spi != 0 && entry.bound_spi == 0) {
    mask_physical(vector);
    const PhysicalMessage message = setup_.router->bind(*setup_.function, MessageKind::msix, vector, spi);
    if (message.ok) {
      const uint64_t at = entry_address(vector);
      setup_.bars->bar_write(at + reg::msix::entry_address_low, AccessWidth::word, static_cast<uint32_t>(message.address));
      setup_.bars->bar_write(at + reg::msix::entry_address_high, AccessWidth::word,
                             static_cast<uint32_t>(message.address >> 32));
      setup_.bars->bar_write(at + reg::msix::entry_data, AccessWidth::word, message.data);
      entry.bound_spi = static_cast<uint16_t>(spi);
    }
  }
  const bool guest_unmasked = (entry.flags & guest_masked) == 0;
  if (entry.bound_spi != 0 && guest_unmasked) {
    unmask_physical(vector);
  } else {
    mask_physical(vector);
  }
  if (enabled() && spi == 0 && guest_unmasked && (entry.flags & bad_logged) == 0) {
    entry.flags = static_cast<uint8_t>(entry.flags | bad_logged);
    FixedBuffer<256> line;
    format(line, "partition {} vpci 00:{}.0 msix vector {} address {} data {}: not one of its SPIs at {}; kept masked",
           setup_.partition, plain_hex(setup_.slot, 2), vector, hex(address), hex(entry.data),
           hex(setup_.target.doorbell));
    setup_.host->log(line.c_str());
  }
}

uint32_t MsixHandler::read_field(uint16_t vector, uint64_t field) const {
  const MsixVector& entry = vectors_[vector];
  switch (field) {
    case reg::msix::entry_address_low: return entry.address_low;
    case reg::msix::entry_address_high: return entry.address_high;
    case reg::msix::entry_data: return entry.data;
    default: return (entry.flags & guest_masked) != 0 ? reg::msix::vector_control_mask : 0;
  }
}

void MsixHandler::write_field(uint16_t vector, uint64_t field, uint32_t value) {
  MsixVector& entry = vectors_[vector];
  switch (field) {
    case reg::msix::entry_address_low: entry.address_low = value & reg::msix::entry_address_low_mask; break;
    case reg::msix::entry_address_high: entry.address_high = value; break;
    case reg::msix::entry_data: entry.data = value; break;
    default:  // only the mask bit is implemented; steering tags are not
      entry.flags = (value & reg::msix::vector_control_mask) != 0 ? static_cast<uint8_t>(entry.flags | guest_masked)
                                                                  : static_cast<uint8_t>(entry.flags & ~guest_masked);
      break;
  }
}

uint32_t MsixHandler::read_trapped(uint8_t bar, uint64_t offset, AccessWidth width) {
  if (bar == table_bar_ && offset >= table_offset_ && offset - table_offset_ < table_size_ * reg::msix::entry_bytes) {
    const uint64_t at = offset - table_offset_;
    const auto vector = static_cast<uint16_t>(at / reg::msix::entry_bytes);
    return read_field(vector, at % reg::msix::entry_bytes & ~uint64_t{3}) >> (8 * (at % 4));
  }
  if (bar == pba_bar_ && offset >= pba_offset_ && offset - pba_offset_ < reg::msix::pba_bytes(table_size_)) {
    return setup_.bars->bar_read(pba_ + (offset - pba_offset_), width);  // the function's own pending bits
  }
  return setup_.bars->bar_read(setup_.function->bars[bar].cpu_address + offset, width);
}

void MsixHandler::write_trapped(uint8_t bar, uint64_t offset, AccessWidth width, uint32_t value) {
  if (bar == table_bar_ && offset >= table_offset_ && offset - table_offset_ < table_size_ * reg::msix::entry_bytes) {
    const uint64_t at = offset - table_offset_;
    const auto vector = static_cast<uint16_t>(at / reg::msix::entry_bytes);
    const uint64_t field = at % reg::msix::entry_bytes & ~uint64_t{3};
    const auto shift = static_cast<unsigned>(8 * (at % 4));
    const uint32_t bits = value_mask(static_cast<uint8_t>(width)) << shift;
    write_field(vector, field, (read_field(vector, field) & ~bits) | ((value << shift) & bits));
    apply(vector);
    return;
  }
  if (bar == pba_bar_ && offset >= pba_offset_ && offset - pba_offset_ < reg::msix::pba_bytes(table_size_)) return;
  setup_.bars->bar_write(setup_.function->bars[bar].cpu_address + offset, width, value);
}

void MsixHandler::reset() {
  if (setup_.function == nullptr) return;
  control_ = 0;
  write_physical_control();  // disabled first
  mask_every_vector();
  for (uint16_t v = 0; v < table_size_; ++v) {
    MsixVector& entry = vectors_[v];
    if (entry.bound_spi != 0) setup_.router->unbind(*setup_.function, MessageKind::msix, v);
    entry = MsixVector{0, 0, 0, 0, guest_masked};
  }
}

}  // namespace bulkhead::pci::vpci
