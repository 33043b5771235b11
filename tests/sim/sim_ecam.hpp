// A simulated ECAM for host tests of pci/: functions with real register semantics
// (per-bit write masks, so BAR size probing, bridge window probing and 64-bit BAR pairs
// behave like hardware), and bridges that route configuration cycles only to buses in
// their programmed [secondary, subordinate] range: a device behind a bridge is invisible
// until the bridge is numbered, exactly like on a machine no firmware has touched.
// Functions can also be reset (FLR, PM D3hot -> D0, secondary bus reset: sim_reset.cpp),
// against the time of the ECAM's timeline (sim_timeline.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "pci/config_access.hpp"
#include "tests/sim/sim_timeline.hpp"

namespace bulkhead::sim {

using pci::AccessWidth;
using pci::Bdf;

enum class BarType { mem32, mem64, io32, io16 };

struct BridgeOptions {
  uint8_t pcie_type = 0xff;  // PCI Express device/port type; 0xff: conventional (no capability)
  bool io_window = true;
  bool io_32bit = false;
  bool prefetchable_window = true;
  bool prefetchable_64bit = true;
};

class SimBus;

class SimFunction {
 public:
  SimFunction(uint8_t device, uint8_t function, uint16_t vendor, uint16_t device_id, uint32_t class_code,
              uint8_t header_type, SimTimeline* timeline)
      : device_(device), function_(function), timeline_(timeline) {
    poke16(0x00, vendor);
    poke16(0x02, device_id);
    poke32(0x08, class_code << 8 | 0x01);
    poke8(0x0e, header_type);
    writable32(0x04, 0x0547);  // io, memory, bus master, parity, SERR, INTx disable
    writable32(0x0c, 0xff);    // cache line size
    writable32(0x3c, 0xff);    // interrupt line
  }

  uint8_t device() const { return device_; }
  uint8_t function() const { return function_; }
  bool is_bridge() const { return (peek8(0x0e) & 0x7f) == 1; }
  SimBus* secondary() const { return secondary_.get(); }

  // Raw access for building and checking: ignores write masks. What is poked is also the
  // power-on value a reset returns to.
  void poke8(uint16_t offset, uint8_t value) { config_.at(offset) = power_on_.at(offset) = value; }
  void poke16(uint16_t offset, uint16_t value) { for (int i = 0; i < 2; ++i) poke8(offset + i, value >> (8 * i)); }
  void poke32(uint16_t offset, uint32_t value) { for (int i = 0; i < 4; ++i) poke8(offset + i, value >> (8 * i)); }
  uint8_t peek8(uint16_t offset) const { return config_.at(offset); }
  uint16_t peek16(uint16_t offset) const { return static_cast<uint16_t>(peek8(offset) | peek8(offset + 1) << 8); }
  uint32_t peek32(uint16_t offset) const { return peek16(offset) | static_cast<uint32_t>(peek16(offset + 2)) << 16; }
  void writable32(uint16_t offset, uint32_t mask) {
    for (int i = 0; i < 4; ++i) write_mask_.at(offset + i) = static_cast<uint8_t>(mask >> (8 * i));
  }

  // Configuration-space semantics of the registers alone (no time, no reset state).
  uint32_t read(uint16_t offset, AccessWidth width) const {
    if (offset >= config_size_) return width == AccessWidth::word ? 0xffffffffu : (1u << (8 * int(width))) - 1;
    uint32_t value = 0;
    for (int i = 0; i < int(width); ++i) value |= static_cast<uint32_t>(config_[offset + i]) << (8 * i);
    return value;
  }
  void write(uint16_t offset, AccessWidth width, uint32_t value) {
    if (offset >= config_size_) return;
    note_sizing(offset, value, width);
    for (int i = 0; i < int(width); ++i) {
      const uint8_t mask = write_mask_[offset + i];
      const uint8_t byte = static_cast<uint8_t>(value >> (8 * i));
      config_[offset + i] = static_cast<uint8_t>((config_[offset + i] & ~mask) | (byte & mask));
    }
  }

