#include "core/boot/console_input.hpp"

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "core/console/system_service.hpp"

extern "C" [[noreturn]] void continue_on_stack(void (*function)(), uint64_t stack_top);

namespace bulkhead::boot {
namespace {

using console::ServiceInterrupt;

// Everything the boot CPU serves, set once by serve_system_interrupts(); only the boot
// CPU touches it.
struct Service {
  const PlatformInfo* platform = nullptr;
  arch::Pl011Console* uart = nullptr;
  arch::Intid console_intid;  // an SPI, or none (output only)
  arch::Intid timer_intid;    // the EL2 timer's PPI
  DeviceInterrupts devices;
  console::SystemService decisions;
  uint8_t held = 0;                          // the byte a partition could not take yet
  arch::Intid taken = arch::Intid::spurious();  // beside a guest: left active by its exit
};
constinit Service service;

uint64_t ticks_per_ms() { return arch::counter_frequency() / 1000; }

// The EL2 timer as the decisions say: off, or firing at `deadline` (a counter value).
void set_timer(const console::TimerSetting& setting) {
  if (!setting.change) return;
  if (setting.deadline != 0) arch::sysreg::cnthp_cval_el2::write(setting.deadline);
  arch::sysreg::cnthp_ctl_el2::write(setting.deadline != 0 ? arch::timer_control::enable : 0);  // IMASK clear
  arch::instruction_barrier();
}

ServiceInterrupt classify(arch::Intid intid) {
  if (intid.is_spi() && intid == service.console_intid) return ServiceInterrupt::console_input;
  if (intid == service.timer_intid) return ServiceInterrupt::timer;
  for (size_t i = 0; i < service.devices.count; ++i) {
    if (arch::Intid(service.devices.intids[i]) == intid) return ServiceInterrupt::device;
  }
  return ServiceInterrupt::other;
}

// Bytes from the physical UART to the partitions, until one cannot be taken (held: the
// receive interrupt goes off, the timer retries) or none is left.
void read_input() {
  bool holding = service.decisions.holding();
  for (;;) {
    if (!holding && !service.uart->read_byte(service.held)) break;
    holding = !console_input(service.held);
    if (holding) break;
  }
  service.uart->set_receive_interrupt(!holding);
  service.decisions.input_done(holding);
}

// What interrupt `intid` (acknowledged, its priority dropped, still active) asks, then
// it is deactivated: after the UART is read, so its level is down by then.
void act_on(arch::Intid intid) {
  const console::ServiceActions actions = service.decisions.take(classify(intid), arch::counter());
  if (actions.device) handle_device_interrupt(intid.value());
  if (actions.poll_devices) handle_device_interrupt(0);
  if (actions.read_input) read_input();
  arch::gic::deactivate(intid.value());
}

// This CPU's GIC interface as serving needs it: only the kick SGI and the EL2 timer's PPI
// enabled, nothing active. False without a redistributor.
bool prepare_this_cpu(const PlatformInfo& platform) {
  const uint64_t redistributor = platform.gic.present ? arch::gic::init_this_cpu(platform.gic) : 0;
  if (redistributor == 0) return false;
  arch::gic::set_ppi_enabled(redistributor, arch::Intid::from_dt_ppi(platform.timer.hypervisor_ppi).value(),
                             platform.timer.present);
  return true;
}

// Serving alone: the loop, on a fresh stack. A task posted to this CPU (a partition's
// vCPU on it) is taken before sleeping; it returns here through return_to_service().
[[noreturn]] void serve_alone() {
  asm volatile("msr daifset, #0xf");  // WFI still wakes on a pending interrupt
  service.decisions.set_beside_guest(false);
  service.decisions.timer_lost();
  for (;;) {
    CpuTask task = nullptr;
    uint64_t argument = 0;
    if (take_boot_cpu_task(task, argument)) {
      task(argument);
      arch::park_forever();  // tasks enter a guest; one that returned has nothing left to do
    }
    // Console output first, one line at a time, with the interrupts looked at in between.
    const ConsoleWork work = console_work();
    set_timer(service.decisions.after_work(work, arch::counter()));
    if (console::SystemService::sleeps_after(work)) arch::wait_for_interrupt();
    const arch::Intid pending(arch::gic::acknowledge());
    if (pending.is_special()) continue;
    arch::gic::priority_drop(pending.value());
    act_on(pending);
  }
}

}  // namespace

void serve_system_interrupts(const PlatformInfo& platform, arch::Pl011Console& uart, uint32_t console_intid) {
  if (!prepare_this_cpu(platform)) arch::park_forever();
  service.platform = &platform;
  service.uart = &uart;
  service.timer_intid = arch::Intid::from_dt_ppi(platform.timer.hypervisor_ppi);
  const bool console = arch::Intid(console_intid).is_spi();
  service.console_intid = console ? arch::Intid(console_intid) : arch::Intid::spurious();
  if (console) {
    arch::gic::route_spi(platform.gic, console_intid, arch::own_mpidr());
    arch::gic::enable_spi(platform.gic, console_intid, true);
    uart.set_receive_interrupt(true);
  }
  service.devices = device_interrupts();
  for (size_t i = 0; i < service.devices.count; ++i) {
    const uint32_t intid = service.devices.intids[i];
    arch::gic::enable_spi(platform.gic, intid, false);
    arch::gic::set_spi_edge(platform.gic, intid, service.devices.edge[i]);
    arch::gic::route_spi(platform.gic, intid, arch::own_mpidr());
    arch::gic::enable_spi(platform.gic, intid, true);
  }
  // An edge the device sent before its SPI was set up here is lost, and an SMMU signals
  // only a queue going non-empty: serve once now, so nothing waits for the next edge.
  if (service.devices.count != 0) handle_device_interrupt(0);
  service.decisions.start({.console_input = console,
                           .timer = platform.timer.present,
                           .poll_ms = service.devices.poll_ms,
                           .ticks_per_ms = ticks_per_ms()},
                          arch::counter());
  serve_alone();
}

void serve_beside_guest() {
  const PlatformInfo& platform = *service.platform;
  const uint64_t redistributor = arch::gic::this_cpu_redistributor(platform.gic);
  arch::gic::set_ppi_enabled(redistributor, service.timer_intid.value(), platform.timer.present);
  service.decisions.set_beside_guest(true);
  service.decisions.timer_lost();  // a reset wait may have used it on the way here
  set_timer(service.decisions.after_work(ConsoleWork::idle, arch::counter()));
}

bool take_service_interrupt(uint32_t intid) {
  const arch::Intid taken(intid);
  if (classify(taken) == ServiceInterrupt::other) return false;
  service.taken = taken;
  return true;
}

void service_after_exit() {
  const arch::Intid taken = service.taken;
  if (taken.is_special() && !console_work_waiting()) return;
  service.taken = arch::Intid::spurious();
  // What the step logs (an SMMU event) is the hypervisor's, not the partition's.
  const uint64_t vcpu = arch::sysreg::tpidr_el2::read();
  arch::sysreg::tpidr_el2::write(0);
  if (!taken.is_special()) act_on(taken);
  set_timer(service.decisions.after_work(console_work(), arch::counter()));
  arch::sysreg::tpidr_el2::write(vcpu);
}

void return_to_service() {
  arch::sysreg::tpidr_el2::write(0);  // no vCPU: its lines go to the hypervisor's queue
  if (!service.taken.is_special()) arch::gic::deactivate(service.taken.value());
  service.taken = arch::Intid::spurious();
  // The guest's timers may still be running, their PPIs enabled here: a level nobody
  // takes would wake the loop's WFI over and over. Off, and the PPIs as at boot.
  arch::sysreg::cntv_ctl_el0::write(0);
  arch::sysreg::cntp_ctl_el0::write(0);
  (void)prepare_this_cpu(*service.platform);
  boot_cpu_task_ended();
  // What is on the stack belongs to the vCPU that stopped: start from its top again.
  const uint64_t top = cpu_stack_top(static_cast<size_t>(current_cpu_index()));
  continue_on_stack(&serve_alone, top);
}

}  // namespace bulkhead::boot
