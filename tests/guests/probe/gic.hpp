// The virtual GICv3 as the guest drives it: distributor at 0x08000000, one 128 KiB
// redistributor (RD_base, then SGI_base at +64 KiB) per vCPU from 0x080a0000, and the
// CPU interface through ICC_* system registers. Also the per-vCPU record of every
// interrupt taken, which the tests read.
#pragma once

#include <cstdint>

#include "arch.hpp"

namespace probe::gic {

constexpr uint64_t distributor = 0x08000000;
constexpr uint64_t redistributors = 0x080a0000;
constexpr uint64_t redistributor_stride = 0x20000;
constexpr uint64_t sgi_base = 0x10000;

// Offsets shared by GICD_* and GICR_* SGI_base.
constexpr uint64_t igroupr = 0x0080;
constexpr uint64_t isenabler = 0x0100;
constexpr uint64_t icenabler = 0x0180;
constexpr uint64_t ispendr = 0x0200;
constexpr uint64_t icpendr = 0x0280;
constexpr uint64_t isactiver = 0x0300;
constexpr uint64_t icactiver = 0x0380;
constexpr uint64_t ipriorityr = 0x0400;
constexpr uint64_t icfgr = 0x0c00;
constexpr uint64_t pidr2 = 0xffe8;

constexpr uint64_t gicd_ctlr = 0x0000;
constexpr uint64_t gicd_typer = 0x0004;
constexpr uint64_t gicd_setspi_nsr = 0x0040;  // message-based SPIs (GICD_TYPER.MBIS)
constexpr uint64_t gicd_irouter = 0x6000;
constexpr uint32_t ctlr_enable_grp0 = 1u << 0;
constexpr uint32_t ctlr_enable_grp1 = 1u << 1;
constexpr uint32_t ctlr_are = 1u << 4;
constexpr uint32_t ctlr_ds = 1u << 6;
constexpr uint32_t ctlr_rwp = 1u << 31;

constexpr uint64_t gicr_ctlr = 0x0000;
constexpr uint64_t gicr_typer = 0x0008;
constexpr uint64_t gicr_waker = 0x0014;
constexpr uint32_t waker_processor_sleep = 1u << 1;
constexpr uint32_t waker_children_asleep = 1u << 2;

constexpr uint32_t virtual_timer_ppi = 27;
constexpr uint32_t physical_timer_ppi = 30;
constexpr uint32_t uart_spi = 33;  // the virtual PL011 (guest DT: SPI 1)
constexpr uint32_t spurious = 1020;

inline uint64_t rd_base(uint32_t vcpu) { return redistributors + vcpu * redistributor_stride; }
inline uint64_t sgi_frame(uint32_t vcpu) { return rd_base(vcpu) + sgi_base; }

// This vCPU's CPU interface and redistributor: wakes the redistributor (GICR_WAKER; not
// with `probe.waker=untouched`, like guests written for KVM), PMR open, EOImode 0 (EOI
// also deactivates), Group 1 on. Then the distributor's Group 1.
void init_this_cpu();
// Private interrupt `intid` of this vCPU: priority, then enabled.
void enable_private(uint32_t intid, uint8_t priority);
void disable_private(uint32_t intid);
// ICC_SGI1R_EL1 (trapped by the hypervisor and emulated).
void send_sgi(uint64_t value);
// ICC_SGI0R_EL1: Group 0 SGIs only.
void send_group0_sgi(uint64_t value);
constexpr uint64_t sgi_to(uint32_t intid, uint32_t target_list) {
  return (uint64_t{intid & 0xf} << 24) | (target_list & 0xffff);
}
constexpr uint64_t sgi_broadcast(uint32_t intid) { return (uint64_t{intid & 0xf} << 24) | (uint64_t{1} << 40); }

// What one vCPU's IRQ handler saw. Written only by that vCPU's handler.
struct IrqRecord {
  static constexpr uint32_t tracked = 128;  // INTIDs 0..127 are counted one by one (MSI SPIs included)
  static constexpr uint32_t order_capacity = 16;
  volatile uint32_t count[tracked];
  volatile uint32_t other;                   // any other INTID, spurious included
  volatile uint64_t stamp[tracked];          // CNTVCT_EL0 in the vector, last time
  volatile uint32_t running_priority[tracked];  // ICC_RPR_EL1 in the handler, last time
  volatile uint32_t order[order_capacity];   // INTIDs in acknowledge order
  volatile uint32_t order_length;
  volatile uint32_t timer_control;           // CNTV/CNTP_CTL_EL0 in the timer handler
  volatile uint32_t fiq_count[tracked];      // Group 0 interrupts, taken as FIQs
};
IrqRecord& record(uint32_t vcpu);
void clear_order(uint32_t vcpu);

// Called in the IRQ handler for `intid` before the EOI; must silence the source.
using IrqHook = void (*)(uint32_t intid);
void set_hook(uint32_t intid, IrqHook hook);
// While set, this vCPU's IRQ handler writes the EOI first and silences the source after
// it (the hook runs after the EOI), as many drivers do.
void set_eoi_before_hook(bool early);

}  // namespace probe::gic
