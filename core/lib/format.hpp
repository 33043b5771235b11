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

template <typename... Args>
struct FormatString {
  const char* text;
  size_t length;  // of text, counted at compile time
  // cppcheck-suppress noExplicitConstructor
  consteval FormatString(const char* format) : text(format), length(detail::text_length(format)) {
    if (detail::count_placeholders(format) != sizeof...(Args)) detail::format_placeholder_count_mismatch();
  }
};

// `length` characters of `format`: its text, with each "{}" replaced by the next arg.
void vformat(Sink& sink, const char* format, size_t length, const FormatArg* args, size_t count);

template <typename... Args>
void format(Sink& sink, FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    vformat(sink, format.text, format.length, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    vformat(sink, format.text, format.length, list, sizeof...(Args));
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
    for (size_t i = 0; i < length; ++i) to[i] = text[i];
    used_ += length;
    data_[used_] = '\0';
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
void vformat(FixedBuffer<N>& buffer, const char* format, size_t length, const FormatArg* args, size_t count);

}  // namespace bulkhead
