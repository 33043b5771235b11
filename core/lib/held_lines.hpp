// The boot report held in memory until the first partition's CPU is on its way into its
// guest, then written out in order: formatting a line is cheap, writing it to a UART is
// not (under QEMU a store per character; on hardware at 115,200 baud about 5 ms a line),
// and no partition should wait for the report of the boot that starts it. Portable.
//
// One writer at a time: the boot CPU while the boot holds lines; once released, the
// shared console's drainer (under its lock). A flush (power-off, a crash on the boot
// CPU, the shared console's first drain) writes everything held before anything newer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/log.hpp"

namespace bulkhead {

class HeldLines final : public log::LineSink {
 public:
  // From now on lines wait in `storage` (`capacity` bytes, 8-byte aligned) for
  // flush_output(), then go to `device`. A line that does not fit writes out what is
  // held first.
  void hold(log::LineSink* device, char* storage, size_t capacity);
  void write_line(const char* text, size_t length) override;
  // Writes out every held line in order and stops holding: later lines go straight to
  // the device. Then flushes the device.
  void flush_output() override;
  bool holding() const { return holding_; }
  size_t held_bytes() const { return used_; }

 private:
  void write_out();
  log::LineSink* device_ = nullptr;
  char* storage_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  bool holding_ = false;
};

}  // namespace bulkhead
