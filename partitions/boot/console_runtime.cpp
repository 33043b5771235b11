// The shared physical console while partitions run, and console input for them.
#include "core/boot/system.hpp"
#include "partitions/boot/runtime_state.hpp"

namespace bulkhead::boot {
namespace runtime {

constinit SharedConsole shared_console;

// The UART's interrupt line follows its state after every access.
void update_uart_line(PartitionRuntime& p, const CpuRuntime& cpu, vgic::Events& events) {
  const bool line = p.uart.interrupt_line();
  if (line == p.uart_line) return;
  p.uart_line = line;
  p.gic.set_line(static_cast<uint8_t>(cpu.vcpu), uart_intid, line, events);
}

}  // namespace runtime

using namespace runtime;

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

}  // namespace bulkhead::boot
