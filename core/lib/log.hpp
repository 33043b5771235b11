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
  // Everything written so far reaches the device before this returns (the machine is
  // about to power off). Outputs that write at once have nothing to do.
  virtual void flush_output() {}

 protected:
  ~LineSink() = default;
};

// Installs the output; nullptr discards lines. Returns the previous output.
LineSink* set_output(LineSink* output);
// Before powering off: what the output holds goes out.
void flush_output();
// `prefix_length` characters of `prefix` (no placeholders), then `format` (of that
// layout, FormatString) with the args.
void emit(const char* prefix, size_t prefix_length, const char* format, uint64_t layout, const FormatArg* args,
          size_t count);
constexpr char fact_prefix[] = "bulkhead: ";
constexpr char error_prefix[] = "bulkhead: error: ";

// "bulkhead: <fact>"
template <typename... Args>
void fact(FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    emit(fact_prefix, sizeof(fact_prefix) - 1, format.text, format.layout, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    emit(fact_prefix, sizeof(fact_prefix) - 1, format.text, format.layout, list, sizeof...(Args));
  }
}

// "bulkhead: error: <what went wrong, naming the culprit>"
template <typename... Args>
void error(FormatString<std::type_identity_t<Args>...> format, Args... args) {
  if constexpr (sizeof...(Args) == 0) {
    emit(error_prefix, sizeof(error_prefix) - 1, format.text, format.layout, nullptr, 0);
  } else {
    const FormatArg list[] = {FormatArg(args)...};
    emit(error_prefix, sizeof(error_prefix) - 1, format.text, format.layout, list, sizeof...(Args));
  }
}

}  // namespace bulkhead::log
