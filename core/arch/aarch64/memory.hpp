// Writing memory another agent reads with caches off: a guest starting with its MMU
// off reads RAM itself (the point of coherency), not this CPU's caches. Target only.
//
// The hypervisor writes partition RAM through its cacheable EL2 identity map, then
// cleans and invalidates the lines to the point of coherency: the data is in RAM for
// a guest that reads it non-cacheably, and no line stays behind that could later be
// evicted over what the guest writes meanwhile, or be hit, stale, once the guest turns
// its caches on after writing with them off. Zeroing uses DC ZVA, which takes over a
// line whatever state it was in (another CPU's dirty copy included), so the zeros
// replace everything older.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/sysreg.hpp"

namespace bulkhead::arch {

// CTR_EL0.DminLine, bits [19:16]: log2 of the smallest data cache line, in 4-byte words.
inline uint64_t data_cache_line_bytes() { return 4ull << ((BULKHEAD_READ_SYSREG(ctr_el0) >> 16) & 0xf); }

// DCZID_EL0: BS, bits [3:0], log2 of the DC ZVA block in 4-byte words; DZP, bit 4, set
// when DC ZVA is prohibited.
struct DcZva {
  uint64_t block_bytes = 0;  // 0: DC ZVA may not be used
};
inline DcZva dc_zva() {
  const uint64_t dczid = BULKHEAD_READ_SYSREG(dczid_el0);
  return {(dczid & (1u << 4)) != 0 ? 0 : 4ull << (dczid & 0xf)};
}

// DC ZVA over `count` blocks of dc_zva().block_bytes from `start` (aligned to it):
// rt::fill()'s zeroing of large ranges once the MMU is on (rt::set_block_zeroer()).
inline void zero_blocks(void* start, size_t count) {
  const uint64_t block = dc_zva().block_bytes;
  uint64_t address = reinterpret_cast<uint64_t>(start);
  for (; count >= 8; count -= 8, address += 8 * block) {
#pragma GCC unroll 8
    for (uint64_t i = 0; i < 8; ++i) asm volatile("dc zva, %0" ::"r"(address + i * block) : "memory");
  }
  for (; count != 0; --count, address += block) asm volatile("dc zva, %0" ::"r"(address) : "memory");
}

// DC CIVAC over every line of [start, start+size), then DSB: the bytes are at the
// point of coherency and no cache holds them.
inline void clean_invalidate_to_poc(const void* start, uint64_t size) {
  if (size == 0) return;
  const uint64_t line = data_cache_line_bytes();
  uint64_t address = reinterpret_cast<uint64_t>(start) & ~(line - 1);
  const uint64_t end = reinterpret_cast<uint64_t>(start) + size;
  // Eight lines per iteration, one register stepping line by line (2.25 instructions a
  // line; an address computed per line from a base took 2.7): a partition's payload is
  // cleaned this way before its first instruction.
  for (; end - address >= 8 * line;) {  // NOLINT(bugprone-infinite-loop): the asm advances `address`
    asm volatile(
        "dc civac, %0\n add %0, %0, %1\n dc civac, %0\n add %0, %0, %1\n"
        "dc civac, %0\n add %0, %0, %1\n dc civac, %0\n add %0, %0, %1\n"
        "dc civac, %0\n add %0, %0, %1\n dc civac, %0\n add %0, %0, %1\n"
        "dc civac, %0\n add %0, %0, %1\n dc civac, %0\n add %0, %0, %1"
        : "+r"(address)
        : "r"(line)
        : "memory");
  }
  for (; address < end; address += line) asm volatile("dc civac, %0" ::"r"(address) : "memory");
  data_barrier();
}

// Zeroes [start, start+size) and leaves it at the point of coherency, nothing cached:
// DC ZVA on whole blocks (byte stores at the unaligned ends), then
// clean_invalidate_to_poc().
inline void zero_to_poc(void* start, uint64_t size) {
  auto* bytes = static_cast<volatile uint8_t*>(start);
  const uint64_t begin = reinterpret_cast<uint64_t>(start);
  const uint64_t end = begin + size;
  const uint64_t block = dc_zva().block_bytes;
  uint64_t from = end;  // [from, to): zeroed by blocks
  uint64_t to = end;
  if (block != 0 && ((begin + block - 1) & ~(block - 1)) < (end & ~(block - 1))) {
    from = (begin + block - 1) & ~(block - 1);
    to = end & ~(block - 1);
    uint64_t address = from;
    for (; address + 8 * block <= to; address += 8 * block) {
#pragma GCC unroll 8
      for (uint64_t i = 0; i < 8; ++i) asm volatile("dc zva, %0" ::"r"(address + i * block) : "memory");
    }
    for (; address < to; address += block) asm volatile("dc zva, %0" ::"r"(address) : "memory");
  }
  for (uint64_t i = 0; i < from - begin; ++i) bytes[i] = 0;
  for (uint64_t i = to - begin; i < size; ++i) bytes[i] = 0;
  clean_invalidate_to_poc(start, size);
}

}  // namespace bulkhead::arch
