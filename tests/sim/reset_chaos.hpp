// A function (and its bridge) whose configuration reads say whatever a byte stream says,
// to check the properties of a function reset (pci/reset.hpp) under any device behaviour:
// the unit property test feeds it random bytes, the fuzz target libFuzzer's input.
//
// The first byte picks a lasting fault, or none: Transactions Pending that never clears,
// a function silent after its reset, or answering Request Retry Status for ever, a link
// (8 GT/s, reporting Link Active) that never comes up. Then each read takes one byte:
// most values give what a cooperative device would answer (the register file as last
// written, cleared by each reset, the IDs, D0/D3hot as written, the link up); others
// give all ones, that value with one bit flipped, or a random value. An exhausted stream
// answers cooperatively (but for the fault), so every run can end.
//
// The properties, checked on every access and at the end of the run (`violations`):
// - the reset ends (done or failed) within a bounded number of polls and a bounded time:
//   each attempt at most the longest Completion Timeout plus the bus reset, link and
//   readiness bounds, one attempt per method;
// - every wait lies in the future; a poll before the wake-up time accesses nothing;
// - writes reach only the registers a reset may write: the function's command, cache
//   line size, BARs, ROM, Device Control, PMCSR, Advanced Features control, MSI and MSI-X
//   control; the bridge's (bus reset only) command, bus numbers, windows, Bridge Control;
//   nothing else at all;
// - the function's command is never written with I/O, memory or bus master on, MSI and
//   MSI-X Enable never set, the bridge's command only with its recorded value;
// - no access to the function in the 100 ms after an FLR, the 10 ms after a PowerState
//   change, while Secondary Bus Reset is asserted or in the 100 ms after its release;
//   Secondary Bus Reset held at least 1 ms and released before the end;
// - done: no error, the last command written is the record's, every assigned BAR and the
//   ROM written from the record after the last reset; the method is one that applies
//   and not one marked ineffective. failed: an error and a message naming the function.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "pci/capability_registers.hpp"
#include "pci/reset.hpp"

namespace bulkhead::sim {

struct ByteStream {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t at = 0;
  bool empty() const { return at >= size; }
  uint8_t next() { return empty() ? 0 : data[at++]; }
  uint32_t next32() {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = value << 8 | next();
    return value;
  }
};

class ChaosConfig final : public pci::ConfigAccessor {
 public:
  enum class Fault : uint8_t { none, pending_for_ever, silent_after_reset, retry_status_for_ever, link_never_up };

  ChaosConfig(const pci::Function& function, const pci::Function* bridge, ByteStream& input)
      : function_(function), bridge_(bridge), input_(input) {
    const uint8_t fault = input.next() % 8;
    fault_ = fault < 4 ? Fault::none : static_cast<Fault>(fault - 3);
  }

  uint64_t now = 0;  // microseconds: the driver sets it
  std::vector<std::string> violations;
  bool polling_early = false;  // the driver polls before the wake-up time: no access allowed

  uint32_t read(pci::Bdf bdf, uint16_t offset, pci::AccessWidth width) override {
    check_access(bdf, "read", offset);
    const uint32_t sane = cooperative(bdf, offset, width);
    const uint32_t mask = width == pci::AccessWidth::word ? 0xffffffffu : (1u << (8 * unsigned(width))) - 1;
    const uint8_t choice = input_.next();
    if (choice < 160) return sane;
    if (choice < 192) return mask;
    if (choice < 224) return (sane ^ (1u << (input_.next() % (8 * unsigned(width))))) & mask;
    return input_.next32() & mask;
  }

  void write(pci::Bdf bdf, uint16_t offset, pci::AccessWidth width, uint32_t value) override {
    check_access(bdf, "write", offset);
    if (is_function(bdf)) {
      function_write(offset, width, value);
    } else if (is_bridge(bdf)) {
      bridge_write(offset, width, value);
    } else {
      violation("write to another function", offset);
    }
  }

