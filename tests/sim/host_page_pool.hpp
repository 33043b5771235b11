// Host pages standing in for physical memory in page-table tests: the "physical
// address" of a page is its host pointer.
#pragma once

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/mmu/page_table.hpp"

namespace bulkhead::sim {

class HostPagePool final : public PagePool {
 public:
  explicit HostPagePool(size_t capacity = 4096) : capacity_(capacity) {}
  ~HostPagePool() {
    for (void* page : pages_) std::free(page);
  }
  HostPagePool(const HostPagePool&) = delete;
  HostPagePool& operator=(const HostPagePool&) = delete;

  uint64_t allocate_zeroed_page() override {
    if (pages_.size() == capacity_) return 0;
    void* page = std::aligned_alloc(4096, 4096);
    std::memset(page, 0, 4096);
    pages_.push_back(page);
    return reinterpret_cast<uint64_t>(page);
  }
  uint64_t* pointer(uint64_t physical) override { return reinterpret_cast<uint64_t*>(physical); }
  size_t used() const { return pages_.size(); }

 private:
  size_t capacity_;
  std::vector<void*> pages_;
};

}  // namespace bulkhead::sim
