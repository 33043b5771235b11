// The boot report and error log: one fact per line, each starting "bulkhead: ".
// Lines are assembled whole before output so CPUs never interleave inside a line.
#pragma once

#include "core/lib/format.hpp"

namespace bulkhead::log {

constexpr size_t max_line = log_line_capacity;

// Receives complete lines (with the trailing newline). Implementations serialise callers.
class LineSink {
 public:
  virtual void write_line(const char* text, size_t length) = 0;

 protected:
  ~LineSink() = default;
};

// Installs the output; nullptr discards lines. Returns the previous output.
LineSink* set_output(LineSink* output);
// `prefix` (no placeholders), then `length` characters of `format` with the args.
void emit(const char* prefix, const char* format, size_t length, const FormatArg* args, size_t count);

// "bulkhead: <fact>"
template <typename... Args>
void fact(FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    emit("bulkhead: ", format.text, format.length, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    emit("bulkhead: ", format.text, format.length, list, sizeof...(Args));
  }
}

// "bulkhead: error: <what went wrong, naming the culprit>"
template <typename... Args>
void error(FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    emit("bulkhead: error: ", format.text, format.length, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    emit("bulkhead: error: ", format.text, format.length, list, sizeof...(Args));
  }
}

}  // namespace bulkhead::log
