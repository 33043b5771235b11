#include "core/arch/aarch64/pl011.hpp"

namespace bulkhead::arch {
namespace {
constexpr size_t data_register = 0x00 / 4;
constexpr size_t flag_register = 0x18 / 4;
constexpr size_t control_register = 0x30 / 4;
constexpr size_t interrupt_mask_register = 0x38 / 4;
constexpr uint32_t flag_receive_empty = 1u << 4;
constexpr uint32_t flag_transmit_full = 1u << 5;
constexpr uint32_t interrupt_receive = 1u << 4;
constexpr uint32_t interrupt_receive_timeout = 1u << 6;
constexpr uint32_t control_enable_tx_rx = (1u << 0) | (1u << 8) | (1u << 9);  // UARTEN TXE RXE
}  // namespace

void Pl011Console::attach(uint64_t base) {
  registers_ = reinterpret_cast<volatile uint32_t*>(base);
  // Firmware normally left it enabled; a board-default fallback may not have been.
  registers_[control_register] = registers_[control_register] | control_enable_tx_rx;
}

void Pl011Console::put(char c) {
  while ((registers_[flag_register] & flag_transmit_full) != 0) {
  }
  registers_[data_register] = static_cast<uint8_t>(c);
}

void Pl011Console::set_receive_interrupt(bool enabled) {
  if (registers_ == nullptr) return;
  // No ICR write: the receive interrupts clear as DR reads empty the FIFO, and clearing
  // them here could lose one for a byte that arrived after the last read.
  registers_[interrupt_mask_register] = enabled ? interrupt_receive | interrupt_receive_timeout : 0;
}

bool Pl011Console::read_byte(uint8_t& byte) {
  if (registers_ == nullptr || (registers_[flag_register] & flag_receive_empty) != 0) return false;
  byte = static_cast<uint8_t>(registers_[data_register]);  // bits 8-11 are error flags: dropped
  return true;
}

void Pl011Console::write_line(const char* text, size_t length) {
  if (registers_ == nullptr) return;
  const SpinLockGuard guard(lock_);
  volatile uint32_t* flags = registers_ + flag_register;
  volatile uint32_t* data = registers_ + data_register;
  for (const char* end = text + length; text != end; ++text) {
    const char c = *text;
    if (c == '\n') put('\r');
    while ((*flags & flag_transmit_full) != 0) {
    }
    *data = static_cast<uint8_t>(c);
  }
}

}  // namespace bulkhead::arch