  // ---- builders ----
  SimFunction& bar(uint8_t slot, BarType type, uint64_t size, bool prefetchable = false) {
    set_bar_register(static_cast<uint16_t>(0x10 + 4 * slot), type, size, prefetchable);
    return *this;
  }
  SimFunction& rom(uint32_t size) {
    const uint16_t offset = is_bridge() ? 0x38 : 0x30;
    writable32(offset, (~(size - 1) & 0xfffff800u) | 1u);
    return *this;
  }
  SimFunction& pin(uint8_t pin) {
    poke8(0x3d, pin);
    return *this;
  }
  // Appends a standard capability (or places it at `at`); returns its offset.
  uint8_t add_capability(uint8_t id, uint8_t length, uint8_t at = 0) {
    if (at == 0) at = next_capability_;
    next_capability_ = static_cast<uint8_t>(std::max<int>(next_capability_, (at + length + 3) & ~3));
    poke8(at, id);
    poke8(at + 1, 0);
    if (last_capability_ == 0) {
      poke8(0x34, at);
      poke16(0x06, peek16(0x06) | 0x10);
    } else {
      poke8(last_capability_ + 1, at);
    }
    last_capability_ = at;
    return at;
  }
  // PowerState (PMCSR [1:0]) is writable; with No_Soft_Reset clear, D3hot -> D0 resets.
  SimFunction& pm(bool no_soft_reset = false) {
    const uint8_t at = add_capability(0x01, 8);
    if (pm_offset_ == 0) pm_offset_ = at;
    if (no_soft_reset) poke8(at + 4, 0x08);
    writable32(at + 4, 0x3);
    return *this;
  }
  SimFunction& msi(uint8_t log2_vectors, bool address_64bit, bool per_vector_mask) {
    const uint8_t at = add_capability(0x05, 0x18);
    poke16(at + 2, static_cast<uint16_t>(log2_vectors << 1 | (address_64bit ? 0x80 : 0) | (per_vector_mask ? 0x100 : 0)));
    writable32(at, 0x00710000);  // enable, multiple message enable
    return *this;
  }
  SimFunction& msix(uint16_t table_size, uint8_t table_bar, uint32_t table_offset, uint8_t pba_bar, uint32_t pba_offset) {
    const uint8_t at = add_capability(0x11, 12);
    poke16(at + 2, static_cast<uint16_t>(table_size - 1));
    poke32(at + 4, table_offset | table_bar);
    poke32(at + 8, pba_offset | pba_bar);
    writable32(at, 0xc0000000u);  // enable, function mask
    return *this;
  }
  SimFunction& pcie(uint8_t port_type) {
    const uint8_t at = add_capability(0x10, 0x3c);
    poke16(at + 2, static_cast<uint16_t>(0x2 | port_type << 4));
    if (pcie_offset_ == 0) pcie_offset_ = at;
    config_size_ = 4096;
    return *this;
  }
  // Appends an extended capability (or places it at `at`); returns its offset.
  uint16_t add_extended_capability(uint16_t id, uint16_t length, uint16_t at = 0) {
    if (at == 0) at = next_extended_;
    next_extended_ = static_cast<uint16_t>(std::max<int>(next_extended_, (at + length + 3) & ~3));
    poke32(at, id | 1u << 16);
    if (last_extended_ != 0) poke32(last_extended_, (peek32(last_extended_) & 0xfffff) | static_cast<uint32_t>(at) << 20);
    last_extended_ = at;
    return at;
  }
  SimFunction& acs() {
    add_extended_capability(0x000d, 8);
    return *this;
  }
  SimFunction& aer() {
    add_extended_capability(0x0001, 0x48);
    return *this;
  }
  struct VfBar {
    uint8_t slot;
    BarType type;
    uint64_t size;
    bool prefetchable;
  };
  SimFunction& sriov(uint16_t total_vfs, std::initializer_list<VfBar> bars, uint16_t vf_device = 0x10ed) {
    const uint16_t at = add_extended_capability(0x0010, 0x40);
    sriov_offset_ = at;
    writable32(at + 0x08, 0x0000001f);  // VF enable, VF memory space enable, ...
    poke32(at + 0x0c, static_cast<uint32_t>(total_vfs) << 16 | total_vfs);
    poke32(at + 0x14, 1u << 16 | 0x80);  // stride 1, first VF offset 0x80
    poke32(at + 0x18, static_cast<uint32_t>(vf_device) << 16);
    for (const VfBar& b : bars) set_bar_register(static_cast<uint16_t>(at + 0x24 + 4 * b.slot), b.type, b.size, b.prefetchable);
    return *this;
  }

