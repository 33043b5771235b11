#include "core/lib/format.hpp"

namespace bulkhead {
namespace {

// Digits are produced from the last one, into the end of the buffer: no reversal.
void write_digits(Sink& sink, uint64_t value, unsigned base, unsigned min_digits) {
  char digits[24];
  size_t first = sizeof(digits);
  do {
    const unsigned d = static_cast<unsigned>(value % base);
    digits[--first] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    value /= base;
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
        write_digits(sink, 0 - static_cast<uint64_t>(arg.s), 10, 1);
      } else {
        write_digits(sink, static_cast<uint64_t>(arg.s), 10, 1);
      }
      break;
    case FormatArg::Kind::unsigned_int: write_digits(sink, arg.u, 10, 1); break;
    case FormatArg::Kind::hex:
      sink.write("0x", 2);
      write_digits(sink, arg.u, 16, arg.digits);
      break;
    case FormatArg::Kind::plain_hex: write_digits(sink, arg.u, 16, arg.digits); break;
    case FormatArg::Kind::c_string:
      if (arg.str == nullptr) sink.write("(null)", 6); else sink.write(arg.str, c_string_length(arg.str));
      break;
    case FormatArg::Kind::text: sink.write(arg.str, arg.length); break;
    case FormatArg::Kind::boolean: arg.u ? sink.write("yes", 3) : sink.write("no", 2); break;
  }
}

}  // namespace

void vformat(Sink& sink, const char* format, const FormatArg* args, size_t count) {
  size_t next = 0;
  const char* run = format;
  const char* p = format;
  for (; *p != '\0'; ++p) {
    if (p[0] == '{' && p[1] == '}') {
      sink.write(run, static_cast<size_t>(p - run));
      if (next < count) write_arg(sink, args[next++]); else sink.write("{?}", 3);
      ++p;
      run = p + 1;
    }
  }
  sink.write(run, static_cast<size_t>(p - run));
}

}  // namespace bulkhead
