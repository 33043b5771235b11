// Running guests at EL1: the state of one virtual machine (its stage 2, virtual GIC,
// PSCI state, emulated regions) and of each physical CPU running one of its vCPUs, and
// the target's entry points. vCPUs are pinned 1:1 to physical CPUs. Target-only: the
// decisions themselves live in portable code (core/vcpu/*.hpp, core/vgic, core/psci_guest).
//
// Locking: everything in a Vm is guarded by its lock; a vCPU takes it for the whole of
// an exit. Nothing here waits for another VM.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/exception_frame.hpp"
#include "core/arch/aarch64/exception_vectors.hpp"
#include "core/arch/aarch64/spinlock.hpp"
#include "core/platform/platform.hpp"
#include "core/psci_guest/psci_guest.hpp"
#include "core/vcpu/mmio.hpp"
#include "core/vcpu/vgic_regions.hpp"
#include "core/vgic/virtual_gic.hpp"

namespace bulkhead::vcpu {

// Guest-log rate limit: each kind of line a guest can cause is printed this many times
// per VM run, then muted with one line saying so.
constexpr uint32_t logged_per_kind = 8;

struct Vm;

// The physical GIC's pending state for the vGIC (vgic::PhysicalInterrupts): SPIs in the
// distributor, PPIs in the redistributor of the CPU that runs the vCPU. Reads only, so
// any CPU may make them, another CPU's redistributor frame included.
class PhysicalGicView final : public vgic::PhysicalInterrupts {
 public:
  // Once the VM's vCPUs have their physical CPUs.
  void attach(const Vm& vm);
  bool pending(uint8_t vcpu, uint16_t physical_intid) const override;

 private:
  uint64_t redistributors_[vgic::max_vcpus] = {};  // RD_base of each vCPU's CPU
};

struct Vm {
  const char* name = "";
  size_t owner = 0;  // the owner's index for this VM (partitions/boot: the partition)
  uint64_t vttbr = 0;
  uint64_t counter_offset = 0;
  uint16_t vmid = 0;
  uint32_t vcpu_count = 0;
  uint32_t vcpu_cpu[vgic::max_vcpus] = {};  // the physical CPU (platform index) of each vCPU
  // The SPIs it owns (hardware-backed ones follow their physical SPI).
  const vgic::OwnedSpi* spis = nullptr;
  size_t spi_count = 0;

  // What every exit reads first, ahead of the vGIC's large state: close to the start, so
  // the trap path reaches them with plain offsets.
  arch::SpinLock lock;
  bool off = false;
  bool restarting = false;  // its vCPUs stop at their next exit; one of them reloads it
  MmioRegistry mmio;

  vgic::VirtualGic gic;
  PhysicalGicView physical_gic;
  psci_guest::PartitionPsci psci;
  GicRegionDevice gic_distributor;
  GicRegionDevice gic_redistributors;

  // Its RAM, as the hypervisor reaches it (EL2 maps host RAM at its physical address):
  // set/way emulation cleans and invalidates it by address.
  uint64_t ram_host_base = 0;
  uint64_t ram_size = 0;

