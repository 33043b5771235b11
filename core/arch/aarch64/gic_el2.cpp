#include "core/arch/aarch64/gic_el2.hpp"

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"

namespace bulkhead::arch::gic {
namespace {

constexpr uint8_t hypervisor_priority = 0x80;  // any value the PMR (0xff) lets through

volatile uint32_t& reg32(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint32_t*>(base + offset); }
volatile uint64_t& reg64(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint64_t*>(base + offset); }
volatile uint8_t& reg8(uint64_t base, uint64_t offset) { return *reinterpret_cast<volatile uint8_t*>(base + offset); }

// One bit per interrupt: the word of `bank_register` holding `intid`'s bit.
uint64_t bit_word(uint64_t bank_register, Intid intid) { return bank_register + uint64_t{intid.word()} * 4; }

// The word of bank `bank` (a gic_bank offset) holding `irq`'s bit: the distributor's for an
// SPI, the redistributor's SGI frame for a private interrupt, none without a redistributor.
volatile uint32_t* bank_word(const GicV3Info& gic, uint64_t redistributor, Intid irq, uint64_t bank) {
  if (irq.is_spi()) return &reg32(gic.distributor.base, bit_word(bank, irq));
  return redistributor != 0 ? &reg32(redistributor, gicr::sgi_base + bank) : nullptr;
}

void write_bank_bit(const GicV3Info& gic, uint64_t redistributor, Intid irq, uint64_t bank) {
  if (volatile uint32_t* word = bank_word(gic, redistributor, irq, bank)) *word = irq.bit();
}

void wait_for_distributor(uint64_t base) {
  for (unsigned spins = 0; (reg32(base, gicd::ctlr) & gicd::ctlr_rwp) != 0 && spins < 1000000; ++spins) {
  }
}

uint64_t find_redistributor(const GicV3Info& gic, uint64_t mpidr) {
  const uint32_t wanted = gic_affinity::packed(mpidr);
  for (size_t r = 0; r < gic.redistributor_region_count; ++r) {
    const AddressRange& region = gic.redistributors[r];
    for (uint64_t frame = region.base; frame + gicr::frame_size <= region.end(); frame += gicr::frame_size) {
      const uint64_t typer = reg64(frame, gicr::typer);
      if (static_cast<uint32_t>(typer >> gicr::typer_affinity_shift) == wanted) return frame;
      if ((typer & gicr::typer_last) != 0) break;
    }
  }
  return 0;
}

}  // namespace

void init_distributor(const GicV3Info& gic) {
  const uint64_t base = gic.distributor.base;
  reg32(base, gicd::ctlr) = 0;
  wait_for_distributor(base);
  reg32(base, gicd::ctlr) = gicd::ctlr_are;
  wait_for_distributor(base);
  reg32(base, gicd::ctlr) = gicd::ctlr_are | gicd::ctlr_enable_grp1;
  wait_for_distributor(base);
}

uint64_t redistributor_of(const GicV3Info& gic, uint64_t mpidr) { return find_redistributor(gic, mpidr); }

uint64_t init_this_cpu(const GicV3Info& gic) {
  const uint64_t rd = find_redistributor(gic, own_mpidr());
  if (rd == 0) return 0;
  reg32(rd, gicr::waker) = reg32(rd, gicr::waker) & ~gicr::waker_processor_sleep;
  for (unsigned spins = 0; (reg32(rd, gicr::waker) & gicr::waker_children_asleep) != 0 && spins < 1000000; ++spins) {
  }
  reg32(rd, gicr::icenabler0) = 0xffffffff;
  // A vCPU stopped mid-interrupt (a partition reset) leaves its forwarded timer PPI
  // active, which would never fire again: the CPU starts with nothing active.
  reg32(rd, gicr::icactiver0) = 0xffffffff;
  reg32(rd, gicr::igroupr0) = 0xffffffff;  // everything group 1 (single security state)
  for (uint32_t intid = 0; intid < Intid::private_count; ++intid) reg8(rd, gicr::ipriorityr + intid) = hypervisor_priority;
  reg32(rd, gicr::isenabler0) = Intid(kick_sgi).bit() | Intid(maintenance_ppi).bit();
  sysreg::icc_sre_el2::write(icc::sre_el2_value);
  instruction_barrier();
  sysreg::icc_pmr_el1::write(icc::pmr_lowest);
  sysreg::icc_bpr1_el1::write(0);
  sysreg::icc_ctlr_el1::write(icc::ctlr_eoimode);
  sysreg::icc_igrpen1_el1::write(icc::igrpen_enable);
  instruction_barrier();
  return rd;
}

uint32_t acknowledge() {
  const auto intid = static_cast<uint32_t>(sysreg::icc_iar1_el1::read() & icc::iar_intid_mask);
  asm volatile("dsb sy" ::: "memory");
  return intid;
}

void priority_drop(uint32_t intid) {
  sysreg::icc_eoir1_el1::write(intid);
  instruction_barrier();
}

void deactivate(uint32_t intid) {
  sysreg::icc_dir_el1::write(intid);
  instruction_barrier();
}

void send_sgi(uint32_t intid, uint64_t target_mpidr) {
  asm volatile("dsb ishst" ::: "memory");
  sysreg::icc_sgi1r_el1::write(gic_affinity::sgi1r_for(target_mpidr, intid));
  instruction_barrier();
}

void route_spi(const GicV3Info& gic, uint32_t intid, uint64_t target_mpidr) {
  const uint64_t base = gic.distributor.base;
  const Intid spi(intid);
  reg32(base, bit_word(gic_bank::igroupr, spi)) = reg32(base, bit_word(gic_bank::igroupr, spi)) | spi.bit();
  reg8(base, gic_bank::ipriorityr + intid) = hypervisor_priority;
  reg64(base, gicd::irouter + uint64_t{intid} * 8) = target_mpidr & gic_affinity::mpidr_affinity_mask;
}

void set_spi_edge(const GicV3Info& gic, uint32_t intid, bool edge) {
  constexpr uint32_t interrupts_per_word = 16;  // two configuration bits each
  const uint64_t word = gic_bank::icfgr + uint64_t{intid / interrupts_per_word} * 4;
  const uint32_t bit = gic_bank::icfgr_edge << (2 * (intid % interrupts_per_word));
  const uint32_t value = reg32(gic.distributor.base, word);
  reg32(gic.distributor.base, word) = edge ? value | bit : value & ~bit;
  wait_for_distributor(gic.distributor.base);
}

void enable_spi(const GicV3Info& gic, uint32_t intid, bool enabled) {
  const Intid spi(intid);
  reg32(gic.distributor.base, bit_word(enabled ? gic_bank::isenabler : gic_bank::icenabler, spi)) = spi.bit();
}

uint64_t this_cpu_redistributor(const GicV3Info& gic) { return find_redistributor(gic, own_mpidr()); }

uint32_t private_enables(uint64_t redistributor) {
  return redistributor != 0 ? reg32(redistributor, gicr::isenabler0) : 0;
}

void set_private_enables(uint64_t redistributor, uint32_t enabled) {
  if (redistributor == 0) return;
  reg32(redistributor, gicr::icenabler0) = ~enabled;
  reg32(redistributor, gicr::isenabler0) = enabled;
  // GICR_CTLR.RWP: the disables have taken effect before the caller relies on them.
  for (unsigned spins = 0; (reg32(redistributor, gicr::ctlr) & gicr::ctlr_rwp) != 0 && spins < 1000000; ++spins) {
  }
}

void set_ppi_enabled(uint64_t redistributor, uint32_t intid, bool enabled) {
  if (redistributor == 0 || !Intid(intid).is_private()) return;
  reg32(redistributor, enabled ? gicr::isenabler0 : gicr::icenabler0) = Intid(intid).bit();
}

void clear_active(const GicV3Info& gic, uint64_t redistributor, uint32_t intid) {
  write_bank_bit(gic, redistributor, Intid(intid), gic_bank::icactiver);
}

void set_active(const GicV3Info& gic, uint64_t redistributor, uint32_t intid) {
  write_bank_bit(gic, redistributor, Intid(intid), gic_bank::isactiver);
}

void clear_pending(const GicV3Info& gic, uint64_t redistributor, uint32_t intid) {
  write_bank_bit(gic, redistributor, Intid(intid), gic_bank::icpendr);
}

bool is_pending(const GicV3Info& gic, uint64_t redistributor, uint32_t intid) {
  const Intid irq(intid);
  const volatile uint32_t* word = bank_word(gic, redistributor, irq, gic_bank::ispendr);
  return word != nullptr && (*word & irq.bit()) != 0;
}

size_t list_register_count() { return ich_vtr::list_register_count(sysreg::ich_vtr_el2::read()); }
uint64_t read_misr() { return sysreg::ich_misr_el2::read(); }

}  // namespace bulkhead::arch::gic
