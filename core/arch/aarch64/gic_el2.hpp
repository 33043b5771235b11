// The physical GICv3 as the hypervisor drives it at EL2: distributor and redistributor
// setup, the EL2 CPU interface (acknowledge, priority drop, deactivate), SGIs to other
// CPUs, and the list registers of the virtual CPU interface.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/intid.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::arch::gic {

// Interrupts the hypervisor itself uses (INTIDs; the PPIs are the architecture's
// recommended numbers, which QEMU virt and the device trees use).
constexpr uint32_t kick_sgi = Intid::sgi(0).value();                      // "resync your list registers" between CPUs
constexpr uint32_t maintenance_ppi = Intid::from_dt_ppi(9).value();       // virtual CPU interface maintenance (25)
constexpr uint32_t virtual_timer_ppi = Intid::from_dt_ppi(11).value();    // the guests' EL1 virtual timer (27)
constexpr uint32_t physical_timer_ppi = Intid::from_dt_ppi(14).value();   // the guests' EL1 physical timer (30)
constexpr uint32_t spurious = Intid::first_special;

// Once, on the boot CPU: affinity routing and group 1 on in the distributor.
void init_distributor(const GicV3Info& gic);
// On each CPU before it runs a vCPU: wake its redistributor, enable the hypervisor's
// SGI/PPIs (the kick SGI and the maintenance PPI; the guests' timer PPIs follow their
// virtual state, set by the vCPU), enable the EL2 CPU interface with split priority drop
// / deactivation. Returns this CPU's redistributor (RD_base), 0 if the GIC does not list
// this CPU.
uint64_t init_this_cpu(const GicV3Info& gic);
// The redistributor (RD_base) of the CPU with this MPIDR, 0 if the GIC lists none.
uint64_t redistributor_of(const GicV3Info& gic, uint64_t mpidr);

uint32_t acknowledge();                 // ICC_IAR1_EL1
void priority_drop(uint32_t intid);     // ICC_EOIR1_EL1 (EOImode 1: stays active)
void deactivate(uint32_t intid);        // ICC_DIR_EL1
void send_sgi(uint32_t intid, uint64_t target_mpidr);

// A physical SPI owned by a partition: group 1, level/edge as given, routed to one CPU.
void route_spi(const GicV3Info& gic, uint32_t intid, uint64_t target_mpidr);
// GICD_ICFGR: edge-triggered or level-sensitive. Only while the SPI is disabled.
void set_spi_edge(const GicV3Info& gic, uint32_t intid, bool edge);
void enable_spi(const GicV3Info& gic, uint32_t intid, bool enabled);
void set_ppi_enabled(uint64_t redistributor, uint32_t intid, bool enabled);
// This CPU's redistributor without touching it (0 if the GIC does not list this CPU), and
// its SGI/PPI enables as one word (bit = INTID): read, and replaced as a whole.
uint64_t this_cpu_redistributor(const GicV3Info& gic);
uint32_t private_enables(uint64_t redistributor);
void set_private_enables(uint64_t redistributor, uint32_t enabled);
// The active and pending state of an SPI (distributor) or of a PPI/SGI (in
// `redistributor`: any CPU may reach any redistributor's frame, but the hypervisor
// changes a PPI's state only from the CPU it belongs to).
void clear_active(const GicV3Info& gic, uint64_t redistributor, uint32_t intid);
void set_active(const GicV3Info& gic, uint64_t redistributor, uint32_t intid);
void clear_pending(const GicV3Info& gic, uint64_t redistributor, uint32_t intid);
// Pending: latched, or (level-sensitive) its line asserted.
bool is_pending(const GicV3Info& gic, uint64_t redistributor, uint32_t intid);

size_t list_register_count();  // ICH_VTR_EL2.ListRegs + 1 (at most 16)
uint64_t read_misr();            // ICH_MISR_EL2
// The list registers themselves: arch::sysreg::read_list_register()/write_list_register().

}  // namespace bulkhead::arch::gic
