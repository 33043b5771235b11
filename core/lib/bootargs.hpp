// Hypervisor options from /chosen/bootargs: space-separated `bulkhead.NAME` or
// `bulkhead.NAME=VALUE` words; other words are ignored (they may be meant for guests).
#pragma once

#include <cstddef>

namespace bulkhead {

// True when `name` (e.g. "bulkhead.hold") appears as a word, with or without a value.
bool bootarg_present(const char* bootargs, const char* name);
// Copies the value of `name=VALUE` into `value` (NUL-terminated). False when absent,
// valueless or too long for the buffer.
bool bootarg_value(const char* bootargs, const char* name, char* value, size_t capacity);

}  // namespace bulkhead
