// The state shared by the files that run partitions (partition_runtime.cpp: starting,
// entering, stopping and restarting them; guest_traps.cpp: what a vCPU's exits do;
// console_runtime.cpp: the shared console and its input). Target-only, internal to
// partitions/boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/spinlock.hpp"
#include "core/console/console_mux.hpp"
#include "core/console/virtual_pl011.hpp"
#include "core/lib/crash_report.hpp"
#include "core/lib/log.hpp"
#include "core/platform/platform.hpp"
#include "core/psci_guest/psci_guest.hpp"
#include "core/vgic/virtual_gic.hpp"
#include "partitions/boot/partition_runtime.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/description.hpp"

namespace bulkhead::boot::runtime {

using partitions::Partition;

constexpr size_t max_lrs = 8;
constexpr uint32_t uart_intid = 32 + 1;  // partitions/guest_dt.hpp: guest_uart_spi
constexpr uint32_t logged_faults = 8;    // per partition; later ones are counted only

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

// Declarations only: the definitions (partition_runtime.cpp) are constinit, which the
// check cannot see from here.
// NOLINTBEGIN(bugprone-dynamic-static-initializers)
extern PartitionRuntime runtimes[partitions::max_partitions];
extern CpuRuntime cpus[max_cpus];
extern const PlatformInfo* machine;
// NOLINTEND(bugprone-dynamic-static-initializers)

CpuRuntime& this_cpu();
// The physical CPU of vCPU `vcpu` of `p`, made ready to enter that vCPU at `entry` with
// `x0` (run_vcpu_task() on that CPU then does it).
CpuRuntime& assign_vcpu(PartitionRuntime& p, uint32_t vcpu, uint64_t entry, uint64_t x0);
uint64_t vcpu_mpidr(const PartitionRuntime& p, uint32_t vcpu);  // of its physical CPU

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
extern SharedConsole shared_console;  // NOLINT(bugprone-dynamic-static-initializers): constinit in console_runtime.cpp


// The virtual UART's interrupt line follows its state after every access.
void update_uart_line(PartitionRuntime& p, const CpuRuntime& cpu, vgic::Events& events);
// Acts on what a vGIC access asked of the hardware: physical SPI/PPI state and kicks.
// `self` is the calling vCPU (vcpu ~0u when the caller is not one of p's vCPUs).
void apply_events(const PartitionRuntime& p, const vgic::Events& events, const CpuRuntime& self);
void load_list_registers(CpuRuntime& cpu, PartitionRuntime& p);
void fold_list_registers(CpuRuntime& cpu, PartitionRuntime& p);
void run_vcpu_task(uint64_t cpu_index);

// These take p.lock held and never return: this CPU powers off or enters a guest.
[[noreturn]] void stop_this_cpu();
[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why);
[[noreturn]] void restart_partition_locked(CpuRuntime& cpu, PartitionRuntime& p, const char* why);
[[noreturn]] void crash_partition_locked(CpuRuntime& cpu, PartitionRuntime& p);

}  // namespace bulkhead::boot::runtime
