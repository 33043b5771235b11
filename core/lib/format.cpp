#include "core/lib/format.hpp"

namespace bulkhead {
namespace {

constexpr char digit_chars[] = "0123456789abcdef";

// Digits are produced from the last one, into the end of the buffer: no reversal. The
// base is a constant in each instance, so no division instruction is needed. `Out` is
// Sink, or a FixedBuffer (no virtual call per piece of a log line).
template <unsigned Base, typename Out>
void write_digits(Out& out, uint64_t value, unsigned min_digits) {
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

template <typename Out>
void format_to(Out& out, const char* format, size_t length, const FormatArg* args, size_t count) {
  size_t next = 0;
  const char* run = format;
  const char* end = format + length;
  for (const char* p = format; p + 1 < end; ++p) {
    if (*p != '{' || p[1] != '}') continue;
    out.write(run, static_cast<size_t>(p - run));
    if (next < count) write_arg(out, args[next++]); else out.write("{?}", 3);
    run = ++p + 1;
  }
  out.write(run, static_cast<size_t>(end - run));
}

}  // namespace

void vformat(Sink& sink, const char* format, size_t length, const FormatArg* args, size_t count) {
  format_to(sink, format, length, args, count);
}

template <size_t N>
void vformat(FixedBuffer<N>& buffer, const char* format, size_t length, const FormatArg* args, size_t count) {
  format_to(buffer, format, length, args, count);
}
template void vformat<log_line_capacity>(FixedBuffer<log_line_capacity>&, const char*, size_t, const FormatArg*, size_t);

}  // namespace bulkhead
