#include "smmu/features.hpp"

#include "smmu/registers.hpp"

namespace bulkhead::smmu {

Features decode_features(const uint32_t idr[6], uint32_t iidr, uint32_t aidr) {
  Features f;
  for (size_t i = 0; i < 6; ++i) f.idr[i] = idr[i];
  f.iidr = iidr;
  f.aidr = aidr;
  const uint64_t id0 = idr[0], id1 = idr[1], id5 = idr[5];
  f.stage1 = idr0::s1p::get(id0) != 0;
  f.stage2 = idr0::s2p::get(id0) != 0;
  const uint64_t ttf = idr0::ttf::get(id0);
  f.aarch64_tables = ttf == idr0::ttf_aarch64 || ttf == idr0::ttf_both;
  f.big_endian_tables_only = idr0::ttendian::get(id0) == idr0::ttendian_big;
  f.coherent = idr0::cohacc::get(id0) != 0;
  f.two_level_stream_table = idr0::st_level::get(id0) == idr0::st_two_level;
  f.asid16 = idr0::asid16::get(id0) != 0;
  f.vmid16 = idr0::vmid16::get(id0) != 0;
  f.sync_sends_event = idr0::sev::get(id0) != 0;
  f.msi = idr0::msi::get(id0) != 0;
  switch (idr0::stall_model::get(id0)) {
    case idr0::stall_supported: f.stall = StallModel::optional; break;
    case idr0::stall_forced: f.stall = StallModel::forced; break;
    default: f.stall = StallModel::none; break;
  }
  f.sid_bits = static_cast<unsigned>(idr1::sidsize::get(id1));
  f.cmdq_log2_max = static_cast<unsigned>(idr1::cmdqs::get(id1));
  f.eventq_log2_max = static_cast<unsigned>(idr1::eventqs::get(id1));
  f.attr_types_override = idr1::attr_types_ovr::get(id1) != 0;
  f.tables_preset = idr1::tables_preset::get(id1) != 0;
  f.queues_preset = idr1::queues_preset::get(id1) != 0;
  f.granule_4k = idr5::gran4k::get(id5) != 0;
  f.output_address_encoding = idr5::oas::get(id5);
  f.output_address_bits = address_size_bits(f.output_address_encoding);
  return f;
}

namespace {

bool fits_bits(uint64_t address, unsigned bits) { return bits >= 64 || (address >> bits) == 0; }

// What both stages need; false with the refusal written when something is missing.
bool common_needs_met(const Features& f, const Needs& needs, StageChoice& choice) {
  if (!f.stage1 && !f.stage2) {
    format(choice.refusal, "neither stage 1 nor stage 2 translation (IDR0.S1P 0, IDR0.S2P 0)");
  } else if (!f.aarch64_tables) {
    format(choice.refusal, "no AArch64 translation table format (IDR0.TTF {})", idr0::ttf::get(f.idr[0]));
  } else if (f.big_endian_tables_only) {
    format(choice.refusal, "big-endian translation tables only (IDR0.TTENDIAN {})", idr0::ttendian::get(f.idr[0]));
  } else if (!f.granule_4k) {
    format(choice.refusal, "no 4 KiB translation granule (IDR5.GRAN4K 0)");
  } else if (f.sid_bits < needs.sid_bits) {
    format(choice.refusal, "StreamIDs of {} bits (IDR1.SIDSIZE) cannot hold the {}-bit StreamIDs of the iommu-map of {}",
           f.sid_bits, needs.sid_bits, needs.sid_source);
  } else if (!fits_bits(needs.highest_address, f.output_address_bits)) {
    format(choice.refusal, "output addresses of {} bits (IDR5.OAS {}) cannot reach RAM up to {}", f.output_address_bits,
           f.output_address_encoding, hex(needs.highest_address));
  } else if (f.tables_preset || f.queues_preset) {
    format(choice.refusal, "the stream table or the queues are fixed by the implementation (IDR1.TABLES_PRESET {}, "
           "IDR1.QUEUES_PRESET {})", f.tables_preset ? 1 : 0, f.queues_preset ? 1 : 0);
  } else {
    return true;
  }
  return false;
}

// Stage 2 mirrors the CPU's stage-2 layout: a level-0 start over the guest address space.
bool stage2_usable(const Features& f, const Needs& needs, FixedBuffer<160>& why) {
  if (f.output_address_bits < needs.guest_address_bits) {
    format(why, "output addresses of {} bits (IDR5.OAS) are below the {}-bit guest address space", f.output_address_bits,
           needs.guest_address_bits);
    return false;
  }
  const unsigned vmid_limit = f.vmid16 ? 0xffff : 0xff;
  if (needs.context_count > vmid_limit) {
    format(why, "{} contexts need more VMIDs than {} (IDR0.VMID16 {})", needs.context_count, vmid_limit, f.vmid16 ? 1 : 0);
    return false;
  }
  return true;
}

bool stage1_usable(const Features& f, const Needs& needs, FixedBuffer<160>& why) {
  const unsigned asid_limit = f.asid16 ? 0xffff : 0xff;
  if (needs.context_count > asid_limit) {
    format(why, "{} contexts need more ASIDs than {} (IDR0.ASID16 {})", needs.context_count, asid_limit, f.asid16 ? 1 : 0);
    return false;
  }
  return true;
}

}  // namespace

StageChoice choose_stage(const Features& f, const Needs& needs) {
  StageChoice choice;
  if (!common_needs_met(f, needs, choice)) return choice;
  if (f.stage2) {
    if (stage2_usable(f, needs, choice.stage2_note)) {
      choice.usable = true;
      choice.stage = Stage::two;
      return choice;
    }
    if (!f.stage1) {
      format(choice.refusal, "stage 2 only, and stage 2 is unusable: {}", choice.stage2_note.c_str());
      return choice;
    }
  }
  FixedBuffer<160> why;
  if (!stage1_usable(f, needs, why)) {
    format(choice.refusal, "{}", why.c_str());
    return choice;
  }
  choice.usable = true;
  choice.stage = Stage::one;
  return choice;
}

}  // namespace bulkhead::smmu
