#include <doctest/doctest.h>

#include <string>

#include "core/console/virtual_pl011.hpp"

using namespace bulkhead::console;

namespace {
// The target keeps one per partition as a constinit global: no constructor may run.
constinit VirtualPl011 constinit_uart;

constexpr uint32_t fr_idle_empty = pl011::fr_cts | pl011::fr_dsr | pl011::fr_dcd | pl011::fr_rxfe | pl011::fr_txfe;

uint32_t read32(VirtualPl011& uart, uint32_t offset) { return uart.read(offset, 4); }

// Writes `text` to DR like a polling driver and returns what reached the console.
std::string transmit(VirtualPl011& uart, const std::string& text) {
  std::string sent;
  for (char c : text) {
    REQUIRE((read32(uart, pl011::fr) & pl011::fr_txff) == 0);
    const WriteResult result = uart.write(pl011::dr, 4, static_cast<uint8_t>(c));
    if (result.transmitted) sent += static_cast<char>(result.byte);
  }
  return sent;
}

// The AMBA bus's view: the low byte of the four words from `base`, little-endian.
uint32_t amba_id(VirtualPl011& uart, uint32_t base) {
  uint32_t id = 0;
  for (uint32_t i = 0; i < 4; ++i) id |= (read32(uart, base + 4 * i) & 0xff) << (8 * i);
  return id;
}

// What Linux's amba-pl011 driver does, step by step (drivers/tty/serial/amba-pl011.c):
// PIO only, the ARM vendor data (IFLS = RX 1/2 | TX 1/2, FIFO size from the revision).
struct SimulatedLinuxDriver {
  explicit SimulatedLinuxDriver(VirtualPl011& device) : uart(device) {}
  VirtualPl011& uart;
  uint32_t im = 0;  // the driver's shadow of IMSC
  std::string pending_tx;
  std::string console;   // what reached the console
  std::string received;  // what the tty got
  unsigned fifo_size = 0;

  bool probe() {
    const uint32_t periph_id = amba_id(uart, pl011::periph_id0);
    if (amba_id(uart, pl011::cell_id0) != 0xb105f00d || (periph_id & 0x000fffff) != 0x00041011) return false;
    fifo_size = ((periph_id >> 20) & 0xf) < 3 ? 16 : 32;  // r1p5 and later: 32 deep
    uart.write(pl011::imsc, 4, 0);
    uart.write(pl011::icr, 4, 0xffff);
    return true;
  }
  // pl011_console_get_options: the divisor is only read when UARTEN is set.
  uint32_t console_baud(uint32_t uartclk) {
    if ((read32(uart, pl011::cr) & pl011::cr_uarten) == 0) return 38400;
    return uartclk * 4 / (64 * read32(uart, pl011::ibrd) + read32(uart, pl011::fbrd));
  }
  void startup() {
    uart.write(pl011::icr, 4, 0x7f0 & ~pl011::int_tx);  // hwinit: errors, RT, RX
    im = read32(uart, pl011::imsc);
    uart.write(pl011::imsc, 4, pl011::int_rt | pl011::int_rx);
    uart.write(pl011::imsc, 4, im);  // request_irq
    uart.write(pl011::ifls, 4, 0x12);
    uint32_t cr = read32(uart, pl011::cr) & ((1u << 11) | (1u << 10));  // keep RTS, DTR
    uart.write(pl011::cr, 4, cr | pl011::cr_uarten | pl011::cr_rxe | pl011::cr_txe);
    uart.write(pl011::icr, 4, pl011::int_rt | pl011::int_rx);
    for (unsigned i = 0; i < fifo_size * 2 && (read32(uart, pl011::fr) & pl011::fr_rxfe) == 0; ++i) {
      read32(uart, pl011::dr);
    }
    im = pl011::int_rt | pl011::int_rx;
    uart.write(pl011::imsc, 4, im);
  }
  void set_termios_115200_8n1(uint32_t uartclk) {
    const uint32_t quot = (uartclk * 4 + 115200 / 2) / 115200;
    uart.write(pl011::fbrd, 4, quot & 0x3f);
    uart.write(pl011::ibrd, 4, quot >> 6);
    uart.write(pl011::lcr_h, 4, pl011::lcr_h_wlen_8 | pl011::lcr_h_fen);
    uart.write(pl011::cr, 4, read32(uart, pl011::cr) | pl011::cr_rxe);
  }
  void stop_tx() {
    im &= ~pl011::int_tx;
    uart.write(pl011::imsc, 4, im);
  }
  void put_char(char c) {
    const WriteResult result = uart.write(pl011::dr, 4, static_cast<uint8_t>(c));
    if (result.transmitted) console += static_cast<char>(result.byte);
  }
  // pl011_tx_chars: from the IRQ, fifo_size/2 bytes without looking at TXFF.
  bool tx_chars(bool from_irq) {
    int count = static_cast<int>(fifo_size / 2);
    while (!pending_tx.empty()) {
      if (from_irq && count-- == 0) break;
      if (!from_irq && (read32(uart, pl011::fr) & pl011::fr_txff) != 0) break;
      put_char(pending_tx.front());
      pending_tx.erase(0, 1);
    }
    if (pending_tx.empty()) {
      stop_tx();
      return false;
    }
    return true;
  }
  void start_tx(const std::string& text) {
    pending_tx += text;
    if (tx_chars(false)) {
      im |= pl011::int_tx;
      uart.write(pl011::imsc, 4, im);
    }
  }
  // pl011_int: loops while RIS & im; never clears TX/RT/RX through ICR.
  unsigned interrupt() {
    unsigned passes = 0;
    uint32_t status = read32(uart, pl011::ris) & im;
    while (status != 0 && passes < 256) {
      ++passes;
      uart.write(pl011::icr, 4, status & ~(pl011::int_tx | pl011::int_rt | pl011::int_rx));
      if ((status & (pl011::int_rt | pl011::int_rx)) != 0) {
        for (int i = 0; i < 256 && (read32(uart, pl011::fr) & pl011::fr_rxfe) == 0; ++i) {
          received += static_cast<char>(read32(uart, pl011::dr) & 0xff);
        }
      }
      if ((status & pl011::int_tx) != 0) tx_chars(true);
      status = read32(uart, pl011::ris) & im;
    }
    return passes;
  }
  void shutdown() {
    im = 0;
    uart.write(pl011::imsc, 4, im);
    uart.write(pl011::icr, 4, 0xffff);
    uint32_t cr = read32(uart, pl011::cr) & ((1u << 11) | (1u << 10));
    uart.write(pl011::cr, 4, cr | pl011::cr_uarten | pl011::cr_txe);
  }
};
}  // namespace

