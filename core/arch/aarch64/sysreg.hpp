// System-register access for the target build.
#pragma once

#include <cstdint>

#define BULKHEAD_READ_SYSREG(name)                        \
  ({                                                      \
    uint64_t value_;                                      \
    asm volatile("mrs %0, " #name : "=r"(value_));        \
    value_;                                               \
  })
#define BULKHEAD_WRITE_SYSREG(name, value) asm volatile("msr " #name ", %0" ::"r"(static_cast<uint64_t>(value)))

namespace bulkhead::arch {

inline void instruction_barrier() { asm volatile("isb" ::: "memory"); }
inline void data_barrier() { asm volatile("dsb sy" ::: "memory"); }
inline void send_event() { asm volatile("dsb ishst\n sev" ::: "memory"); }
inline void wait_for_event() { asm volatile("wfe" ::: "memory"); }
inline void wait_for_interrupt() { asm volatile("wfi" ::: "memory"); }

inline uint64_t counter() {
  instruction_barrier();
  return BULKHEAD_READ_SYSREG(cntpct_el0);
}
inline uint64_t counter_frequency() { return BULKHEAD_READ_SYSREG(cntfrq_el0); }
inline uint64_t own_mpidr() { return BULKHEAD_READ_SYSREG(mpidr_el1) & 0xff00ffffffull; }

// Writes dirty lines of [start, start+size) to the point of coherency, so a CPU that
// still has its MMU off (non-cacheable accesses) sees the data.
inline void clean_dcache_range(const void* start, uint64_t size) {
  const uint64_t line = 4ull << ((BULKHEAD_READ_SYSREG(ctr_el0) >> 16) & 0xf);
  uint64_t address = reinterpret_cast<uint64_t>(start) & ~(line - 1);
  const uint64_t end = reinterpret_cast<uint64_t>(start) + size;
  for (; address < end; address += line) asm volatile("dc cvac, %0" ::"r"(address) : "memory");
  data_barrier();
}

// Zeroes [start, start+size): whole DC ZVA blocks where it is allowed (DCZID_EL0.DZP
// clear), bytes at the unaligned ends. Scrubbing a 1 GiB partition so costs 16 M
// instructions, not a billion.
inline void zero_memory(void* start, uint64_t size) {
  auto* bytes = static_cast<volatile uint8_t*>(start);
  const uint64_t begin = reinterpret_cast<uint64_t>(start);
  const uint64_t dczid = BULKHEAD_READ_SYSREG(dczid_el0);
  const uint64_t block = 4ull << (dczid & 0xf);
  uint64_t from = begin + size;  // [from, to): zeroed by blocks
  uint64_t to = from;
  if ((dczid & (1u << 4)) == 0 && ((begin + block - 1) & ~(block - 1)) <= ((begin + size) & ~(block - 1))) {
    from = (begin + block - 1) & ~(block - 1);
    to = (begin + size) & ~(block - 1);
    for (uint64_t address = from; address < to; address += block) asm volatile("dc zva, %0" ::"r"(address) : "memory");
  }
  for (uint64_t i = 0; i < from - begin; ++i) bytes[i] = 0;
  for (uint64_t i = to - begin; i < size; ++i) bytes[i] = 0;
}

}  // namespace bulkhead::arch
