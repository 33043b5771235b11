// The virtual PCI bus as a bare-metal driver finds it (tests/README.md):
//   pci-enumerate  the device tree's pci-host-ecam-generic node, bus 0 holding exactly the
//                  functions probe.pci=SS:VVVV:DDDD:CCCCCC,... names, header type 0, absent
//                  slots, functions and buses reading all ones, writes to them dropped;
//   pci-bars       every BAR sized (I/O, 32/64-bit, prefetchable), the ROM hidden, all
//                  placed in the windows and decode on;
//   pci-registers  a known register of each device through its BAR and the I/O window;
//   pci-move       BARs moved while decoding: the register at the new address, an external
//                  abort at the old one; a BAR moved onto another one stays unmapped;
//   pci-decode     memory decode off: an external abort at the BAR; on again: it answers;
//   pci-power-on   every function as after a reset: command, BARs and Interrupt Line 0,
//                  and nothing mapped where pci-bars will put the first BAR (run before
//                  it, in a partition that restarts: the previous boot's state is gone).
#include "console.hpp"
#include "pci.hpp"
#include "qemu_devices.hpp"
#include "tests.hpp"

namespace probe {
namespace {

using pci::Bar;
using pci::BarKind;
using pci::Function;

void put_hex_digits(uint64_t value, uint32_t digits) {
  const char hex[] = "0123456789abcdef";
  for (uint32_t i = digits; i > 0; --i) put(hex[(value >> (4 * (i - 1))) & 0xf]);
}

bool parse_hex(Text text, uint64_t& value) {
  char buffer[20] = {'0', 'x'};
  if (text.empty() || text.length > 16) return false;
  for (uint32_t i = 0; i < text.length; ++i) buffer[2 + i] = text.data[i];
  return parse_number({buffer, text.length + 2}, value);
}

struct Expected {
  uint8_t slot;
  uint16_t vendor;
  uint16_t device;
  uint32_t class_code;
};

// probe.pci=SS:VVVV:DDDD:CCCCCC,... (hex, as lspci writes them).
uint32_t expected_functions(Expected (&out)[pci::Bus::max_functions], bool& ok) {
  Text list = bootarg(settings().guest.bootargs, "probe.pci");
  uint32_t count = 0;
  ok = !list.empty();
  while (!list.empty() && count < pci::Bus::max_functions) {
    Text item = next_item(list, ',');
    uint64_t fields[4] = {};
    for (uint64_t& field : fields) ok = parse_hex(next_item(item, ':'), field) && ok;
    out[count++] = {static_cast<uint8_t>(fields[0]), static_cast<uint16_t>(fields[1]), static_cast<uint16_t>(fields[2]),
                    static_cast<uint32_t>(fields[3])};
  }
  return count;
}

void put_ids(const Function& f) {
  pci::put_vbdf(f.slot);
  put(' ');
  put_hex_digits(f.vendor, 4);
  put(':');
  put_hex_digits(f.device, 4);
}

void put_function(const Function& f) {
  pci::put_vbdf(f.slot);
  put(' ');
  put_hex_digits(f.vendor, 4);
  put(':');
  put_hex_digits(f.device, 4);
  put_text(" class ");
  put_hex_digits(f.class_code, 6);
}

bool check_device_tree() {
  const PciHostInfo& h = pci::host();
  if (!h.found) {
    fail("no pci-host-ecam-generic node at the root of the device tree");
    return false;
  }
  if (!expect_hex("bus-range first", h.bus_first, 0) || !expect_hex("bus-range last", h.bus_last, 0) ||
      !expect_signed("linux,pci-domain", h.domain, 0) || !expect_hex("dma-coherent", h.dma_coherent ? 1 : 0, 1) ||
      !expect_hex("I/O window present", h.io.present ? 1 : 0, 1) ||
      !expect_hex("I/O window: port 0 first", h.io.pci, 0) ||
      !expect_hex("32-bit window present", h.mem32.present ? 1 : 0, 1) ||
      !expect_hex("32-bit window: bus = CPU address", h.mem32.pci, h.mem32.cpu) ||
      !expect_hex("64-bit window present", h.mem64.present ? 1 : 0, 1) ||
      !expect_hex("64-bit window prefetchable", h.mem64.prefetchable ? 1 : 0, 1) ||
      !expect_hex("64-bit window: bus = CPU address", h.mem64.pci, h.mem64.cpu) ||
      !expect_hex("interrupt-map in 10-cell entries", h.intx_malformed ? 1 : 0, 0)) {
    return false;
  }
  // Two lines: a console line holds at most 200 bytes.
  begin_pass();
  put_text("dt ecam ");
  put_hex(h.ecam_base);
  put('+');
  put_hex(h.ecam_size);
  put_text(" bus-range 0-0 domain 0 io ");
  put_hex(h.io.cpu);
  put('+');
  put_hex(h.io.size);
  put_text(" mem32 ");
  put_hex(h.mem32.cpu);
  put('+');
  put_hex(h.mem32.size);
  put_text(" mem64-pref ");
  put_hex(h.mem64.cpu);
  put('+');
  put_hex(h.mem64.size);
  put_text(" dma-coherent");
  end_line();
  begin_pass();
  put_text("dt intx");
  if (h.intx_count == 0) put_text(" none");
  for (uint32_t i = 0; i < h.intx_count; ++i) {
    put(' ');
    pci::put_vbdf(h.intx[i].slot);
    put(' ');
    put(static_cast<char>('A' + h.intx[i].pin - 1));
    put_text(" spi ");
    put_decimal(h.intx[i].spi);
  }
  end_line();
  return true;
}

// One dword of an absent slot or function, which must read all ones.
bool absent_word(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset) {
  const uint32_t word = read32(pci::config_address(bus, slot, function, offset));
  if (word == pci::absent) return true;
  begin_fail();
  put_text("absent ");
  put_hex(bus);
  put(':');
  pci::put_vbdf(slot);
  put_text(" function ");
  put_decimal(function);
  put_text(" offset ");
  put_hex(offset);
  put_text(" read ");
  put_hex(word);
  put_text(" expected 0xffffffff");
  end_line();
  return false;
}

// An absent slot or function: every width reads all ones, and a write changes nothing.
bool check_absent(uint8_t bus, uint8_t slot, uint8_t function) {
  const uint64_t at = pci::config_address(bus, slot, function, 0);
  write32(at + pci::reg::command, pci::command_memory | pci::command_io);
  return absent_word(bus, slot, function, pci::reg::vendor_device) &&
         absent_word(bus, slot, function, pci::reg::command) &&
         absent_word(bus, slot, function, pci::reg::class_revision) &&
         absent_word(bus, slot, function, pci::reg::bar0) &&
         absent_word(bus, slot, function, pci::reg::interrupt_line) &&
         expect_hex("absent function: 16-bit read", read16(at + 2), 0xffff) &&
         expect_hex("absent function: 8-bit read", read8(at + pci::reg::header_type), 0xff);
}

// The known register of each device type, through its BAR (and the I/O window).
bool check_edu(const Function& f, uint64_t base) {
  if (!expect_hex("edu identification", read32(base + edu::identification), edu::identification_value)) return false;
  const uint32_t patterns[] = {0x12345678u, 0xa5a55a5au};
  for (const uint32_t x : patterns) {
    write32(base + edu::liveness, x);
    if (!expect_hex("edu liveness (complement)", read32(base + edu::liveness), ~x)) return false;
  }
  begin_pass();
  put_ids(f);
  put_text(" edu id ");
  put_hex(edu::identification_value);
  put_text(" at ");
  put_hex(base);
  put_text(", liveness complement ok");
  end_line();
  return true;
}

// One of pci-testdev's tests through `base` (memory or I/O): select test `test`, read its
// header, one matching write at its offset counts once.
bool check_testdev_area(const char* what, uint64_t base, uint8_t test, uint32_t expected_name,
                        uint32_t counted_offset) {
  write8(base + testdev::select, test);
  if (!expect_hex(what, read8(base + testdev::width), 1)) return false;
  if (!expect_hex(what, read32(base + testdev::name), expected_name)) return false;
  if (!expect_hex(what, read32(base + testdev::offset), counted_offset)) return false;
  if (!expect_hex(what, read8(base + testdev::data), testdev::match)) return false;
  if (!expect_hex(what, read32(base + testdev::count), 0)) return false;
  write8(base + counted_offset, testdev::match);
  return expect_hex(what, read32(base + testdev::count), 1);
}

bool check_testdev(const Function& f) {
  if (f.bars[0].kind != BarKind::mem32 || f.bars[1].kind != BarKind::io) {
    fail("pci-testdev: expected a memory BAR 0 and an I/O BAR 1");
    return false;
  }
  const uint64_t memory = pci::bar_address(f, 0);
  const uint64_t io = pci::bar_address(f, 1);
  if (!check_testdev_area("pci-testdev memory test area", memory, 0, testdev::name_mmio, testdev::mmio_offset) ||
      !check_testdev_area("pci-testdev I/O test area", io, 0, testdev::name_port, testdev::port_offset)) {
    return false;
  }
  begin_pass();
  put_ids(f);
  put_text(" pci-testdev test areas: mmio at ");
  put_hex(memory);
  put_text(", port ");
  put_hex(f.bars[1].address);
  put_text(" at ");
  put_hex(io);
  // membar=: a 64-bit prefetchable BAR nothing backs; QEMU's host bridge answers an
  // unclaimed read with all ones. No abort: stage 2 maps it.
  if (f.bars[2].kind == BarKind::mem64) {
    expect_aborts(true);
    const uint32_t value = probe_read32(pci::bar_address(f, 2));
    expect_aborts(false);
    if (!expect_hex("aborts reading the 64-bit BAR", aborts().count, 0) ||
        !expect_hex("64-bit BAR (unbacked) read", value, 0xffffffffu)) {
      return false;
    }
    put_text(", 64-bit bar 2 at ");
    put_hex(pci::bar_address(f, 2));
    put_text(" reads all ones");
  }
  end_line();
  return true;
}

bool check_e1000e(const Function& f) {
  uint64_t mac = 0;
  Text text = bootarg(settings().guest.bootargs, "probe.pci-mac");
  if (!parse_hex(text, mac)) {
    fail("e1000e: no probe.pci-mac=MAC (12 hex digits) in the bootargs");
    return false;
  }
  // RAL holds the first four bytes of the MAC, RAH the last two and the valid bit.
  uint32_t low = 0;
  for (int i = 0; i < 4; ++i) low |= static_cast<uint32_t>((mac >> (40 - 8 * i)) & 0xff) << (8 * i);
  const uint32_t high = static_cast<uint32_t>((mac >> 8) & 0xff) | static_cast<uint32_t>(mac & 0xff) << 8 | e1000e::rah_valid;
  const uint64_t base = pci::bar_address(f, 0);
  if (!expect_hex("e1000e RAL0", read32(base + e1000e::ral0), low) ||
      !expect_hex("e1000e RAH0", read32(base + e1000e::rah0), high)) {
    return false;
  }
  uint8_t io_bar = pci::bar_slots;
  for (uint8_t b = 0; b < pci::bar_slots; ++b) {
    if (f.bars[b].kind == BarKind::io) io_bar = b;
  }
  if (io_bar == pci::bar_slots) {
    fail("e1000e: no I/O BAR");
    return false;
  }
  const uint64_t io = pci::bar_address(f, io_bar);
  write32(io + e1000e::ioaddr, static_cast<uint32_t>(e1000e::ral0));
  if (!expect_hex("e1000e IOADDR", read32(io + e1000e::ioaddr), e1000e::ral0) ||
      !expect_hex("e1000e RAL0 through IODATA", read32(io + e1000e::iodata), low)) {
    return false;
  }
  begin_pass();
  put_ids(f);
  put_text(" e1000e mac ");
  put_hex_digits(mac, 12);
  put_text(" in RAL0/RAH0 at ");
  put_hex(base);
  put_text(" and through IOADDR/IODATA at port ");
  put_hex(f.bars[io_bar].address);
  end_line();
  return true;
}

// Moves memory BAR `bar` of `f` to `to` while decode is on; false after a FAIL line.
bool move_bar(Function& f, uint8_t bar, uint64_t to) {
  pci::write_bar(f, bar, to);
  f.bars[bar].address = to;
  const uint16_t offset = static_cast<uint16_t>(pci::reg::bar0 + 4 * bar);
  uint64_t placed = pci::read32(f.slot, offset) & ~uint64_t{pci::bar_memory_flags};
  if (f.bars[bar].kind == BarKind::mem64) placed |= uint64_t{pci::read32(f.slot, static_cast<uint16_t>(offset + 4))} << 32;
  return expect_hex("BAR register after the move", placed, to);
}

// A read at `address` that must end in an external abort.
bool expect_read_aborts(const char* what, uint64_t address) {
  expect_aborts(true);
  const uint32_t value = probe_read32(address);
  expect_aborts(false);
  // A synchronous external abort (DFSC 0x10) at that address; on_sync only records data
  // aborts taken at EL1 (EC 0x25).
  if (aborts().count == 1 && aborts().far == address && (aborts().esr & 0x3f) == 0x10) return true;
  begin_fail();
  put_text(what);
  put_text(" at ");
  put_hex(address);
  put_text(": expected an external abort, got aborts ");
  put_decimal(aborts().count);
  put_text(" ESR ");
  put_hex(aborts().esr);
  put_text(" value ");
  put_hex(value);
  end_line();
  return false;
}

// The highest address in `window` a BAR of `size` can take.
uint64_t window_top(const PciWindow& window, uint64_t size) { return (window.cpu + window.size - size) & ~(size - 1); }

}  // namespace

void test_pci_enumerate() {
  if (!check_device_tree()) return;
  Expected expected[pci::Bus::max_functions];
  bool ok = false;
  const uint32_t expected_count = expected_functions(expected, ok);
  if (!ok) {
    fail("no valid probe.pci=SS:VVVV:DDDD:CCCCCC,... in the bootargs");
    return;
  }
  const pci::Bus& bus = pci::scan();
  for (uint32_t i = 0; i < bus.count; ++i) {
    const Function& f = bus.functions[i];
    bool wanted = false;
    for (uint32_t e = 0; e < expected_count; ++e) {
      wanted = wanted || (expected[e].slot == f.slot && expected[e].vendor == f.vendor &&
                          expected[e].device == f.device && expected[e].class_code == f.class_code);
    }
    if (!wanted) {
      begin_fail();
      put_text("unexpected function ");
      put_function(f);
      end_line();
      return;
    }
    const uint8_t header = pci::read8(f.slot, pci::reg::header_type);
    if (!expect_hex("header type (type 0, single function)", header, 0)) return;
    for (uint8_t function = 1; function < 8; ++function) {
      if (!check_absent(0, f.slot, function)) return;
    }
    begin_pass();
    put_function(f);
    put_text(" header 00, functions 1-7 absent");
    end_line();
  }
  if (!expect_hex("functions found on bus 0", bus.count, expected_count)) return;
  for (uint8_t slot = 0; slot < pci::bus_slots; ++slot) {
    bool present = false;
    for (uint32_t i = 0; i < bus.count; ++i) present = present || bus.functions[i].slot == slot;
    if (!present && !check_absent(0, slot, 0)) return;
  }
  // bus-range is 0-0; the ECAM region reserves more buses, and they are empty.
  if (pci::host().ecam_size > (uint64_t{1} << 20) && !check_absent(1, 0, 0)) return;
  begin_pass();
  put_text("bus 0 holds exactly ");
  put_decimal(bus.count);
  put_text(" functions; ");
  put_decimal(bus.absent_slots);
  put_text(" absent slots and bus 1 read all ones at every width, writes dropped");
  end_line();
}

void test_pci_bars() {
  pci::Bus& bus = pci::scan();
  if (bus.count == 0) {
    fail("no function on bus 0");
    return;
  }
  for (uint32_t i = 0; i < bus.count; ++i) {
    Function& f = bus.functions[i];
    if (!expect_hex("command before sizing (power-on)", pci::read16(f.slot, pci::reg::command), 0)) return;
    uint32_t before[pci::bar_slots];
    for (uint8_t b = 0; b < pci::bar_slots; ++b) before[b] = pci::read32(f.slot, pci::reg::bar0 + 4 * b);
    if (!pci::size_bars(f)) return;
    for (uint8_t b = 0; b < pci::bar_slots; ++b) {
      if (!expect_hex("BAR register after sizing (restored)", pci::read32(f.slot, pci::reg::bar0 + 4 * b), before[b])) {
        return;
      }
    }
    pci::write32(f.slot, pci::reg::rom, pci::rom_sizing);
    const uint32_t rom = pci::read32(f.slot, pci::reg::rom);
    if (!expect_hex("ROM BAR after writing all ones (hidden)", rom, 0)) return;
    begin_pass();
    pci::put_vbdf(f.slot);
    for (uint8_t b = 0; b < pci::bar_slots; ++b) {
      const Bar& bar = f.bars[b];
      if (bar.kind == BarKind::none) continue;
      put_text(" bar ");
      put_decimal(b);
      put(' ');
      put_text(pci::kind_name(bar.kind));
      if (bar.prefetchable) put_text(" pref");
      put_text(" size ");
      put_hex(bar.size);
    }
    put_text(" rom hidden");
    end_line();
  }
  if (!pci::place_all()) return;
  // One line per function: a console line holds at most 200 bytes.
  for (uint32_t i = 0; i < bus.count; ++i) {
    const Function& f = bus.functions[i];
    for (uint8_t b = 0; b < pci::bar_slots; ++b) {
      const Bar& bar = f.bars[b];
      if (bar.kind == BarKind::none) continue;
      const uint16_t offset = static_cast<uint16_t>(pci::reg::bar0 + 4 * b);
      const uint32_t flags = bar.kind == BarKind::io ? pci::bar_io_flags : pci::bar_memory_flags;
      uint64_t value = pci::read32(f.slot, offset);
      if (bar.kind == BarKind::mem64) value |= uint64_t{pci::read32(f.slot, static_cast<uint16_t>(offset + 4))} << 32;
      if (!expect_hex("BAR register after placement", value & ~uint64_t{flags}, bar.address)) return;
    }
    begin_pass();
    put_text("placed ");
    pci::put_vbdf(f.slot);
    for (uint8_t b = 0; b < pci::bar_slots; ++b) {
      if (f.bars[b].kind == BarKind::none) continue;
      put_text(" bar ");
      put_decimal(b);
      put(' ');
      put_hex(f.bars[b].address);
    }
    put_text("; decode on");
    end_line();
  }
}

void test_pci_registers() {
  if (!pci::place_all()) return;
  const pci::Bus& bus = pci::scan();
  for (uint32_t i = 0; i < bus.count; ++i) {
    const Function& f = bus.functions[i];
    if (f.vendor == edu::vendor && f.device == edu::device) {
      if (!check_edu(f, pci::bar_address(f, 0))) return;
    } else if (f.vendor == testdev::vendor && f.device == testdev::device) {
      if (!check_testdev(f)) return;
    } else if (f.vendor == e1000e::vendor && f.device == e1000e::device) {
      if (!check_e1000e(f)) return;
    } else {
      begin_note();
      put_function(f);
      put_text(" has no known register");
      end_line();
    }
  }
}

void test_pci_move() {
  if (!pci::place_all()) return;
  Function* edu = pci::find(edu::vendor, edu::device);
  if (edu == nullptr) {
    fail("no edu function to move");
    return;
  }
  // edu's BAR 0 to the top of the 32-bit window.
  const uint64_t old_edu = edu->bars[0].address;
  const uint64_t new_edu = window_top(pci::host().mem32, edu->bars[0].size);
  if (!move_bar(*edu, 0, new_edu)) return;
  if (!expect_hex("edu identification at the new address", read32(new_edu), edu::identification_value)) return;
  if (!expect_read_aborts("edu's old BAR address", old_edu)) return;
  begin_pass();
  pci::put_vbdf(edu->slot);
  put_text(" bar 0 moved ");
  put_hex(old_edu);
  put_text(" -> ");
  put_hex(new_edu);
  put_text(": id at the new address, external abort at the old");
  end_line();

  Function* testdev = pci::find(testdev::vendor, testdev::device);
  if (testdev == nullptr) return;
  // The 64-bit BAR: both halves of the register change.
  if (testdev->bars[2].kind == BarKind::mem64) {
    const uint64_t old_high = testdev->bars[2].address;
    const uint64_t new_high = window_top(pci::host().mem64, testdev->bars[2].size);
    if (!move_bar(*testdev, 2, new_high)) return;
    expect_aborts(true);
    const uint32_t value = probe_read32(new_high);
    expect_aborts(false);
    if (!expect_hex("aborts reading the moved 64-bit BAR", aborts().count, 0) ||
        !expect_hex("moved 64-bit BAR read", value, 0xffffffffu) ||
        !expect_read_aborts("the 64-bit BAR's old address", old_high)) {
      return;
    }
    begin_pass();
    pci::put_vbdf(testdev->slot);
    put_text(" bar 2 (64-bit) moved ");
    put_hex(old_high);
    put_text(" -> ");
    put_hex(new_high);
    put_text(": mapped at the new address, external abort at the old");
    end_line();
  }
  // A BAR moved onto another function's BAR stays unmapped: the address keeps answering
  // as edu, never as pci-testdev.
  const uint64_t own = testdev->bars[0].address;
  if (!move_bar(*testdev, 0, new_edu)) return;
  if (!expect_hex("edu identification under pci-testdev's overlapping BAR", read32(new_edu), edu::identification_value)) {
    return;
  }
  if (!move_bar(*testdev, 0, own)) return;
  write8(own + testdev::select, 0);
  if (!expect_hex("pci-testdev back at its own address", read32(own + testdev::name), testdev::name_mmio)) return;
  begin_pass();
  pci::put_vbdf(testdev->slot);
  put_text(" bar 0 moved onto ");
  pci::put_vbdf(edu->slot);
  put_text(" bar 0 at ");
  put_hex(new_edu);
  put_text(": left unmapped (edu answers), mapped again at ");
  put_hex(own);
  end_line();
}

void test_pci_decode() {
  if (!pci::place_all()) return;
  Function* edu = pci::find(edu::vendor, edu::device);
  if (edu == nullptr) {
    fail("no edu function");
    return;
  }
  const uint64_t base = edu->bars[0].address;
  const uint16_t command = pci::read16(edu->slot, pci::reg::command);
  pci::write16(edu->slot, pci::reg::command, static_cast<uint16_t>(command & ~pci::command_memory));
  if (!expect_read_aborts("edu with memory decode off", base)) return;
  pci::write16(edu->slot, pci::reg::command, command);
  if (!expect_hex("edu identification with decode on again", read32(base), edu::identification_value)) return;
  begin_pass();
  pci::put_vbdf(edu->slot);
  put_text(" memory decode off: external abort at ");
  put_hex(base);
  put_text("; on again: id read");
  end_line();
}

void test_pci_power_on() {
  const pci::Bus& bus = pci::scan();
  if (bus.count == 0) {
    fail("no function on bus 0");
    return;
  }
  for (uint32_t i = 0; i < bus.count; ++i) {
    const uint8_t slot = bus.functions[i].slot;
    if (!expect_hex("command at power-on", pci::read16(slot, pci::reg::command), 0) ||
        !expect_hex("Interrupt Line at power-on", pci::read8(slot, pci::reg::interrupt_line), 0)) {
      return;
    }
    for (uint8_t b = 0; b < pci::bar_slots; ++b) {
      const uint32_t value = pci::read32(slot, static_cast<uint16_t>(pci::reg::bar0 + 4 * b));
      const uint32_t flags = (value & pci::bar_io_space) != 0 ? pci::bar_io_flags : pci::bar_memory_flags;
      if (!expect_hex("BAR address at power-on", value & ~flags, 0)) return;
    }
  }
  const uint64_t first = pci::first_mem32_placement();
  if (!expect_read_aborts("where the first BAR goes, before it is placed", first)) return;
  // A value the next boot must not find again.
  pci::write8(bus.functions[0].slot, pci::reg::interrupt_line, 0x5a);
  begin_pass();
  put_decimal(bus.count);
  put_text(" functions at power-on (command, BARs, Interrupt Line 0); nothing mapped at ");
  put_hex(first);
  end_line();
}

}  // namespace probe
