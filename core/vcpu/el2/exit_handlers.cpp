// What a vCPU's exits do: the decoded request (core/vcpu/exit.hpp) acted on. Hypercalls
// go to the VM's PSCI state machine, data aborts on emulated regions to their device,
// SGI register writes to the vGIC, physical interrupts to the vGIC; everything the guest
// may not do comes back to it as the exception the architecture would raise, with one
// rate-limited log line. Trapped MMIO accesses are emulated by mmio_exit.hpp/.cpp.
#include "core/arch/aarch64/esr.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/psr.hpp"
#include "core/arch/aarch64/sctlr.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/console_input.hpp"
#include "core/lib/log.hpp"
#include "core/lib/psci.hpp"
#include "core/vcpu/el2/message_interrupts.hpp"
#include "core/vcpu/el2/guest_faults.hpp"
#include "core/vcpu/el2/list_registers.hpp"
#include "core/vcpu/el2/mmio_exit.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/el2/vm_owner.hpp"
#include "core/vcpu/exit.hpp"
#include "core/vcpu/guest_exception.hpp"
#include "core/vcpu/register_access.hpp"
#include "core/vcpu/sysreg_trap.hpp"

namespace bulkhead::vcpu {
namespace {

// handle_exit's handler for data aborts. The vectors send them to handle_data_abort_exit
// instead; handle_exit stays a complete dispatcher all the same.
[[gnu::noinline, gnu::no_stack_protector]] void handle_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame) {
  const uint64_t address = fault_ipa(arch::sysreg::hpfar_el2::read(), frame.far);
  emulate_mmio(vcpu, vm, frame, address, find_region(vm, vcpu, address));
}

// CPU_SUSPEND: sleeps until something may be pending for this vCPU. Whatever makes a
// virtual interrupt pending for it is a physical interrupt on this CPU (its timers, its
// SPIs) or a kick SGI from whoever changed its state, and WFI wakes on those although
// they are masked here; they are then taken as usual once the guest runs again.
void wait_for_interrupt(Vcpu& vcpu, Vm& vm) {
  sync_list_registers(vcpu);  // what it finds (a kick for another vCPU) does not wait for this one to wake
  if (vm.gic.has_work(static_cast<uint8_t>(vcpu.index))) return;
  vm.lock.unlock();
  arch::wait_for_interrupt();
  vm.lock.lock();
}

[[gnu::noinline, gnu::cold]] void start_vcpu(Vm& vm, const psci_guest::Action& action) {
  const uint32_t cpu = assign_vcpu(vm, action.vcpu, action.entry, action.context_id).cpu;
  if (start_vcpu_cpu(cpu) != 0) {
    log::error("partition {}: vcpu {} could not be started on cpu {}", vm.name, action.vcpu, cpu);
    vm.psci.vcpu_stopped(action.vcpu);
  }
}

// On every hypercall, so kept lean: its only local is the Result the PSCI state machine
// returns by value (no buffer a canary would guard).
[[gnu::noinline, gnu::no_stack_protector]] void handle_psci(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame) {
  const auto function_id = static_cast<uint32_t>(frame.x[0]);
  if (!psci_guest::answers(function_id)) {
    frame.x[0] = static_cast<uint64_t>(psci::not_supported);
    return;
  }
  const psci_guest::Result result =
      vm.psci.handle(vcpu.index, function_id, frame.x[1], frame.x[2], frame.x[3]);
  frame.x[0] = static_cast<uint64_t>(result.x0);
  switch (result.action.kind) {
    case psci_guest::ActionKind::none: return;
    case psci_guest::ActionKind::start_vcpu: return start_vcpu(vm, result.action);
    case psci_guest::ActionKind::wait_for_interrupt: return wait_for_interrupt(vcpu, vm);
    case psci_guest::ActionKind::stop_this_vcpu:
      forget_list_registers(vcpu);
      vm.psci.vcpu_stopped(vcpu.index);
      vm.lock.unlock();
      stop_this_cpu();
    case psci_guest::ActionKind::partition_off: vm_power_off(vcpu, vm);
    case psci_guest::ActionKind::partition_reset: vm_system_reset(vcpu, vm);
  }
}

void set_tvm(Vcpu& vcpu, bool on) {
  vcpu.hcr = on ? vcpu.hcr | arch::hcr::tvm : vcpu.hcr & ~arch::hcr::tvm;
  arch::sysreg::hcr_el2::write(vcpu.hcr);
  arch::instruction_barrier();
}

// Cleans and invalidates the partition's RAM to the Point of Coherency, by address.
void clean_invalidate_ram(const Vm& vm) {
  const uint64_t line = uint64_t{4} << ((arch::sysreg::ctr_el0::read() >> 16) & 0xf);  // DminLine
  asm volatile("dsb sy" ::: "memory");
  for (uint64_t address = vm.ram_host_base; address < vm.ram_host_base + vm.ram_size; address += line) {
    asm volatile("dc civac, %0" ::"r"(address) : "memory");
  }
  asm volatile("dsb sy" ::: "memory");
}

// Set/way maintenance (HCR_EL2.TSW) works on a CPU's caches as a whole, other partitions'
// lines included, so it is emulated on the partition's own RAM, by address, as KVM does.
// Per vCPU, an epoch: its first set/way operation cleans and invalidates all of that RAM
// and sets TVM; the ones after it (a guest loops over every set and way) do nothing more
// until that vCPU switches its MMU or data cache on or off, which TVM reveals: the RAM is
// cleaned and invalidated again then (lines allocated while its caches were off, by
// speculation through other mappings, must not shadow what it wrote) and the epoch ends.
// Per vCPU because TVM is: one vCPU's epoch must not hide another's cache switch.
void emulate_set_way(Vcpu& vcpu, const Vm& vm) {
  if ((vcpu.hcr & arch::hcr::tvm) != 0) return;
  clean_invalidate_ram(vm);
  set_tvm(vcpu, true);
}

// A write HCR_EL2.TVM trapped (sysreg_action() said it is one): done as asked.
void emulate_vm_register_write(Vcpu& vcpu, const Vm& vm, uint32_t key, uint64_t value) {
  using namespace arch::sysreg;
  namespace r = arch::sysregs;
  if (key == r::sctlr_el1.key()) {
    const uint64_t changed = sctlr_el1::read() ^ value;
    sctlr_el1::write(value);
    if ((changed & (arch::sctlr::mmu | arch::sctlr::data_cache)) != 0) {
      clean_invalidate_ram(vm);
      set_tvm(vcpu, false);
    }
  } else if (key == r::ttbr0_el1.key()) {
    ttbr0_el1::write(value);
  } else if (key == r::ttbr1_el1.key()) {
    ttbr1_el1::write(value);
  } else if (key == r::tcr_el1.key()) {
    tcr_el1::write(value);
  } else if (key == r::afsr0_el1.key()) {
    afsr0_el1::write(value);
  } else if (key == r::afsr1_el1.key()) {
    afsr1_el1::write(value);
  } else if (key == r::esr_el1.key()) {
    esr_el1::write(value);
  } else if (key == r::far_el1.key()) {
    far_el1::write(value);
  } else if (key == r::mair_el1.key()) {
    mair_el1::write(value);
  } else if (key == r::amair_el1.key()) {
    amair_el1::write(value);
  } else if (key == r::contextidr_el1.key()) {
    contextidr_el1::write(value);
  }
}

[[gnu::noinline, gnu::cold]] void refuse_system_register(Vm& vm, ExceptionFrame& frame) {
  const arch::Esr esr(frame.esr);
  if (log_allowed(vm.faults)) {
    log::fact("partition {} sysreg trap op0 {} op1 {} crn {} crm {} op2 {} pc {}", vm.name, esr.sysreg_op0(),
              esr.sysreg_op1(), esr.sysreg_crn(), esr.sysreg_crm(), esr.sysreg_op2(), hex(frame.elr));
    log_muted_if_last(vm, vm.faults, "fault", "faults");
  }
  deliver(frame, InjectedKind::undefined_instruction, false);
}

[[gnu::noinline]] void handle_system_register(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame) {
  namespace r = arch::sysregs;
  const arch::Esr esr(frame.esr);
  const arch::SysregEncoding encoding = arch::sysreg_encoding(esr);
  const unsigned rt = esr.sysreg_rt();
  const uint64_t value = rt == 31 ? 0 : frame.x[rt];
  switch (sysreg_action(encoding, esr.sysreg_is_read())) {
    case SysregAction::send_sgi: {
      // With one Security state there is no "other" Group 1: ICC_ASGI1R_EL1 reaches Group 0
      // SGIs, as ICC_SGI0R_EL1 does (so KVM, and QEMU's GICv3 with DS = 1).
      vgic::Events& events = vcpu.events;
      events.clear();
      vm.gic.send_sgi(static_cast<uint8_t>(vcpu.index), value, encoding.key() == r::icc_sgi1r_el1.key(), events);
      if (has_effects(events, vcpu.index)) apply_events(vm, events, &vcpu);
      break;
    }
    case SysregAction::check_acknowledgement: {
      // The PC stays: the guest's access runs natively once the sync at the end of this
      // exit has lifted the trap.
      vgic::Events& events = vcpu.events;
      events.clear();
      vm.gic.check_acknowledgement(static_cast<uint8_t>(vcpu.index), events);
      if (has_effects(events, vcpu.index)) apply_events(vm, events, &vcpu);
      return;
    }
    case SysregAction::read_as_zero:
      if (esr.sysreg_is_read() && rt != 31) frame.x[rt] = 0;
      break;
    case SysregAction::set_way: emulate_set_way(vcpu, vm); break;
    case SysregAction::vm_register_write: emulate_vm_register_write(vcpu, vm, encoding.key(), value); break;
    case SysregAction::undefined: return refuse_system_register(vm, frame);
  }
  frame.elr += esr.instruction_length();
}

[[gnu::noinline, noreturn]] void unexpected_exit(Vcpu& vcpu, Vm& vm, const ExceptionFrame& frame, const char* what) {
  log::fact("partition {} {} at pc {}", vm.name, what, hex(frame.elr));
  vm_crashed(vcpu, vm);
}

[[gnu::noinline]] void handle_instruction_fetch(Vm& vm, ExceptionFrame& frame) {
  if (log_allowed(vm.faults)) {
    const uint64_t ipa = fault_ipa(arch::sysreg::hpfar_el2::read(), frame.far);
    log::fact("partition {} fault ipa {} pc {} fetch size 4", vm.name, hex(ipa), hex(frame.elr));
    log_muted_if_last(vm, vm.faults, "fault", "faults");
  }
  deliver(frame, InjectedKind::instruction_abort, false);
}

[[gnu::noinline]] void handle_secure_monitor_call(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame) {
  frame.elr += arch::Esr(frame.esr).instruction_length();  // a trapped SMC returns to the instruction after it
  handle_psci(vcpu, vm, frame);
}

[[gnu::noinline]] void handle_unexpected_class(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame) {
  unexpected_exit(vcpu, vm, frame, arch::exception_class_name(arch::Esr(frame.esr).exception_class()));
}

// One handler per exception class, built from exit_kind() (the portable decoder), so the
// dispatch is one table load: what KVM and Xen do.
using SynchronousHandler = void (*)(Vcpu&, Vm&, ExceptionFrame&);
constexpr SynchronousHandler handler_for(ExitKind kind) {
  switch (kind) {
    case ExitKind::hypercall: return handle_psci;
    case ExitKind::secure_monitor_call: return handle_secure_monitor_call;
    case ExitKind::mmio:
    case ExitKind::mmio_refused: return handle_mmio;
    case ExitKind::instruction_fetch: return [](Vcpu&, Vm& vm, ExceptionFrame& frame) { handle_instruction_fetch(vm, frame); };
    case ExitKind::system_register: return handle_system_register;
    case ExitKind::unexpected: break;
  }
  return handle_unexpected_class;
}
constexpr size_t exception_class_count = arch::esr::ec_mask + 1;
struct SynchronousHandlers {
  SynchronousHandler by_class[exception_class_count];
};
constexpr SynchronousHandlers synchronous_handlers = [] {
  SynchronousHandlers table{};
  for (size_t ec = 0; ec < exception_class_count; ++ec) {
    table.by_class[ec] = handler_for(exit_kind(arch::Esr(uint64_t{ec} << arch::esr::ec_shift)));
  }
  return table;
}();

// A physical interrupt acknowledged and priority-dropped in a guest's exit, for the VM
// (not special, not the boot CPU's service's own) and not taken by the fast path.
inline void forward_interrupt(Vcpu& vcpu, Vm& vm, uint32_t intid) {
  vgic::Events& events = vcpu.events;
  events.clear();
  const bool forwarded = intid != arch::gic::kick_sgi && intid != arch::gic::maintenance_ppi &&
                         !take_message_interrupt(vcpu, vm, intid, events) &&  // an LPI: an MSI
                         vm.gic.hardware_interrupt(static_cast<uint8_t>(vcpu.index), static_cast<uint16_t>(intid), events);
  if (!forwarded) arch::gic::deactivate(intid);  // ours, or not the VM's
  if (has_effects(events, vcpu.index)) apply_events(vm, events, &vcpu);
}

[[gnu::noinline, noreturn]] void stop_exiting_vcpu(const Vcpu& vcpu, Vm& vm) {
  vm.psci.vcpu_stopped(vcpu.index);
  vm.lock.unlock();
  stop_this_cpu();
}

}  // namespace