TEST_CASE("virtual pl011: hardware reset values") {
  VirtualPl011 uart;
  uart.reset(InitialState::hardware_reset);
  CHECK(read32(uart, pl011::cr) == 0x300);
  CHECK(read32(uart, pl011::lcr_h) == 0);
  CHECK(read32(uart, pl011::ibrd) == 0);
  CHECK(read32(uart, pl011::fbrd) == 0);
  CHECK(read32(uart, pl011::ilpr) == 0);
  CHECK(read32(uart, pl011::ifls) == 0x12);
  CHECK(read32(uart, pl011::imsc) == 0);
  CHECK(read32(uart, pl011::dmacr) == 0);
  CHECK(read32(uart, pl011::rsr_ecr) == 0);
  CHECK(read32(uart, pl011::fr) == fr_idle_empty);
  CHECK(read32(uart, pl011::ris) == 0);  // UARTEN off: no TX interrupt either
  CHECK(read32(uart, pl011::mis) == 0);
  CHECK_FALSE(uart.interrupt_line());
}

TEST_CASE("virtual pl011: starts console-ready, as firmware leaves a console") {
  VirtualPl011 uart;
  CHECK(read32(uart, pl011::cr) == (pl011::cr_uarten | pl011::cr_txe | pl011::cr_rxe));
  CHECK(read32(uart, pl011::lcr_h) == 0x70);  // 8 bits, FIFOs on
  CHECK(read32(uart, pl011::ibrd) == 13);
  CHECK(read32(uart, pl011::fbrd) == 1);
  CHECK(read32(uart, pl011::ris) == pl011::int_tx);
  CHECK_FALSE(uart.interrupt_line());  // nothing unmasked
  // reset() with the default gives the same state back, FIFO and counters cleared.
  CHECK(uart.receive('x'));
  uart.write(pl011::cr, 4, 0);
  uart.reset();
  CHECK(read32(uart, pl011::cr) == 0x301);
  CHECK(uart.rx_level() == 0);
  CHECK(uart.rx_dropped() == 0);
  CHECK(read32(constinit_uart, pl011::cr) == 0x301);
}

