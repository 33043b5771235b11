// Resetting one function without blocking: a state machine the caller drives with its
// clock, so a partition's function can be reset while the other partitions run. Each
// poll() does the configuration accesses that are due and says when to call again; it
// never spins or sleeps. The sequence (waits and their sources in pci/README.md):
// 1. bus master and decode off (enumeration's quarantine command, INTx disabled too),
//    read back;
// 2. Transactions Pending (Device Status, or the Advanced Features status) polled until
//    clear, at most the function's Completion Timeout;
// 3. the reset of the method (Function::reset) with the spec's waits: FLR or AF FLR then
//    100 ms; D3hot, 10 ms, PowerState checked, D0, 10 ms; secondary bus reset asserted
//    2 ms, released (the bridge's own registers checked), then 100 ms (1 s below a
//    conventional PCI bus; after the link is up again on links above 5 GT/s);
// 4. the function's ID polled until it answers, for at most 1 s (all ones, or Request
//    Retry Status);
// 5. the reset seen to take: Interrupt Disable (set in step 1) and MSI and MSI-X Enable
//    must read clear. If not (QEMU 7.2's devices ignore D3hot -> D0, for one), the next
//    method that applies is tried from step 1; with none left the reset fails;
// 6. the record restored: BARs (64-bit upper halves too), ROM (disabled), cache line
//    size and the quarantine command, never anything a guest wrote; then read back.
// A failure names the function, the method and what went wrong (failure(), error()).
// The function is then left quarantined: bus master and decode off if it still answers,
// MSI and MSI-X Enable cleared if a reset did not take, a bus reset released; the caller
// keeps its DMA stream aborting and does not hand it over.
//
// Portable and heap-free. Not thread-safe: one caller drives one reset, and nothing else
// may access the function (or, for a bus reset, its bridge) until it is done.
#pragma once

#include <cstdint>

#include "core/lib/format.hpp"
#include "pci/config_access.hpp"
#include "pci/topology.hpp"

namespace bulkhead::pci {

// Waits and bounds, in milliseconds (PCI Express Base Specification r6.0 sections).
namespace reset_timing {
constexpr uint32_t bus_reset_assert_ms = 2;           // §7.5.1.3.13: Trst at least 1 ms; doubled for margin
constexpr uint32_t flr_ms = 100;                      // §6.6.2: an FLR completes within 100 ms
constexpr uint32_t power_state_change_ms = 10;        // §5.9: D3hot -> D0 and D0 -> D3hot recovery time
constexpr uint32_t after_bus_reset_ms = 100;          // §6.6.1: before the first request below a port
constexpr uint32_t conventional_bus_reset_ms = 1000;  // PCI Local Bus 3.0 §4.3.2: Trhfa, 2^25 clocks at 33 MHz
constexpr uint32_t link_up_limit_ms = 1000;           // §6.6.1 links above 5 GT/s: the link must train first
constexpr uint32_t ready_limit_ms = 1000;  // §6.6.1: 1.0 s before a function that does not answer, or
                                           // answers Request Retry Status, is deemed broken
constexpr uint32_t default_completion_timeout_ms = 50;     // §7.5.3.16: the default range, 50 us to 50 ms
constexpr uint32_t longest_completion_timeout_ms = 64000;  // range D's upper end (17 s to 64 s)
constexpr uint32_t poll_ms = 10;                           // between reads while waiting for the function
}  // namespace reset_timing

// How long a non-posted request of `function` may stay outstanding, so how long its
// Transactions Pending bit may stay set after bus master is turned off: the upper end of
// its Completion Timeout range (Device Control 2, §7.5.3.16), the longest range when the
// timeout is disabled or the encoding reserved, the default range without Device Control 2.
uint32_t completion_timeout_limit_ms(ConfigAccessor& config, const Function& function);

// The caller's clock: every time is in its ticks (at EL2, CNTPCT_EL0), so a wake-up time
// can be programmed into a timer as it is. Must be at least 1 (round up, so waits only
// get longer).
struct ResetClock {
  uint64_t ticks_per_ms = 0;
};

enum class ResetStatus : uint8_t { wait, done, failed };

struct ResetStep {
  ResetStatus status = ResetStatus::failed;
  uint64_t wake_at = 0;  // wait: call poll() again at or after this time
};

// Why a reset failed (ResetStatus::failed); failure() gives the details.
enum class ResetError : uint8_t {
  none,
  not_begun,             // poll() without a successful begin()
  no_method,             // the function has no reset method
  no_clock,              // the clock has no ticks per millisecond
  no_bridge,             // a bus reset, but no bridge above the function
  absent,                // reads all ones before the reset or in D3hot
  identity,              // answers with other vendor/device IDs than enumeration found
  still_enabled,         // bus master or decode reads on after being turned off
  transactions_pending,  // still set after the Completion Timeout
  power_state,           // PowerState did not reach D3hot, or D0 again
  link_down,             // the link above did not come up after the bus reset
  not_ready,             // all ones or Request Retry Status 1 s after the reset's wait
  not_reset,             // Interrupt Disable or MSI/MSI-X Enable survived every method
  restore_mismatch,      // a BAR, the ROM or the command register does not hold what was written
};
// `none`, `not-begun`, `no-method`, `no-clock`, `no-bridge`, `absent`, `identity`,
// `still-enabled`, `transactions-pending`, `power-state`, `link-down`, `not-ready`,
// `not-reset` or `restore-mismatch`.
const char* reset_error_name(ResetError error);

// Milestones, in the caller's ticks, for the boot report.
struct ResetOutcome {
  uint64_t started = 0;    // bus master and decode turned off
  uint64_t initiated = 0;  // the last reset itself (FLR written, D3hot written, bus reset asserted)
  uint64_t answered = 0;   // the function answered its ID again
  uint64_t finished = 0;   // restored and verified
  uint32_t pending_polls = 0;       // Transactions Pending reads that found it set
  uint32_t retry_status_reads = 0;  // ID reads answered with Request Retry Status
  bool bridge_restored = false;     // bus reset: the bridge's registers had changed; rewritten
  ResetMethod method = ResetMethod::none;  // the method that took (done) or was tried last
  uint8_t ineffective = 0;  // ResetChoice::bit() of each method tried that did not take
};

class FunctionReset {
 public:
  constexpr FunctionReset() = default;

