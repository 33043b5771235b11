// In-memory SMMUv3 structures the driver writes and the SMMU reads: the stream table
// entry (STE), the level-1 stream table descriptor and the context descriptor (CD), as
// typed encoders and decoders (IHI 0070 chapter 5). Little-endian 64-bit words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "smmu/registers.hpp"

namespace bulkhead::smmu {

// ---- Stream table entry: 8 doublewords.
namespace ste {
constexpr size_t words = 8;
constexpr size_t bytes = words * 8;
// dword 0
using valid = Flag<0>;
using config = Field<1, 3>;
constexpr uint64_t config_abort = 0, config_bypass = 4, config_stage1 = 5, config_stage2 = 6, config_nested = 7;
using s1fmt = Field<4, 2>;
using s1_context_ptr = AddressField<6, 51>;
using s1cdmax = Field<59, 5>;
// dword 1
using s1dss = Field<0, 2>;
using s1cir = Field<2, 2>;
using s1cor = Field<4, 2>;
using s1csh = Field<6, 2>;
using s1stalld = Flag<27>;
using eats = Field<28, 2>;
using strw = Field<30, 2>;
constexpr uint64_t strw_nsel1 = 0;
using shcfg = Field<44, 2>;
constexpr uint64_t shcfg_incoming = 1;
// Table-walk cacheability (S1CIR/S1COR, CD IR0/OR0, VTCR IRGN0/ORGN0): write-back read/write-allocate.
constexpr uint64_t walk_write_back = 1;
// dword 2
using s2vmid = Field<0, 16>;
using s2vtcr = Field<32, 19>;  // VTCR_EL2[18:0], field for field
using s2t0sz = Field<32, 6>;
using s2sl0 = Field<38, 2>;
using s2ir0 = Field<40, 2>;
using s2or0 = Field<42, 2>;
using s2sh0 = Field<44, 2>;
using s2tg = Field<46, 2>;
using s2ps = Field<48, 3>;
using s2aa64 = Flag<51>;
using s2endi = Flag<52>;
using s2affd = Flag<53>;
using s2ptw = Flag<54>;
using s2hd = Flag<55>;
using s2ha = Flag<56>;
using s2s = Flag<57>;
using s2r = Flag<58>;
// dword 3
using s2ttb = AddressField<4, 51>;
}  // namespace ste

// The stage-2 translation control STE.S2VTCR holds, laid out as VTCR_EL2[18:0].
namespace vtcr {
using t0sz = Field<0, 6>;
using sl0 = Field<6, 2>;
constexpr uint64_t sl0_level0_4k = 2;  // with a 4 KiB granule: the walk starts at level 0
using irgn0 = Field<8, 2>;
using orgn0 = Field<10, 2>;
using sh0 = Field<12, 2>;
using tg0 = Field<14, 2>;
constexpr uint64_t tg0_4k = 0;
using ps = Field<16, 3>;
// The fields that decide the table layout, hence which IOVA reaches which entry.
constexpr uint64_t layout = t0sz::mask | sl0::mask | tg0::mask;
}  // namespace vtcr

// ---- Level-1 stream table descriptor: 1 doubleword.
namespace l1std {
using span = Field<0, 5>;  // 0: invalid (every StreamID it covers is C_BAD_STREAMID); else 2^(span-1) STEs
using l2ptr = AddressField<6, 51>;
}  // namespace l1std

// ---- Context descriptor: 8 doublewords.
namespace cd {
constexpr size_t words = 8;
constexpr size_t bytes = words * 8;
// dword 0
using t0sz = Field<0, 6>;
using tg0 = Field<6, 2>;
constexpr uint64_t tg0_4k = 0;
using ir0 = Field<8, 2>;
using or0 = Field<10, 2>;
using sh0 = Field<12, 2>;
using epd0 = Flag<14>;
using endi = Flag<15>;
using t1sz = Field<16, 6>;
using tg1 = Field<22, 2>;
using epd1 = Flag<30>;
using valid = Flag<31>;
using ips = Field<32, 3>;
using affd = Flag<35>;
using tbi0 = Flag<38>;
using aa64 = Flag<41>;
using hd = Flag<42>;
using ha = Flag<43>;
using stall = Flag<44>;   // S
using record = Flag<45>;  // R: record faults in the event queue
using abort = Flag<46>;   // A: terminated transactions abort (not RAZ/WI)
using aset = Flag<47>;    // ASID not shared with the CPUs' ASIDs
using asid = Field<48, 16>;
// dword 1
using ttb0 = AddressField<4, 51>;
// dword 3: MAIR (the whole doubleword)
}  // namespace cd

struct SteWords {
  uint64_t word[ste::words] = {};
  constexpr bool operator==(const SteWords&) const = default;
};

struct CdWords {
  uint64_t word[cd::words] = {};
  constexpr bool operator==(const CdWords&) const = default;
};

// Fault behaviour the SMMU imposes (IDR0.STALL_MODEL): with `forced`, faulting
// transactions stall and must be terminated with CMD_RESUME; otherwise we ask for
// immediate termination.
enum class StallModel : uint8_t { optional, none, forced };

struct Stage1SteConfig {
  uint64_t context_descriptor = 0;  // physical, 64-byte aligned
  StallModel stall = StallModel::none;
};

struct Stage2SteConfig {
  uint16_t vmid = 0;
  uint64_t vtcr = 0;        // VTCR_EL2-layout bits [18:0]: T0SZ SL0 IRGN0 ORGN0 SH0 TG0 PS
  uint64_t table_root = 0;  // physical, 4 KiB aligned
  bool shcfg_incoming = false;
  StallModel stall = StallModel::none;
};

// The STE every stream nobody owns has: V=0 aborts its transactions and records
// C_BAD_STE naming the stream, so unowned DMA is both stopped and reported.
constexpr SteWords invalid_ste() { return {}; }
// V=1, Config=abort: aborts without recording anything.
SteWords abort_ste();
SteWords stage1_ste(const Stage1SteConfig& config);
SteWords stage2_ste(const Stage2SteConfig& config);

enum class SteKind : uint8_t { invalid, abort, bypass, stage1, stage2, nested };
const char* ste_kind_name(SteKind kind);

struct SteView {
  SteKind kind = SteKind::invalid;
  uint64_t context_descriptor = 0;  // stage1
  uint16_t vmid = 0;                // stage2
  uint64_t vtcr = 0;                // stage2
  uint64_t table_root = 0;          // stage2
  // Transactions through this STE can never reach memory.
  bool aborts() const { return kind == SteKind::invalid || kind == SteKind::abort; }
};
SteView decode_ste(const SteWords& words);

constexpr uint64_t l1_descriptor(uint64_t l2_table, unsigned span) {
  return l1std::l2ptr::get(l2_table) | l1std::span::put(span);
}

struct ContextDescriptorConfig {
  uint16_t asid = 0;
  uint64_t table_root = 0;  // physical, 4 KiB aligned
  unsigned input_bits = 40; // IOVA size: T0SZ = 64 - input_bits
  uint64_t ips = 0;         // output size encoding
  uint64_t mair = 0;
  StallModel stall = StallModel::none;
};
CdWords context_descriptor(const ContextDescriptorConfig& config);

struct CdView {
  bool valid = false;
  uint16_t asid = 0;
  uint64_t table_root = 0;
  unsigned input_bits = 0;
  uint64_t mair = 0;
};
CdView decode_context_descriptor(const CdWords& words);

}  // namespace bulkhead::smmu
