#include "partitions/boot/partition_runtime.hpp"

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/spinlock.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/console/console_mux.hpp"
#include "core/console/virtual_pl011.hpp"
#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "core/mmu/page_table.hpp"
#include "core/mmu/stage2.hpp"
#include "core/psci_guest/psci_guest.hpp"
#include "core/vgic/virtual_gic.hpp"
#include "partitions/guest_layout.hpp"

extern "C" [[noreturn]] void guest_first_entry(uint64_t entry, uint64_t x0, uint64_t stack_top);

namespace bulkhead::boot {
namespace {

using partitions::Partition;

constexpr size_t max_lrs = 8;
constexpr uint32_t uart_intid = 32 + 1;  // partitions/guest_dt.hpp: guest_uart_spi
constexpr uint32_t logged_faults = 8;    // per partition; later ones are counted only

// Stage-2 tables for every partition come from one static pool.
constexpr size_t stage2_pages = 256;
alignas(4096) uint64_t stage2_memory[stage2_pages][512];
class Stage2Pool final : public PagePool {
 public:
  uint64_t allocate_zeroed_page() override {
    if (used_ == stage2_pages) return 0;
    uint64_t* page = stage2_memory[used_++];
    rt::fill(page, 0, 4096);
    return reinterpret_cast<uint64_t>(page);
  }
  uint64_t* pointer(uint64_t physical) override { return reinterpret_cast<uint64_t*>(physical); }

 private:
  size_t used_ = 0;
};
constinit Stage2Pool stage2_pool;

struct PartitionRuntime {
  const Partition* partition = nullptr;
  const partitions::PartitionPlan* plan = nullptr;
  uint64_t vttbr = 0;
  uint64_t counter_offset = 0;
  size_t index = 0;  // in the description: its console slot
  size_t spi_count = 0;
  vgic::VirtualGic gic;
  psci_guest::PartitionPsci psci;
  console::VirtualPl011 uart;
  arch::SpinLock lock;
  vgic::OwnedSpi spis[partitions::max_platform_devices * partitions::max_device_interrupts + 1];
  uint32_t faults = 0;
  uint32_t restarts = 0;
  uint16_t vmid = 0;
  bool off = false;
  bool restarting = false;  // its vCPUs stop at their next exit; one of them reloads it
  bool uart_line = false;  // the level last given to the vGIC
};

struct CpuRuntime {
  PartitionRuntime* partition = nullptr;
  uint32_t vcpu = 0;
  uint32_t cpu_index = 0;
  uint64_t redistributor = 0;
  uint64_t entry = 0;
  uint64_t x0 = 0;
  size_t lr_count = 0;
};

constinit PartitionRuntime runtimes[partitions::max_partitions];
constinit CpuRuntime cpus[max_cpus];
constinit const PlatformInfo* machine = nullptr;
constinit PartitionReloader* reloader = nullptr;
constinit size_t running_count = 0;
constinit arch::SpinLock power_lock;
constinit uint64_t stage2_vtcr = 0;
constinit bool distributor_ready = false;

CpuRuntime& this_cpu() { return *reinterpret_cast<CpuRuntime*>(BULKHEAD_READ_SYSREG(tpidr_el2)); }

// One physical console for everyone: the hypervisor's log lines and every partition's
// prefixed lines go through the multiplexer under one lock, so no line is ever split.
class PhysicalBytes final : public Sink {
 public:
  void attach(log::LineSink* uart) { uart_ = uart; }
  void write(const char* text, size_t length) override {
    if (uart_ != nullptr) uart_->write_line(text, length);
  }

 private:
  log::LineSink* uart_ = nullptr;
};

class SharedConsole final : public log::LineSink {
 public:
  void write_line(const char* text, size_t length) override {
    const arch::SpinLockGuard guard(lock_);
    mux_.write_line(text, length);
  }
  void put(size_t partition, uint8_t byte) {
    const arch::SpinLockGuard guard(lock_);
    mux_.put(partition, byte);
  }
  void flush(size_t partition) {
    const arch::SpinLockGuard guard(lock_);
    mux_.flush(partition);
  }
  void start(log::LineSink* physical_uart) {
    physical_.attach(physical_uart);
    mux_.set_output(&physical_);
  }
  bool attach(size_t partition, const char* name) {
    const arch::SpinLockGuard guard(lock_);
    return mux_.attach(partition, name);
  }
  void detach(size_t partition) {
    const arch::SpinLockGuard guard(lock_);
    mux_.detach(partition);
  }
  size_t focused() {
    const arch::SpinLockGuard guard(lock_);
    return mux_.focused();
  }
  console::InputRoute input(uint8_t byte) {
    const arch::SpinLockGuard guard(lock_);
    return mux_.input(byte);
  }

