// A device tree blob checked and indexed in one pass, for the readers that run at boot
// (the firmware DT reader, the description and board readers).
//
// build() gives exactly the verdict of libfdt's fdt_check_full() (the same negative
// FDT_ERR_ code for the same defect, libfdt 1.6.1; two exceptions, both
// FDT_ERR_BADSTRUCTURE: a property length so large that it wraps libfdt's 32-bit offsets,
// which libfdt may accept and then hand out; a tree older than version 16 whose root
// name has no '/', where fdt_check_full() dereferences a null name) and, for a sound blob, a table of
// its nodes in tree order: parent, next sibling, name, path length, phandle,
// `compatible` and where the properties start. Every query then answers what the
// libfdt call named on it answers, at the cost of a few instructions instead of walks
// of the whole tree (each libfdt lookup re-validates every tag and name it passes).
// Portable; nodes are indices into the table, the root is 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::fdt {

struct IndexedNode {
  int32_t offset;            // its FDT_BEGIN_NODE tag: the node's libfdt offset
  int32_t first_tag;         // the tag after its name: its first property, first child or end
  int32_t parent;            // node index; -1 for the root
  int32_t next_sibling;      // node index; -1 for a last child
  const char* name;          // NUL-terminated, as fdt_get_name() gives it
  uint32_t name_length;
  uint32_t path_length;      // characters of its full path, "/" for the root
  uint32_t phandle;          // as fdt_get_phandle(): `phandle`, else `linux,phandle`, else 0
  uint32_t compatible_length;
  const char* compatible;    // the first `compatible` property's value; nullptr: none
  uint32_t device_type_length;
  const char* device_type;   // the first `device_type` property's value; nullptr: none
  uint32_t initials;         // bit (c & 31) for the first character c of each property name
  uint32_t compatible_initials;  // the same for each string of `compatible`
};

struct IndexedProperty {
  const void* value = nullptr;  // nullptr: absent
  size_t length = 0;
  const char* name = nullptr;   // for property iteration
};

class Index {
 public:
  // The nodes go to `storage` (the caller's, `capacity` entries; typically a static
  // BULKHEAD_NOINIT table, which makes an Index one-at-a-time per table).
  Index(IndexedNode* storage, size_t capacity) : nodes_(storage), capacity_(capacity) {}

  // fdt_check_full(fdt, size): 0 or its negative FDT_ERR_ code. After 0 the queries
  // below may be used, unless the tree has more nodes than the storage holds
  // (overflowed(); node_count() then says how many it has).
  int build(const void* fdt, size_t size);
  bool overflowed() const { return node_count_ > capacity_; }
  size_t node_count() const { return node_count_; }

  int count() const { return static_cast<int>(node_count_); }
  const IndexedNode& node(int index) const { return nodes_[index]; }
  int parent(int index) const { return nodes_[index].parent; }
  int first_child(int index) const;  // fdt_first_subnode(); -1 when none
  int next_sibling(int index) const { return nodes_[index].next_sibling; }
  // The node whose libfdt offset this is, or -1.
  int index_of(int offset) const;

  // fdt_getprop() / fdt_getprop_namelen(): the first property of that name.
  IndexedProperty property(int index, const char* name) const;
  IndexedProperty property(int index, const char* name, size_t name_length) const;
  template <size_t N>
  IndexedProperty property(int index, const char (&name)[N]) const {  // a literal: its length is known
    return property(index, name, N - 1);
  }
  // fdt_first_property_offset() / fdt_next_property_offset(), and the property there
  // (fdt_getprop_by_offset()): offsets, -1 after the last.
  int32_t first_property(int index) const;
  int32_t next_property(int32_t offset) const;
  IndexedProperty property_at(int32_t offset) const;
  // fdt_node_check_compatible() == 0.
  bool compatible(int index, const char* name) const;
  // `device_type` is exactly the string `type` (with its NUL).
  bool has_device_type(int index, const char* type) const;
  // fdt_node_offset_by_compatible(): the first node after `after` (-1: the root
  // included) that lists `name`; -1 when none.
  int next_compatible(int after, const char* name) const;
  // fdt_node_offset_by_phandle(); -1 when none (and for 0 and 0xffffffff).
  int find_phandle(uint32_t phandle) const;
  // fdt_path_offset_namelen(): '/'-separated names (a name without '@' also matches
  // "name@unit"), or an alias first. An alias must be a NUL-terminated absolute path
  // (as libfdt checks since 1.7; 1.6 followed a relative one again, for ever if it
  // named itself). -1 when nothing matches.
  int find_path(const char* path, size_t length) const;
  // fdt_get_path(): false when the path and its NUL need more than `capacity` bytes.
  bool path(int index, char* out, size_t capacity) const;

 private:
  int find_child(int parent, const char* name, size_t length) const;
  template <bool Modern>
  IndexedProperty find_property(int32_t first_tag, const char* name, size_t name_length) const;
  IndexedProperty property_header(int32_t offset, int32_t& next) const;

  IndexedNode* nodes_;
  size_t capacity_;
  size_t node_count_ = 0;
  const uint8_t* structure_ = nullptr;
  const char* strings_ = nullptr;
  uint32_t version_ = 0;
};

}  // namespace bulkhead::fdt
