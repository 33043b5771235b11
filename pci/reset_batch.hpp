// Resetting several functions side by side: a partition's functions before hand-over and
// on every restart. Every reset is begun, then each is polled when it is due and the
// caller sleeps until the earliest wake-up in between, so the functions' waits overlap
// (two FLRs take about 100 ms, not 200) and nothing spins. A failure ends only that
// function's reset; the others run to their end.
//
// Portable and heap-free. The caller holds no lock another CPU needs: the sleeps last up
// to the spec's bounds (pci/reset.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "pci/config_access.hpp"
#include "pci/reset.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// The caller's time: the same ticks as the ResetClock's.
class ResetWaiter {
 public:
  virtual uint64_t now() = 0;
  // Returns at or after `time` (at EL2: the EL2 timer and WFI).
  virtual void sleep_until(uint64_t time) = 0;

 protected:
  ~ResetWaiter() = default;
};

// One function to reset: its segment's accessor and the function; `reset` holds the
// outcome afterwards (report_reset() prints it).
struct ResetJob {
  ConfigAccessor* config = nullptr;
  const Function* function = nullptr;
  FunctionReset reset;
  // The batch's own: the job ended (done or failed), and when to poll it next.
  bool finished = false;
  uint64_t wake_at = 0;
};

struct ResetBatchResult {
  size_t done = 0;
  size_t failed = 0;
  uint32_t sleeps = 0;  // times the caller slept
};

// Resets every job's function side by side; returns when each is done or failed.
ResetBatchResult reset_side_by_side(ResetJob* jobs, size_t count, const PciTopology& topology, ResetClock clock,
                                    ResetWaiter& waiter);

}  // namespace bulkhead::pci