TEST_CASE("virtual pl011: identification registers as a PL011 r1p5 reports them") {
  VirtualPl011 uart;
  const uint8_t expected[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
  for (uint32_t i = 0; i < 8; ++i) {
    CHECK(read32(uart, 0xfe0 + 4 * i) == expected[i]);
    CHECK(uart.read(0xfe0 + 4 * i, 1) == expected[i]);
  }
  CHECK(amba_id(uart, pl011::periph_id0) == 0x00341011);
  CHECK((amba_id(uart, pl011::periph_id0) & 0x000fffff) == 0x00041011);  // Linux's pl011 match
  CHECK(amba_id(uart, pl011::cell_id0) == 0xb105f00d);
  uart.write(0xfe0, 4, 0xff);  // read-only
  CHECK(read32(uart, 0xfe0) == 0x11);
}

TEST_CASE("virtual pl011: storage registers keep their implemented bits") {
  VirtualPl011 uart;
  uart.write(pl011::ibrd, 4, 0xffffffff);
  uart.write(pl011::fbrd, 4, 0xffffffff);
  uart.write(pl011::lcr_h, 4, 0xffffffff);
  uart.write(pl011::ifls, 4, 0xffffffff);
  uart.write(pl011::imsc, 4, 0xffffffff);
  uart.write(pl011::dmacr, 4, 0xffffffff);
  uart.write(pl011::ilpr, 4, 0xffffffff);
  uart.write(pl011::cr, 4, 0xffffffff);
  CHECK(read32(uart, pl011::ibrd) == 0xffff);
  CHECK(read32(uart, pl011::fbrd) == 0x3f);
  CHECK(read32(uart, pl011::lcr_h) == 0xff);
  CHECK(read32(uart, pl011::ifls) == 0x3f);
  CHECK(read32(uart, pl011::imsc) == 0x7ff);
  CHECK(read32(uart, pl011::dmacr) == 0x7);
  CHECK(read32(uart, pl011::ilpr) == 0xff);
  CHECK(read32(uart, pl011::cr) == 0xff87);
  // Read-only and write-only registers ignore writes.
  uart.write(pl011::fr, 4, 0);
  uart.write(pl011::ris, 4, 0);
  uart.write(pl011::mis, 4, 0);
  CHECK(read32(uart, pl011::fr) == fr_idle_empty);
  CHECK(read32(uart, pl011::icr) == 0);
}

TEST_CASE("virtual pl011: access widths, alignment and reserved offsets") {
  VirtualPl011 uart;
  CHECK(uart.read(pl011::fr, 1) == (fr_idle_empty & 0xff));
  CHECK(uart.read(pl011::fr, 2) == fr_idle_empty);
  CHECK(uart.read(pl011::fr + 1, 1) == 0);   // unaligned: RAZ
  CHECK(uart.read(pl011::ibrd, 8) == 0);     // no 64-bit accesses
  CHECK(uart.read(pl011::ibrd, 3) == 0);
  CHECK(uart.read(0x100, 4) == 0);           // reserved
  CHECK(uart.read(0x1000, 4) == 0);          // outside the window
  // A byte write reaches the whole register, zero-extended (no byte lanes).
  uart.write(pl011::cr, 1, 0x81);
  CHECK(read32(uart, pl011::cr) == 0x81);
  uart.write(pl011::cr, 4, 0x301);
  uart.write(pl011::cr + 1, 1, 0);  // unaligned: WI
  uart.write(pl011::cr, 8, 0);      // bad width: WI
  uart.write(0x100, 4, 0xffffffff);
  CHECK(read32(uart, pl011::cr) == 0x301);
  CHECK(read32(uart, 0x100) == 0);
  // DR by byte, as earlycon with mmio (8-bit) does it.
  const WriteResult sent = uart.write(pl011::dr, 1, 'k');
  CHECK(sent.transmitted);
  CHECK(sent.byte == 'k');
}

TEST_CASE("virtual pl011: TX reaches the console only while UARTEN and TXE are set") {
  VirtualPl011 uart;
  CHECK(transmit(uart, "hello\n") == "hello\n");
  CHECK(uart.tx_discarded() == 0);

  uart.reset(InitialState::hardware_reset);  // TXE but not UARTEN
  CHECK(transmit(uart, "lost") == "");
  CHECK(uart.tx_discarded() == 4);
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_rxe);  // TXE off
  CHECK(transmit(uart, "x") == "");
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_txe);
  CHECK(transmit(uart, "ok") == "ok");
  CHECK(uart.tx_discarded() == 5);
  // The upper bits of a DR write (a 32-bit store of a char) do not matter.
  CHECK(uart.write(pl011::dr, 4, 0xffffff41).byte == 0x41);
}

