#include "core/lib/log.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead::log {
namespace {
LineSink* current_output = nullptr;
}

LineSink* set_output(LineSink* output) {
  LineSink* previous = current_output;
  current_output = output;
  return previous;
}

void flush_output() {
  if (current_output != nullptr) current_output->flush_output();
}

void emit(const char* prefix, size_t prefix_length, const char* format, uint64_t layout, const FormatArg* args,
          size_t count) {
  if (current_output == nullptr) return;
  FixedBuffer<max_line> line;
  line.write(prefix, prefix_length);
  vformat(line, format, layout, args, count);
  line.write("\n", 1);
  if (line.truncated()) {
    // Keep the line parseable: mark the cut, always end with a newline.
    static constexpr char marker[] = "...\n";
    char text[max_line];
    size_t n = line.size() - (sizeof(marker) - 1);
    for (size_t i = 0; i < n; ++i) text[i] = line.c_str()[i];
    for (size_t i = 0; i < sizeof(marker) - 1; ++i) text[n + i] = marker[i];
    current_output->write_line(text, n + sizeof(marker) - 1);
    return;
  }
  current_output->write_line(line.c_str(), line.size());
}

}  // namespace bulkhead::log
