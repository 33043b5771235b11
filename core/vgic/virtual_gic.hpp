// A partition's whole virtual GICv3: the distributor, one redistributor and one list-
// register queue per vCPU, and the plumbing between them. The target drives it from its
// trap handlers and calls nothing else in core/vgic:
//
//   exit from vCPU k       fold_back(k, lrs)           what the guest did to its LRs
//   MMIO trap in the GIC   read()/write()              events: program the physical GIC,
//   ICC_SGI1R/SGI0R trap   send_sgi()                  kick vCPUs (IPI those running
//   physical IRQ acked     hardware_interrupt()        elsewhere so they exit)
//   virtual device line    set_line()
//   entry into vCPU k      fill(k, lrs)                LRs + ICH_HCR_EL2 maintenance bits
//
// The interrupt state in the distributor and redistributors is authoritative; the
// queue is rebuilt from it on every entry, and fold_back applies only what the guest did
// (see virq_queue.hpp), so accesses made meanwhile from other vCPUs are not lost. The
// target serialises all calls for one partition (one lock per partition).
//
// Delivered to vCPU k on entry: its SGIs/PPIs and the SPIs routed to it that are pending,
// enabled, in a group GICD_CTLR enables, while its GICR_WAKER.ProcessorSleep is 0; and
// every active one (it must stay in an LR until the guest deactivates it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/vgic/interrupt.hpp"
#include "core/vgic/sgi.hpp"
#include "core/vgic/vgic_distributor.hpp"
#include "core/vgic/vgic_redistributor.hpp"
#include "core/vgic/virq_queue.hpp"

namespace bulkhead::vgic {

struct GicConfig {
  uint8_t vcpu_count = 1;
  uint8_t priority_bits = 5;
  uint64_t distributor_base = 0;    // guest-physical, 64 KiB
  uint64_t redistributor_base = 0;  // guest-physical, 128 KiB per vCPU in vCPU order
  const OwnedSpi* spis = nullptr;
  size_t spi_count = 0;
  uint32_t hardware_ppis = 0;  // e.g. the virtual and EL1 physical timer PPIs (27, 30)
};

class VirtualGic {
 public:
  ConfigError configure(const GicConfig& config);
  void reset();  // partition reset: architectural reset of every register and queue

  // Guest-physical addresses: the distributor frame and the vCPUs' redistributor frames.
  bool claims(uint64_t address) const;
  AccessResult read(uint64_t address, unsigned width, uint64_t& value) const;
  AccessResult write(uint64_t address, unsigned width, uint64_t value, Events& events);

  // A trapped ICC_SGI1R_EL1 (group1 = true) or ICC_SGI0R_EL1 (false) write by vCPU `vcpu`.
  // With a single security state, an SGI is only set pending at targets where that SGI
  // is configured in the same group (as KVM does).
  void send_sgi(uint8_t vcpu, uint64_t value, bool group1, Events& events);
  // The target acknowledged (and priority-dropped, EOImode = 1) a physical interrupt on
  // the CPU running `vcpu`, leaving it active: mark the virtual one pending. False when
  // the partition does not own it as hardware-backed (the target deactivates and logs).
  bool hardware_interrupt(uint8_t vcpu, uint16_t physical_intid, Events& events);
  // A virtual device's interrupt line. Level-triggered: pending while asserted; configured
  // edge-triggered: a rising edge latches pending. `vcpu` selects the bank for PPIs.
  bool set_line(uint8_t vcpu, uint16_t intid, bool asserted, Events& events);

  void fold_back(uint8_t vcpu, const uint64_t* list_registers, size_t lr_count);
  FillResult fill(uint8_t vcpu, uint64_t* list_registers, size_t lr_count);

  uint8_t vcpu_count() const { return distributor_.vcpu_count(); }
  VirtualDistributor& distributor() { return distributor_; }
  const VirtualDistributor& distributor() const { return distributor_; }
  VirtualRedistributor& redistributor(uint8_t vcpu) { return redistributors_[vcpu % max_vcpus]; }
  const VirtualRedistributor& redistributor(uint8_t vcpu) const { return redistributors_[vcpu % max_vcpus]; }
  const VirqQueue& queue(uint8_t vcpu) const { return queues_[vcpu % max_vcpus]; }
  // The interrupt `intid` as vCPU `vcpu` sees it; nullptr when the partition does not own it.
  InterruptState* interrupt(uint8_t vcpu, uint32_t intid);

 private:
  // `bank`: the redistributor of the vCPU the interrupt would be delivered to.
  bool deliverable(const InterruptState& irq, const VirtualRedistributor& bank) const;
  void queue_interrupt(VirqQueue& destination, const InterruptState& irq, const VirtualRedistributor& bank);

  VirtualDistributor distributor_;
  VirtualRedistributor redistributors_[max_vcpus];
  VirqQueue queues_[max_vcpus];
  uint64_t distributor_base_ = 0;
  uint64_t redistributor_base_ = 0;
};

}  // namespace bulkhead::vgic
