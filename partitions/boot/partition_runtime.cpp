// Owning partitions while they run (see partition_runtime.hpp): each one's VM set up from
// its description (stage 2, virtual GIC, PSCI, emulated regions), started, stopped and
// restarted. Running its vCPUs is core/vcpu's job.
#include "partitions/boot/partition_runtime.hpp"

#include <new>

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/runtime.hpp"
#include "core/mmu/page_table.hpp"
#include "core/mmu/stage2.hpp"
#include "core/vcpu/el2/vm_owner.hpp"
#include "partitions/boot/first_entry.hpp"
#include "partitions/boot/reset_runtime.hpp"
#include "partitions/boot/runtime_state.hpp"
#include "partitions/guest_layout.hpp"
#include "partitions/vpci_setup.hpp"

namespace bulkhead::boot {
namespace runtime {

namespace {

// Each partition's runtime state, constructed in place by start_partition() just before
// the partition starts: as a constinit array, its vtable pointers would put all of it
// (about 55 KiB a partition) into .data, and so into the image file
// (core/lib/boot_storage.hpp); made all at once, the later partitions' would delay the
// first one's start.
BULKHEAD_NOINIT alignas(PartitionRuntime) unsigned char runtime_bytes[partitions::max_partitions][sizeof(PartitionRuntime)];
constinit bool runtime_made[partitions::max_partitions] = {};

constexpr uint32_t dt_edge_rising = 1;  // device-tree interrupt flags: edge rising (else level high)
constinit PartitionReloader* reloader = nullptr;
constinit size_t running_count = 0;
constinit arch::SpinLock power_lock;
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

PartitionRuntime& owner_of(const vcpu::Vm& vm) { return *runtime_of(vm.owner); }

// Hardware-backed SPIs once each: several PCI functions, or a function and a platform
// device, may share a line inside one partition.
void add_hardware_spi(PartitionRuntime& p, size_t& count, uint32_t dt_spi, bool edge) {
  const auto intid = static_cast<uint16_t>(arch::Intid::from_dt_spi(dt_spi).value());
  for (size_t i = 0; i < count; ++i) {
    if (p.spis[i].intid == intid) return;
  }
  p.spis[count++] = {intid, true, edge};
}


bool build_stage2(PartitionRuntime& p) {
  PageTable table(stage2_pool, Regime::stage2);
  if (!table.initialise()) return false;
  p.stage2_root = table.root();
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
  p.vm.vttbr = vttbr_value(table.root(), p.vm.vmid);
  return true;
}

// The partition's emulated regions: the vGIC and, with a console, the virtual UART.
bool register_regions(PartitionRuntime& p) {
  vcpu::Vm& vm = p.vm;
  if (!vcpu::register_gic_regions(vm, partitions::guest_gic_distributor.range.base,
                                  partitions::guest_gic_redistributors.range.base)) {
    return false;
  }
  if (p.partition->console != partitions::GuestConsole::virtual_uart) return true;
  p.uart_device.attach(p);
  const vcpu::MmioRegion uart{.name = "uart",
                              .base = partitions::guest_uart.range.base,
                              .size = partitions::guest_uart.range.size,
                              .device = &p.uart_device,
                              .widths = uart_widths,
                              .direct = {}};
  const vcpu::RegistrationError error = vm.mmio.add(uart);
  if (error == vcpu::RegistrationError::none) return true;
  log::error("partition {}: emulated region uart at {}: {}", vm.name, hex(uart.base), vcpu::registration_error_name(error));
  return false;
}

bool configure_partition(PartitionRuntime& p, const PciHardware& pci) {
  const Partition& partition = *p.partition;
  vcpu::Vm& vm = p.vm;
  vm.name = partition.name;
  vm.ram_host_base = partition.ram.host_base;
  vm.ram_size = partition.ram.size;
  vm.owner = p.index;
  vm.vcpu_count = static_cast<uint32_t>(partition.cpu_count);
  for (size_t i = 0; i < partition.cpu_count; ++i) vm.vcpu_cpu[i] = partition.cpus[i].index;
  size_t spi_count = 0;
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    const partitions::PlatformDeviceRef& device = partition.platform_devices[d];
    for (size_t i = 0; i < device.interrupt_count; ++i) {
      add_hardware_spi(p, spi_count, device.interrupts[i].spi, device.interrupts[i].flags == dt_edge_rising);
    }
  }
  partitions::GuestPciInterrupt intx[partitions::max_pci_devices];
  const size_t intx_count = partitions::pci_intx_lines(partition, *p.plan, *pci.topology, intx);
  for (size_t i = 0; i < intx_count; ++i) add_hardware_spi(p, spi_count, intx[i].spi, intx[i].flags == dt_edge_rising);
  if (partition.console == partitions::GuestConsole::virtual_uart) {
    p.spis[spi_count++] = {uart_intid, false, false};
    p.uart.reset();
    shared_console.attach(p.index, partition.name);
  }
  vm.spis = p.spis;
  vm.spi_count = spi_count;
  vgic::GicConfig config;
  config.vcpu_count = static_cast<uint8_t>(partition.cpu_count);
  config.distributor_base = partitions::guest_gic_distributor.range.base;
  config.redistributor_base = partitions::guest_gic_redistributors.range.base;
  config.spis = p.spis;
  config.spi_count = spi_count;
  config.messages = partition_message_spis(partition);
  config.hardware_ppis = arch::Intid(arch::gic::virtual_timer_ppi).bit() | arch::Intid(arch::gic::physical_timer_ppi).bit();
  if (vm.gic.configure(config) != vgic::ConfigError::none) return false;
  if (!vm.psci.configure({static_cast<uint32_t>(partition.cpu_count), partition.ram.guest_base, partition.ram.size})) {
    return false;
  }
  vm.psci.reset(0);
  return register_regions(p) && build_stage2(p) && configure_partition_pci(p, pci);
}

}  // namespace

bool stage2_map(PartitionRuntime& p, uint64_t guest, uint64_t host, uint64_t size, MapAttributes attributes) {
  PageTable table(stage2_pool, Regime::stage2, p.stage2_root);
  const MapResult result = table.map(guest, host, size, attributes);
  asm volatile("dsb ishst" ::: "memory");  // the new entries before any walk that needs them
  if (result == MapResult::ok) return true;
  log::error("partition {}: stage 2 cannot map {} size {} at {}: {}", p.partition->name, hex(host), hex(size), hex(guest),
             map_result_name(result));
  return false;
}

void stage2_unmap(PartitionRuntime& p, uint64_t guest, uint64_t size) {
  PageTable table(stage2_pool, Regime::stage2, p.stage2_root);
  const MapResult result = table.unmap(guest, size);
  if (result != MapResult::ok) {
    log::error("partition {}: stage 2 cannot unmap size {} at {}: {}", p.partition->name, hex(size), hex(guest),
               map_result_name(result));
  }
  // TLB invalidation by VMID acts on the VMID in this CPU's VTTBR_EL2: the partition's
  // when a vCPU of it asks (its exits, its restart), switched to it otherwise.
  const uint64_t own = arch::sysreg::vttbr_el2::read();
  if (own != p.vm.vttbr) {
    arch::sysreg::vttbr_el2::write(p.vm.vttbr);
    arch::instruction_barrier();
  }
  asm volatile("dsb ishst\n tlbi vmalls12e1is\n dsb ish\n isb" ::: "memory");
  if (own != p.vm.vttbr) {
    arch::sysreg::vttbr_el2::write(own);
    arch::instruction_barrier();
  }
}

[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why) {
  vcpu::Vm& vm = p.vm;
  shared_console.end_partial_line(p.index);
  vm.off = true;
  // Its other vCPUs notice at their next exit; kick them there.
  vcpu::kick_running_vcpus(vm, ~0u);
  vcpu::reset_physical_interrupts(vm);
  // Its functions stop decoding, mastering and interrupting, their DMA aborts, then they
  // are reset (the waits without the lock: its vCPUs see `off` and stop): the line below
  // says the partition is off, devices included.
  quarantine_partition_pci(p);
  const bool reset = p.pci.resets.handed_over;
  vm.lock.unlock();
  if (reset) reset_partition_functions(p, ResetOccasion::stop);
  log::fact("partition {} {}", vm.name, why);
  shared_console.detach(p.index);  // the focus moves on
  power_lock.lock();
  const bool last = --running_count == 0;
  power_lock.unlock();
  if (last && !hold_requested()) power_off("all-partitions-off");
  if (last) log::fact("all partitions off; holding (bulkhead.hold)");
  vcpu::stop_this_cpu();
}

// A guest that resets in a loop must not fill the console with its restarts: the first
// few are told, then only restart 16, 32, 64... (the count in each line says how many).
constexpr uint32_t restarts_logged_each = 8;
bool restart_logged(uint32_t restarts) {
  return restarts <= restarts_logged_each || (restarts & (restarts - 1)) == 0;
}

// Called with the VM's lock held by one of its vCPUs (`self`), which never returns to its
// guest: stops the other vCPUs, scrubs and reloads the partition's RAM from the package,
// resets its virtual devices and starts its boot vCPU at the payload entry again. The
// other partitions run on meanwhile; nothing here waits for them.
[[noreturn]] void restart_partition_locked(vcpu::Vcpu& self, PartitionRuntime& p, const char* why) {
  vcpu::Vm& vm = p.vm;
  shared_console.end_partial_line(p.index);
  vm.restarting = true;
  ++p.restarts;
  const bool logged = restart_logged(p.restarts);
  vm.psci.vcpu_stopped(self.index);
  vcpu::kick_running_vcpus(vm, self.index);
  vcpu::reset_physical_interrupts(vm);
  // The others stop at their next exit, which needs the lock.
  for (;;) {
    bool all_off = true;
    for (uint32_t index = 0; index < vm.vcpu_count; ++index) {
      all_off &= vm.psci.power(index) == psci_guest::VcpuPower::off;
    }
    if (all_off) break;
    vm.lock.unlock();
    arch::wait_for_event();
    vm.lock.lock();
  }
  // No vCPU of p runs now and none can start: only this CPU touches p until the end.
  // Its devices are quiet and their DMA aborts before its RAM is scrubbed.
  if (!quarantine_partition_pci(p)) {
    vm.restarting = false;
    log::fact("partition {} restart {} {}", vm.name, p.restarts, why);
    stop_partition_locked(p, "off: restart failed: its devices' DMA could not be stopped");
  }
  vm.lock.unlock();
  // Its functions reset (their waits sleep this CPU; no lock held), then the line that
  // says the partition restarts names how.
  const bool reset = reset_partition_functions(p, ResetOccasion::restart);
  if (logged || !reset) log::fact("partition {} restart {} {}{}", vm.name, p.restarts, why, p.pci.resets.summary.c_str());
  if (p.restarts == restarts_logged_each) {
    log::fact("partition {} restart-logging sparse after {} restarts: then restarts 2^n only", vm.name,
              restarts_logged_each);
  }
  if (!reset) {
    vm.lock.lock();
    vm.restarting = false;
    stop_partition_locked(p, "off: restart failed: its devices could not be reset");
  }
  const bool reloaded = reloader->reload(p.index);
  vm.lock.lock();
  if (!reloaded) {
    vm.restarting = false;
    stop_partition_locked(p, "off: restart failed");
  }
  if (!connect_partition_pci(p)) {
    vm.restarting = false;
    stop_partition_locked(p, "off: restart failed: its devices' DMA context could not be attached");
  }
  vm.gic.reset();
  vm.psci.reset(0);
  p.uart.reset();
  p.uart_line = false;
  vm.faults = 0;
  vm.unhandled = 0;
  vm.counter_offset = arch::counter();
  // Again: an SPI taken while the other vCPUs were stopping may have been left active.
  vcpu::reset_physical_interrupts(vm);
  vm.restarting = false;
  vcpu::Vcpu& boot = vcpu::assign_vcpu(vm, 0, p.plan->placement.kernel_base, p.plan->placement.dtb_base);
  const uint32_t boot_cpu = boot.cpu;
  if (logged) log::fact("partition {} running vmid {} entry {} cpu {}", vm.name, vm.vmid, hex(boot.entry), boot_cpu);
  vm.lock.unlock();
  if (&boot == &self) vcpu::enter_vcpu(self);
  if (vcpu::start_vcpu_cpu(boot_cpu) != 0) {
    vm.lock.lock();
    vm.psci.vcpu_stopped(0);
    stop_partition_locked(p, "off: restart failed: its boot cpu did not start");
  }
  vcpu::stop_this_cpu();
}

PartitionRuntime* runtime_of(size_t index) {
  if (index >= partitions::max_partitions || !runtime_made[index]) return nullptr;
  return std::launder(static_cast<PartitionRuntime*>(static_cast<void*>(runtime_bytes[index])));
}

}  // namespace runtime

