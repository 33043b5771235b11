#include "gic.hpp"

#include "tests.hpp"

namespace probe::gic {
namespace {

IrqRecord records[max_vcpus];
IrqHook hooks[IrqRecord::tracked];
volatile bool eoi_before_hook[max_vcpus];

}  // namespace

IrqRecord& record(uint32_t vcpu) { return records[vcpu % max_vcpus]; }

void clear_order(uint32_t vcpu) {
  IrqRecord& r = record(vcpu);
  r.order_length = 0;
}

void set_hook(uint32_t intid, IrqHook hook) {
  if (intid < IrqRecord::tracked) hooks[intid] = hook;
}

void set_eoi_before_hook(bool early) { eoi_before_hook[vcpu_index() % max_vcpus] = early; }

void init_this_cpu() {
  const uint64_t rd = rd_base(vcpu_index());
  if (settings().wake_redistributors) {
    write32(rd + gicr_waker, read32(rd + gicr_waker) & ~waker_processor_sleep);
    wait_for([rd] { return (read32(rd + gicr_waker) & waker_children_asleep) == 0; }, 10000);
  }
  PROBE_WRITE_SYSREG(ICC_PMR_EL1, 0xff);
  PROBE_WRITE_SYSREG(ICC_BPR1_EL1, 0);
  PROBE_WRITE_SYSREG(ICC_CTLR_EL1, 0);
  PROBE_WRITE_SYSREG(ICC_IGRPEN1_EL1, 1);
  isb();
  const uint32_t ctlr = read32(distributor + gicd_ctlr);
  if ((ctlr & ctlr_enable_grp1) == 0) write32(distributor + gicd_ctlr, (ctlr & ctlr_enable_grp0) | ctlr_enable_grp1);
}

void enable_private(uint32_t intid, uint8_t priority) {
  const uint64_t sgi = sgi_frame(vcpu_index());
  write8(sgi + ipriorityr + intid, priority);
  write32(sgi + isenabler, 1u << intid);
}

void disable_private(uint32_t intid) { write32(sgi_frame(vcpu_index()) + icenabler, 1u << intid); }

void send_sgi(uint64_t value) {
  dsb();
  PROBE_WRITE_SYSREG(ICC_SGI1R_EL1, value);
  isb();
}

void send_group0_sgi(uint64_t value) {
  dsb();
  PROBE_WRITE_SYSREG(ICC_SGI0R_EL1, value);
  isb();
}

}  // namespace probe::gic

// The FIQ vector (entry.S): Group 0 interrupts, acknowledged through ICC_IAR0_EL1.
extern "C" void on_fiq(probe::Frame*) {
  using namespace probe;
  using namespace probe::gic;
  const auto intid = static_cast<uint32_t>(PROBE_READ_SYSREG(ICC_IAR0_EL1) & 0xffffff);
  IrqRecord& r = record(vcpu_index());
  if (intid >= spurious) {
    r.other = r.other + 1;
    return;
  }
  if (intid < IrqRecord::tracked) r.fiq_count[intid] = r.fiq_count[intid] + 1;
  PROBE_WRITE_SYSREG(ICC_EOIR0_EL1, intid);
  isb();
}

// The IRQ vector (entry.S): acknowledge, record, silence the source, EOI.
extern "C" void on_irq(probe::Frame* frame) {
  using namespace probe;
  using namespace probe::gic;
  const auto intid = static_cast<uint32_t>(PROBE_READ_SYSREG(ICC_IAR1_EL1) & 0xffffff);
  IrqRecord& r = record(vcpu_index());
  if (intid >= spurious) {
    r.other = r.other + 1;
    return;
  }
  if (r.order_length < IrqRecord::order_capacity) {
    r.order[r.order_length] = intid;
    r.order_length = r.order_length + 1;
  }
  const bool eoi_first = eoi_before_hook[vcpu_index() % max_vcpus];
  if (intid < IrqRecord::tracked) {
    r.stamp[intid] = frame->stamp;
    r.running_priority[intid] = static_cast<uint32_t>(PROBE_READ_SYSREG(ICC_RPR_EL1) & 0xff);
  }
  if (eoi_first) {
    PROBE_WRITE_SYSREG(ICC_EOIR1_EL1, intid);
    isb();
  }
  if (intid < IrqRecord::tracked) {
    if (hooks[intid] != nullptr) hooks[intid](intid);
    dsb();
    r.count[intid] = r.count[intid] + 1;
  } else {
    r.other = r.other + 1;
  }
  if (!eoi_first) {
    PROBE_WRITE_SYSREG(ICC_EOIR1_EL1, intid);
    isb();
  }
}
