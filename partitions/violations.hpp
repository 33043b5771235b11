// Where the description reader and the rules report what is wrong: every violation at
// once, each naming the node, the rule and why. The tool prints them as
// `FILE: /path/to/node: RULE: explanation`; the boot prints them as error lines.
#pragma once

#include <cstddef>
#include <type_traits>

#include "core/lib/format.hpp"

namespace bulkhead::partitions {

constexpr size_t max_violation_text = 320;

class Violations {
 public:
  // `path` is a node path of the checked blob; `rule` a name from rules.hpp.
  template <typename... Args>
  void add(const char* path, const char* rule, FormatString<std::type_identity_t<Args>...> explanation, Args... args) {
    FixedBuffer<max_violation_text> text;
    format<Args...>(text, explanation, args...);
    ++count_;
    report(path, rule, text.c_str());
  }
  size_t count() const { return count_; }

 protected:
  ~Violations() = default;
  virtual void report(const char* path, const char* rule, const char* explanation) = 0;

 private:
  size_t count_ = 0;
};

// Counts only: for callers that need a yes/no (the fuzzer, quick re-checks).
class CountingViolations final : public Violations {
 protected:
  void report(const char*, const char*, const char*) override {}
};

// The tool's line format, also used by the tests: "FILE: PATH: RULE: EXPLANATION\n".
inline void write_violation_line(Sink& sink, const char* file, const char* path, const char* rule,
                                 const char* explanation) {
  format(sink, "{}: {}: {}: {}\n", file, path, rule, explanation);
}

}  // namespace bulkhead::partitions
