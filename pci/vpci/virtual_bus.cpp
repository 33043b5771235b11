// The virtual bus: access decoding, the type 0 header, the command and status
// registers, setup and reset. BARs are in virtual_bars.cpp, capabilities in
// virtual_capabilities.cpp.
#include "pci/vpci/virtual_bus.hpp"

#include "core/lib/runtime.hpp"
#include "pci/vpci/access.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {
namespace {

constexpr uint64_t ecam_bus_shift = 20;
constexpr uint64_t ecam_device_shift = 15;
constexpr uint64_t ecam_register_mask = 0xfff;
constexpr uint16_t standard_config_end = 0x100;
// Type 0, multi-function bit clear: every slot holds exactly one function (function 0),
// whatever the physical device is.
constexpr uint8_t virtual_header_type = 0x00;
constexpr unsigned header_type_shift = 16;  // inside dword 0x0c
constexpr unsigned interrupt_pin_shift = 8;  // inside dword 0x3c
constexpr uint8_t interrupt_line_byte = 0x1;
constexpr uint8_t header_type_byte = 0x4;
constexpr uint8_t capability_pointer_byte = 0x1;
constexpr uint8_t command_bytes = 0x3;
constexpr uint8_t status_bytes = 0xc;

bool is_bar_register(uint16_t offset) { return offset >= reg::bar0 && offset <= reg::last_bar; }

}  // namespace

bool VirtualPciBus::configure(const BusSetup& setup, VpciHost& host, SetupError& error) {
  clear();
  host_ = &host;
  error.message[0] = '\0';
  auto fail = [&](const FixedBuffer<sizeof(error.message)>& text) {
    rt::copy_string(error.message, sizeof(error.message), text.c_str());
    clear();
    return false;
  };
  FixedBuffer<sizeof(error.message)> text;
  const char* name = setup.partition != nullptr ? setup.partition : "?";
  if (setup.function_count > max_bus_functions) {
    format(text, "partition {}: {} PCI functions, at most {} on a virtual bus", name, setup.function_count,
           max_bus_functions);
    return fail(text);
  }
  if (setup.reserved_count > max_reserved_ranges) {
    format(text, "partition {}: {} reserved guest ranges, at most {}", name, setup.reserved_count,
           max_reserved_ranges);
    return fail(text);
  }
  for (size_t i = 0; i < setup.function_count; ++i) {
    const FunctionSetup& wanted = setup.functions[i];
    if (wanted.function == nullptr) {
      format(text, "partition {}: function {} of the virtual bus is missing", name, i);
      return fail(text);
    }
    const SbdfText sbdf = sbdf_text(wanted.function->address);
    if (wanted.slot == 0 || wanted.slot >= bus_slots) {
      format(text, "partition {}: {} slot {} is not 1..{}", name, sbdf.text, wanted.slot, bus_slots - 1);
      return fail(text);
    }
    if (slot_entry_[wanted.slot] != 0) {
      format(text, "partition {}: {} and {} both want slot {}", name,
             sbdf_text(functions_[slot_entry_[wanted.slot] - 1].physical->address).text, sbdf.text, wanted.slot);
      return fail(text);
    }
    const Function& physical = *wanted.function;
    if (physical.is_bridge() || physical.kind == FunctionKind::host_bridge || physical.header_type != 0) {
      format(text, "partition {}: {} is a {}; only endpoints appear on a virtual bus", name, sbdf.text,
             kind_name(physical.kind));
      return fail(text);
    }
    if (!physical.usable) {
      format(text, "partition {}: {} is unusable (its BARs are not placed)", name, sbdf.text);
      return fail(text);
    }
    for (size_t j = 0; j < function_count_; ++j) {
      if (functions_[j].physical != &physical) continue;
      format(text, "partition {}: {} is on the virtual bus twice", name, sbdf.text);
      return fail(text);
    }
    FunctionState& f = functions_[function_count_];
    f = FunctionState();
    f.physical = &physical;
    f.slot = wanted.slot;
    f.quarantine_command = physical.command;
    f.physical_command = physical.command;
    setup_bars(f);
    link_capabilities(f);
    slot_entry_[wanted.slot] = static_cast<uint8_t>(++function_count_);
    devfn_entry_[wanted.slot << (ecam_device_shift - devfn_shift)] = slot_entry_[wanted.slot];
  }
  partition_ = name;
  legacy_intx_ = setup.legacy_intx;
  // Power-on state: a command register of 0, so with INTx allowed the function may
  // raise INTx, as after a reset (the physical register says so too).
  for (size_t i = 0; i < function_count_; ++i) {
    reset_state(functions_[i]);
    apply_physical_command(functions_[i]);
  }
  windows_ = setup.windows;
  for (size_t i = 0; i < setup.reserved_count; ++i) reserved_[i] = setup.reserved[i];
  reserved_count_ = setup.reserved_count;
  return true;
}

