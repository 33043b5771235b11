// The target's ITS edge (AArch64 at EL2, identity-mapped): register frames as Device
// memory (the ITS's control frame, each redistributor's RD_base frame), table memory from
// a static pool with the cache maintenance a non-coherent ITS or redistributor needs, and
// the generic counter as the clock. Included by target code only.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/sysreg.hpp"
#include "core/its/hardware.hpp"

namespace bulkhead::its {

class MmioRegisters final : public Registers {
 public:
  constexpr MmioRegisters() = default;
  void attach(uint64_t base) { base_ = base; }
  // Reads complete before the memory reads that follow.
  uint32_t read32(uint32_t offset) override {
    const uint32_t value = *reinterpret_cast<volatile uint32_t*>(base_ + offset);
    asm volatile("dsb ld" ::: "memory");
    return value;
  }
  uint64_t read64(uint32_t offset) override {
    const uint64_t value = *reinterpret_cast<volatile uint64_t*>(base_ + offset);
    asm volatile("dsb ld" ::: "memory");
    return value;
  }
  // Table and command writes reach the ITS before the register write that hands them over.
  void write32(uint32_t offset, uint32_t value) override {
    asm volatile("dsb st" ::: "memory");
    *reinterpret_cast<volatile uint32_t*>(base_ + offset) = value;
  }
  void write64(uint32_t offset, uint64_t value) override {
    asm volatile("dsb st" ::: "memory");
    *reinterpret_cast<volatile uint64_t*>(base_ + offset) = value;
  }

 private:
  uint64_t base_ = 0;
};

// A static pool, identity-mapped (physical address = pointer), 4 KiB aligned; 64 KiB
// aligned wastes nothing to the pending tables' alignment.
class PoolMemory final : public PagePool {
 public:
  constexpr PoolMemory() = default;
  void attach_pool(void* pool, uint64_t size) { attach(reinterpret_cast<uint64_t>(pool), pool, size); }
  void publish(uint64_t physical, uint64_t bytes, bool coherent) override {
    if (!coherent) {
      const uint64_t line = 4ull << ((BULKHEAD_READ_SYSREG(ctr_el0) >> 16) & 0xf);
      for (uint64_t address = physical & ~(line - 1); address < physical + bytes; address += line) {
        asm volatile("dc cvac, %0" ::"r"(address) : "memory");
      }
    }
    asm volatile("dsb sy" ::: "memory");
  }
};

class CounterClock final : public Clock {
 public:
  uint64_t now_us() override {
    const uint64_t ticks = arch::counter(), frequency = arch::counter_frequency();
    return ticks / frequency * 1000000 + ticks % frequency * 1000000 / frequency;
  }
  void relax() override { asm volatile("yield" ::: "memory"); }
};

}  // namespace bulkhead::its
