// Putting a physical CPU into a vCPU: the EL2 state a guest runs with, the first entry,
// and the VM-wide setup every VM shares (the machine, the vGIC's regions).
#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/sctlr.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/console_input.hpp"
#include "core/boot/smp.hpp"
#include "core/lib/log.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/el2/vm_owner.hpp"

extern "C" [[noreturn]] void guest_first_entry(uint64_t entry, uint64_t x0, uint64_t stack_top);

namespace bulkhead::vcpu {
namespace {

constinit const PlatformInfo* platform = nullptr;
constinit uint64_t stage2_vtcr = 0;
constinit Vcpu vcpus[max_cpus];

// What every guest runs with, and why:
//   VM         stage 2 translates all its accesses;
//   SWIO       its set/way invalidations clean too (no data of others is lost);
//   FMO IMO    physical FIQs/IRQs come to EL2, virtual ones (list registers) go to it;
//   AMO        physical SErrors come to EL2;
//   FB BSU     its TLB maintenance and barriers reach every CPU of the inner shareable
//              domain, as its vCPUs may run on several;
//   TSC        its SMCs trap (PSCI through SMC, nothing reaches firmware);
//   TIDCP      IMPLEMENTATION DEFINED registers trap (an undefined instruction for it):
//              they may control a core's shared caches or power;
//   TACR       ACTLR_EL1 traps (read as zero, writes ignored), for the same reason;
//   TSW        set/way cache maintenance traps: emulated on its own RAM by address, so
//              it cannot clean or invalidate lines of other partitions (exit_handlers.cpp);
//   RW         EL1 is AArch64.
// TVM is added per vCPU while set/way emulation watches for the caches being switched.
constexpr uint64_t guest_hcr = arch::hcr::vm | arch::hcr::swio | arch::hcr::fmo | arch::hcr::imo | arch::hcr::amo |
                               arch::hcr::fb | arch::hcr::bsu_inner | arch::hcr::tsc | arch::hcr::tidcp |
                               arch::hcr::tacr | arch::hcr::tsw | arch::hcr::rw;

// MDCR_EL2: every performance-monitor access traps (read as zero, writes ignored: a guest
// sees a PMU without counters), so no counter of a guest ever counts at EL2 (Armv8.0 has
// no MDCR_EL2.HPMD) and none leaks across a restart. Debug stays the guest's own: with
// TDE clear, debug exceptions go to EL1 and cannot be generated at EL2, so breakpoints and
// watchpoints (cleared at every start) affect only the guest.
uint64_t guest_mdcr() {
  return arch::mdcr::tpm | arch::mdcr::tpmcr | (arch::pmcr_counters(arch::sysreg::pmcr_el0::read()) & arch::mdcr::hpmn_mask);
}

// Every EL1/EL0 register a guest can read, as at its reset (zero where the architecture
// leaves it UNKNOWN): nothing of an earlier run of this CPU (another run of the
// partition, before a restart) survives. General and FP/SIMD registers: guest_entry.S.
void reset_el1_state() {
  using namespace arch::sysreg;
  sctlr_el1::write(arch::sctlr::el1_reset);
  ttbr0_el1::write(0);
  ttbr1_el1::write(0);
  tcr_el1::write(0);
  mair_el1::write(0);
  amair_el1::write(0);
  contextidr_el1::write(0);
  vbar_el1::write(0);
  esr_el1::write(0);
  far_el1::write(0);
  afsr0_el1::write(0);
  afsr1_el1::write(0);
  par_el1::write(0);
  elr_el1::write(0);
  spsr_el1::write(0);
  cpacr_el1::write(0);
  csselr_el1::write(0);
  tpidr_el0::write(0);
  tpidrro_el0::write(0);
  tpidr_el1::write(0);
  sp_el0::write(0);
  sp_el1::write(0);
  mdscr_el1::write(0);
  mdccint_el1::write(0);
  // The OS Lock locked and the OS Double Lock clear, as after a cold reset: the CPU that
  // restarts its partition is never powered off, so nothing else resets them.
  osdlr_el1::write(0);
  oslar_el1::write(arch::oslar_lock);
  // EL0 performance-monitor accesses UNDEFINED at EL1, as the guest's (emulated)
  // PMUSERENR_EL0 of 0 says; with it set they would trap to EL2 and read as zero.
  pmuserenr_el0::write(0);
  const uint64_t dfr0 = id_aa64dfr0_el1::read();
  for (size_t i = 0; i < arch::id_aa64dfr0::breakpoints(dfr0); ++i) clear_debug_register_pair(i, false);
  for (size_t i = 0; i < arch::id_aa64dfr0::watchpoints(dfr0); ++i) clear_debug_register_pair(i, true);
  // The timers as at reset: off, compare values zero.
  cntv_ctl_el0::write(0);
  cntp_ctl_el0::write(0);
  cntv_cval_el0::write(0);
  cntp_cval_el0::write(0);
  cntkctl_el1::write(0);
}

void run_vcpu_task(uint64_t cpu) { enter_vcpu(vcpus[cpu]); }

}  // namespace

void configure(const PlatformInfo& machine_info, uint64_t vtcr) {
  platform = &machine_info;
  stage2_vtcr = vtcr;
}
const PlatformInfo& machine() { return *platform; }

bool register_gic_regions(Vm& vm, uint64_t distributor_base, uint64_t redistributor_base) {
  vm.physical_gic.attach(vm);
  vm.gic.set_physical(&vm.physical_gic);
  vm.gic_distributor.attach(vm.gic, distributor_base, true);
  vm.gic_redistributors.attach(vm.gic, redistributor_base, false);
  const MmioRegion regions[2] = {
      {.name = "gic-distributor",
       .base = distributor_base,
       .size = vgic::VirtualDistributor::frame_size,
       .device = &vm.gic_distributor,
       .widths = gic_widths,
       .direct = {}},
      {.name = "gic-redistributors",
       .base = redistributor_base,
       .size = uint64_t{vm.vcpu_count} * vgic::VirtualRedistributor::frame_size,
       .device = &vm.gic_redistributors,
       .widths = gic_widths,
       .direct = {}}};
  for (const MmioRegion& region : regions) {
    const MmioRegion* conflict = nullptr;
    const RegistrationError error = vm.mmio.add(region, &conflict);
    if (error != RegistrationError::none) {
      log::error("partition {}: emulated region {} at {}: {}{}{}", vm.name, region.name, hex(region.base),
                 registration_error_name(error), conflict != nullptr ? " " : "", conflict != nullptr ? conflict->name : "");
      return false;
    }
  }
  return true;
}

Vcpu& this_vcpu() { return *reinterpret_cast<Vcpu*>(arch::sysreg::tpidr_el2::read()); }

uint64_t vcpu_mpidr(const Vm& vm, uint32_t index) { return platform->cpus[vm.vcpu_cpu[index]].mpidr; }

Vcpu& assign_vcpu(Vm& vm, uint32_t index, uint64_t entry, uint64_t x0) {
  const uint32_t cpu = vm.vcpu_cpu[index];
  Vcpu& vcpu = vcpus[cpu];
  vcpu = Vcpu();
  vcpu.vm = &vm;
  vcpu.index = index;
  vcpu.cpu = cpu;
  vcpu.entry = entry;
  vcpu.x0 = x0;
  return vcpu;
}

int64_t start_vcpu_cpu(uint32_t cpu) { return boot::start_cpu(*platform, cpu, run_vcpu_task, cpu); }

[[noreturn]] void stop_this_cpu() {
  arch::sysreg::ich_hcr_el2::write(0);
  if (boot::is_boot_cpu()) boot::return_to_service();
  arch::cpu_off(platform->psci.conduit);
}

[[noreturn]] void enter_vcpu(Vcpu& vcpu) {
  using namespace arch::sysreg;
  Vm& vm = *vcpu.vm;
  tpidr_el2::write(reinterpret_cast<uint64_t>(&vcpu));
  vcpu.redistributor = arch::gic::init_this_cpu(platform->gic);
  vcpu.serves_system = boot::is_boot_cpu();
  if (vcpu.serves_system) boot::serve_beside_guest();
  vcpu.queue = &vm.gic.queue(static_cast<uint8_t>(vcpu.index));
  vcpu.lr_count = static_cast<uint32_t>(arch::gic::list_register_count());
  if (vcpu.lr_count > vgic::VirqQueue::max_list_registers) vcpu.lr_count = vgic::VirqQueue::max_list_registers;
  vtcr_el2::write(stage2_vtcr);
  vttbr_el2::write(vm.vttbr);
  vmpidr_el2::write((uint64_t{1} << 31) | vcpu.index);  // RES1 bit 31; Aff0 = the vCPU index
  vpidr_el2::write(midr_el1::read());
  cntvoff_el2::write(vm.counter_offset);
  reset_el1_state();
  icc_sre_el1::write(arch::icc::sre_el1_sre);  // the guest uses the system-register interface
  ich_vmcr_el2::write(0);
  ich_ap0r0_el2::write(0);  // no active priorities (5 priority bits: one register each)
  ich_ap1r0_el2::write(0);
  mdcr_el2::write(guest_mdcr());
  vcpu.hcr = guest_hcr;
  hcr_el2::write(guest_hcr);
  arch::instruction_barrier();
  asm volatile("tlbi vmalls12e1\n dsb nsh\n isb" ::: "memory");
  vm.lock.lock();
  if (vm.off || vm.restarting) {  // stopped while this CPU was on its way in
    vm.psci.vcpu_stopped(vcpu.index);
    vm.lock.unlock();
    stop_this_cpu();
  }
  vm.psci.vcpu_started(vcpu.index);
  load_list_registers(vcpu);
  vm.lock.unlock();
  vm_entering(vcpu, vm);
  guest_first_entry(vcpu.entry, vcpu.x0, boot::cpu_stack_top(vcpu.cpu));
}

}  // namespace bulkhead::vcpu
