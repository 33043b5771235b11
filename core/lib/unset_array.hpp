// A member array its owner's constructor leaves as it was: the owner writes each element
// before anything reads it. For large tables of a partition's state (its vGIC's interrupts,
// its MSI-X vectors) that the partition's set-up fills anyway: constructing them as well
// would cost, before the partition's first instruction, an instruction or more per 16 bytes
// (issue 10), and their non-zero defaults a loop over every element.
//
// T must be an implicit-lifetime type (an aggregate, as InterruptState): the array's bytes
// are `unsigned char` storage, in which a T exists from the start ([intro.object]) with an
// indeterminate value, so the first assignment to an element is well-defined and copying
// the owner copies bytes. Reading an element before assigning it is the owner's bug.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

namespace bulkhead {

template <typename T, size_t N>
class UnsetArray {
 public:
  // Leaves the bytes as they are (`= default` would too, but then `UnsetArray{}` and
  // value-initialised owners would zero them). Not constexpr: GCC zeroes the whole of an
  // object whose default constructor is constexpr before constructing it (so an owner
  // that must stay constinit-constructible, as vpci::VirtualPciBus, cannot use this).
  // The checks are here, not in the class body, so that T may be a class nested in the
  // owner (complete only after it).
  // cppcheck-suppress uninitMemberVar
  UnsetArray() {  // NOLINT(modernize-use-equals-default,cppcoreguidelines-pro-type-member-init)
    static_assert(std::is_aggregate_v<T> || std::is_trivially_default_constructible_v<T>,
                  "T must be an implicit-lifetime type");
    static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_copyable_v<T>);
  }

  static constexpr size_t size() { return N; }
  T* data() { return std::launder(static_cast<T*>(static_cast<void*>(bytes_))); }
  const T* data() const { return std::launder(static_cast<const T*>(static_cast<const void*>(bytes_))); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + N; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + N; }

 private:
  alignas(T) unsigned char bytes_[sizeof(T) * N];
};

}  // namespace bulkhead