using namespace runtime;

bool partitions_running() { return running_count != 0; }

namespace {

bool resets_functions(const partitions::PartitionPlan& plan) {
  for (size_t i = 0; i < plan.function_count; ++i) {
    if (plan.functions[i].reset) return true;
  }
  return false;
}

// A partition's boot CPU before its guest's first instruction: its functions are reset
// here, on its own CPU (no other partition waits for their 100 ms), then connected to its
// DMA context, then the guest is entered.
[[noreturn]] void start_after_resets(uint64_t index) {
  PartitionRuntime& p = *runtime_of(index);
  // A CPU just powered on: its redistributor and CPU interface up (enter_vcpu does it again),
  // so the EL2 timer's interrupt can wake it from WFI while the resets wait.
  arch::gic::init_this_cpu(vcpu::machine().gic);
  if (!reset_partition_functions(p, ResetOccasion::start) || !connect_partition_pci(p)) {
    p.vm.lock.lock();
    p.vm.psci.vcpu_stopped(0);
    stop_partition_locked(p, "off: its devices could not be reset or connected");
  }
  vcpu::enter_vcpu(*p.boot_vcpu);
}

}  // namespace

bool prepare_partition_starts(const PlatformInfo& platform, PartitionReloader& partition_reloader) {
  reloader = &partition_reloader;
  const Stage2Setup setup =
      stage2_setup(arch::sysreg::id_aa64mmfr0_el1::read(), arch::sysreg::id_aa64mmfr1_el1::read());
  if (!setup.supported) {
    log::error("partitions cannot run: the CPU's {}-bit physical addresses are below the {}-bit guest address space",
               setup.physical_address_bits, stage2_ipa_bits);
    return false;
  }
  vcpu::configure(platform, setup.vtcr);
  shared_console.start(log::set_output(&shared_console));
  if (!distributor_ready) {
    arch::gic::init_distributor(platform.gic);
    distributor_ready = true;
  }
  return true;
}