namespace {

// What every exit does around its handler, with the VM's lock held: fold what the guest
// did to the live list registers, stop if the VM is going away, handle, write back the
// list registers that changed (and the CPU's vGIC work); then, with no lock held, the
// boot CPU's service step (it may deliver input to this VM). finish_exit: the same once
// the lock is held.
template <typename Handler>
[[gnu::always_inline]] inline void finish_exit(Vcpu& vcpu, Vm& vm, const ExceptionFrame& frame, Handler&& handler) {
  if (vcpu.queue->live_mask() != 0) fold_list_registers(vcpu);
  if (vm.off || vm.restarting) stop_exiting_vcpu(vcpu, vm);
  handler();
  if (vcpu.queue->needs_sync()) sync_list_registers(vcpu, frame.spsr);  // and the CPU's vGIC work, if any
  vm.lock.unlock();
  if (vcpu.serves_system) boot::service_after_exit();
}
template <typename Handler>
[[gnu::always_inline]] inline void run_exit(Vcpu& vcpu, Vm& vm, const ExceptionFrame& frame, Handler&& handler) {
  vm.lock.lock_as(reinterpret_cast<uint64_t>(&vcpu));
  finish_exit(vcpu, vm, frame, handler);
}

// The interrupt exit. The interrupt is acknowledged before the fold, so that a hardware
// interrupt firing again for the LR its guest has just finished with (a timer's next
// tick) is put back there without a fold, a queue update or a sync
// (refire_list_register). A VM going away stops before the acknowledgement, so the
// interrupt stays pending for whoever runs next. True, as handle_exit() returns (its tail
// call).
[[gnu::noinline]] bool handle_irq_exit(Vcpu& vcpu, Vm& vm, const ExceptionFrame& frame) {
  vm.lock.lock_as(reinterpret_cast<uint64_t>(&vcpu));
  if (vm.off || vm.restarting) {
    finish_exit(vcpu, vm, frame, [] {});
    return true;
  }
  const uint32_t intid = arch::gic::acknowledge();
  const bool special = arch::Intid(intid).is_special();
  if (!special) arch::gic::priority_drop(intid);
  // The boot CPU's own (console input, EL2 timer, SMMU): its service acts after the exit.
  const bool for_vm = !special && !(vcpu.serves_system && boot::take_service_interrupt(intid));
  if (for_vm && refire_list_register(vcpu, intid, frame.spsr)) {
    vm.lock.unlock();
    if (vcpu.serves_system) boot::service_after_exit();
    return true;
  }
  finish_exit(vcpu, vm, frame, [&] {
    if (for_vm) forward_interrupt(vcpu, vm, intid);
  });
  return true;
}

// The vCPU this CPU runs, or nullptr when it runs none.
Vcpu* running_vcpu() {
  auto* current = reinterpret_cast<Vcpu*>(arch::sysreg::tpidr_el2::read());
  return current == nullptr || current->vm == nullptr ? nullptr : current;
}

}  // namespace

