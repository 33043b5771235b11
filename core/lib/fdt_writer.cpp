#include "core/lib/fdt_writer.hpp"

#include <libfdt.h>

#include <cstddef>

#include "core/lib/runtime.hpp"

namespace bulkhead::fdt {
namespace {

constexpr size_t header_size = sizeof(fdt_header);                        // 40
constexpr size_t reservation_map_size = sizeof(fdt_reserve_entry);        // one terminating entry
constexpr size_t structure_offset = header_size + reservation_map_size;  // 56, 8-aligned
constexpr uint32_t version = 17;
constexpr uint32_t last_compatible_version = 16;
constexpr size_t tag_size = 4;

// Words of the tree are 4-byte aligned (the buffer is 8-byte aligned).
void store_be32(uint8_t* at, uint32_t value) {
  const fdt32_t word = cpu_to_fdt32(value);
  __builtin_memcpy(__builtin_assume_aligned(at, 4), &word, sizeof(word));
}

uint32_t load_be32(const uint8_t* at) {
  fdt32_t word = 0;
  __builtin_memcpy(&word, __builtin_assume_aligned(at, 4), sizeof(word));
  return fdt32_to_cpu(word);
}

size_t align_tag(size_t value) { return (value + tag_size - 1) & ~(tag_size - 1); }

// Most names and values are a few bytes: copied in place, not through a call.
constexpr size_t short_copy = 16;
void copy_bytes(uint8_t* to, const void* from, size_t length) {
  const auto* bytes = static_cast<const uint8_t*>(from);
  if (length > short_copy) {
    rt::copy(to, bytes, length);
    return;
  }
  for (size_t i = 0; i < length; ++i) to[i] = bytes[i];
}

}  // namespace

Writer::Writer(void* buffer, size_t capacity)
    : buffer_(static_cast<uint8_t*>(buffer)),
      capacity_(capacity > INT32_MAX ? INT32_MAX : capacity),
      structure_end_(structure_offset),
      strings_start_(capacity_) {
  if (capacity_ < structure_offset) {
    status_ = -FDT_ERR_NOSPACE;
    return;
  }
  rt::fill(buffer_, 0, structure_offset);  // the header (completed by finish()) and the empty map
}

bool Writer::reserve(size_t bytes) {
  if (status_ != 0) return false;
  if (bytes > strings_start_ - structure_end_) {
    status_ = -FDT_ERR_NOSPACE;
    return false;
  }
  return true;
}

void Writer::put_word(uint32_t value) {
  store_be32(buffer_ + structure_end_, value);
  structure_end_ += tag_size;
}

void Writer::put_bytes(const void* data, size_t length) {
  uint8_t* to = buffer_ + structure_end_;
  copy_bytes(to, data, length);
  const size_t padded = align_tag(length);
  for (size_t i = length; i < padded; ++i) to[i] = 0;
  structure_end_ += padded;
}

int Writer::begin_node(const char* name) {
  const size_t length = rt::length(name) + 1;
  if (!reserve(tag_size + align_tag(length))) return status_;
  put_word(FDT_BEGIN_NODE);
  put_bytes(name, length);
  ++depth_;
  return 0;
}

int Writer::end_node() {
  if (status_ == 0 && depth_ == 0) status_ = -FDT_ERR_BADSTRUCTURE;
  if (!reserve(tag_size)) return status_;
  put_word(FDT_END_NODE);
  --depth_;
  return 0;
}

int Writer::property(const char* name, const void* value, size_t length) {
  return property(name, rt::length(name) + 1, value, length);
}

int Writer::property(const char* name, size_t name_size, const void* value, size_t length) {
  if (status_ == 0 && length > INT32_MAX) status_ = -FDT_ERR_BADVALUE;
  if (!reserve(3 * tag_size + align_tag(length) + name_size)) return status_;
  strings_start_ -= name_size;
  copy_bytes(buffer_ + strings_start_, name, name_size);
  put_word(FDT_PROP);
  put_word(static_cast<uint32_t>(length));
  // For now the distance of the name from the buffer's end; finish() makes it an offset.
  put_word(static_cast<uint32_t>(capacity_ - strings_start_));
  put_bytes(value, length);
  return 0;
}

int Writer::finish() {
  if (status_ == 0 && depth_ != 0) status_ = -FDT_ERR_BADSTRUCTURE;
  if (!reserve(tag_size)) return status_;
  put_word(FDT_END);
  const size_t strings_size = capacity_ - strings_start_;
  // Names move down to the end of the structure block; each property's distance from
  // the buffer's end becomes its offset in the strings block.
  if (strings_start_ - structure_end_ >= strings_size) {
    rt::copy(buffer_ + structure_end_, buffer_ + strings_start_, strings_size);  // apart: a plain copy
  } else {
    rt::move(buffer_ + structure_end_, buffer_ + strings_start_, strings_size);
  }
  for (size_t offset = structure_offset; offset < structure_end_;) {
    const uint32_t tag = load_be32(buffer_ + offset);
    if (tag == FDT_BEGIN_NODE) {
      const auto* name = reinterpret_cast<const char*>(buffer_ + offset + tag_size);
      offset += tag_size + align_tag(rt::length(name) + 1);
    } else if (tag == FDT_PROP) {
      const uint32_t length = load_be32(buffer_ + offset + tag_size);
      const uint32_t distance = load_be32(buffer_ + offset + 2 * tag_size);
      store_be32(buffer_ + offset + 2 * tag_size, static_cast<uint32_t>(strings_size - distance));
      offset += 3 * tag_size + align_tag(length);
    } else {
      offset += tag_size;
    }
  }
  size_ = structure_end_ + strings_size;
  const auto field = [this](size_t offset, size_t value) { store_be32(buffer_ + offset, static_cast<uint32_t>(value)); };
  field(offsetof(fdt_header, magic), FDT_MAGIC);
  field(offsetof(fdt_header, totalsize), size_);
  field(offsetof(fdt_header, off_dt_struct), structure_offset);
  field(offsetof(fdt_header, off_dt_strings), structure_end_);
  field(offsetof(fdt_header, off_mem_rsvmap), header_size);
  field(offsetof(fdt_header, version), version);
  field(offsetof(fdt_header, last_comp_version), last_compatible_version);
  field(offsetof(fdt_header, boot_cpuid_phys), 0);
  field(offsetof(fdt_header, size_dt_strings), strings_size);
  field(offsetof(fdt_header, size_dt_struct), structure_end_ - structure_offset);
  return 0;
}

}  // namespace bulkhead::fdt
