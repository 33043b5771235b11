// What a vCPU's exits do: the decoded request (core/vcpu/exit.hpp) acted on. Hypercalls
// go to the VM's PSCI state machine, data aborts on emulated regions to their device,
// SGI register writes to the vGIC, physical interrupts to the vGIC; everything the guest
// may not do comes back to it as the exception the architecture would raise, with one
// rate-limited log line.
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
#include "core/vcpu/el2/list_registers.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/el2/vm_owner.hpp"
#include "core/vcpu/exit.hpp"
#include "core/vcpu/guest_exception.hpp"
#include "core/vcpu/register_access.hpp"
#include "core/vcpu/sysreg_trap.hpp"

namespace bulkhead::vcpu {
namespace {

// Guest-triggered log lines are rate limited per kind: `count` counts them (printed or
// not); the last one printed is followed by a line saying the kind is muted.
bool log_allowed(uint32_t& count) {
  if (count != UINT32_MAX) ++count;
  return count <= logged_per_kind;
}
void log_muted_if_last(const Vm& vm, uint32_t count, const char* kind, const char* unit) {
  if (count == logged_per_kind) log::fact("partition {} {}-logging muted after {} {}", vm.name, kind, count, unit);
}

void deliver(ExceptionFrame& frame, InjectedKind kind, bool write) {
  using namespace arch::sysreg;
  const InjectedException injected = make_guest_exception(kind, frame.spsr, write);
  if (injected.far_valid) far_el1::write(frame.far);
  esr_el1::write(injected.esr);
  elr_el1::write(frame.elr);
  spsr_el1::write(frame.spsr);
  frame.elr = vbar_el1::read() + injected.vector_offset;
  frame.spsr = injected.spsr;
}

// Whether the guest's data accesses at the trapping exception level are big-endian.
bool guest_data_big_endian(const ExceptionFrame& frame) {
  return arch::sctlr::data_big_endian(arch::sysreg::sctlr_el1::read(), arch::psr::exception_level(frame.spsr));
}

const char* access_name(bool write) { return write ? "write" : "read"; }

[[gnu::noinline, gnu::cold]] void log_unhandled(Vm& vm, const MmioRegion& region, const MmioRequest& request) {
  if (!log_allowed(vm.unhandled)) return;
  log::fact("partition {} unhandled {} offset {} {} size {}", vm.name, region.name, hex(request.offset),
            access_name(request.write), request.width);
  log_muted_if_last(vm, vm.unhandled, "unhandled", "accesses");
}

// An access nothing may satisfy: logged (rate-limited), then an external abort.
[[gnu::noinline, gnu::cold]] void refuse_access(Vm& vm, ExceptionFrame& frame, MmioAccess access, MmioRefusal refusal,
                                               const MmioRegion* region) {
  if (log_allowed(vm.faults)) {
    if (refusal == MmioRefusal::none) {
      log::fact("partition {} fault ipa {} pc {} {} size {}", vm.name, hex(access.address), hex(frame.elr),
                access_name(access.write), access.width);
    } else {
      log::fact("partition {} fault ipa {} pc {} {} size {} refused {} region {}", vm.name, hex(access.address),
                hex(frame.elr), access_name(access.write), access.width, mmio_refusal_name(refusal),
                region != nullptr ? region->name : "none");
    }
    log_muted_if_last(vm, vm.faults, "fault", "faults");
  }
  deliver(frame, InjectedKind::data_abort, access.write);
}

// An access that is not emulated: decoded in full for the reason, logged, aborted.
[[gnu::noinline, gnu::cold]] void refuse_data_abort(Vm& vm, ExceptionFrame& frame, const MmioRegion* region) {
  const Exit exit = decode_data_abort(arch::Esr(frame.esr), frame.far, arch::sysreg::hpfar_el2::read());
  MmioRefusal refusal = exit.refusal;
  if (refusal == MmioRefusal::none && region != nullptr) refusal = MmioRegistry::check(*region, exit.access);
  refuse_access(vm, frame, exit.access, refusal, region);
}

// A trapped access the fast path does not take (emulate_mmio): decoded in full, then
// refused with the reason, or emulated with sign extension, 8-byte width or big-endian
// data. Its only address-taken local is the fixed-size request handed to the device (the
// events are per-CPU scratch): no buffer a stack canary would guard.
[[gnu::noinline, gnu::no_stack_protector]] void handle_mmio_decoded(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame,
                                                                     const MmioRegion* region, uint64_t address) {
  const arch::Esr esr(frame.esr);
  if (region == nullptr || !emulatable_data_abort(esr)) return refuse_data_abort(vm, frame, region);
  MmioRequest request;
  request.offset = address - region->base;
  request.width = static_cast<uint8_t>(esr.access_size());
  request.write = esr.write();
  request.vcpu = static_cast<uint8_t>(vcpu.index);
  if (MmioRegistry::check(*region, {.address = address, .width = request.width}) != MmioRefusal::none) {
    return refuse_data_abort(vm, frame, region);
  }
  // The rest of the access (its register, sign and size) is decoded again where it is
  // needed rather than kept across the device's call.
  if (request.write) {
    request.value = store_data(data_abort_access(esr, address), frame.x[esr.transfer_register() & 31],
                               guest_data_big_endian(frame));
  }
  vgic::Events& events = vcpu.events;
  events.clear();
  const MmioResult result =
      region->device != nullptr ? region->device->access(request, events) : direct_access(*region, request);
  if (result != MmioResult::handled) {
    if (result == MmioResult::refused) {
      return refuse_access(vm, frame, data_abort_access(esr, address), MmioRefusal::none, region);
    }
    log_unhandled(vm, *region, request);
  }
  if (!request.write && esr.transfer_register() != 31) {
    frame.x[esr.transfer_register()] =
        load_result(data_abort_access(esr, address), request.value, guest_data_big_endian(frame));
  }
  frame.elr += esr.instruction_length();
  if (has_effects(events, vcpu.index)) apply_events(vm, events, &vcpu);
}

// The fast path's access when its device did not handle it: refused (an external abort),
// or not implemented there (logged, then completed as a read of zero or a dropped write).
// `region`: the one the access hit.
[[gnu::noinline, gnu::cold]] void finish_unhandled_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame,
                                                        const MmioRegion& region, const MmioRequest& request,
                                                        MmioResult result) {
  const arch::Esr esr(frame.esr);
  if (result == MmioResult::refused) {
    return refuse_access(vm, frame, data_abort_access(esr, region.base + request.offset), MmioRefusal::none, &region);
  }
  log_unhandled(vm, region, request);
  const unsigned reg = esr.transfer_register();
  if (!request.write && reg != 31) frame.x[reg] = simple_load_result(request.value, request.width);
  frame.elr += simple_instruction_length;
  if (has_effects(vcpu.events, vcpu.index)) apply_events(vm, vcpu.events, &vcpu);
}

// finish_unhandled_mmio for a region's direct handlers (emulate_direct_mmio): the request
// they were not given, made again from the frame and the registers (nothing kept across
// the handler's call), for a read with the data the handler returned. No events either:
// none to apply.
[[gnu::noinline, gnu::cold]] void finish_unhandled_direct(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame,
                                                          uint32_t read_value, MmioResult result) {
  const arch::Esr esr(frame.esr);
  const unsigned reg = esr.transfer_register();
  const MmioRegion& region = vm.mmio.at(vcpu.mmio_hint);
  MmioRequest request;
  request.offset = fault_ipa(arch::sysreg::hpfar_el2::read(), frame.far) - region.base;
  request.width = static_cast<uint8_t>(esr.access_size());
  request.write = esr.write();
  request.value = !request.write ? read_value : simple_store_data(reg == 31 ? 0 : frame.x[reg], request.width);
  request.vcpu = static_cast<uint8_t>(vcpu.index);
  vcpu.events.clear();
  finish_unhandled_mmio(vcpu, vm, frame, region, request, result);
}

// The fast path's access to a region with direct handlers: the handler's call and the
// register, nothing else (no request, no events to clear or apply; a write's register
// goes unmasked, the handler keeps what it needs). find() left the region's index in the
// hint, and HPFAR_EL2 and the frame still give the address, for the unhandled case.
[[gnu::always_inline]] inline void emulate_direct_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame,
                                                       const MmioRegion& region, uint64_t offset, arch::Esr esr) {
  const unsigned width = esr.access_size();
  const MmioDirectHandlers& direct = region.direct;
  if (esr.write()) {
    const unsigned reg = esr.transfer_register();
    const MmioResult result = direct.write(direct.context, offset, width, frame.x[reg], MmioLock::held);  // x[31]: XZR, 0
    if (result != MmioResult::handled) return finish_unhandled_direct(vcpu, vm, frame, 0, result);
  } else {
    const MmioDirectRead answer = direct.read(direct.context, offset, width, MmioLock::held);
    if (!answer.is_handled()) return finish_unhandled_direct(vcpu, vm, frame, answer.value(), answer.result());
    // Zero-extended already (the handlers' contract); to XZR it lands in x[31], not restored.
    // The register number read again from the frame rather than kept across the call: one
    // callee-saved register fewer.
    frame.x[arch::Esr(frame.esr).transfer_register()] = answer.register_value();
  }
  frame.elr += simple_instruction_length;
}

