// The simulated functions' reset behaviour (sim_ecam.hpp): FLR, PM D3hot -> D0 and
// secondary bus reset put the registers back to their power-on values; Transactions
// Pending, readiness after a reset and a bridge's link follow the timeline's time. Every
// access the PCI Express rules forbid is recorded as a violation:
// - to a function during the 100 ms after its FLR (PCIe r6.0 §6.6.2), the 10 ms after a
//   PowerState change (§5.9), while a bus reset above holds it, or in the 100 ms after
//   that reset (§6.6.1; 1 s below a conventional PCI bridge, PCI 3.0 §4.3.2; counted
//   from the end of link training on a link that reports it);
// - a bus reset held for less than 1 ms (§7.5.1.3.13);
// - a write to a function that does not answer yet.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "tests/sim/sim_ecam.hpp"

namespace bulkhead::sim {
namespace {

constexpr uint64_t ms = 1000;  // the timeline counts microseconds
constexpr uint64_t flr_quiet = 100 * ms;
constexpr uint64_t power_state_quiet = 10 * ms;
constexpr uint64_t after_bus_reset_quiet = 100 * ms;
constexpr uint64_t conventional_bus_quiet = 1000 * ms;
constexpr uint64_t shortest_bus_reset = 1 * ms;

constexpr uint16_t command_bus_master = 0x4;
constexpr uint32_t device_capabilities_flr = 1u << 28;
constexpr uint16_t bridge_control = 0x3e;
constexpr uint16_t secondary_bus_reset = 0x40;
constexpr uint8_t no_soft_reset = 0x08;
constexpr uint16_t d3hot = 3;

uint64_t later(uint64_t time, uint64_t duration) {
  return duration > std::numeric_limits<uint64_t>::max() - time ? std::numeric_limits<uint64_t>::max()
                                                                  : time + duration;
}

// snprintf into a string, for violation texts.
template <typename... Args>
std::string printed(const char* format, Args... args) {
  char text[192];
  const int length = std::snprintf(text, sizeof(text), format, args...);
  return length < 0 ? std::string() : std::string(text);
}

std::string where(pci::Bdf bdf) { return printed("%02x:%02x.%x", bdf.bus, bdf.device, bdf.function); }

void set_bit(std::vector<uint8_t>& bytes, size_t offset, unsigned bit, bool on) {
  if (on) {
    bytes[offset] = static_cast<uint8_t>(bytes[offset] | 1u << bit);
  } else {
    bytes[offset] = static_cast<uint8_t>(bytes[offset] & ~(1u << bit));
  }
}

}  // namespace

SimFunction& SimFunction::flr() {
  if (pcie_offset_ == 0) throw std::logic_error("sim: flr() needs pcie() first");
  poke32(pcie_offset_ + 4, peek32(pcie_offset_ + 4) | device_capabilities_flr);
  return *this;
}

SimFunction& SimFunction::advanced_features(bool flr, bool transactions_pending) {
  const uint8_t at = add_capability(0x13, 6);
  poke8(at + 2, 6);  // length
  poke8(at + 3, static_cast<uint8_t>((transactions_pending ? 0x1 : 0) | (flr ? 0x2 : 0)));
  af_offset_ = at;
  af_flr_ = flr;
  return *this;
}

SimFunction& SimFunction::transactions_pending_for(uint64_t microseconds) {
  pending_active_ = true;
  pending_us_ = microseconds;
  bus_master_off_at_ = timeline_->now;  // counts from now when bus master is already off
  return *this;
}

SimFunction& SimFunction::not_ready_for(uint64_t microseconds, bool retry_status) {
  not_ready_us_ = microseconds;
  retry_status_ = retry_status;
  return *this;
}

SimFunction& SimFunction::stuck_after_reset(uint16_t offset) {
  stuck_after_reset_.push_back(offset);
  return *this;
}

SimFunction& SimFunction::power_state_stuck() {
  if (pm_offset_ == 0) throw std::logic_error("sim: power_state_stuck() needs pm() first");
  writable32(pm_offset_ + 4, 0);
  return *this;
}

SimFunction& SimFunction::stays_in_d3hot() {
  if (pm_offset_ == 0) throw std::logic_error("sim: stays_in_d3hot() needs pm() first");
  stays_in_d3hot_ = true;
  return *this;
}

SimFunction& SimFunction::soft_reset_ignored() {
  if (pm_offset_ == 0) throw std::logic_error("sim: soft_reset_ignored() needs pm() first");
  soft_reset_ignored_ = true;
  return *this;
}

SimFunction& SimFunction::link(uint8_t max_speed, bool active_reporting, uint64_t training_us) {
  if (pcie_offset_ == 0) throw std::logic_error("sim: link() needs pcie() first");
  poke32(pcie_offset_ + 0x0c, max_speed | (active_reporting ? 1u << 20 : 0));
  link_reporting_ = active_reporting;
  link_fast_ = max_speed > 2;  // above 5 GT/s
  link_training_us_ = training_us;
  return *this;
}

// Whether an access of `width` at `offset` writes a 1 to bit `bit` counted from byte `at`.
bool SimFunction::writes_bit(uint16_t offset, AccessWidth width, uint32_t value, uint16_t at, unsigned bit) {
  const unsigned byte = at + bit / 8;
  if (byte < offset || byte >= offset + static_cast<unsigned>(width)) return false;
  return ((value >> (8 * (byte - offset) + bit % 8)) & 1) != 0;
}

bool SimFunction::forbidden(pci::Bdf bdf, const char* what) {
  const uint64_t now = timeline_->now;
  std::string text;
  if (held_in_reset_) {
    text = printed("t=%lluus %s: %s while a bus reset holds it", static_cast<unsigned long long>(now),
                   where(bdf).c_str(), what);
  } else if (now < quiet_until_) {
    text = printed("t=%lluus %s: %s during the %s (until t=%lluus)", static_cast<unsigned long long>(now),
                   where(bdf).c_str(), what, quiet_reason_, static_cast<unsigned long long>(quiet_until_));
  } else {
    return false;
  }
  timeline_->violations.push_back(std::move(text));
  return true;
}

void SimFunction::refresh_dynamic_bits() {
  const uint64_t now = timeline_->now;
  const bool pending = pending_active_ && ((command() & command_bus_master) != 0 || pending_us_ == never_clears ||
                                           now - bus_master_off_at_ < pending_us_);
  if (pcie_offset_ != 0) set_bit(config_, pcie_offset_ + 0x0a, 5, pending);  // Device Status
  if (af_offset_ != 0) set_bit(config_, af_offset_ + 5, 0, pending);          // AF status
  if (pcie_offset_ != 0 && link_reporting_) {
    const bool up = now >= link_up_at_ && (peek16(bridge_control) & secondary_bus_reset) == 0;
    set_bit(config_, pcie_offset_ + 0x13, 5, up);  // Link Status: Data Link Layer Link Active
  }
}

uint32_t SimFunction::config_read(pci::Bdf bdf, uint16_t offset, AccessWidth width) {
  const uint32_t none = width == AccessWidth::word ? 0xffffffffu : (1u << (8 * int(width))) - 1;
  uint32_t value = none;
  if (!forbidden(bdf, "config read")) {
    if (timeline_->now < ready_at_) {
      // Not ready: Request Retry Status shows only in a Vendor ID read (§2.3.1).
      if (retry_status_ && offset == 0 && width != AccessWidth::byte) value = none & 0xffff0001u;
    } else {
      refresh_dynamic_bits();
      value = read(offset, width);
    }
  }
  timeline_->record(SimEvent::Kind::read, bdf, this, offset, static_cast<uint8_t>(width), value);
  return value;
}

void SimFunction::config_write(pci::Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) {
  timeline_->record(SimEvent::Kind::write, bdf, this, offset, static_cast<uint8_t>(width), value);
  if (forbidden(bdf, "config write")) return;
  if (timeline_->now < ready_at_) {
    timeline_->violations.push_back(printed("t=%lluus %s: config write before the function answers",
                                            static_cast<unsigned long long>(timeline_->now), where(bdf).c_str()));
    return;
  }
  const uint16_t old_command = command();
  const uint16_t old_pmcsr = pm_offset_ == 0 ? 0 : peek16(pm_offset_ + 4);
  const uint16_t old_bridge_control = is_bridge() ? peek16(bridge_control) : 0;
  write(offset, width, value);
  after_write(bdf, offset, width, value, old_command, old_pmcsr, old_bridge_control);
}

void SimFunction::after_write(pci::Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value, uint16_t old_command,
                              uint16_t old_pmcsr, uint16_t old_bridge_control) {
  const uint64_t now = timeline_->now;
  if ((old_command & command_bus_master) != 0 && (command() & command_bus_master) == 0) bus_master_off_at_ = now;
  const bool flr_capable = pcie_offset_ != 0 && (peek32(pcie_offset_ + 4) & device_capabilities_flr) != 0;
  if (flr_capable && writes_bit(offset, width, value, pcie_offset_ + 8, 15)) {  // Device Control: Initiate FLR
    timeline_->record(SimEvent::Kind::flr, bdf, this, offset, static_cast<uint8_t>(width), value);
    reset_registers(bdf, flr_quiet, "flr");
    return;
  }
  if (af_offset_ != 0 && af_flr_ && writes_bit(offset, width, value, af_offset_ + 4, 0)) {  // AF control
    timeline_->record(SimEvent::Kind::flr, bdf, this, offset, static_cast<uint8_t>(width), value);
    reset_registers(bdf, flr_quiet, "af flr");
    return;
  }
  if (pm_offset_ != 0) {
    const uint16_t old_state = old_pmcsr & 0x3;
    const uint16_t state = peek16(pm_offset_ + 4) & 0x3;
    if (state != old_state) {
      timeline_->record(SimEvent::Kind::power_state, bdf, this, offset, static_cast<uint8_t>(width), state);
      if (state == d3hot && stays_in_d3hot_) writable32(pm_offset_ + 4, 0);
      if (old_state == d3hot && state == 0 && (old_pmcsr & no_soft_reset) == 0 && !soft_reset_ignored_) {
        reset_registers(bdf, power_state_quiet, "D3hot -> D0 reset");
      } else {
        quiet_until_ = now + power_state_quiet;
        quiet_reason_ = "power state change";
      }
    }
  }
  if (is_bridge()) {
    const bool was_held = (old_bridge_control & secondary_bus_reset) != 0;
    const bool held = (peek16(bridge_control) & secondary_bus_reset) != 0;
    if (!was_held && held) {
      timeline_->record(SimEvent::Kind::bus_reset_assert, bdf, this, offset, static_cast<uint8_t>(width), value);
      bus_reset_at_ = now;
      hold_below(true, 0);
    } else if (was_held && !held) {
      timeline_->record(SimEvent::Kind::bus_reset_release, bdf, this, offset, static_cast<uint8_t>(width), value);
      if (now - bus_reset_at_ < shortest_bus_reset) {
        timeline_->violations.push_back(printed("t=%lluus %s: bus reset held %lluus, less than 1 ms",
                                                static_cast<unsigned long long>(now), where(bdf).c_str(),
                                                static_cast<unsigned long long>(now - bus_reset_at_)));
      }
      link_up_at_ = now + link_training_us_;
      uint64_t quiet = after_bus_reset_quiet;
      if (secondary_conventional_) quiet = conventional_bus_quiet;
      if (link_reporting_ && link_fast_) quiet = link_training_us_ + after_bus_reset_quiet;
      hold_below(false, quiet);
    }
  }
}

void SimFunction::reset_registers(pci::Bdf bdf, uint64_t quiet_us, const char* reason) {
  config_ = power_on_;
  for (const uint16_t offset : stuck_after_reset_) writable32(offset, 0);
  if (stays_in_d3hot_) writable32(pm_offset_ + 4, 0x3);  // back in D0, until the next D3hot
  ++resets_;
  pending_active_ = false;  // a reset ends whatever was outstanding
  quiet_until_ = timeline_->now + quiet_us;
  quiet_reason_ = reason;
  ready_at_ = later(quiet_until_, not_ready_us_);
  timeline_->record(SimEvent::Kind::function_reset, bdf, this);
}

// Everything below this bridge: held in reset (registers at power-on values) while
// Secondary Bus Reset is set, then quiet for `quiet_us` once it is released.
void SimFunction::hold_below(bool held, uint64_t quiet_us) {
  if (!secondary_) return;
  for (const auto& f : secondary_->functions()) {
    const pci::Bdf bdf{secondary_bus(), f->device(), f->function()};
    if (held) {
      f->reset_registers(bdf, 0, "bus reset");
      f->held_in_reset_ = true;
    } else {
      f->held_in_reset_ = false;
      f->quiet_until_ = timeline_->now + quiet_us;
      f->quiet_reason_ = "wait after a bus reset";
      f->ready_at_ = later(f->quiet_until_, f->not_ready_us_);
    }
    f->hold_below(held, quiet_us);
  }
}

}  // namespace bulkhead::sim
