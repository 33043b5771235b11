#include "smmu/hardware.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::smmu {

uint64_t RegionMemory::allocate(uint64_t bytes) {
  if (bytes == 0 || host_ == nullptr) return 0;
  uint64_t block = 64;
  while (block < bytes) block <<= 1;
  // Natural alignment of the physical address (the region's base may be less aligned).
  const uint64_t start = ((base_ + used_ + block - 1) & ~(block - 1)) - base_;
  if (start > size_ || block > size_ - start) return 0;
  // Blocks are 64-byte multiples: zero them a doubleword at a time when the CPU's view
  // allows (the target's pool does), not byte by byte.
  uint8_t* host = host_ + start;
  if (reinterpret_cast<uintptr_t>(host) % alignof(uint64_t) == 0) {
    auto* words = static_cast<uint64_t*>(static_cast<void*>(host));
    for (uint64_t i = 0; i < block / sizeof(uint64_t); ++i) words[i] = 0;
  } else {
    rt::fill(host, 0, block);
  }
  used_ = start + block;
  return base_ + start;
}

void* RegionMemory::pointer(uint64_t physical) {
  if (!contains(physical, 1)) return nullptr;
  return host_ + (physical - base_);
}

}  // namespace bulkhead::smmu
