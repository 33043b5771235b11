#include "core/arch/aarch64/pl011.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::arch {
namespace {
constexpr size_t data_register = 0x00 / 4;
constexpr size_t flag_register = 0x18 / 4;
constexpr size_t line_control_register = 0x2c / 4;  // UARTLCR_H
constexpr size_t control_register = 0x30 / 4;
constexpr size_t interrupt_mask_register = 0x38 / 4;
constexpr uint32_t flag_receive_empty = 1u << 4;
constexpr uint32_t flag_busy = 1u << 3;
constexpr uint32_t flag_transmit_full = 1u << 5;
constexpr uint32_t flag_transmit_empty = 1u << 7;  // TXFE: with the FIFOs on, the whole FIFO is empty
constexpr uint32_t line_control_fifo_enable = 1u << 4;  // FEN
constexpr uint32_t control_enable = 1u << 0;            // UARTEN
// Every PL011 revision's transmit FIFO holds at least 16 characters (r1p5: 32).
constexpr size_t transmit_fifo_depth = 16;
constexpr uint32_t interrupt_receive = 1u << 4;
constexpr uint32_t interrupt_receive_timeout = 1u << 6;
constexpr uint32_t control_enable_tx_rx = (1u << 0) | (1u << 8) | (1u << 9);  // UARTEN TXE RXE
}  // namespace

void Pl011Console::attach(uint64_t base) {
  registers_ = reinterpret_cast<volatile uint32_t*>(base);
  // The FIFOs on, as firmware and Linux set them: a line then goes out up to 16
  // characters per look at the flags. Line control changes only with the UART disabled
  // and idle (PL011 TRM, UARTCR).
  if ((registers_[line_control_register] & line_control_fifo_enable) == 0) {
    while ((registers_[flag_register] & flag_busy) != 0) {
    }
    const uint32_t control = registers_[control_register];
    registers_[control_register] = control & ~control_enable;
    registers_[line_control_register] = registers_[line_control_register] | line_control_fifo_enable;
    registers_[control_register] = control;
  }
  fifo_ = (registers_[line_control_register] & line_control_fifo_enable) != 0;
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
  if (registers_ == nullptr || length == 0) return;
  const SpinLockGuard guard(lock_);
  const volatile uint32_t* flags = registers_ + flag_register;
  volatile uint32_t* data = registers_ + data_register;
  const char* end = text + length;
  // A line's only newline is normally its last character: then everything before it
  // goes out a FIFO at a time, each chunk written without looking at the flags.
  if (fifo_ && rt::find_byte(text, '\n', length - 1) == nullptr) {
    const char* last = end - 1;
    while (last - text >= static_cast<ptrdiff_t>(transmit_fifo_depth)) {
      while ((*flags & flag_transmit_empty) == 0) {
      }
#pragma GCC unroll 16
      for (size_t i = 0; i < transmit_fifo_depth; ++i) *data = static_cast<uint8_t>(text[i]);
      text += transmit_fifo_depth;
    }
    // The rest and "\r\n" in one more FIFO, when they fit.
    if (end - text < static_cast<ptrdiff_t>(transmit_fifo_depth)) {
      while ((*flags & flag_transmit_empty) == 0) {
      }
      for (; text != last; ++text) *data = static_cast<uint8_t>(*text);
      if (*last == '\n') *data = '\r';
      *data = static_cast<uint8_t>(*last);
      return;
    }
  }
  for (; text != end; ++text) {
    const char c = *text;
    if (c == '\n') put('\r');
    while ((*flags & flag_transmit_full) != 0) {
    }
    *data = static_cast<uint8_t>(c);
  }
}

}  // namespace bulkhead::arch