  // ---- reset behaviour (sim_reset.cpp) ----
  // Device Capabilities advertise FLR (after pcie()); Initiate FLR then resets.
  SimFunction& flr();
  // An Advanced Features capability with these capability bits; Initiate FLR resets when
  // `flr` is set.
  SimFunction& advanced_features(bool flr, bool transactions_pending);
  // Transactions Pending (Device Status, and the Advanced Features status) reads set while
  // bus master is on and for `microseconds` after it goes off; never_clears: forever.
  static constexpr uint64_t never_clears = std::numeric_limits<uint64_t>::max();
  SimFunction& transactions_pending_for(uint64_t microseconds);
  // After a reset's quiet time the function still does not answer for `microseconds`:
  // reads are all ones, or with `retry_status` a Vendor ID read answers Request Retry
  // Status (0001h). never_ready: it never answers again.
  static constexpr uint64_t never_ready = std::numeric_limits<uint64_t>::max();
  SimFunction& not_ready_for(uint64_t microseconds, bool retry_status = false);
  // The register dword at `offset` becomes read-only at the next reset (a BAR that no
  // longer takes an address, say).
  SimFunction& stuck_after_reset(uint16_t offset);
  // PowerState ignores writes.
  SimFunction& power_state_stuck();
  // Once in D3hot, PowerState ignores writes: the function never returns to D0.
  SimFunction& stays_in_d3hot();
  // D3hot -> D0 changes PowerState but resets nothing, No_Soft_Reset clear or not (the
  // devices of QEMU 7.2, which has no power management model).
  SimFunction& soft_reset_ignored();
  // A bridge's link: Link Capabilities' maximum speed (1: 2.5 GT/s, 2: 5 GT/s, 3: 8 GT/s,
  // ...) and Data Link Layer Link Active reporting; after a bus reset the link is up
  // again `training_us` later.
  SimFunction& link(uint8_t max_speed, bool active_reporting, uint64_t training_us);

  // Config accesses as the ECAM delivers them at `bdf`, at the timeline's time.
  uint32_t config_read(pci::Bdf bdf, uint16_t offset, AccessWidth width);
  void config_write(pci::Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value);

  // ---- observations ----
  unsigned resets() const { return resets_; }
  uint16_t power_state() const { return pm_offset_ == 0 ? 0 : static_cast<uint16_t>(peek16(pm_offset_ + 4) & 0x3); }
  uint8_t pm_offset() const { return pm_offset_; }
  uint8_t pcie_offset() const { return pcie_offset_; }
  uint8_t last_capability() const { return last_capability_; }
  uint16_t last_extended_capability() const { return last_extended_; }
  unsigned sized_while_decoding() const { return sized_while_decoding_; }
  uint16_t command() const { return peek16(0x04); }
  uint8_t primary_bus() const { return peek8(0x18); }
  uint8_t secondary_bus() const { return peek8(0x19); }
  uint8_t subordinate_bus() const { return peek8(0x1a); }
  uint64_t bar_address(uint8_t slot) const {
    const uint32_t low = peek32(0x10 + 4 * slot);
    if ((low & 1) != 0) return low & ~3u;
    uint64_t address = low & ~0xfu;
    if ((low & 6) == 4) address |= static_cast<uint64_t>(peek32(0x14 + 4 * slot)) << 32;
    return address;
  }
  // Decoded bridge windows (bus addresses, inclusive); open when base <= limit.
  struct Window {
    bool open;
    uint64_t base;
    uint64_t limit;
  };
  Window io_window() const {
    const uint16_t r = peek16(0x1c);
    uint64_t base = (r & 0xf0u) << 8, limit = ((r >> 8) & 0xf0u) << 8 | 0xfff;
    if ((r & 0xf) == 1) {
      base |= static_cast<uint64_t>(peek16(0x30)) << 16;
      limit |= static_cast<uint64_t>(peek16(0x32)) << 16;
    }
    return {r != 0 && base <= limit, base, limit};
  }
  Window memory_window() const {
    const uint32_t r = peek32(0x20);
    const uint64_t base = (r & 0xfff0u) << 16, limit = ((r >> 16) & 0xfff0u) << 16 | 0xfffff;
    return {base <= limit, base, limit};
  }
  Window prefetchable_window() const {
    const uint32_t r = peek32(0x24);
    uint64_t base = static_cast<uint64_t>(r & 0xfff0u) << 16, limit = static_cast<uint64_t>((r >> 16) & 0xfff0u) << 16 | 0xfffff;
    if ((r & 0xf) == 1) {
      base |= static_cast<uint64_t>(peek32(0x28)) << 32;
      limit |= static_cast<uint64_t>(peek32(0x2c)) << 32;
    }
    return {r != 0 && base <= limit, base, limit};
  }