TEST_CASE("virtual pl011: TX never blocks while the console has room: TXFF and BUSY stay clear") {
  VirtualPl011 uart;
  for (int i = 0; i < 1000; ++i) uart.write(pl011::dr, 4, 'a');
  const uint32_t flags = read32(uart, pl011::fr);
  CHECK((flags & pl011::fr_txff) == 0);
  CHECK((flags & pl011::fr_busy) == 0);
  CHECK((flags & pl011::fr_txfe) != 0);
  CHECK((flags & pl011::fr_ri) == 0);
}

TEST_CASE("virtual pl011: a full console reads as a full TX FIFO, and room brings the TX interrupt back") {
  VirtualPl011 uart;
  uart.write(pl011::imsc, 4, pl011::int_tx);
  REQUIRE(uart.interrupt_line());
  uart.set_transmit_full(true);
  const uint32_t flags = read32(uart, pl011::fr);
  CHECK((flags & pl011::fr_txff) != 0);
  CHECK((flags & pl011::fr_busy) != 0);
  CHECK((flags & pl011::fr_txfe) == 0);
  CHECK((read32(uart, pl011::ris) & pl011::int_tx) == 0);
  CHECK_FALSE(uart.interrupt_line());
  // A driver that writes anyway overruns: the byte is lost and counted, as on hardware.
  CHECK_FALSE(uart.write(pl011::dr, 4, 'x').transmitted);
  CHECK(uart.tx_discarded() == 1);
  uart.set_transmit_full(false);
  CHECK(uart.interrupt_line());
  CHECK(read32(uart, pl011::fr) == fr_idle_empty);
  CHECK(transmit(uart, "ok") == "ok");
}

TEST_CASE("virtual pl011: the FIFO reads empty only while a FIFO's worth is offered, and what is accepted beyond goes out") {
  VirtualPl011 uart;
  uart.write(pl011::imsc, 4, pl011::int_tx);
  uart.set_transmit_room({.offered = VirtualPl011::tx_fifo_depth, .accepted = 40});
  CHECK(read32(uart, pl011::fr) == fr_idle_empty);
  CHECK(uart.interrupt_line());
  CHECK(uart.write(pl011::dr, 4, 'a').transmitted);
  // 31 offered: the FIFO reads full, as it would with one byte short of a FIFO's worth.
  CHECK((read32(uart, pl011::fr) & (pl011::fr_txff | pl011::fr_busy | pl011::fr_txfe)) ==
        (pl011::fr_txff | pl011::fr_busy));
  CHECK_FALSE(uart.interrupt_line());
  CHECK(uart.transmit_full());
  // A writer that does not look (it was told the FIFO is empty) still gets its bytes out.
  for (int i = 1; i < 40; ++i) CHECK(uart.write(pl011::dr, 4, 'b').transmitted);
  CHECK(uart.tx_discarded() == 0);
  CHECK_FALSE(uart.write(pl011::dr, 4, 'c').transmitted);  // beyond what the console takes: an overrun
  CHECK(uart.tx_discarded() == 1);
  uart.set_transmit_room({.offered = VirtualPl011::tx_fifo_depth - 1, .accepted = 100});
  CHECK(uart.transmit_full());
  uart.set_transmit_room({});
  CHECK(read32(uart, pl011::fr) == fr_idle_empty);
}

TEST_CASE("virtual pl011: loopback needs no console room") {
  VirtualPl011 uart;
  uart.set_transmit_full(true);
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_txe | pl011::cr_rxe | pl011::cr_lbe);
  uart.write(pl011::dr, 4, 'L');
  CHECK(uart.rx_level() == 1);
  CHECK(uart.tx_discarded() == 0);
}

