// The PL011 UART a partition sees (4 KiB window, ARM PrimeCell UART PL011 r1p5), emulated
// register by register so Linux's amba-pl011 driver probes and uses it with TX, RX and
// its interrupt. It touches no hardware: a transmitted byte is returned to the caller
// (for the console multiplexer), input arrives through receive(), and the target turns
// interrupt_line() into the level of the UART's (level-triggered) SPI in the vGIC.
//
// Simplifications, all invisible to Linux's driver:
// - TX: the FIFO is empty (FR.TXFE = 1, TXFF = 0, BUSY = 0, the TX interrupt) while the
//   console behind it offers at least a FIFO's worth (tx_fifo_depth) of room, and full
//   (TXFF | BUSY, TXFE and the TX interrupt clear) otherwise, as a full FIFO on a slow
//   line would be: a guest waits for room the way its driver waits on hardware
//   (set_transmit_room). A guest that was told the FIFO is empty may write a FIFO's worth
//   without looking (Linux's interrupt-driven TX writes half a FIFO per interrupt): the
//   console takes more than it offers. A DR write goes out while CR.UARTEN and CR.TXE are
//   set and the console takes it; otherwise it is discarded and counted (a real UART
//   would keep it in the FIFO until enabled, or overrun).
// - RX is a 32-entry FIFO whatever LCR_H.FEN says (FEN = 0 only lowers the RX trigger
//   level to one byte). Input arrives while CR.UARTEN and CR.RXE are set; input that
//   finds the receiver disabled or the FIFO full is dropped and counted. DR reads carry
//   no error bits; RSR reads as zero. Reading DR with the FIFO empty returns 0.
// - Interrupts are levels computed from the state, so an ICR write clears nothing that
//   the condition does not immediately re-assert (Linux's handler does not clear TX/RX/RT
//   through ICR anyway; it relies on the data movement):
//     TXRIS: the (empty) TX FIFO is at or below any IFLS level, i.e. set while UARTEN
//            and TXE are set and the FIFO reads empty. The driver enables TXIM only
//            while it has data.
//     RXRIS: the RX FIFO holds at least the IFLS RX trigger level (1 byte without FEN).
//     RTRIS: receive timeout, simplified to "the RX FIFO is not empty".
//   Modem-status and error interrupts never occur.
// - Modem lines: CTS, DSR and DCD read as asserted (a ready terminal on the other end),
//   so a tty without CLOCAL does not wait for carrier; RI reads as 0. Flow control, IrDA,
//   break, parity and word length are stored but have no effect.
// - CR.LBE (loopback) sends transmitted bytes into the RX FIFO instead of the console.
// - No DMA: DMACR is storage (the guest DT gives the UART no DMA channels).
// - Accesses: widths 1, 2 and 4 at 4-byte-aligned offsets reach a register, the value
//   zero-extended to 32 bits (the PL011 has no byte lanes); any other offset or width,
//   and every reserved offset, reads as zero and ignores writes.
//
// Identification: PeriphID0-3 = 0x11 0x10 0x34 0x00 (part 0x011, designer ARM 0x41,
// revision 3 = r1p5, which tells Linux the FIFOs are 32 deep) and PCellID0-3 = 0x0d 0xf0
// 0x05 0xb1, so Linux's AMBA bus matches the pl011 driver (id 0x00041011, mask 0x000fffff).
//
// Not thread-safe: the target serialises calls for one partition (its lock).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::console {

// Register offsets and bits (ARM DDI 0183, PrimeCell UART PL011 TRM).
namespace pl011 {
constexpr uint32_t dr = 0x000;
constexpr uint32_t rsr_ecr = 0x004;
constexpr uint32_t fr = 0x018;
constexpr uint32_t ilpr = 0x020;
constexpr uint32_t ibrd = 0x024;
constexpr uint32_t fbrd = 0x028;
constexpr uint32_t lcr_h = 0x02c;
constexpr uint32_t cr = 0x030;
constexpr uint32_t ifls = 0x034;
constexpr uint32_t imsc = 0x038;
constexpr uint32_t ris = 0x03c;
constexpr uint32_t mis = 0x040;
constexpr uint32_t icr = 0x044;
constexpr uint32_t dmacr = 0x048;
constexpr uint32_t periph_id0 = 0xfe0;  // PeriphID0..3 at +0, +4, +8, +0xc
constexpr uint32_t cell_id0 = 0xff0;    // PCellID0..3

constexpr uint32_t fr_cts = 1u << 0;
constexpr uint32_t fr_dsr = 1u << 1;
constexpr uint32_t fr_dcd = 1u << 2;
constexpr uint32_t fr_busy = 1u << 3;
constexpr uint32_t fr_rxfe = 1u << 4;
constexpr uint32_t fr_txff = 1u << 5;
constexpr uint32_t fr_rxff = 1u << 6;
constexpr uint32_t fr_txfe = 1u << 7;
constexpr uint32_t fr_ri = 1u << 8;

constexpr uint32_t cr_uarten = 1u << 0;
constexpr uint32_t cr_lbe = 1u << 7;
constexpr uint32_t cr_txe = 1u << 8;
constexpr uint32_t cr_rxe = 1u << 9;

constexpr uint32_t lcr_h_fen = 1u << 4;
constexpr uint32_t lcr_h_wlen_8 = 3u << 5;

// IMSC / RIS / MIS / ICR bit positions.
constexpr uint32_t int_rx = 1u << 4;
constexpr uint32_t int_tx = 1u << 5;
constexpr uint32_t int_rt = 1u << 6;

// Reset values (TRM): CR = TXE | RXE, IFLS = both levels at 1/2; everything else 0.
constexpr uint32_t cr_reset = cr_txe | cr_rxe;
constexpr uint32_t ifls_reset = 0x12;
}  // namespace pl011

