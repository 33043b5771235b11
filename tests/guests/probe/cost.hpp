// What an operation costs in virtual time, for tests that show an access traps to EL2:
// under QEMU -icount shift=0,sleep=off one instruction is 1 ns, so an access that exits to
// the hypervisor costs its whole trap path (hundreds of instructions) where one that does
// not costs a few. Printed as `probe: cost NAME NS` for the harness to judge.
#pragma once

#include <cstdint>

#include "arch.hpp"
#include "console.hpp"

namespace probe {

inline uint64_t ticks_to_ns(uint64_t ticks, uint64_t iterations) {
  return ticks * 1000000000ull / (counter_frequency() * iterations);
}

// Mean ns of one `op()` over `iterations` calls (the loop included).
template <typename Op>
uint64_t mean_ns(Op op, uint64_t iterations) {
  const uint64_t start = virtual_count();
  for (uint64_t i = 0; i < iterations; ++i) op();
  return ticks_to_ns(virtual_count() - start, iterations);
}

inline void print_cost(const char* name, uint64_t ns) {
  put_text("probe: cost ");
  put_text(name);
  put(' ');
  put_decimal(ns);
  end_line();
}

}  // namespace probe
