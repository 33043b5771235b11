#include "smmu/descriptors.hpp"

namespace bulkhead::smmu {

SteWords abort_ste() {
  SteWords s;
  s.word[0] = ste::valid::put(1) | ste::config::put(ste::config_abort);
  return s;
}

SteWords stage1_ste(const Stage1SteConfig& config) {
  SteWords s;
  // One context descriptor (S1Fmt linear, S1CDMax 0): no substreams.
  s.word[0] = ste::valid::put(1) | ste::config::put(ste::config_stage1) |
              ste::s1_context_ptr::get(config.context_descriptor);
  s.word[1] = ste::s1cir::put(ste::walk_write_back) | ste::s1cor::put(ste::walk_write_back) |
              ste::s1csh::put(shareable_inner) | ste::strw::put(ste::strw_nsel1) |
              // Where stalling is optional, faults terminate at once: nobody resumes them.
              ste::s1stalld::put(config.stall == StallModel::optional ? 1 : 0);
  return s;
}

SteWords stage2_ste(const Stage2SteConfig& config) {
  SteWords s;
  s.word[0] = ste::valid::put(1) | ste::config::put(ste::config_stage2);
  s.word[1] = ste::strw::put(ste::strw_nsel1) | (config.shcfg_incoming ? ste::shcfg::put(ste::shcfg_incoming) : 0);
  s.word[2] = ste::s2vmid::put(config.vmid) | ste::s2vtcr::put(config.vtcr) | ste::s2aa64::put(1) |
              ste::s2r::put(1) | ste::s2s::put(config.stall == StallModel::forced ? 1 : 0);
  s.word[3] = ste::s2ttb::get(config.table_root);
  return s;
}

const char* ste_kind_name(SteKind kind) {
  switch (kind) {
    case SteKind::invalid: return "invalid";
    case SteKind::abort: return "abort";
    case SteKind::bypass: return "bypass";
    case SteKind::stage1: return "stage1";
    case SteKind::stage2: return "stage2";
    case SteKind::nested: return "nested";
  }
  return "unknown";
}

SteView decode_ste(const SteWords& words) {
  SteView view;
  if (ste::valid::get(words.word[0]) == 0) return view;
  switch (ste::config::get(words.word[0])) {
    case ste::config_bypass: view.kind = SteKind::bypass; break;
    case ste::config_stage1: view.kind = SteKind::stage1; break;
    case ste::config_stage2: view.kind = SteKind::stage2; break;
    case ste::config_nested: view.kind = SteKind::nested; break;
    default: view.kind = SteKind::abort; break;  // Config 0b0xx: abort, whatever the low bits
  }
  view.context_descriptor = ste::s1_context_ptr::get(words.word[0]);
  view.vmid = static_cast<uint16_t>(ste::s2vmid::get(words.word[2]));
  view.vtcr = ste::s2vtcr::get(words.word[2]);
  view.table_root = ste::s2ttb::get(words.word[3]);
  return view;
}

CdWords context_descriptor(const ContextDescriptorConfig& config) {
  CdWords c;
  c.word[0] = cd::t0sz::put(64 - config.input_bits) | cd::tg0::put(cd::tg0_4k) | cd::ir0::put(ste::walk_write_back) |
              cd::or0::put(ste::walk_write_back) | cd::sh0::put(shareable_inner) |
              cd::epd1::put(1) |  // no TTB1 half: every IOVA is below 2^input_bits
              cd::valid::put(1) | cd::ips::put(config.ips) | cd::aa64::put(1) |
              cd::stall::put(config.stall == StallModel::forced ? 1 : 0) | cd::record::put(1) | cd::abort::put(1) |
              cd::aset::put(1) | cd::asid::put(config.asid);
  c.word[1] = cd::ttb0::get(config.table_root);
  c.word[3] = config.mair;
  return c;
}

CdView decode_context_descriptor(const CdWords& words) {
  CdView view;
  view.valid = cd::valid::get(words.word[0]) != 0;
  view.asid = static_cast<uint16_t>(cd::asid::get(words.word[0]));
  view.table_root = cd::ttb0::get(words.word[1]);
  view.input_bits = 64 - static_cast<unsigned>(cd::t0sz::get(words.word[0]));
  view.mair = words.word[3];
  return view;
}

}  // namespace bulkhead::smmu
