#include "core/lib/held_lines.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead {
namespace {

// Each held line: its length in a word, then its text from the next word (a log line's
// text starts on a word: the copy goes a word at a time), padded to a word.
constexpr size_t length_bytes = 8;
constexpr size_t padded(size_t length) { return (length + length_bytes - 1) & ~(length_bytes - 1); }

}  // namespace

void HeldLines::hold(log::LineSink* device, char* storage, size_t capacity) {
  device_ = device;
  storage_ = storage;
  capacity_ = capacity;
  used_ = 0;
  holding_ = storage != nullptr && capacity > length_bytes;
}

void HeldLines::write_line(const char* text, size_t length) {
  if (device_ == nullptr) return;
  if (holding_) {
    const size_t size = length_bytes + padded(length);
    if (used_ + size > capacity_) write_out();
    if (used_ + size <= capacity_) {
      rt::copy(storage_ + used_, &length, sizeof(length));
      rt::copy(storage_ + used_ + length_bytes, text, length);
      used_ += size;
      return;
    }
  }
  write_out();  // whatever is held goes first
  device_->write_line(text, length);
}

void HeldLines::flush_output() {
  if (device_ == nullptr) return;
  write_out();
  holding_ = false;
  device_->flush_output();
}

void HeldLines::write_out() {
  for (size_t at = 0; at < used_;) {
    size_t length = 0;
    rt::copy(&length, storage_ + at, sizeof(length));
    device_->write_line(storage_ + at + length_bytes, length);
    at += length_bytes + padded(length);
  }
  used_ = 0;
}

}  // namespace bulkhead
