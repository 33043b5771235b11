// The register frame the EL2 vectors (vectors.S) save on every exception and restore on
// the way out: the general registers, then ELR/SPSR, ESR/FAR. Handlers read and edit it
// (a guest's registers, its return address). Usable from assembly (offsets) and C++.
#pragma once

#define BULKHEAD_FRAME_X30 240
#define BULKHEAD_FRAME_ELR 256
#define BULKHEAD_FRAME_ESR 272
#define BULKHEAD_FRAME_SIZE 288

#ifndef __ASSEMBLER__
#include <cstddef>
#include <cstdint>

namespace bulkhead {

struct ExceptionFrame {
  uint64_t x[31];
  uint64_t sp;  // the interrupted EL2 stack pointer (meaningless for a guest's exit)
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;
};
static_assert(sizeof(ExceptionFrame) == BULKHEAD_FRAME_SIZE);
static_assert(offsetof(ExceptionFrame, x) + sizeof(uint64_t) * 30 == BULKHEAD_FRAME_X30);
static_assert(offsetof(ExceptionFrame, elr) == BULKHEAD_FRAME_ELR);
static_assert(offsetof(ExceptionFrame, esr) == BULKHEAD_FRAME_ESR);

}  // namespace bulkhead
#endif
