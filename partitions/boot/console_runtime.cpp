// The shared physical console while partitions run, the virtual UART region, and console
// input for the partitions.
#include "core/boot/system.hpp"
#include "partitions/boot/runtime_state.hpp"

namespace bulkhead::boot {
namespace runtime {

constinit SharedConsole shared_console;

void update_uart_line(PartitionRuntime& p, uint8_t vcpu, vgic::Events& events) {
  const bool line = p.uart.interrupt_line();
  if (line == p.uart_line) return;
  p.uart_line = line;
  p.vm.gic.set_line(vcpu, uart_intid, line, events);
}

vcpu::MmioResult UartDevice::access(vcpu::MmioRequest& request, vgic::Events& events) {
  PartitionRuntime& p = *owner_;
  const auto offset = static_cast<uint32_t>(request.offset);
  if (request.write) {
    const console::WriteResult result = p.uart.write(offset, request.width, static_cast<uint32_t>(request.value));
    if (result.transmitted) shared_console.put(p.index, result.byte);
  } else {
    request.value = p.uart.read(offset, request.width);
  }
  update_uart_line(p, request.vcpu, events);
  return vcpu::MmioResult::handled;
}

}  // namespace runtime

using namespace runtime;

bool console_input(uint8_t byte) {
  // Room first: input() consumes the focus-key state, so what it routes must be taken.
  PartitionRuntime* focused = runtime_of(shared_console.focused());
  if (focused != nullptr && focused->partition != nullptr) {
    const arch::SpinLockGuard guard(focused->vm.lock);
    if (!focused->vm.off && !focused->vm.restarting && !focused->uart.can_receive(2)) return false;
  }
  const console::InputRoute route = shared_console.input(byte);
  PartitionRuntime* routed = runtime_of(route.partition);
  if (routed == nullptr || routed->partition == nullptr) return true;
  PartitionRuntime& p = *routed;
  const arch::SpinLockGuard guard(p.vm.lock);
  if (p.vm.off || p.vm.restarting) return true;
  for (size_t i = 0; i < route.count; ++i) p.uart.receive(route.bytes[i]);
  // Not a vCPU: every vCPU the interrupt concerns gets kicked.
  vgic::Events events;
  update_uart_line(p, 0, events);
  vcpu::apply_events(p.vm, events, nullptr);
  return true;
}

}  // namespace bulkhead::boot
