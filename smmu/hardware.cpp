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
  // rt::fill() zeroes a word at a time, whole cache blocks with DC ZVA on the target.
  rt::fill(host_ + start, 0, block);
  used_ = start + block;
  return base_ + start;
}

void* RegionMemory::pointer(uint64_t physical) {
  if (!contains(physical, 1)) return nullptr;
  return host_ + (physical - base_);
}

}  // namespace bulkhead::smmu