 private:
  friend class SimBus;

  void make_bridge(const BridgeOptions& options, bool link_below);

  // sim_reset.cpp
  bool forbidden(pci::Bdf bdf, const char* what);
  void refresh_dynamic_bits();
  void after_write(pci::Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value, uint16_t old_command,
                   uint16_t old_pmcsr, uint16_t old_bridge_control);
  void reset_registers(pci::Bdf bdf, uint64_t quiet_us, const char* reason);
  void hold_below(bool held, uint64_t quiet_us);
  static bool writes_bit(uint16_t offset, AccessWidth width, uint32_t value, uint16_t at, unsigned bit);

  void set_bar_register(uint16_t offset, BarType type, uint64_t size, bool prefetchable) {
    const uint64_t address_mask = ~(size - 1);
    switch (type) {
      case BarType::mem32:
        poke32(offset, prefetchable ? 0x8 : 0x0);
        writable32(offset, static_cast<uint32_t>(address_mask) & 0xfffffff0u);
        break;
      case BarType::mem64:
        poke32(offset, prefetchable ? 0xc : 0x4);
        writable32(offset, static_cast<uint32_t>(address_mask) & 0xfffffff0u);
        writable32(offset + 4, static_cast<uint32_t>(address_mask >> 32));
        break;
      case BarType::io32:
        poke32(offset, 0x1);
        writable32(offset, static_cast<uint32_t>(address_mask) & 0xfffffffcu);
        break;
      case BarType::io16:
        poke32(offset, 0x1);
        writable32(offset, static_cast<uint32_t>(address_mask) & 0x0000fffcu);
        break;
    }
  }

  // Sizing means writing all ones to a BAR; doing it while that BAR decodes is the bug
  // "size with decoding disabled" prevents.
  void note_sizing(uint16_t offset, uint32_t value, AccessWidth width) {
    if (width != AccessWidth::word || (value != 0xffffffffu && value != 0xfffff800u)) return;
    const bool bridge = is_bridge();
    const bool bar = offset >= 0x10 && offset < (bridge ? 0x18 : 0x28);
    const bool rom = offset == (bridge ? 0x38 : 0x30);
    if ((bar || rom) && (peek16(0x04) & 0x3) != 0) ++sized_while_decoding_;
    if (sriov_offset_ != 0 && offset >= sriov_offset_ + 0x24 && offset < sriov_offset_ + 0x3c &&
        (peek16(sriov_offset_ + 0x08) & 0x8) != 0) {
      ++sized_while_decoding_;
    }
  }

  uint8_t device_;
  uint8_t function_;
  SimTimeline* timeline_;
  std::vector<uint8_t> config_ = std::vector<uint8_t>(4096, 0);
  std::vector<uint8_t> power_on_ = std::vector<uint8_t>(4096, 0);
  std::vector<uint8_t> write_mask_ = std::vector<uint8_t>(4096, 0);
  uint16_t config_size_ = 256;
  uint8_t next_capability_ = 0x40;
  uint8_t last_capability_ = 0;
  uint16_t next_extended_ = 0x100;
  uint16_t last_extended_ = 0;
  uint16_t sriov_offset_ = 0;
  unsigned sized_while_decoding_ = 0;
  std::unique_ptr<SimBus> secondary_;
  bool secondary_conventional_ = false;  // a conventional PCI bus below this bridge

  // Reset behaviour (sim_reset.cpp).
  uint8_t pcie_offset_ = 0;
  uint8_t pm_offset_ = 0;
  uint8_t af_offset_ = 0;
  bool af_flr_ = false;
  bool stays_in_d3hot_ = false;
  bool soft_reset_ignored_ = false;
  unsigned resets_ = 0;
  bool pending_active_ = false;
  uint64_t pending_us_ = 0;
  uint64_t bus_master_off_at_ = 0;
  uint64_t not_ready_us_ = 0;
  bool retry_status_ = false;
  std::vector<uint16_t> stuck_after_reset_;
  bool held_in_reset_ = false;   // by the bus reset of a bridge above
  uint64_t quiet_until_ = 0;     // no access is allowed before
  const char* quiet_reason_ = "";
  uint64_t ready_at_ = 0;        // answers from then on
  uint64_t bus_reset_at_ = 0;    // this bridge's Secondary Bus Reset was asserted then
  bool link_reporting_ = false;
  bool link_fast_ = false;
  uint64_t link_training_us_ = 0;
  uint64_t link_up_at_ = 0;
};

class SimBus {
 public:
  explicit SimBus(SimTimeline* timeline, bool link = false) : timeline_(timeline), link_(link) {}

