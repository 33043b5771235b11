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
  // x[0] to x[30]: the general registers. x[31]: for a guest's synchronous exception 0,
  // so that its trap path reads a transfer register 31 (XZR) from here as 0, and a load to
  // XZR lands here harmlessly (it is not restored); for every other exception the
  // interrupted EL2 stack pointer (sp(); meaningless for a guest's exit).
  uint64_t x[32];
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;

  constexpr uint64_t sp() const { return x[31]; }
};
static_assert(sizeof(ExceptionFrame) == BULKHEAD_FRAME_SIZE);
static_assert(offsetof(ExceptionFrame, x) + sizeof(uint64_t) * 30 == BULKHEAD_FRAME_X30);
static_assert(offsetof(ExceptionFrame, elr) == BULKHEAD_FRAME_ELR);
static_assert(offsetof(ExceptionFrame, esr) == BULKHEAD_FRAME_ESR);

}  // namespace bulkhead
#endif