  // Prepares a reset of `function` (enumerated in `topology`; `config` is its segment's
  // accessor) by its first method (Function::reset). Touches nothing; the first poll()
  // starts. False, with error() and failure() saying why, when the function has no
  // method or the clock has no ticks. `topology` and `config` must outlive the reset.
  bool begin(ConfigAccessor& config, const PciTopology& topology, const Function& function, ResetClock clock);

  // Does what is due at `now` (a call before the wake-up time does nothing). done: the
  // function is reset, restored and verified. failed: see error() and failure().
  ResetStep poll(uint64_t now);

  bool done() const { return phase_ == Phase::done; }
  ResetError error() const { return error_; }
  const char* failure() const { return failure_.c_str(); }  // "pci SSSS:BB:DD.F reset METHOD: what"
  const ResetOutcome& outcome() const { return outcome_; }
  const Function* function() const { return function_; }

 private:
  enum class Phase : uint8_t {
    idle,
    quiesce,
    pending,
    initiate,
    power_d3hot,     // D3hot written; check it took, then D0
    bus_reset_held,  // secondary bus reset asserted; release it
    link,            // waiting for the link above the function to come up
    settle,          // a wait, then after_wait_
    ready,           // polling the function's ID
    power_d0,        // PM: check the function is in D0 again
    took,            // check the reset took
    restore,
    done,
    failed,
  };

  // Each returns true when the next phase may run at once, false after wait_until().
  bool quiesce(uint64_t now);
  bool poll_pending(uint64_t now);
  bool initiate(uint64_t now);
  bool check_d3hot(uint64_t now);
  bool release_bus_reset(uint64_t now);
  bool poll_link(uint64_t now);
  bool poll_ready(uint64_t now);
  bool check_d0();
  bool check_took();
  bool restore(uint64_t now);
  bool verify_restored();
  void check_bridge();
  void clear_interrupt_enables();

  bool use_method(ResetMethod method);
  bool transactions_pending(bool& answered);
  bool wait_until(uint64_t time, Phase next);
  uint64_t after(uint64_t now, uint32_t ms) const { return now + ms * clock_.ticks_per_ms; }
  template <typename... Args>
  bool fail(ResetError error, FormatString<std::type_identity_t<Args>...> text, Args... args);
  // A method that did not take: the next one that applies, else fail(error, ...).
  template <typename... Args>
  bool ineffective(ResetError error, FormatString<std::type_identity_t<Args>...> text, Args... args);

  ConfigAccessor* config_ = nullptr;
  const PciTopology* topology_ = nullptr;
  const Function* function_ = nullptr;
  const Function* bridge_ = nullptr;  // bus reset: the bridge above
  ResetMethod method_ = ResetMethod::none;
  ResetClock clock_;
  Phase phase_ = Phase::idle;
  Phase after_wait_ = Phase::idle;
  uint64_t wake_at_ = 0;
  uint64_t deadline_ = 0;  // of the current poll
  uint32_t limit_ms_ = 0;  // the current poll's bound, for the message
  bool started_ = false;
  bool ready_polling_ = false;
  bool interrupt_disable_held_ = false;  // it read back set after quiesce: a reset must clear it
  uint16_t bridge_control_ = 0;          // bus reset: the bridge's value without Secondary Bus Reset
  ResetError error_ = ResetError::not_begun;
  ResetOutcome outcome_;
  FixedBuffer<224> failure_;
};

// Logs how a reset ended (grammar in pci/README.md):
//   done:   pci-reset-done SSSS:BB:DD.F METHOD ms N[ ineffective METHOD[,METHOD]]
//   failed: error: pci SSSS:BB:DD.F reset METHOD: WHAT; quarantined
// N is from bus master off to restored, in whole milliseconds of `clock`.
void report_reset(const FunctionReset& reset, ResetClock clock);

}  // namespace bulkhead::pci
