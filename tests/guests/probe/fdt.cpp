#include "fdt.hpp"

#include <cstddef>

namespace probe {
namespace {

constexpr uint32_t fdt_magic = 0xd00dfeed;
constexpr uint32_t token_begin_node = 1;
constexpr uint32_t token_end_node = 2;
constexpr uint32_t token_property = 3;
constexpr uint32_t token_nop = 4;
constexpr uint32_t token_end = 9;
constexpr uint32_t max_dtb_size = 2u << 20;  // the guest DT area is 2 MiB
constexpr int max_depth = 16;

// Byte loads: DTB fields are big-endian and only 4-byte aligned.
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t read_cells(const uint8_t* p, uint32_t cells) {
  uint64_t value = 0;
  for (uint32_t i = 0; i < cells; ++i) {
    value <<= 32;
    value |= be32(p + 4 * static_cast<size_t>(i));
  }
  return value;
}

bool same(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool starts_with(const char* text, const char* prefix) {
  for (; *prefix != '\0'; ++prefix, ++text) {
    if (*text != *prefix) return false;
  }
  return true;
}

uint32_t length_of(const char* text) {
  uint32_t n = 0;
  while (text[n] != '\0') ++n;
  return n;
}

// Whether a string-list property holds `wanted`.
bool lists(const uint8_t* value, uint32_t length, const char* wanted) {
  if (length == 0 || value[length - 1] != '\0') return false;
  uint32_t at = 0;
  while (at < length) {
    const char* item = reinterpret_cast<const char*>(value + at);
    if (same(item, wanted)) return true;
    at += length_of(item) + 1;
  }
  return false;
}

constexpr const char* pci_host_compatible = "pci-host-ecam-generic";
constexpr uint32_t pci_child_address_cells = 3;  // phys.hi, phys.mid, phys.lo
constexpr uint32_t pci_child_size_cells = 2;
constexpr uint32_t pci_space_shift = 24;  // phys.hi [25:24]: 1 I/O, 2 32-bit memory, 3 64-bit memory
constexpr uint32_t pci_space_io = 1;
constexpr uint32_t pci_space_mem32 = 2;
constexpr uint32_t pci_space_mem64 = 3;
constexpr uint32_t pci_prefetchable = 1u << 30;
constexpr uint32_t pci_device_shift = 11;  // phys.hi [15:11]
// interrupt-map entries as the hypervisor writes them: child unit address (3) and pin (1),
// the GIC's phandle (1), its unit address (#address-cells 2) and specifier (3 cells).
constexpr uint32_t intx_entry_cells = 10;

// A root node's properties, decoded when it ends if its compatible names the ECAM host.
struct PciCandidate {
  bool compatible = false;
  PciHostInfo info;
  const uint8_t* reg = nullptr;
  uint32_t reg_length = 0;
  const uint8_t* ranges = nullptr;
  uint32_t ranges_length = 0;
  const uint8_t* map = nullptr;
  uint32_t map_length = 0;
};

void decode_pci_host(PciCandidate& c, uint32_t address_cells, uint32_t size_cells) {
  PciHostInfo& info = c.info;
  if (c.reg != nullptr && c.reg_length >= 4 * (address_cells + size_cells)) {
    info.ecam_base = read_cells(c.reg, address_cells);
    info.ecam_size = read_cells(c.reg + 4 * static_cast<size_t>(address_cells), size_cells);
  }
  const uint32_t range_cells = pci_child_address_cells + address_cells + pci_child_size_cells;
  for (uint32_t at = 0; c.ranges != nullptr && at + 4 * range_cells <= c.ranges_length; at += 4 * range_cells) {
    const uint8_t* entry = c.ranges + at;
    const uint32_t hi = be32(entry);
    PciWindow window;
    window.present = true;
    window.prefetchable = (hi & pci_prefetchable) != 0;
    window.pci = read_cells(entry + 4, 2);
    window.cpu = read_cells(entry + 12, address_cells);
    window.size = read_cells(entry + 12 + 4 * static_cast<size_t>(address_cells), pci_child_size_cells);
    const uint32_t space = (hi >> pci_space_shift) & 3;
    if (space == pci_space_io && !info.io.present) info.io = window;
    if (space == pci_space_mem32 && !info.mem32.present) info.mem32 = window;
    if (space == pci_space_mem64 && !info.mem64.present) info.mem64 = window;
  }
  if (c.map != nullptr) {
    info.intx_malformed = c.map_length % (4 * intx_entry_cells) != 0;
    for (uint32_t at = 0; at + 4 * intx_entry_cells <= c.map_length && info.intx_count < PciHostInfo::max_routes;
         at += 4 * intx_entry_cells) {
      const uint8_t* entry = c.map + at;
      PciIntxRoute& route = info.intx[info.intx_count++];
      route.slot = static_cast<uint8_t>((be32(entry) >> pci_device_shift) & 0x1f);
      route.pin = static_cast<uint8_t>(be32(entry + 12));
      route.spi = be32(entry + 32);
      route.flags = be32(entry + 36);
    }
  }
  info.found = true;
}

}  // namespace

namespace {

// The state of one walk over the guest DT's structure block.
struct GuestDtWalk {
  GuestInfo info;
  const char* names[max_depth] = {};
  int depth = 0;
  uint32_t address_cells = 2;
  uint32_t size_cells = 1;
  bool memory_found = false;
  PciCandidate pci;

