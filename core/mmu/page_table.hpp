// Builds AArch64 translation tables (4 KiB granule, 48-bit input, levels 0-3) in memory
// handed out by a PagePool. Portable: the host tests walk what it builds.
//
// Mappings are only ever added into invalid entries. Re-mapping an address with
// different attributes is refused rather than done without break-before-make, so the
// live EL2 tables can be extended safely while the MMU is on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead {

// Physical pages for tables. `pointer` turns a table's physical address into something
// the builder can write through (identity on the target, a lookup on the host).
class PagePool {
 public:
  virtual uint64_t allocate_zeroed_page() = 0;  // 0 when exhausted
  virtual uint64_t* pointer(uint64_t physical) = 0;

 protected:
  ~PagePool() = default;
};

// Memory types, matching the MAIR_EL2 layout programmed by the target (see mair_value).
enum class MemoryType : uint8_t { device_nGnRnE = 0, device_nGnRE = 1, normal_write_back = 2, normal_non_cacheable = 3 };
// Attr0 Device-nGnRnE (0x00), Attr1 Device-nGnRE (0x04), Attr2 Normal WB (0xff), Attr3 Normal NC (0x44).
constexpr uint64_t mair_value = (0x04ull << 8) | (0xffull << 16) | (0x44ull << 24);

struct MapAttributes {
  MemoryType type = MemoryType::normal_write_back;
  bool writable = true;
  bool executable = false;
};

// Which translation the tables serve. The table format is the same; leaf attributes
// differ: EL2 stage 1 indexes MAIR_EL2 and has a single privilege level, stage 2 encodes
// the memory type directly (MemAttr) and grants guest read/write (S2AP). An SMMU stage-1
// context (a device's DMA) indexes the MAIR its context descriptor carries (mair_value),
// grants access to unprivileged transactions (AP[1], as PCIe requests are) and tags
// entries with the context's ASID (nG).
enum class Regime : uint8_t { el2_stage1, stage2, smmu_stage1 };

enum class MapResult : uint8_t { ok, out_of_pages, conflict, misaligned };
const char* map_result_name(MapResult result);

class PageTable {
 public:
  static constexpr uint64_t page_size = 4096;
  static constexpr unsigned input_bits = 48;

  constexpr explicit PageTable(PagePool& pool, Regime regime = Regime::el2_stage1) : pool_(pool), regime_(regime) {}
  // Resumes tables an earlier PageTable built (its root()) in the same pool and regime.
  constexpr PageTable(PagePool& pool, Regime regime, uint64_t root) : pool_(pool), regime_(regime), root_(root) {}
  // Allocates the level-0 table. Returns false when the pool is empty.
  bool initialise();
  uint64_t root() const { return root_; }

  // Identity-or-not mapping of [virtual, virtual+size) to physical, with the largest
  // blocks that alignment allows. Page-aligned arguments required.
  MapResult map(uint64_t virtual_address, uint64_t physical_address, uint64_t size, MapAttributes attributes);

  // Removes every mapping in [virtual, virtual+size) (page-aligned). Whole blocks and
  // pages only: a block the range covers in part is `conflict`, and then nothing was
  // removed. Unmapped addresses are fine. Tables stay allocated (the pool is static).
  // The caller invalidates TLBs afterwards (break-before-make: entries are invalid first).
  MapResult unmap(uint64_t virtual_address, uint64_t size);

  struct Translation {
    bool mapped = false;
    uint64_t physical = 0;
    uint64_t descriptor = 0;
    unsigned level = 0;  // level of the leaf: 1 (1 GiB), 2 (2 MiB) or 3 (4 KiB)
  };
  Translation translate(uint64_t virtual_address) const;

  static uint64_t leaf_attributes(MapAttributes attributes, Regime regime = Regime::el2_stage1);

 private:
  MapResult map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, uint64_t leaf_bits);
  // `clear` false: only checks that no block is covered in part.
  bool unmap_level(uint64_t* table, unsigned level, uint64_t va, uint64_t size, bool clear);

  PagePool& pool_;
  Regime regime_;
  uint64_t root_ = 0;
};

}  // namespace bulkhead
