#include "core/console/virtual_pl011.hpp"

namespace bulkhead::console {
namespace {
// Implemented bits of each storage register (TRM); the rest read as zero.
constexpr uint32_t cr_writable = 0xff87;  // bits 6:3 reserved
constexpr uint32_t lcr_h_writable = 0xff;
constexpr uint32_t ibrd_writable = 0xffff;
constexpr uint32_t fbrd_writable = 0x3f;
constexpr uint32_t ilpr_writable = 0xff;
constexpr uint32_t ifls_writable = 0x3f;
constexpr uint32_t imsc_writable = 0x7ff;
constexpr uint32_t dmacr_writable = 0x7;

// PeriphID0..3 then PCellID0..3, one byte per word.
constexpr uint8_t periph_id[4] = {0x11, 0x10, 0x34, 0x00};
constexpr uint8_t cell_id[4] = {0x0d, 0xf0, 0x05, 0xb1};

uint32_t width_mask(unsigned width) { return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1; }
}  // namespace

void VirtualPl011::reset(InitialState state) {
  *this = VirtualPl011{};  // console_ready, empty FIFO, zero counters
  if (state == InitialState::hardware_reset) {
    cr_ = pl011::cr_reset;
    lcr_h_ = 0;
    ibrd_ = 0;
    fbrd_ = 0;
  }
}

bool VirtualPl011::enabled(uint32_t direction) const {
  return (cr_ & pl011::cr_uarten) != 0 && (cr_ & direction) != 0;
}

size_t VirtualPl011::rx_trigger_level() const {
  if ((lcr_h_ & pl011::lcr_h_fen) == 0) return 1;  // FIFO off: the holding register
  switch ((ifls_ >> 3) & 7) {                      // RXIFLSEL: 1/8, 1/4, 1/2, 3/4, 7/8 full
    case 0: return rx_fifo_depth / 8;
    case 1: return rx_fifo_depth / 4;
    case 3: return rx_fifo_depth * 3 / 4;
    case 4: return rx_fifo_depth * 7 / 8;
    default: return rx_fifo_depth / 2;  // 2, and the reserved encodings
  }
}

uint32_t VirtualPl011::flags() const {
  uint32_t value = pl011::fr_cts | pl011::fr_dsr | pl011::fr_dcd;
  value |= transmit_full() ? pl011::fr_txff | pl011::fr_busy : pl011::fr_txfe;
  if (rx_count_ == 0) value |= pl011::fr_rxfe;
  if (rx_count_ == rx_fifo_depth) value |= pl011::fr_rxff;
  return value;
}

uint32_t VirtualPl011::raw_interrupt_status() const {
  uint32_t status = 0;
  if (enabled(pl011::cr_txe) && !transmit_full()) status |= pl011::int_tx;
  if (rx_count_ != 0 && rx_count_ >= rx_trigger_level()) status |= pl011::int_rx;
  if (rx_count_ != 0) status |= pl011::int_rt;
  return status;
}

bool VirtualPl011::push_rx(uint8_t byte) {
  if (rx_count_ == rx_fifo_depth) {
    ++rx_dropped_;
    return false;
  }
  rx_fifo_[(rx_head_ + rx_count_) % rx_fifo_depth] = byte;
  ++rx_count_;
  return true;
}

bool VirtualPl011::receive(uint8_t byte) {
  if (!enabled(pl011::cr_rxe)) {
    ++rx_dropped_;
    return false;
  }
  return push_rx(byte);
}

uint32_t VirtualPl011::read_register(uint32_t offset) {
  switch (offset) {
    case pl011::dr: {
      if (rx_count_ == 0) return 0;
      const uint8_t byte = rx_fifo_[rx_head_];
      rx_head_ = (rx_head_ + 1) % rx_fifo_depth;
      --rx_count_;
      return byte;  // error bits 11:8 are always clear
    }
    case pl011::fr: return flags();
    case pl011::ilpr: return ilpr_;
    case pl011::ibrd: return ibrd_;
    case pl011::fbrd: return fbrd_;
    case pl011::lcr_h: return lcr_h_;
    case pl011::cr: return cr_;
    case pl011::ifls: return ifls_;
    case pl011::imsc: return imsc_;
    case pl011::ris: return raw_interrupt_status();
    case pl011::mis: return masked_interrupt_status();
    case pl011::dmacr: return dmacr_;
    default: break;
  }
  if (offset >= pl011::periph_id0 && offset < pl011::periph_id0 + 16) return periph_id[(offset - pl011::periph_id0) / 4];
  if (offset >= pl011::cell_id0 && offset < pl011::cell_id0 + 16) return cell_id[(offset - pl011::cell_id0) / 4];
  return 0;  // RSR (no errors), ICR (write-only), reserved: RAZ
}

WriteResult VirtualPl011::write_register(uint32_t offset, uint32_t value) {
  switch (offset) {
    case pl011::dr: {
      const auto byte = static_cast<uint8_t>(value);
      if (!enabled(pl011::cr_txe) || (tx_room_.accepted == 0 && (cr_ & pl011::cr_lbe) == 0)) {
        ++tx_discarded_;
        return {};
      }
      if ((cr_ & pl011::cr_lbe) != 0) {  // loopback: back into our own receiver
        push_rx(byte);
        return {};
      }
      --tx_room_.accepted;
      if (tx_room_.offered != 0) --tx_room_.offered;
      return {true, byte};
    }
    case pl011::ilpr: ilpr_ = value & ilpr_writable; break;
    case pl011::ibrd: ibrd_ = value & ibrd_writable; break;
    case pl011::fbrd: fbrd_ = value & fbrd_writable; break;
    case pl011::lcr_h: lcr_h_ = value & lcr_h_writable; break;
    case pl011::cr: cr_ = value & cr_writable; break;
    case pl011::ifls: ifls_ = value & ifls_writable; break;
    case pl011::imsc: imsc_ = value & imsc_writable; break;
    case pl011::dmacr: dmacr_ = value & dmacr_writable; break;
    default: break;  // ECR (no errors to clear), ICR (every source is a level), read-only, reserved: WI
  }
  return {};
}

uint32_t VirtualPl011::read(uint32_t offset, unsigned width) {
  if ((width != 1 && width != 2 && width != 4) || (offset & 3) != 0 || offset >= window_size) return 0;
  return read_register(offset) & width_mask(width);
}

WriteResult VirtualPl011::write(uint32_t offset, unsigned width, uint32_t value) {
  if ((width != 1 && width != 2 && width != 4) || (offset & 3) != 0 || offset >= window_size) return {};
  return write_register(offset, value & width_mask(width));
}

}  // namespace bulkhead::console
