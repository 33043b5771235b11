#include "core/lib/format.hpp"

namespace bulkhead {
namespace {

// Digits are produced from the last one, into the end of the buffer: no reversal. The
// base is a constant in each instance, so no division instruction is needed.
template <unsigned Base>
void write_digits(Sink& sink, uint64_t value, unsigned min_digits) {
  char digits[24];
  size_t first = sizeof(digits);
  do {
    const auto d = static_cast<unsigned>(value % Base);
    digits[--first] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    value /= Base;
  } while (value != 0 && first != 0);
  while (sizeof(digits) - first < min_digits && first != 0) digits[--first] = '0';
  sink.write(digits + first, sizeof(digits) - first);
}

size_t c_string_length(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  return n;
}

void write_arg(Sink& sink, const FormatArg& arg) {
  switch (arg.kind) {
    case FormatArg::Kind::signed_int:
      if (arg.s < 0) {
        sink.write("-", 1);
        write_digits<10>(sink, 0 - static_cast<uint64_t>(arg.s), 1);
      } else {
        write_digits<10>(sink, static_cast<uint64_t>(arg.s), 1);
      }
      break;
    case FormatArg::Kind::unsigned_int: write_digits<10>(sink, arg.u, 1); break;
    case FormatArg::Kind::hex:
      sink.write("0x", 2);
      write_digits<16>(sink, arg.u, arg.digits);
      break;
    case FormatArg::Kind::plain_hex: write_digits<16>(sink, arg.u, arg.digits); break;
    case FormatArg::Kind::c_string:
      if (arg.str == nullptr) sink.write("(null)", 6); else sink.write(arg.str, c_string_length(arg.str));
      break;
    case FormatArg::Kind::text: sink.write(arg.str, arg.length); break;
    case FormatArg::Kind::boolean: arg.u ? sink.write("yes", 3) : sink.write("no", 2); break;
  }
}

}  // namespace

void vformat(Sink& sink, const char* format, size_t length, const FormatArg* args, size_t count) {
  size_t next = 0;
  const char* run = format;
  const char* end = format + length;
  for (const char* p = format; p + 1 < end; ++p) {
    if (*p != '{' || p[1] != '}') continue;
    sink.write(run, static_cast<size_t>(p - run));
    if (next < count) write_arg(sink, args[next++]); else sink.write("{?}", 3);
    run = ++p + 1;
  }
  sink.write(run, static_cast<size_t>(end - run));
}

}  // namespace bulkhead
