// The boot report held in memory until the partitions have started, then written out in
// order: formatting a line is cheap, writing it to a UART is not (under QEMU a store per
// character; on hardware at 115,200 baud about 5 ms a line), and no partition should wait
// for the report of the boot that starts it. Portable.
//
// One writer at a time: the boot CPU while the boot holds lines (the shared console's
// queues are drained into it then); once released, the shared console's drainer (under
// its lock). The boot flushes it once the partitions have started, and at a power-off
// (a crash on the boot CPU ends in one): everything held goes out before anything newer.
// `Device` is the UART's sink, called directly (not through log::LineSink): the stack
// bound of every path that logs (tests/cert/stacks.txt) takes one more frame, not every
// LineSink again.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"

namespace bulkhead {

template <typename Device>
class HeldLines final : public log::LineSink {
 public:
  // From now on lines wait in `storage` (`capacity` bytes, 8-byte aligned) for
  // flush_output(), then go to `device`. A line that does not fit writes out what is
  // held first.
  void hold(Device* device, char* storage, size_t capacity) {
    device_ = device;
    storage_ = storage;
    capacity_ = capacity;
    used_ = 0;
    holding_ = storage != nullptr && capacity > length_bytes;
  }

  void write_line(const char* text, size_t length) override {
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

  // Writes out every held line in order and stops holding: later lines go straight to
  // the device. Then flushes the device.
  void flush_output() override {
    if (device_ == nullptr) return;
    write_out();
    holding_ = false;
    device_->flush_output();
  }

  bool holding() const { return holding_; }
  size_t held_bytes() const { return used_; }

 private:
  // Each held line: its length in a word, then its text from the next word (a log line's
  // text starts on a word: the copy goes a word at a time), padded to a word.
  static constexpr size_t length_bytes = 8;
  static constexpr size_t padded(size_t length) { return (length + length_bytes - 1) & ~(length_bytes - 1); }

  void write_out() {
    for (size_t at = 0; at < used_;) {
      size_t length = 0;
      rt::copy(&length, storage_ + at, sizeof(length));
      device_->write_line(storage_ + at + length_bytes, length);
      at += length_bytes + padded(length);
    }
    used_ = 0;
  }

  Device* device_ = nullptr;
  char* storage_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  bool holding_ = false;
};

}  // namespace bulkhead
