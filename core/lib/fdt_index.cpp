#include "core/lib/fdt_index.hpp"

#include <libfdt.h>

#include "core/lib/runtime.hpp"

namespace bulkhead::fdt {
namespace {

constexpr uint32_t tag_size = 4;
constexpr uint32_t property_header_size = 12;     // tag, len, nameoff
constexpr uint32_t first_v16_version = 0x10;      // older trees: full-path names, 8-aligned values
constexpr uint32_t first_v17_version = 0x11;      // size_dt_struct in the header

// A big-endian word; `Aligned`: known to be 4-byte aligned (the structure block of a
// sane blob), else loaded a byte at a time.
template <bool Aligned>
uint32_t load_word(const uint8_t* at) {
  if constexpr (Aligned) {
    uint32_t word = 0;
    __builtin_memcpy(&word, __builtin_assume_aligned(at, 4), sizeof(word));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(word);
#else
    return word;
#endif
  } else {
    return uint32_t{at[0]} << 24 | uint32_t{at[1]} << 16 | uint32_t{at[2]} << 8 | at[3];
  }
}

uint32_t load_be32(const uint8_t* at) {
  return (reinterpret_cast<uintptr_t>(at) & 3) == 0 ? load_word<true>(at) : load_word<false>(at);
}

// fdt_stringlist_contains(), byte for byte (it may look at the byte after the value).
bool stringlist_contains(const char* list, size_t list_length, const char* wanted, size_t length) {
  while (list_length >= length) {
    if (list[0] == wanted[0] && rt::compare(wanted, list, length + 1) == 0) return true;
    const auto* end = static_cast<const char*>(rt::find_byte(list, '\0', list_length));
    if (end == nullptr) return false;
    list_length -= static_cast<size_t>(end - list) + 1;
    list = end + 1;
  }
  return false;
}

uint32_t initial_bit(char c) { return 1u << (static_cast<unsigned char>(c) & 31); }

bool same_name(const char* found, const char* name, size_t length) {
  // The first byte rejects most cheaply; then fdt_string_eq_(): same length and bytes.
  return found[0] == (length != 0 ? name[0] : '\0') && rt::length_bounded(found, length + 1) == length &&
         rt::compare(found, name, length) == 0;
}

// The structure block as fdt_check_full() walks it: fdt_offset_ptr() bounds and
// fdt_next_tag() steps, in libfdt's own 32-bit arithmetic, so that every blob, however
// broken, gets the same verdict.
class Walk {
 public:
  explicit Walk(const void* fdt)
      : blob_(static_cast<const uint8_t*>(fdt)),
        structure_offset_(fdt_off_dt_struct(fdt)),
        total_size_(fdt_totalsize(fdt)),
        structure_size_(fdt_size_dt_struct(fdt)),
        strings_offset_(fdt_off_dt_strings(fdt)),
        strings_size_(fdt_size_dt_strings(fdt)),
        version_(fdt_version(fdt)) {
    // fdt_check_header() keeps the structure block's offset inside the blob.
    limit_ = total_size_ - structure_offset_;
    if (version_ >= first_v17_version && structure_size_ < limit_) limit_ = structure_size_;
  }

  const uint8_t* structure() const { return blob_ + structure_offset_; }
  uint32_t version() const { return version_; }

  // fdt_offset_ptr(fdt, offset, length) != NULL. libfdt's 32-bit checks refuse a sum
  // that wraps, and the bytes past the structure block (its size from version 17) or
  // the blob: in 64 bits that is one comparison with the bytes the structure may use.
  bool in_bounds(int32_t offset, uint32_t length) const {
    return offset >= 0 && uint64_t(static_cast<uint32_t>(offset)) + length <= limit_;
  }

  // fdt_next_tag() for the FDT_PROP at `start` (whose tag word is in bounds): the offset
  // after it, or a negative FDT_ERR_ code; `length` is its value's.
  template <bool Aligned>
  int32_t after_property(int32_t start, uint32_t& length) const {
    const auto unsigned_start = static_cast<uint32_t>(start);
    if (!in_bounds(static_cast<int32_t>(unsigned_start + tag_size), 4)) return -FDT_ERR_BADSTRUCTURE;
    length = load_word<Aligned>(structure() + unsigned_start + tag_size);
    uint32_t offset = unsigned_start + property_header_size + length;  // libfdt's 32-bit sum
    if (version_ < first_v16_version && length >= 8 && (offset - length) % 8 != 0) offset += 4;
    if (!in_bounds(start, offset - unsigned_start)) return -FDT_ERR_BADSTRUCTURE;
    // A length that wraps that sum (a property of about 4 GiB) sends libfdt back inside
    // the property, and its lookups would later hand out that length: a broken structure.
    if (offset < unsigned_start + property_header_size) return -FDT_ERR_BADSTRUCTURE;
    return static_cast<int32_t>((offset + tag_size - 1) & ~(tag_size - 1));
  }

