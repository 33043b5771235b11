#include "core/lib/runtime.hpp"

#include <climits>

namespace bulkhead::rt {

void* copy(void* destination, const void* source, size_t count) {
  auto* d = static_cast<unsigned char*>(destination);
  const auto* s = static_cast<const unsigned char*>(source);
  for (size_t i = 0; i < count; ++i) d[i] = s[i];
  return destination;
}

void* move(void* destination, const void* source, size_t count) {
  auto* d = static_cast<unsigned char*>(destination);
  const auto* s = static_cast<const unsigned char*>(source);
  if (d == s || count == 0) return destination;
  if (reinterpret_cast<uintptr_t>(d) < reinterpret_cast<uintptr_t>(s)) {
    for (size_t i = 0; i < count; ++i) d[i] = s[i];
  } else {
    for (size_t i = count; i-- > 0;) d[i] = s[i];
  }
  return destination;
}

void* fill(void* destination, int value, size_t count) {
  auto* d = static_cast<unsigned char*>(destination);
  for (size_t i = 0; i < count; ++i) d[i] = static_cast<unsigned char>(value);
  return destination;
}

int compare(const void* left, const void* right, size_t count) {
  const auto* l = static_cast<const unsigned char*>(left);
  const auto* r = static_cast<const unsigned char*>(right);
  for (size_t i = 0; i < count; ++i) {
    if (l[i] != r[i]) return l[i] < r[i] ? -1 : 1;
  }
  return 0;
}

const void* find_byte(const void* data, int value, size_t count) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < count; ++i) {
    if (p[i] == static_cast<unsigned char>(value)) return p + i;
  }
  return nullptr;
}

size_t length(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  return n;
}

size_t length_bounded(const char* text, size_t limit) {
  size_t n = 0;
  while (n < limit && text[n] != '\0') ++n;
  return n;
}

const char* find_char(const char* text, int value) {
  const char c = static_cast<char>(value);
  for (;; ++text) {
    if (*text == c) return text;
    if (*text == '\0') return nullptr;
  }
}

const char* find_last_char(const char* text, int value) {
  const char c = static_cast<char>(value);
  const char* last = nullptr;
  for (;; ++text) {
    if (*text == c) last = text;
    if (*text == '\0') return last;
  }
}

int compare_strings(const char* left, const char* right) {
  return compare_strings_bounded(left, right, SIZE_MAX);
}

int compare_strings_bounded(const char* left, const char* right, size_t limit) {
  for (size_t i = 0; i < limit; ++i) {
    const auto l = static_cast<unsigned char>(left[i]);
    const auto r = static_cast<unsigned char>(right[i]);
    if (l != r) return l < r ? -1 : 1;
    if (l == '\0') return 0;
  }
  return 0;
}

namespace {
int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
}  // namespace

unsigned long parse_unsigned(const char* text, const char** end, int base) {
  const char* p = text;
  while (is_space(*p)) ++p;
  bool negative = false;
  if (*p == '+' || *p == '-') negative = *p++ == '-';
  if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
    p += 2;
    base = 16;
  } else if (base == 0) {
    base = p[0] == '0' ? 8 : 10;
  }
  if (base < 2 || base > 36) {
    if (end != nullptr) *end = text;
    return 0;
  }
  unsigned long value = 0;
  bool overflow = false;
  const char* first_digit = p;
  for (; digit_value(*p) < base; ++p) {
    const auto d = static_cast<unsigned long>(digit_value(*p));
    if (value > (ULONG_MAX - d) / static_cast<unsigned long>(base)) overflow = true;
    value = value * static_cast<unsigned long>(base) + d;
  }
  if (end != nullptr) *end = p == first_digit ? text : p;
  if (overflow) return ULONG_MAX;
  return negative ? 0 - value : value;
}

bool copy_string(char* destination, size_t capacity, const char* source) {
  if (capacity == 0) return false;
  size_t i = 0;
  for (; i + 1 < capacity && source[i] != '\0'; ++i) destination[i] = source[i];
  destination[i] = '\0';
  return source[i] == '\0';
}

}  // namespace bulkhead::rt
