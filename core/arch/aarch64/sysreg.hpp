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

// Zeroes [start, start+size) with DC ZVA where whole blocks allow (the byte loop
// elsewhere): scrubbing a 1 GiB partition costs 16 M instructions, not a billion.
// Returns false if DC ZVA is prohibited (DCZID_EL0.DZP), having zeroed nothing.
inline bool zero_blocks(void* start, uint64_t size, uint64_t& done_from, uint64_t& done_to) {
  const uint64_t dczid = BULKHEAD_READ_SYSREG(dczid_el0);
  if ((dczid & (1u << 4)) != 0) return false;
  const uint64_t block = 4ull << (dczid & 0xf);
  const uint64_t begin = reinterpret_cast<uint64_t>(start);
  done_from = (begin + block - 1) & ~(block - 1);
  done_to = (begin + size) & ~(block - 1);
  if (done_to < done_from) done_to = done_from;
  for (uint64_t address = done_from; address < done_to; address += block) {
    asm volatile("dc zva, %0" ::"r"(address) : "memory");
  }
  return true;
}

}  // namespace bulkhead::arch
