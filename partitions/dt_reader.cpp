#include "partitions/dt_reader.hpp"

#include <libfdt.h>

#include "core/lib/boot_storage.hpp"
#include "core/lib/runtime.hpp"
#include "partitions/rule_names.hpp"

namespace bulkhead::partitions {
namespace {

// Filled by check_blob() before anything reads it.
BULKHEAD_NOINIT constinit BootStorage<fdt::IndexedNode[max_description_nodes]> description_nodes;

constexpr size_t shown_limit = 64;  // characters kept of a string before "..."

bool printable(char c) { return c >= 0x20 && c < 0x7f; }

// Appends `text` (from the blob) to a sink, sanitized, at most `limit` characters.
void append_sanitized(Sink& sink, const char* text, size_t length, size_t limit) {
  for (size_t i = 0; i < length && i < limit; ++i) {
    const char c = printable(text[i]) ? text[i] : '?';
    sink.write(&c, 1);
  }
  if (length > limit) sink.write("...", 3);
}

}  // namespace

Shown shown(const char* text, size_t length) {
  FixedBuffer<sizeof(Shown::text)> buffer;
  append_sanitized(buffer, text, length, shown_limit);
  Shown result;
  rt::copy_string(result.text, sizeof(result.text), buffer.c_str());
  return result;
}

Shown shown(const char* text) { return shown(text, rt::length(text)); }

fdt::Index DtReader::node_table() { return fdt::Index(description_nodes.get(), max_description_nodes); }

bool DtReader::check_blob(const void* blob, size_t size, fdt::Index& index, Violations& violations) {
  if (blob == nullptr) {
    violations.add("/", rule::dtb, "no blob (null address)");
    return false;
  }
  if (reinterpret_cast<uintptr_t>(blob) % 8 != 0) {
    violations.add("/", rule::dtb, "blob address is not 8-byte aligned");
    return false;
  }
  if (size < sizeof(fdt_header)) {
    violations.add("/", rule::dtb, "{} bytes, fewer than the {}-byte DTB header", size, sizeof(fdt_header));
    return false;
  }
  if (fdt_magic(blob) != FDT_MAGIC) {
    violations.add("/", rule::dtb, "bad magic {} (not a DTB; compile the DTS with dtc)", hex(fdt_magic(blob)));
    return false;
  }
  const uint32_t total_size = fdt_totalsize(blob);
  if (total_size > size) {
    violations.add("/", rule::dtb, "totalsize {} exceeds the {} bytes available", hex(total_size), hex(size));
    return false;
  }
  int status = fdt_check_header(blob);
  if (status == 0) status = index.build(blob, total_size);  // fdt_check_full()'s verdict
  if (status != 0) {
    violations.add("/", rule::dtb, "structure is corrupt: {}", fdt_strerror(status));
    return false;
  }
  if (index.overflowed()) {
    violations.add("/", rule::capacity, "{} nodes, at most {} are supported", index.node_count(), max_description_nodes);
    return false;
  }
  return true;
}

const char* DtReader::name(int node, size_t& length) const {
  if (node >= index_.count()) {
    length = 0;
    return "";
  }
  length = index_.node(node).name_length;
  return index_.node(node).name;
}

NodeText DtReader::child_path(const NodeText& parent, int node) const {
  size_t length = 0;
  const char* node_name = name(node, length);
  FixedBuffer<sizeof(NodeText::text)> buffer;
  const bool root = parent.text[0] == '/' && parent.text[1] == '\0';
  format(buffer, "{}/", root ? "" : parent.text);
  append_sanitized(buffer, node_name, length, shown_limit);
  NodeText result;
  rt::copy_string(result.text, sizeof(result.text), buffer.c_str());
  return result;
}

const void* DtReader::raw(int node, const char* property, int& length) const {
  length = 0;
  if (node >= index_.count()) return nullptr;  // a tree without nodes
  const fdt::IndexedProperty found = index_.property(node, property);
  if (found.value == nullptr) return nullptr;
  length = static_cast<int>(found.length);
  return found.value;
}

bool DtReader::has(int node, const char* property) const {
  int length = 0;
  return raw(node, property, length) != nullptr;
}

uint32_t DtReader::cell(const void* data, size_t index) { return fdt32_ld(static_cast<const fdt32_t*>(data) + index); }

Found DtReader::u32(int node, const NodeText& path, const char* property, uint32_t& value) {
  int length = 0;
  const void* data = raw(node, property, length);
  if (data == nullptr) return Found::absent;
  if (length != 4) {
    violations_.add(path.text, rule::property_type, "{}: expected one 32-bit cell, found {} bytes", property, length);
    return Found::invalid;
  }
  value = cell(data, 0);
  return Found::ok;
}

Found DtReader::u64(int node, const NodeText& path, const char* property, uint64_t& value) {
  int length = 0;
  const void* data = raw(node, property, length);
  if (data == nullptr) return Found::absent;
  if (length != 8) {
    violations_.add(path.text, rule::property_type, "{}: expected a 64-bit value <high low>, found {} bytes", property,
                    length);
    return Found::invalid;
  }
  value = uint64_t{cell(data, 0)} << 32 | cell(data, 1);
  return Found::ok;
}

Found DtReader::cells(int node, const NodeText& path, const char* property, const void*& data, size_t& count) {
  int length = 0;
  data = raw(node, property, length);
  if (data == nullptr) return Found::absent;
  if (length % 4 != 0) {
    violations_.add(path.text, rule::property_type, "{}: expected 32-bit cells, found {} bytes", property, length);
    return Found::invalid;
  }
  count = static_cast<size_t>(length) / 4;
  return Found::ok;
}

Found DtReader::ranges(int node, const NodeText& path, const char* property, AddressRange* out, size_t capacity,
                       size_t& count) {
  int length = 0;
  const void* data = raw(node, property, length);
  count = 0;
  if (data == nullptr) return Found::absent;
  if (length == 0 || length % 16 != 0) {
    violations_.add(path.text, rule::property_type, "{}: expected (base, size) pairs of 64-bit values, found {} bytes",
                    property, length);
    return Found::invalid;
  }
  const size_t pairs = static_cast<size_t>(length) / 16;
  if (pairs > capacity) {
    violations_.add(path.text, rule::capacity, "{}: {} ranges, at most {} are supported", property, pairs, capacity);
    return Found::invalid;
  }
  for (size_t i = 0; i < pairs; ++i) {
    out[i].base = uint64_t{cell(data, 4 * i)} << 32 | cell(data, 4 * i + 1);
    out[i].size = uint64_t{cell(data, 4 * i + 2)} << 32 | cell(data, 4 * i + 3);
  }
  count = pairs;
  return Found::ok;
}

Found DtReader::string(int node, const NodeText& path, const char* property, char* out, size_t max_length) {
  int length = 0;
  const char* data = static_cast<const char*>(raw(node, property, length));
  out[0] = '\0';
  if (data == nullptr) return Found::absent;
  const size_t size = static_cast<size_t>(length);
  if (size == 0 || data[size - 1] != '\0' || rt::length_bounded(data, size) != size - 1) {
    violations_.add(path.text, rule::property_type, "{}: expected one string", property);
    return Found::invalid;
  }
  if (size - 1 > max_length) {
    violations_.add(path.text, rule::property_value, "{}: \"{}\" is longer than {} characters", property,
                    shown(data, size - 1).text, max_length);
    return Found::invalid;
  }
  rt::copy(out, data, size);
  return Found::ok;
}

Found DtReader::string_list(int node, const NodeText& path, const char* property, char* out, size_t capacity,
                            size_t& length) {
  int size = 0;
  const char* data = static_cast<const char*>(raw(node, property, size));
  length = 0;
  if (data == nullptr) return Found::absent;
  if (size < 2 || data[size - 1] != '\0' || data[0] == '\0') {
    violations_.add(path.text, rule::property_type, "{}: expected a list of strings", property);
    return Found::invalid;
  }
  if (static_cast<size_t>(size) > capacity) {
    violations_.add(path.text, rule::property_value, "{}: {} bytes, at most {} are supported", property, size,
                    capacity);
    return Found::invalid;
  }
  rt::copy(out, data, static_cast<size_t>(size));
  length = static_cast<size_t>(size);
  return Found::ok;
}

void DtReader::check_properties(int node, const NodeText& path, const char* const* known, size_t known_count) {
  if (node >= index_.count()) return;
  for (int32_t offset = index_.first_property(node); offset >= 0; offset = index_.next_property(offset)) {
    const char* property_name = index_.property_at(offset).name;
    bool listed = (property_name[0] == 'p' && rt::compare_strings(property_name, "phandle") == 0) ||
                  (property_name[0] == 'l' && rt::compare_strings(property_name, "linux,phandle") == 0);
    for (size_t i = 0; i < known_count && !listed; ++i) {
      listed = known[i][0] == property_name[0] && rt::compare_strings(property_name, known[i]) == 0;
    }
    if (!listed) {
      violations_.add(path.text, rule::unknown_property, "{} is not a property of this node",
                      shown(property_name).text);
    }
  }
}

bool valid_simple_name(const char* name, size_t length, size_t max) {
  if (length == 0 || length > max) return false;
  for (size_t i = 0; i < length; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool node_base_is(const char* name, size_t length, const char* base) {
  const size_t base_length = rt::length(base);
  if (length < base_length || rt::compare(name, base, base_length) != 0) return false;
  return length == base_length || name[base_length] == '@';
}

bool check_root_identity(DtReader& dt, Violations& violations, const NodeText& root, const char* compatible,
                         const char* what, uint32_t version) {
  if (!dt.has(0, "compatible")) {
    violations.add(root.text, rule::required, "missing property compatible (\"{}\")", compatible);
    return false;
  }
  if (!dt.compatible(0, compatible)) {
    violations.add(root.text, rule::compatible, "compatible does not list \"{}\"; not a {}", compatible, what);
    return false;
  }
  uint32_t found_version = 0;
  const Found found = dt.u32(0, root, "bulkhead,schema-version", found_version);
  if (found == Found::absent) {
    violations.add(root.text, rule::required, "missing property {}", "bulkhead,schema-version");
  }
  if (found != Found::ok) return false;
  if (found_version != version) {
    violations.add(root.text, rule::schema_version, "bulkhead,schema-version {} is not supported (this reader: {})",
                   found_version, version);
    return false;
  }
  return true;
}

}  // namespace bulkhead::partitions
