#include "core/mmu/page_table.hpp"

namespace bulkhead {
namespace {

constexpr uint64_t descriptor_valid = 1ull << 0;
constexpr uint64_t descriptor_table = 1ull << 1;  // table (levels 0-2) or page (level 3)
constexpr uint64_t address_mask = 0x0000fffffffff000ull;
constexpr uint64_t access_flag = 1ull << 10;
constexpr uint64_t inner_shareable = 3ull << 8;
constexpr uint64_t ap_read_only = 1ull << 7;   // AP[2]
constexpr uint64_t ap_res1_el2 = 1ull << 6;    // AP[1] is RES1 in the EL2 regime
constexpr uint64_t ap_unprivileged = 1ull << 6;  // AP[1] in a two-privilege regime: EL0 may access
constexpr uint64_t not_global = 1ull << 11;
constexpr uint64_t privileged_execute_never = 1ull << 53;
constexpr uint64_t execute_never = 1ull << 54;  // XN; UXN in a two-privilege regime

constexpr unsigned level_shift(unsigned level) { return 39 - 9 * level; }
constexpr uint64_t level_size(unsigned level) { return 1ull << level_shift(level); }
constexpr unsigned index_at(uint64_t va, unsigned level) { return static_cast<unsigned>((va >> level_shift(level)) & 511); }
constexpr bool is_leaf(uint64_t descriptor, unsigned level) {
  return (descriptor & descriptor_valid) != 0 && (level == 3 || (descriptor & descriptor_table) == 0);
}

}  // namespace

const char* map_result_name(MapResult result) {
  switch (result) {
    case MapResult::ok: return "ok";
    case MapResult::out_of_pages: return "out of page-table pages";
    case MapResult::conflict: return "conflicts with an existing mapping";
    case MapResult::misaligned: return "not page-aligned or outside the 48-bit space";
  }
  return "unknown";
}

// Stage-2 MemAttr[3:0] (descriptor bits 5:2) for each memory type.
constexpr uint64_t stage2_memory_attribute(MemoryType type) {
  switch (type) {
    case MemoryType::device_nGnRnE: return 0x0;
    case MemoryType::device_nGnRE: return 0x1;
    case MemoryType::normal_write_back: return 0xf;   // outer and inner write-back
    case MemoryType::normal_non_cacheable: return 0x5;
  }
  return 0x0;
}
constexpr uint64_t s2ap_read = 1ull << 6;
constexpr uint64_t s2ap_write = 1ull << 7;

uint64_t PageTable::leaf_attributes(MapAttributes attributes, Regime regime) {
  const bool normal = attributes.type == MemoryType::normal_write_back || attributes.type == MemoryType::normal_non_cacheable;
  uint64_t bits = access_flag;
  if (regime == Regime::stage2) {
    bits |= stage2_memory_attribute(attributes.type) << 2 | s2ap_read;
    if (attributes.writable) bits |= s2ap_write;
  } else if (regime == Regime::smmu_stage1) {
    bits |= ap_unprivileged | not_global | (static_cast<uint64_t>(attributes.type) << 2);
    if (!attributes.writable) bits |= ap_read_only;
    if (!attributes.executable || !normal) bits |= privileged_execute_never;
  } else {
    bits |= ap_res1_el2 | (static_cast<uint64_t>(attributes.type) << 2);
    if (!attributes.writable) bits |= ap_read_only;
  }
  if (normal) bits |= inner_shareable;
  // Device memory is never executable: speculative instruction fetch must not reach it.
  if (!attributes.executable || !normal) bits |= execute_never;
  return bits;
}

bool PageTable::initialise() {
  root_ = pool_.allocate_zeroed_page();
  return root_ != 0;
}

MapResult PageTable::map(uint64_t virtual_address, uint64_t physical_address, uint64_t size, MapAttributes attributes) {
  constexpr uint64_t limit = 1ull << input_bits;
  if ((virtual_address | physical_address | size) & (page_size - 1)) return MapResult::misaligned;
  if (virtual_address >= limit || size > limit - virtual_address || physical_address >= limit || size > limit - physical_address) {
    return MapResult::misaligned;
  }
  if (size == 0) return MapResult::ok;
  return map_level(pool_.pointer(root_), 0, virtual_address, physical_address, size, leaf_attributes(attributes, regime_));
}

MapResult PageTable::map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, uint64_t leaf_bits) {
  while (size > 0) {
    const uint64_t block = level_size(level);
    const uint64_t chunk_end = (va | (block - 1)) + 1;  // end of this entry's span
    const uint64_t chunk = size < chunk_end - va ? size : chunk_end - va;
    uint64_t& entry = table[index_at(va, level)];
    const bool whole_entry = chunk == block && (va & (block - 1)) == 0 && (pa & (block - 1)) == 0;
    // Level-0 entries cannot be blocks with a 4 KiB granule. A whole entry that is
    // already a table (part of it was mapped before) is filled in below instead.
    const bool existing_table = entry != 0 && !is_leaf(entry, level);
    if (whole_entry && level >= 1 && entry == 0) {
      // The common case, a fresh mapping: a run of empty entries each covered whole.
      const uint64_t bits = leaf_bits | descriptor_valid | (level == 3 ? descriptor_table : 0);
      const unsigned first = index_at(va, level);
      const uint64_t room = 512 - first;
      const uint64_t wanted = size / block < room ? size / block : room;
      uint64_t* run = table + first;
      uint64_t descriptor = (pa & address_mask) | bits;
      uint64_t written = 1;
      run[0] = descriptor;
      for (; written < wanted && run[written] == 0; ++written) {
        descriptor += block;
        run[written] = descriptor;
      }
      va += written * block;
      pa += written * block;
      size -= written * block;
      continue;
    }
    if (whole_entry && level >= 1 && !existing_table) {
      const uint64_t wanted = (pa & address_mask) | leaf_bits | descriptor_valid | (level == 3 ? descriptor_table : 0);
      if (entry == 0) {
        entry = wanted;
      } else if (entry != wanted) {
        return MapResult::conflict;
      }
    } else {
      if (entry == 0) {
        const uint64_t next = pool_.allocate_zeroed_page();
        if (next == 0) return MapResult::out_of_pages;
        entry = next | descriptor_table | descriptor_valid;
      }
      if (is_leaf(entry, level)) {
        // Covered by a block already: accept only the same translation and attributes.
        const uint64_t block_pa = (entry & address_mask & ~(block - 1)) + (va & (block - 1));
        const uint64_t entry_bits = entry & ~address_mask & ~(descriptor_valid | descriptor_table);
        if (block_pa != pa || entry_bits != leaf_bits) return MapResult::conflict;
      } else {
        const MapResult result = map_level(pool_.pointer(entry & address_mask), level + 1, va, pa, chunk, leaf_bits);
        if (result != MapResult::ok) return result;
      }
    }
    va += chunk;
    pa += chunk;
    size -= chunk;
  }
  return MapResult::ok;
}

