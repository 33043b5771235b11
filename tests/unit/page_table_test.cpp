#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <memory>
#include <vector>

#include "core/mmu/page_table.hpp"
#include "tests/sim/host_page_pool.hpp"

using namespace bulkhead;

namespace {
using sim::HostPagePool;

constexpr MapAttributes normal{MemoryType::normal_write_back, true, true};
constexpr MapAttributes device{MemoryType::device_nGnRE, true, false};
}  // namespace

TEST_CASE("page table: uses the largest blocks alignment allows") {
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  REQUIRE(table.map(0x40000000, 0x40000000, 0x80000000, normal) == MapResult::ok);
  auto t = table.translate(0x40001234);
  CHECK(t.mapped);
  CHECK(t.physical == 0x40001234);
  CHECK(t.level == 1);
  CHECK(pool.used() == 2);  // level 0 + one level 1
  CHECK_FALSE(table.translate(0x3ffff000).mapped);
  CHECK_FALSE(table.translate(0xc0000000).mapped);
  CHECK(table.translate(0xbfffffff).mapped);
}

TEST_CASE("page table: splits an unaligned range into 2 MiB and 4 KiB entries") {
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  // GICv3 redistributors on QEMU virt: 0x80a0000 + 0xf60000.
  REQUIRE(table.map(0x80a0000, 0x80a0000, 0xf60000, device) == MapResult::ok);
  CHECK(table.translate(0x80a0000).level == 3);
  CHECK(table.translate(0x8200000).level == 2);
  CHECK(table.translate(0x8ffffff).mapped);
  CHECK_FALSE(table.translate(0x9000000).mapped);
  CHECK_FALSE(table.translate(0x809f000).mapped);
}

TEST_CASE("page table: attributes encode memory type, access and execute-never") {
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  REQUIRE(table.map(0x9000000, 0x9000000, 0x1000, device) == MapResult::ok);
  const uint64_t d = table.translate(0x9000000).descriptor;
  CHECK(((d >> 2) & 7) == static_cast<uint64_t>(MemoryType::device_nGnRE));
  CHECK((d & (1ull << 54)) != 0);  // device: never executable
  CHECK((d & (1ull << 10)) != 0);  // access flag set
  CHECK((d & 3) == 3);             // level-3 page descriptor
  REQUIRE(table.map(0x40000000, 0x40000000, 0x200000, MapAttributes{MemoryType::normal_write_back, false, true}) == MapResult::ok);
  const uint64_t n = table.translate(0x40000000).descriptor;
  CHECK((n & (1ull << 54)) == 0);
  CHECK((n & (1ull << 7)) != 0);   // read-only
  CHECK(((n >> 8) & 3) == 3);      // inner shareable
  CHECK((n & 3) == 1);             // level-2 block descriptor
}

TEST_CASE("page table: non-identity mapping translates") {
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  REQUIRE(table.map(0x80000000, 0x100000000, 0x400000, normal) == MapResult::ok);
  CHECK(table.translate(0x80123000).physical == 0x100123000);
}

TEST_CASE("page table: re-mapping the same translation is accepted, a different one refused") {
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  REQUIRE(table.map(0x40000000, 0x40000000, 0x40000000, normal) == MapResult::ok);
  CHECK(table.map(0x40200000, 0x40200000, 0x1000, normal) == MapResult::ok);  // inside the 1 GiB block
  CHECK(table.map(0x40200000, 0x40200000, 0x1000, device) == MapResult::conflict);
  CHECK(table.map(0x40200000, 0x50200000, 0x1000, normal) == MapResult::conflict);
  REQUIRE(table.map(0x9000000, 0x9000000, 0x1000, device) == MapResult::ok);
  CHECK(table.map(0x9000000, 0x9000000, 0x1000, device) == MapResult::ok);
  CHECK(table.map(0x9000000, 0x9000000, 0x1000, normal) == MapResult::conflict);
}

TEST_CASE("page table: a range over an entry that is already a table fills the table in") {
  // U-Boot relocates the DTB near the top of RAM: its 2 MiB are mapped first, then all
  // of RAM, whose 1 GiB entries must not be refused for already being tables.
  HostPagePool pool(16);
  PageTable table(pool);
  REQUIRE(table.initialise());
  REQUIRE(table.map(0xbdc00000, 0xbdc00000, 0x200000, normal) == MapResult::ok);
  REQUIRE(table.map(0x80000000, 0x80000000, 0x40000000, normal) == MapResult::ok);
  CHECK(table.translate(0x80000000).mapped);
  CHECK(table.translate(0x80000000).level == 2);
  CHECK(table.translate(0xbdcab000).physical == 0xbdcab000);
  CHECK(table.translate(0xbfffffff).mapped);
  CHECK_FALSE(table.translate(0xc0000000).mapped);
  // Still refused when an existing finer entry disagrees.
  HostPagePool other_pool(16);
  PageTable other(other_pool);
  REQUIRE(other.initialise());
  REQUIRE(other.map(0x80200000, 0x80200000, 0x1000, device) == MapResult::ok);
  CHECK(other.map(0x80000000, 0x80000000, 0x40000000, normal) == MapResult::conflict);
}

