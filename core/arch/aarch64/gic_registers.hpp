// GICv3 register offsets and fields, named once for both users: the virtual GIC each
// partition sees (core/vgic) and the physical GIC the hypervisor drives (gic_el2).
// GICv3 architecture IHI 0069, chapter 12. Portable.
#pragma once

#include <cstdint>

namespace bulkhead::arch {

// Registers with one or more fields per interrupt, at the same offsets in the distributor
// (SPIs) and in a redistributor's SGI_base frame (SGIs and PPIs).
namespace gic_bank {
constexpr uint64_t igroupr = 0x0080;
constexpr uint64_t isenabler = 0x0100;
constexpr uint64_t icenabler = 0x0180;
constexpr uint64_t ispendr = 0x0200;
constexpr uint64_t icpendr = 0x0280;
constexpr uint64_t isactiver = 0x0300;
constexpr uint64_t icactiver = 0x0380;
constexpr uint64_t ipriorityr = 0x0400;  // one byte per interrupt
constexpr uint64_t icfgr = 0x0c00;       // two bits per interrupt
constexpr uint64_t igrpmodr = 0x0d00;
constexpr uint64_t nsacr = 0x0e00;
constexpr uint64_t bitmap_block = 0x80;  // each 1-bit register array spans 0x80 bytes
constexpr uint32_t icfgr_edge = 0x2;     // the field's bit 1
}  // namespace gic_bank

// Identification registers at the end of every GIC frame.
namespace gic_id {
constexpr uint64_t first = 0xffd0;
constexpr uint64_t pidr2 = 0xffe8;
constexpr uint32_t pidr2_arch_gicv3 = 0x3b;  // ArchRev 3, JEDEC-assigned, DES_1 = Arm
}  // namespace gic_id

namespace gicd {
constexpr uint64_t frame_size = 0x10000;
constexpr uint64_t ctlr = 0x0000;
constexpr uint64_t typer = 0x0004;
constexpr uint64_t iidr = 0x0008;
constexpr uint64_t typer2 = 0x000c;
constexpr uint64_t statusr = 0x0010;
constexpr uint64_t setspi_nsr = 0x0040;
constexpr uint64_t itargetsr = 0x0800;  // RES0 with affinity routing
constexpr uint64_t sgir = 0x0f00;       // WI with affinity routing
constexpr uint64_t cpendsgir = 0x0f10;  // RAZ/WI with affinity routing
constexpr uint64_t spendsgir = 0x0f20;
constexpr uint64_t irouter = 0x6000;  // + 8 * INTID, INTIDs 32..1019
constexpr uint64_t pidr2 = gic_id::pidr2;

constexpr uint32_t ctlr_enable_grp0 = 1u << 0;
constexpr uint32_t ctlr_enable_grp1 = 1u << 1;
constexpr uint32_t ctlr_are = 1u << 4;
constexpr uint32_t ctlr_ds = 1u << 6;
constexpr uint32_t ctlr_rwp = 1u << 31;

constexpr unsigned typer_cpu_number_shift = 5;
constexpr unsigned typer_idbits_shift = 19;

constexpr uint64_t irouter_irm = uint64_t{1} << 31;
// Aff3 [39:32], IRM [31], Aff2 [23:16], Aff1 [15:8], Aff0 [7:0]; the rest is RES0.
constexpr uint64_t irouter_writable = 0xff80ffffffull;
constexpr uint64_t irouter_aff0 = 0xff;
constexpr uint64_t irouter_upper_affinity = 0xff0000ff00ull;  // Aff3, Aff2, Aff1
}  // namespace gicd

namespace gicr {
constexpr uint64_t frame_size = 0x20000;  // RD_base + SGI_base (no VLPI frames)
// RD_base frame.
constexpr uint64_t ctlr = 0x0000;
constexpr uint64_t iidr = 0x0004;
constexpr uint64_t typer = 0x0008;  // 64-bit
constexpr uint64_t statusr = 0x0010;
constexpr uint64_t waker = 0x0014;
constexpr uint64_t pidr2 = gic_id::pidr2;
constexpr uint64_t typer_last = uint64_t{1} << 4;
constexpr unsigned typer_processor_number_shift = 8;
constexpr unsigned typer_affinity_shift = 32;
constexpr uint32_t ctlr_rwp = 1u << 3;  // register write pending (GICR_CTLR.RWP: SGI/PPI disables)
constexpr uint32_t waker_processor_sleep = 1u << 1;
constexpr uint32_t waker_children_asleep = 1u << 2;
// SGI_base frame, relative to the redistributor: the banked registers of gic_bank.
constexpr uint64_t sgi_base = 0x10000;
constexpr uint64_t igroupr0 = sgi_base + gic_bank::igroupr;
constexpr uint64_t isenabler0 = sgi_base + gic_bank::isenabler;
constexpr uint64_t icenabler0 = sgi_base + gic_bank::icenabler;
constexpr uint64_t ispendr0 = sgi_base + gic_bank::ispendr;
constexpr uint64_t icpendr0 = sgi_base + gic_bank::icpendr;
constexpr uint64_t isactiver0 = sgi_base + gic_bank::isactiver;
constexpr uint64_t icactiver0 = sgi_base + gic_bank::icactiver;
constexpr uint64_t ipriorityr = sgi_base + gic_bank::ipriorityr;
constexpr uint64_t icfgr0 = sgi_base + gic_bank::icfgr;
constexpr uint64_t icfgr1 = sgi_base + gic_bank::icfgr + 4;
constexpr uint32_t icfgr0_sgis_edge = 0xaaaaaaaa;
}  // namespace gicr

// ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 / ICC_SGI0R_EL1 (one layout).
namespace icc_sgi1r {
constexpr uint64_t target_list_mask = 0xffff;
constexpr unsigned aff1_shift = 16;
constexpr unsigned intid_shift = 24;
constexpr unsigned aff2_shift = 32;
constexpr uint64_t irm = uint64_t{1} << 40;
constexpr unsigned rs_shift = 44;
constexpr unsigned aff3_shift = 48;
}  // namespace icc_sgi1r

// ICC_* EL1/EL2 CPU-interface fields the hypervisor programs.
namespace icc {
constexpr uint64_t iar_intid_mask = 0xffffff;
constexpr uint64_t ctlr_eoimode = uint64_t{1} << 1;  // EOIR drops priority, DIR deactivates
constexpr uint64_t sre_el2_value = 0xf;               // SRE, DFB, DIB, Enable (EL1 may use SRE)
constexpr uint64_t sre_el1_sre = 1;
constexpr uint64_t pmr_lowest = 0xff;                 // let every priority through
constexpr uint64_t igrpen_enable = 1;
}  // namespace icc

// ICH_HCR_EL2: the virtual CPU interface and its maintenance interrupts.
namespace ich_hcr {
constexpr uint64_t en = 1u << 0;       // virtual CPU interface enabled
constexpr uint64_t uie = 1u << 1;      // maintenance interrupt when at most one LR is valid
constexpr uint64_t lrenpie = 1u << 2;  // ... when EOIcount is non-zero
constexpr uint64_t npie = 1u << 3;     // ... when no LR is in the pending state
constexpr uint64_t tall0 = 1u << 11;   // trap EL1 accesses to the Group 0 ICC_* registers (IAR0, EOIR0, ...)
constexpr uint64_t tall1 = 1u << 12;   // ... to the Group 1 ones (IAR1, EOIR1, HPPIR1, BPR1, AP1Rn, IGRPEN1)
}  // namespace ich_hcr

// ICH_MISR_EL2: why the maintenance interrupt fired.
namespace ich_misr {
constexpr uint64_t eoi = 1u << 0;
constexpr uint64_t underflow = 1u << 1;
constexpr uint64_t lr_entry_not_present = 1u << 2;
constexpr uint64_t no_pending = 1u << 3;
}  // namespace ich_misr

// ICH_VTR_EL2: ListRegs [4:0] = LR count - 1; PRIbits [31:29] = priority bits - 1.
namespace ich_vtr {
constexpr unsigned list_register_count(uint64_t value) { return static_cast<unsigned>(value & 0x1f) + 1; }
constexpr unsigned priority_bits(uint64_t value) { return static_cast<unsigned>((value >> 29) & 7) + 1; }
}  // namespace ich_vtr

// ICH_VMCR_EL2: the guest's view of its virtual CPU interface (ICC_IGRPEN0/1, ICC_PMR).
namespace ich_vmcr {
constexpr uint64_t veng0 = 1u << 0;  // Group 0 enabled
constexpr uint64_t veng1 = 1u << 1;  // Group 1 enabled
constexpr unsigned vpmr_shift = 24;  // VPMR [31:24]: priorities below it are signalled
constexpr uint8_t priority_mask(uint64_t value) { return static_cast<uint8_t>(value >> vpmr_shift); }
}  // namespace ich_vmcr

// MPIDR affinity as GICR_TYPER and GICD_IROUTER lay it out.
namespace gic_affinity {
constexpr uint64_t mpidr_aff0_2 = 0xffffff;      // Aff2.Aff1.Aff0 at [23:0]
constexpr unsigned mpidr_aff3_shift = 32;        // Aff3 at MPIDR [39:32]
constexpr uint64_t mpidr_affinity_mask = 0xff00ffffffull;
// Aff3.Aff2.Aff1.Aff0 in 32 bits, as GICR_TYPER[63:32] holds it.
constexpr uint32_t packed(uint64_t mpidr) {
  return static_cast<uint32_t>((mpidr & mpidr_aff0_2) | ((mpidr >> mpidr_aff3_shift) & 0xff) << 24);
}
// ICC_SGI1R_EL1 naming one CPU (Aff0 below 16) for SGI `intid`.
constexpr uint64_t sgi1r_for(uint64_t mpidr, uint32_t intid) {
  return (((mpidr >> mpidr_aff3_shift) & 0xff) << icc_sgi1r::aff3_shift) |
         (((mpidr >> 16) & 0xff) << icc_sgi1r::aff2_shift) | (((mpidr >> 8) & 0xff) << icc_sgi1r::aff1_shift) |
         (uint64_t{intid & 0xf} << icc_sgi1r::intid_shift) | (uint64_t{1} << (mpidr & 0xf));
}
}  // namespace gic_affinity

}  // namespace bulkhead::arch
