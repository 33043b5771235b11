// The target's side of lib/mmio_window.hpp (AArch64 at EL2, identity-mapped): a device's
// register window as Device memory, the generic counter as the poll clock, and the cache
// maintenance that memory shared with a non-coherent device needs. Used by the ITS and
// SMMU edges (core/its/its_mmio.hpp, smmu/smmu_mmio.hpp). Included by target code only.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/mmio_window.hpp"

namespace bulkhead::arch {

class DeviceWindow final : public lib::RegisterWindow {
 public:
  constexpr DeviceWindow() = default;
  void attach(uint64_t base) { base_ = base; }
  // Reads complete before the memory reads that follow (queue entries after a producer index).
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
  // Memory writes (tables, commands) reach the device before the register write that hands them over.
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

class CounterClock final : public lib::PollClock {
 public:
  uint64_t now_us() override {
    const uint64_t ticks = counter(), frequency = counter_frequency();
    return ticks / frequency * 1000000 + ticks % frequency * 1000000 / frequency;  // no overflow for ages
  }
  void relax() override { asm volatile("yield" ::: "memory"); }
};

// CPU writes to [physical, +bytes) become visible to a device (cleaned to the point of
// coherency unless the device snoops the caches), ordered before any later access.
inline void publish_to_device(uint64_t physical, uint64_t bytes, bool coherent) {
  if (!coherent) {
    const uint64_t line = dcache_line_bytes();
    for (uint64_t address = physical & ~(line - 1); address < physical + bytes; address += line) {
      asm volatile("dc cvac, %0" ::"r"(address) : "memory");
    }
  }
  data_barrier();
}

// What a device wrote to [physical, +bytes) becomes visible to the CPU (stale lines
// cleaned and invalidated unless the device snoops the caches).
inline void refresh_from_device(uint64_t physical, uint64_t bytes, bool coherent) {
  data_barrier();
  if (!coherent) {
    const uint64_t line = dcache_line_bytes();
    for (uint64_t address = physical & ~(line - 1); address < physical + bytes; address += line) {
      asm volatile("dc civac, %0" ::"r"(address) : "memory");
    }
    data_barrier();
  }
}

}  // namespace bulkhead::arch
