// The GICv3 ITS and the redistributors' LPI registers, named once: GITS_* offsets and
// fields, GICR_PROPBASER/PENDBASER/CTLR.EnableLPIs, the LPI configuration byte and the
// command opcodes. GICv3 architecture IHI 0069, chapters 5 (ITS), 6 and 12. Portable.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/lib/bit_field.hpp"

namespace bulkhead::its {

// Offsets in the ITS's register frames: the control frame, then (64 KiB up) the
// translation frame that holds GITS_TRANSLATER, the doorbell devices write.
namespace reg {
constexpr uint32_t ctlr = 0x0000;
constexpr uint32_t iidr = 0x0004;
constexpr uint32_t typer = 0x0008;  // 64-bit
constexpr uint32_t cbaser = 0x0080;  // 64-bit
constexpr uint32_t cwriter = 0x0088;  // 64-bit
constexpr uint32_t creadr = 0x0090;   // 64-bit
constexpr uint32_t baser0 = 0x0100;   // 64-bit, 8 of them
constexpr unsigned baser_count = 8;
constexpr uint32_t baser(unsigned index) { return baser0 + 8 * index; }
constexpr uint64_t translation_frame = 0x10000;
constexpr uint64_t translater = translation_frame + 0x40;  // GITS_TRANSLATER
constexpr uint64_t frame_size = 0x20000;
}  // namespace reg

// The page a partition's DMA context maps to let its functions reach GITS_TRANSLATER,
// and the doorbell's offset in it.
constexpr uint64_t translater_page(uint64_t its_base) { return its_base + reg::translation_frame; }
constexpr uint64_t translater_page_offset = reg::translater - reg::translation_frame;

namespace ctlr {
using enabled = Flag<0>;
using quiescent = Flag<31>;
}  // namespace ctlr

namespace typer {
using physical = Flag<0>;
using virtual_lpis = Flag<1>;
using itt_entry_size = Field<4, 4>;  // bytes - 1
using id_bits = Field<8, 5>;         // EventID bits - 1
using dev_bits = Field<13, 5>;       // DeviceID bits - 1
using pta = Flag<19>;                // RDbase is the redistributor's physical address (else its processor number)
using hcc = Field<24, 8>;            // collections held in the ITS, needing no memory
using cid_bits = Field<32, 4>;       // collection ID bits - 1, when CIL
using cil = Flag<36>;                // collection ID limit: CIDbits applies (else 16 bits)
}  // namespace typer

// Memory attributes of the ITS's and the redistributors' accesses to their tables
// (GITS_BASER, GITS_CBASER, GICR_PROPBASER, GICR_PENDBASER share the encodings).
namespace cache {
constexpr uint64_t device_ngnrne = 0;
constexpr uint64_t non_cacheable = 1;
constexpr uint64_t read_write_allocate_write_back = 7;  // RaWaWb
}  // namespace cache
namespace shareable {
constexpr uint64_t none = 0;
constexpr uint64_t inner = 1;
constexpr uint64_t outer = 2;
}  // namespace shareable

namespace cbaser {
using size = Field<0, 8>;  // 4 KiB pages - 1
using shareability = Field<10, 2>;
using address = AddressBits<12, 51>;
using outer_cache = Field<53, 3>;
using inner_cache = Field<59, 3>;
using valid = Flag<63>;
constexpr uint64_t page = 0x1000;
constexpr unsigned max_pages = 256;
}  // namespace cbaser

// GITS_CWRITER and GITS_CREADR: the queue offset of the next command, in bytes.
namespace cwriter {
using retry = Flag<0>;
using offset = Field<5, 15>;  // bits [19:5]: command index
}  // namespace cwriter
namespace creadr {
using stalled = Flag<0>;
using offset = Field<5, 15>;
}  // namespace creadr

namespace baser {
using size = Field<0, 8>;  // pages - 1
using page_size = Field<8, 2>;
using shareability = Field<10, 2>;
using address_low = AddressBits<12, 47>;  // 4 KiB and 16 KiB pages
using address_64k_high = Field<12, 4>;    // 64 KiB pages: address bits [51:48] here
using entry_size = Field<48, 5>;          // bytes - 1
using outer_cache = Field<53, 3>;
using type = Field<56, 3>;
using inner_cache = Field<59, 3>;
using indirect = Flag<62>;
using valid = Flag<63>;
constexpr uint64_t page_4k = 0, page_16k = 1, page_64k = 2;
constexpr uint64_t type_none = 0, type_devices = 1, type_vpes = 2, type_collections = 4;
constexpr unsigned max_pages = 256;
constexpr uint64_t page_bytes(uint64_t page_size_code) {
  return page_size_code == page_4k ? 0x1000 : page_size_code == page_16k ? 0x4000 : 0x10000;
}
// The table address field for a page size (64 KiB pages keep bits [51:48] in [15:12]).
constexpr uint64_t encode_address(uint64_t address, uint64_t page_size_code) {
  if (page_size_code != page_64k) return address & address_low::mask;
  return (address & AddressBits<16, 47>::mask) | address_64k_high::put(address >> 48);
}
// A level-1 entry of a two-level table: Valid and the level-2 table's address.
using level1_valid = Flag<63>;
using level1_address = AddressBits<12, 51>;
constexpr uint64_t level1_entry_bytes = 8;
}  // namespace baser

// The redistributor's LPI registers (RD_base frame); GICR_CTLR and GICR_TYPER are
// core/arch/aarch64/gic_registers.hpp's.
namespace gicr {
constexpr uint32_t ctlr = static_cast<uint32_t>(arch::gicr::ctlr);
constexpr uint32_t typer = static_cast<uint32_t>(arch::gicr::typer);  // 64-bit
constexpr uint32_t propbaser = 0x0070;  // 64-bit
constexpr uint32_t pendbaser = 0x0078;  // 64-bit
namespace ctlr_bits {
using enable_lpis = Flag<0>;
using rwp = Flag<3>;
}  // namespace ctlr_bits
namespace typer_bits {
using plpis = Flag<0>;
using processor_number = Field<8, 16>;
}  // namespace typer_bits
namespace propbaser_bits {
using id_bits = Field<0, 5>;  // INTID bits - 1
using inner_cache = Field<7, 3>;
using shareability = Field<10, 2>;
using address = AddressBits<12, 51>;
using outer_cache = Field<56, 3>;
}  // namespace propbaser_bits
namespace pendbaser_bits {
using inner_cache = Field<7, 3>;
using shareability = Field<10, 2>;
using address = AddressBits<16, 51>;
using outer_cache = Field<56, 3>;
using ptz = Flag<62>;  // the table is known to be zero
}  // namespace pendbaser_bits
constexpr uint64_t pending_table_alignment = 0x10000;
constexpr uint64_t property_table_alignment = 0x1000;
}  // namespace gicr

// One byte per LPI in the configuration (property) table, at INTID - 8192.
namespace lpi_config {
using enable = Flag<0>;
using res1 = Flag<1>;
using priority = Field<2, 6>;  // the priority's upper 6 bits
constexpr uint8_t value(bool enabled, uint8_t priority_value) {
  return static_cast<uint8_t>(enable::put(enabled ? 1 : 0) | res1::put(1) | (priority_value & priority::mask));
}
}  // namespace lpi_config
constexpr uint32_t first_lpi = arch::Intid::first_lpi;

// Command opcodes (byte 0 of a 32-byte command).
namespace opcode {
constexpr uint8_t movi = 0x01;
constexpr uint8_t int_ = 0x03;
constexpr uint8_t clear = 0x04;
constexpr uint8_t sync = 0x05;
constexpr uint8_t mapd = 0x08;
constexpr uint8_t mapc = 0x09;
constexpr uint8_t mapti = 0x0a;
constexpr uint8_t mapi = 0x0b;
constexpr uint8_t inv = 0x0c;
constexpr uint8_t invall = 0x0d;
constexpr uint8_t movall = 0x0e;
constexpr uint8_t discard = 0x0f;
}  // namespace opcode

// Command fields, by doubleword.
namespace command {
using opcode = Field<0, 8>;         // DW0
using device_id = Field<32, 32>;    // DW0
using event_id = Field<0, 32>;      // DW1
using physical_intid = Field<32, 32>;  // DW1 (MAPTI)
using itt_size = Field<0, 5>;       // DW1 (MAPD): EventID bits - 1
using icid = Field<0, 16>;          // DW2
using rdbase = Field<16, 36>;       // DW2 (MAPC, SYNC), DW3 (MOVALL): bits [51:16]
using itt_address = AddressBits<8, 51>;  // DW2 (MAPD)
using valid = Flag<63>;             // DW2 (MAPC, MAPD)
constexpr uint64_t bytes = 32;
constexpr uint64_t itt_alignment = 256;
}  // namespace command

}  // namespace bulkhead::its
