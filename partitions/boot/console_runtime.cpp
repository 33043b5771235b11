// The shared physical console while partitions run, the virtual UART region, and console
// input for the partitions. Producers queue (core/console/output_queues.hpp); the boot
// CPU drains (console_work); nothing in a trap waits for the UART or another partition.
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/smp.hpp"
#include "core/boot/system.hpp"
#include "partitions/boot/runtime_state.hpp"

namespace bulkhead::boot {
namespace runtime {

namespace {
constinit console::OutputQueues output_queues;
}  // namespace
constinit SharedConsole shared_console{output_queues};

void update_uart_line(PartitionRuntime& p, uint8_t vcpu, vgic::Events& events) {
  const bool line = p.uart.interrupt_line();
  if (line == p.uart_line) return;
  p.uart_line = line;
  p.vm.gic.set_line(vcpu, uart_intid, line, events);
}

// Input the boot CPU holds for the partition moves into its RX FIFO as far as it has
// room. The partition's lock held: by its vCPU (on every UART access, so a guest polling
// its UART never depends on the boot CPU finding the lock free) or by the boot CPU.
void take_held_input(PartitionRuntime& p) {
  size_t count = 0;
  const size_t held = p.held_input.used();
  while (count < held && p.uart.can_receive(1)) p.uart.receive(p.held_input.peek(count++));
  p.held_input.drop_front(count);
}

vcpu::MmioResult UartDevice::access(vcpu::MmioRequest& request, vgic::Events& events) {
  PartitionRuntime& p = *owner_;
  const auto offset = static_cast<uint32_t>(request.offset);
  take_held_input(p);
  // The UART is as full as the partition's output queue.
  p.uart.set_transmit_room(shared_console.transmit_room(p.index));
  if (request.write) {
    const console::WriteResult result = p.uart.write(offset, request.width, static_cast<uint32_t>(request.value));
    if (result.transmitted) (void)shared_console.transmit(p.index, result.byte);  // room was there
    p.uart.set_transmit_room(shared_console.transmit_room(p.index));
  } else {
    request.value = p.uart.read(offset, request.width);
  }
  if (p.uart.transmit_full()) shared_console.wait_for_room(p.index);
  update_uart_line(p, request.vcpu, events);
  return vcpu::MmioResult::handled;
}

// Producers.

size_t SharedConsole::source_of_this_cpu() const {
  const int cpu = current_cpu_index();
  if (cpu >= 0 && (__atomic_load_n(&crash_reporters_, __ATOMIC_RELAXED) & (1ull << cpu)) != 0) {
    return console::OutputQueues::hypervisor;
  }
  const uint64_t current = arch::sysreg::tpidr_el2::read();
  if (current == 0) return console::OutputQueues::hypervisor;
  const vcpu::Vm* vm = reinterpret_cast<const vcpu::Vcpu*>(current)->vm;
  return vm != nullptr && vm->owner < console::max_consoles ? vm->owner : console::OutputQueues::hypervisor;
}

void SharedConsole::kick_drainer() {
  // Pairs with output_step(): it says it is idle, then looks at the queues once more.
  if (__atomic_exchange_n(&drainer_idle_, false, __ATOMIC_SEQ_CST) && arch::own_mpidr() != drainer_mpidr_) {
    arch::gic::send_sgi(arch::gic::kick_sgi, drainer_mpidr_);
  }
}

void SharedConsole::write_line(const char* text, size_t length) {
  if (!__atomic_load_n(&started_, __ATOMIC_ACQUIRE)) return;
  const size_t source = source_of_this_cpu();
  {
    const arch::SpinLockGuard guard(source_locks_[source]);
    (void)queues_.put_line(source, text, length);  // counted when dropped
  }
  kick_drainer();
}

bool SharedConsole::transmit(size_t partition, uint8_t byte) {
  bool queued = false;
  {
    const arch::SpinLockGuard guard(source_locks_[partition]);
    queued = queues_.put_guest_byte(partition, byte);
  }
  if (queued) kick_drainer();
  return queued;
}

void SharedConsole::end_partial_line(size_t partition) {
  {
    const arch::SpinLockGuard guard(source_locks_[partition]);
    queues_.flush_guest(partition);
  }
  kick_drainer();
}

void SharedConsole::detach(size_t partition) {
  {
    const arch::SpinLockGuard guard(source_locks_[partition]);
    queues_.detach(partition);
  }
  kick_drainer();
}

void SharedConsole::prepare_crash_report() {
  const int cpu = current_cpu_index();
  if (cpu >= 0) __atomic_or_fetch(&crash_reporters_, 1ull << cpu, __ATOMIC_RELAXED);
  for (arch::SpinLock& lock : source_locks_) lock.release_if_held_by_this_cpu();
  drain_lock_.release_if_held_by_this_cpu();
}

// The drainer.

void SharedConsole::start(log::LineSink* physical_uart) {
  physical_.attach(physical_uart);
  mux_.set_output(&physical_);
  drainer_mpidr_ = arch::own_mpidr();
  __atomic_store_n(&started_, true, __ATOMIC_RELEASE);
}

bool SharedConsole::attach(size_t partition, const char* name) {
  const arch::SpinLockGuard guard(drain_lock_);
  const bool attached = mux_.attach(partition, name);
  __atomic_store_n(&focus_, mux_.focused(), __ATOMIC_RELEASE);
  return attached;
}

console::InputRoute SharedConsole::input(uint8_t byte) {
  const arch::SpinLockGuard guard(drain_lock_);
  const console::InputRoute route = mux_.input(byte);
  __atomic_store_n(&focus_, mux_.focused(), __ATOMIC_RELEASE);
  return route;
}

void SharedConsole::write_item(const console::OutputQueues::Item& item) {
  using Kind = console::OutputQueues::Item::Kind;
  switch (item.kind) {
    case Kind::guest_bytes:
      for (size_t i = 0; i < item.length; ++i) mux_.put(item.source, static_cast<uint8_t>(item.text[i]));
      break;
    case Kind::line: mux_.write_line(item.text, item.length); break;
    case Kind::flush: mux_.flush(item.source); break;
    case Kind::detach:
      mux_.detach(item.source);
      __atomic_store_n(&focus_, mux_.focused(), __ATOMIC_RELEASE);
      break;
    case Kind::dropped: {
      FixedBuffer<96> line;
      if (item.source == console::OutputQueues::hypervisor) {
        format(line, "bulkhead: log-dropped {}\n", item.dropped);
      } else {
        const PartitionRuntime* source = runtime_of(item.source);
        const Partition* partition = source != nullptr ? source->partition : nullptr;
        format(line, "bulkhead: partition {} log-dropped {}\n", partition != nullptr ? partition->name : "?",
               item.dropped);
      }
      mux_.write_line(line.c_str(), line.size());
      break;
    }
    case Kind::none: break;
  }
}

bool SharedConsole::room_for_waiting(size_t index) const {
  return __atomic_load_n(&tx_waiting_[index], __ATOMIC_ACQUIRE) &&
         queues_.guest_offer(index) >= console::VirtualPl011::tx_fifo_depth;
}

// A partition whose UART reads full gets room (and its TX interrupt) back once its queue
// offers a FIFO's worth. Never waits for its lock: a busy partition is tried again later.
void SharedConsole::refresh_rooms() {
  for (size_t index = 0; index < console::max_consoles; ++index) {
    if (!room_for_waiting(index)) continue;
    PartitionRuntime* runtime = runtime_of(index);
    if (runtime == nullptr || runtime->partition == nullptr || !runtime->vm.lock.try_lock()) continue;
    PartitionRuntime& p = *runtime;
    __atomic_store_n(&tx_waiting_[index], false, __ATOMIC_RELAXED);
    if (!p.vm.off) {
      p.uart.set_transmit_room(transmit_room(index));
      vgic::Events events;
      update_uart_line(p, 0, events);
      vcpu::apply_events(p.vm, events, nullptr);
    }
    p.vm.lock.unlock();
  }
}

bool SharedConsole::room_refresh_pending() const {
  for (size_t index = 0; index < console::max_consoles; ++index) {
    if (room_for_waiting(index)) return true;
  }
  return false;
}

bool SharedConsole::output_step() {
  if (!drain_lock_.try_lock()) return true;  // another CPU drains (the machine powers off)
  static constinit console::OutputQueues::Item item;  // only under drain_lock_
  const bool wrote = queues_.next(item);
  if (wrote) write_item(item);
  drain_lock_.unlock();
  refresh_rooms();
  if (wrote) return true;
  __atomic_store_n(&drainer_idle_, true, __ATOMIC_SEQ_CST);
  if (queues_.empty()) return false;
  __atomic_store_n(&drainer_idle_, false, __ATOMIC_SEQ_CST);
  return true;
}

void SharedConsole::flush_output() {
  if (!__atomic_load_n(&started_, __ATOMIC_ACQUIRE)) return;
  const arch::SpinLockGuard guard(drain_lock_);
  static constinit console::OutputQueues::Item item;  // only under drain_lock_
  while (queues_.next(item)) write_item(item);
}

}  // namespace runtime

using namespace runtime;

namespace {

// Input for a partition, held here until its lock is free and its UART has room: never
// waiting for it keeps routing and the focus key going for the others.
void deliver_held_input(PartitionRuntime& p) {
  if (p.held_input.used() == 0 || !p.vm.lock.try_lock()) return;
  if (p.vm.off || p.vm.restarting) {
    p.held_input.drop_front(p.held_input.used());
  } else {
    take_held_input(p);
    // Not a vCPU: every vCPU the interrupt concerns gets kicked.
    vgic::Events events;
    update_uart_line(p, 0, events);
    vcpu::apply_events(p.vm, events, nullptr);
  }
  p.vm.lock.unlock();
}

}  // namespace

bool console_input(uint8_t byte) {
  // Room first: input() consumes the focus-key state, so what it routes must be taken.
  PartitionRuntime* focused = runtime_of(shared_console.focused());
  if (focused != nullptr && focused->held_input.room() < 2) {
    deliver_held_input(*focused);
    if (focused->held_input.room() < 2) return false;
  }
  const console::InputRoute route = shared_console.input(byte);
  PartitionRuntime* routed = runtime_of(route.partition);
  if (routed == nullptr || routed->partition == nullptr) return true;
  (void)routed->held_input.push(route.bytes, route.count);  // room checked above
  deliver_held_input(*routed);
  return true;
}

ConsoleWork console_work() {
  const bool more = shared_console.output_step();
  bool waiting = shared_console.room_refresh_pending();
  for (size_t index = 0; index < partitions::max_partitions; ++index) {
    PartitionRuntime* p = runtime_of(index);
    if (p == nullptr || p->held_input.used() == 0) continue;
    deliver_held_input(*p);
    waiting |= p->held_input.used() != 0;
  }
  if (more) return ConsoleWork::more;
  return waiting ? ConsoleWork::retry_soon : ConsoleWork::idle;
}

bool console_work_waiting() { return shared_console.work_waiting(); }

void prepare_crash_report() { shared_console.prepare_crash_report(); }

}  // namespace bulkhead::boot