  uint32_t faults = 0;     // accesses and fetches nothing maps, refused accesses
  uint32_t unhandled = 0;  // accesses an emulated device does not implement
};

// The physical CPU's view of the vCPU it runs (TPIDR_EL2 points at it).
struct Vcpu {
  Vm* vm = nullptr;
  uint32_t index = 0;  // the vCPU's index in its VM
  uint32_t cpu = 0;    // the physical CPU (platform index)
  uint64_t redistributor = 0;
  uint64_t entry = 0;  // where it starts, with x0
  uint64_t x0 = 0;
  uint64_t ich_hcr = 0;  // ICH_HCR_EL2 as last written
  uint64_t hcr = 0;      // HCR_EL2 as last written (TVM comes and goes)
  const vgic::VirqQueue* queue = nullptr;  // its list-register queue, asked on every exit
  uint32_t lr_count = 0;
  uint8_t mmio_hint = 0;  // the region of its last emulated access (MmioRegistry::find)
  // Its CPU is the boot CPU, which also serves the console and the system's interrupts
  // from this vCPU's exits (core/boot/console_input.hpp).
  bool serves_system = false;
  // Per-exit scratch, here rather than on the stack: exits need no stack buffers (and so
  // no stack-protector checks on the hot path).
  vgic::Events events;
  uint64_t list_registers[vgic::VirqQueue::max_list_registers] = {};
};

// Once, before any VM runs: the machine whose GIC and CPUs the vCPUs use, and the
// VTCR_EL2 every VM's stage 2 is built for.
void configure(const PlatformInfo& platform, uint64_t vtcr);
const PlatformInfo& machine();

// Registers the vGIC's regions in vm.mmio and gives the vGIC its view of the physical
// GIC (after vm.gic is configured and the vCPUs have their CPUs). False if they collide
// with a region registered before (logged).
bool register_gic_regions(Vm& vm, uint64_t distributor_base, uint64_t redistributor_base);

Vcpu& this_vcpu();
// The physical CPU of vCPU `index` of `vm`, made ready to enter it at `entry` with `x0`
// (run_vcpu_task() on that CPU then does it).
Vcpu& assign_vcpu(Vm& vm, uint32_t index, uint64_t entry, uint64_t x0);
uint64_t vcpu_mpidr(const Vm& vm, uint32_t index);  // of its physical CPU
// Powers CPU `cpu` on into the vCPU assigned to it. Returns the PSCI status.
int64_t start_vcpu_cpu(uint32_t cpu);
// On the assigned CPU: EL2 state for the VM, then the first ERET into the guest.
[[noreturn]] void enter_vcpu(Vcpu& vcpu);
// Powers this CPU off; the boot CPU goes back to serving the system instead.
[[noreturn]] void stop_this_cpu();

// An exception taken from a guest (the lower-EL vectors): false if this CPU runs no vCPU
// (the caller then reports a crash).
bool handle_exit(arch::ExceptionVector vector, ExceptionFrame& frame);
// A data abort taken from a guest (the vectors test the class): handle_exit() for that
// class alone, without its dispatch. False if this CPU runs no vCPU.
bool handle_data_abort_exit(ExceptionFrame& frame);

// Interrupt plumbing (interrupts.cpp).
// Acts on what a vGIC change asked of the hardware: physical SPI/PPI state and kicks.
// `self` is the calling vCPU, or nullptr when the caller runs no vCPU of `vm`.
void apply_events(const Vm& vm, const vgic::Events& events, const Vcpu* self);
// Whether apply_events has anything to do for vCPU `self_index` (kicking itself is not).
inline bool has_effects(const vgic::Events& events, uint32_t self_index) {
  return events.hardware_count != 0 || (events.kick_vcpus & ~(uint32_t{1} << (self_index & 31))) != 0;
}
// Kicks every vCPU of `vm` that may be running, but `self_index`, so it exits.
void kick_running_vcpus(const Vm& vm, uint32_t self_index);
// What only this vCPU's CPU may do for the vGIC (VirtualGic::take_work): another vCPU's
// requests for its hardware PPIs, and what its own fold or sync found. sync_list_registers()
// calls it when VirtualGic::needs_attention() (the vGIC then asks for a sync), so exits
// that do not sync pay nothing for it.
void do_gic_work(Vcpu& vcpu);
// vCPU `vcpu` stops (CPU_OFF): its list registers are gone with it.
void forget_list_registers(Vcpu& vcpu);
// The physical side of the VM's hardware SPIs as after reset: disabled, inactive, routed
// to the CPU of vCPU 0.
void reset_physical_interrupts(const Vm& vm);
// Exit: what the guest did to the live list registers. Entry: the LRs that changed.
void fold_list_registers(Vcpu& vcpu);
void sync_list_registers(Vcpu& vcpu);  // for a guest that takes nothing at once (all masked)
// `guest_pstate`: the SPSR_EL2 it resumes with (its interrupt masks decide the
// acknowledgement check, VirqQueue::taken_at_once).
void sync_list_registers(Vcpu& vcpu, uint64_t guest_pstate);
// First entry: every list register written from a rebuilt queue.
void load_list_registers(Vcpu& vcpu);

}  // namespace bulkhead::vcpu
