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

// Latencies of a benchmark loop's iterations, in counter ticks. The mean (of all of
// them) is the figure; the spread (slowest minus fastest) shows whether every iteration
// measured the same path. The first iteration is left out of the spread: it is 16 ticks
// slower (the bench's first timer interrupt, msi-bench's first MSI). For the timer it is
// not the hypervisor (that exit is the shorter one, no list register being live yet):
// QEMU's trace shows the first expiry taken at a later block boundary, not where the
// icount budget ends at the deadline as for the others. The first MSI was not traced. Under QEMU -icount the
// CPUs run in turn on one instruction clock, so another CPU's work (a partition booting,
// the boot CPU writing the console) that runs inside an iteration's window is counted in
// that iteration: tests/integration/benchmarks.py refuses a figure whose spread exceeds
// one counter tick (its granularity).
class Latencies {
 public:
  void add(uint64_t ticks) {
    total_ += ticks;
    if (count_++ == 0) return;
    if (ticks < fastest_) fastest_ = ticks;
    if (ticks > slowest_) slowest_ = ticks;
  }
  uint64_t mean_ns() const { return count_ == 0 ? 0 : ticks_to_ns(total_, count_); }
  uint64_t spread_ticks() const { return count_ < 2 ? 0 : slowest_ - fastest_; }

 private:
  uint64_t total_ = 0;
  uint64_t count_ = 0;
  uint64_t fastest_ = ~uint64_t{0};
  uint64_t slowest_ = 0;
};

inline void print_cost(const char* name, uint64_t ns) {
  put_text("probe: cost ");
  put_text(name);
  put(' ');
  put_decimal(ns);
  end_line();
}

}  // namespace probe
