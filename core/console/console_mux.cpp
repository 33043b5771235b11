#include "core/console/console_mux.hpp"

namespace bulkhead::console {
namespace {
constexpr uint8_t escape_byte = 0x1b;
constexpr uint8_t backspace = 0x08;
}  // namespace

// Collects output in a small buffer so the physical console sees few, larger writes.
class ConsoleMux::Writer {
 public:
  explicit Writer(Sink* output) : output_(output) {}
  ~Writer() { flush(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void put(char c) {
    if (used_ == sizeof(buffer_)) flush();
    buffer_[used_++] = c;
  }
  void text(const char* text, size_t length) {
    for (size_t i = 0; i < length; ++i) put(text[i]);
  }
  void shown(uint8_t byte) {
    if (shown_as_is(byte)) {
      put(static_cast<char>(byte));
      return;
    }
    static constexpr char digits[] = "0123456789abcdef";
    put('\\');
    put('x');
    put(digits[byte >> 4]);
    put(digits[byte & 0xf]);
  }
  void flush() {
    if (output_ != nullptr && used_ != 0) output_->write(buffer_, used_);
    used_ = 0;
  }

 private:
  Sink* output_;
  char buffer_[128] = {};
  size_t used_ = 0;
};

bool ConsoleMux::attach(size_t partition, const char* name) {
  if (partition >= max_consoles || slots_[partition].attached || name == nullptr) return false;
  size_t length = 0;
  for (; name[length] != '\0'; ++length) {
    // Printable, no spaces: the focus fact stays one word per field.
    if (length == max_console_name || name[length] <= ' ' || name[length] > '~') return false;
  }
  if (length == 0) return false;
  Slot& slot = slots_[partition];
  slot = Slot{};
  slot.attached = true;
  slot.name_length = static_cast<uint8_t>(length);
  for (size_t i = 0; i < length; ++i) slot.name[i] = name[i];
  if (focus_ == InputRoute::nobody) focus_ = partition;
  return true;
}

void ConsoleMux::detach(size_t partition) {
  if (!attached(partition)) return;
  Writer out(output_);
  if (slots_[partition].used != 0 || open_ == partition) end_line(out, partition, false);
  slots_[partition] = Slot{};
  if (focus_ == partition) {
    focus_ = next_console(partition);
    announce_focus(out);
  }
}

void ConsoleMux::put(size_t partition, uint8_t byte) {
  if (!attached(partition)) return;
  Slot& slot = slots_[partition];
  // Drop ANSI sequences: ESC [ parameters/intermediates final, or ESC intermediates final.
  // A control byte inside one ends it and is handled normally.
  if (slot.escape != Escape::none && byte >= 0x20) {
    if (slot.escape == Escape::escape && byte == '[') {
      slot.escape = Escape::csi;
    } else if (byte >= 0x40 || (slot.escape == Escape::escape && byte >= 0x30)) {
      slot.escape = Escape::none;  // the final byte
    }
    return;
  }
  slot.escape = Escape::none;
  Writer out(output_);
  switch (byte) {
    case escape_byte: slot.escape = Escape::escape; break;
    case '\r': break;
    case '\n': end_line(out, partition, false); break;
    case backspace: erase_last(out, partition); break;
    default: append(out, partition, byte); break;
  }
}

void ConsoleMux::flush(size_t partition) {
  if (!attached(partition)) return;
  slots_[partition].escape = Escape::none;
  if (slots_[partition].used == 0 && open_ != partition) return;
  Writer out(output_);
  end_line(out, partition, false);
}

void ConsoleMux::write_line(const char* text, size_t length) {
  Writer out(output_);
  write_whole_line(out, text, length);
}

InputRoute ConsoleMux::input(uint8_t byte) {
  Writer out(output_);
  interactive_ = true;
  if (open_ == InputRoute::nobody) draw_live_line(out);  // e.g. a prompt waiting for its newline
  if (focus_key_pending_) {
    focus_key_pending_ = false;
    if (byte == focus_next) {
      focus_ = next_console(focus_);
      announce_focus(out);
      return {};
    }
    if (byte == focus_key) return deliver(focus_key, 0, 1);
    return deliver(focus_key, byte, 2);
  }
  if (byte == focus_key) {
    focus_key_pending_ = true;
    return {};
  }
  return deliver(byte, 0, 1);
}

void ConsoleMux::append(Writer& out, size_t partition, uint8_t byte) {
  Slot& slot = slots_[partition];
  if (slot.shown + shown_width(byte) > line_capacity) end_line(out, partition, true);
  slot.line[slot.used++] = byte;
  slot.shown += shown_width(byte);
  if (!live(partition)) return;
  if (open_ == partition) {
    out.shown(byte);
  } else {
    close_live_line(out);
    draw_live_line(out);
  }
}

void ConsoleMux::erase_last(Writer& out, size_t partition) {
  Slot& slot = slots_[partition];
  if (slot.used == 0) return;
  const uint8_t erased = slot.line[--slot.used];
  slot.shown -= shown_width(erased);
  if (open_ != partition) return;
  for (size_t i = 0; i < shown_width(erased); ++i) out.text("\b \b", 3);
}

void ConsoleMux::end_line(Writer& out, size_t partition, bool split) {
  Slot& slot = slots_[partition];
  if (open_ == partition) {  // already on screen up to here
    if (split) out.put(line_split_marker);
    out.put('\n');
    open_ = InputRoute::nobody;
    slot.used = 0;
    slot.shown = 0;
    return;
  }
  close_live_line(out);
  write_prefix_and_buffer(out, slot);
  if (split) out.put(line_split_marker);
  out.put('\n');
  slot.used = 0;
  slot.shown = 0;
  draw_live_line(out);
}

void ConsoleMux::write_whole_line(Writer& out, const char* text, size_t length) {
  close_live_line(out);
  out.text(text, length);
  if (length == 0 || text[length - 1] != '\n') out.put('\n');
  draw_live_line(out);
}

void ConsoleMux::close_live_line(Writer& out) {
  if (open_ == InputRoute::nobody) return;
  out.put('\n');
  open_ = InputRoute::nobody;
}

void ConsoleMux::draw_live_line(Writer& out) {
  if (open_ != InputRoute::nobody || !interactive_ || focus_ == InputRoute::nobody) return;
  const Slot& slot = slots_[focus_];
  if (slot.used == 0) return;
  write_prefix_and_buffer(out, slot);
  open_ = focus_;
}

void ConsoleMux::write_prefix_and_buffer(Writer& out, const Slot& slot) const {
  out.put('[');
  out.text(slot.name, slot.name_length);
  out.text("] ", 2);
  for (size_t i = 0; i < slot.used; ++i) out.shown(slot.line[i]);
}

void ConsoleMux::announce_focus(Writer& out) {
  FixedBuffer<64> line;
  format(line, "bulkhead: console focus {}\n", focus_ == InputRoute::nobody ? "none" : slots_[focus_].name);
  write_whole_line(out, line.c_str(), line.size());
}

size_t ConsoleMux::next_console(size_t after) const {
  const size_t start = after == InputRoute::nobody ? max_consoles - 1 : after;
  for (size_t step = 1; step <= max_consoles; ++step) {
    const size_t candidate = (start + step) % max_consoles;
    if (slots_[candidate].attached) return candidate;
  }
  return InputRoute::nobody;
}

InputRoute ConsoleMux::deliver(uint8_t first, uint8_t second, uint8_t count) const {
  InputRoute route;
  if (focus_ == InputRoute::nobody) return route;
  route.partition = focus_;
  route.count = count;
  route.bytes[0] = first;
  route.bytes[1] = second;
  return route;
}

}  // namespace bulkhead::console