TEST_CASE("virtual pl011: RX FIFO order, RXFE/RXFF and overflow") {
  VirtualPl011 uart;
  CHECK(read32(uart, pl011::dr) == 0);  // empty: reads as zero
  for (char c : std::string("abc")) CHECK(uart.receive(static_cast<uint8_t>(c)));
  CHECK((read32(uart, pl011::fr) & pl011::fr_rxfe) == 0);
  CHECK(uart.read(pl011::dr, 4) == 'a');  // no error bits
  CHECK(uart.read(pl011::dr, 1) == 'b');
  CHECK(uart.read(pl011::dr, 4) == 'c');
  CHECK((read32(uart, pl011::fr) & pl011::fr_rxfe) != 0);

  for (uint32_t i = 0; i < 30; ++i) uart.receive(static_cast<uint8_t>(i));
  CHECK(uart.can_receive(2));  // room for a whole focus-key pair
  CHECK_FALSE(uart.can_receive(3));
  for (uint32_t i = 30; i < 40; ++i) uart.receive(static_cast<uint8_t>(i));
  CHECK_FALSE(uart.can_receive(1));
  CHECK(uart.rx_level() == VirtualPl011::rx_fifo_depth);
  CHECK(uart.rx_dropped() == 8);
  CHECK((read32(uart, pl011::fr) & pl011::fr_rxff) != 0);
  CHECK_FALSE(uart.receive('z'));
  CHECK(uart.rx_dropped() == 9);
  for (uint32_t i = 0; i < VirtualPl011::rx_fifo_depth; ++i) CHECK(read32(uart, pl011::dr) == i);  // the first 32, in order
  CHECK((read32(uart, pl011::fr) & (pl011::fr_rxff | pl011::fr_rxfe)) == pl011::fr_rxfe);
  // The FIFO wraps around.
  for (char c : std::string("wrap")) uart.receive(static_cast<uint8_t>(c));
  std::string got;
  while ((read32(uart, pl011::fr) & pl011::fr_rxfe) == 0) got += static_cast<char>(read32(uart, pl011::dr));
  CHECK(got == "wrap");
}

TEST_CASE("virtual pl011: input is dropped while the receiver is disabled") {
  VirtualPl011 uart;
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_txe);
  CHECK(uart.can_receive(100));  // taken, and dropped: nothing to wait for
  CHECK_FALSE(uart.receive('a'));
  uart.reset(InitialState::hardware_reset);  // RXE but not UARTEN
  CHECK_FALSE(uart.receive('a'));
  CHECK(uart.rx_dropped() == 1);
  CHECK(uart.rx_level() == 0);
}

TEST_CASE("virtual pl011: loopback sends transmitted bytes to the receiver") {
  VirtualPl011 uart;
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_txe | pl011::cr_rxe | pl011::cr_lbe);
  CHECK(transmit(uart, "lo") == "");
  CHECK(read32(uart, pl011::dr) == 'l');
  CHECK(read32(uart, pl011::dr) == 'o');
}

TEST_CASE("virtual pl011: TX interrupt is a level while the transmitter is enabled") {
  VirtualPl011 uart;
  CHECK(read32(uart, pl011::ris) == pl011::int_tx);
  uart.write(pl011::imsc, 4, pl011::int_tx);
  CHECK(read32(uart, pl011::mis) == pl011::int_tx);
  CHECK(uart.interrupt_line());
  uart.write(pl011::icr, 4, pl011::int_tx);  // re-asserts at once: the FIFO is still empty
  CHECK(uart.interrupt_line());
  uart.write(pl011::imsc, 4, 0);  // how Linux stops it
  CHECK_FALSE(uart.interrupt_line());
  uart.write(pl011::imsc, 4, pl011::int_tx);
  uart.write(pl011::cr, 4, pl011::cr_uarten | pl011::cr_rxe);  // TXE off
  CHECK(read32(uart, pl011::ris) == 0);
  CHECK_FALSE(uart.interrupt_line());
}

