// The seam between core/ and the rest of the hypervisor. core/ brings the machine up
// (EL2, MMU, console, firmware DT, CPUs) and then hands over to run_system(), which
// partitions/boot/ implements: PCI, the package, the partitions. core/ knows nothing
// about PCI or partitions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/console/system_service.hpp"
#include "core/lib/crash_report.hpp"
#include "core/platform/platform.hpp"

namespace bulkhead::boot {

struct BootContext {
  const PlatformInfo* platform = nullptr;
  bool cpu_online[max_cpus] = {};
  AddressRange hypervisor_image;  // 2 MiB-rounded: code, data, package, BSS, stacks
  AddressRange firmware_dtb;
  bool ecam_mapped[max_pcie_hosts] = {};
};

// Returns when the system has nothing more to do: nullptr when all went as described
// (the caller then powers off, or holds with bulkhead.hold), otherwise the reason to
// power off at once (e.g. "package": the embedded description is damaged).
const char* run_system(const BootContext& context);

// True once run_system() has started guests: the boot CPU then idles instead of
// powering off; the last partition to power off powers the machine off.
bool partitions_running();

// A byte typed on the physical console while partitions run (from the boot CPU). False
// when it cannot be taken yet (the focused partition's UART is full): offer it again later.
bool console_input(uint8_t byte);

// The boot CPU's console work while partitions run: writes one queued line and hands
// held input to partitions whose lock is free. `more`: call again (after looking at
// interrupts); `retry_soon`: nothing to write, but input or a partition's UART waits for
// that partition, try again in a millisecond; `idle`: sleep, a kick_sgi wakes the CPU.
using ConsoleWork = console::ConsoleWork;
ConsoleWork console_work();
// Whether console_work() has something to do (a producer queued since it last said
// idle): beside a guest, an exit runs a service step only then, or for an interrupt.
bool console_work_waiting();

// A CPU about to report an EL2 crash: the console locks it holds are released and its
// report goes to the hypervisor's own queue.
void prepare_crash_report();

// Interrupts the boot CPU serves for the rest of the system while partitions run (the
// SMMU's event queue and global errors): which ones (INTIDs of SPIs, routed to the boot
// CPU), and what one of them does. `poll_ms` non-zero: nothing is wired for some of it,
// call handle_device_interrupt(0) that often instead.
struct DeviceInterrupts {
  static constexpr size_t capacity = 4;
  uint32_t intids[capacity] = {};
  bool edge[capacity] = {};  // edge-triggered (else level-sensitive), set in the GIC before enabling
  size_t count = 0;
  uint32_t poll_ms = 0;
};
DeviceInterrupts device_interrupts();
void handle_device_interrupt(uint32_t intid);

}  // namespace bulkhead::boot
