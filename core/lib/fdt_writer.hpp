// Writes a flattened device tree front to back into a caller's buffer: the few
// sequential-write calls of libfdt the boot uses (fdt_create(), begin and end node,
// property, fdt_finish()), for a fraction of their cost. It writes every byte of the
// tree it makes (padding included), so the buffer needs no clearing first, and keeps
// each property name as given (no search for an equal one already written).
//
// Layout, as libfdt makes it: a version-17 header, an empty memory reservation map,
// the structure block, then the strings block. Until finish() the names grow down from
// the buffer's end; finish() moves them after the structure block. Portable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::fdt {

class Writer {
 public:
  // Errors are libfdt's codes: -FDT_ERR_NOSPACE when the buffer is full. After an
  // error every call returns it again. `buffer` must be 8-byte aligned.
  Writer(void* buffer, size_t capacity);

  int begin_node(const char* name);
  int end_node();
  int property(const char* name, const void* value, size_t length);
  // The same, with the name's size (its NUL included) known, e.g. from a literal.
  int property(const char* name, size_t name_size, const void* value, size_t length);
  // Ends the tree: the buffer then holds a complete DTB of size() bytes.
  int finish();

  int status() const { return status_; }
  size_t size() const { return size_; }

 private:
  bool reserve(size_t bytes);  // room at the end of the structure block
  void put_word(uint32_t value);
  void put_bytes(const void* data, size_t length);  // then zeros to 4-byte alignment

  uint8_t* buffer_;
  size_t capacity_;
  size_t structure_end_;  // offset of the next structure byte
  size_t strings_start_;  // offset of the lowest name written (they grow down from capacity_)
  int depth_ = 0;
  int status_ = 0;
  size_t size_ = 0;
};

}  // namespace bulkhead::fdt
