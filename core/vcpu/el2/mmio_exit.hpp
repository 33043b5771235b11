// The trapped-MMIO half of a vCPU's exits (core/vcpu/el2/exit_handlers.cpp): a data
// abort's region, its fast path (inline here, for the data-abort exit to inline it whole)
// and, out of line in mmio_exit.cpp, the full decode, refusals and unhandled accesses.
#pragma once

#include <cstdint>

#include "core/arch/aarch64/esr.hpp"
#include "core/arch/aarch64/exception_frame.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/exit.hpp"
#include "core/vcpu/mmio.hpp"
#include "core/vcpu/register_access.hpp"

namespace bulkhead::vcpu {

// A trapped access the fast path does not take (emulate_mmio): decoded in full, then
// refused with the reason, or emulated with sign extension, 8-byte width or big-endian
// data.
[[gnu::noinline]] void handle_mmio_decoded(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame, const MmioRegion* region,
                                           uint64_t address);
// The fast path's access when its device did not handle it (see mmio_exit.cpp).
[[gnu::noinline, gnu::cold]] void finish_unhandled_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame, const MmioRegion& region,
                                                        const MmioRequest& request, MmioResult result);
// The same for a region's direct handlers.
[[gnu::noinline, gnu::cold]] void finish_unhandled_direct(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame, uint32_t read_value,
                                                          MmioResult result);
// The region of a trapped access when it is not the vCPU's last one: the registry's
// search, which moves the hint.
[[gnu::noinline]] const MmioRegion* search_region(const Vm& vm, Vcpu& vcpu, uint64_t address);

// A simple access to a region with direct handlers: the handler's call and, when it is
// done, the register and the PC, nothing else (no request, no events to clear or apply;
// a write's register goes unmasked, the handler keeps what it needs). Otherwise the
// handler's result and, for a read, its data, with nothing done to the frame.
struct DirectOutcome {
  MmioResult result;
  uint32_t read_value;
};
[[gnu::always_inline]] inline DirectOutcome call_direct_handler(ExceptionFrame& frame, const MmioRegion& region,
                                                                uint64_t offset, arch::Esr esr, MmioLock lock) {
  const unsigned width = esr.access_size();
  const MmioDirectHandlers& direct = region.direct;
  if (esr.write()) {
    const uint64_t guest_register = frame.x[esr.transfer_register()];  // x[31]: XZR, 0
    const MmioResult result = direct.write(direct.context, offset, width, guest_register, lock);
    if (result != MmioResult::handled) return {result, 0};
  } else {
    const MmioDirectRead answer = direct.read(direct.context, offset, width, lock);
    if (!answer.is_handled()) return {answer.result(), answer.value()};
    // Zero-extended already (the handlers' contract); to XZR it lands in x[31], not restored.
    // The register number read again from the frame rather than kept across the call: one
    // callee-saved register fewer.
    frame.x[arch::Esr(frame.esr).transfer_register()] = answer.register_value();
  }
  frame.elr += simple_instruction_length;
  return {MmioResult::handled, 0};
}

// The locked path's access to a region with direct handlers. find() left the region's
// index in the hint, and HPFAR_EL2 and the frame still give the address, for the
// unhandled case.
[[gnu::always_inline]] inline void emulate_direct_mmio(Vcpu& vcpu, Vm& vm, ExceptionFrame& frame,
                                                       const MmioRegion& region, uint64_t offset, arch::Esr esr) {
  const DirectOutcome outcome = call_direct_handler(frame, region, offset, esr, MmioLock::held);
  if (outcome.result != MmioResult::handled) finish_unhandled_direct(vcpu, vm, frame, outcome.read_value, outcome.result);
}

// A direct region's simple access without the VM's lock (MmioDirectHandlers): done, or
// false with nothing done (the handler wants the lock, or refuses, or does not implement
// it: the locked path calls it again and acts on its answer).
[[gnu::always_inline]] inline bool emulate_direct_mmio_unlocked(ExceptionFrame& frame, const MmioRegion& region,
                                                                uint64_t offset, arch::Esr esr) {
  return call_direct_handler(frame, region, offset, esr, MmioLock::not_held).result == MmioResult::handled;
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
// only address-taken local is the request, so its callers need no canary.
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

}  // namespace bulkhead::vcpu
