// The C symbols libfdt.a and compiler-generated code expect, backed by bulkhead::rt.
#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"

extern "C" {
void* memcpy(void* d, const void* s, size_t n) { return bulkhead::rt::copy(d, s, n); }
void* memmove(void* d, const void* s, size_t n) { return bulkhead::rt::move(d, s, n); }
void* memset(void* d, int v, size_t n) { return bulkhead::rt::fill(d, v, n); }
int memcmp(const void* a, const void* b, size_t n) { return bulkhead::rt::compare(a, b, n); }
void* memchr(const void* p, int v, size_t n) { return const_cast<void*>(bulkhead::rt::find_byte(p, v, n)); }
size_t strlen(const char* s) { return bulkhead::rt::length(s); }
size_t strnlen(const char* s, size_t n) { return bulkhead::rt::length_bounded(s, n); }
char* strchr(const char* s, int c) { return const_cast<char*>(bulkhead::rt::find_char(s, c)); }
char* strrchr(const char* s, int c) { return const_cast<char*>(bulkhead::rt::find_last_char(s, c)); }
int strcmp(const char* a, const char* b) { return bulkhead::rt::compare_strings(a, b); }
int strncmp(const char* a, const char* b, size_t n) { return bulkhead::rt::compare_strings_bounded(a, b, n); }
unsigned long strtoul(const char* s, char** end, int base) {
  const char* stop = nullptr;
  const unsigned long value = bulkhead::rt::parse_unsigned(s, &stop, base);
  if (end != nullptr) *end = const_cast<char*>(stop);
  return value;
}

// A fixed canary: there is no entropy source this early. It still catches overruns.
uintptr_t __stack_chk_guard = 0x5bd1e9955bd1e995ull;
[[noreturn]] void bulkhead_stop_after_fatal(const char* reason);
[[noreturn]] void __stack_chk_fail() {
  bulkhead::log::error("stack smashing detected");
  bulkhead_stop_after_fatal("stack-protector");
}
// Pure virtual calls cannot happen in correct code; stop loudly if one does.
[[noreturn]] void __cxa_pure_virtual() {
  bulkhead::log::error("pure virtual function called");
  bulkhead_stop_after_fatal("pure-virtual");
}
}
