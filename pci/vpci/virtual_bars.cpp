// Virtual BARs: size probing, the guest's placement, and the stage-2 mappings that
// follow it while memory decode is on; the virtual I/O window; trapped BAR ranges.
#include "pci/vpci/access.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"

namespace bulkhead::pci::vpci {
namespace {

constexpr uint64_t low_dword = 0xffffffffull;

uint64_t align_down(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }

bool is_memory(BarKind kind) { return kind == BarKind::mem32 || kind == BarKind::mem64; }

bool overlaps(uint64_t base, uint64_t size, const AddressRange& range) {
  return size != 0 && range.size != 0 && base < range.base + range.size && range.base < base + size;
}

// [base, base + size) inside `range`, without wrapping.
bool inside(uint64_t base, uint64_t size, const AddressRange& range) {
  return size != 0 && base >= range.base && base - range.base <= range.size && size <= range.size - (base - range.base);
}

struct Piece {
  uint64_t offset = 0;
  uint64_t size = 0;
};

}  // namespace

uint64_t guest_bar_size(const Bar& bar) {
  if (bar.kind == BarKind::none) return 0;
  if (bar.kind == BarKind::io) return bar.size;
  return bar.size < guest_page ? guest_page : bar.size;
}

void VirtualPciBus::setup_bars(FunctionState& f) {
  const Function& physical = *f.physical;
  for (uint8_t i = 0; i < bar_slots; ++i) {
    BarState& state = f.bars[i];
    state = BarState();
    if (i >= physical.bar_count) continue;
    const Bar& bar = physical.bars[i];
    if (bar.kind == BarKind::none) {
      state.upper_half = i > 0 && physical.bars[i - 1].kind == BarKind::mem64 && physical.bars[i - 1].assigned;
      continue;
    }
    if (!bar.assigned || bar.size == 0) continue;  // a usable function has every BAR placed
    state.kind = bar.kind;
    state.prefetchable = bar.prefetchable;
    state.io_16bit = bar.io_16bit;
    state.size = guest_bar_size(bar);
    state.host = bar.cpu_address;
  }
}

// The register as the guest reads it: its placement under the size mask, and the type bits.
uint32_t VirtualPciBus::read_bar(const FunctionState& f, uint8_t index) const {
  const BarState& bar = f.bars[index];
  if (bar.upper_half) return static_cast<uint32_t>(f.bars[index - 1].guest >> 32);
  const uint32_t prefetchable = bar.prefetchable ? reg::bar_prefetchable : 0;
  switch (bar.kind) {
    case BarKind::none: return 0;
    case BarKind::io: return static_cast<uint32_t>(bar.guest) | reg::bar_io_space;
    case BarKind::mem32: return static_cast<uint32_t>(bar.guest) | prefetchable;
    case BarKind::mem64: return static_cast<uint32_t>(bar.guest) | reg::bar_memory_64bit | prefetchable;
  }
  return 0;
}

// Keeps the address bits the BAR implements (so all ones reads back as the size mask);
// moves the mapping when memory decode is on: the old one goes first.
void VirtualPciBus::write_bar(FunctionState& f, uint8_t index, uint32_t value, uint8_t mask) {
  const uint8_t base_index = f.bars[index].upper_half ? static_cast<uint8_t>(index - 1) : index;
  BarState& bar = f.bars[base_index];
  if (bar.kind == BarKind::none) return;  // unimplemented: reads 0, like hardware
  const uint32_t bits = byte_bits(mask);
  const uint32_t written = (read_bar(f, index) & ~bits) | (value & bits);
  uint64_t guest = bar.guest;
  if (index != base_index) {
    guest = (guest & low_dword) | static_cast<uint64_t>(written) << 32;
  } else if (bar.kind == BarKind::io) {
    guest = written & (bar.io_16bit ? reg::bar_io16_address_mask : reg::bar_io_address_mask);
  } else {
    guest = (guest & ~low_dword) | (written & reg::bar_memory_address_mask);
  }
  guest &= ~(bar.size - 1);
  if (guest == bar.guest) return;
  if (bar.mapped) unmap_bar(bar);
  bar.guest = guest;
  if (is_memory(bar.kind) && (f.guest_command & reg::command_memory) != 0) map_bar(f, base_index);
  refresh_decoders();
}

void VirtualPciBus::map_memory_bars(FunctionState& f) {
  for (uint8_t i = 0; i < bar_slots; ++i) {
    if (is_memory(f.bars[i].kind) && !f.bars[i].mapped) map_bar(f, i);
  }
}

void VirtualPciBus::unmap_memory_bars(FunctionState& f) {
  for (BarState& bar : f.bars) {
    if (bar.mapped) unmap_bar(bar);
  }
}

// Maps the BAR where the guest put it, or leaves it unmapped (the guest then gets an
// external abort there) and says why, once per BAR.
void VirtualPciBus::map_bar(FunctionState& f, uint8_t index) {
  BarState& bar = f.bars[index];
  FixedBuffer<160> problem;
  if (placement_ok(f, index, problem)) {
    if (map_pieces(bar)) {
      bar.mapped = true;
      bar.mapped_guest = bar.guest;
      return;
    }
    format(problem, "stage 2 could not map it");
  }
  if (bar.placement_logged) return;
  bar.placement_logged = true;
  log_event(f, "bar {} guest {} size {} unmapped: {}", index, hex(bar.guest), hex(bar.size), problem.c_str());
}

namespace {

// The parts of a BAR stage 2 maps: all of it, or what lies around its trapped range.
size_t bar_pieces(uint64_t size, uint64_t trap_first, uint64_t trap_end, Piece (&pieces)[2]) {
  if (trap_end == 0) {
    pieces[0] = {0, size};
    return 1;
  }
  size_t count = 0;
  if (trap_first != 0) pieces[count++] = {0, trap_first};
  if (trap_end < size) pieces[count++] = {trap_end, size - trap_end};
  return count;
}

}  // namespace

bool VirtualPciBus::map_pieces(const BarState& bar) {
  Piece pieces[2];
  const size_t count = bar_pieces(bar.size, bar.trap_first, bar.trap_end, pieces);
  for (size_t i = 0; i < count; ++i) {
    if (host_->map_mmio(bar.guest + pieces[i].offset, bar.host + pieces[i].offset, pieces[i].size)) continue;
    for (size_t j = 0; j < i; ++j) host_->unmap_mmio(bar.guest + pieces[j].offset, pieces[j].size);
    return false;
  }
  return true;
}

void VirtualPciBus::unmap_bar(BarState& bar) {
  Piece pieces[2];
  const size_t count = bar_pieces(bar.size, bar.trap_first, bar.trap_end, pieces);
  for (size_t i = 0; i < count; ++i) host_->unmap_mmio(bar.mapped_guest + pieces[i].offset, pieces[i].size);
  bar.mapped = false;
}

// A BAR is mapped only inside a memory window of the bridge, clear of every reserved
// range and of every BAR mapped now. Otherwise `problem` says why.
bool VirtualPciBus::placement_ok(const FunctionState& f, uint8_t index, FixedBuffer<160>& problem) const {
  const BarState& bar = f.bars[index];
  const uint64_t guest = bar.guest;
  if (!inside(guest, bar.size, windows_.mmio32) && !inside(guest, bar.size, windows_.mmio64)) {
    format(problem, "outside the memory windows");
    return false;
  }
  if (bar.host % guest_page != 0) {  // the host allocator pages every memory BAR; never expected
    format(problem, "its host address {} is not page-aligned", hex(bar.host));
    return false;
  }
  for (size_t i = 0; i < reserved_count_; ++i) {
    if (!overlaps(guest, bar.size, reserved_[i].range)) continue;
    format(problem, "overlaps the {} at {} size {}", reserved_[i].name, hex(reserved_[i].range.base),
           hex(reserved_[i].range.size));
    return false;
  }
  for (size_t i = 0; i < function_count_; ++i) {
    const FunctionState& other = functions_[i];
    for (uint8_t b = 0; b < bar_slots; ++b) {
      const BarState& mapped = other.bars[b];
      if (!mapped.mapped || (&other == &f && b == index)) continue;
      if (!overlaps(guest, bar.size, {mapped.mapped_guest, mapped.size})) continue;
      format(problem, "overlaps bar {} of 00:{}.0", b, plain_hex(other.slot, 2));
      return false;
    }
  }
  return true;
}

// Rebuilds the lists the I/O window and the trapped ranges are looked up in: only BARs
// that decode now, so an access never scans every function.
void VirtualPciBus::refresh_decoders() {
  io_decoder_count_ = 0;
  trap_decoder_count_ = 0;
  for (size_t i = 0; i < function_count_; ++i) {
    const FunctionState& f = functions_[i];
    const bool io_on = (f.guest_command & reg::command_io) != 0;
    for (uint8_t b = 0; b < bar_slots; ++b) {
      const BarState& bar = f.bars[b];
      if (bar.kind == BarKind::io && io_on) io_decoders_[io_decoder_count_++] = {bar.guest, bar.size, bar.host};
      if (bar.mapped && bar.trap_handler != nullptr) {
        trap_decoders_[trap_decoder_count_++] = {bar.mapped_guest + bar.trap_first, bar.mapped_guest + bar.trap_end,
                                                 bar.mapped_guest, b, bar.trap_handler};
      }
    }
  }
}

ReadResult VirtualPciBus::io_read(uint64_t offset, uint8_t size) {
  if (!naturally_aligned(offset, size)) return {};
  for (size_t i = 0; i < io_decoder_count_; ++i) {
    const IoDecoder& d = io_decoders_[i];
    if (offset < d.first || offset - d.first >= d.size || size > d.size - (offset - d.first)) continue;
    return {true, host_->io_read(d.host + (offset - d.first), width_of(size)) & value_mask(size)};
  }
  return {true, value_mask(size)};  // nothing decodes there: a master abort reads all ones
}

bool VirtualPciBus::io_write(uint64_t offset, uint8_t size, uint32_t value) {
  if (!naturally_aligned(offset, size)) return false;
  for (size_t i = 0; i < io_decoder_count_; ++i) {
    const IoDecoder& d = io_decoders_[i];
    if (offset < d.first || offset - d.first >= d.size || size > d.size - (offset - d.first)) continue;
    host_->io_write(d.host + (offset - d.first), width_of(size), value & value_mask(size));
    return true;
  }
  return true;
}

ReadResult VirtualPciBus::trapped_read(uint64_t guest_address, uint8_t size) {
  if (!naturally_aligned(guest_address, size)) return {};
  for (size_t i = 0; i < trap_decoder_count_; ++i) {
    const TrapDecoder& d = trap_decoders_[i];
    if (guest_address < d.first || guest_address >= d.end) continue;
    return {true, d.handler->read_trapped(d.bar, guest_address - d.bar_base, width_of(size)) & value_mask(size)};
  }
  return {};
}

bool VirtualPciBus::trapped_write(uint64_t guest_address, uint8_t size, uint32_t value) {
  if (!naturally_aligned(guest_address, size)) return false;
  for (size_t i = 0; i < trap_decoder_count_; ++i) {
    const TrapDecoder& d = trap_decoders_[i];
    if (guest_address < d.first || guest_address >= d.end) continue;
    d.handler->write_trapped(d.bar, guest_address - d.bar_base, width_of(size), value & value_mask(size));
    return true;
  }
  return false;
}

bool VirtualPciBus::trap_bar_range(uint8_t slot, uint8_t bar_index, uint64_t offset, uint64_t size,
                                   CapabilityHandler& handler) {
  FunctionState* f = function_in_slot(slot);
  if (f == nullptr || bar_index >= bar_slots) return false;
  BarState& bar = f->bars[bar_index];
  if (!is_memory(bar.kind) || bar.mapped || bar.trap_handler != nullptr) return false;
  if (size == 0 || offset >= bar.size || size > bar.size - offset) return false;
  bar.trap_first = align_down(offset, guest_page);
  const uint64_t end = align_down(offset + size + guest_page - 1, guest_page);
  bar.trap_end = end < bar.size ? end : bar.size;
  bar.trap_handler = &handler;
  return true;
}

namespace {

// Appends what stage 2 maps of one BAR to `out` (as far as `capacity` allows) and counts it.
size_t append_mapped_pieces(MappedRange base, uint64_t trap_first, uint64_t trap_end, MappedRange* out,
                            size_t capacity, size_t count) {
  Piece pieces[2];
  const size_t piece_count = bar_pieces(base.size, trap_first, trap_end, pieces);
  for (size_t p = 0; p < piece_count; ++p, ++count) {
    if (count >= capacity) continue;
    out[count] = {base.slot, base.bar, base.guest + pieces[p].offset, base.host + pieces[p].offset, pieces[p].size};
  }
  return count;
}

}  // namespace

size_t VirtualPciBus::mapped_ranges(MappedRange* out, size_t capacity) const {
  size_t count = 0;
  for (uint8_t slot = 0; slot < bus_slots; ++slot) {
    if (slot_entry_[slot] == 0) continue;
    const FunctionState& f = functions_[slot_entry_[slot] - 1];
    for (uint8_t b = 0; b < bar_slots; ++b) {
      const BarState& bar = f.bars[b];
      if (!bar.mapped) continue;
      count = append_mapped_pieces({slot, b, bar.mapped_guest, bar.host, bar.size}, bar.trap_first, bar.trap_end, out,
                                   capacity, count);
    }
  }
  return count;
}

}  // namespace bulkhead::pci::vpci