bool handle_exit(arch::ExceptionVector vector, ExceptionFrame& frame) {
  Vcpu* const current = running_vcpu();
  if (current == nullptr) return false;
  Vcpu& vcpu = *current;
  Vm& vm = *vcpu.vm;
  constexpr arch::ExceptionVector synchronous(arch::VectorSource::lower_aarch64, arch::VectorType::synchronous);
  constexpr arch::ExceptionVector irq(arch::VectorSource::lower_aarch64, arch::VectorType::irq);
  if (vector.index() == irq.index()) return handle_irq_exit(vcpu, vm, frame);
  run_exit(vcpu, vm, frame, [&] {
    if (vector.index() == synchronous.index()) {
      synchronous_handlers.by_class[arch::Esr(frame.esr).exception_class_index()](vcpu, vm, frame);
    } else {
      unexpected_exit(vcpu, vm, frame, vector.name());  // FIQ, SError, or an AArch32 EL1 (never set up)
    }
  });
  return true;
}

// What handle_exit does for a data abort, the emulation inlined: no dispatch on the
// vector or the class, one frame for the exit and the access. No stack buffer (the
// request is the only address-taken local): no canary.
//
// The region is looked up before the VM's lock is taken: the registry changes only while
// none of the VM's vCPUs runs (its start and restart). A simple access to a region with
// direct handlers is then tried without the lock (emulate_direct_mmio_unlocked): such an
// exit touches no virtual interrupt state, so it needs neither the fold nor the sync, and
// a stop or restart of the VM kicks this vCPU into an exit that takes the lock. The boot
// CPU's vCPU always takes the lock, its exits being where the system's service runs.
[[gnu::no_stack_protector]] bool handle_data_abort_exit(ExceptionFrame& frame) {
  Vcpu* const current = running_vcpu();
  if (current == nullptr) return false;
  Vcpu& vcpu = *current;
  Vm& vm = *vcpu.vm;
  const uint64_t address = fault_ipa(arch::sysreg::hpfar_el2::read(), frame.far);
  const RegionHit hit = find_region(vm, vcpu, address);
  if (hit.region != nullptr && hit.region->device == nullptr && !vcpu.serves_system) {
    const arch::Esr esr(frame.esr);
    if (mmio_fast_path(hit.region, esr, arch::sysreg::sctlr_el1::read(), address) &&
        emulate_direct_mmio_unlocked(frame, *hit.region, hit.offset, esr)) {
      return true;
    }
  }
  run_exit(vcpu, vm, frame, [&] { emulate_mmio(vcpu, vm, frame, address, hit); });
  return true;
}

}  // namespace bulkhead::vcpu
