// Type-safe, allocation-free text formatting for the hypervisor and its host tools.
// `{}` placeholders are counted at compile time against the arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace bulkhead {

// Where formatted text goes. Implementations: console, fixed buffers (tests, line assembly).
class Sink {
 public:
  virtual void write(const char* text, size_t length) = 0;

 protected:
  ~Sink() = default;
};

// Hexadecimal with a `0x` prefix; `digits` pads with zeros.
struct Hex {
  uint64_t value;
  uint8_t digits;
};
constexpr Hex hex(uint64_t value, uint8_t digits = 0) { return {value, digits}; }

// Hexadecimal without prefix, zero-padded: PCI IDs, SBDF fields.
struct PlainHex {
  uint64_t value;
  uint8_t digits;
};
constexpr PlainHex plain_hex(uint64_t value, uint8_t digits) { return {value, digits}; }

// A string with an explicit length (not NUL-terminated), e.g. a device-tree name.
struct Text {
  const char* data;
  size_t length;
};

// Implicit conversions from each argument type are the point: format("{}", 3, hex(x)).
struct FormatArg {
  enum class Kind : uint8_t { signed_int, unsigned_int, hex, plain_hex, c_string, text, boolean };
  Kind kind;
  uint8_t digits;
  union {
    int64_t s;
    uint64_t u;
    const char* str;
  };
  size_t length;

  FormatArg(const FormatArg&) = default;
  template <typename T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(T v) : kind(std::is_signed_v<T> ? Kind::signed_int : Kind::unsigned_int), digits(0), u(0), length(0) {
    if constexpr (std::is_signed_v<T>) s = v; else u = v;
  }
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(bool v) : kind(Kind::boolean), digits(0), u(v), length(0) {}
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(Hex h) : kind(Kind::hex), digits(h.digits), u(h.value), length(0) {}
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(PlainHex h) : kind(Kind::plain_hex), digits(h.digits), u(h.value), length(0) {}
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(const char* v) : kind(Kind::c_string), digits(0), str(v), length(0) {}
  // cppcheck-suppress noExplicitConstructor
  constexpr FormatArg(Text t) : kind(Kind::text), digits(0), str(t.data), length(t.length) {}
};

namespace detail {
void format_placeholder_count_mismatch();  // not constexpr: calling it fails compilation
consteval size_t text_length(const char* text) {
  size_t length = 0;
  while (text[length] != '\0') ++length;
  return length;
}
consteval size_t count_placeholders(const char* text) {
  size_t count = 0;
  for (; *text != '\0'; ++text) {
    if (text[0] == '{' && text[1] == '}') { ++count; ++text; }
  }
  return count;
}
}  // namespace detail

// A format string's layout, worked out at compile time so that formatting copies the
// text between placeholders without looking at it: its length (bits 0-15), then the
// offset of each of its first 6 "{}" (a byte each from bit 16; 0xff: not kept, that one
// and those after it are looked for).
namespace detail {
constexpr unsigned layout_length_bits = 16;
constexpr unsigned layout_holes = 6;
constexpr uint64_t layout_unknown_hole = 0xff;
consteval uint64_t format_layout(const char* format) {
  const size_t length = text_length(format);
  if (length >> layout_length_bits != 0) format_placeholder_count_mismatch();  // too long to format
  uint64_t layout = length;
  unsigned hole = 0;
  for (size_t i = 0; i + 1 < length && hole < layout_holes; ++i) {
    if (format[i] != '{' || format[i + 1] != '}') continue;
    if (i >= layout_unknown_hole) break;
    layout |= uint64_t{i} << (layout_length_bits + 8 * hole++);
    ++i;
  }
  for (; hole < layout_holes; ++hole) layout |= layout_unknown_hole << (layout_length_bits + 8 * hole);
  return layout;
}
}  // namespace detail

template <typename... Args>
struct FormatString {
  const char* text;
  uint64_t layout;  // detail::format_layout()
  // cppcheck-suppress noExplicitConstructor
  consteval FormatString(const char* format) : text(format), layout(detail::format_layout(format)) {
    if (detail::count_placeholders(format) != sizeof...(Args)) detail::format_placeholder_count_mismatch();
  }
};

// `format` (of that layout) with each "{}" replaced by the next arg.
void vformat(Sink& sink, const char* format, uint64_t layout, const FormatArg* args, size_t count);

template <typename... Args>
void format(Sink& sink, FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    vformat(sink, format.text, format.layout, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    vformat(sink, format.text, format.layout, list, sizeof...(Args));
  }
}

// Collects text in a fixed array; excess is dropped and remembered.
// At run time only the text and its NUL are ever written: a log line's buffer costs
// nothing to set up beyond that. A constant-initialised one (a member of a constinit
// object) is zeroed whole, as constant initialisation must leave no byte indeterminate.
template <size_t Capacity>
class FixedBuffer final : public Sink {
 public:
  constexpr FixedBuffer() {
    if (std::is_constant_evaluated()) {
      // Constant evaluation needs every byte set; at run time only the terminator is.
      // cppcheck-suppress useStlAlgorithm
      for (char& c : data_) c = '\0';
    } else {
      data_[0] = '\0';
    }
  }
  void write(const char* text, size_t length) override {
    const size_t room = Capacity - 1 - used_;
    if (length > room) {
      length = room;
      truncated_ = true;
    }
    char* to = data_ + used_;
#pragma GCC unroll 4
    for (size_t i = 0; i < length; ++i) to[i] = text[i];
    used_ += length;
    data_[used_] = '\0';
  }
  // `length` characters at the end for the caller to fill in; nullptr (nothing added)
  // when they do not fit.
  char* append_uninitialised(size_t length) {
    if (length > Capacity - 1 - used_) return nullptr;
    char* at = data_ + used_;
    used_ += length;
    data_[used_] = '\0';
    return at;
  }
  const char* c_str() const { return data_; }
  size_t size() const { return used_; }
  bool truncated() const { return truncated_; }
  void clear() { used_ = 0; data_[0] = '\0'; truncated_ = false; }

 private:
  char data_[Capacity];  // [0, used_] is written
  size_t used_ = 0;
  bool truncated_ = false;
};

// A log line's capacity (log::max_line).
constexpr size_t log_line_capacity = 320;
// vformat() into a FixedBuffer without a virtual call per piece: the log's lines.
// Defined for FixedBuffer<log_line_capacity>.
template <size_t N>
void vformat(FixedBuffer<N>& buffer, const char* format, uint64_t layout, const FormatArg* args, size_t count);

}  // namespace bulkhead