bool start_partition(const PlatformInfo& platform, const partitions::SystemDescription& description,
                     const partitions::BootPlan& plan, size_t i, const PciHardware& pci) {
  if (i >= plan.count || i >= partitions::max_partitions || !plan.partitions[i].loaded) return false;
  // Default-initialised, not value-initialised: every member of PartitionRuntime (and of
  // its members, down to vcpu::Vm's) has an initialiser or a constructor, so zeroing its
  // 138 KiB first (about 16,000 instructions before the guest's first) would be written
  // over anyway. Only padding and FixedBuffer's unused text stay as they were (checked by
  // filling the storage with a pattern first). A new member needs an initialiser.
  PartitionRuntime& p = *new (runtime_bytes[i]) PartitionRuntime;
  runtime_made[i] = true;
  p.partition = &description.partitions[i];
  p.plan = &plan.partitions[i];
  p.index = i;
  p.vm.vmid = static_cast<uint16_t>(i + 1);
  p.vm.counter_offset = arch::counter();
  if (!configure_partition(p, pci)) {
    log::error("partition {}: its stage 2, virtual GIC or virtual PCI bus could not be set up", p.partition->name);
    return false;
  }
  // Functions to reset are reset on the partition's own CPU, then connected there. On
  // the boot CPU (this one) both wait for the end of the boot: start_cpu() posts them
  // to its service loop (core/boot/smp.hpp).
  const bool reset_first = resets_functions(*p.plan);
  if (!reset_first && !connect_partition_pci(p)) return false;
  vcpu::reset_physical_interrupts(p.vm);
  vcpu::Vcpu& cpu = vcpu::assign_vcpu(p.vm, 0, p.plan->placement.kernel_base, p.plan->placement.dtb_base);
  p.boot_vcpu = &cpu;
  const uint32_t physical = cpu.cpu;
  power_lock.lock();
  ++running_count;
  power_lock.unlock();
  const int64_t status = reset_first ? start_cpu(platform, physical, start_after_resets, i)
                                     : vcpu::start_vcpu_cpu(physical);
  if (status != 0) {
    log::error("partition {}: cpu {} did not start (psci {})", p.partition->name, physical, status);
    power_lock.lock();
    --running_count;
    power_lock.unlock();
    return false;
  }
  log::fact("partition {} running vmid {} entry {} cpu {}", p.partition->name, p.vm.vmid, hex(cpu.entry), physical);
  // Its CPU is on its way into the guest while this one loads the next partition: an
  // emulator running one CPU at a time gets to run it now, as hardware would. The
  // report (held, then queued since the shared console took over) is written out once
  // every partition has started (boot_main), so no partition waits for it.
  arch::yield_to_other_cpus();
  return true;
}

}  // namespace bulkhead::boot

// What core/vcpu asks of a VM's owner (core/vcpu/el2/vm_owner.hpp).
namespace bulkhead::vcpu {

[[noreturn]] void vm_power_off(Vcpu& /*self*/, const Vm& vm) { boot::runtime::stop_partition_locked(boot::runtime::owner_of(vm), "off"); }

[[noreturn]] void vm_system_reset(Vcpu& self, const Vm& vm) {
  boot::runtime::restart_partition_locked(self, boot::runtime::owner_of(vm), "system-reset");
}

// A guest exception the hypervisor cannot reflect back: its restart policy decides.
[[noreturn]] void vm_crashed(Vcpu& self, const Vm& vm) {
  boot::runtime::PartitionRuntime& p = boot::runtime::owner_of(vm);
  if (p.partition->restart == partitions::RestartPolicy::restart) {
    boot::runtime::restart_partition_locked(self, p, "crashed");
  }
  boot::runtime::stop_partition_locked(p, "crashed");
}

void vm_entering(const Vcpu& self, const Vm& vm) { boot::note_guest_entry(vm.owner, vm.name, self.index); }

}  // namespace bulkhead::vcpu
