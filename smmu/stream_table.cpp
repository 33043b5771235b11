#include "smmu/stream_table.hpp"

#include "smmu/registers.hpp"

namespace bulkhead::smmu {
namespace {

constexpr uint64_t l2_entries = 1ull << StreamTable::split;
constexpr uint64_t l2_bytes = l2_entries * ste::bytes;
constexpr unsigned l2_span = StreamTable::split + 1;  // a span of n covers 2^(n-1) STEs

}  // namespace

bool StreamTable::allocate(DmaMemory& memory, bool coherent, unsigned sid_bits, bool two_level_supported,
                           FixedBuffer<160>& error) {
  sid_bits_ = sid_bits;
  two_level_ = sid_bits > linear_max_bits && two_level_supported;
  l2_tables_ = 0;
  const uint64_t bytes = two_level_ ? (1ull << (sid_bits - split)) * sizeof(uint64_t) : (1ull << sid_bits) * ste::bytes;
  base_ = memory.allocate(bytes);
  if (base_ == 0) {
    format(error, "no memory for a {} stream table of {} bytes for {}-bit StreamIDs{}", two_level_ ? "2-level" : "linear",
           bytes, sid_bits, two_level_supported ? "" : " (IDR0.ST_LEVEL: no 2-level tables)");
    return false;
  }
  memory.publish(base_, bytes, coherent);  // every STE invalid, every descriptor empty
  return true;
}

bool StreamTable::populate(DmaMemory& memory, bool coherent, uint32_t stream_id, bool& added) {
  added = false;
  if (!two_level_ || !covers(stream_id)) return true;
  const uint64_t descriptor_physical = base_ + (stream_id >> split) * sizeof(uint64_t);
  auto* descriptor = static_cast<uint64_t*>(memory.pointer(descriptor_physical));
  if (l1std::span::get(*descriptor) != 0) return true;
  const uint64_t l2 = memory.allocate(l2_bytes);
  if (l2 == 0) return false;
  // The zeroed level-2 table (every STE invalid) must be visible before the descriptor.
  memory.publish(l2, l2_bytes, coherent);
  *descriptor = l1_descriptor(l2, l2_span);
  memory.publish(descriptor_physical, sizeof(uint64_t), coherent);
  ++l2_tables_;
  added = true;
  return true;
}

uint64_t StreamTable::base_register() const { return strtab_base::address::get(base_) | strtab_base::ra::put(1); }

uint32_t StreamTable::base_cfg_register() const {
  return static_cast<uint32_t>(strtab_base_cfg::log2size::put(sid_bits_) |
                               (two_level_ ? strtab_base_cfg::split::put(split) |
                                                 strtab_base_cfg::fmt::put(strtab_base_cfg::fmt_two_level)
                                           : strtab_base_cfg::fmt::put(strtab_base_cfg::fmt_linear)));
}

SteWords* StreamTable::entry(DmaMemory& memory, uint32_t stream_id, uint64_t* physical) const {
  if (base_ == 0 || !covers(stream_id)) return nullptr;
  uint64_t address = 0;
  if (two_level_) {
    const uint64_t descriptor = *static_cast<const uint64_t*>(memory.pointer(base_ + (stream_id >> split) * sizeof(uint64_t)));
    if (l1std::span::get(descriptor) == 0) return nullptr;
    address = l1std::l2ptr::get(descriptor) + (stream_id & (l2_entries - 1)) * ste::bytes;
  } else {
    address = base_ + static_cast<uint64_t>(stream_id) * ste::bytes;
  }
  if (physical != nullptr) *physical = address;
  return static_cast<SteWords*>(memory.pointer(address));
}

StreamTable::Lookup StreamTable::lookup(DmaMemory& memory, uint32_t stream_id, SteView& view) const {
  if (!covers(stream_id)) return Lookup::out_of_range;
  const SteWords* ste = entry(memory, stream_id);
  if (ste == nullptr) return Lookup::no_l2_table;
  view = decode_ste(*ste);
  return Lookup::ste;
}

}  // namespace bulkhead::smmu