// A direct region's simple access without the VM's lock (MmioDirectHandlers): done, or
// false with nothing done (the handler wants the lock, or refuses, or does not implement
// it: the locked path calls it again and acts on its answer).
[[gnu::always_inline]] inline bool emulate_direct_mmio_unlocked(ExceptionFrame& frame, const MmioRegion& region,
                                                                uint64_t offset, arch::Esr esr) {
  const unsigned width = esr.access_size();
  const MmioDirectHandlers& direct = region.direct;
  if (esr.write()) {
    const uint64_t guest_register = frame.x[esr.transfer_register()];  // x[31]: XZR, 0
    if (direct.write(direct.context, offset, width, guest_register, MmioLock::not_held) != MmioResult::handled) return false;
  } else {
    const MmioDirectRead answer = direct.read(direct.context, offset, width, MmioLock::not_held);
    if (!answer.is_handled()) return false;
    frame.x[arch::Esr(frame.esr).transfer_register()] = answer.register_value();  // x[31]: XZR, not restored
  }
  frame.elr += simple_instruction_length;
  return true;
}

// The region of a trapped access when it is not the vCPU's last one: the registry's
// search, which moves the hint.
[[gnu::noinline]] const MmioRegion* search_region(const Vm& vm, Vcpu& vcpu, uint64_t address) {
  return vm.mmio.find(address, vcpu.mmio_hint);
}