  // fdt_next_tag() for the FDT_BEGIN_NODE at `start`: its name must end (NUL) in bounds.
  // `Aligned`: the name starts on a word, so whole words in bounds are tested at once.
  template <bool Aligned>
  int32_t after_node(int32_t start, uint32_t& name_length) const {
    const uint32_t name = static_cast<uint32_t>(start) + tag_size;
    if (name >= limit_) return -FDT_ERR_BADSTRUCTURE;
    uint32_t at = name;
    if constexpr (Aligned) {
      for (; limit_ - at >= 4; at += 4) {
        uint32_t word = 0;
        __builtin_memcpy(&word, __builtin_assume_aligned(structure() + at, 4), sizeof(word));
        if (((word - 0x01010101u) & ~word & 0x80808080u) != 0) break;  // a zero byte in it
      }
    }
    // The NUL is in the word the loop stopped at (a few bytes): no call for it.
    const uint8_t* bytes = structure();
    while (at < limit_ && bytes[at] != 0) ++at;
    if (at >= limit_) return -FDT_ERR_BADSTRUCTURE;
    name_length = at - name;
    return static_cast<int32_t>((name + name_length + 1 + tag_size - 1) & ~(tag_size - 1));
  }

  // fdt_get_string(fdt, name_offset): 0, or its FDT_ERR_ code.
  int check_string(uint32_t name_offset) const {
    const auto string_offset = static_cast<int32_t>(name_offset);
    const uint32_t absolute = name_offset + strings_offset_;
    if (absolute >= total_size_) return -FDT_ERR_BADOFFSET;
    uint32_t length = total_size_ - absolute;
    if (string_offset < 0) return -FDT_ERR_BADOFFSET;
    if (version_ >= first_v17_version) {
      if (name_offset >= strings_size_) return -FDT_ERR_BADOFFSET;
      if (strings_size_ - name_offset < length) length = strings_size_ - name_offset;
    }
    return rt::find_byte(blob_ + absolute, 0, length) != nullptr ? 0 : -FDT_ERR_TRUNCATED;
  }

 private:
  const uint8_t* blob_;
  uint32_t structure_offset_;
  uint32_t total_size_;
  uint32_t structure_size_;
  uint32_t strings_offset_;
  uint32_t strings_size_;
  uint32_t version_;
  uint32_t limit_ = 0;
};

// fdt_get_phandle() reads the first `phandle`, else the first `linux,phandle`, each
// only if it is one cell.
struct PhandleProperties {
  bool phandle_seen = false;
  bool linux_phandle_seen = false;
  const uint8_t* phandle = nullptr;
  const uint8_t* linux_phandle = nullptr;
  uint32_t value() const {
    const uint8_t* cell = phandle != nullptr ? phandle : linux_phandle;
    return cell != nullptr ? load_be32(cell) : 0;
  }
};

// The property names the index keeps a node's value of.
enum class NameKind : uint8_t { other, phandle, linux_phandle, compatible, device_type };

NameKind kind_of(const char* name) {
  if (rt::compare_strings(name, "compatible") == 0) return NameKind::compatible;
  if (rt::compare_strings(name, "phandle") == 0) return NameKind::phandle;
  if (rt::compare_strings(name, "linux,phandle") == 0) return NameKind::linux_phandle;
  if (rt::compare_strings(name, "device_type") == 0) return NameKind::device_type;
  return NameKind::other;
}

// Property names already checked, and what they are: most properties share a few names.
// Direct-mapped by the name's offset; 256 slots keep the few dozen names of a firmware
// tree from evicting each other (each miss costs a string check and name compares).
class CheckedNames {
 public:
  bool find(uint32_t name_offset, NameKind& kind, char& initial) const {
    const Slot& slot = slots_[name_offset % slot_count];
    kind = slot.kind;
    initial = slot.initial;
    return slot.used && slot.name_offset == name_offset;
  }
  void add(uint32_t name_offset, NameKind kind, char initial) {
    slots_[name_offset % slot_count] = {name_offset, kind, initial, true};
  }

