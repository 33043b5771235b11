// The stream table: one STE per StreamID below 2^sid_bits. Small ID spaces get a
// linear table; larger ones a 2-level table whose level-2 tables (256 STEs, one PCI bus)
// exist only for the StreamIDs the machine has. An absent level-2 table (L1 span 0)
// aborts its StreamIDs with C_BAD_STREAMID, so every StreamID the firmware's iommu-map
// can produce has an aborting outcome until a stream is attached.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/format.hpp"
#include "smmu/descriptors.hpp"
#include "smmu/hardware.hpp"

namespace bulkhead::smmu {

class StreamTable {
 public:
  static constexpr unsigned split = 8;              // level-2 tables of 2^8 STEs (16 KiB)
  static constexpr unsigned linear_max_bits = split;  // up to 256 StreamIDs: one linear table

  // Allocates the table (every STE invalid, every level-1 descriptor empty). False with
  // `error` written when memory runs out.
  bool allocate(DmaMemory& memory, bool coherent, unsigned sid_bits, bool two_level_supported, FixedBuffer<160>& error);
  // 2-level only: allocates the level-2 table of `stream_id` if it has none and writes
  // its level-1 descriptor. `added` tells whether a descriptor changed (the SMMU must
  // then be told with CFGI_STE, leaf 0). False when memory runs out.
  bool populate(DmaMemory& memory, bool coherent, uint32_t stream_id, bool& added);

  uint64_t base_register() const;
  uint32_t base_cfg_register() const;
  bool covers(uint32_t stream_id) const { return sid_bits_ >= 32 || stream_id < (1ull << sid_bits_); }
  // The STE of `stream_id` and its physical address; nullptr when the StreamID is not
  // covered or its level-2 table does not exist.
  SteWords* entry(DmaMemory& memory, uint32_t stream_id, uint64_t* physical = nullptr) const;
  // As the SMMU would see the StreamID: its STE, or no_l2_table / out_of_range.
  enum class Lookup : uint8_t { ste, no_l2_table, out_of_range };
  Lookup lookup(DmaMemory& memory, uint32_t stream_id, SteView& view) const;

  unsigned sid_bits() const { return sid_bits_; }
  bool two_level() const { return two_level_; }
  size_t l2_tables() const { return l2_tables_; }
  uint64_t physical() const { return base_; }

 private:
  uint64_t base_ = 0;
  unsigned sid_bits_ = 0;
  bool two_level_ = false;
  size_t l2_tables_ = 0;
};

}  // namespace bulkhead::smmu
