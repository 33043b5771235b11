// What a vCPU's exits do: MMIO to the virtual GIC and UART, PSCI calls, SGIs, faults
// injected back into the guest, physical interrupts forwarded to it.
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "partitions/boot/runtime_state.hpp"
#include "partitions/guest_layout.hpp"

namespace bulkhead::boot {
namespace runtime {
namespace {

bool uart_access(PartitionRuntime& p, const CpuRuntime& cpu, uint64_t offset, bool write, unsigned size,
                 uint64_t& value, vgic::Events& events) {
  if (write) {
    const console::WriteResult result = p.uart.write(static_cast<uint32_t>(offset), size, static_cast<uint32_t>(value));
    if (result.transmitted) shared_console.put(p.index, result.byte);
  } else {
    value = p.uart.read(static_cast<uint32_t>(offset), size);
  }
  update_uart_line(p, cpu, events);
  return true;
}

void log_fault(PartitionRuntime& p, uint64_t ipa, const ExceptionFrame& frame, const char* access, unsigned size) {
  ++p.faults;
  if (p.faults <= logged_faults) {
    log::fact("partition {} fault ipa {} pc {} {} size {}", p.partition->name, hex(ipa), hex(frame.elr), access, size);
    if (p.faults == logged_faults) log::fact("partition {} fault-logging muted after {} faults", p.partition->name, logged_faults);
  }
}

enum class Injected : uint8_t { data_abort, instruction_abort, undefined };

// Delivers a synchronous external abort (or an undefined instruction) to the guest at
// EL1, as the architecture would: ESR/FAR/ELR/SPSR_EL1 and the vector offset.
void inject_exception(ExceptionFrame& frame, Injected kind, bool write) {
  const uint64_t mode = frame.spsr & 0xf;
  const bool from_el0 = mode == 0;
  const uint64_t offset = from_el0 ? 0x400 : ((mode & 1) != 0 ? 0x200 : 0x000);
  uint64_t esr = 1ull << 25;  // IL: 32-bit instruction
  constexpr uint64_t synchronous_external_abort = 0x10;  // DFSC/IFSC
  if (kind == Injected::data_abort) {
    esr |= (from_el0 ? 0x24ull : 0x25ull) << 26 | synchronous_external_abort | (write ? 1ull << 6 : 0);
    BULKHEAD_WRITE_SYSREG(far_el1, frame.far);
  } else if (kind == Injected::instruction_abort) {
    esr |= (from_el0 ? 0x20ull : 0x21ull) << 26 | synchronous_external_abort;
    BULKHEAD_WRITE_SYSREG(far_el1, frame.far);
  }
  BULKHEAD_WRITE_SYSREG(esr_el1, esr);
  BULKHEAD_WRITE_SYSREG(elr_el1, frame.elr);
  BULKHEAD_WRITE_SYSREG(spsr_el1, frame.spsr);
  frame.elr = BULKHEAD_READ_SYSREG(vbar_el1) + offset;
  frame.spsr = 0x3c5;
}

void handle_data_abort(const CpuRuntime& cpu, PartitionRuntime& p, ExceptionFrame& frame) {
  const uint64_t esr = frame.esr;
  const uint64_t ipa = ((BULKHEAD_READ_SYSREG(hpfar_el2) >> 4) << 12) | (frame.far & 0xfff);
  const bool write = (esr & (1u << 6)) != 0;
  const unsigned size = 1u << ((esr >> 22) & 3);
  const bool syndrome_valid = (esr & (1u << 24)) != 0;
  const unsigned reg = (esr >> 16) & 0x1f;
  if (syndrome_valid) {
    uint64_t value = write ? (reg == 31 ? 0 : frame.x[reg]) : 0;
    if (size < 8) value &= (uint64_t{1} << (size * 8)) - 1;
    bool handled = false;
    if (p.gic.claims(ipa)) {
      vgic::Events events;
      const vgic::AccessResult result = write ? p.gic.write(ipa, size, value, events) : p.gic.read(ipa, size, value);
      handled = true;
      if (result == vgic::AccessResult::unhandled && p.faults < logged_faults) {
        log::fact("partition {} vgic {} unhandled {} size {}", p.partition->name, hex(ipa), write ? "write" : "read", size);
      }
      apply_events(p, events, cpu);
    } else if (p.partition->console == partitions::GuestConsole::virtual_uart &&
               ipa >= partitions::guest_uart.range.base && ipa < partitions::guest_uart.range.end()) {
      vgic::Events events;
      handled = uart_access(p, cpu, ipa - partitions::guest_uart.range.base, write, size, value, events);
      apply_events(p, events, cpu);
    }
    if (handled) {
      if (!write && reg != 31) frame.x[reg] = (esr & (1u << 15)) != 0 ? value : (value & 0xffffffff);
      frame.elr += 4;
      return;
    }
  }
  log_fault(p, ipa, frame, write ? "write" : "read", size);
  inject_exception(frame, Injected::data_abort, write);
}

// CPU_SUSPEND: sleeps until something may be pending for this vCPU. Whatever makes a
// virtual interrupt pending for it is a physical interrupt on this CPU (its timers, its
// SPIs) or a kick SGI from whoever changed its state, and WFI wakes on those although
// they are masked here; they are then taken as usual once the guest runs again.
void wait_for_interrupt(const CpuRuntime& cpu, PartitionRuntime& p) {
  uint64_t lrs[max_lrs] = {};
  if (p.gic.fill(static_cast<uint8_t>(cpu.vcpu), lrs, cpu.lr_count).used != 0) return;
  p.lock.unlock();
  arch::wait_for_interrupt();
  p.lock.lock();
}

void handle_psci(CpuRuntime& cpu, PartitionRuntime& p, ExceptionFrame& frame) {
  const psci_guest::Result result = p.psci.handle(cpu.vcpu, static_cast<uint32_t>(frame.x[0]), frame.x[1], frame.x[2], frame.x[3]);
  frame.x[0] = static_cast<uint64_t>(result.x0);
  switch (result.action.kind) {
    case psci_guest::ActionKind::none: return;
    case psci_guest::ActionKind::start_vcpu: {
      const uint32_t vcpu = result.action.vcpu;
      const uint32_t physical = assign_vcpu(p, vcpu, result.action.entry, result.action.context_id).cpu_index;
      if (start_cpu(*machine, physical, run_vcpu_task, physical) != 0) {
        log::error("partition {}: vcpu {} could not be started on cpu {}", p.partition->name, vcpu, physical);
        p.psci.vcpu_stopped(vcpu);
      }
      return;
    }
    case psci_guest::ActionKind::wait_for_interrupt:
      wait_for_interrupt(cpu, p);
      return;
    case psci_guest::ActionKind::stop_this_vcpu:
      p.psci.vcpu_stopped(cpu.vcpu);
      p.lock.unlock();
      stop_this_cpu();
    case psci_guest::ActionKind::partition_off:
      stop_partition_locked(p, "off");
    case psci_guest::ActionKind::partition_reset:
      restart_partition_locked(cpu, p, "system-reset");
  }
}

void handle_sysreg(CpuRuntime& cpu, PartitionRuntime& p, ExceptionFrame& frame) {
  const uint64_t iss = frame.esr & 0x1ffffff;
  const unsigned op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7, crn = (iss >> 10) & 0xf;
  const unsigned crm = (iss >> 1) & 0xf, rt = (iss >> 5) & 0x1f;
  const bool read = (iss & 1) != 0;
  // ICC_SGI1R_EL1 (op2 5), ICC_ASGI1R_EL1 (6), ICC_SGI0R_EL1 (7): S3_0_C12_C11_x writes.
  // With one Security state there is no "other" Group 1: ICC_ASGI1R_EL1 reaches Group 0
  // SGIs, as ICC_SGI0R_EL1 does (so KVM, and QEMU's GICv3 with DS = 1).
  if (!read && op0 == 3 && op1 == 0 && crn == 12 && crm == 11 && op2 >= 5) {
    vgic::Events events;
    p.gic.send_sgi(static_cast<uint8_t>(cpu.vcpu), rt == 31 ? 0 : frame.x[rt], op2 == 5, events);
    apply_events(p, events, cpu);
    frame.elr += 4;
    return;
  }
  if (p.faults < logged_faults) {
    log::fact("partition {} sysreg trap op0 {} op1 {} crn {} crm {} op2 {} pc {}", p.partition->name, op0, op1, crn,
              crm, op2, hex(frame.elr));
  }
  ++p.faults;
  inject_exception(frame, Injected::undefined, false);
}

void handle_irq(CpuRuntime& cpu, PartitionRuntime& p) {
  const uint32_t intid = arch::gic::acknowledge();
  if (intid >= arch::gic::spurious) return;
  arch::gic::priority_drop(intid);
  vgic::Events events;
  const bool forwarded = intid != arch::gic::kick_sgi && intid != arch::gic::maintenance_ppi &&
                         p.gic.hardware_interrupt(static_cast<uint8_t>(cpu.vcpu), static_cast<uint16_t>(intid), events);
  if (!forwarded) arch::gic::deactivate(intid);  // ours, or not the partition's
  apply_events(p, events, cpu);
}

}  // namespace
}  // namespace runtime

using namespace runtime;

bool handle_guest_exception(unsigned vector, ExceptionFrame& frame) {
  if (machine == nullptr) return false;
  CpuRuntime& cpu = this_cpu();
  if (cpu.partition == nullptr) return false;
  PartitionRuntime& p = *cpu.partition;
  p.lock.lock();
  fold_list_registers(cpu, p);
  if (p.off || p.restarting) {
    p.psci.vcpu_stopped(cpu.vcpu);
    p.lock.unlock();
    stop_this_cpu();
  }
  switch (vector) {
    case 8: {
      const uint32_t ec = exception_class_of(frame.esr);
      if (ec == 0x16) {
        handle_psci(cpu, p, frame);
      } else if (ec == 0x17) {
        frame.elr += 4;  // a trapped SMC returns to the instruction after it
        handle_psci(cpu, p, frame);
      } else if (ec == 0x24) {
        handle_data_abort(cpu, p, frame);
      } else if (ec == 0x18) {
        handle_sysreg(cpu, p, frame);
      } else if (ec == 0x20) {
        log_fault(p, ((BULKHEAD_READ_SYSREG(hpfar_el2) >> 4) << 12) | (frame.far & 0xfff), frame, "fetch", 4);
        inject_exception(frame, Injected::instruction_abort, false);
      } else {
        log::fact("partition {} exception class {} pc {}", p.partition->name, hex(ec), hex(frame.elr));
        crash_partition_locked(cpu, p);
      }
      break;
    }
    case 9: handle_irq(cpu, p); break;
    default:
      log::fact("partition {} {} at pc {}", p.partition->name, vector_name(vector), hex(frame.elr));
      crash_partition_locked(cpu, p);
  }
  load_list_registers(cpu, p);
  p.lock.unlock();
  return true;
}

}  // namespace bulkhead::boot
