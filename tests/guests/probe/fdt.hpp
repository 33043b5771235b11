// What the probe needs from its device tree (x0 at entry) and its command line: a
// minimal read-only flattened-device-tree walker (no libfdt: the guest is freestanding)
// and `probe.KEY=VALUE` bootargs lookups.
#pragma once

#include <cstdint>

namespace probe {

// The virtual PCI host bridge: the first root node whose compatible lists
// "pci-host-ecam-generic" (Linux's reading of the same properties, minimally).
struct PciWindow {
  bool present = false;
  bool prefetchable = false;
  uint64_t pci = 0;  // bus address
  uint64_t cpu = 0;
  uint64_t size = 0;
};
struct PciIntxRoute {
  uint8_t slot = 0;   // interrupt-map child unit address, device number
  uint8_t pin = 0;    // 1..4 = INTA..INTD
  uint32_t spi = 0;   // GIC SPI number as the DT writes it (INTID - 32)
  uint32_t flags = 0;
};
struct PciHostInfo {
  static constexpr uint32_t max_routes = 16;
  bool found = false;
  bool dma_coherent = false;
  uint64_t ecam_base = 0;
  uint64_t ecam_size = 0;
  uint32_t bus_first = 0;
  uint32_t bus_last = 0xff;  // no bus-range: all buses
  int64_t domain = -1;       // linux,pci-domain, -1 when absent
  PciWindow io;              // ranges entries by space code
  PciWindow mem32;
  PciWindow mem64;
  PciIntxRoute intx[max_routes];
  uint32_t intx_count = 0;
  bool intx_malformed = false;  // interrupt-map not a whole number of 10-cell entries
};

struct GuestInfo {
  bool valid = false;           // the DTB header was sane
  const char* bootargs = "";    // /chosen/bootargs, or "" when absent
  uint32_t vcpu_count = 0;      // /cpus/cpu@* nodes
  uint64_t ram_base = 0;        // the first /memory node's first range
  uint64_t ram_size = 0;
  PciHostInfo pci;
};

// Reads the DTB at `address`. On a malformed blob returns valid = false.
GuestInfo read_guest_dt(uint64_t address);

// A view into the bootargs string.
struct Text {
  const char* data = nullptr;
  uint32_t length = 0;

  bool empty() const { return length == 0; }
  bool equals(const char* other) const;
};

// The value of `key=` among the space-separated bootargs, or an empty Text.
Text bootarg(const char* bootargs, const char* key);
// Splits `list` at `separator`: returns the first item and leaves the rest in `list`.
Text next_item(Text& list, char separator);
// Parses decimal or 0x-prefixed hex; false on anything else.
bool parse_number(Text text, uint64_t& value);

}  // namespace probe