  // A bus below a PCIe port is a link: only device 0 answers there.
  bool link() const { return link_; }

  SimFunction& add(uint8_t device, uint8_t function, uint16_t vendor, uint16_t device_id, uint32_t class_code,
                   uint8_t header_type = 0) {
    if (find(device, function) != nullptr) throw std::logic_error("sim: function added twice");
    functions_.push_back(
        std::make_unique<SimFunction>(device, function, vendor, device_id, class_code, header_type, timeline_));
    SimFunction& added = *functions_.back();
    // Function 0 advertises multi-function as soon as the device has a second function.
    SimFunction* first = find(device, 0);
    for (const auto& f : functions_) {
      if (first != nullptr && f->device() == device && f->function() != 0) first->poke8(0x0e, first->peek8(0x0e) | 0x80);
    }
    return added;
  }
  SimFunction& endpoint(uint8_t device, uint8_t function = 0, uint16_t vendor = 0x1b36, uint16_t device_id = 0x0001,
                        uint32_t class_code = 0x020000) {
    return add(device, function, vendor, device_id, class_code);
  }
  SimFunction& pcie_endpoint(uint8_t device, uint8_t function = 0, uint16_t vendor = 0x8086, uint16_t device_id = 0x10d3,
                             uint32_t class_code = 0x020000) {
    return add(device, function, vendor, device_id, class_code).pcie(0x0);
  }
  SimFunction& bridge(uint8_t device, uint8_t function, uint16_t vendor, uint16_t device_id, const BridgeOptions& options) {
    SimFunction& f = add(device, function, vendor, device_id, 0x060400, 1);
    const bool link_below = options.pcie_type == 0x4 || options.pcie_type == 0x6 || options.pcie_type == 0x8;
    f.make_bridge(options, link_below);
    return f;
  }
  SimFunction& root_port(uint8_t device, uint8_t function = 0) {
    return bridge(device, function, 0x1b36, 0x000c, BridgeOptions{.pcie_type = 0x4});
  }
  SimFunction& upstream_port(uint8_t device) {
    return bridge(device, 0, 0x104c, 0x8232, BridgeOptions{.pcie_type = 0x5});
  }
  SimFunction& downstream_port(uint8_t device) {
    return bridge(device, 0, 0x104c, 0x8233, BridgeOptions{.pcie_type = 0x6});
  }
  SimFunction& pcie_pci_bridge(uint8_t device) {
    return bridge(device, 0, 0x1b36, 0x000e, BridgeOptions{.pcie_type = 0x7});
  }
  SimFunction& pci_bridge(uint8_t device) {
    return bridge(device, 0, 0x1b36, 0x0001, BridgeOptions{});
  }

  SimFunction* find(uint8_t device, uint8_t function) const {
    for (const auto& f : functions_) {
      if (f->device() == device && f->function() == function) return f.get();
    }
    return nullptr;
  }
  const std::vector<std::unique_ptr<SimFunction>>& functions() const { return functions_; }

 private:
  SimTimeline* timeline_;
  bool link_;
  std::vector<std::unique_ptr<SimFunction>> functions_;
};

inline void SimFunction::make_bridge(const BridgeOptions& options, bool link_below) {
  secondary_ = std::make_unique<SimBus>(timeline_, link_below);
  secondary_conventional_ = options.pcie_type == 0xff || options.pcie_type == 0x7;
  writable32(0x18, 0xffffffffu);  // primary, secondary, subordinate, secondary latency
  if (options.io_window) {
    const uint16_t type = options.io_32bit ? 0x0101 : 0x0000;
    poke16(0x1c, type);
    writable32(0x1c, 0x0000f0f0);
    if (options.io_32bit) writable32(0x30, 0xffffffffu);
  }
  writable32(0x20, 0xfff0fff0u);
  if (options.prefetchable_window) {
    poke32(0x24, options.prefetchable_64bit ? 0x00010001 : 0);
    writable32(0x24, 0xfff0fff0u);
    if (options.prefetchable_64bit) {
      writable32(0x28, 0xffffffffu);
      writable32(0x2c, 0xffffffffu);
    }
  }
  writable32(0x3c, 0x0fff00ffu);  // interrupt line, bridge control
  if (options.pcie_type != 0xff) pcie(options.pcie_type);
}

// One host bridge's configuration space. Buses are routed like hardware: the root bus
// directly, any other bus through the single bridge whose [secondary, subordinate]
// holds it. Counts every access, per function too.
class SimEcam final : public pci::ConfigAccessor {
 public:
  explicit SimEcam(uint8_t root_bus = 0) : root_bus_(root_bus) {}

