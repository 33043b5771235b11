// What a driver of memory-mapped hardware (core/its, smmu/) needs to reach its device:
// a register window and a clock that bounds every poll. The target implements them in
// core/arch/aarch64/device_mmio.hpp; host tests with simulated hardware (tests/sim/).
#pragma once

#include <cstdint>

namespace bulkhead::lib {

// One device's register window (or frame). Offsets are the device's register offsets;
// 64-bit accesses only for its 64-bit registers.
class RegisterWindow {
 public:
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  virtual uint64_t read64(uint32_t offset) = 0;
  virtual void write64(uint32_t offset, uint64_t value) = 0;

 protected:
  ~RegisterWindow() = default;
};

// Time for bounded polls.
class PollClock {
 public:
  virtual uint64_t now_us() = 0;
  // Called between two polls (a short pause; never a wait that needs an event).
  virtual void relax() = 0;

 protected:
  ~PollClock() = default;
};

}  // namespace bulkhead::lib
