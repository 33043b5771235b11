#include "pci/reset.hpp"

#include "core/lib/log.hpp"
#include "pci/bar_allocator.hpp"
#include "pci/capability_registers.hpp"

namespace bulkhead::pci {
namespace {

constexpr uint32_t all_ones32 = 0xffffffffu;
constexpr uint16_t all_ones16 = 0xffff;
// A Vendor ID read answered with Request Retry Status while Configuration RRS Software
// Visibility is on reads 0001h (§2.3.1); the value is never assigned to a vendor.
constexpr uint16_t retry_status_vendor = 0x0001;
constexpr uint16_t command_decode_and_master = reg::command_io | reg::command_memory | reg::command_bus_master;
constexpr uint16_t command_checked_bits = command_decode_and_master | reg::command_interrupt_disable;
constexpr uint32_t bus_numbers_mask = 0x00ffffff;  // primary, secondary, subordinate
constexpr uint32_t io_bar_address_mask = 0xfffffffcu;
constexpr uint32_t memory_bar_address_mask = 0xfffffff0u;
constexpr uint32_t rom_checked_bits = reg::rom_address_mask | reg::rom_enable;

// Upper ends of the Completion Timeout Value encodings of Device Control 2 (§7.5.3.16),
// in milliseconds, rounded up; 0: a reserved encoding.
constexpr uint32_t completion_timeout_upper_ms[16] = {
    reset_timing::default_completion_timeout_ms,  // 0000b: default range, 50 us to 50 ms
    1,       // 0001b: 50 us to 100 us
    10,      // 0010b: 1 ms to 10 ms
    0,    0,
    55,      // 0101b: 16 ms to 55 ms
    210,     // 0110b: 65 ms to 210 ms
    0,    0,
    900,     // 1001b: 260 ms to 900 ms
    3500,    // 1010b: 1 s to 3.5 s
    0,    0,
    13000,   // 1101b: 4 s to 13 s
    reset_timing::longest_completion_timeout_ms,  // 1110b: 17 s to 64 s
    0,
};

const char* power_state_name(uint16_t pmcsr) {
  switch (pmcsr & reg::pm::power_state_mask) {
    case 0: return "D0";
    case 1: return "D1";
    case 2: return "D2";
    default: return "D3hot";
  }
}

// A link above `bridge` trains before the function below can answer (§6.6.1): a root or
// downstream port faster than 5 GT/s that reports Data Link Layer Link Active.
bool link_must_train(ConfigAccessor& config, const Function& bridge) {
  if (bridge.caps.pcie.offset == 0) return false;
  if (bridge.kind != FunctionKind::root_port && bridge.kind != FunctionKind::downstream_port) return false;
  const uint32_t link = config.read32(bridge.address.bdf,
                                      static_cast<uint16_t>(bridge.caps.pcie.offset + reg::pcie::link_capabilities));
  return link != all_ones32 && (link & reg::pcie::link_capabilities_max_speed_mask) > reg::pcie::link_speed_5gt &&
         (link & reg::pcie::link_capabilities_dll_active_reporting) != 0;
}

// Below a conventional PCI bridge the bus is conventional PCI: Trhfa applies.
bool conventional_secondary(const Function& bridge) {
  return bridge.kind == FunctionKind::pci_bridge || bridge.kind == FunctionKind::pcie_pci_bridge;
}

uint16_t at(uint16_t capability, uint16_t offset) { return static_cast<uint16_t>(capability + offset); }

}  // namespace

uint32_t completion_timeout_limit_ms(ConfigAccessor& config, const Function& function) {
  const PcieInfo& pcie = function.caps.pcie;
  constexpr uint8_t device_control2_version = 2;  // version 1 capabilities end before it
  if (pcie.offset == 0 || pcie.version < device_control2_version) return reset_timing::default_completion_timeout_ms;
  const uint16_t control = config.read16(function.address.bdf, at(pcie.offset, reg::pcie::device_control2));
  if (control == all_ones16 || (control & reg::pcie::device_control2_timeout_disable) != 0) {
    return reset_timing::longest_completion_timeout_ms;
  }
  const uint32_t upper = completion_timeout_upper_ms[control & reg::pcie::device_control2_timeout_value];
  return upper == 0 ? reset_timing::longest_completion_timeout_ms : upper;
}

const char* reset_error_name(ResetError error) {
  switch (error) {
    case ResetError::none: return "none";
    case ResetError::not_begun: return "not-begun";
    case ResetError::no_method: return "no-method";
    case ResetError::no_clock: return "no-clock";
    case ResetError::no_bridge: return "no-bridge";
    case ResetError::absent: return "absent";
    case ResetError::identity: return "identity";
    case ResetError::still_enabled: return "still-enabled";
    case ResetError::transactions_pending: return "transactions-pending";
    case ResetError::power_state: return "power-state";
    case ResetError::link_down: return "link-down";
    case ResetError::not_ready: return "not-ready";
    case ResetError::not_reset: return "not-reset";
    case ResetError::restore_mismatch: return "restore-mismatch";
  }
  return "none";
}

template <typename... Args>
bool FunctionReset::fail(ResetError error, FormatString<std::type_identity_t<Args>...> text, Args... args) {
  failure_.clear();
  format(failure_, "pci {} reset {}: ", sbdf_text(function_->address).text, reset_method_name(method_));
  format<Args...>(failure_, text, args...);
  error_ = error;
  phase_ = Phase::failed;
  return true;
}

template <typename... Args>
bool FunctionReset::ineffective(ResetError error, FormatString<std::type_identity_t<Args>...> text, Args... args) {
  outcome_.ineffective |= ResetChoice::bit(method_);
  const ResetMethod next = function_->reset.after(method_);
  if (next == ResetMethod::none) {
    fail<Args...>(error, text, args...);
    clear_interrupt_enables();
    return true;
  }
  if (!use_method(next)) return true;
  phase_ = Phase::quiesce;
  return true;
}

bool FunctionReset::use_method(ResetMethod method) {
  method_ = method;
  outcome_.method = method;
  ready_polling_ = false;
  bridge_ = nullptr;
  if (method == ResetMethod::bus) {
    bridge_ = topology_->parent_of(*function_);
    if (bridge_ == nullptr || !bridge_->is_bridge()) return !fail(ResetError::no_bridge, "no bridge above the function");
  }
  return true;
}

bool FunctionReset::begin(ConfigAccessor& config, const PciTopology& topology, const Function& function,
                          ResetClock clock) {
  *this = FunctionReset();
  config_ = &config;
  topology_ = &topology;
  function_ = &function;
  method_ = function.reset.method;
  clock_ = clock;
  if (clock.ticks_per_ms == 0) return !fail(ResetError::no_clock, "the clock has no ticks per millisecond");
  if (method_ == ResetMethod::none) return !fail(ResetError::no_method, "the function has no reset method");
  if (!use_method(method_)) return false;
  error_ = ResetError::none;
  phase_ = Phase::quiesce;
  return true;
}

bool FunctionReset::wait_until(uint64_t time, Phase next) {
  wake_at_ = time;
  after_wait_ = next;
  phase_ = Phase::settle;
  return false;
}

ResetStep FunctionReset::poll(uint64_t now) {
  for (;;) {
    bool go_on = false;
    switch (phase_) {
      case Phase::idle:
      case Phase::failed: return {ResetStatus::failed, 0};
      case Phase::done: return {ResetStatus::done, 0};
      case Phase::settle:
        if (now < wake_at_) return {ResetStatus::wait, wake_at_};
        phase_ = after_wait_;
        go_on = true;
        break;
      case Phase::quiesce: go_on = quiesce(now); break;
      case Phase::pending: go_on = poll_pending(now); break;
      case Phase::initiate: go_on = initiate(now); break;
      case Phase::power_d3hot: go_on = check_d3hot(now); break;
      case Phase::bus_reset_held: go_on = release_bus_reset(now); break;
      case Phase::link: go_on = poll_link(now); break;
      case Phase::ready: go_on = poll_ready(now); break;
      case Phase::power_d0: go_on = check_d0(); break;
      case Phase::took: go_on = check_took(); break;
      case Phase::restore: go_on = restore(now); break;
    }
    if (!go_on) return {ResetStatus::wait, wake_at_};
  }
}

// Nothing new starts once bus master and decode are off; what was started before still
// completes (or times out), which Transactions Pending shows.
bool FunctionReset::quiesce(uint64_t now) {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  const uint32_t ids = config_->read32(bdf, reg::vendor_device);
  const uint32_t expected = static_cast<uint32_t>(f.device_id) << 16 | f.vendor_id;
  if (ids == all_ones32) return fail(ResetError::absent, "does not answer config reads (all ones) before the reset");
  if (ids != expected) {
    return fail(ResetError::identity, "answers as {}:{} before the reset, enumerated as {}:{}",
                plain_hex(ids & 0xffff, 4), plain_hex(ids >> 16, 4), plain_hex(f.vendor_id, 4),
                plain_hex(f.device_id, 4));
  }
  config_->write16(bdf, reg::command, f.command);
  const uint16_t command = config_->read16(bdf, reg::command);
  if ((command & command_decode_and_master) != (f.command & command_decode_and_master)) {
    return fail(ResetError::still_enabled, "command reads {} after {} was written (bus master and decode off)",
                hex(command, 4), hex(f.command, 4));
  }
  interrupt_disable_held_ = (command & f.command & reg::command_interrupt_disable) != 0;
  if (!started_) {
    started_ = true;
    outcome_.started = now;
    outcome_.method = method_;
  }
  limit_ms_ = completion_timeout_limit_ms(*config_, f);
  deadline_ = after(now, limit_ms_);
  phase_ = Phase::pending;
  return true;
}

// The PCI Express Device Status bit, else the Advanced Features one; a function with
// neither cannot tell, and is reset at once.
bool FunctionReset::transactions_pending(bool& answered) {
  const Function& f = *function_;
  answered = true;
  if (f.caps.pcie.offset != 0) {
    const uint16_t status = config_->read16(f.address.bdf, at(f.caps.pcie.offset, reg::pcie::device_status));
    answered = status != all_ones16;
    return (status & reg::pcie::device_status_transactions_pending) != 0;
  }
  if (f.reset.has(ResetMethod::af_flr)) {
    const uint8_t status = config_->read8(f.address.bdf, at(f.caps.advanced_features, reg::af::status));
    answered = status != 0xff;
    return (status & reg::af::status_transactions_pending) != 0;
  }
  return false;
}

bool FunctionReset::poll_pending(uint64_t now) {
  bool answered = true;
  if (!transactions_pending(answered)) {
    phase_ = Phase::initiate;
    return true;
  }
  if (!answered) return fail(ResetError::absent, "stopped answering config reads while its transactions were pending");
  ++outcome_.pending_polls;
  if (now >= deadline_) {
    return fail(ResetError::transactions_pending,
                "transactions still pending {} ms after bus master was turned off (its completion timeout)", limit_ms_);
  }
  const uint64_t next = after(now, reset_timing::poll_ms);
  return wait_until(next < deadline_ ? next : deadline_, Phase::pending);
}

bool FunctionReset::initiate(uint64_t now) {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  outcome_.initiated = now;
  switch (method_) {
    case ResetMethod::flr: {
      const uint16_t control_at = at(f.caps.pcie.offset, reg::pcie::device_control);
      const uint16_t control = config_->read16(bdf, control_at);
      config_->write16(bdf, control_at, control | reg::pcie::device_control_initiate_flr);
      // The function may drop requests until the FLR completes: no access before then.
      return wait_until(after(now, reset_timing::flr_ms), Phase::ready);
    }
    case ResetMethod::af_flr:
      config_->write8(bdf, at(f.caps.advanced_features, reg::af::control), reg::af::control_initiate_flr);
      return wait_until(after(now, reset_timing::flr_ms), Phase::ready);
    case ResetMethod::pm: {
      const uint16_t pmcsr_at = at(f.caps.power_management, reg::pm::control_status);
      const uint16_t pmcsr = config_->read16(bdf, pmcsr_at);
      const auto keep = static_cast<uint16_t>(pmcsr & ~(reg::pm::power_state_mask | reg::pm::pme_status));
      config_->write16(bdf, pmcsr_at, keep | reg::pm::power_state_d3hot);
      return wait_until(after(now, reset_timing::power_state_change_ms), Phase::power_d3hot);
    }
    case ResetMethod::bus: {
      const Bdf bridge = bridge_->address.bdf;
      const uint16_t control = config_->read16(bridge, reg::bridge_control);
      bridge_control_ = static_cast<uint16_t>(control & ~reg::bridge_control_secondary_bus_reset);
      config_->write16(bridge, reg::bridge_control, control | reg::bridge_control_secondary_bus_reset);
      return wait_until(after(now, reset_timing::bus_reset_assert_ms), Phase::bus_reset_held);
    }
    case ResetMethod::none: break;
  }
  return fail(ResetError::no_method, "the function has no reset method");
}

// D3hot must have taken, or the D0 that follows resets nothing.
bool FunctionReset::check_d3hot(uint64_t now) {
  const Function& f = *function_;
  const uint16_t pmcsr_at = at(f.caps.power_management, reg::pm::control_status);
  const uint16_t pmcsr = config_->read16(f.address.bdf, pmcsr_at);
  if (pmcsr == all_ones16) return fail(ResetError::absent, "does not answer config reads in D3hot");
  if ((pmcsr & reg::pm::power_state_mask) != reg::pm::power_state_d3hot) {
    return ineffective(ResetError::power_state, "PowerState reads {} {} ms after D3hot was written",
                       power_state_name(pmcsr), reset_timing::power_state_change_ms);
  }
  const auto keep = static_cast<uint16_t>(pmcsr & ~(reg::pm::power_state_mask | reg::pm::pme_status));
  static_assert(reg::pm::power_state_d0 == 0, "D0 is PowerState 00b: keep, with PowerState cleared, writes D0");
  config_->write16(f.address.bdf, pmcsr_at, keep);
  return wait_until(after(now, reset_timing::power_state_change_ms), Phase::ready);
}

bool FunctionReset::release_bus_reset(uint64_t now) {
  config_->write16(bridge_->address.bdf, reg::bridge_control, bridge_control_);
  check_bridge();
  if (link_must_train(*config_, *bridge_)) {
    limit_ms_ = reset_timing::link_up_limit_ms;
    deadline_ = after(now, limit_ms_);
    phase_ = Phase::link;
    return true;
  }
  const uint32_t wait_ms =
      conventional_secondary(*bridge_) ? reset_timing::conventional_bus_reset_ms : reset_timing::after_bus_reset_ms;
  return wait_until(after(now, wait_ms), Phase::ready);
}

// A secondary bus reset leaves the bridge's own registers alone (it resets what is
// below); if they changed anyway, the function below would be unreachable: rewrite them.
void FunctionReset::check_bridge() {
  const Function& b = *bridge_;
  const Bdf bdf = b.address.bdf;
  const BridgeWindowRegisters expected = bridge_window_registers(b);
  const uint32_t buses = static_cast<uint32_t>(b.bridge.primary) | static_cast<uint32_t>(b.bridge.secondary) << 8 |
                         static_cast<uint32_t>(b.bridge.subordinate) << 16;
  const bool io_wide = b.bridge.window(WindowType::io).wide;
  const bool prefetch_wide = b.bridge.window(WindowType::prefetchable).wide;
  bool same = (config_->read32(bdf, reg::bus_numbers) & bus_numbers_mask) == buses;
  same = same && (config_->read16(bdf, reg::command) & command_checked_bits) == (b.command & command_checked_bits);
  same = same && (config_->read16(bdf, reg::io_base_limit) & reg::io_window_address_mask) ==
                     (expected.io_base_limit & reg::io_window_address_mask);
  same = same && (!io_wide || config_->read32(bdf, reg::io_upper) == expected.io_upper);
  same = same && (config_->read32(bdf, reg::memory_base_limit) & reg::memory_window_address_mask) ==
                     (expected.memory_base_limit & reg::memory_window_address_mask);
  same = same && (config_->read32(bdf, reg::prefetch_base_limit) & reg::memory_window_address_mask) ==
                     (expected.prefetch_base_limit & reg::memory_window_address_mask);
  same = same && (!prefetch_wide || (config_->read32(bdf, reg::prefetch_base_upper) == expected.prefetch_base_upper &&
                                     config_->read32(bdf, reg::prefetch_limit_upper) == expected.prefetch_limit_upper));
  if (same) return;
  config_->write16(bdf, reg::bus_numbers, static_cast<uint16_t>(buses));
  config_->write8(bdf, reg::subordinate_bus, b.bridge.subordinate);
  program_bridge_windows(*config_, b);
  config_->write16(bdf, reg::command, b.command);
  outcome_.bridge_restored = true;
}

bool FunctionReset::poll_link(uint64_t now) {
  const Function& b = *bridge_;
  const uint16_t status = config_->read16(b.address.bdf, at(b.caps.pcie.offset, reg::pcie::link_status));
  if (status != all_ones16 && (status & reg::pcie::link_status_dll_active) != 0) {
    return wait_until(after(now, reset_timing::after_bus_reset_ms), Phase::ready);
  }
  if (now >= deadline_) {
    return fail(ResetError::link_down, "the link from bridge {} is not up {} ms after the bus reset",
                sbdf_text(b.address).text, limit_ms_);
  }
  const uint64_t next = after(now, reset_timing::poll_ms);
  return wait_until(next < deadline_ ? next : deadline_, Phase::link);
}

// After the mandatory wait the function may still be initialising: it answers nothing
// (all ones) or Request Retry Status, for up to 1 s.
bool FunctionReset::poll_ready(uint64_t now) {
  const Function& f = *function_;
  if (!ready_polling_) {
    ready_polling_ = true;
    deadline_ = after(now, reset_timing::ready_limit_ms);
  }
  const uint32_t ids = config_->read32(f.address.bdf, reg::vendor_device);
  const uint32_t expected = static_cast<uint32_t>(f.device_id) << 16 | f.vendor_id;
  if (ids == expected) {
    outcome_.answered = now;
    phase_ = method_ == ResetMethod::pm ? Phase::power_d0 : Phase::took;
    return true;
  }
  const bool retry_status = (ids & 0xffff) == retry_status_vendor;
  if (retry_status) {
    ++outcome_.retry_status_reads;
  } else if (ids != all_ones32) {
    return fail(ResetError::identity, "answers as {}:{} after the reset, enumerated as {}:{}",
                plain_hex(ids & 0xffff, 4), plain_hex(ids >> 16, 4), plain_hex(f.vendor_id, 4),
                plain_hex(f.device_id, 4));
  }
  if (now >= deadline_) {
    return fail(ResetError::not_ready, "{} {} ms after the reset",
                retry_status ? "still answers Request Retry Status" : "does not answer config reads (all ones)",
                reset_timing::ready_limit_ms);
  }
  const uint64_t next = after(now, reset_timing::poll_ms);
  return wait_until(next < deadline_ ? next : deadline_, Phase::ready);
}

bool FunctionReset::check_d0() {
  const Function& f = *function_;
  const uint16_t pmcsr = config_->read16(f.address.bdf, at(f.caps.power_management, reg::pm::control_status));
  if ((pmcsr & reg::pm::power_state_mask) != reg::pm::power_state_d0) {
    return ineffective(ResetError::power_state, "PowerState reads {} after D0 was written", power_state_name(pmcsr));
  }
  phase_ = Phase::took;
  return true;
}

// Every reset clears Interrupt Disable and MSI and MSI-X Enable (their default is 0); one
// still set means the function kept its registers, so whatever else it holds too.
bool FunctionReset::check_took() {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  const uint16_t command = config_->read16(bdf, reg::command);
  if (interrupt_disable_held_ && (command & reg::command_interrupt_disable) != 0) {
    return ineffective(ResetError::not_reset, "was not reset: Interrupt Disable still set (command {})",
                       hex(command, 4));
  }
  if (f.caps.msi.offset != 0 &&
      (config_->read16(bdf, at(f.caps.msi.offset, reg::msi::control)) & reg::msi::control_enable) != 0) {
    return ineffective(ResetError::not_reset, "was not reset: MSI Enable still set");
  }
  if (f.caps.msix.offset != 0 &&
      (config_->read16(bdf, at(f.caps.msix.offset, reg::msix::control)) & reg::msix::control_enable) != 0) {
    return ineffective(ResetError::not_reset, "was not reset: MSI-X Enable still set");
  }
  phase_ = Phase::restore;
  return true;
}

// A function that was not reset keeps its guest's MSI and MSI-X programming: turned off,
// so it stays quiet even if bus mastering came back.
void FunctionReset::clear_interrupt_enables() {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  if (f.caps.msi.offset != 0) {
    const uint16_t control_at = at(f.caps.msi.offset, reg::msi::control);
    config_->write16(bdf, control_at, config_->read16(bdf, control_at) & ~reg::msi::control_enable);
  }
  if (f.caps.msix.offset != 0) {
    const uint16_t control_at = at(f.caps.msix.offset, reg::msix::control);
    config_->write16(bdf, control_at, config_->read16(bdf, control_at) & ~reg::msix::control_enable);
  }
}

bool FunctionReset::restore(uint64_t now) {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  program_bars(*config_, f);
  config_->write8(bdf, reg::cache_line_size, f.cache_line_size);
  config_->write16(bdf, reg::command, f.command);
  if (!verify_restored()) return true;
  outcome_.finished = now;
  phase_ = Phase::done;
  return true;
}

// A register that does not hold what was written names itself.
bool FunctionReset::verify_restored() {
  const Function& f = *function_;
  const Bdf bdf = f.address.bdf;
  for (uint8_t slot = 0; slot < f.bar_count; ++slot) {
    const Bar& bar = f.bars[slot];
    if (!bar.assigned) continue;
    const auto offset = static_cast<uint16_t>(reg::bar0 + 4 * slot);
    const uint32_t mask = bar.kind == BarKind::io ? io_bar_address_mask : memory_bar_address_mask;
    const auto low = static_cast<uint32_t>(bar.bus_address);
    const uint32_t read = config_->read32(bdf, offset);
    if ((read & mask) != (low & mask)) {
      return !fail(ResetError::restore_mismatch, "bar {} ({}) reads {} after restore, {} was written", slot,
                   hex(offset), hex(read, 8), hex(low, 8));
    }
    if (bar.kind != BarKind::mem64) continue;
    const auto high = static_cast<uint32_t>(bar.bus_address >> 32);
    const auto upper_offset = static_cast<uint16_t>(offset + 4);
    const uint32_t read_high = config_->read32(bdf, upper_offset);
    if (read_high != high) {
      return !fail(ResetError::restore_mismatch, "bar {} upper half ({}) reads {} after restore, {} was written",
                   slot, hex(upper_offset), hex(read_high, 8), hex(high, 8));
    }
  }
  if (f.rom.assigned) {
    const auto rom = static_cast<uint32_t>(f.rom.bus_address);
    const uint32_t read = config_->read32(bdf, f.rom_register());
    if ((read & rom_checked_bits) != (rom & rom_checked_bits)) {
      return !fail(ResetError::restore_mismatch, "rom ({}) reads {} after restore, {} was written",
                   hex(f.rom_register()), hex(read, 8), hex(rom, 8));
    }
  }
  // Interrupt Disable only where it held before the reset: a function without INTx may
  // hard-wire it to 0.
  const uint16_t checked = interrupt_disable_held_ ? command_checked_bits : command_decode_and_master;
  const uint16_t command = config_->read16(bdf, reg::command);
  if ((command & checked) != (f.command & checked)) {
    return !fail(ResetError::restore_mismatch, "command reads {} after restore, {} was written", hex(command, 4),
                 hex(f.command, 4));
  }
  return true;
}

void report_reset(const FunctionReset& reset, ResetClock clock) {
  const Function* f = reset.function();
  if (f == nullptr) return;
  if (reset.error() != ResetError::none) {
    log::error("{}; quarantined", reset.failure());
    return;
  }
  if (!reset.done()) return;
  const ResetOutcome& o = reset.outcome();
  FixedBuffer<40> ineffective;
  const char* separator = " ineffective ";
  for (ResetMethod m = f->reset.method; m != ResetMethod::none; m = f->reset.after(m)) {
    if ((o.ineffective & ResetChoice::bit(m)) == 0) continue;
    format(ineffective, "{}{}", separator, reset_method_name(m));
    separator = ",";
  }
  const uint64_t ticks_per_ms = clock.ticks_per_ms == 0 ? 1 : clock.ticks_per_ms;
  log::fact("pci-reset-done {} {} ms {}{}", sbdf_text(f->address).text, reset_method_name(o.method),
            (o.finished - o.started) / ticks_per_ms, ineffective.c_str());
}

}  // namespace bulkhead::pci
