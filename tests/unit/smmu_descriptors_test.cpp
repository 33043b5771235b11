// STE, level-1 descriptor, CD, command and event encodings, field by field, against the
// architecture's bit positions (IHI 0070 chapters 4, 5 and 7) written out as literals.
#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "smmu/commands.hpp"
#include "smmu/descriptors.hpp"
#include "smmu/registers.hpp"

using namespace bulkhead;
using namespace bulkhead::smmu;

TEST_CASE("smmu descriptors: field helpers place and extract bits") {
  using F = Field<12, 4>;
  CHECK(F::mask == 0xf000);
  CHECK(F::put(0x1f) == 0xf000);  // excess bits dropped
  CHECK(F::get(0xabcd) == 0xa);
  CHECK(F::replace(0xffff, 0x3) == 0x3fff);
  using A = AddressField<6, 51>;
  CHECK(A::get(0xffffffffffffffffull) == 0x000fffffffffffc0ull);
  CHECK(A::fits(0x1234000));
  CHECK_FALSE(A::fits(0x1234001));
  CHECK(address_size_bits(4) == 44);
  CHECK(address_size_encoding(44) == 4);
  CHECK(address_size_encoding(47) == 4);  // the largest size not above
  CHECK(address_size_encoding(48) == 5);
}

TEST_CASE("smmu descriptors: the unowned STE is all zero, the abort STE only V and Config") {
  const SteWords invalid = invalid_ste();
  for (uint64_t word : invalid.word) CHECK(word == 0);
  CHECK(decode_ste(invalid).kind == SteKind::invalid);
  CHECK(decode_ste(invalid).aborts());
  const SteWords abort = abort_ste();
  CHECK(abort.word[0] == 0x1);  // V=1, Config=0b000
  for (size_t i = 1; i < 8; ++i) CHECK(abort.word[i] == 0);
  CHECK(decode_ste(abort).kind == SteKind::abort);
  CHECK(decode_ste(abort).aborts());
  // Config 0b001..0b011 also abort; 0b100 bypasses and must never be mistaken for abort.
  SteWords odd;
  odd.word[0] = 1 | (3u << 1);
  CHECK(decode_ste(odd).kind == SteKind::abort);
  odd.word[0] = 1 | (4u << 1);
  CHECK(decode_ste(odd).kind == SteKind::bypass);
  CHECK_FALSE(decode_ste(odd).aborts());
}

TEST_CASE("smmu descriptors: stage-1 STE bit by bit") {
  const SteWords s = stage1_ste({0x0000123456789fc0ull, StallModel::none});
  // dword 0: V [0], Config [3:1] = 0b101, S1Fmt [5:4] = 0, S1ContextPtr [51:6], S1CDMax [63:59] = 0.
  CHECK(s.word[0] == (0x1ull | (0x5ull << 1) | 0x0000123456789fc0ull));
  // dword 1: S1CIR [3:2] = S1COR [5:4] = 1 (write-back), S1CSH [7:6] = 3 (inner), S1STALLD [27] = 0,
  // EATS [29:28] = 0, STRW [31:30] = 0 (NS-EL1), SHCFG [45:44] = 0.
  CHECK(s.word[1] == ((1ull << 2) | (1ull << 4) | (3ull << 6)));
  for (size_t i = 2; i < 8; ++i) CHECK(s.word[i] == 0);
  // Where the SMMU can stall, faults must terminate at once: S1STALLD set.
  CHECK(stage1_ste({0x1000, StallModel::optional}).word[1] == ((1ull << 2) | (1ull << 4) | (3ull << 6) | (1ull << 27)));
  CHECK(stage1_ste({0x1000, StallModel::forced}).word[1] == ((1ull << 2) | (1ull << 4) | (3ull << 6)));
  const SteView v = decode_ste(s);
  CHECK(v.kind == SteKind::stage1);
  CHECK(v.context_descriptor == 0x0000123456789fc0ull);
  CHECK_FALSE(v.aborts());
}