void VirtualPciBus::clear() {
  rt::fill(slot_entry_, 0, sizeof(slot_entry_));
  rt::fill(devfn_entry_, 0, sizeof(devfn_entry_));
  // Only the absent functions' row: a function's row is written whole
  // (refresh_header_image) before devfn_entry_ leads to it.
  for (size_t dword = 0; dword < header_dwords; ++dword) header_answers_[0][dword] = header_answered | 0xffffffffu;  // absent
  header_writes_ignored_[0] = 0xffff;
  function_count_ = 0;
  reserved_count_ = 0;
  io_decoder_count_ = 0;
  trap_decoder_count_ = 0;
  partition_ = "";
  legacy_intx_ = false;
  quarantined_ = false;
  windows_ = GuestWindows();
}

VirtualPciBus::FunctionState* VirtualPciBus::function_in_slot(uint8_t slot) {
  if (slot >= bus_slots || slot_entry_[slot] == 0) return nullptr;
  return &functions_[slot_entry_[slot] - 1];
}

// Bus 0, function 0 of an occupied slot; anything else is absent.
VirtualPciBus::FunctionState* VirtualPciBus::function_at(uint64_t ecam_offset) {
  if ((ecam_offset >> ecam_bus_shift) != 0) return nullptr;
  const uint8_t entry = devfn_entry_[(ecam_offset >> devfn_shift) & 0xff];
  return entry == 0 ? nullptr : &functions_[entry - 1];
}

// The header registers kept in the function's state (identity, header type, capability
// pointer, Interrupt Line): inlined into config_read() and config_write(), their only
// callers, every trapped ECAM access runs one of them. Anything that reads the device or
// acts (command and status, the interrupt pin, BARs, capabilities) is out of line, so
// the common access needs no stack frame.
[[gnu::always_inline]] inline uint32_t VirtualPciBus::read_dword(FunctionState& f, uint16_t offset) {
  switch (offset) {
    case reg::vendor_device:
      return f.identity.vendor_device;
    case reg::class_revision:
      return f.identity.class_revision;
    case reg::subsystem_ids:
      return f.identity.subsystem;
    case reg::header_dword:
      return static_cast<uint32_t>(virtual_header_type) << header_type_shift;
    case reg::capability_pointer:
      return f.first_capability;
    default:
      return read_computed_dword(f, offset);
  }
}

uint32_t VirtualPciBus::read_computed_dword(FunctionState& f, uint16_t offset) {
  if (offset == reg::command) return f.guest_command | static_cast<uint32_t>(virtual_status(f)) << 16;
  if (offset == reg::interrupt_dword) {
    const uint32_t pin =
        legacy_intx_ ? host_->config_read(*f.physical, reg::interrupt_dword + 1, AccessWidth::byte) & 0xff : 0;
    return interrupt_line(f) | pin << interrupt_pin_shift;
  }
  if (is_bar_register(offset)) return read_bar(f, static_cast<uint8_t>((offset - reg::bar0) / 4));
  if (offset >= reg::standard_capabilities_first && offset < standard_config_end) {
    if (const CapabilityState* c = capability_at(f, offset)) return read_capability(f, *c, offset);
  }
  // The ROM (hidden), the CardBus CIS pointer, reserved dwords, unlinked capabilities and
  // the extended space (an empty list: 0 at 0x100).
  return 0;
}

[[gnu::always_inline]] inline bool VirtualPciBus::write_dword(FunctionState& f, uint16_t offset, uint32_t value,
                                                              uint8_t mask) {
  switch (offset) {
    case reg::vendor_device:
    case reg::class_revision:
    case reg::subsystem_ids:
    case reg::rom_type0:  // hidden: reads 0, so sizing finds no ROM
      return true;
    case reg::header_dword:  // the header type is read-only; cache line size, latency timer, BIST are not emulated
      return (mask & ~header_type_byte) == 0;
    case reg::capability_pointer:  // the pointer is read-only; 0x35..0x37 are reserved
      return (mask & ~capability_pointer_byte) == 0;
    case reg::interrupt_dword:  // Interrupt Line is the guest's scratch byte; pin, Min_Gnt, Max_Lat read-only
      if ((mask & interrupt_line_byte) != 0) set_interrupt_line(f, static_cast<uint8_t>(value));
      return true;
    default:
      return write_emulated_dword(f, offset, value, mask);
  }
}

