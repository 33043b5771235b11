// The trapped-MMIO half of a vCPU's exits, out of line: see mmio_exit.hpp.
#include "core/vcpu/el2/mmio_exit.hpp"

#include "core/arch/aarch64/psr.hpp"
#include "core/arch/aarch64/sctlr.hpp"
#include "core/lib/log.hpp"
#include "core/vcpu/el2/guest_faults.hpp"

namespace bulkhead::vcpu {
namespace {

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

}  // namespace

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

// The region of a trapped access when it is not the vCPU's last one: the registry's
// search, which moves the hint.
[[gnu::noinline]] const MmioRegion* search_region(const Vm& vm, Vcpu& vcpu, uint64_t address) {
  return vm.mmio.find(address, vcpu.mmio_hint);
}

}  // namespace bulkhead::vcpu