MapResult PageTable::unmap(uint64_t virtual_address, uint64_t size) {
  constexpr uint64_t limit = 1ull << input_bits;
  if ((virtual_address | size) & (page_size - 1)) return MapResult::misaligned;
  if (virtual_address >= limit || size > limit - virtual_address) return MapResult::misaligned;
  if (size == 0 || root_ == 0) return MapResult::ok;
  uint64_t* top = pool_.pointer(root_);
  if (!unmap_level(top, 0, virtual_address, size, false)) return MapResult::conflict;
  unmap_level(top, 0, virtual_address, size, true);
  return MapResult::ok;
}

bool PageTable::unmap_level(uint64_t* table, unsigned level, uint64_t va, uint64_t size, bool clear) {
  while (size > 0) {
    const uint64_t block = level_size(level);
    const uint64_t chunk_end = (va | (block - 1)) + 1;
    const uint64_t chunk = size < chunk_end - va ? size : chunk_end - va;
    uint64_t& entry = table[index_at(va, level)];
    if ((entry & descriptor_valid) != 0) {
      if (is_leaf(entry, level)) {
        if (chunk != block) return false;  // a block only partly in the range
        if (clear) entry = 0;
      } else if (!unmap_level(pool_.pointer(entry & address_mask), level + 1, va, chunk, clear)) {
        return false;
      }
    }
    va += chunk;
    size -= chunk;
  }
  return true;
}

PageTable::Translation PageTable::translate(uint64_t virtual_address) const {
  Translation result;
  if (root_ == 0 || virtual_address >= (1ull << input_bits)) return result;
  const uint64_t* table = pool_.pointer(root_);
  for (unsigned level = 0; level <= 3; ++level) {
    const uint64_t entry = table[index_at(virtual_address, level)];
    if ((entry & descriptor_valid) == 0) return result;
    if (is_leaf(entry, level)) {
      const uint64_t block = level_size(level);
      result.mapped = true;
      result.physical = (entry & address_mask & ~(block - 1)) | (virtual_address & (block - 1));
      result.descriptor = entry;
      result.level = level;
      return result;
    }
    table = pool_.pointer(entry & address_mask);
  }
  return result;
}

}  // namespace bulkhead