bool VirtualPciBus::write_emulated_dword(FunctionState& f, uint16_t offset, uint32_t value, uint8_t mask) {
  if (offset == reg::command) {
    if ((mask & command_bytes) != 0) {
      const uint32_t bits = byte_bits(mask & command_bytes);
      write_command(f, static_cast<uint16_t>((f.guest_command & ~bits) | (value & bits)));
    }
    if ((mask & status_bytes) != 0) write_status(f, static_cast<uint16_t>((value & byte_bits(mask)) >> 16));
    return true;
  }
  if (is_bar_register(offset)) {
    write_bar(f, static_cast<uint8_t>((offset - reg::bar0) / 4), value, mask);
    return true;
  }
  if (offset >= reg::standard_capabilities_first && offset < standard_config_end) {
    if (const CapabilityState* c = capability_at(f, offset)) {
      write_capability(f, *c, offset, value, mask);
      return true;
    }
  }
  return false;
}

void VirtualPciBus::log_unhandled_write(FunctionState& f, uint16_t offset, uint8_t size, uint32_t value) {
  f.unhandled_write_logged = true;
  log_event(f, "unhandled-write offset {} size {} value {}", hex(offset), size, hex(value));
}

ReadResult VirtualPciBus::config_read(uint64_t offset, uint8_t size) {
  if (!within_dword(offset, size)) return {};
  FunctionState* f = function_at(offset);
  if (f == nullptr) return {true, value_mask(size)};
  const auto reg_offset = static_cast<uint16_t>(offset & ecam_register_mask);
  const uint32_t dword = read_dword(*f, static_cast<uint16_t>(reg_offset & ~3u));
  return {true, (dword >> (8 * (reg_offset & 3u))) & value_mask(size)};
}

bool VirtualPciBus::config_write(uint64_t offset, uint8_t size, uint32_t value) {
  if (!within_dword(offset, size)) return false;
  FunctionState* f = function_at(offset);
  if (f == nullptr) return true;
  const auto reg_offset = static_cast<uint16_t>(offset & ecam_register_mask);
  const unsigned first_byte = reg_offset & 3u;
  value &= value_mask(size);
  const bool handled = write_dword(*f, static_cast<uint16_t>(reg_offset & ~3u), value << (8 * first_byte),
                                   byte_mask(first_byte, size));
  if (!handled && !f->unhandled_write_logged) log_unhandled_write(*f, reg_offset, size, value);
  return true;
}

// The guest's command register. Memory decode on: stage 2 maps the BARs first, then the
// function decodes. Off: the mappings go first, then the decode.
void VirtualPciBus::write_command(FunctionState& f, uint16_t command) {
  const uint16_t before = f.guest_command;
  f.guest_command = static_cast<uint16_t>(command & reg::command_guest_bits);
  const uint16_t changed = before ^ f.guest_command;
  if ((changed & reg::command_memory) != 0) {
    if ((f.guest_command & reg::command_memory) != 0) {
      map_memory_bars(f);
    } else {
      unmap_memory_bars(f);
    }
  }
  apply_physical_command(f);
  if ((changed & (reg::command_memory | reg::command_io)) != 0) refresh_decoders();
}

// What the function's own command register holds: enumeration's value with the guest's
// decode bits; bus master only when DMA is isolated; INTx disabled unless the partition
// may use INTx and the guest enabled it.
void VirtualPciBus::apply_physical_command(FunctionState& f) {
  uint16_t command = static_cast<uint16_t>(f.quarantine_command & ~reg::command_guest_bits);
  command |= f.guest_command & (reg::command_io | reg::command_memory);
  if ((f.guest_command & reg::command_bus_master) != 0) {
    if (host_->bus_master_allowed(*f.physical)) {
      command |= reg::command_bus_master;
    } else if (!f.bus_master_logged) {
      f.bus_master_logged = true;
      log_event(f, "bus-master withheld: DMA is not isolated");
    }
  }
  if (quarantined_ || !legacy_intx_ || (f.guest_command & reg::command_interrupt_disable) != 0) {
    command |= reg::command_interrupt_disable;
  }
  if (command == f.physical_command) return;
  f.physical_command = command;
  host_->config_write(*f.physical, reg::command, AccessWidth::half, command);
}

