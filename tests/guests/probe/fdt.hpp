// What the probe needs from its device tree (x0 at entry) and its command line: a
// minimal read-only flattened-device-tree walker (no libfdt: the guest is freestanding)
// and `probe.KEY=VALUE` bootargs lookups.
#pragma once

#include <cstdint>

namespace probe {

struct GuestInfo {
  bool valid = false;           // the DTB header was sane
  const char* bootargs = "";    // /chosen/bootargs, or "" when absent
  uint32_t vcpu_count = 0;      // /cpus/cpu@* nodes
  uint64_t ram_base = 0;        // the first /memory node's first range
  uint64_t ram_size = 0;
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