  void begin_node(const char* name) {
    if (depth < max_depth) names[depth] = name;
    ++depth;
    if (depth == 3 && same(names[1], "cpus") && starts_with(name, "cpu@")) ++info.vcpu_count;
    if (depth == 2) pci = PciCandidate();
  }

  void end_node() {
    if (depth == 2 && pci.compatible && !info.pci.found) {
      decode_pci_host(pci, address_cells, size_cells);
      info.pci = pci.info;
    }
    --depth;
  }

  void root_property(const char* property, const uint8_t* value, uint32_t length) {
    if (same(property, "#address-cells") && length == 4) address_cells = be32(value);
    if (same(property, "#size-cells") && length == 4) size_cells = be32(value);
  }

  void top_node_property(const char* property, const uint8_t* value, uint32_t length) {
    if (same(names[1], "chosen") && same(property, "bootargs") && length > 0 && value[length - 1] == '\0') {
      info.bootargs = reinterpret_cast<const char*>(value);
    }
    if (starts_with(names[1], "memory") && same(property, "reg") && !memory_found && address_cells <= 2 &&
        size_cells <= 2 && length >= 4 * (address_cells + size_cells)) {
      info.ram_base = read_cells(value, address_cells);
      info.ram_size = read_cells(value + 4 * static_cast<size_t>(address_cells), size_cells);
      memory_found = true;
    }
    pci_property(property, value, length);
  }

  // A property of a top-level node that may be the PCI host bridge.
  void pci_property(const char* property, const uint8_t* value, uint32_t length) {
    if (same(property, "compatible") && lists(value, length, pci_host_compatible)) pci.compatible = true;
    if (same(property, "reg")) {
      pci.reg = value;
      pci.reg_length = length;
    }
    if (same(property, "ranges")) {
      pci.ranges = value;
      pci.ranges_length = length;
    }
    if (same(property, "interrupt-map")) {
      pci.map = value;
      pci.map_length = length;
    }
    if (same(property, "bus-range") && length == 8) {
      pci.info.bus_first = be32(value);
      pci.info.bus_last = be32(value + 4);
    }
    if (same(property, "linux,pci-domain") && length == 4) pci.info.domain = be32(value);
    if (same(property, "dma-coherent")) pci.info.dma_coherent = true;
  }
};

}  // namespace

GuestInfo read_guest_dt(uint64_t address) {
  GuestDtWalk walk;
  const auto* blob = reinterpret_cast<const uint8_t*>(address);
  if (address == 0 || (address & 7) != 0 || be32(blob) != fdt_magic) return walk.info;
  const uint32_t total = be32(blob + 4);
  const uint32_t struct_offset = be32(blob + 8);
  const uint32_t strings_offset = be32(blob + 12);
  if (total > max_dtb_size || struct_offset >= total || strings_offset >= total) return walk.info;
  const uint8_t* p = blob + struct_offset;
  const uint8_t* const end = blob + total;
  while (p + 4 <= end) {
    const uint32_t token = be32(p);
    p += 4;
    if (token == token_begin_node) {
      const char* name = reinterpret_cast<const char*>(p);
      p += (length_of(name) + 4) & ~3u;
      walk.begin_node(name);
    } else if (token == token_end_node) {
      if (walk.depth == 0) return walk.info;
      walk.end_node();
    } else if (token == token_property) {
      if (p + 8 > end) return walk.info;
      const uint32_t length = be32(p);
      const char* property = reinterpret_cast<const char*>(blob + strings_offset + be32(p + 4));
      const uint8_t* value = p + 8;
      p = value + ((length + 3) & ~3u);
      if (p > end) return walk.info;
      if (walk.depth == 1) walk.root_property(property, value, length);
      if (walk.depth == 2) walk.top_node_property(property, value, length);
    } else if (token == token_end) {
      walk.info.valid = walk.depth == 0;
      return walk.info;
    } else if (token != token_nop) {
      return walk.info;
    }
  }
  return walk.info;
}

bool Text::equals(const char* other) const {
  for (uint32_t i = 0; i < length; ++i) {
    if (other[i] != data[i]) return false;  // also stops at other's terminator
  }
  return other[length] == '\0';
}

Text bootarg(const char* bootargs, const char* key) {
  const uint32_t key_length = length_of(key);
  const char* p = bootargs;
  while (*p != '\0') {
    while (*p == ' ') ++p;
    const char* word = p;
    while (*p != '\0' && *p != ' ') ++p;
    const auto word_length = static_cast<uint32_t>(p - word);
    if (word_length > key_length && word[key_length] == '=' && starts_with(word, key)) {
      return {word + key_length + 1, word_length - key_length - 1};
    }
  }
  return {};
}

Text next_item(Text& list, char separator) {
  uint32_t n = 0;
  while (n < list.length && list.data[n] != separator) ++n;
  const Text item{list.data, n};
  if (n < list.length) ++n;  // the separator
  list.data += n;
  list.length -= n;
  return item;
}

bool parse_number(Text text, uint64_t& value) {
  if (text.empty()) return false;
  uint32_t i = 0;
  uint64_t base = 10;
  if (text.length > 2 && text.data[0] == '0' && (text.data[1] == 'x' || text.data[1] == 'X')) {
    base = 16;
    i = 2;
  }
  value = 0;
  for (; i < text.length; ++i) {
    const char c = text.data[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c) - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c) - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c) - 'A' + 10;
    } else {
      return false;
    }
    value = value * base + digit;
  }
  return true;
}

}  // namespace probe
