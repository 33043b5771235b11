#pragma once
// Bit counting for the hypervisor. GCC's __builtin_popcount (and std::popcount) call
// libgcc's __popcountdi2 under -mgeneral-regs-only, and libgcc's copy counts with SIMD
// registers (CNT/ADDV on v0): called on a trap path it clobbers the guest's v0, whose FP/SIMD
// state the hypervisor never saves. The image links no libgcc, so that call would not link;
// this count uses general registers only.
#include <cstdint>

namespace bulkhead {

constexpr uint32_t count_ones(uint64_t bits) {
  bits = bits - ((bits >> 1) & 0x5555555555555555ULL);
  bits = (bits & 0x3333333333333333ULL) + ((bits >> 2) & 0x3333333333333333ULL);
  bits = (bits + (bits >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<uint32_t>((bits * 0x0101010101010101ULL) >> 56);
}

static_assert(count_ones(0) == 0 && count_ones(1) == 1 && count_ones(0xffffULL) == 16 &&
              count_ones(~0ULL) == 64 && count_ones(0x8000000000000001ULL) == 2);

}  // namespace bulkhead