TEST_CASE("virtual pl011: RX and receive-timeout interrupts follow the FIFO level") {
  VirtualPl011 uart;
  uart.write(pl011::imsc, 4, pl011::int_rx | pl011::int_rt);
  CHECK_FALSE(uart.interrupt_line());
  uart.receive('a');
  CHECK(read32(uart, pl011::ris) == (pl011::int_tx | pl011::int_rt));  // below the 1/2 trigger
  CHECK(read32(uart, pl011::mis) == pl011::int_rt);
  CHECK(uart.interrupt_line());
  uart.write(pl011::icr, 4, pl011::int_rt | pl011::int_rx);  // the data is still there
  CHECK(uart.interrupt_line());
  for (int i = 1; i < 16; ++i) uart.receive('b');
  CHECK(read32(uart, pl011::mis) == (pl011::int_rt | pl011::int_rx));  // 16 = 1/2 of 32
  read32(uart, pl011::dr);
  CHECK(read32(uart, pl011::mis) == pl011::int_rt);
  uart.write(pl011::imsc, 4, pl011::int_rx);
  CHECK_FALSE(uart.interrupt_line());
  // Trigger levels: 1/8 = 4 bytes; without FIFOs one byte.
  uart.reset();
  uart.write(pl011::ifls, 4, 0 << 3);
  uart.write(pl011::imsc, 4, pl011::int_rx);
  for (int i = 0; i < 3; ++i) uart.receive('c');
  CHECK_FALSE(uart.interrupt_line());
  uart.receive('c');
  CHECK(uart.interrupt_line());
  uart.write(pl011::ifls, 4, 4u << 3);  // 7/8 = 28
  CHECK_FALSE(uart.interrupt_line());
  uart.write(pl011::lcr_h, 4, pl011::lcr_h_wlen_8);  // FEN off
  CHECK(uart.interrupt_line());
  while ((read32(uart, pl011::fr) & pl011::fr_rxfe) == 0) read32(uart, pl011::dr);
  CHECK_FALSE(uart.interrupt_line());
  CHECK(read32(uart, pl011::ris) == pl011::int_tx);
}

TEST_CASE("virtual pl011: Linux's amba-pl011 driver sequence") {
  constexpr uint32_t uartclk = 24000000;  // the guest DT's apb-pclk
  VirtualPl011 uart;
  SimulatedLinuxDriver linux_driver(uart);
  REQUIRE(linux_driver.probe());
  CHECK(linux_driver.fifo_size == 32);
  CHECK(linux_driver.console_baud(uartclk) == 115246);  // within 0.04% of 115200
  CHECK_FALSE(uart.interrupt_line());

  // printk before the tty opens: the console polls TXFF and writes DR.
  for (char c : std::string("[    0.000000] Booting Linux\n")) linux_driver.put_char(c);
  CHECK(linux_driver.console == "[    0.000000] Booting Linux\n");
  CHECK_FALSE(uart.interrupt_line());
  linux_driver.console.clear();

  // Input typed before the port opened is drained by startup.
  uart.receive('?');
  linux_driver.startup();
  linux_driver.set_termios_115200_8n1(uartclk);
  CHECK(uart.rx_level() == 0);
  CHECK(read32(uart, pl011::imsc) == (pl011::int_rt | pl011::int_rx));
  CHECK_FALSE(uart.interrupt_line());

  // start_tx writes until TXFF, which never comes: everything goes out at once and TXIM
  // is never left enabled.
  linux_driver.start_tx(std::string(100, 'x'));
  CHECK(linux_driver.console == std::string(100, 'x'));
  CHECK((read32(uart, pl011::imsc) & pl011::int_tx) == 0);
  CHECK_FALSE(uart.interrupt_line());
  linux_driver.console.clear();

  // If TXIM is left on with data queued (e.g. after flow control), the level interrupt
  // drives the IRQ path: 16 bytes per pass until the queue is empty, then TXIM goes off.
  linux_driver.pending_tx = std::string(40, 'y');
  linux_driver.im |= pl011::int_tx;
  uart.write(pl011::imsc, 4, linux_driver.im);
  CHECK(uart.interrupt_line());
  CHECK(linux_driver.interrupt() == 3);
  CHECK(linux_driver.console == std::string(40, 'y'));
  CHECK_FALSE(uart.interrupt_line());

  // Keyboard input: a few bytes raise RT, a burst raises RX too; the handler drains both.
  for (char c : std::string("ls\r")) uart.receive(static_cast<uint8_t>(c));
  CHECK(uart.interrupt_line());
  CHECK(linux_driver.interrupt() == 1);
  CHECK(linux_driver.received == "ls\r");
  CHECK_FALSE(uart.interrupt_line());
  const std::string paste(20, 'p');
  for (char c : paste) uart.receive(static_cast<uint8_t>(c));
  CHECK(read32(uart, pl011::mis) == (pl011::int_rt | pl011::int_rx));
  linux_driver.interrupt();
  CHECK(linux_driver.received == "ls\r" + paste);
  CHECK_FALSE(uart.interrupt_line());

  // Shutdown masks everything and turns the receiver off; the console can still print.
  linux_driver.shutdown();
  CHECK_FALSE(uart.receive('q'));
  CHECK_FALSE(uart.interrupt_line());
  linux_driver.console.clear();
  linux_driver.put_char('!');
  CHECK(linux_driver.console == "!");
}
