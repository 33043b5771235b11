// The target's SMMU edge (AArch64 at EL2, identity-mapped): the register window as
// Device memory, DMA memory from a static pool with the cache maintenance a
// non-coherent SMMU needs, and the generic counter as the clock. Included by target
// code only (partitions/boot/).
#pragma once

#include <cstdint>

#include "core/arch/aarch64/sysreg.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::smmu {

class MmioRegisters final : public Registers {
 public:
  constexpr MmioRegisters() = default;
  void attach(uint64_t base) { base_ = base; }
  // Reads complete before the memory reads that follow (event records after PROD).
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
  // Memory writes (commands, STEs) reach the SMMU before the register write that hands them over.
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

// A static pool, identity-mapped: physical address = pointer.
class PoolMemory final : public RegionMemory {
 public:
  constexpr PoolMemory() = default;
  void attach_pool(void* pool, uint64_t size) { attach(reinterpret_cast<uint64_t>(pool), pool, size); }
  void publish(uint64_t physical, uint64_t bytes, bool coherent) override {
    if (!coherent) {
      for_each_line(physical, bytes, [](uint64_t line) { asm volatile("dc cvac, %0" ::"r"(line) : "memory"); });
    }
    asm volatile("dsb sy" ::: "memory");
  }
  void refresh(uint64_t physical, uint64_t bytes, bool coherent) override {
    asm volatile("dsb sy" ::: "memory");
    if (!coherent) {
      for_each_line(physical, bytes, [](uint64_t line) { asm volatile("dc civac, %0" ::"r"(line) : "memory"); });
      asm volatile("dsb sy" ::: "memory");
    }
  }

 private:
  template <typename Operation>
  static void for_each_line(uint64_t start, uint64_t bytes, Operation operation) {
    const uint64_t line = 4ull << ((BULKHEAD_READ_SYSREG(ctr_el0) >> 16) & 0xf);
    for (uint64_t address = start & ~(line - 1); address < start + bytes; address += line) operation(address);
  }
};

class CounterClock final : public Clock {
 public:
  uint64_t now_us() override {
    const uint64_t ticks = arch::counter(), frequency = arch::counter_frequency();
    return ticks / frequency * 1000000 + ticks % frequency * 1000000 / frequency;  // no overflow for ages
  }
  void relax() override { asm volatile("yield" ::: "memory"); }
};

}  // namespace bulkhead::smmu
