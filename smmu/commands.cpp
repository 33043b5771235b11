#include "smmu/commands.hpp"

namespace bulkhead::smmu {
namespace {

uint64_t op(Opcode code) { return cmd::opcode::put(static_cast<uint8_t>(code)); }

}  // namespace

const char* opcode_name(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::prefetch_config: return "CMD_PREFETCH_CONFIG";
    case Opcode::cfgi_ste: return "CMD_CFGI_STE";
    case Opcode::cfgi_ste_range: return "CMD_CFGI_STE_RANGE";
    case Opcode::cfgi_cd: return "CMD_CFGI_CD";
    case Opcode::cfgi_cd_all: return "CMD_CFGI_CD_ALL";
    case Opcode::tlbi_nh_all: return "CMD_TLBI_NH_ALL";
    case Opcode::tlbi_nh_asid: return "CMD_TLBI_NH_ASID";
    case Opcode::tlbi_nh_va: return "CMD_TLBI_NH_VA";
    case Opcode::tlbi_el2_all: return "CMD_TLBI_EL2_ALL";
    case Opcode::tlbi_s12_vmall: return "CMD_TLBI_S12_VMALL";
    case Opcode::tlbi_s2_ipa: return "CMD_TLBI_S2_IPA";
    case Opcode::tlbi_nsnh_all: return "CMD_TLBI_NSNH_ALL";
    case Opcode::resume: return "CMD_RESUME";
    case Opcode::stall_term: return "CMD_STALL_TERM";
    case Opcode::sync: return "CMD_SYNC";
  }
  return "unknown-command";
}

Command cfgi_ste(uint32_t stream_id, bool leaf) {
  Command c;
  c.word[0] = op(Opcode::cfgi_ste) | cmd::sid::put(stream_id);
  c.word[1] = cmd::cfgi_leaf::put(leaf ? 1 : 0);
  return c;
}

Command cfgi_all() {
  Command c;
  c.word[0] = op(Opcode::cfgi_ste_range);
  c.word[1] = cmd::cfgi_range::put(cmd::cfgi_range_all);
  return c;
}

Command tlbi_nh_asid(uint16_t asid) {
  Command c;
  c.word[0] = op(Opcode::tlbi_nh_asid) | cmd::asid::put(asid);
  return c;
}

Command tlbi_s12_vmall(uint16_t vmid) {
  Command c;
  c.word[0] = op(Opcode::tlbi_s12_vmall) | cmd::vmid::put(vmid);
  return c;
}

Command tlbi_nsnh_all() {
  Command c;
  c.word[0] = op(Opcode::tlbi_nsnh_all);
  return c;
}

Command resume(uint32_t stream_id, uint16_t stall_tag, bool abort) {
  Command c;
  c.word[0] = op(Opcode::resume) | cmd::sid::put(stream_id) |
              cmd::resume_action::put(abort ? cmd::resume_abort : cmd::resume_terminate);
  c.word[1] = cmd::resume_stag::put(stall_tag);
  return c;
}

Command cmd_sync(bool signal_event) {
  Command c;
  c.word[0] = op(Opcode::sync) | cmd::sync_cs::put(signal_event ? cmd::sync_cs_sev : cmd::sync_cs_none);
  return c;
}

const char* access_name(Access access) {
  switch (access) {
    case Access::read: return "read";
    case Access::write: return "write";
    case Access::unknown: return "unknown";
  }
  return "unknown";
}

DmaEvent decode_event(const EventRecord& record) {
  DmaEvent e;
  e.type = static_cast<uint8_t>(evt::type::get(record.word[0]));
  e.stream_id = static_cast<uint32_t>(evt::sid::get(record.word[0]));
  const uint64_t d1 = record.word[1];
  // Which fields a record carries depends on its type (IHI 0070 section 7.3).
  bool address = false, rnw = false, full = false, fetch = false;
  switch (static_cast<EventType>(e.type)) {
    case EventType::f_uut: e.reason = "unsupported-transaction"; address = rnw = true; break;
    case EventType::c_bad_streamid: e.reason = "bad-streamid"; break;
    case EventType::f_ste_fetch: e.reason = "ste-fetch-abort"; fetch = true; break;
    case EventType::c_bad_ste: e.reason = "bad-ste"; break;
    case EventType::f_bad_ats_treq: e.reason = "bad-ats-request"; address = rnw = true; break;
    case EventType::f_stream_disabled: e.reason = "stream-disabled"; break;
    case EventType::f_transl_forbidden: e.reason = "translation-forbidden"; address = rnw = true; break;
    case EventType::c_bad_substreamid: e.reason = "bad-substreamid"; break;
    case EventType::f_cd_fetch: e.reason = "cd-fetch-abort"; fetch = true; break;
    case EventType::c_bad_cd: e.reason = "bad-cd"; break;
    case EventType::f_walk_eabt: e.reason = "walk-abort"; full = fetch = true; break;
    case EventType::f_translation: e.reason = "translation-fault"; full = true; break;
    case EventType::f_addr_size: e.reason = "address-size-fault"; full = true; break;
    case EventType::f_access: e.reason = "access-flag-fault"; full = true; break;
    case EventType::f_permission: e.reason = "permission-fault"; full = true; break;
    case EventType::f_tlb_conflict: e.reason = "tlb-conflict"; address = rnw = true; break;
    case EventType::f_cfg_conflict: e.reason = "config-conflict"; break;
    case EventType::e_page_request: e.reason = "page-request"; address = true; break;
    case EventType::f_vms_fetch: e.reason = "vms-fetch-abort"; fetch = true; break;
  }
  if (full) {
    address = rnw = true;
    e.stage2 = evt::s2::get(d1) != 0;
    e.stalled = evt::stall::get(d1) != 0;
    e.stall_tag = static_cast<uint16_t>(evt::stag::get(d1));
  }
  if (address) {
    e.has_address = true;
    e.address = record.word[2];
  }
  if (rnw) e.access = evt::rnw::get(d1) != 0 ? Access::read : Access::write;
  if (fetch) {
    e.has_fetch_address = true;
    e.fetch_address = evt::fetch_address::get(record.word[3]);
  }
  return e;
}

}  // namespace bulkhead::smmu
