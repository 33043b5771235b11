// Memory the boot fills completely before reading it, kept out of the image's `.data`
// and out of the BSS that entry.S zeroes (core/arch/aarch64/image.ld: `.noinit`, NOLOAD,
// never zeroed). For page pools, stacks, buffers and large tables: zeroing them at entry
// would cost an instruction per 16 bytes for nothing, and a non-zero default member
// initialiser would put a whole table into the image file.
//
// On the host the section is an ordinary BSS section (zeroed); nothing may rely on that.
#pragma once

#include <cstddef>
#include <new>

#define BULKHEAD_NOINIT [[gnu::section(".bss.noinit")]]

namespace bulkhead {

// Uninitialised storage for one T: declare it BULKHEAD_NOINIT constinit at namespace
// scope. T must be an implicit-lifetime type (an aggregate such as PlatformInfo), so a T
// exists in the storage from the start ([intro.object]) with an indeterminate value: the
// code that owns it writes every byte it later reads (typically rt::fill, then fields),
// and never relies on T's default member initialisers.
template <typename T>
class BootStorage {
 public:
  // Zero bytes as far as the compiler knows (constant initialisation, so constinit and a
  // BSS-type section); BULKHEAD_NOINIT storage is in fact never written at entry.
  constexpr BootStorage() noexcept : bytes_{} {}
  T& get() { return *std::launder(static_cast<T*>(static_cast<void*>(bytes_))); }

 private:
  alignas(T) unsigned char bytes_[sizeof(T)];
};

}  // namespace bulkhead
