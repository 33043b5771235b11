#include "core/its/hardware.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::its {

void PagePool::attach(uint64_t physical_base, void* host, uint64_t size) {
  base_ = physical_base;
  host_ = static_cast<uint8_t*>(host);
  page_count_ = physical_base % page != 0 ? 0 : static_cast<size_t>(size / page);
  if (page_count_ > max_pages) page_count_ = max_pages;
  used_pages_ = 0;
  rt::fill(used_, 0, sizeof(used_));
}

void PagePool::mark(size_t first, size_t count, bool used) {
  for (size_t i = first; i < first + count; ++i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (used) {
      used_[i / 64] |= bit;
    } else {
      used_[i / 64] &= ~bit;
    }
  }
}

uint64_t PagePool::allocate(uint64_t bytes, uint64_t alignment) {
  if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return 0;
  const uint64_t pages = (bytes + page - 1) / page;
  if (pages > page_count_) return 0;
  const uint64_t step = alignment < page ? page : alignment;
  // The first page index whose address is aligned, then every `step` bytes.
  const uint64_t first_aligned = ((base_ + step - 1) & ~(step - 1)) - base_;
  for (uint64_t offset = first_aligned; offset / page + pages <= page_count_; offset += step) {
    const size_t start = static_cast<size_t>(offset / page);
    bool free = true;
    for (size_t i = start; i < start + pages && free; ++i) free = !page_used(i);
    if (!free) continue;
    mark(start, static_cast<size_t>(pages), true);
    used_pages_ += static_cast<size_t>(pages);
    rt::fill(host_ + offset, 0, static_cast<size_t>(pages * page));
    return base_ + offset;
  }
  return 0;
}

void PagePool::release(uint64_t physical, uint64_t bytes) {
  const uint64_t pages = (bytes + page - 1) / page;
  if (bytes == 0 || (physical - base_) % page != 0 || !contains(physical, pages * page)) return;
  const size_t start = static_cast<size_t>((physical - base_) / page);
  for (size_t i = start; i < start + pages; ++i) {
    if (page_used(i)) --used_pages_;
  }
  mark(start, static_cast<size_t>(pages), false);
}

void* PagePool::pointer(uint64_t physical) {
  if (!contains(physical, 1)) return nullptr;
  return host_ + (physical - base_);
}

}  // namespace bulkhead::its
