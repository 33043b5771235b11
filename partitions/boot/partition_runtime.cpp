// Starting, entering, stopping and restarting partitions (see partition_runtime.hpp).
#include "partitions/boot/partition_runtime.hpp"

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/runtime.hpp"
#include "core/mmu/page_table.hpp"
#include "core/mmu/stage2.hpp"
#include "partitions/boot/first_entry.hpp"
#include "partitions/boot/runtime_state.hpp"
#include "partitions/guest_layout.hpp"

extern "C" [[noreturn]] void guest_first_entry(uint64_t entry, uint64_t x0, uint64_t stack_top);

namespace bulkhead::boot {
namespace runtime {

constinit PartitionRuntime runtimes[partitions::max_partitions];
constinit CpuRuntime cpus[max_cpus];
constinit const PlatformInfo* machine = nullptr;

CpuRuntime& this_cpu() { return *reinterpret_cast<CpuRuntime*>(BULKHEAD_READ_SYSREG(tpidr_el2)); }

uint64_t vcpu_mpidr(const PartitionRuntime& p, uint32_t vcpu) {
  return machine->cpus[p.partition->cpus[vcpu].index].mpidr;
}

CpuRuntime& assign_vcpu(PartitionRuntime& p, uint32_t vcpu, uint64_t entry, uint64_t x0) {
  const uint32_t physical = p.partition->cpus[vcpu].index;
  CpuRuntime& cpu = cpus[physical];
  cpu = CpuRuntime();
  cpu.partition = &p;
  cpu.vcpu = vcpu;
  cpu.cpu_index = physical;
  cpu.entry = entry;
  cpu.x0 = x0;
  return cpu;
}

namespace {

constinit PartitionReloader* reloader = nullptr;
constinit size_t running_count = 0;
constinit arch::SpinLock power_lock;
constinit uint64_t stage2_vtcr = 0;
constinit bool distributor_ready = false;

// Stage-2 tables for every partition come from one static pool.
constexpr size_t stage2_pages = 256;
BULKHEAD_NOINIT alignas(4096) uint64_t stage2_memory[stage2_pages][512];  // zeroed page by page (core/lib/boot_storage.hpp)
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

[[noreturn]] void enter_vcpu(CpuRuntime& cpu);

// Kicks every vCPU of `p` that may be running (but not `self_vcpu`) so that it exits
// and notices the partition is stopping.
void kick_running_vcpus(const PartitionRuntime& p, uint32_t self_vcpu) {
  for (uint32_t vcpu = 0; vcpu < p.partition->cpu_count; ++vcpu) {
    if (vcpu != self_vcpu && p.psci.power(vcpu) != psci_guest::VcpuPower::off) {
      arch::gic::send_sgi(arch::gic::kick_sgi, vcpu_mpidr(p, vcpu));
    }
  }
}

// The physical side of the partition's hardware interrupts as after reset: each owned
// SPI disabled, inactive and routed to the CPU of vCPU 0 (core/vgic/README.md).
void reset_physical_interrupts(const PartitionRuntime& p) {
  const uint64_t boot_mpidr = vcpu_mpidr(p, 0);
  for (size_t i = 0; i < p.spi_count; ++i) {
    if (!p.spis[i].hardware) continue;
    arch::gic::enable_spi(machine->gic, p.spis[i].intid, false);
    arch::gic::clear_active(machine->gic, 0, p.spis[i].intid);
    arch::gic::route_spi(machine->gic, p.spis[i].intid, boot_mpidr);
  }
}

}  // namespace

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
          arch::gic::route_spi(machine->gic, intid, vcpu_mpidr(p, event.vcpu));
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
    arch::gic::send_sgi(arch::gic::kick_sgi, vcpu_mpidr(p, vcpu));
  }
}

[[noreturn]] void stop_this_cpu() {
  arch::gic::write_hcr(0);
  arch::cpu_off(machine->psci.conduit);
}

// A guest exception the hypervisor cannot reflect back: its restart policy decides.
[[noreturn]] void crash_partition_locked(CpuRuntime& cpu, PartitionRuntime& p) {
  if (p.partition->restart == partitions::RestartPolicy::restart) restart_partition_locked(cpu, p, "crashed");
  stop_partition_locked(p, "crashed");
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
  // Again: an SPI taken while the other vCPUs were stopping may have been left active.
  reset_physical_interrupts(p);
  p.restarting = false;
  CpuRuntime& boot = assign_vcpu(p, 0, p.plan->placement.kernel_base, p.plan->placement.dtb_base);
  const uint32_t boot_cpu = boot.cpu_index;
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

namespace {

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
  note_guest_entry(p.index, p.partition->name, cpu.vcpu);  // boot timeline (first_entry.hpp)
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

}  // namespace

void run_vcpu_task(uint64_t cpu_index) { enter_vcpu(cpus[cpu_index]); }

}  // namespace runtime

using namespace runtime;

bool partitions_running() { return running_count != 0; }

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
    const CpuRuntime& cpu = assign_vcpu(p, 0, p.plan->placement.kernel_base, p.plan->placement.dtb_base);
    const uint32_t physical = cpu.cpu_index;
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

}  // namespace bulkhead::boot
