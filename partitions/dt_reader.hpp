// libfdt access for the description and board readers: blob validation, node paths,
// and typed property reads that report `property-type` violations with the node path.
// Internal to partitions/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "partitions/violations.hpp"

namespace bulkhead::partitions {

// A node path for violation lines; node names from the blob are shown sanitized.
struct NodeText {
  char text[160] = {};
};

// A string from the blob made safe for one log line: non-printable bytes become '?',
// long text is cut with "...".
struct Shown {
  char text[72] = {};
};
Shown shown(const char* text, size_t length);
Shown shown(const char* text);

enum class Found : uint8_t { absent, ok, invalid };  // invalid: reported already

class DtReader {
 public:
  DtReader(const void* fdt, Violations& violations) : fdt_(fdt), violations_(violations) {}

  // Header, size bound, alignment and full structure check; reports `dtb` at "/".
  static bool check_blob(const void* blob, size_t size, Violations& violations);

  const void* fdt() const { return fdt_; }
  Violations& violations() { return violations_; }

  NodeText child_path(const NodeText& parent, int node) const;
  // The node's name (with unit address) and its length; "" if unreadable.
  const char* name(int node, size_t& length) const;

  bool has(int node, const char* property) const;
  Found u32(int node, const NodeText& path, const char* property, uint32_t& value);
  Found u64(int node, const NodeText& path, const char* property, uint64_t& value);
  // Whole 32-bit cells; `count` of them. Length not a multiple of 4 is invalid.
  Found cells(int node, const NodeText& path, const char* property, const void*& data, size_t& count);
  // (base, size) pairs of 64-bit values: `<hi lo hi lo>` or `/bits/ 64 <base size>`.
  Found ranges(int node, const NodeText& path, const char* property, AddressRange* out, size_t capacity, size_t& count);
  // One NUL-terminated string without embedded NULs; at most `max_length` characters.
  Found string(int node, const NodeText& path, const char* property, char* out, size_t max_length);
  // A NUL-separated string list (e.g. compatible), copied with its last NUL.
  Found string_list(int node, const NodeText& path, const char* property, char* out, size_t capacity, size_t& length);

  // Reports every property of `node` not in `known` (phandles are always allowed).
  void check_properties(int node, const NodeText& path, const char* const* known, size_t known_count);

  // Loads cell `index` of a property value.
  static uint32_t cell(const void* data, size_t index);

 private:
  const void* raw(int node, const char* property, int& length) const;

  const void* fdt_;
  Violations& violations_;
};

// Names of partitions and board devices: [a-z0-9-]{1,max}.
bool valid_simple_name(const char* name, size_t length, size_t max);
// The node name without its unit address equals `base` ("pci-device" matches "pci-device@3").
bool node_base_is(const char* name, size_t length, const char* base);

// The root identity every Bulkhead DT carries: `compatible` lists `compatible` (the
// message calls the blob `what` when it does not) and `bulkhead,schema-version` is
// `version`. Reports each problem and returns false.
bool check_root_identity(DtReader& dt, Violations& violations, const NodeText& root, const char* compatible,
                         const char* what, uint32_t version);

}  // namespace bulkhead::partitions
