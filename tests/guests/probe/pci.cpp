#include "pci.hpp"

#include "arch.hpp"
#include "console.hpp"
#include "tests.hpp"

namespace probe::pci {
namespace {

constexpr uint64_t ecam_bus_shift = 20;
constexpr uint64_t ecam_device_shift = 15;
constexpr uint64_t ecam_function_shift = 12;
// Where the probe's packing starts in each window: 16 MiB into the 32-bit window, 4 GiB
// into the 64-bit one, port 0x4000. QEMU's host allocator uses the bottom of the same
// windows, so no BAR lands where the host put it: a register read through a guest
// address proves the hypervisor translated it.
constexpr uint64_t mem32_start = 0x01000000;
constexpr uint64_t mem64_start = 0x100000000ull;
constexpr uint64_t io_start = 0x4000;

Bus the_bus;

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }

bool fail_bar(const Function& f, uint8_t bar, const char* what, uint64_t value) {
  begin_fail();
  put_vbdf(f.slot);
  put_text(" bar ");
  put_decimal(bar);
  put(' ');
  put_text(what);
  put(' ');
  put_hex(value);
  end_line();
  return false;
}

// probe.pci-place=SLOT:BAR@0xADDR: a fixed guest address (or port) for one BAR.
bool fixed_placement(uint8_t slot, uint8_t bar, uint64_t& address) {
  Text list = bootarg(settings().guest.bootargs, "probe.pci-place");
  while (!list.empty()) {
    Text item = next_item(list, ',');
    Text where = next_item(item, '@');
    const Text slot_text = next_item(where, ':');
    uint64_t s = 0;
    uint64_t b = 0;
    uint64_t a = 0;
    if (!parse_number(slot_text, s) || !parse_number(where, b) || !parse_number(item, a)) continue;
    if (s == slot && b == bar) {
      address = a;
      return true;
    }
  }
  return false;
}

struct Placement {
  Function* function;
  uint8_t bar;
};

}  // namespace

const PciHostInfo& host() { return settings().guest.pci; }

uint64_t config_address(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset) {
  return host().ecam_base + (uint64_t{bus} << ecam_bus_shift) + (uint64_t{slot} << ecam_device_shift) +
         (uint64_t{function} << ecam_function_shift) + offset;
}

uint32_t read32(uint8_t slot, uint16_t offset) { return probe::read32(config_address(0, slot, 0, offset)); }
uint16_t read16(uint8_t slot, uint16_t offset) { return probe::read16(config_address(0, slot, 0, offset)); }
uint8_t read8(uint8_t slot, uint16_t offset) { return probe::read8(config_address(0, slot, 0, offset)); }
void write32(uint8_t slot, uint16_t offset, uint32_t value) {
  probe::write32(config_address(0, slot, 0, offset), value);
}
void write16(uint8_t slot, uint16_t offset, uint16_t value) {
  probe::write16(config_address(0, slot, 0, offset), value);
}
void write8(uint8_t slot, uint16_t offset, uint8_t value) { probe::write8(config_address(0, slot, 0, offset), value); }

Bus& scan() {
  Bus& bus = the_bus;
  if (bus.scanned) return bus;
  bus.scanned = true;
  for (uint8_t slot = 0; slot < bus_slots; ++slot) {
    const uint32_t id = read32(slot, reg::vendor_device);
    if (id == absent) {
      ++bus.absent_slots;
      continue;
    }
    if (bus.count == Bus::max_functions) continue;
    Function& f = bus.functions[bus.count++];
    f.slot = slot;
    f.vendor = static_cast<uint16_t>(id);
    f.device = static_cast<uint16_t>(id >> 16);
    f.class_code = read32(slot, reg::class_revision) >> 8;
  }
  return bus;
}

Function* find(uint16_t vendor, uint16_t device) {
  Bus& bus = scan();
  for (uint32_t i = 0; i < bus.count; ++i) {
    if (bus.functions[i].vendor == vendor && bus.functions[i].device == device) return &bus.functions[i];
  }
  return nullptr;
}

bool size_bars(Function& f) {
  if (f.sized) return true;
  for (uint8_t i = 0; i < bar_slots; ++i) {
    const uint16_t offset = static_cast<uint16_t>(reg::bar0 + 4 * i);
    const uint32_t original = read32(f.slot, offset);
    write32(f.slot, offset, 0xffffffffu);
    const uint32_t probed = read32(f.slot, offset);
    write32(f.slot, offset, original);
    Bar& bar = f.bars[i];
    bar = Bar();
    if (probed == 0) continue;
    if ((probed & bar_io_space) != 0) {
      const uint32_t mask = probed & ~bar_io_flags;
      bar.kind = BarKind::io;
      bar.size = mask & (0u - mask);
      if ((original & bar_io_flags) != (probed & bar_io_flags)) return fail_bar(f, i, "type bits changed", probed);
      continue;
    }
    if ((original & bar_memory_flags) != (probed & bar_memory_flags)) return fail_bar(f, i, "type bits changed", probed);
    bar.prefetchable = (probed & bar_prefetchable) != 0;
    uint64_t mask = probed & ~bar_memory_flags;
    if ((probed & bar_type_mask) == bar_type_64bit) {
      if (i + 1 == bar_slots) return fail_bar(f, i, "64-bit in the last slot", probed);
      const uint16_t upper = static_cast<uint16_t>(offset + 4);
      const uint32_t upper_original = read32(f.slot, upper);
      write32(f.slot, upper, 0xffffffffu);
      const uint32_t upper_probed = read32(f.slot, upper);
      write32(f.slot, upper, upper_original);
      mask |= uint64_t{upper_probed} << 32;
      bar.kind = BarKind::mem64;
      bar.size = mask & (0 - mask);
      ++i;  // the upper half
    } else if ((probed & bar_type_mask) == 0) {
      bar.kind = BarKind::mem32;
      bar.size = mask & (0 - mask);
    } else {
      return fail_bar(f, i, "reserved memory type", probed);
    }
    if (bar.size == 0) return fail_bar(f, i, "no writable address bit", probed);
  }
  f.sized = true;
  return true;
}

