#include "core/lib/format.hpp"

namespace bulkhead {
namespace {

constexpr char digit_chars[] = "0123456789abcdef";

// Digits are produced from the last one, into the end of the buffer: no reversal. The
// base is a constant in each instance, so no division instruction is needed. `Out` is
// Sink, or a FixedBuffer (no virtual call per piece of a log line).
template <unsigned Base, typename Out>
void write_digits(Out& out, uint64_t value, unsigned min_digits) {
  if constexpr (Base == 16 && !std::is_same_v<Out, Sink>) {
    // Straight into a log line: the count of hex digits is known from the top set bit.
    unsigned count = value == 0 ? 1 : (64 - static_cast<unsigned>(__builtin_clzll(value)) + 3) / 4;
    if (count < min_digits) count = min_digits < 24 ? min_digits : 24;
    if (char* at = out.append_uninitialised(count)) {
      for (unsigned i = count; i-- > 0; value >>= 4) at[i] = digit_chars[value & 0xf];
      return;
    }
  }
  char digits[24];
  size_t first = sizeof(digits);
  do {
    digits[--first] = digit_chars[value % Base];
    value /= Base;
  } while (value != 0 && first != 0);
  while (sizeof(digits) - first < min_digits && first != 0) digits[--first] = '0';
  out.write(digits + first, sizeof(digits) - first);
}

size_t c_string_length(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  return n;
}

template <typename Out>
void write_arg(Out& out, const FormatArg& arg) {
  switch (arg.kind) {
    case FormatArg::Kind::signed_int:
      if (arg.s < 0) {
        out.write("-", 1);
        write_digits<10>(out, 0 - static_cast<uint64_t>(arg.s), 1);
      } else {
        write_digits<10>(out, static_cast<uint64_t>(arg.s), 1);
      }
      break;
    case FormatArg::Kind::unsigned_int: write_digits<10>(out, arg.u, 1); break;
    case FormatArg::Kind::hex:
      out.write("0x", 2);
      write_digits<16>(out, arg.u, arg.digits);
      break;
    case FormatArg::Kind::plain_hex: write_digits<16>(out, arg.u, arg.digits); break;
    case FormatArg::Kind::c_string:
      if (arg.str == nullptr) out.write("(null)", 6); else out.write(arg.str, c_string_length(arg.str));
      break;
    case FormatArg::Kind::text: out.write(arg.str, arg.length); break;
    case FormatArg::Kind::boolean: arg.u ? out.write("yes", 3) : out.write("no", 2); break;
  }
}

// The next "{}" at or after `from` (formats always have one there: the compiler counted).
const char* find_hole(const char* from, const char* end) {
  for (; from + 1 < end; ++from) {
    if (from[0] == '{' && from[1] == '}') return from;
  }
  return end;
}

// The text between placeholders is copied in runs, found by the layout (detail::format_layout()).
template <typename Out>
void format_to(Out& out, const char* format, uint64_t layout, const FormatArg* args, size_t count) {
  const char* end = format + (layout & ((uint64_t{1} << detail::layout_length_bits) - 1));
  uint64_t holes = layout >> detail::layout_length_bits;
  const char* run = format;
  for (size_t next = 0; next < count; ++next) {
    const uint64_t offset = holes & 0xff;
    const char* hole = next < detail::layout_holes && offset != detail::layout_unknown_hole ? format + offset
                                                                                           : find_hole(run, end);
    holes >>= 8;
    if (hole == end) break;
    out.write(run, static_cast<size_t>(hole - run));
    write_arg(out, args[next]);
    run = hole + 2;
  }
  out.write(run, static_cast<size_t>(end - run));
}

}  // namespace

void vformat(Sink& sink, const char* format, uint64_t layout, const FormatArg* args, size_t count) {
  format_to(sink, format, layout, args, count);
}

template <size_t N>
void vformat(FixedBuffer<N>& buffer, const char* format, uint64_t layout, const FormatArg* args, size_t count) {
  format_to(buffer, format, layout, args, count);
}
template void vformat<log_line_capacity>(FixedBuffer<log_line_capacity>&, const char*, uint64_t, const FormatArg*,
                                         size_t);

}  // namespace bulkhead