  // At the end of a run.
  void check_end(const pci::FunctionReset& reset, pci::ResetStatus status) {
    if (bus_reset_held_) violation("secondary bus reset still asserted at the end", pci::reg::bridge_control);
    if (status == pci::ResetStatus::done) {
      if (reset.error() != pci::ResetError::none) violation("done with an error", 0);
      if (last_command_ != function_.command) violation("done, but the last command written is not the record's", 0);
      for (uint8_t slot = 0; slot < function_.bar_count; ++slot) {
        const pci::Bar& bar = function_.bars[slot];
        if (!bar.assigned) continue;
        const auto offset = static_cast<uint16_t>(pci::reg::bar0 + 4 * slot);
        if (written_after_reset(offset) != static_cast<uint32_t>(bar.bus_address)) violation("bar not restored", offset);
        if (bar.kind == pci::BarKind::mem64 &&
            written_after_reset(static_cast<uint16_t>(offset + 4)) != static_cast<uint32_t>(bar.bus_address >> 32)) {
          violation("bar upper half not restored", offset);
        }
      }
      if (function_.rom.assigned &&
          written_after_reset(function_.rom_register()) != static_cast<uint32_t>(function_.rom.bus_address)) {
        violation("rom not restored", function_.rom_register());
      }
      const pci::ResetOutcome& o = reset.outcome();
      if (!function_.reset.has(o.method)) violation("done by a method that does not apply", 0);
      if ((o.ineffective & pci::ResetChoice::bit(o.method)) != 0) violation("done by an ineffective method", 0);
      if ((o.ineffective & ~function_.reset.methods) != 0) violation("ineffective marks a method that does not apply", 0);
    } else if (status == pci::ResetStatus::failed) {
      if (reset.error() == pci::ResetError::none) violation("failed without an error", 0);
      const std::string prefix = std::string("pci ") + pci::sbdf_text(function_.address).text + " reset ";
      if (std::string(reset.failure()).rfind(prefix, 0) != 0) violation("failure does not name the function", 0);
    }
  }

 private:
  static constexpr uint64_t ms = 1000;

  bool is_function(pci::Bdf bdf) const { return bdf == function_.address.bdf; }
  bool is_bridge(pci::Bdf bdf) const { return bridge_ != nullptr && bdf == bridge_->address.bdf; }

  void violation(const char* what, uint16_t offset) {
    char text[160];
    const int length =
        std::snprintf(text, sizeof(text), "t=%lluus %s (offset 0x%x)", static_cast<unsigned long long>(now), what, offset);
    violations.emplace_back(length > 0 ? text : what);
  }

  void check_access(pci::Bdf bdf, const char* what, uint16_t offset) {
    if (polling_early) violation("access during a poll before the wake-up time", offset);
    if (!is_function(bdf)) {
      if (!is_bridge(bdf)) violation(what[0] == 'r' ? "read of another function" : "write of another function", offset);
      return;
    }
    if (bus_reset_held_) violation("function accessed while secondary bus reset is asserted", offset);
    if (now < quiet_until_) violation(quiet_reason_, offset);
  }

  // Dword-granular register files, cleared by a reset (a function's) or kept (the bridge's).
  static uint32_t lane(const std::map<uint16_t, uint32_t>& file, uint16_t offset, pci::AccessWidth width) {
    const auto found = file.find(static_cast<uint16_t>(offset & ~3u));
    const uint32_t dword = found == file.end() ? 0 : found->second;
    const uint32_t mask = width == pci::AccessWidth::word ? 0xffffffffu : (1u << (8 * unsigned(width))) - 1;
    return (dword >> (8 * (offset & 3))) & mask;
  }
  static void store(std::map<uint16_t, uint32_t>& file, uint16_t offset, pci::AccessWidth width, uint32_t value) {
    const auto base = static_cast<uint16_t>(offset & ~3u);
    const unsigned shift = 8 * (offset & 3);
    const uint32_t mask = width == pci::AccessWidth::word ? 0xffffffffu : ((1u << (8 * unsigned(width))) - 1) << shift;
    file[base] = (file[base] & ~mask) | ((value << shift) & mask);
  }