 private:
  static constexpr uint32_t slot_count = 256;
  struct Slot {
    uint32_t name_offset = 0;
    NameKind kind = NameKind::other;
    char initial = '\0';
    bool used = false;  // (any offset, 0xffffffff too, may be a checked one)
  };
  Slot slots_[slot_count] = {};
};

// The steps of check_and_index() below, always inlined into its loop (run once per tag of
// the firmware DT: calls there cost about 1,500 instructions at boot).

// What the index keeps of a property whose name it knows, on the node that owns it: the
// first property of each name counts, as fdt_getprop() finds it.
[[gnu::always_inline]] inline void note_property(IndexedNode& owner, NameKind kind, const uint8_t* value,
                                                 uint32_t length, PhandleProperties& phandles) {
  switch (kind) {
    case NameKind::phandle:
      if (!phandles.phandle_seen && length == 4) phandles.phandle = value;
      phandles.phandle_seen = true;
      break;
    case NameKind::linux_phandle:
      if (!phandles.linux_phandle_seen && length == 4) phandles.linux_phandle = value;
      phandles.linux_phandle_seen = true;
      break;
    case NameKind::compatible:
      if (owner.compatible != nullptr) break;
      owner.compatible = reinterpret_cast<const char*>(value);
      owner.compatible_length = length;
      for (const uint8_t* at = value; at < value + length;) {  // each string's first byte
        owner.compatible_initials |= initial_bit(static_cast<char>(*at));
        const auto* nul = static_cast<const uint8_t*>(rt::find_byte(at, 0, static_cast<size_t>(value + length - at)));
        at = nul != nullptr ? nul + 1 : value + length;
      }
      break;
    case NameKind::device_type:
      if (owner.device_type != nullptr) break;
      owner.device_type = reinterpret_cast<const char*>(value);
      owner.device_type_length = length;
      break;
    case NameKind::other:
      break;
  }
}

// fdt_next_tag(): the offset after the tag at `offset` (negative: its error), and the
// length of a property's value or a node's name.
template <bool Aligned>
[[gnu::always_inline]] inline int32_t after_tag(const Walk& walk, int32_t offset, uint32_t tag, uint32_t& length) {
  if (tag == FDT_PROP) return walk.template after_property<Aligned>(offset, length);
  if (tag == FDT_BEGIN_NODE) return walk.template after_node<Aligned>(offset, length);
  if (tag != FDT_END && tag != FDT_END_NODE && tag != FDT_NOP) return -FDT_ERR_BADSTRUCTURE;  // no other tag
  return offset + static_cast<int32_t>(tag_size);
}

// A property's value as fdt_getprop() gives it: realigned in trees older than version 16.
[[gnu::always_inline]] inline const uint8_t* property_value(const uint8_t* structure, int32_t offset, uint32_t length,
                                                             uint32_t version) {
  const uint8_t* value = structure + offset + property_header_size;
  if (version < first_v16_version && length >= 8 && (static_cast<uint32_t>(offset) + property_header_size) % 8 != 0) {
    value += 4;
  }
  return value;
}

// Before version 16 a node's name is a full path: fdt_get_name() gives its last part.
// False for a root without a '/' (libfdt 1.6 dereferences a null name there).
[[gnu::always_inline]] inline bool leaf_name(const char*& name, uint32_t& name_length, size_t depth) {
  const char* leaf = rt::find_last_char(name, '/');
  if (leaf == nullptr) return depth != 1;
  name_length -= static_cast<uint32_t>(leaf + 1 - name);
  name = leaf + 1;
  return true;
}

// A node's entry as the walk meets its BEGIN_NODE, under `parent` (-1: the root).
[[gnu::always_inline]] inline void start_node(IndexedNode* table, size_t index, int32_t offset, int32_t first_tag,
                                              const char* name, uint32_t name_length, int parent) {
  IndexedNode& node = table[index];
  node.offset = offset;
  node.first_tag = first_tag;
  node.name = name;
  node.name_length = name_length;
  node.parent = parent;
  node.next_sibling = -1;
  node.phandle = 0;
  node.compatible = nullptr;
  node.compatible_length = 0;
  node.device_type = nullptr;
  node.device_type_length = 0;
  node.initials = 0;
  node.compatible_initials = 0;
  if (parent < 0) {
    node.path_length = 1;  // "/"
  } else {
    const uint32_t above = table[parent].parent < 0 ? 0 : table[parent].path_length;
    node.path_length = above + 1 + name_length;
  }
}

// fdt_check_full()'s loop over the structure block, indexing the nodes as it goes.
// (cppcheck misses the members' uses inside the function template below.)
struct Nodes {
  // cppcheck-suppress unusedStructMember
  IndexedNode* table;
  // cppcheck-suppress unusedStructMember
  size_t capacity;
  // cppcheck-suppress unusedStructMember
  size_t& count;
};

template <bool Aligned>
int check_and_index(const Walk& walk, const char* strings, Nodes& nodes) {
  const uint8_t* structure = walk.structure();
  const uint32_t version = walk.version();
  int status = 0;
  size_t count = 0;  // nodes seen; stored back however the walk ends
  struct StoreCount {
    size_t& to;
    const size_t& from;
    ~StoreCount() { to = from; }
  } store_count{nodes.count, count};
  CheckedNames checked;
  int current = -1;             // the open node (when it has an entry)
  int closed = -1;              // its last child that ended: the next child is that one's sibling
  int reading_properties = -1;  // properties come before children: then its phandle is known
  PhandleProperties phandles;
  const auto settle_phandle = [&]() {
    if (reading_properties >= 0) nodes.table[reading_properties].phandle = phandles.value();
    reading_properties = -1;
    phandles = PhandleProperties();
  };
  size_t depth = 0;
  bool expect_end = false;
  // fdt_check_full()'s loop: each tag as fdt_next_tag() steps over it (a negative next
  // offset is its error), then what fdt_check_full() checks of that tag.
  for (int32_t offset = 0;;) {
    if (!walk.in_bounds(offset, tag_size)) return -FDT_ERR_TRUNCATED;
    const uint32_t tag = load_word<Aligned>(structure + offset);
    uint32_t length = 0;
    const int32_t next = after_tag<Aligned>(walk, offset, tag, length);
    if (next < 0) return next;
    if (expect_end && tag != FDT_END) return -FDT_ERR_BADSTRUCTURE;
    // A property length of 0xfffffff4 wraps libfdt's 32-bit offset back to this tag,
    // for ever: no progress is a broken structure.
    if (next <= offset) return -FDT_ERR_BADSTRUCTURE;
    if (tag == FDT_PROP) {
      // fdt_getprop_by_offset(): its name must be a string inside the strings block.
      if (!walk.in_bounds(offset, property_header_size)) return -FDT_ERR_BADSTRUCTURE;
      const uint32_t name_offset = load_word<Aligned>(structure + offset + 8);
      NameKind kind = NameKind::other;
      char initial = '\0';
      if (!checked.find(name_offset, kind, initial)) {
        status = walk.check_string(name_offset);
        if (status != 0) return status;
        kind = kind_of(strings + name_offset);
        initial = strings[name_offset];
        checked.add(name_offset, kind, initial);
      }
      if (reading_properties >= 0) nodes.table[reading_properties].initials |= initial_bit(initial);
      if (reading_properties >= 0 && kind != NameKind::other) {
        note_property(nodes.table[reading_properties], kind, property_value(structure, offset, length, version), length,
                      phandles);
      }
    } else if (tag == FDT_BEGIN_NODE) {
      ++depth;
      const char* name = reinterpret_cast<const char*>(structure + offset + tag_size);
      uint32_t name_length = length;
      if (version < first_v16_version && !leaf_name(name, name_length, depth)) return -FDT_ERR_BADSTRUCTURE;
      if (depth == 1 && name[0] != '\0') return -FDT_ERR_BADSTRUCTURE;  // the root's name is empty
      settle_phandle();
      const size_t index = count++;
      if (index < nodes.capacity) {  // beyond: counted, and checked to the end, but not kept
        start_node(nodes.table, index, offset, next, name, name_length, current);
        if (closed >= 0) nodes.table[closed].next_sibling = static_cast<int32_t>(index);
        closed = -1;
        current = static_cast<int>(index);
        reading_properties = current;
      }
    } else if (tag == FDT_END_NODE) {
      if (depth == 0) return -FDT_ERR_BADSTRUCTURE;
      if (--depth == 0) expect_end = true;
      settle_phandle();
      if (count <= nodes.capacity) {
        closed = current;
        current = nodes.table[current].parent;
      }
    } else if (tag == FDT_END) {
      return depth != 0 ? -FDT_ERR_BADSTRUCTURE : 0;
    }
    offset = next;
  }
}

}  // namespace

int Index::build(const void* fdt, size_t size) {
  node_count_ = 0;
  // fdt_check_full()'s checks of the header and the reservation map, by libfdt.
  if (size < FDT_V1_SIZE || size < fdt_header_size(fdt)) return -FDT_ERR_TRUNCATED;
  int status = fdt_check_header(fdt);
  if (status != 0) return status;
  if (size < fdt_totalsize(fdt)) return -FDT_ERR_TRUNCATED;
  status = fdt_num_mem_rsv(fdt);
  if (status < 0) return status;

  const Walk walk(fdt);
  structure_ = walk.structure();
  strings_ = static_cast<const char*>(fdt) + fdt_off_dt_strings(fdt);
  version_ = walk.version();
  Nodes nodes{nodes_, capacity_, node_count_};
  return (reinterpret_cast<uintptr_t>(structure_) & 3) == 0 ? check_and_index<true>(walk, strings_, nodes)
                                                              : check_and_index<false>(walk, strings_, nodes);
}

IndexedProperty Index::property_header(int32_t offset, int32_t& next) const {
  const uint32_t length = load_be32(structure_ + offset + 4);
  const char* name = strings_ + load_be32(structure_ + offset + 8);
  const uint8_t* value = structure_ + offset + property_header_size;
  uint32_t end = static_cast<uint32_t>(offset) + property_header_size + length;
  if (version_ < first_v16_version && length >= 8 && (static_cast<uint32_t>(offset) + property_header_size) % 8 != 0) {
    value += 4;  // fdt_getprop()'s realignment for old trees
    end += 4;
  }
  next = static_cast<int32_t>((end + tag_size - 1) & ~(tag_size - 1));
  return {value, length, name};
}

int Index::first_child(int index) const {
  return index + 1 < count() && nodes_[index + 1].parent == index ? index + 1 : -1;
}

int Index::index_of(int offset) const {
  int low = 0;
  int high = count();
  while (low < high) {
    const int middle = low + (high - low) / 2;
    if (nodes_[middle].offset < offset) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low < count() && nodes_[low].offset == offset ? low : -1;
}

// Properties and NOPs up to the first child or the node's end.
int32_t Index::first_property(int index) const {
  for (int32_t offset = nodes_[index].first_tag;; offset += tag_size) {
    const uint32_t tag = load_be32(structure_ + offset);
    if (tag == FDT_PROP) return offset;
    if (tag != FDT_NOP) return -1;
  }
}

int32_t Index::next_property(int32_t offset) const {
  int32_t next = 0;
  property_header(offset, next);
  for (;; next += tag_size) {
    const uint32_t tag = load_be32(structure_ + next);
    if (tag == FDT_PROP) return next;
    if (tag != FDT_NOP) return -1;
  }
}

IndexedProperty Index::property_at(int32_t offset) const {
  int32_t next = 0;
  return property_header(offset, next);
}

IndexedProperty Index::property(int index, const char* name) const { return property(index, name, rt::length(name)); }

// The loop every lookup runs: kept tight, with the first byte of the name as the cheap
// test (a name is at least its NUL). A modern tree with an aligned structure block (all
// of them, in practice) takes the fast instance.
template <bool Modern>
IndexedProperty Index::find_property(int32_t first_tag, const char* name, size_t name_length) const {
  const char first = name_length != 0 ? name[0] : '\0';
  for (uint32_t offset = static_cast<uint32_t>(first_tag);;) {
    const uint32_t tag = load_word<Modern>(structure_ + offset);
    if (tag == FDT_NOP) {
      offset += tag_size;
      continue;
    }
    if (tag != FDT_PROP) return {};
    const uint32_t length = load_word<Modern>(structure_ + offset + 4);
    const char* found = strings_ + load_word<Modern>(structure_ + offset + 8);
    if (found[0] == first && same_name(found, name, name_length)) {
      int32_t next = 0;
      return property_header(static_cast<int32_t>(offset), next);
    }
    uint32_t end = offset + property_header_size + length;
    if (!Modern && version_ < first_v16_version && length >= 8 && (offset + property_header_size) % 8 != 0) end += 4;
    offset = (end + tag_size - 1) & ~(tag_size - 1);
  }
}

IndexedProperty Index::property(int index, const char* name, size_t name_length) const {
  const char first = name_length != 0 ? name[0] : '\0';
  if ((nodes_[index].initials & initial_bit(first)) == 0) return {};  // no name starts so
  const bool modern = version_ >= first_v16_version && (reinterpret_cast<uintptr_t>(structure_) & 3) == 0;
  return modern ? find_property<true>(nodes_[index].first_tag, name, name_length)
                : find_property<false>(nodes_[index].first_tag, name, name_length);
}

bool Index::compatible(int index, const char* name) const {
  const IndexedNode& entry = nodes_[index];
  return entry.compatible != nullptr && (name[0] == '\0' || (entry.compatible_initials & initial_bit(name[0])) != 0) &&
         stringlist_contains(entry.compatible, entry.compatible_length, name, rt::length(name));
}

int Index::next_compatible(int after, const char* name) const {
  const size_t length = rt::length(name);
  const uint32_t initial = name[0] == '\0' ? ~0u : initial_bit(name[0]);
  for (int index = after + 1; index < count(); ++index) {
    const IndexedNode& entry = nodes_[index];
    if (entry.compatible != nullptr && (entry.compatible_initials & initial) != 0 &&
        stringlist_contains(entry.compatible, entry.compatible_length, name, length)) {
      return index;
    }
  }
  return -1;
}

bool Index::has_device_type(int index, const char* type) const {
  const IndexedNode& entry = nodes_[index];
  const size_t length = rt::length(type) + 1;
  return entry.device_type_length == length && rt::compare(entry.device_type, type, length) == 0;
}

int Index::find_phandle(uint32_t phandle) const {
  if (phandle == 0 || phandle == ~uint32_t{0}) return -1;
  for (int index = 0; index < count(); ++index) {
    if (nodes_[index].phandle == phandle) return index;
  }
  return -1;
}

// fdt_subnode_offset_namelen(): the first child called `name`, or `name@...` when `name`
// has no unit address.
int Index::find_child(int parent, const char* name, size_t length) const {
  const bool has_unit = rt::find_byte(name, '@', length) != nullptr;
  for (int child = first_child(parent); child >= 0; child = nodes_[child].next_sibling) {
    const IndexedNode& entry = nodes_[child];
    if (entry.name_length < length || rt::compare(entry.name, name, length) != 0) continue;
    if (entry.name[length] == '\0' || (!has_unit && entry.name[length] == '@')) return child;
  }
  return -1;
}

int Index::find_path(const char* path, size_t length) const {
  if (length == 0 || count() == 0) return -1;
  const char* end = path + length;
  const char* at = path;
  int found = 0;
  if (*path != '/') {  // an alias, up to the first '/'
    const auto* slash = static_cast<const char*>(rt::find_byte(path, '/', length));
    const char* alias_end = slash != nullptr ? slash : end;
    const int aliases = find_path("/aliases", 8);
    if (aliases < 0) return -1;
    const IndexedProperty alias = property(aliases, path, static_cast<size_t>(alias_end - path));
    const auto* target = static_cast<const char*>(alias.value);
    if (target == nullptr || alias.length == 0 || target[alias.length - 1] != '\0' || target[0] != '/') return -1;
    found = find_path(target, rt::length(target));
    if (found < 0) return -1;
    at = alias_end;
  }
  while (at < end) {
    while (*at == '/') {
      if (++at == end) return found;
    }
    const auto* slash = static_cast<const char*>(rt::find_byte(at, '/', static_cast<size_t>(end - at)));
    const char* component_end = slash != nullptr ? slash : end;
    found = find_child(found, at, static_cast<size_t>(component_end - at));
    if (found < 0) return -1;
    at = component_end;
  }
  return found;
}

bool Index::path(int index, char* out, size_t capacity) const {
  const size_t length = nodes_[index].path_length;
  if (capacity < 2 || length + 1 > capacity) return false;
  out[length] = '\0';
  if (index == 0) {
    out[0] = '/';
    return true;
  }
  size_t at = length;
  for (int walk = index; walk > 0; walk = nodes_[walk].parent) {
    at -= nodes_[walk].name_length;
    rt::copy(out + at, nodes_[walk].name, nodes_[walk].name_length);
    out[--at] = '/';
  }
  return true;
}

}  // namespace bulkhead::fdt
