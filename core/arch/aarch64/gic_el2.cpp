#include "core/arch/aarch64/gic_el2.hpp"

#include "core/arch/aarch64/sysreg.hpp"

// GICv3 CPU-interface registers by encoding, so no assembler support is assumed.
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_DIR_EL1 S3_0_C12_C11_1
#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_CTLR_EL1 S3_0_C12_C12_4
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_SRE_EL2 S3_4_C12_C9_5
#define ICH_HCR_EL2 S3_4_C12_C11_0
#define ICH_VTR_EL2 S3_4_C12_C11_1
#define ICH_MISR_EL2 S3_4_C12_C11_2

namespace bulkhead::arch::gic {
namespace {

constexpr uint32_t gicd_ctlr = 0x0000;
constexpr uint32_t gicd_ctlr_rwp = 1u << 31;
constexpr uint32_t gicd_ctlr_are = 1u << 4;
constexpr uint32_t gicd_ctlr_enable_group1 = 1u << 1;
constexpr uint32_t gicd_igroupr = 0x0080;
constexpr uint32_t gicd_isenabler = 0x0100;
constexpr uint32_t gicd_icenabler = 0x0180;
constexpr uint32_t gicd_ipriorityr = 0x0400;
constexpr uint32_t gicd_icactiver = 0x0380;
constexpr uint32_t gicd_irouter = 0x6000;

constexpr uint64_t gicr_frame_stride = 0x20000;  // RD_base + SGI_base (no VLPI frames)
constexpr uint32_t gicr_waker = 0x0014;
constexpr uint32_t gicr_typer = 0x0008;
constexpr uint64_t gicr_typer_last = 1u << 4;
constexpr uint32_t gicr_waker_processor_sleep = 1u << 1;
constexpr uint32_t gicr_waker_children_asleep = 1u << 2;
constexpr uint64_t sgi_frame = 0x10000;
constexpr uint32_t gicr_igroupr0 = 0x0080;
constexpr uint32_t gicr_isenabler0 = 0x0100;
constexpr uint32_t gicr_icenabler0 = 0x0180;
constexpr uint32_t gicr_ipriorityr = 0x0400;
constexpr uint32_t gicr_icactiver0 = 0x0380;

constexpr uint8_t hypervisor_priority = 0x80;  // any value the PMR (0xff) lets through

volatile uint32_t& reg32(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint32_t*>(base + offset); }
volatile uint64_t& reg64(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint64_t*>(base + offset); }
volatile uint8_t& reg8(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint8_t*>(base + offset); }

void wait_for_distributor(uint64_t base) {
  for (unsigned spins = 0; (reg32(base, gicd_ctlr) & gicd_ctlr_rwp) != 0 && spins < 1000000; ++spins) {
  }
}

// Affinity as GICR_TYPER and GICD_IROUTER lay it out: Aff3.Aff2.Aff1.Aff0 in 32 bits.
uint32_t packed_affinity(uint64_t mpidr) {
  return static_cast<uint32_t>((mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24);
}

uint64_t find_redistributor(const GicV3Info& gic) {
  const uint32_t wanted = packed_affinity(own_mpidr());
  for (size_t r = 0; r < gic.redistributor_region_count; ++r) {
    const AddressRange& region = gic.redistributors[r];
    for (uint64_t frame = region.base; frame + gicr_frame_stride <= region.end(); frame += gicr_frame_stride) {
      const uint64_t typer = reg64(frame, gicr_typer);
      if (static_cast<uint32_t>(typer >> 32) == wanted) return frame;
      if ((typer & gicr_typer_last) != 0) break;
    }
  }
  return 0;
}

}  // namespace

void init_distributor(const GicV3Info& gic) {
  const uint64_t base = gic.distributor.base;
  reg32(base, gicd_ctlr) = 0;
  wait_for_distributor(base);
  reg32(base, gicd_ctlr) = gicd_ctlr_are;
  wait_for_distributor(base);
  reg32(base, gicd_ctlr) = gicd_ctlr_are | gicd_ctlr_enable_group1;
  wait_for_distributor(base);
}

uint64_t init_this_cpu(const GicV3Info& gic) {
  const uint64_t rd = find_redistributor(gic);
  if (rd == 0) return 0;
  reg32(rd, gicr_waker) = reg32(rd, gicr_waker) & ~gicr_waker_processor_sleep;
  for (unsigned spins = 0; (reg32(rd, gicr_waker) & gicr_waker_children_asleep) != 0 && spins < 1000000; ++spins) {
  }
  const uint64_t sgi = rd + sgi_frame;
  reg32(sgi, gicr_icenabler0) = 0xffffffff;
  // A vCPU stopped mid-interrupt (a partition reset) leaves its forwarded timer PPI
  // active, which would never fire again: the CPU starts with nothing active.
  reg32(sgi, gicr_icactiver0) = 0xffffffff;
  reg32(sgi, gicr_igroupr0) = 0xffffffff;  // everything group 1 (single security state)
  for (uint32_t intid = 0; intid < 32; ++intid) reg8(sgi, gicr_ipriorityr + intid) = hypervisor_priority;
  reg32(sgi, gicr_isenabler0) = (1u << kick_sgi) | (1u << maintenance_ppi) | (1u << virtual_timer_ppi) |
                                (1u << physical_timer_ppi);
  BULKHEAD_WRITE_SYSREG(ICC_SRE_EL2, 0xf);  // SRE, DFB, DIB, Enable (EL1 may use SRE)
  instruction_barrier();
  BULKHEAD_WRITE_SYSREG(ICC_PMR_EL1, 0xff);
  BULKHEAD_WRITE_SYSREG(ICC_BPR1_EL1, 0);
  BULKHEAD_WRITE_SYSREG(ICC_CTLR_EL1, 1u << 1);  // EOImode: EOIR drops priority, DIR deactivates
  BULKHEAD_WRITE_SYSREG(ICC_IGRPEN1_EL1, 1);
  instruction_barrier();
  return rd;
}

uint32_t acknowledge() {
  const uint32_t intid = static_cast<uint32_t>(BULKHEAD_READ_SYSREG(ICC_IAR1_EL1) & 0xffffff);
  asm volatile("dsb sy" ::: "memory");
  return intid;
}

void priority_drop(uint32_t intid) {
  BULKHEAD_WRITE_SYSREG(ICC_EOIR1_EL1, intid);
  instruction_barrier();
}

void deactivate(uint32_t intid) {
  BULKHEAD_WRITE_SYSREG(ICC_DIR_EL1, intid);
  instruction_barrier();
}

void send_sgi(uint32_t intid, uint64_t target_mpidr) {
  const uint64_t value = (((target_mpidr >> 32) & 0xff) << 48) | (((target_mpidr >> 16) & 0xff) << 32) |
                         (((target_mpidr >> 8) & 0xff) << 16) | (uint64_t{intid & 0xf} << 24) |
                         (uint64_t{1} << (target_mpidr & 0xf));
  asm volatile("dsb ishst" ::: "memory");
  BULKHEAD_WRITE_SYSREG(ICC_SGI1R_EL1, value);
  instruction_barrier();
}

void route_spi(const GicV3Info& gic, uint32_t intid, uint64_t target_mpidr) {
  const uint64_t base = gic.distributor.base;
  reg32(base, gicd_igroupr + (intid / 32) * 4) = reg32(base, gicd_igroupr + (intid / 32) * 4) | (1u << (intid % 32));
  reg8(base, gicd_ipriorityr + intid) = hypervisor_priority;
  reg64(base, gicd_irouter + uint64_t{intid} * 8) = target_mpidr & 0xff00ffffffull;
}

void enable_spi(const GicV3Info& gic, uint32_t intid, bool enabled) {
  reg32(gic.distributor.base, (enabled ? gicd_isenabler : gicd_icenabler) + (intid / 32) * 4) = 1u << (intid % 32);
}

void set_ppi_enabled(uint64_t redistributor, uint32_t intid, bool enabled) {
  if (redistributor == 0 || intid >= 32) return;
  reg32(redistributor + sgi_frame, enabled ? gicr_isenabler0 : gicr_icenabler0) = 1u << intid;
}

void clear_active(const GicV3Info& gic, uint64_t redistributor, uint32_t intid) {
  if (intid >= 32) {
    reg32(gic.distributor.base, gicd_icactiver + (intid / 32) * 4) = 1u << (intid % 32);
  } else if (redistributor != 0) {
    reg32(redistributor + sgi_frame, gicr_icactiver0) = 1u << intid;
  }
}

size_t list_register_count() { return (BULKHEAD_READ_SYSREG(ICH_VTR_EL2) & 0x1f) + 1; }

uint64_t read_list_register(size_t index) {
  switch (index) {
    case 0: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_0);
    case 1: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_1);
    case 2: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_2);
    case 3: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_3);
    case 4: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_4);
    case 5: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_5);
    case 6: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_6);
    case 7: return BULKHEAD_READ_SYSREG(S3_4_C12_C12_7);
    default: return 0;
  }
}

void write_list_register(size_t index, uint64_t value) {
  switch (index) {
    case 0: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_0, value); break;
    case 1: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_1, value); break;
    case 2: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_2, value); break;
    case 3: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_3, value); break;
    case 4: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_4, value); break;
    case 5: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_5, value); break;
    case 6: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_6, value); break;
    case 7: BULKHEAD_WRITE_SYSREG(S3_4_C12_C12_7, value); break;
    default: break;
  }
}

void write_hcr(uint64_t value) { BULKHEAD_WRITE_SYSREG(ICH_HCR_EL2, value); }
uint64_t read_misr() { return BULKHEAD_READ_SYSREG(ICH_MISR_EL2); }

}  // namespace bulkhead::arch::gic