TEST_CASE("smmu descriptors: stage-2 STE bit by bit") {
  // VTCR layout: T0SZ 24 (40-bit IPA), SL0 2 (level 0), IRGN0 1, ORGN0 1, SH0 3, TG0 0 (4 KiB), PS 4 (44 bits).
  const uint64_t vtcr_value = 24 | (2u << 6) | (1u << 8) | (1u << 10) | (3u << 12) | (4u << 16);
  CHECK(vtcr_value == 0x43598);
  const SteWords s = stage2_ste({7, vtcr_value, 0x4c001000, false, StallModel::none});
  CHECK(s.word[0] == (0x1ull | (0x6ull << 1)));  // V, Config 0b110
  CHECK(s.word[1] == 0);                          // STRW NS-EL1, no SHCFG override
  // dword 2: S2VMID [15:0], VTCR [50:32], S2AA64 [51], S2R [58]; S2ENDI [52], S2AFFD [53], S2S [57] clear.
  CHECK(s.word[2] == 0x040c359800000007ull);
  CHECK(s.word[3] == 0x4c001000);  // S2TTB [51:4]
  for (size_t i = 4; i < 8; ++i) CHECK(s.word[i] == 0);
  CHECK(ste::s2t0sz::get(s.word[2]) == 24);
  CHECK(ste::s2sl0::get(s.word[2]) == 2);
  CHECK(ste::s2ir0::get(s.word[2]) == 1);
  CHECK(ste::s2or0::get(s.word[2]) == 1);
  CHECK(ste::s2sh0::get(s.word[2]) == 3);
  CHECK(ste::s2tg::get(s.word[2]) == 0);
  CHECK(ste::s2ps::get(s.word[2]) == 4);
  const SteWords incoming = stage2_ste({0xffff, vtcr_value, 0x4c001000, true, StallModel::forced});
  CHECK(incoming.word[1] == (1ull << 44));          // SHCFG = incoming
  CHECK((incoming.word[2] & 0xffff) == 0xffff);     // 16-bit VMID
  CHECK((incoming.word[2] & (1ull << 57)) != 0);    // S2S: stalls forced by the SMMU
  const SteView v = decode_ste(s);
  CHECK(v.kind == SteKind::stage2);
  CHECK(v.vmid == 7);
  CHECK(v.vtcr == vtcr_value);
  CHECK(v.table_root == 0x4c001000);
}

TEST_CASE("smmu descriptors: level-1 stream table descriptor") {
  CHECK(l1_descriptor(0x7000010000ull, 9) == (0x7000010000ull | 9));  // L2Ptr [51:6], Span [4:0]
  CHECK(l1std::span::get(l1_descriptor(0x7000010000ull, 9)) == 9);
  CHECK(l1std::l2ptr::get(l1_descriptor(0x7000010000ull, 9)) == 0x7000010000ull);
}

TEST_CASE("smmu descriptors: context descriptor bit by bit") {
  const CdWords c = context_descriptor({5, 0x12345000, 40, 4, 0x44ff0400ull, StallModel::none});
  // dword 0: T0SZ 24, TG0 0, IR0 1 [9:8], OR0 1 [11:10], SH0 3 [13:12], EPD0 0, ENDI 0, EPD1 1 [30],
  // V [31], IPS 4 [34:32], AFFD 0, TBI0 0, AA64 [41], HD/HA 0, S 0, R [45], A [46], ASET [47], ASID [63:48].
  CHECK(c.word[0] == 0x0005e204c0003518ull);
  CHECK(cd::t0sz::get(c.word[0]) == 24);
  CHECK(cd::epd0::get(c.word[0]) == 0);
  CHECK(cd::epd1::get(c.word[0]) == 1);
  CHECK(cd::valid::get(c.word[0]) == 1);
  CHECK(cd::ips::get(c.word[0]) == 4);
  CHECK(cd::aa64::get(c.word[0]) == 1);
  CHECK(cd::stall::get(c.word[0]) == 0);
  CHECK(cd::record::get(c.word[0]) == 1);
  CHECK(cd::abort::get(c.word[0]) == 1);
  CHECK(cd::asid::get(c.word[0]) == 5);
  CHECK(c.word[1] == 0x12345000);  // TTB0 [51:4]
  CHECK(c.word[2] == 0);           // no TTB1
  CHECK(c.word[3] == 0x44ff0400ull);  // MAIR
  for (size_t i = 4; i < 8; ++i) CHECK(c.word[i] == 0);
  CHECK(cd::stall::get(context_descriptor({5, 0x1000, 40, 4, 0, StallModel::forced}).word[0]) == 1);
  const CdView v = decode_context_descriptor(c);
  CHECK(v.valid);
  CHECK(v.asid == 5);
  CHECK(v.table_root == 0x12345000);
  CHECK(v.input_bits == 40);
  CHECK(v.mair == 0x44ff0400ull);
}

