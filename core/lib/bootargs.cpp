#include "core/lib/bootargs.hpp"

#include "core/lib/runtime.hpp"

namespace bulkhead {
namespace {

// Finds the word that is exactly `name` or starts with `name=`; returns the char after the name.
const char* find_word(const char* bootargs, const char* name) {
  if (bootargs == nullptr) return nullptr;
  const size_t name_length = rt::length(name);
  const char* p = bootargs;
  while (*p != '\0') {
    while (*p == ' ') ++p;
    const char* word = p;
    while (*p != '\0' && *p != ' ') ++p;
    const size_t word_length = static_cast<size_t>(p - word);
    if (word_length >= name_length && rt::compare(word, name, name_length) == 0 &&
        (word_length == name_length || word[name_length] == '=')) {
      return word + name_length;
    }
  }
  return nullptr;
}

}  // namespace

bool bootarg_present(const char* bootargs, const char* name) { return find_word(bootargs, name) != nullptr; }

bool bootarg_value(const char* bootargs, const char* name, char* value, size_t capacity) {
  const char* after = find_word(bootargs, name);
  if (after == nullptr || *after != '=' || capacity == 0) return false;
  ++after;
  size_t n = 0;
  while (after[n] != '\0' && after[n] != ' ') {
    if (n + 1 >= capacity) return false;
    value[n] = after[n];
    ++n;
  }
  value[n] = '\0';
  return n > 0;
}

}  // namespace bulkhead
