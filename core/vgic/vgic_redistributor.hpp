// The GICv3 redistributor of one vCPU (128 KiB: RD_base frame, then SGI_base frame), over
// that vCPU's SGIs 0-15 and PPIs 16-31. The partition owns all of them; PPIs listed as
// hardware-backed (the timers) follow the physical PPI of the same INTID on the CPU the
// vCPU is pinned to. No LPIs: GICR_TYPER.PLPIS = 0 and the LPI registers are unhandled.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/unset_array.hpp"
#include "core/vgic/interrupt.hpp"

namespace bulkhead::vgic {

class VirtualDistributor;


class VirtualRedistributor {
 public:
  static constexpr uint64_t frame_size = gicr::frame_size;  // RD_base + SGI_base

  // `hardware_ppis`: bit n set = PPI n (16..31) is backed by the physical PPI n.
  void configure(const VirtualDistributor& distributor, uint8_t vcpu, uint32_t hardware_ppis);
  // Architectural reset: SGIs/PPIs disabled, inactive, not pending, group 1, priority 0,
  // PPIs level-triggered; GICR_WAKER.ProcessorSleep = 1, as on hardware.
  void reset();

  AccessResult read(uint64_t offset, unsigned width, uint64_t& value) const;
  AccessResult write(uint64_t offset, unsigned width, uint64_t value, Events& events);

  InterruptState& interrupt(uint32_t intid) { return interrupts_[intid % private_interrupt_count]; }
  const InterruptState& interrupt(uint32_t intid) const { return interrupts_[intid % private_interrupt_count]; }
  uint8_t vcpu() const { return vcpu_; }
  // GICR_WAKER.ProcessorSleep as the guest last wrote it (ChildrenAsleep reads the same).
  // It only answers the power-management handshake: interrupts are delivered whatever it
  // says, as KVM does. Guests that never wake their redistributor (test suites, RTOSes)
  // must get their interrupts; a sleeping vCPU is one in WFI or CPU_SUSPEND, which the
  // CPU interface wakes.
  bool processor_sleep() const { return processor_sleep_; }
  // Where the pending state of hardware-backed PPIs is read besides the virtual state.
  void set_physical(const PhysicalInterrupts* physical) { physical_ = physical; }
  uint64_t typer() const;

 private:
  AccessResult read_rd_word(uint64_t offset, uint32_t& value) const;
  AccessResult read_sgi_word(uint64_t offset, uint32_t& value) const;
  AccessResult write_sgi_word(uint64_t offset, uint32_t value, Events& events);

  const VirtualDistributor* distributor_ = nullptr;
  const PhysicalInterrupts* physical_ = nullptr;
  // Written whole by configure() before any access: a VM's 16 redistributors (of which
  // usually one or two are configured) cost nothing to construct (core/lib/unset_array.hpp).
  UnsetArray<InterruptState, private_interrupt_count> interrupts_;
  uint8_t vcpu_ = 0;
  bool processor_sleep_ = true;
};

}  // namespace bulkhead::vgic