TEST_CASE("smmu commands: encodings") {
  Command c = cfgi_ste(0x1234);
  CHECK(c.word[0] == (0x03ull | (0x1234ull << 32)));
  CHECK(c.word[1] == 1);  // Leaf
  CHECK(cfgi_ste(0x1234, false).word[1] == 0);
  c = cfgi_all();
  CHECK(c.word[0] == 0x04);
  CHECK(c.word[1] == 31);  // Range 31: every StreamID
  CHECK(tlbi_nh_asid(0xbeef).word[0] == (0x11ull | (0xbeefull << 48)));
  CHECK(tlbi_s12_vmall(0x1234).word[0] == (0x28ull | (0x1234ull << 32)));
  CHECK(tlbi_nsnh_all().word[0] == 0x30);
  CHECK(cmd_sync(false).word[0] == 0x46);
  CHECK(cmd_sync(true).word[0] == (0x46ull | (2ull << 12)));  // CS = SEV
  c = resume(0x42, 7, true);
  CHECK(c.word[0] == (0x44ull | (2ull << 12) | (0x42ull << 32)));  // Action abort
  CHECK(c.word[1] == 7);                                          // STAG
  CHECK(std::string(opcode_name(0x46)) == "CMD_SYNC");
  CHECK(std::string(opcode_name(0x11)) == "CMD_TLBI_NH_ASID");
  CHECK(std::string(opcode_name(0x7f)) == "unknown-command");
}

TEST_CASE("smmu events: records decode into stream, address, direction and reason") {
  EventRecord r;
  // F_TRANSLATION from StreamID 0x10, a write (RnW 0) of stage 1 at 0x50000000.
  r.word[0] = 0x10 | (0x10ull << 32);
  r.word[1] = 0;
  r.word[2] = 0x50000000;
  DmaEvent e = decode_event(r);
  CHECK(e.type == 0x10);
  CHECK(e.stream_id == 0x10);
  CHECK(e.has_address);
  CHECK(e.address == 0x50000000);
  CHECK(e.access == Access::write);
  CHECK_FALSE(e.stage2);
  CHECK_FALSE(e.stalled);
  CHECK(std::string(e.reason) == "translation-fault");

  // F_PERMISSION, a read (RnW 1) in stage 2, stalled with STAG 9.
  r.word[0] = 0x13 | (0x2ull << 32);
  r.word[1] = (1ull << 35) | (1ull << 39) | (1ull << 31) | 9;
  r.word[2] = 0x8000;
  e = decode_event(r);
  CHECK(std::string(e.reason) == "permission-fault");
  CHECK(e.access == Access::read);
  CHECK(e.stage2);
  CHECK(e.stalled);
  CHECK(e.stall_tag == 9);

  // C_BAD_STE carries no address or direction, whatever the other words hold.
  r.word[0] = 0x04 | (0xffffull << 32);
  r.word[1] = 1ull << 35;
  r.word[2] = 0x1234;
  e = decode_event(r);
  CHECK(std::string(e.reason) == "bad-ste");
  CHECK(e.stream_id == 0xffff);
  CHECK_FALSE(e.has_address);
  CHECK(e.access == Access::unknown);

  // F_STE_FETCH: the fetch address is in dword 3.
  r.word[0] = 0x03;
  r.word[3] = 0x7000001008ull;
  e = decode_event(r);
  CHECK(std::string(e.reason) == "ste-fetch-abort");
  CHECK(e.has_fetch_address);
  CHECK(e.fetch_address == 0x7000001008ull);

  const struct {
    uint8_t type;
    const char* reason;
  } names[] = {{0x01, "unsupported-transaction"}, {0x02, "bad-streamid"}, {0x06, "stream-disabled"},
               {0x07, "translation-forbidden"},   {0x0a, "bad-cd"},       {0x0b, "walk-abort"},
               {0x11, "address-size-fault"},      {0x12, "access-flag-fault"}, {0x20, "tlb-conflict"},
               {0x21, "config-conflict"},         {0xee, "unknown-event"}};
  for (const auto& n : names) {
    EventRecord x;
    x.word[0] = n.type;
    CHECK(std::string(decode_event(x).reason) == n.reason);
  }
}

