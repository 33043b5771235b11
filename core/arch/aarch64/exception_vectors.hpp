// The exception vector table (VBAR_ELx): four groups of four entries, 0x80 bytes each.
// The EL2 vectors pass the entry's index (group * 4 + type) to the dispatcher; an
// exception injected into a guest enters its VBAR_EL1 at the matching offset.
// Arm ARM D1.10.2. Usable from assembly (macros) and C++.
#pragma once

#define BULKHEAD_VECTOR_ENTRY_SIZE 0x80
#define BULKHEAD_VECTOR_GROUP_SIZE 0x200

#ifndef __ASSEMBLER__
#include <cstdint>

namespace bulkhead::arch {

// Where the exception came from, relative to the EL taking it.
enum class VectorSource : uint8_t { current_sp0 = 0, current_spx = 1, lower_aarch64 = 2, lower_aarch32 = 3 };
enum class VectorType : uint8_t { synchronous = 0, irq = 1, fiq = 2, serror = 3 };

class ExceptionVector {
 public:
  constexpr explicit ExceptionVector(unsigned index) : index_(index & 15) {}
  constexpr ExceptionVector(VectorSource source, VectorType type)
      : index_(static_cast<unsigned>(source) * 4 + static_cast<unsigned>(type)) {}
  constexpr unsigned index() const { return index_; }
  constexpr VectorSource source() const { return static_cast<VectorSource>(index_ / 4); }
  constexpr VectorType type() const { return static_cast<VectorType>(index_ % 4); }
  constexpr bool from_lower_el() const { return index_ >= 8; }
  // The byte offset of this entry from VBAR.
  constexpr uint64_t offset() const {
    return uint64_t{index_ / 4} * BULKHEAD_VECTOR_GROUP_SIZE + uint64_t{index_ % 4} * BULKHEAD_VECTOR_ENTRY_SIZE;
  }
  constexpr const char* name() const;

 private:
  unsigned index_;
};

// Namespace scope, not a local of name(): a local array would be copied to the stack
// on every call.
inline constexpr const char* vector_names[16] = {
    "sync-el2-sp0",   "irq-el2-sp0",   "fiq-el2-sp0",   "serror-el2-sp0",
    "sync-el2",       "irq-el2",       "fiq-el2",       "serror-el2",
    "sync-lower-a64", "irq-lower-a64", "fiq-lower-a64", "serror-lower-a64",
    "sync-lower-a32", "irq-lower-a32", "fiq-lower-a32", "serror-lower-a32"};
constexpr const char* ExceptionVector::name() const { return vector_names[index_]; }

}  // namespace bulkhead::arch
#endif
