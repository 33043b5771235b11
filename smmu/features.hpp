// What an SMMU implements (its ID registers), what Bulkhead needs from it, and which
// translation stage the DMA contexts use.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/format.hpp"
#include "smmu/descriptors.hpp"

namespace bulkhead::smmu {

struct Features {
  uint32_t idr[6] = {};
  uint32_t iidr = 0;
  uint32_t aidr = 0;
  bool stage1 = false;
  bool stage2 = false;
  bool aarch64_tables = false;
  bool big_endian_tables_only = false;
  bool coherent = false;  // IDR0.COHACC: table and queue accesses snoop the CPU caches
  bool two_level_stream_table = false;
  bool granule_4k = false;
  bool asid16 = false;
  bool vmid16 = false;
  bool sync_sends_event = false;  // IDR0.SEV
  bool msi = false;
  bool attr_types_override = false;
  bool tables_preset = false;
  bool queues_preset = false;
  StallModel stall = StallModel::none;
  unsigned sid_bits = 0;
  unsigned output_address_bits = 0;
  uint64_t output_address_encoding = 0;
  unsigned cmdq_log2_max = 0;
  unsigned eventq_log2_max = 0;
};
Features decode_features(const uint32_t idr[6], uint32_t iidr, uint32_t aidr);

enum class Stage : uint8_t { one = 1, two = 2 };

// What the machine needs from the SMMU.
struct Needs {
  unsigned sid_bits = 0;           // the widest StreamID the firmware's iommu-maps produce
  const char* sid_source = "";     // the host bridge whose iommu-map needs them (for errors)
  uint64_t highest_address = 0;    // last byte of RAM that DMA may reach
  unsigned context_count = 0;      // DMA contexts: VMIDs / ASIDs 1..context_count
  unsigned guest_address_bits = 40;
};

struct StageChoice {
  bool usable = false;
  Stage stage = Stage::one;
  FixedBuffer<160> refusal;      // when not usable: the missing feature, naming the ID register field
  FixedBuffer<160> stage2_note;  // when stage 2 exists but cannot be used and stage 1 is
};
StageChoice choose_stage(const Features& features, const Needs& needs);

}  // namespace bulkhead::smmu