uint64_t first_mem32_placement() { return host().mem32.cpu + mem32_start; }

uint64_t bar_address(const Function& f, uint8_t bar) {
  const Bar& b = f.bars[bar];
  if (b.kind == BarKind::io) return host().io.cpu + (b.address - host().io.pci);
  return b.address;
}

void write_bar(const Function& f, uint8_t bar, uint64_t address) {
  const uint16_t offset = static_cast<uint16_t>(reg::bar0 + 4 * bar);
  write32(f.slot, offset, static_cast<uint32_t>(address));
  if (f.bars[bar].kind == BarKind::mem64) write32(f.slot, static_cast<uint16_t>(offset + 4), static_cast<uint32_t>(address >> 32));
}

bool place_all() {
  Bus& bus = scan();
  if (bus.placed) return true;
  const PciHostInfo& h = host();
  if (!h.mem32.present || !h.mem64.present || !h.io.present) {
    fail("the device tree's PCI node lacks a 32-bit, 64-bit or I/O window");
    return false;
  }
  Placement pending[Bus::max_functions * bar_slots];
  uint32_t count = 0;
  for (uint32_t i = 0; i < bus.count; ++i) {
    Function& f = bus.functions[i];
    if (!size_bars(f)) return false;
    for (uint8_t b = 0; b < bar_slots; ++b) {
      if (f.bars[b].kind == BarKind::none) continue;
      if (fixed_placement(f.slot, b, f.bars[b].address)) continue;
      // Largest first: with power-of-two sizes the packing leaves no gaps.
      uint32_t at = count++;
      for (; at > 0 && pending[at - 1].function->bars[pending[at - 1].bar].size < f.bars[b].size; --at) {
        pending[at] = pending[at - 1];
      }
      pending[at] = {&f, b};
    }
  }
  uint64_t mem32 = h.mem32.cpu + mem32_start;
  uint64_t mem64 = h.mem64.cpu + mem64_start;
  uint64_t io = io_start;
  for (uint32_t i = 0; i < count; ++i) {
    Bar& bar = pending[i].function->bars[pending[i].bar];
    const bool high = bar.kind == BarKind::mem64 && bar.prefetchable;
    uint64_t& cursor = bar.kind == BarKind::io ? io : (high ? mem64 : mem32);
    const PciWindow& window = bar.kind == BarKind::io ? h.io : (high ? h.mem64 : h.mem32);
    bar.address = align_up(cursor, bar.size);
    cursor = bar.address + bar.size;
    const uint64_t first = bar.kind == BarKind::io ? window.pci : window.cpu;
    if (cursor > first + window.size) return fail_bar(*pending[i].function, pending[i].bar, "does not fit; size", bar.size);
  }
  for (uint32_t i = 0; i < bus.count; ++i) {
    const Function& f = bus.functions[i];
    uint16_t command = read16(f.slot, reg::command);
    for (uint8_t b = 0; b < bar_slots; ++b) {
      if (f.bars[b].kind == BarKind::none) continue;
      write_bar(f, b, f.bars[b].address);
      command |= f.bars[b].kind == BarKind::io ? command_io : command_memory;
    }
    write16(f.slot, reg::command, command);
  }
  bus.placed = true;
  return true;
}

const PciIntxRoute* intx_route(uint8_t slot, uint8_t pin) {
  const PciHostInfo& h = host();
  for (uint32_t i = 0; i < h.intx_count; ++i) {
    if (h.intx[i].slot == slot && h.intx[i].pin == pin) return &h.intx[i];
  }
  return nullptr;
}

const char* kind_name(BarKind kind) {
  switch (kind) {
    case BarKind::none: return "none";
    case BarKind::io: return "io";
    case BarKind::mem32: return "mem32";
    case BarKind::mem64: return "mem64";
  }
  return "?";
}

void put_vbdf(uint8_t slot) {
  put_text("00:");
  const char digits[] = "0123456789abcdef";
  put(digits[(slot >> 4) & 0xf]);
  put(digits[slot & 0xf]);
  put_text(".0");
}

}  // namespace probe::pci