// How the UART starts. A partition has no firmware to set its console up, so by default
// the UART starts the way boot firmware leaves a console: enabled, 8N1 with FIFOs,
// 115200 baud from the 24 MHz clock the guest DT declares. A bare-metal guest can then
// just write DR, and Linux's console setup without options reads a valid baud rate
// (it divides by the divisor when UARTEN is set, so UARTEN without IBRD/FBRD would be
// fatal). hardware_reset is the TRM's reset state.
enum class InitialState : uint8_t { hardware_reset, console_ready };

// What the console behind the UART takes now (the target's view of the partition's
// output queue). The default: no limit.
struct TransmitRoom {
  // Bytes the guest is invited to write: the TX FIFO reads empty while this is at least
  // VirtualPl011::tx_fifo_depth, full otherwise.
  size_t offered = SIZE_MAX;
  // Bytes it takes at most (offered plus what is kept for writers that do not look):
  // a DR write beyond them is lost and counted, as an overrun.
  size_t accepted = SIZE_MAX;
};

struct WriteResult {
  bool transmitted = false;  // `byte` goes to the partition's console
  uint8_t byte = 0;
};

class VirtualPl011 {
 public:
  static constexpr uint32_t window_size = 0x1000;
  static constexpr size_t rx_fifo_depth = 32;
  static constexpr size_t tx_fifo_depth = 32;
  // console_ready's divisor: 24 MHz / (16 * 115200) = 13 + 1/64.
  static constexpr uint32_t console_ibrd = 13;
  static constexpr uint32_t console_fbrd = 1;

  // Clears both FIFOs and the counters. A default-constructed UART is console_ready.
  void reset(InitialState state = InitialState::console_ready);

  // A guest access at `offset` (0..0xfff) of `width` bytes. Not const: DR reads pop.
  uint32_t read(uint32_t offset, unsigned width);
  WriteResult write(uint32_t offset, unsigned width, uint32_t value);

  // A byte for the partition (host side). False when it was dropped (receiver disabled
  // or FIFO full).
  bool receive(uint8_t byte);
  // Whether `count` bytes would all be taken now (or dropped by a disabled receiver, as
  // the hardware would). The target holds input back while this is false: flow control
  // instead of loss when someone types faster than the guest reads.
  bool can_receive(size_t count) const { return !enabled(pl011::cr_rxe) || rx_count_ + count <= rx_fifo_depth; }

  // What the console behind the UART takes now; every transmitted byte takes one from
  // both counts until the next call. The interrupt line may change: the target updates
  // the vGIC after calling this.
  void set_transmit_room(TransmitRoom room) { tx_room_ = room; }
  // The console takes nothing (true) or anything (false).
  void set_transmit_full(bool full) { tx_room_ = full ? TransmitRoom{0, 0} : TransmitRoom{}; }
  // FR.TXFF as the guest reads it.
  bool transmit_full() const { return tx_room_.offered < tx_fifo_depth; }

  uint32_t raw_interrupt_status() const;
  uint32_t masked_interrupt_status() const { return raw_interrupt_status() & imsc_; }
  // The level of the UART's SPI: MIS != 0.
  bool interrupt_line() const { return masked_interrupt_status() != 0; }

  size_t rx_level() const { return rx_count_; }
  uint64_t rx_dropped() const { return rx_dropped_; }
  uint64_t tx_discarded() const { return tx_discarded_; }

 private:
  bool enabled(uint32_t direction) const;
  size_t rx_trigger_level() const;
  uint32_t flags() const;
  uint32_t read_register(uint32_t offset);
  WriteResult write_register(uint32_t offset, uint32_t value);
  bool push_rx(uint8_t byte);

  // Defaults are the console_ready state, so a constinit UART needs no reset() call.
  uint32_t cr_ = pl011::cr_reset | pl011::cr_uarten;
  uint32_t lcr_h_ = pl011::lcr_h_wlen_8 | pl011::lcr_h_fen;
  uint32_t ibrd_ = console_ibrd;
  uint32_t fbrd_ = console_fbrd;
  uint32_t ilpr_ = 0;
  uint32_t ifls_ = pl011::ifls_reset;
  uint32_t imsc_ = 0;
  uint32_t dmacr_ = 0;

  uint8_t rx_fifo_[rx_fifo_depth] = {};
  size_t rx_head_ = 0;  // oldest byte
  size_t rx_count_ = 0;
  uint64_t rx_dropped_ = 0;
  uint64_t tx_discarded_ = 0;
  TransmitRoom tx_room_;
};

}  // namespace bulkhead::console