  SimBus& root() { return root_; }
  SimTimeline& timeline() { return timeline_; }
  uint8_t root_bus() const { return root_bus_; }

  uint32_t read(Bdf bdf, uint16_t offset, AccessWidth width) override {
    ++reads_;
    ++reads_by_function_[key(bdf)];
    if (!valid(offset, width)) return 0xffffffffu;
    SimFunction* f = reachable(bdf);
    if (f != nullptr) return f->config_read(bdf, offset, width);
    const uint32_t none = width == AccessWidth::word ? 0xffffffffu : (1u << (8 * int(width))) - 1;
    timeline_.record(SimEvent::Kind::read, bdf, nullptr, offset, static_cast<uint8_t>(width), none);
    return none;
  }
  void write(Bdf bdf, uint16_t offset, AccessWidth width, uint32_t value) override {
    ++writes_;
    if (!valid(offset, width)) return;
    if (SimFunction* f = reachable(bdf)) {
      f->config_write(bdf, offset, width, value);
    } else {
      timeline_.record(SimEvent::Kind::write, bdf, nullptr, offset, static_cast<uint8_t>(width), value);
    }
  }

  // The function config cycles to `bdf` reach now, given the bridges' bus numbers.
  SimFunction* reachable(Bdf bdf) {
    const SimBus* bus = route(bdf.bus);
    if (bus == nullptr || (bus->link() && bdf.device != 0)) return nullptr;
    return bus->find(bdf.device, bdf.function);
  }

  unsigned reads() const { return reads_; }
  unsigned writes() const { return writes_; }
  unsigned accesses() const { return reads_ + writes_; }
  unsigned reads_of(Bdf bdf) const {
    const auto it = reads_by_function_.find(key(bdf));
    return it == reads_by_function_.end() ? 0 : it->second;
  }
  const std::map<uint32_t, unsigned>& reads_by_function() const { return reads_by_function_; }
  unsigned misaligned_accesses() const { return misaligned_; }
  unsigned routing_conflicts() const { return conflicts_; }
  void reset_counters() {
    reads_ = writes_ = misaligned_ = conflicts_ = 0;
    reads_by_function_.clear();
  }
  // Sum over every simulated function.
  unsigned sized_while_decoding() const { return sized_while_decoding(root_); }

  static uint32_t key(Bdf bdf) { return static_cast<uint32_t>(bdf.bus) << 8 | bdf.devfn(); }

 private:
  bool valid(uint16_t offset, AccessWidth width) {
    if (offset % int(width) != 0 || offset + int(width) > 4096) {
      ++misaligned_;
      return false;
    }
    return true;
  }

  const SimBus* route(uint8_t bus) {
    if (bus == root_bus_) return &root_;
    return route_below(root_, bus);
  }

  const SimBus* route_below(const SimBus& from, uint8_t bus) {
    const SimFunction* claimant = nullptr;
    for (const auto& f : from.functions()) {
      if (!f->is_bridge()) continue;
      if (f->secondary_bus() <= bus && bus <= f->subordinate_bus()) {
        if (claimant != nullptr) {
          ++conflicts_;  // two bridges claim the bus: a numbering bug
          return nullptr;
        }
        claimant = f.get();
      }
    }
    if (claimant == nullptr) return nullptr;
    if (claimant->secondary_bus() == bus) return claimant->secondary();
    return route_below(*claimant->secondary(), bus);
  }

  static unsigned sized_while_decoding(const SimBus& bus) {
    unsigned total = 0;
    for (const auto& f : bus.functions()) {
      total += f->sized_while_decoding();
      if (f->secondary() != nullptr) total += sized_while_decoding(*f->secondary());
    }
    return total;
  }

  uint8_t root_bus_;
  SimTimeline timeline_;
  SimBus root_{&timeline_};
  unsigned reads_ = 0;
  unsigned writes_ = 0;
  unsigned misaligned_ = 0;
  unsigned conflicts_ = 0;
  std::map<uint32_t, unsigned> reads_by_function_;
};

}  // namespace bulkhead::sim
