// The physical PL011: the hypervisor's only output. Whole lines under one lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/spinlock.hpp"
#include "core/lib/log.hpp"

namespace bulkhead::arch {

class Pl011Console final : public log::LineSink {
 public:
  void attach(uint64_t base);
  void write_line(const char* text, size_t length) override;
  // Input: the receive (and receive-timeout) interrupt on or off, and one byte at a time.
  void set_receive_interrupt(bool enabled);
  bool read_byte(uint8_t& byte);

 private:
  void put(char c);
  volatile uint32_t* registers_ = nullptr;
  bool fifo_ = false;  // FIFOs on (attach() turns them on)
  SpinLock lock_;
};

}  // namespace bulkhead::arch
