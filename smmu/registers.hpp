// SMMUv3 programming interface: register offsets and fields, named once (Arm IHI 0070,
// "SMMUv3 architecture", chapter 6). Everything else in smmu/ uses these names.
#pragma once

#include <cstdint>

#include "core/lib/bit_field.hpp"

namespace bulkhead::smmu {

// Fields and flags of registers and descriptor words: core/lib/bit_field.hpp.
using bulkhead::Field;
using bulkhead::Flag;
// An address field holding bits [Low, High] of a physical address in place.
template <unsigned Low, unsigned High>
using AddressField = bulkhead::AddressBits<Low, High>;

// Register offsets from the SMMU's base. Page 1 (64 KiB up) holds the event queue's
// producer and consumer indices.
namespace reg {
constexpr uint32_t idr0 = 0x00;
constexpr uint32_t idr1 = 0x04;
constexpr uint32_t idr2 = 0x08;
constexpr uint32_t idr3 = 0x0c;
constexpr uint32_t idr4 = 0x10;
constexpr uint32_t idr5 = 0x14;
constexpr uint32_t iidr = 0x18;
constexpr uint32_t aidr = 0x1c;
constexpr uint32_t cr0 = 0x20;
constexpr uint32_t cr0ack = 0x24;
constexpr uint32_t cr1 = 0x28;
constexpr uint32_t cr2 = 0x2c;
constexpr uint32_t statusr = 0x40;
constexpr uint32_t gbpa = 0x44;
constexpr uint32_t irq_ctrl = 0x50;
constexpr uint32_t irq_ctrlack = 0x54;
constexpr uint32_t gerror = 0x60;
constexpr uint32_t gerrorn = 0x64;
constexpr uint32_t gerror_irq_cfg0 = 0x68;  // 64-bit
constexpr uint32_t gerror_irq_cfg1 = 0x70;
constexpr uint32_t gerror_irq_cfg2 = 0x74;
constexpr uint32_t strtab_base = 0x80;  // 64-bit
constexpr uint32_t strtab_base_cfg = 0x88;
constexpr uint32_t cmdq_base = 0x90;  // 64-bit
constexpr uint32_t cmdq_prod = 0x98;
constexpr uint32_t cmdq_cons = 0x9c;
constexpr uint32_t eventq_base = 0xa0;  // 64-bit
constexpr uint32_t eventq_irq_cfg0 = 0xb0;  // 64-bit
constexpr uint32_t eventq_irq_cfg1 = 0xb8;
constexpr uint32_t eventq_irq_cfg2 = 0xbc;
constexpr uint32_t page1 = 0x10000;
constexpr uint32_t eventq_prod = page1 + 0xa8;
constexpr uint32_t eventq_cons = page1 + 0xac;
// The architected register space: two 64 KiB pages.
constexpr uint64_t window_size = 0x20000;
}  // namespace reg

namespace idr0 {
using s2p = Flag<0>;
using s1p = Flag<1>;
using ttf = Field<2, 2>;  // translation table formats
constexpr uint64_t ttf_aarch32 = 1, ttf_aarch64 = 2, ttf_both = 3;
using cohacc = Flag<4>;
using btm = Flag<5>;
using httu = Field<6, 2>;
using hyp = Flag<9>;
using ats = Flag<10>;
using asid16 = Flag<12>;
using msi = Flag<13>;
using sev = Flag<14>;
using pri = Flag<16>;
using vmid16 = Flag<18>;
using cd2l = Flag<19>;
using ttendian = Field<21, 2>;
constexpr uint64_t ttendian_mixed = 0, ttendian_little = 2, ttendian_big = 3;
using stall_model = Field<24, 2>;
constexpr uint64_t stall_supported = 0, stall_none = 1, stall_forced = 2;
using term_model = Flag<26>;
using st_level = Field<27, 2>;
constexpr uint64_t st_linear_only = 0, st_two_level = 1;
}  // namespace idr0

namespace idr1 {
using sidsize = Field<0, 6>;
using ssidsize = Field<6, 5>;
using priqs = Field<11, 5>;
using eventqs = Field<16, 5>;
using cmdqs = Field<21, 5>;
using attr_types_ovr = Flag<27>;  // STE MemAttr/SHCFG overrides are honoured
using rel = Flag<28>;
using queues_preset = Flag<29>;
using tables_preset = Flag<30>;
}  // namespace idr1

namespace idr5 {
using oas = Field<0, 3>;
using gran4k = Flag<4>;
using gran16k = Flag<5>;
using gran64k = Flag<6>;
}  // namespace idr5

// Output address size encodings (IDR5.OAS, CD.IPS, STE.S2PS, VTCR.PS) in bits.
constexpr unsigned address_size_bits(uint64_t encoding) {
  constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
  return encoding < 7 ? bits[encoding] : 0;
}
// The largest encoding whose size is at most `bits` (0 = 32 bits when none is smaller).
constexpr uint64_t address_size_encoding(unsigned bits) {
  uint64_t encoding = 0;
  for (uint64_t e = 0; e < 7; ++e) {
    if (address_size_bits(e) <= bits) encoding = e;
  }
  return encoding;
}

namespace cr0 {
using smmuen = Flag<0>;
using priqen = Flag<1>;
using eventqen = Flag<2>;
using cmdqen = Flag<3>;
using atschk = Flag<4>;
}  // namespace cr0

// CR1: memory attributes of the SMMU's own accesses to tables and queues.
namespace cr1 {
using queue_ic = Field<0, 2>;
using queue_oc = Field<2, 2>;
using queue_sh = Field<4, 2>;
using table_ic = Field<6, 2>;
using table_oc = Field<8, 2>;
using table_sh = Field<10, 2>;
constexpr uint64_t cache_none = 0, cache_write_back = 1, cache_write_through = 2;
}  // namespace cr1

// Shareability encodings (CR1, STE S1CSH/S2SH0, CD SH0).
constexpr uint64_t shareable_none = 0, shareable_outer = 2, shareable_inner = 3;

namespace cr2 {
using e2h = Flag<0>;
using recinvsid = Flag<1>;  // record C_BAD_STREAMID for out-of-range StreamIDs
using ptm = Flag<2>;        // private TLB maintenance: ignore the CPUs' broadcast TLBIs
}  // namespace cr2

namespace gbpa {
using shcfg = Field<12, 2>;
using abort = Flag<20>;
using update = Flag<31>;
}  // namespace gbpa

namespace irq_ctrl {
using gerror_irqen = Flag<0>;
using priq_irqen = Flag<1>;
using eventq_irqen = Flag<2>;
}  // namespace irq_ctrl

// GERROR / GERRORN: an error is active while its bits differ.
namespace gerror {
using cmdq_err = Flag<0>;
using eventq_abt_err = Flag<2>;
using priq_abt_err = Flag<3>;
using msi_cmdq_abt_err = Flag<4>;
using msi_eventq_abt_err = Flag<5>;
using msi_priq_abt_err = Flag<6>;
using msi_gerror_abt_err = Flag<7>;
using sfm_err = Flag<8>;
constexpr uint32_t all = 0x1fd;
}  // namespace gerror

namespace strtab_base {
using address = AddressField<6, 51>;
using ra = Flag<62>;
}  // namespace strtab_base

namespace strtab_base_cfg {
using log2size = Field<0, 6>;
using split = Field<6, 5>;
using fmt = Field<16, 2>;
constexpr uint64_t fmt_linear = 0, fmt_two_level = 1;
}  // namespace strtab_base_cfg

// CMDQ_BASE / EVENTQ_BASE.
namespace queue_base {
using log2size = Field<0, 5>;
using address = AddressField<5, 51>;
using allocate = Flag<62>;  // RA for the command queue, WA for the event queue
}  // namespace queue_base

namespace cmdq_cons {
using err = Field<24, 7>;
constexpr uint64_t cerror_none = 0, cerror_ill = 1, cerror_abt = 2, cerror_atc_inv_sync = 3;
}  // namespace cmdq_cons

// EVENTQ_PROD / EVENTQ_CONS: the overflow flag above the index and wrap bit.
namespace eventq_index {
using overflow = Flag<31>;
}

}  // namespace bulkhead::smmu
