// What the ITS driver needs from its surroundings, as small interfaces: register frames
// (the ITS's control frame, each redistributor's RD_base frame), memory for the tables
// the ITS and the redistributors read (physical addresses, no heap), and a clock that
// bounds every wait. The target implements them in its_mmio.hpp; host tests with the
// simulated ITS (tests/sim/sim_its.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::its {

// One register frame. Offsets are those of registers.hpp; 64-bit accesses only for the
// 64-bit registers.
class Registers {
 public:
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  virtual uint64_t read64(uint32_t offset) = 0;
  virtual void write64(uint32_t offset, uint64_t value) = 0;

 protected:
  ~Registers() = default;
};

// Memory shared with the ITS and the redistributors.
class TableMemory {
 public:
  // `bytes` at a physical address that is a multiple of `alignment` (a power of two),
  // zeroed; 0 when there is no room.
  virtual uint64_t allocate(uint64_t bytes, uint64_t alignment) = 0;
  // Gives back exactly one earlier allocation, once the hardware no longer uses it.
  virtual void release(uint64_t physical, uint64_t bytes) = 0;
  virtual void* pointer(uint64_t physical) = 0;
  // CPU writes to [physical, +bytes) become visible to the ITS or a redistributor
  // (cleaned to the point of coherency when `coherent` is false), ordered before any
  // later register write.
  virtual void publish(uint64_t physical, uint64_t bytes, bool coherent) = 0;
  virtual uint64_t used_bytes() const = 0;

 protected:
  ~TableMemory() = default;
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

// Serialises the driver's users when more than one CPU may call it (the target: a spin
// lock). The driver itself is not thread-safe.
class Lock {
 public:
  virtual void lock() = 0;
  virtual void unlock() = 0;

 protected:
  ~Lock() = default;
};

// Holds `lock` (when there is one) for its scope.
class LockGuard {
 public:
  explicit LockGuard(Lock* lock) : lock_(lock) {
    if (lock_ != nullptr) lock_->lock();
  }
  ~LockGuard() {
    if (lock_ != nullptr) lock_->unlock();
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lock* lock_;
};

// A first-fit allocator of 4 KiB pages over one physically contiguous region: the
// target's static pool and the host tests' buffer. Alignment gaps stay usable, so the
// pending tables' 64 KiB alignment costs nothing but their own pages. `publish` is the
// user's (cache maintenance on the target, a device view in the tests).
class PagePool : public TableMemory {
 public:
  static constexpr uint64_t page = 0x1000;
  static constexpr size_t max_pages = 1024;  // 4 MiB

  constexpr PagePool() = default;
  // `physical_base` page-aligned; `host` is where the region is reachable from the CPU.
  // Pages beyond max_pages are not used.
  void attach(uint64_t physical_base, void* host, uint64_t size);
  uint64_t allocate(uint64_t bytes, uint64_t alignment) override;
  void release(uint64_t physical, uint64_t bytes) override;
  void* pointer(uint64_t physical) override;
  uint64_t used_bytes() const override { return used_pages_ * page; }
  uint64_t capacity() const { return page_count_ * page; }
  bool contains(uint64_t physical, uint64_t bytes) const {
    return physical >= base_ && bytes <= capacity() && physical - base_ <= capacity() - bytes;
  }

 protected:
  ~PagePool() = default;

 private:
  bool page_used(size_t index) const { return ((used_[index / 64] >> (index % 64)) & 1) != 0; }
  void mark(size_t first, size_t count, bool used);

  uint64_t base_ = 0;
  uint8_t* host_ = nullptr;
  size_t page_count_ = 0;
  size_t used_pages_ = 0;
  uint64_t used_[max_pages / 64] = {};
};

}  // namespace bulkhead::its