  uint32_t cooperative(pci::Bdf bdf, uint16_t offset, pci::AccessWidth width) const {
    const auto dword = static_cast<uint16_t>(offset & ~3u);
    if (is_bridge(bdf)) {
      const uint16_t pcie = bridge_->caps.pcie.offset;
      const bool never_up = fault_ == Fault::link_never_up;
      if (pcie != 0 && dword == pcie + pci::reg::pcie::link_capabilities) {
        constexpr uint32_t fast_reporting = 3 | pci::reg::pcie::link_capabilities_dll_active_reporting;
        return lane({{dword, never_up ? fast_reporting : 0}}, offset, width);
      }
      if (pcie != 0 && dword == ((pcie + pci::reg::pcie::link_status) & ~3u)) {
        return lane({{dword, never_up ? 0 : uint32_t{pci::reg::pcie::link_status_dll_active} << 16}}, offset, width);
      }
      return lane(bridge_registers_, offset, width);
    }
    if (reset_seen_ && fault_ == Fault::silent_after_reset) return lane({{dword, 0xffffffffu}}, offset, width);
    if (dword == 0) {
      const uint32_t ids = reset_seen_ && fault_ == Fault::retry_status_for_ever
                               ? 0xffff0001u
                               : static_cast<uint32_t>(function_.device_id) << 16 | function_.vendor_id;
      return lane({{0, ids}}, offset, width);
    }
    if (fault_ == Fault::pending_for_ever) {
      const uint16_t pcie = function_.caps.pcie.offset;
      const uint16_t af = function_.caps.advanced_features;
      if (pcie != 0 && dword == ((pcie + pci::reg::pcie::device_status) & ~3u)) {
        return lane({{dword, uint32_t{pci::reg::pcie::device_status_transactions_pending} << 16}}, offset, width);
      }
      if (af != 0 && dword == ((af + pci::reg::af::status) & ~3u)) {
        return lane({{dword, uint32_t{pci::reg::af::status_transactions_pending} << 8}}, offset, width);
      }
    }
    return lane(registers_, offset, width);
  }

  uint32_t written_after_reset(uint16_t offset) const { return lane(registers_, offset, pci::AccessWidth::word); }

  void reset_registers() {
    registers_.clear();
    reset_seen_ = true;
  }

  void quiet(uint64_t duration_us, const char* reason) {
    quiet_until_ = now + duration_us;
    quiet_reason_ = reason;
  }

  void function_write(uint16_t offset, pci::AccessWidth width, uint32_t value) {
    const pci::Function& f = function_;
    const uint16_t pcie = f.caps.pcie.offset;
    const uint16_t pm = f.caps.power_management;
    const uint16_t af = f.caps.advanced_features;
    const uint16_t msi = f.caps.msi.offset;
    const uint16_t msix = f.caps.msix.offset;
    const bool bar_or_rom = (offset >= pci::reg::bar0 && offset < pci::reg::bar0 + 4 * pci::bar_slots &&
                             width == pci::AccessWidth::word) ||
                            (offset == f.rom_register() && width == pci::AccessWidth::word);
    if (offset == pci::reg::command && width == pci::AccessWidth::half) {
      if ((value & (pci::reg::command_io | pci::reg::command_memory | pci::reg::command_bus_master)) != 0) {
        violation("function command written with decode or bus master on", offset);
      }
      last_command_ = static_cast<uint16_t>(value);
    } else if (offset == pci::reg::cache_line_size && width == pci::AccessWidth::byte) {
    } else if (bar_or_rom) {
    } else if (pcie != 0 && offset == pcie + pci::reg::pcie::device_control && width == pci::AccessWidth::half) {
      if ((value & pci::reg::pcie::device_control_initiate_flr) != 0) {
        reset_registers();
        quiet(100 * ms, "function accessed within 100 ms of its FLR");
        return;
      }
    } else if (af != 0 && offset == af + pci::reg::af::control && width == pci::AccessWidth::byte) {
      if ((value & pci::reg::af::control_initiate_flr) != 0) {
        reset_registers();
        quiet(100 * ms, "function accessed within 100 ms of its AF FLR");
        return;
      }
    } else if (pm != 0 && offset == pm + pci::reg::pm::control_status && width == pci::AccessWidth::half) {
      const uint32_t before = lane(registers_, offset, width) & pci::reg::pm::power_state_mask;
      const uint32_t after = value & pci::reg::pm::power_state_mask;
      if (before != after) {
        if (before == pci::reg::pm::power_state_d3hot && after == pci::reg::pm::power_state_d0) reset_registers();
        quiet(10 * ms, "function accessed within 10 ms of a PowerState change");
        if (after == pci::reg::pm::power_state_d0) return;
      }
    } else if ((msi != 0 && offset == msi + pci::reg::msi::control && width == pci::AccessWidth::half) ||
               (msix != 0 && offset == msix + pci::reg::msix::control && width == pci::AccessWidth::half)) {
      const uint32_t enable = offset == msi + pci::reg::msi::control ? pci::reg::msi::control_enable
                                                                      : pci::reg::msix::control_enable;
      if ((value & enable) != 0) violation("MSI or MSI-X Enable set", offset);
    } else {
      violation("write to a register a reset does not touch", offset);
    }
    store(registers_, offset, width, value);
  }

