#include "core/lib/runtime.hpp"

#include <climits>

namespace bulkhead::rt {

namespace {

// Word-at-a-time helpers: whole 8-byte words inside the buffers only (never a byte past
// either end), loaded and stored as bytes' worth of memory, not as typed objects.
constexpr size_t word = 8;
constexpr uint64_t low_bits = 0x0101010101010101ull;
constexpr uint64_t high_bits = 0x8080808080808080ull;

bool word_aligned(const void* at) { return (reinterpret_cast<uintptr_t>(at) & (word - 1)) == 0; }
uint64_t load_word(const unsigned char* at) {
  uint64_t value = 0;
  __builtin_memcpy(&value, __builtin_assume_aligned(at, word), word);
  return value;
}
void store_word(unsigned char* at, uint64_t value) { __builtin_memcpy(__builtin_assume_aligned(at, word), &value, word); }
// Non-zero when some byte of `value` is zero.
uint64_t has_zero_byte(uint64_t value) { return (value - low_bits) & ~value & high_bits; }

}  // namespace

void* copy(void* destination, const void* source, size_t count) {
  auto* d = static_cast<unsigned char*>(destination);
  const auto* s = static_cast<const unsigned char*>(source);
  if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & (word - 1)) == 0) {
    for (; count != 0 && !word_aligned(s); --count) *d++ = *s++;
    for (; count >= 4 * word; count -= 4 * word, d += 4 * word, s += 4 * word) {
      const uint64_t a = load_word(s);
      const uint64_t b = load_word(s + word);
      const uint64_t c = load_word(s + 2 * word);
      const uint64_t e = load_word(s + 3 * word);
      store_word(d, a);
      store_word(d + word, b);
      store_word(d + 2 * word, c);
      store_word(d + 3 * word, e);
    }
    for (; count >= word; count -= word, d += word, s += word) store_word(d, load_word(s));
  } else if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & 3) == 0) {
    // Half words: device-tree cells, a 4-byte aligned buffer from a stack array.
    for (; count != 0 && (reinterpret_cast<uintptr_t>(s) & 3) != 0; --count) *d++ = *s++;
    for (; count >= 4; count -= 4, d += 4, s += 4) {
      uint32_t value = 0;
      __builtin_memcpy(&value, __builtin_assume_aligned(s, 4), 4);
      __builtin_memcpy(__builtin_assume_aligned(d, 4), &value, 4);
    }
  }
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

constinit BlockZeroer block_zeroer;

void set_block_zeroer(BlockZeroer zeroer) { block_zeroer = zeroer; }

namespace {
// Stores `byte` over [d, d + count): bytes up to word alignment, 64 bytes (pairs of word
// stores) at a time, then words and the last bytes.
void fill_stores(unsigned char* d, unsigned char byte, size_t count) {
  for (; count != 0 && !word_aligned(d); --count) *d++ = byte;
  const uint64_t pattern = low_bits * byte;
  for (; count >= 8 * word; count -= 8 * word, d += 8 * word) {
#pragma GCC unroll 8
    for (size_t i = 0; i < 8; ++i) store_word(d + i * word, pattern);
  }
  for (; count >= word; count -= word, d += word) store_word(d, pattern);
  for (size_t i = 0; i < count; ++i) d[i] = byte;
}
}  // namespace

void* fill(void* destination, int value, size_t count) {
  auto* d = static_cast<unsigned char*>(destination);
  const auto byte = static_cast<unsigned char>(value);
  const size_t block = block_zeroer.block;
  if (byte == 0 && block != 0 && count >= 4 * block) {  // stores up to a block boundary, then blocks
    const size_t head = (block - (reinterpret_cast<uintptr_t>(d) & (block - 1))) & (block - 1);
    fill_stores(d, 0, head);
    d += head;
    count -= head;
    // `block` is a power of two: no division (a partition's construction zeroes dozens
    // of 256-byte members this way before its first instruction).
    block_zeroer.zero(d, count >> __builtin_ctzll(block));
    d += count & ~(block - 1);
    count &= block - 1;
  }
  fill_stores(d, byte, count);
  return destination;
}

int compare(const void* left, const void* right, size_t count) {
  const auto* l = static_cast<const unsigned char*>(left);
  const auto* r = static_cast<const unsigned char*>(right);
  if (word_aligned(l) && word_aligned(r)) {  // skip equal words; a differing one is compared bytewise below
    for (; count >= word && load_word(l) == load_word(r); count -= word, l += word, r += word) {
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (l[i] != r[i]) return l[i] < r[i] ? -1 : 1;
  }
  return 0;
}

const void* find_byte(const void* data, int value, size_t count) {
  const auto* p = static_cast<const unsigned char*>(data);
  const auto byte = static_cast<unsigned char>(value);
  for (; count != 0 && !word_aligned(p); --count, ++p) {
    if (*p == byte) return p;
  }
  const uint64_t pattern = low_bits * byte;
  for (; count >= word && has_zero_byte(load_word(p) ^ pattern) == 0; count -= word, p += word) {
  }
  for (size_t i = 0; i < count; ++i) {
    if (p[i] == byte) return p + i;
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
