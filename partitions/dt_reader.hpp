// Device-tree access for the description and board readers: blob validation, node
// paths, and typed property reads that report `property-type` violations with the node
// path. The blob is checked and indexed in one pass (core/lib/fdt_index.hpp); nodes are
// index entries, the root is 0. Internal to partitions/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/fdt_index.hpp"
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

// The most nodes a description or board tree may have: far more than the schemas allow
// (8 partitions of at most 22 nodes each).
constexpr size_t max_description_nodes = 512;

class DtReader {
 public:
  // The index check_blob() filled.
  DtReader(const fdt::Index& index, Violations& violations) : index_(index), violations_(violations) {}

  // An index over the readers' node table: one reader at a time.
  static fdt::Index node_table();
  // Header, size bound, alignment and full structure check while indexing it into
  // `index`; reports `dtb` (or `capacity`, too many nodes) at "/".
  static bool check_blob(const void* blob, size_t size, fdt::Index& index, Violations& violations);

  Violations& violations() { return violations_; }

  int first_child(int node) const { return index_.count() != 0 ? index_.first_child(node) : -1; }
  int next_sibling(int node) const { return index_.next_sibling(node); }
  // fdt_node_check_compatible() == 0.
  bool compatible(int node, const char* name) const { return node < index_.count() && index_.compatible(node, name); }

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

  const fdt::Index& index_;
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