  void bridge_write(uint16_t offset, pci::AccessWidth width, uint32_t value) {
    if (offset == pci::reg::bridge_control && width == pci::AccessWidth::half) {
      const bool assert = (value & pci::reg::bridge_control_secondary_bus_reset) != 0;
      if (assert && !bus_reset_held_) {
        bus_reset_held_ = true;
        bus_reset_at_ = now;
      } else if (!assert && bus_reset_held_) {
        bus_reset_held_ = false;
        if (now - bus_reset_at_ < 1 * ms) violation("secondary bus reset held less than 1 ms", offset);
        reset_registers();
        quiet(100 * ms, "function accessed within 100 ms of a bus reset");
      }
    } else if (offset == pci::reg::command && width == pci::AccessWidth::half) {
      if (value != bridge_->command) violation("bridge command written with another value than its record", offset);
    } else if (!((offset == pci::reg::bus_numbers && width == pci::AccessWidth::half) ||
                 (offset == pci::reg::subordinate_bus && width == pci::AccessWidth::byte) ||
                 (offset == pci::reg::io_base_limit && width == pci::AccessWidth::half) ||
                 (offset >= pci::reg::memory_base_limit && offset <= pci::reg::io_upper &&
                  width == pci::AccessWidth::word))) {
      violation("write to a bridge register a bus reset does not touch", offset);
    }
    store(bridge_registers_, offset, width, value);
  }

  const pci::Function& function_;
  const pci::Function* bridge_;
  ByteStream& input_;
  Fault fault_ = Fault::none;
  bool reset_seen_ = false;
  std::map<uint16_t, uint32_t> registers_;
  std::map<uint16_t, uint32_t> bridge_registers_;
  uint16_t last_command_ = 0;
  uint64_t quiet_until_ = 0;
  const char* quiet_reason_ = "";
  bool bus_reset_held_ = false;
  uint64_t bus_reset_at_ = 0;
};

// Per attempt: the longest Completion Timeout, the bus reset and its link or conventional
// wait, readiness, PM's two waits; plus one poll interval of slack for each bound.
constexpr uint64_t chaos_attempt_bound_ms =
    pci::reset_timing::longest_completion_timeout_ms + pci::reset_timing::bus_reset_assert_ms +
    pci::reset_timing::link_up_limit_ms + pci::reset_timing::conventional_bus_reset_ms +
    pci::reset_timing::ready_limit_ms + 2 * pci::reset_timing::power_state_change_ms + 4 * pci::reset_timing::poll_ms;

// Resets `function` (of `topology`) against a ChaosConfig fed by `input`; the driver's
// timing also comes from `input` (sometimes late, sometimes an early poll). Returns the
// violations, empty when every property held.
// `reset` is left as the run ended it; `status` says how.
inline std::vector<std::string> chaos_reset(const pci::PciTopology& topology, const pci::Function& function,
                                            ByteStream& input, pci::FunctionReset& reset, pci::ResetStatus& status) {
  const pci::Function* bridge = function.reset.has(pci::ResetMethod::bus) ? topology.parent_of(function) : nullptr;
  ChaosConfig config(function, bridge, input);
  const uint64_t start = 1'000'000;
  config.now = start;
  const int methods = std::popcount(function.reset.methods);
  const uint64_t time_bound = start + static_cast<uint64_t>(methods) * chaos_attempt_bound_ms * 1000 + 1'000'000;
  status = pci::ResetStatus::failed;
  if (reset.begin(config, topology, function, pci::ResetClock{1000})) {
    for (int polls = 0;; ++polls) {
      if (polls > 100'000) {
        config.violations.emplace_back("the reset does not end");
        break;
      }
      const pci::ResetStep step = reset.poll(config.now);
      status = step.status;
      if (status != pci::ResetStatus::wait) break;
      if (step.wake_at <= config.now) {
        config.violations.emplace_back("a wait that is not in the future");
        break;
      }
      const uint8_t timing = input.next();
      if (timing >= 240 && step.wake_at - config.now > 1) {  // an early poll must do nothing
        config.now = step.wake_at - 1;
        config.polling_early = true;
        const pci::ResetStep early = reset.poll(config.now);
        config.polling_early = false;
        if (early.status != pci::ResetStatus::wait || early.wake_at != step.wake_at) {
          config.violations.emplace_back("an early poll changed the reset");
        }
      }
      config.now = step.wake_at + (timing >= 224 && timing < 240 ? uint64_t{timing - 223u} * 1000 : 0);
      if (config.now > time_bound) {
        config.violations.emplace_back("the reset runs past its time bound");
        break;
      }
    }
  } else {
    status = pci::ResetStatus::failed;
  }
  config.check_end(reset, status);
  return config.violations;
}

}  // namespace bulkhead::sim
