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
#include "core/console/output_queues.hpp"
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
  vcpu::Vcpu* boot_vcpu = nullptr;  // its vCPU 0 as assigned at boot
  // Platform devices' SPIs, the UART's, its PCI functions' INTx lines.
  vgic::OwnedSpi spis[partitions::max_platform_devices * partitions::max_device_interrupts + 1 +
                      partitions::max_pci_devices];
  // Typed for it, not yet in its UART: the boot CPU adds, whoever holds its lock takes.
  console::ByteRing<64> held_input;
  uint32_t restarts = 0;
  bool uart_line = false;  // the level last given to the vGIC
};

// The partition's stage 2 beyond its RAM and platform devices: a passed-through PCI BAR
// mapped where its guest placed it, and removed again. unmap breaks before it makes:
// entries invalid, then the TLB entries of the partition's VMID invalidated on every CPU.
bool stage2_map(PartitionRuntime& p, uint64_t guest, uint64_t host, uint64_t size, MapAttributes attributes);
void stage2_unmap(PartitionRuntime& p, uint64_t guest, uint64_t size);

// Partition `index`'s runtime state: made by start_partition() for each loaded
// partition as it starts; nullptr before that and for any other index.
PartitionRuntime* runtime_of(size_t index);

// The virtual UART's SPI (partitions/guest_dt.hpp: guest_uart_spi).
constexpr uint32_t uart_intid = arch::Intid::from_dt_spi(1).value();

// One physical console for everyone (core/console/output_queues.hpp): the CPUs of a
// partition queue its transmitted bytes and the hypervisor's lines about it; other lines
// queue as the hypervisor's. Only the drainer (the boot CPU, from its loop or from the
// exits of the vCPU it runs, or the CPU that powers the machine off) runs the multiplexer and waits for the physical UART, one line per queue
// in turn. No trap waits for the UART or for another partition's lock.
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
  // The queues live apart: inside this object (constinit, with vtable pointers) their
  // 40 KiB of zeros would sit in .data and so in the image file; alone they are BSS.
  constexpr explicit SharedConsole(console::OutputQueues& queues) noexcept : queues_(queues) {}

  // Any CPU: a hypervisor line, queued for the partition whose vCPU this CPU runs.
  void write_line(const char* text, size_t length) override;
  // Drains every queue: the boot CPU before it serves the console from its loop (it calls
  // this after what it logs while booting), and whichever CPU powers the machine off.
  void flush_output() override;

  // The partition's lock held. transmit: false when its queue is full (nothing queued).
  bool transmit(size_t partition, uint8_t byte);
  console::TransmitRoom transmit_room(size_t partition) const {
    return {.offered = queues_.guest_offer(partition), .accepted = queues_.guest_fit(partition)};
  }
  // Its UART reported itself full: the drainer gives it room back when the queue offers
  // a FIFO's worth again.
  void wait_for_room(size_t partition) { __atomic_store_n(&tx_waiting_[partition], true, __ATOMIC_RELEASE); }
  void end_partial_line(size_t partition);  // it stops or restarts
  void detach(size_t partition);            // once what it queued before is out

  // The boot CPU.
  void start(log::LineSink* physical_uart);
  bool attach(size_t partition, const char* name);
  // Writes one queued item. False when nothing waits (a producer then sends kick_sgi).
  bool output_step();
  // A producer queued since output_step() last found nothing (cheap: one load).
  bool work_waiting() const { return !__atomic_load_n(&drainer_idle_, __ATOMIC_ACQUIRE); }
  // Partitions whose UART waits for room, with their lock busy: try again later.
  bool room_refresh_pending() const;
  console::InputRoute input(uint8_t byte);
  size_t focused() const { return __atomic_load_n(&focus_, __ATOMIC_ACQUIRE); }

  // A CPU about to report an EL2 crash: it lets go of the console locks it holds, and its
  // report goes to the hypervisor's queue (not a partition's, which may be full).
  void prepare_crash_report();

 private:
  void kick_drainer();
  size_t source_of_this_cpu() const;
  void write_item(const console::OutputQueues::Item& item);
  void refresh_rooms();
  bool room_for_waiting(size_t index) const;  // its UART waits and the queue offers a FIFO's worth

  arch::SpinLock drain_lock_;  // the drainer's: the multiplexer and the physical UART
  arch::SpinLock source_locks_[console::max_consoles + 1];  // one producer per queue at a time
  console::OutputQueues& queues_;
  console::ConsoleMux mux_;
  PhysicalBytes physical_;
  uint64_t drainer_mpidr_ = 0;
  bool started_ = false;
  bool drainer_idle_ = false;
  size_t focus_ = console::InputRoute::nobody;  // the multiplexer's, for other CPUs
  bool tx_waiting_[console::max_consoles] = {};
  uint64_t crash_reporters_ = 0;  // CPUs (bit per platform index) reporting a crash
};
extern SharedConsole shared_console;  // NOLINT(bugprone-dynamic-static-initializers): constinit in console_runtime.cpp

// The virtual UART's interrupt line follows its state: `vcpu` is the calling vCPU's index
// (any for SPIs).
void update_uart_line(PartitionRuntime& p, uint8_t vcpu, vgic::Events& events);
void take_held_input(PartitionRuntime& p);  // its lock held

// These take p.vm.lock held and never return: this CPU powers off or enters a guest.
[[noreturn]] void stop_partition_locked(PartitionRuntime& p, const char* why);
[[noreturn]] void restart_partition_locked(vcpu::Vcpu& self, PartitionRuntime& p, const char* why);

}  // namespace bulkhead::boot::runtime