// A trapped access's region, or nullptr, with the offset inside it.
struct RegionHit {
  const MmioRegion* region;
  uint64_t offset;
};

// The region of a trapped access: the one the vCPU's last access hit first (one compare,
// the region pointer computed once, no bounds check: MmioRegistry::hinted), else the
// search. The hinted region's offset is the compare's own difference.
[[gnu::always_inline]] inline RegionHit find_region(const Vm& vm, Vcpu& vcpu, uint64_t address) {
  const MmioRegion& last = vm.mmio.hinted(vcpu.mmio_hint);
  const uint64_t offset = address - last.base;
  if (offset < last.size) return {&last, offset};
  const MmioRegion* found = search_region(vm, vcpu, address);
  return {found, found != nullptr ? address - found->base : 0};
}

// Every trapped access to an emulated register comes through here with the VM's lock
// held (`address` and its region `hit` found before; those a direct region's handlers
// finished without the lock excepted: handle_data_abort_exit). The common one (an
// LDR/STR of 1, 2 or 4 bytes, zero-extended, aligned as its region wants, little-endian:
// mmio_fast_path) is emulated straight from the syndrome; anything else, and every
// refusal, goes through handle_mmio_decoded. The same checks either way, the same device
// call. Kept lean: after the device's call only the vCPU, the VM and the frame are needed
// (the syndrome is read again from the frame), so few registers are saved. Inlined into
// the data-abort exit (handle_data_abort_exit), the exit every trapped access takes; its
// only address-taken local is the request, so its callers need no canary (as above).
[[gnu::always_inline]] inline void emulate_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame, uint64_t address,
                                                RegionHit hit) {
  const arch::Esr esr(frame.esr);
  const auto [region, offset] = hit;
  if (!mmio_fast_path(region, esr, arch::sysreg::sctlr_el1::read(), address)) {
    return handle_mmio_decoded(vcpu, vm, frame, region, address);
  }
  if (region->device == nullptr) return emulate_direct_mmio(vcpu, vm, frame, *region, offset, esr);
  const unsigned width = esr.access_size();
  MmioRequest request;
  request.offset = offset;
  request.width = static_cast<uint8_t>(width);
  request.write = esr.write();
  request.vcpu = static_cast<uint8_t>(vcpu.index);
  if (request.write) {
    const unsigned reg = esr.transfer_register();
    request.value = simple_store_data(frame.x[reg], width);  // x[31]: XZR, 0
  }
  vcpu.events.clear();
  const MmioResult result = region->device->access(request, vcpu.events);
  // find() left the region's index in the hint: the region again, without keeping it live.
  if (result != MmioResult::handled) return finish_unhandled_mmio(vcpu, vm, frame, vm.mmio.at(vcpu.mmio_hint), request, result);
  const arch::Esr done(frame.esr);
  const unsigned reg = done.transfer_register();
  if (!done.write()) frame.x[reg] = simple_load_result(request.value, done.access_size());  // x[31]: XZR, not restored
  frame.elr += simple_instruction_length;
  if (has_effects(vcpu.events, vcpu.index)) apply_events(vm, vcpu.events, &vcpu);
}

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