 private:
  arch::SpinLock lock_;
  console::ConsoleMux mux_;
  PhysicalBytes physical_;
};
constinit SharedConsole shared_console;

// The UART's interrupt line follows its state after every access.
void update_uart_line(PartitionRuntime& p, const CpuRuntime& cpu, vgic::Events& events) {
  const bool line = p.uart.interrupt_line();
  if (line == p.uart_line) return;
  p.uart_line = line;
  p.gic.set_line(static_cast<uint8_t>(cpu.vcpu), uart_intid, line, events);
}

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

// Acts on what a vGIC access asked of the hardware: physical SPI/PPI state and kicks.
void apply_events(const PartitionRuntime& p, const vgic::Events& events, const CpuRuntime& self) {
  for (size_t i = 0; i < events.hardware_count; ++i) {
    const vgic::HardwareEvent& event = events.hardware[i];
    const uint32_t intid = event.physical_intid;
    switch (event.request) {
      case vgic::HardwareRequest::enable:
      case vgic::HardwareRequest::disable: {
        const bool enable = event.request == vgic::HardwareRequest::enable;
        if (intid >= 32) {
          arch::gic::enable_spi(machine->gic, intid, enable);
        } else if (event.vcpu == self.vcpu) {
          arch::gic::set_ppi_enabled(self.redistributor, intid, enable);
        }
        break;
      }
      case vgic::HardwareRequest::route:
        if (intid >= 32 && event.vcpu < p.partition->cpu_count) {
          arch::gic::route_spi(machine->gic, intid, machine->cpus[p.partition->cpus[event.vcpu].index].mpidr);
        }
        break;
      case vgic::HardwareRequest::deactivate:
        arch::gic::clear_active(machine->gic, self.redistributor, intid);
        break;
      case vgic::HardwareRequest::activate:
        break;  // the physical interrupt becomes active when it next fires
    }
  }
  for (uint32_t vcpu = 0; vcpu < p.partition->cpu_count; ++vcpu) {
    if ((events.kick_vcpus & (1u << vcpu)) == 0 || vcpu == self.vcpu) continue;
    arch::gic::send_sgi(arch::gic::kick_sgi, machine->cpus[p.partition->cpus[vcpu].index].mpidr);
  }
}

[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why);
[[noreturn]] void enter_vcpu(CpuRuntime& cpu);
[[noreturn]] void restart_partition_locked(CpuRuntime& cpu, PartitionRuntime& p, const char* why);
void run_vcpu_task(uint64_t cpu_index);

[[noreturn]] void stop_this_cpu() {
  arch::gic::write_hcr(0);
  arch::cpu_off(machine->psci.conduit);
}

void log_fault(PartitionRuntime& p, uint64_t ipa, const ExceptionFrame& frame, bool write, unsigned size) {
  ++p.faults;
  if (p.faults <= logged_faults) {
    log::fact("partition {} fault ipa {} pc {} {} size {}", p.partition->name, hex(ipa), hex(frame.elr),
              write ? "write" : "read", size);
    if (p.faults == logged_faults) log::fact("partition {} fault-logging muted after {} faults", p.partition->name, logged_faults);
  }
}

// Delivers a synchronous external abort (or an undefined instruction) to the guest at
// EL1, as the architecture would: ESR/FAR/ELR/SPSR_EL1 and the vector offset.
void inject_exception(ExceptionFrame& frame, bool data_abort, bool write) {
  const uint64_t mode = frame.spsr & 0xf;
  const bool from_el0 = mode == 0;
  const uint64_t offset = from_el0 ? 0x400 : ((mode & 1) != 0 ? 0x200 : 0x000);
  uint64_t esr = 1ull << 25;  // IL: 32-bit instruction
  if (data_abort) {
    esr |= (from_el0 ? 0x24ull : 0x25ull) << 26 | 0x10 | (write ? 1ull << 6 : 0);
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
  log_fault(p, ipa, frame, write, size);
  inject_exception(frame, true, write);
}

void handle_psci(CpuRuntime& cpu, PartitionRuntime& p, ExceptionFrame& frame) {
  const psci_guest::Result result = p.psci.handle(cpu.vcpu, static_cast<uint32_t>(frame.x[0]), frame.x[1], frame.x[2], frame.x[3]);
  frame.x[0] = static_cast<uint64_t>(result.x0);
  switch (result.action.kind) {
    case psci_guest::ActionKind::none: return;
    case psci_guest::ActionKind::start_vcpu: {
      const uint32_t vcpu = result.action.vcpu;
      const uint32_t physical = p.partition->cpus[vcpu].index;
      CpuRuntime& target = cpus[physical];
      target.partition = &p;
      target.vcpu = vcpu;
      target.cpu_index = physical;
      target.entry = result.action.entry;
      target.x0 = result.action.context_id;
      if (start_cpu(*machine, physical, run_vcpu_task, physical) != 0) {
        log::error("partition {}: vcpu {} could not be started on cpu {}", p.partition->name, vcpu, physical);
        p.psci.vcpu_stopped(vcpu);
      }
      return;
    }
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

// A guest exception the hypervisor cannot reflect back: its restart policy decides.
[[noreturn]] void crash_partition_locked(CpuRuntime& cpu, PartitionRuntime& p) {
  if (p.partition->restart == partitions::RestartPolicy::restart) restart_partition_locked(cpu, p, "crashed");
  stop_partition_locked(p, "crashed");
}

// Kicks every vCPU of `p` that may be running (but not `self_vcpu`) so that it exits
// and notices the partition is stopping.
void kick_running_vcpus(const PartitionRuntime& p, uint32_t self_vcpu) {
  for (uint32_t vcpu = 0; vcpu < p.partition->cpu_count; ++vcpu) {
    if (vcpu != self_vcpu && p.psci.power(vcpu) != psci_guest::VcpuPower::off) {
      arch::gic::send_sgi(arch::gic::kick_sgi, machine->cpus[p.partition->cpus[vcpu].index].mpidr);
    }
  }
}

// The physical side of the partition's hardware interrupts as after reset: each owned
// SPI disabled, inactive and routed to the CPU of vCPU 0 (core/vgic/README.md).
void reset_physical_interrupts(const PartitionRuntime& p) {
  const uint64_t boot_mpidr = machine->cpus[p.partition->cpus[0].index].mpidr;
  for (size_t i = 0; i < p.spi_count; ++i) {
    if (!p.spis[i].hardware) continue;
    arch::gic::enable_spi(machine->gic, p.spis[i].intid, false);
    arch::gic::clear_active(machine->gic, 0, p.spis[i].intid);
    arch::gic::route_spi(machine->gic, p.spis[i].intid, boot_mpidr);
  }
}

void handle_sysreg(CpuRuntime& cpu, PartitionRuntime& p, ExceptionFrame& frame) {
  const uint64_t iss = frame.esr & 0x1ffffff;
  const unsigned op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7, crn = (iss >> 10) & 0xf;
  const unsigned crm = (iss >> 1) & 0xf, rt = (iss >> 5) & 0x1f;
  const bool read = (iss & 1) != 0;
  // ICC_SGI1R_EL1 (op2 5), ICC_ASGI1R_EL1 (6), ICC_SGI0R_EL1 (7): S3_0_C12_C11_x writes.
  if (!read && op0 == 3 && op1 == 0 && crn == 12 && crm == 11 && op2 >= 5) {
    vgic::Events events;
    p.gic.send_sgi(static_cast<uint8_t>(cpu.vcpu), rt == 31 ? 0 : frame.x[rt], op2 != 7, events);
    apply_events(p, events, cpu);
    frame.elr += 4;
    return;
  }
  if (p.faults < logged_faults) {
    log::fact("partition {} sysreg trap op0 {} op1 {} crn {} crm {} op2 {} pc {}", p.partition->name, op0, op1, crn,
              crm, op2, hex(frame.elr));
  }
  ++p.faults;
  inject_exception(frame, false, false);
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

void load_list_registers(CpuRuntime& cpu, PartitionRuntime& p) {
  uint64_t lrs[max_lrs] = {};
  const vgic::FillResult fill = p.gic.fill(static_cast<uint8_t>(cpu.vcpu), lrs, cpu.lr_count);
  for (size_t i = 0; i < cpu.lr_count; ++i) arch::gic::write_list_register(i, lrs[i]);
  arch::gic::write_hcr(vgic::ich_hcr::en | fill.maintenance_bits());
}

void fold_list_registers(CpuRuntime& cpu, PartitionRuntime& p) {
  uint64_t lrs[max_lrs] = {};
  for (size_t i = 0; i < cpu.lr_count; ++i) lrs[i] = arch::gic::read_list_register(i);
  p.gic.fold_back(static_cast<uint8_t>(cpu.vcpu), lrs, cpu.lr_count);
}

[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why) {
  shared_console.flush(p.index);
  p.off = true;
  log::fact("partition {} {}", p.partition->name, why);
  shared_console.detach(p.index);  // the focus moves on
  // Its other vCPUs notice at their next exit; kick them there.
  kick_running_vcpus(p, ~0u);
  reset_physical_interrupts(p);
  power_lock.lock();
  const bool last = --running_count == 0;
  power_lock.unlock();
  p.lock.unlock();
  if (last && !hold_requested()) power_off("all-partitions-off");
  if (last) log::fact("all partitions off; holding (bulkhead.hold)");
  stop_this_cpu();
}

// Called with p.lock held by one of p's vCPUs (`cpu`), which never returns to its guest:
// stops the other vCPUs, scrubs and reloads the partition's RAM from the package,
// resets its virtual devices and starts its boot vCPU at the payload entry again.
// The other partitions run on meanwhile; nothing here waits for them.
[[noreturn]] void restart_partition_locked(CpuRuntime& cpu, PartitionRuntime& p, const char* why) {
  shared_console.flush(p.index);
  p.restarting = true;
  ++p.restarts;
  log::fact("partition {} restart {} {}", p.partition->name, p.restarts, why);
  p.psci.vcpu_stopped(cpu.vcpu);
  kick_running_vcpus(p, cpu.vcpu);
  reset_physical_interrupts(p);
  // The others stop at their next exit, which needs the lock.
  for (;;) {
    bool all_off = true;
    for (uint32_t vcpu = 0; vcpu < p.partition->cpu_count; ++vcpu) {
      all_off &= p.psci.power(vcpu) == psci_guest::VcpuPower::off;
    }
    if (all_off) break;
    p.lock.unlock();
    arch::wait_for_event();
    p.lock.lock();
  }
  // No vCPU of p runs now and none can start: only this CPU touches p until the end.
  p.lock.unlock();
  const bool reloaded = reloader->reload(p.index);
  p.lock.lock();
  if (!reloaded) {
    p.restarting = false;
    stop_partition_locked(p, "off: restart failed");
  }
  p.gic.reset();
  p.psci.reset(0);
  p.uart.reset();
  p.uart_line = false;
  p.faults = 0;
  p.counter_offset = arch::counter();
  reset_physical_interrupts(p);
  p.restarting = false;
  const uint32_t boot_cpu = p.partition->cpus[0].index;
  CpuRuntime& boot = cpus[boot_cpu];
  boot.partition = &p;
  boot.vcpu = 0;
  boot.cpu_index = boot_cpu;
  boot.entry = p.plan->placement.kernel_base;
  boot.x0 = p.plan->placement.dtb_base;
  log::fact("partition {} running vmid {} entry {} cpu {}", p.partition->name, p.vmid, hex(boot.entry), boot_cpu);
  p.lock.unlock();
  if (&boot == &cpu) enter_vcpu(cpu);
  if (start_cpu(*machine, boot_cpu, run_vcpu_task, boot_cpu) != 0) {
    p.lock.lock();
    p.psci.vcpu_stopped(0);
    stop_partition_locked(p, "off: restart failed: its boot cpu did not start");
  }
  stop_this_cpu();
}

// Puts this CPU into vCPU cpus[index]: EL2 state for its partition, then ERET.
[[noreturn]] void enter_vcpu(CpuRuntime& cpu) {
  PartitionRuntime& p = *cpu.partition;
  BULKHEAD_WRITE_SYSREG(tpidr_el2, reinterpret_cast<uint64_t>(&cpu));
  cpu.redistributor = arch::gic::init_this_cpu(machine->gic);
  cpu.lr_count = arch::gic::list_register_count();
  if (cpu.lr_count > max_lrs) cpu.lr_count = max_lrs;
  constexpr uint64_t hcr = (1ull << 0) | (1ull << 1) | (1ull << 3) | (1ull << 4) | (1ull << 5) |  // VM SWIO FMO IMO AMO
                           (1ull << 9) | (1ull << 10) |                                            // FB, BSU inner shareable
                           (1ull << 19) |                                                          // TSC: SMC traps to us
                           (1ull << 31);                                                           // RW: EL1 is AArch64
  BULKHEAD_WRITE_SYSREG(vtcr_el2, stage2_vtcr);
  BULKHEAD_WRITE_SYSREG(vttbr_el2, p.vttbr);
  BULKHEAD_WRITE_SYSREG(vmpidr_el2, (1ull << 31) | cpu.vcpu);
  BULKHEAD_WRITE_SYSREG(vpidr_el2, BULKHEAD_READ_SYSREG(midr_el1));
  BULKHEAD_WRITE_SYSREG(cntvoff_el2, p.counter_offset);
  BULKHEAD_WRITE_SYSREG(sctlr_el1, 0x30d00800ull);  // RES1 bits; MMU and caches off
  BULKHEAD_WRITE_SYSREG(S3_0_C12_C12_5, 1);         // ICC_SRE_EL1.SRE: the guest uses system registers
  BULKHEAD_WRITE_SYSREG(S3_4_C12_C11_7, 0);         // ICH_VMCR_EL2
  BULKHEAD_WRITE_SYSREG(S3_4_C12_C8_0, 0);          // ICH_AP0R0_EL2: no active priorities
  BULKHEAD_WRITE_SYSREG(S3_4_C12_C9_0, 0);          // ICH_AP1R0_EL2 (5 priority bits: one register)
  // The timers as at reset, whatever an earlier run of this vCPU left in them.
  BULKHEAD_WRITE_SYSREG(cntv_ctl_el0, 0);
  BULKHEAD_WRITE_SYSREG(cntp_ctl_el0, 0);
  BULKHEAD_WRITE_SYSREG(cntkctl_el1, 0);
  BULKHEAD_WRITE_SYSREG(hcr_el2, hcr);
  arch::instruction_barrier();
  asm volatile("tlbi vmalls12e1\n dsb nsh\n isb" ::: "memory");
  p.lock.lock();
  if (p.off || p.restarting) {  // stopped while this CPU was on its way in
    p.psci.vcpu_stopped(cpu.vcpu);
    p.lock.unlock();
    stop_this_cpu();
  }
  p.psci.vcpu_started(cpu.vcpu);
  load_list_registers(cpu, p);
  p.lock.unlock();
  guest_first_entry(cpu.entry, cpu.x0, cpu_stack_top(cpu.cpu_index));
}

bool build_stage2(PartitionRuntime& p) {
  PageTable table(stage2_pool, Regime::stage2);
  if (!table.initialise()) return false;
  const Partition& partition = *p.partition;
  if (table.map(partition.ram.guest_base, partition.ram.host_base, partition.ram.size,
                {MemoryType::normal_write_back, true, true}) != MapResult::ok) {
    return false;
  }
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    const partitions::PlatformDeviceRef& device = partition.platform_devices[d];
    for (size_t r = 0; r < device.region_count; ++r) {
      const AddressRange& region = device.regions[r];
      if (table.map(region.base, region.base, region.size, {MemoryType::device_nGnRE, true, false}) != MapResult::ok) {
        return false;
      }
    }
  }
  p.vttbr = vttbr_value(table.root(), p.vmid);
  return true;
}

bool configure_partition(PartitionRuntime& p) {
  const Partition& partition = *p.partition;
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    const partitions::PlatformDeviceRef& device = partition.platform_devices[d];
    for (size_t i = 0; i < device.interrupt_count; ++i) {
      p.spis[p.spi_count++] = {static_cast<uint16_t>(32 + device.interrupts[i].spi), true, device.interrupts[i].flags == 1};
    }
  }
  if (partition.console == partitions::GuestConsole::virtual_uart) {
    p.spis[p.spi_count++] = {uart_intid, false, false};
    p.uart.reset();
    shared_console.attach(p.index, partition.name);
  }
  vgic::GicConfig config;
  config.vcpu_count = static_cast<uint8_t>(partition.cpu_count);
  config.distributor_base = partitions::guest_gic_distributor.range.base;
  config.redistributor_base = partitions::guest_gic_redistributors.range.base;
  config.spis = p.spis;
  config.spi_count = p.spi_count;
  config.hardware_ppis = (1u << arch::gic::virtual_timer_ppi) | (1u << arch::gic::physical_timer_ppi);
  if (p.gic.configure(config) != vgic::ConfigError::none) return false;
  if (!p.psci.configure({static_cast<uint32_t>(partition.cpu_count), partition.ram.guest_base, partition.ram.size})) {
    return false;
  }
  p.psci.reset(0);
  return build_stage2(p);
}

void run_vcpu_task(uint64_t cpu_index) { enter_vcpu(cpus[cpu_index]); }

}  // namespace

bool partitions_running() { return running_count != 0; }

bool console_input(uint8_t byte) {
  // Room first: input() consumes the focus-key state, so what it routes must be taken.
  const size_t focus = shared_console.focused();
  if (focus < partitions::max_partitions && runtimes[focus].partition != nullptr) {
    PartitionRuntime& p = runtimes[focus];
    const arch::SpinLockGuard guard(p.lock);
    if (!p.off && !p.restarting && !p.uart.can_receive(2)) return false;
  }
  const console::InputRoute route = shared_console.input(byte);
  if (route.partition >= partitions::max_partitions) return true;
  PartitionRuntime& p = runtimes[route.partition];
  if (p.partition == nullptr) return true;
  const arch::SpinLockGuard guard(p.lock);
  if (p.off || p.restarting) return true;
  for (size_t i = 0; i < route.count; ++i) p.uart.receive(route.bytes[i]);
  // Not a vCPU: every vCPU the interrupt concerns gets kicked.
  CpuRuntime outsider;
  outsider.vcpu = ~0u;
  vgic::Events events;
  update_uart_line(p, outsider, events);
  apply_events(p, events, outsider);
  return true;
}

size_t start_partitions(const PlatformInfo& platform, const partitions::SystemDescription& description,
                        const partitions::BootPlan& plan, PartitionReloader& partition_reloader) {
  machine = &platform;
  reloader = &partition_reloader;
  const Stage2Setup setup = stage2_setup(BULKHEAD_READ_SYSREG(id_aa64mmfr0_el1), BULKHEAD_READ_SYSREG(id_aa64mmfr1_el1));
  if (!setup.supported) {
    log::error("partitions cannot run: the CPU's {}-bit physical addresses are below the {}-bit guest address space",
               setup.physical_address_bits, stage2_ipa_bits);
    return 0;
  }
  stage2_vtcr = setup.vtcr;
  shared_console.start(log::set_output(&shared_console));
  if (!distributor_ready) {
    arch::gic::init_distributor(platform.gic);
    distributor_ready = true;
  }
  size_t started = 0;
  for (size_t i = 0; i < plan.count; ++i) {
    if (!plan.partitions[i].loaded) continue;
    PartitionRuntime& p = runtimes[i];
    p.partition = &description.partitions[i];
    p.plan = &plan.partitions[i];
    p.vmid = static_cast<uint16_t>(i + 1);
    p.index = i;
    p.counter_offset = arch::counter();
    if (!configure_partition(p)) {
      log::error("partition {}: its stage 2 or virtual GIC could not be set up", p.partition->name);
      continue;
    }
    reset_physical_interrupts(p);
    const uint32_t physical = p.partition->cpus[0].index;
    CpuRuntime& cpu = cpus[physical];
    cpu = CpuRuntime();
    cpu.partition = &p;
    cpu.vcpu = 0;
    cpu.cpu_index = physical;
    cpu.entry = p.plan->placement.kernel_base;
    cpu.x0 = p.plan->placement.dtb_base;
    power_lock.lock();
    ++running_count;
    power_lock.unlock();
    const int64_t status = start_cpu(platform, physical, run_vcpu_task, physical);
    if (status != 0) {
      log::error("partition {}: cpu {} did not start (psci {})", p.partition->name, physical, status);
      power_lock.lock();
      --running_count;
      power_lock.unlock();
      continue;
    }
    log::fact("partition {} running vmid {} entry {} cpu {}", p.partition->name, p.vmid, hex(cpu.entry), physical);
    ++started;
  }
  return started;
}

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
        log_fault(p, ((BULKHEAD_READ_SYSREG(hpfar_el2) >> 4) << 12) | (frame.far & 0xfff), frame, false, 4);
        inject_exception(frame, false, false);
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