// Only the RW1C error bits reach the function, and only the ones the guest clears.
void VirtualPciBus::write_status(FunctionState& f, uint16_t written) {
  const auto cleared = static_cast<uint16_t>(written & reg::status_error_bits);
  if (cleared != 0) host_->config_write(*f.physical, reg::status, AccessWidth::half, cleared);
}

// The function's status with the capability-list bit saying whether the guest's list is empty.
uint16_t VirtualPciBus::virtual_status(FunctionState& f) {
  auto status = static_cast<uint16_t>(host_->config_read(*f.physical, reg::status, AccessWidth::half));
  status = static_cast<uint16_t>(status & ~reg::status_capability_list);
  if (f.capability_count != 0) status |= reg::status_capability_list;
  return status;
}

void VirtualPciBus::read_identity(FunctionState& f) {
  f.identity.vendor_device = host_->config_read(*f.physical, reg::vendor_device, AccessWidth::word);
  f.identity.class_revision = host_->config_read(*f.physical, reg::class_revision, AccessWidth::word);
  f.identity.subsystem = host_->config_read(*f.physical, reg::subsystem_ids, AccessWidth::word);
  refresh_header_image(f);
}

// The function's fixed header dwords as read_dword() answers them (none of them reads the
// device), and the ones write_dword() drops whole. Again whenever what they show changes:
// its identity (setup, reset) and its capability list.
void VirtualPciBus::refresh_header_image(FunctionState& f) {
  constexpr uint16_t fixed[] = {reg::vendor_device, reg::class_revision, reg::header_dword,       reg::cardbus_cis,
                                reg::subsystem_ids, reg::rom_type0,      reg::capability_pointer, reg::reserved_dword};
  constexpr auto dword_bit = [](uint16_t offset) { return static_cast<uint16_t>(1u << (offset / 4)); };
  constexpr uint16_t dropped = dword_bit(reg::vendor_device) | dword_bit(reg::class_revision) |
                               dword_bit(reg::subsystem_ids) | dword_bit(reg::rom_type0);
  const size_t index = 1 + static_cast<size_t>(&f - functions_);
  // Word by word, each written once: the trap path reads the row without the lock.
  uint64_t row[header_dwords] = {};
  for (const uint16_t offset : fixed) row[offset / 4] = header_answered | read_dword(f, offset);
  for (size_t dword = 0; dword < header_dwords; ++dword) __atomic_store_n(&header_answers_[index][dword], row[dword], __ATOMIC_RELAXED);
  __atomic_store_n(&header_writes_ignored_[index], dropped, __ATOMIC_RELAXED);
}

// Virtual registers at power-on values, identity read again. The caller has removed the
// mappings.
void VirtualPciBus::reset_state(FunctionState& f) {
  read_identity(f);
  f.guest_command = 0;
  set_interrupt_line(f, 0);
  f.unhandled_write_logged = false;
  f.bus_master_logged = false;
  for (BarState& bar : f.bars) {
    bar.guest = 0;
    bar.placement_logged = false;
  }
  if (f.msi_handler != nullptr) f.msi_handler->reset();
  if (f.msix_handler != nullptr) f.msix_handler->reset();
}

bool VirtualPciBus::reset_function(uint8_t slot) {
  FunctionState* f = function_in_slot(slot);
  if (f == nullptr) return false;
  unmap_memory_bars(*f);
  f->guest_command = 0;
  apply_physical_command(*f);
  reset_state(*f);
  refresh_decoders();
  return true;
}

void VirtualPciBus::reset() { reset_every_function(false); }

void VirtualPciBus::quarantine() { reset_every_function(true); }

// Quarantined first, so a stopping partition's functions never pass through power-on's
// INTx enable on their way to quarantine.
void VirtualPciBus::reset_every_function(bool quarantine) {
  quarantined_ = quarantine;
  for (uint8_t slot = 0; slot < bus_slots; ++slot) {
    if (slot_entry_[slot] != 0) reset_function(slot);
  }
}

}  // namespace bulkhead::pci::vpci
