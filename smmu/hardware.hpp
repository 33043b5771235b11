// What the SMMU driver needs from its surroundings, as small interfaces: the register
// window, memory the SMMU reads (tables, queues) with physical addresses, and a clock
// to bound every wait. The target implements them in smmu_mmio.hpp; host tests with
// the simulated SMMU (tests/sim/sim_smmu.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::smmu {

// The SMMU's register window. Offsets are those of registers.hpp; 64-bit accesses only
// for the 64-bit registers.
class Registers {
 public:
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  virtual uint64_t read64(uint32_t offset) = 0;
  virtual void write64(uint32_t offset, uint64_t value) = 0;

 protected:
  ~Registers() = default;
};

// Memory shared with the SMMU. Allocations are zeroed and naturally aligned (to their
// size rounded up to a power of two, at least 64 bytes); nothing is ever freed.
class DmaMemory {
 public:
  // Physical address of the block, 0 when there is no room.
  virtual uint64_t allocate(uint64_t bytes) = 0;
  virtual void* pointer(uint64_t physical) = 0;
  // CPU writes to [physical, +bytes) become visible to the SMMU (cleaned to the point
  // of coherency when `coherent` is false), ordered before any later register write.
  virtual void publish(uint64_t physical, uint64_t bytes, bool coherent) = 0;
  // What the SMMU wrote to [physical, +bytes) becomes visible to the CPU.
  virtual void refresh(uint64_t physical, uint64_t bytes, bool coherent) = 0;
  virtual uint64_t used_bytes() const = 0;

 protected:
  ~DmaMemory() = default;
};

// Time for bounded polls.
class Clock {
 public:
  virtual uint64_t now_us() = 0;
  // Called between two polls (a short pause; never a wait that needs an event).
  virtual void relax() = 0;

 protected:
  ~Clock() = default;
};

// A bump allocator over one physically contiguous region: the target's static pool and
// the host tests' buffer. `host` is where the region is reachable from the CPU.
class RegionMemory : public DmaMemory {
 public:
  constexpr RegionMemory() = default;
  void attach(uint64_t physical_base, void* host, uint64_t size) {
    base_ = physical_base;
    host_ = static_cast<uint8_t*>(host);
    size_ = size;
    used_ = 0;
  }
  uint64_t allocate(uint64_t bytes) override;
  void* pointer(uint64_t physical) override;
  uint64_t used_bytes() const override { return used_; }
  uint64_t capacity() const { return size_; }
  bool contains(uint64_t physical, uint64_t bytes) const {
    return physical >= base_ && bytes <= size_ && physical - base_ <= size_ - bytes;
  }

 protected:
  ~RegionMemory() = default;

 private:
  uint64_t base_ = 0;
  uint8_t* host_ = nullptr;
  uint64_t size_ = 0;
  uint64_t used_ = 0;
};

}  // namespace bulkhead::smmu
