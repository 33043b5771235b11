// One physical console shared by the partitions. Each partition's output appears line by
// line, every line prefixed `[NAME] `; lines of different partitions (and hypervisor
// lines) never share a physical line. Input from the physical UART goes to the focused
// partition; Ctrl-T then `n` moves the focus to the next partition with a console.
//
// Output of a partition (put):
// - Bytes collect in the partition's line buffer (line_capacity characters as shown,
//   `\xHH` counting four). `\n` emits the line whole: `[NAME] text\n`. A line that
//   outgrows the buffer is emitted with a trailing `\` (line_split_marker) and continues
//   on the next `[NAME] ` line.
// - `\r` is dropped. Backspace (0x08) erases the last buffered byte (line editors echo
//   "\b \b"). ANSI escape sequences (ESC [ ... final, ESC x) are dropped whole. Other
//   control bytes and bytes >= 0x7f are shown as `\xHH`: no partition can move the cursor
//   or overwrite another partition's prefix. Tabs pass through.
// - flush() emits a partial line (a partition stopping or resetting).
//
// Interactive echo: a shell prompt has no newline, so in pure line mode it would stay
// invisible. Once someone types (the first input() byte), the focused partition's
// partial line is shown live: its prefix and bytes go out as they come. When another
// line must be written meanwhile, the live line is ended with `\n` first, the other line
// follows, and the live line is redrawn (prefix and everything buffered so far), so
// every complete line still appears whole on one physical line. Without input (scripted
// runs) the output is strictly whole lines.
//
// Hypervisor lines: ConsoleMux is a log::LineSink. Installed as log output
// (log::set_output) while partitions run, facts take the same path as partition lines.
//
// Thread safety: no lock inside. The target runs it only in the console's drainer (one
// CPU at a time, under the drain lock: core/console/output_queues.hpp), which feeds it
// what the partitions and the hypervisor queued. The output Sink must not log. The mux
// never calls log:: itself, so nothing re-enters.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/format.hpp"
#include "core/lib/log.hpp"

namespace bulkhead::console {

constexpr size_t max_consoles = 8;       // one per partition (partitions::max_partitions)
constexpr size_t max_console_name = 15;  // partition names: [a-z0-9-]{1,15}
constexpr size_t line_capacity = 200;    // characters of a partition's line before it is split
constexpr char line_split_marker = '\\';

// Characters a byte of partition output takes on the physical console: itself (printable
// ASCII and tab), or `\xHH`.
constexpr bool shown_as_is(uint8_t byte) { return (byte >= 0x20 && byte < 0x7f) || byte == '\t'; }
constexpr size_t shown_width(uint8_t byte) { return shown_as_is(byte) ? 1 : 4; }

// The focus key: Ctrl-T, then `n`. Not Ctrl-A (QEMU -nographic's and screen's escape),
// not Ctrl-] (telnet's and virsh console's). Ctrl-T Ctrl-T sends one Ctrl-T; Ctrl-T and
// any other byte send both bytes.
constexpr uint8_t focus_key = 0x14;
constexpr uint8_t focus_next = 'n';
constexpr const char* focus_key_name = "ctrl-t n";

// Where input() wants bytes to go: VirtualPl011::receive of `partition`, in order.
struct InputRoute {
  static constexpr size_t nobody = max_consoles;
  size_t partition = nobody;
  uint8_t count = 0;
  uint8_t bytes[2] = {};
};

class ConsoleMux final : public log::LineSink {
 public:
  // The physical console (raw bytes; `\n` ends a line). nullptr discards output.
  void set_output(Sink* output) { output_ = output; }

  // Gives partition `partition` (0..max_consoles-1) a console named `name` (1..15
  // printable characters). The first console attached takes the focus. False when the
  // index or name is invalid or the partition already has a console.
  bool attach(size_t partition, const char* name);
  // Flushes and removes the console (the partition is gone for good). If it had the
  // focus, the focus moves on and is announced.
  void detach(size_t partition);
  bool attached(size_t partition) const { return partition < max_consoles && slots_[partition].attached; }

  // A byte the partition transmitted. Ignored for partitions without a console.
  void put(size_t partition, uint8_t byte);
  // Emits the partition's partial line, if any.
  void flush(size_t partition);

  // A complete hypervisor line (with its trailing newline), e.g. from log::fact.
  void write_line(const char* text, size_t length) override;

  // A byte from the physical UART: the focus key sequence, or bytes for the focused
  // partition. A focus change is announced as `bulkhead: console focus NAME` (or
  // `none`).
  InputRoute input(uint8_t byte);
  // The focused partition, or InputRoute::nobody when no partition has a console.
  size_t focused() const { return focus_; }

 private:
  enum class Escape : uint8_t { none, escape, csi };
  struct Slot {
    bool attached = false;
    uint8_t name_length = 0;
    char name[max_console_name + 1] = {};
    Escape escape = Escape::none;
    size_t used = 0;
    size_t shown = 0;  // characters `line` takes on the console (shown_width)
    uint8_t line[line_capacity] = {};
  };

  class Writer;  // batches bytes for the output Sink; one per public call
  bool live(size_t partition) const { return interactive_ && partition == focus_; }
  void append(Writer& out, size_t partition, uint8_t byte);
  void erase_last(Writer& out, size_t partition);
  void end_line(Writer& out, size_t partition, bool split);
  void write_whole_line(Writer& out, const char* text, size_t length);
  void close_live_line(Writer& out);
  void draw_live_line(Writer& out);
  void write_prefix_and_buffer(Writer& out, const Slot& slot) const;
  void announce_focus(Writer& out);
  size_t next_console(size_t after) const;
  InputRoute deliver(uint8_t first, uint8_t second, uint8_t count) const;

  Sink* output_ = nullptr;
  Slot slots_[max_consoles] = {};
  size_t focus_ = InputRoute::nobody;
  size_t open_ = InputRoute::nobody;  // whose live line is partly on screen
  bool interactive_ = false;          // someone has typed: the focused partition echoes live
  bool focus_key_pending_ = false;
};

}  // namespace bulkhead::console
