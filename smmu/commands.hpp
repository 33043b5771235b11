// Command queue entries (16 bytes) and event queue records (32 bytes) as typed encoders
// and decoders (IHI 0070 chapters 4 and 7).
#pragma once

#include <cstddef>
#include <cstdint>

#include "smmu/registers.hpp"

namespace bulkhead::smmu {

enum class Opcode : uint8_t {
  prefetch_config = 0x01,
  cfgi_ste = 0x03,
  cfgi_ste_range = 0x04,  // with range 31: CFGI_ALL
  cfgi_cd = 0x05,
  cfgi_cd_all = 0x06,
  tlbi_nh_all = 0x10,
  tlbi_nh_asid = 0x11,
  tlbi_nh_va = 0x12,
  tlbi_el2_all = 0x20,
  tlbi_s12_vmall = 0x28,
  tlbi_s2_ipa = 0x2a,
  tlbi_nsnh_all = 0x30,
  resume = 0x44,
  stall_term = 0x45,
  sync = 0x46,
};
const char* opcode_name(uint8_t opcode);

namespace cmd {
constexpr size_t bytes = 16;
// dword 0
using opcode = Field<0, 8>;
using ssv = Flag<11>;
using sync_cs = Field<12, 2>;
constexpr uint64_t sync_cs_none = 0, sync_cs_irq = 1, sync_cs_sev = 2;
using resume_action = Field<12, 2>;
constexpr uint64_t resume_terminate = 0, resume_retry = 1, resume_abort = 2;
using sid = Field<32, 32>;
using vmid = Field<32, 16>;
using asid = Field<48, 16>;
// dword 1
using cfgi_leaf = Flag<0>;
using cfgi_range = Field<0, 5>;  // StreamIDs [sid & ~(2^(range+1)-1), +2^(range+1))
constexpr uint64_t cfgi_range_all = 31;
using resume_stag = Field<0, 16>;
}  // namespace cmd

struct Command {
  uint64_t word[2] = {};
  uint8_t opcode() const { return static_cast<uint8_t>(cmd::opcode::get(word[0])); }
  constexpr bool operator==(const Command&) const = default;
};

// leaf: only the STE changed; otherwise its level-1 descriptor may have too.
Command cfgi_ste(uint32_t stream_id, bool leaf = true);
Command cfgi_all();
Command tlbi_nh_asid(uint16_t asid);
Command tlbi_s12_vmall(uint16_t vmid);
Command tlbi_nsnh_all();
Command resume(uint32_t stream_id, uint16_t stall_tag, bool abort);
Command cmd_sync(bool signal_event);

// ---- Event records.
enum class EventType : uint8_t {
  f_uut = 0x01,
  c_bad_streamid = 0x02,
  f_ste_fetch = 0x03,
  c_bad_ste = 0x04,
  f_bad_ats_treq = 0x05,
  f_stream_disabled = 0x06,
  f_transl_forbidden = 0x07,
  c_bad_substreamid = 0x08,
  f_cd_fetch = 0x09,
  c_bad_cd = 0x0a,
  f_walk_eabt = 0x0b,
  f_translation = 0x10,
  f_addr_size = 0x11,
  f_access = 0x12,
  f_permission = 0x13,
  f_tlb_conflict = 0x20,
  f_cfg_conflict = 0x21,
  e_page_request = 0x24,
  f_vms_fetch = 0x25,
};

namespace evt {
constexpr size_t bytes = 32;
// dword 0
using type = Field<0, 8>;
using ssv = Flag<11>;
using ssid = Field<12, 20>;
using sid = Field<32, 32>;
// dword 1
using stag = Field<0, 16>;
using stall = Flag<31>;
using pnu = Flag<33>;
using ind = Flag<34>;
using rnw = Flag<35>;
using s2 = Flag<39>;
using event_class = Field<40, 2>;
// dword 2: the input address (IOVA). dword 3: the IPA (stage-2 faults) or the fetch
// address (F_STE_FETCH, F_CD_FETCH, F_WALK_EABT).
using fetch_address = AddressField<3, 51>;
}  // namespace evt

struct EventRecord {
  uint64_t word[4] = {};
};

enum class Access : uint8_t { read, write, unknown };
const char* access_name(Access access);

// What one event record says, for the fault log.
struct DmaEvent {
  uint8_t type = 0;
  uint32_t stream_id = 0;
  bool has_address = false;  // the input address (IOVA) is meaningful
  uint64_t address = 0;
  Access access = Access::unknown;
  bool stage2 = false;       // the fault was in stage 2 (translation faults)
  bool stalled = false;      // the transaction is stalled: it must be terminated with CMD_RESUME
  uint16_t stall_tag = 0;
  bool has_fetch_address = false;
  uint64_t fetch_address = 0;
  const char* reason = "unknown-event";  // one word, e.g. "translation-fault"
};
DmaEvent decode_event(const EventRecord& record);

}  // namespace bulkhead::smmu
