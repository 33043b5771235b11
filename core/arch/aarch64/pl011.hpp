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

 private:
  void put(char c);
  volatile uint32_t* registers_ = nullptr;
  SpinLock lock_;
};

}  // namespace bulkhead::arch