TEST_CASE("page table: bad arguments and pool exhaustion are reported") {
  HostPagePool pool(3);
  PageTable table(pool);
  REQUIRE(table.initialise());
  CHECK(table.map(0x1001, 0x1000, 0x1000, device) == MapResult::misaligned);
  CHECK(table.map(0x1000, 0x1000, 0x800, device) == MapResult::misaligned);
  CHECK(table.map(1ull << 48, 0, 0x1000, device) == MapResult::misaligned);
  CHECK(table.map(0xfffffffff000ull, 0, 0x2000, device) == MapResult::misaligned);
  CHECK(table.map(0x1000, 0x1000, 0x1000, device) == MapResult::out_of_pages);  // needs L1, L2, L3
  CHECK(std::string(map_result_name(MapResult::out_of_pages)) == "out of page-table pages");
  HostPagePool empty(0);
  PageTable none(empty);
  CHECK_FALSE(none.initialise());
}

TEST_CASE("page table: SMMU stage-1 leaves index the context's MAIR, allow unprivileged DMA and are ASID-tagged") {
  HostPagePool pool(16);
  PageTable table(pool, Regime::smmu_stage1);
  REQUIRE(table.initialise());
  // A partition's RAM: IOVA (guest-physical) 0x40000000 backed by host 0x60000000.
  REQUIRE(table.map(0x40000000, 0x60000000, 0x400000, MapAttributes{MemoryType::normal_write_back, true, false}) ==
          MapResult::ok);
  const auto ram = table.translate(0x40201000);
  REQUIRE(ram.mapped);
  CHECK(ram.physical == 0x60201000);
  CHECK(ram.level == 2);
  const uint64_t d = ram.descriptor;
  CHECK(((d >> 2) & 7) == static_cast<uint64_t>(MemoryType::normal_write_back));  // AttrIndx
  CHECK((d & (1ull << 6)) != 0);   // AP[1]: unprivileged transactions allowed
  CHECK((d & (1ull << 7)) == 0);   // AP[2] clear: writable
  CHECK(((d >> 8) & 3) == 3);      // inner shareable
  CHECK((d & (1ull << 10)) != 0);  // access flag
  CHECK((d & (1ull << 11)) != 0);  // nG: tagged with the context's ASID
  CHECK((d & (1ull << 53)) != 0);  // PXN
  CHECK((d & (1ull << 54)) != 0);  // UXN
  // A doorbell page: device memory, still never executable.
  REQUIRE(table.map(0x08090000, 0x08090000, 0x1000, MapAttributes{MemoryType::device_nGnRE, true, true}) == MapResult::ok);
  const uint64_t doorbell = table.translate(0x08090000).descriptor;
  CHECK(((doorbell >> 2) & 7) == static_cast<uint64_t>(MemoryType::device_nGnRE));
  CHECK(((doorbell >> 8) & 3) == 0);  // device memory: no shareability bits
  CHECK((doorbell & (3ull << 53)) == (3ull << 53));
  const uint64_t read_only = PageTable::leaf_attributes({MemoryType::normal_write_back, false, true}, Regime::smmu_stage1);
  CHECK((read_only & (1ull << 7)) != 0);
  CHECK((read_only & (3ull << 53)) == 0);  // executable when asked, for normal memory
  // The other regimes are unchanged by the SMMU one.
  CHECK((PageTable::leaf_attributes({MemoryType::normal_write_back, true, false}) & (1ull << 11)) == 0);
  CHECK((PageTable::leaf_attributes({MemoryType::normal_write_back, true, false}, Regime::stage2) & (1ull << 53)) == 0);
}

TEST_CASE("page table: unmap removes whole pages and blocks, refuses a block covered in part") {
  HostPagePool pool(16);
  PageTable table(pool, Regime::stage2);
  REQUIRE(table.initialise());
  // A BAR of 2 MiB + 8 KiB: one 2 MiB block and two pages (as stage 2 maps a guest BAR).
  REQUIRE(table.map(0x10000000, 0x8000000000, 0x202000, device) == MapResult::ok);
  REQUIRE(table.translate(0x10000000).level == 2);
  REQUIRE(table.translate(0x10201000).level == 3);
  // Part of the block: refused, and nothing was removed (not even the pages after it).
  CHECK(table.unmap(0x10100000, 0x102000) == MapResult::conflict);
  CHECK(table.translate(0x10100000).mapped);
  CHECK(table.translate(0x10201000).mapped);
  CHECK(table.unmap(0x10000800, 0x1000) == MapResult::misaligned);
  // One page of the two: only it goes.
  CHECK(table.unmap(0x10201000, 0x1000) == MapResult::ok);
  CHECK_FALSE(table.translate(0x10201000).mapped);
  CHECK(table.translate(0x10200000).mapped);
  // The whole range, unmapped parts and all, then the range is free to map elsewhere.
  CHECK(table.unmap(0x10000000, 0x400000) == MapResult::ok);
  CHECK_FALSE(table.translate(0x10000000).mapped);
  CHECK_FALSE(table.translate(0x101ff000).mapped);
  CHECK_FALSE(table.translate(0x10200000).mapped);
  CHECK(table.map(0x10000000, 0x8000400000, 0x1000, device) == MapResult::ok);
  CHECK(table.translate(0x10000000).physical == 0x8000400000);
  // Nothing mapped at all: fine.
  CHECK(table.unmap(0x7000000000, 0x1000) == MapResult::ok);
}
