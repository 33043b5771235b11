// RegionMemory, the bump allocator under every SMMU table and queue (the target's pool
// and the host tests' buffer): natural alignment of the physical address, zeroed blocks
// whatever the CPU view's alignment, exhaustion, and the bounds of pointer().
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "smmu/hardware.hpp"
#include "smmu/stream_table.hpp"

using namespace bulkhead;

namespace {

class Pool final : public smmu::RegionMemory {
 public:
  void publish(uint64_t, uint64_t, bool) override {}
  void refresh(uint64_t, uint64_t, bool) override {}
};

}  // namespace

TEST_CASE("smmu memory: blocks are naturally aligned physically, even in a region that is not") {
  std::vector<uint8_t> buffer(64 << 10, 0xa5);
  Pool pool;
  pool.attach(0x7000000040ull, buffer.data(), buffer.size());  // 64-byte aligned only
  const uint64_t small = pool.allocate(1);
  CHECK(small == 0x7000000040ull);  // at least 64 bytes
  const uint64_t page = pool.allocate(4096);
  CHECK(page == 0x7000001000ull);
  CHECK(pool.used_bytes() == 0x2000 - 0x40);
  const uint64_t odd = pool.allocate(100);  // rounded up to 128
  CHECK(odd == 0x7000002000ull);
  CHECK(pool.allocate(64) == 0x7000002080ull);
  for (const uint64_t block : {small, page, odd}) {
    const auto* bytes = static_cast<const uint8_t*>(pool.pointer(block));
    CHECK(bytes[0] == 0);  // zeroed
  }
  CHECK(pool.allocate(0) == 0);
}

TEST_CASE("smmu memory: blocks are zeroed whatever the alignment of the CPU's view") {
  std::vector<uint8_t> buffer((8 << 10) + 1, 0xa5);
  Pool pool;
  pool.attach(0x7000000000ull, buffer.data() + 1, 8 << 10);  // the host view is misaligned by one byte
  const uint64_t block = pool.allocate(4096);
  REQUIRE(block == 0x7000000000ull);
  const auto* bytes = static_cast<const uint8_t*>(pool.pointer(block));
  for (size_t i = 0; i < 4096; ++i) REQUIRE(bytes[i] == 0);
  CHECK(buffer[0] == 0xa5);          // nothing before the region touched
  CHECK(buffer[4096 + 1] == 0xa5);   // nor after the block
}

TEST_CASE("smmu memory: running out, and addresses outside the region") {
  std::vector<uint8_t> buffer(8 << 10);
  Pool pool;
  CHECK(pool.allocate(64) == 0);  // not attached yet
  pool.attach(0x7000000000ull, buffer.data(), buffer.size());
  CHECK(pool.allocate(16 << 10) == 0);  // larger than the region
  CHECK(pool.allocate(4096) == 0x7000000000ull);
  CHECK(pool.allocate(4096) == 0x7000001000ull);
  CHECK(pool.allocate(64) == 0);  // full
  CHECK(pool.used_bytes() == pool.capacity());
  CHECK(pool.pointer(0x7000001fffull) == buffer.data() + 0x1fff);
  CHECK(pool.pointer(0x7000002000ull) == nullptr);
  CHECK(pool.pointer(0x6fffffffffull) == nullptr);
  CHECK(pool.contains(0x7000000000ull, 8 << 10));
  CHECK_FALSE(pool.contains(0x7000000001ull, 8 << 10));
  CHECK_FALSE(pool.contains(0x7000000000ull, (8 << 10) + 1));
}

TEST_CASE("smmu memory: a stream table not yet allocated has no entries") {
  std::vector<uint8_t> buffer(8 << 10);
  Pool pool;
  pool.attach(0x7000000000ull, buffer.data(), buffer.size());
  const smmu::StreamTable table;  // 0 bits: StreamID 0 only, and nothing to read for it
  CHECK(table.entry(pool, 0) == nullptr);
  CHECK(table.entry(pool, 1) == nullptr);
  smmu::SteView view;
  CHECK(table.lookup(pool, 0, view) == smmu::StreamTable::Lookup::no_l2_table);
  CHECK(table.lookup(pool, 1, view) == smmu::StreamTable::Lookup::out_of_range);
}
