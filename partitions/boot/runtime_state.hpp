// The state shared by the files that own running partitions (partition_runtime.cpp:
// setting them up, starting, stopping and restarting them; console_runtime.cpp: the
// shared console, the virtual UART and console input). Running the vCPUs themselves is
// core/vcpu's job; each partition owns one vcpu::Vm. Target-only, internal to
// partitions/boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/arch/aarch64/spinlock.hpp"
#include "core/console/console_mux.hpp"
#include "core/console/virtual_pl011.hpp"
#include "core/lib/log.hpp"
#include "core/platform/platform.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "core/vcpu/mmio.hpp"
#include "core/mmu/page_table.hpp"
#include "partitions/boot/partition_runtime.hpp"
#include "partitions/boot/vpci_runtime.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/description.hpp"
#include "partitions/guest_layout.hpp"

namespace bulkhead::boot::runtime {

using partitions::Partition;

struct PartitionRuntime;

// The virtual PL011 as an emulated region: the model answers, transmitted bytes go to the
// shared console, and its interrupt line follows its state after every access.
class UartDevice final : public vcpu::MmioDevice {
 public:
  void attach(PartitionRuntime& owner) { owner_ = &owner; }
  vcpu::MmioResult access(vcpu::MmioRequest& request, vgic::Events& events) override;

 private:
  PartitionRuntime* owner_ = nullptr;
};
// PL011 registers are 32 bits wide; Linux's driver and earlycon use 8-, 16- and 32-bit accesses.
constexpr uint8_t uart_widths = vcpu::widths::bytes_1 | vcpu::widths::bytes_2 | vcpu::widths::bytes_4;

struct PartitionRuntime {
  const Partition* partition = nullptr;
  const partitions::PartitionPlan* plan = nullptr;
  size_t index = 0;  // in the description: its console slot
  vcpu::Vm vm;
  console::VirtualPl011 uart;
  UartDevice uart_device;
  PartitionPci pci;
  uint64_t stage2_root = 0;  // its stage-2 tables (the root VTTBR_EL2 points at)
  // Platform devices' SPIs, the UART's, its PCI functions' INTx lines.
  vgic::OwnedSpi spis[partitions::max_platform_devices * partitions::max_device_interrupts + 1 +
                      partitions::max_pci_devices];
  uint32_t restarts = 0;
  bool uart_line = false;  // the level last given to the vGIC
};

// The partition's stage 2 beyond its RAM and platform devices: a passed-through PCI BAR
// mapped where its guest placed it, and removed again. unmap breaks before it makes:
// entries invalid, then the TLB entries of the partition's VMID invalidated on every CPU.
bool stage2_map(PartitionRuntime& p, uint64_t guest, uint64_t host, uint64_t size, MapAttributes attributes);
void stage2_unmap(PartitionRuntime& p, uint64_t guest, uint64_t size);

// Partition `index`'s runtime state: made by start_partitions() for each loaded
// partition as it starts; nullptr before that and for any other index.
PartitionRuntime* runtime_of(size_t index);

// The virtual UART's SPI (partitions/guest_dt.hpp: guest_uart_spi).
constexpr uint32_t uart_intid = arch::Intid::from_dt_spi(1).value();

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

// The virtual UART's interrupt line follows its state: `vcpu` is the calling vCPU's index
// (any for SPIs).
void update_uart_line(PartitionRuntime& p, uint8_t vcpu, vgic::Events& events);

// These take p.vm.lock held and never return: this CPU powers off or enters a guest.
[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why);
[[noreturn]] void restart_partition_locked(vcpu::Vcpu& self, PartitionRuntime& p, const char* why);

}  // namespace bulkhead::boot::runtime
