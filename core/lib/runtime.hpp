// Freestanding replacements for the few libc routines the hypervisor and libfdt need.
// Portable and unit-tested on the host; the image exports them under their C names.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bulkhead::rt {

void* copy(void* destination, const void* source, size_t count);
void* move(void* destination, const void* source, size_t count);
void* fill(void* destination, int value, size_t count);
// A faster way to zero whole aligned blocks, which fill(d, 0, n) then uses for the
// blocks of large ranges: the target's DC ZVA, installed once its MMU is on (it only
// works on Normal memory). `block` is a power of two; none is installed at first.
struct BlockZeroer {
  void (*zero)(void* blocks, size_t count) = nullptr;
  size_t block = 0;
};
void set_block_zeroer(BlockZeroer zeroer);
int compare(const void* left, const void* right, size_t count);
const void* find_byte(const void* data, int value, size_t count);
size_t length(const char* text);
size_t length_bounded(const char* text, size_t limit);
const char* find_char(const char* text, int value);
const char* find_last_char(const char* text, int value);
int compare_strings(const char* left, const char* right);
int compare_strings_bounded(const char* left, const char* right, size_t limit);
// strtoul semantics: optional whitespace and sign, base 0 (auto), 2..36; saturates on
// overflow; *end (if given) points past the last digit used, or at `text` if none.
unsigned long parse_unsigned(const char* text, const char** end, int base);

// Copies at most capacity-1 bytes and always terminates; returns false if cut.
bool copy_string(char* destination, size_t capacity, const char* source);

}  // namespace bulkhead::rt