TEST_CASE("smmu descriptors: STE kinds by the dump's names, Config 0b111 is nested, not abort") {
  const std::pair<SteKind, std::string> kinds[] = {{SteKind::invalid, "invalid"}, {SteKind::abort, "abort"},
                                                   {SteKind::bypass, "bypass"},   {SteKind::stage1, "stage1"},
                                                   {SteKind::stage2, "stage2"},   {SteKind::nested, "nested"}};
  for (const auto& [kind, name] : kinds) CHECK(ste_kind_name(kind) == name);
  CHECK(std::string(ste_kind_name(static_cast<SteKind>(6))) == "unknown");
  SteWords nested;
  nested.word[0] = 1 | (7u << 1);  // V, Config 0b111: both stages
  CHECK(decode_ste(nested).kind == SteKind::nested);
  CHECK_FALSE(decode_ste(nested).aborts());  // it can reach memory
}

TEST_CASE("smmu commands: every opcode by its architecture name, RESUME's terminate action") {
  const std::pair<uint8_t, std::string> opcodes[] = {
      {0x01, "CMD_PREFETCH_CONFIG"}, {0x03, "CMD_CFGI_STE"},      {0x04, "CMD_CFGI_STE_RANGE"},
      {0x05, "CMD_CFGI_CD"},         {0x06, "CMD_CFGI_CD_ALL"},   {0x10, "CMD_TLBI_NH_ALL"},
      {0x11, "CMD_TLBI_NH_ASID"},    {0x12, "CMD_TLBI_NH_VA"},    {0x20, "CMD_TLBI_EL2_ALL"},
      {0x28, "CMD_TLBI_S12_VMALL"},  {0x2a, "CMD_TLBI_S2_IPA"},   {0x30, "CMD_TLBI_NSNH_ALL"},
      {0x44, "CMD_RESUME"},          {0x45, "CMD_STALL_TERM"},    {0x46, "CMD_SYNC"}};
  for (const auto& [opcode, name] : opcodes) {
    CAPTURE(opcode);
    CHECK(opcode_name(opcode) == name);
  }
  CHECK(std::string(opcode_name(0x00)) == "unknown-command");
  const Command terminate = resume(0x42, 7, false);
  CHECK(terminate.word[0] == (0x44ull | (0x42ull << 32)));  // Action 0b00: terminate
  CHECK(terminate.word[1] == 7);
  CHECK(std::string(access_name(Access::read)) == "read");
  CHECK(std::string(access_name(Access::write)) == "write");
  CHECK(std::string(access_name(Access::unknown)) == "unknown");
  CHECK(std::string(access_name(static_cast<Access>(3))) == "unknown");
}

TEST_CASE("smmu events: the remaining record types carry the fields their layout has") {
  EventRecord r;
  r.word[1] = 1ull << 35;  // RnW: read
  r.word[2] = 0x1234000;
  r.word[3] = 0x7000002040ull;

  r.word[0] = 0x05;  // F_BAD_ATS_TREQ: address and direction
  DmaEvent e = decode_event(r);
  CHECK(std::string(e.reason) == "bad-ats-request");
  CHECK(e.has_address);
  CHECK(e.address == 0x1234000);
  CHECK(e.access == Access::read);
  CHECK_FALSE(e.has_fetch_address);

  r.word[0] = 0x24;  // E_PAGE_REQUEST: an address, no direction
  e = decode_event(r);
  CHECK(std::string(e.reason) == "page-request");
  CHECK(e.has_address);
  CHECK(e.access == Access::unknown);

  for (const uint8_t fetch_type : {uint8_t{0x09}, uint8_t{0x25}}) {  // F_CD_FETCH, F_VMS_FETCH: the fetch address
    CAPTURE(fetch_type);
    r.word[0] = fetch_type;
    e = decode_event(r);
    CHECK(std::string(e.reason) == (fetch_type == 0x09 ? "cd-fetch-abort" : "vms-fetch-abort"));
    CHECK(e.has_fetch_address);
    CHECK(e.fetch_address == 0x7000002040ull);
    CHECK_FALSE(e.has_address);
    CHECK(e.access == Access::unknown);
  }

  r.word[0] = 0x08 | (0x31ull << 32);  // C_BAD_SUBSTREAMID: the stream only
  e = decode_event(r);
  CHECK(std::string(e.reason) == "bad-substreamid");
  CHECK(e.stream_id == 0x31);
  CHECK_FALSE(e.has_address);
  CHECK_FALSE(e.has_fetch_address);
}
