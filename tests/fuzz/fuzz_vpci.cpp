// libFuzzer target for the virtual PCI bus (pci/vpci): any sequence of guest accesses to
// the virtual ECAM, the I/O window and trapped BAR ranges, with resets, against functions
// enumerated on the simulated ECAM. After every access:
// - no physical config write outside the command register's four guest bits, the status
//   RW1C error bits and PCI Express Device Control's safe bits / Device Status's RW1C
//   bits; bus master only when allowed; INTx disabled when the partition may not use it;
//   never FLR; the physical BARs, ROM, MSI/MSI-X enables and power state never change;
// - no stage-2 mapping outside the partition's windows, over a reserved range or another
//   mapping, or onto anything but a page range of the partition's own BARs (never another
//   function's BAR, never a trapped range); unmaps undo exactly one mapping;
// - no host physical address readable by the guest: the same accesses run on a second
//   machine whose BARs sit at other host addresses, and everything the guest sees (read
//   values, what it can tell from mappings, logs, I/O offsets) must be identical.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_support.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"
#include "tests/sim/pci_harness.hpp"

namespace {

using namespace bulkhead;
using sim::BarType;
using sim::SimEcam;
using sim::SimFunction;
namespace vpci = bulkhead::pci::vpci;
namespace vreg = bulkhead::pci::vpci::reg;

constexpr uint64_t page = 0x1000;
const vpci::GuestWindows windows{{0x10000000, 0x2eff0000}, {0x8000000000ull, 0x8000000000ull}, {0x3eff0000, 0x10000}};
const AddressRange guest_ram{0x40000000, 0x40000000};
const AddressRange emulated{0x3e000000, 0x10000};  // inside the 32-bit window, for the rule

void check(bool ok, const char* what) {
  if (!ok) fuzz::invariant_failed(what);
}

bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a < b + b_size && b < a + a_size; }
bool inside(uint64_t a, uint64_t a_size, const AddressRange& r) {
  return a >= r.base && a - r.base <= r.size && a_size <= r.size - (a - r.base);
}

// Deterministic device data, the same on both machines.
uint32_t device_value(uint64_t offset) { return static_cast<uint32_t>(offset * 0x9e3779b1u) ^ 0x5a5a5a5au; }

class FakeCapability final : public vpci::CapabilityHandler {
 public:
  uint32_t read_config(uint16_t offset) override { return device_value(offset); }
  void write_config(uint16_t, uint32_t, uint8_t) override {}
  uint32_t read_trapped(uint8_t bar, uint64_t offset, pci::AccessWidth) override {
    return device_value(offset + bar);
  }
  void write_trapped(uint8_t, uint64_t, pci::AccessWidth, uint32_t) override {}
  void reset() override {}
};

// One machine: a simulated host bridge with the partition's functions and another
// partition's, enumerated once; restored to that state before each input.
struct Machine {
  SimEcam ecam;
  sim::PciHarness harness;
  std::vector<std::pair<SimFunction*, std::vector<uint8_t>>> snapshot;  // owned functions' headers
  std::vector<const pci::Function*> owned;
  std::vector<const pci::Function*> others;

  explicit Machine(const PcieHostInfo& host) {
    SimFunction& a = ecam.root().pcie_endpoint(1, 0, 0x8086, 0x10d3);
    a.bar(0, BarType::mem32, 0x20000).bar(1, BarType::io32, 0x20).bar(2, BarType::mem64, 0x4000, true);
    a.bar(4, BarType::mem32, 0x100).rom(0x800).pin(1);
    a.pm();
    a.msi(3, true, true);
    a.add_capability(0x09, 0x10);
    a.msix(8, 0, 0x1000, 0, 0x1800);
    a.aer();
    a.writable32(0x48, 0x0000ffff);  // Device Control
    a.poke32(0x44, 0x10008fc0);      // Device Capabilities with FLR
    ecam.root().endpoint(2, 0, 0x1af4, 0x1000).bar(0, BarType::io16, 0x100).bar(1, BarType::mem32, 0x10).pin(2);
    ecam.root().endpoint(2, 1, 0x1af4, 0x1001).bar(0, BarType::mem32, 0x1000).pin(1);
    ecam.root().endpoint(3, 0, 0x1234, 0x11e8).bar(0, BarType::mem32, 0x1000).bar(1, BarType::mem32, 0x10);
    ecam.root().root_port(4).secondary()->pcie_endpoint(0).bar(0, BarType::mem64, 0x100000).pin(1);
    harness.add_host(host, &ecam);
    check(harness.enumerate(), "enumeration");
    for (const auto& [bus, device, function] : {std::tuple{0, 1, 0}, {0, 2, 0}, {0, 2, 1}, {1, 0, 0}}) {
      owned.push_back(&harness.function(0, bus, device, function));
    }
    others.push_back(&harness.function(0, 0, 3, 0));
    for (const pci::Function* f : owned) {
      SimFunction* s = ecam.reachable(f->address.bdf);
      std::vector<uint8_t> bytes(0x100);
      for (uint16_t i = 0; i < 0x100; ++i) bytes[i] = s->peek8(i);
      snapshot.emplace_back(s, std::move(bytes));
    }
  }

  void restore() {
    for (auto& [s, bytes] : snapshot) {
      for (uint16_t i = 0; i < 0x100; ++i) s->poke8(i, bytes[i]);
    }
    ecam.reset_counters();
  }
};

PcieHostInfo shifted_host() {
  PcieHostInfo host = sim::qemu_host();
  host.windows[0].cpu_address = 0x3efe0000;
  host.windows[1] = {PciSpace::mem32, false, 0x20000000, 0x20000000, 0x1eff0000};
  host.windows[2] = {PciSpace::mem64, false, 0x9000000000ull, 0x9000000000ull, 0x4000000000ull};
  return host;
}

// The machine as the bus sees it, checking every request; records what the guest could
// observe of each, for the comparison with the other machine.
class CheckingHost final : public vpci::VpciHost {
 public:
  CheckingHost(Machine& machine, const vpci::VirtualPciBus& bus) : machine_(machine), bus_(bus) {}

  void start(bool legacy_intx, bool bus_master_allowed, uint8_t map_failures) {
    legacy_intx_ = legacy_intx;
    bus_master_allowed_ = bus_master_allowed;
    map_failures_ = map_failures;
    maps_ = 0;
    mapped_.clear();
    observed.clear();
  }
  void trap(const pci::Function* f, uint64_t first, uint64_t end) { trap_ = {f, first, end}; }
  void no_trap() { trap_ = {}; }

  uint32_t config_read(const pci::Function& f, uint16_t offset, pci::AccessWidth width) override {
    check(is_owned(f), "config read of a function the partition does not own");
    return machine_.ecam.read(f.address.bdf, offset, width);
  }

  void config_write(const pci::Function& f, uint16_t offset, pci::AccessWidth width, uint32_t value) override {
    check(is_owned(f), "config write to a function the partition does not own");
    check(width == pci::AccessWidth::half, "physical config writes are 16-bit");
    const uint16_t pcie = f.caps.pcie.offset;
    if (offset == vreg::command) {
      check((value & ~vreg::command_guest_bits) == (f.command & ~vreg::command_guest_bits),
            "command bits outside the guest's changed");
      check((value & vreg::command_bus_master) == 0 || bus_master_allowed_, "bus master without DMA isolation");
      check(legacy_intx_ || (value & vreg::command_interrupt_disable) != 0, "INTx enabled for a denied partition");
    } else if (offset == vreg::status) {
      check((value & ~vreg::status_error_bits) == 0, "status write beyond the RW1C error bits");
    } else if (pcie != 0 && offset == pcie + vreg::pcie::device_control) {
      const uint16_t now = static_cast<uint16_t>(machine_.ecam.read(f.address.bdf, offset, width));
      check((value & ~vreg::pcie::device_control_guest_bits) == (now & ~vreg::pcie::device_control_guest_bits),
            "Device Control bits outside the safe ones changed");
      check((value & vreg::pcie::device_control_initiate_flr) == 0, "Initiate FLR");
    } else if (pcie != 0 && offset == pcie + vreg::pcie::device_control + 2) {
      check((value & ~vreg::pcie::device_status_error_bits) == 0, "Device Status write beyond the RW1C bits");
    } else {
      check(false, "config write to a register the guest may not reach");
    }
    observed.push_back("config-write " + std::to_string(index_of(f)) + " " + std::to_string(offset) + " " +
                       std::to_string(value));
    machine_.ecam.write(f.address.bdf, offset, width, value);
  }

  bool map_mmio(uint64_t guest, uint64_t host, uint64_t size) override {
    check(guest % page == 0 && host % page == 0 && size % page == 0 && size != 0, "map not in whole pages");
    check(inside(guest, size, windows.mmio32) || inside(guest, size, windows.mmio64), "map outside the windows");
    check(!overlaps(guest, size, guest_ram.base, guest_ram.size), "map over guest RAM");
    check(!overlaps(guest, size, emulated.base, emulated.size), "map over an emulated region");
    for (const auto& [base, mapping] : mapped_) check(!overlaps(guest, size, base, mapping.second), "map over a map");
    bool own_bar = false;
    uint64_t offset_in_bar = 0;
    for (const pci::Function* f : machine_.owned) {
      for (const pci::Bar& bar : f->bars) {
        if (bar.kind != pci::BarKind::mem32 && bar.kind != pci::BarKind::mem64) continue;
        if (!inside(host, size, {bar.cpu_address, vpci::guest_bar_size(bar)})) continue;
        own_bar = true;
        offset_in_bar = host - bar.cpu_address;
        if (f == trap_.function && &bar == &f->bars[0]) {
          check(!overlaps(host, size, bar.cpu_address + trap_.first, trap_.end - trap_.first), "trapped range mapped");
        }
      }
    }
    check(own_bar, "map onto something that is not the partition's own BAR");
    for (const pci::Function* f : machine_.others) {
      for (const pci::Bar& bar : f->bars) {
        if (bar.kind == pci::BarKind::mem32 || bar.kind == pci::BarKind::mem64) {
          check(!overlaps(host, size, bar.cpu_address, bar.size), "map onto another function's BAR");
        }
      }
    }
    observed.push_back("map " + std::to_string(guest) + " " + std::to_string(size) + " +" +
                       std::to_string(offset_in_bar));
    if (map_failures_ != 0 && ++maps_ % map_failures_ == 0) return false;
    mapped_[guest] = {host, size};
    return true;
  }

  void unmap_mmio(uint64_t guest, uint64_t size) override {
    const auto it = mapped_.find(guest);
    check(it != mapped_.end() && it->second.second == size, "unmap of something not mapped");
    mapped_.erase(it);
    observed.push_back("unmap " + std::to_string(guest) + " " + std::to_string(size));
  }

  uint32_t io_read(uint64_t address, pci::AccessWidth width) override {
    const uint64_t offset = io_offset(address, width);
    observed.push_back("io-read " + std::to_string(offset));
    return device_value(offset);
  }
  void io_write(uint64_t address, pci::AccessWidth width, uint32_t value) override {
    observed.push_back("io-write " + std::to_string(io_offset(address, width)) + " " + std::to_string(value));
  }
  bool bus_master_allowed(const pci::Function&) override { return bus_master_allowed_; }
  void log(const char* line) override { observed.push_back(std::string("log ") + line); }

  // After every access: what the guest could not have changed.
  void check_machine() const {
    for (const pci::Function* f : machine_.owned) {
      SimFunction* s = machine_.ecam.reachable(f->address.bdf);
      for (uint8_t b = 0; b < pci::bar_slots; ++b) {
        if (f->bars[b].kind != pci::BarKind::none) check(s->bar_address(b) == f->bars[b].bus_address, "BAR moved");
      }
      if (f->has_rom) check(s->peek32(f->rom_register()) == static_cast<uint32_t>(f->rom.bus_address), "ROM changed");
      if (f->caps.msi.offset != 0) check((s->peek16(f->caps.msi.offset + 2) & vreg::msi::control_enable) == 0, "MSI on");
      if (f->caps.msix.offset != 0) {
        check((s->peek16(f->caps.msix.offset + 2) & vreg::msix::control_enable) == 0, "MSI-X on");
      }
      if (f->caps.power_management != 0) {
        check((s->peek16(f->caps.power_management + 4) & vreg::power_management::power_state_mask) == 0, "not D0");
      }
    }
    vpci::MappedRange ranges[64];
    const size_t count = bus_.mapped_ranges(ranges, 64);
    check(count == mapped_.size(), "the bus's view of stage 2 differs from stage 2");
    for (size_t i = 0; i < count && i < 64; ++i) {
      const auto it = mapped_.find(ranges[i].guest);
      check(it != mapped_.end() && it->second.first == ranges[i].host && it->second.second == ranges[i].size,
            "mapped_ranges() lists something stage 2 does not have");
    }
  }

  std::vector<std::string> observed;

 private:
  struct Trap {
    const pci::Function* function = nullptr;
    uint64_t first = 0;
    uint64_t end = 0;
  };

  bool is_owned(const pci::Function& f) const {
    for (const pci::Function* o : machine_.owned) {
      if (o == &f) return true;
    }
    return false;
  }
  size_t index_of(const pci::Function& f) const {
    for (size_t i = 0; i < machine_.owned.size(); ++i) {
      if (machine_.owned[i] == &f) return i;
    }
    return ~size_t{0};
  }
  // Which owned I/O BAR the access lands in and where; anything else is a failure.
  uint64_t io_offset(uint64_t address, pci::AccessWidth width) const {
    for (size_t i = 0; i < machine_.owned.size(); ++i) {
      for (uint8_t b = 0; b < pci::bar_slots; ++b) {
        const pci::Bar& bar = machine_.owned[i]->bars[b];
        if (bar.kind == pci::BarKind::io && inside(address, static_cast<uint64_t>(width), {bar.cpu_address, bar.size})) {
          return (i * pci::bar_slots + b) << 16 | (address - bar.cpu_address);
        }
      }
    }
    check(false, "I/O access outside the partition's I/O BARs");
    return 0;
  }

  Machine& machine_;
  const vpci::VirtualPciBus& bus_;
  bool legacy_intx_ = false;
  bool bus_master_allowed_ = false;
  uint8_t map_failures_ = 0;
  uint32_t maps_ = 0;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> mapped_;  // guest -> host, size
  Trap trap_;
};

struct Side {
  Machine machine;
  std::unique_ptr<vpci::VirtualPciBus> bus = std::make_unique<vpci::VirtualPciBus>();
  CheckingHost host{machine, *bus};
  FakeCapability msi, msix;
  explicit Side(const PcieHostInfo& info) : machine(info) {}

  void start(uint8_t flags, uint8_t map_failures) {
    machine.restore();
    const bool legacy_intx = (flags & 1) != 0;
    host.start(legacy_intx, (flags & 2) != 0, map_failures);
    vpci::BusSetup setup;
    setup.partition = "fuzz";
    setup.legacy_intx = legacy_intx;
    setup.windows = windows;
    setup.reserved[0] = {"guest RAM", guest_ram};
    setup.reserved[1] = {"emulated region", emulated};
    setup.reserved_count = 2;
    const uint8_t slots[] = {1, 2, 5, 31};
    for (size_t i = 0; i < machine.owned.size(); ++i) setup.functions[i] = {machine.owned[i], slots[i]};
    setup.function_count = machine.owned.size();
    vpci::SetupError error;
    check(bus->configure(setup, host, error), error.message);
    if ((flags & 4) != 0) check(bus->attach_capability(1, vpci::CapabilityKind::msi, msi), "attach MSI");
    if ((flags & 8) != 0) check(bus->attach_capability(1, vpci::CapabilityKind::msix, msix), "attach MSI-X");
    host.no_trap();
    if ((flags & 16) != 0) {
      check(bus->trap_bar_range(1, 0, 0x1000, 0x1000, msix), "trap the MSI-X table");
      host.trap(machine.owned[0], 0x1000, 0x2000);
    }
  }
};

Side& side(int which) {
  static Side a(sim::qemu_host());
  static Side b(shifted_host());
  return which == 0 ? a : b;
}

struct Outcome {
  bool ok = false;
  uint32_t value = 0;
  bool operator==(const Outcome&) const = default;
};

// An access the MMIO registry would let through to the ECAM window's direct handlers.
bool trap_path_access(uint64_t offset, uint8_t size) { return (size == 1 || size == 2 || size == 4) && offset % size == 0; }

// One guest access, decoded from 8 bytes: kind, where, size, value. `trap_path`: config
// writes go first to the header table, as the trap path sends them (the other side's
// plain config_write() must see the same).
Outcome apply(Side& s, uint8_t kind, uint16_t where, uint8_t size_code, uint32_t value, uint8_t target, bool trap_path) {
  static constexpr uint8_t sizes[] = {1, 2, 4, 4, 2, 1, 3, 8};
  static constexpr uint8_t slots[] = {1, 2, 5, 31, 0, 7, 1, 1};
  const uint8_t size = sizes[size_code & 7];
  vpci::VirtualPciBus& bus = *s.bus;
  switch (kind % 8) {
    case 0:
    case 1:
    case 2: {  // config read; now and then another function or bus
      const uint64_t offset = uint64_t{slots[target & 7]} << 15 | (where & 0xfff) |
                              ((target & 0x18) == 0x18 ? static_cast<uint64_t>(target >> 5) << 12 : 0) |
                              ((target & 0x60) == 0x60 ? uint64_t{1} << 20 : 0);
      const vpci::ReadResult r = bus.config_read(offset, size);
      uint32_t table = 0;
      if (trap_path_access(offset, size) && bus.header_table_read(offset, size, table)) {
        check(r.ok && r.value == table, "the header table answers a config read differently");
      }
      return {r.ok, r.value};
    }
    case 3:
    case 4: {
      const uint64_t offset = uint64_t{slots[target & 7]} << 15 | (where & 0xfff);
      const uint32_t data = value & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
      if (trap_path && trap_path_access(offset, size) && bus.header_table_write(offset, data)) return {true, 0};
      return {bus.config_write(offset, size, value), 0};
    }
    case 5: {  // I/O window
      if ((target & 1) != 0) return {bus.io_write(where, size, value), 0};
      const vpci::ReadResult r = bus.io_read(where, size);
      return {r.ok, r.value};
    }
    case 6: {  // unmapped guest addresses in the windows: trapped ranges or aborts
      const uint64_t base = (target & 1) != 0 ? windows.mmio64.base : windows.mmio32.base;
      const uint64_t address = base + (static_cast<uint64_t>(value >> 12) << 12) + (where & 0xfff);
      if ((target & 2) != 0) return {bus.trapped_write(address, size, value), 0};
      const vpci::ReadResult r = bus.trapped_read(address, size);
      return {r.ok, r.value};
    }
    default:  // resets, rarely
      if ((target & 0xf) != 0) return {};
      if ((target & 0x10) != 0) return {bus.reset_function(slots[where & 7]), 0};
      bus.reset();
      return {true, 0};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Copy input = fuzz::exact_copy(data, size);
  fuzz::Reader reader{input.bytes.get(), input.size};
  if (!reader.more(2)) return 0;
  const uint8_t flags = reader.u8();
  const uint8_t map_failures = reader.u8() & 7;
  Side& a = side(0);
  Side& b = side(1);
  a.start(flags, map_failures);
  b.start(flags, map_failures);
  while (reader.more(9)) {
    const uint8_t kind = reader.u8();
    const uint16_t where = static_cast<uint16_t>(reader.u8() | reader.u8() << 8);
    const uint8_t size_code = reader.u8();
    const uint32_t value = reader.u32();
    const uint8_t target = reader.u8();
    const Outcome first = apply(a, kind, where, size_code, value, target, false);
    const Outcome second = apply(b, kind, where, size_code, value, target, true);
    check(first == second, "the guest sees a difference between two host layouts (or the header table's writes)");
    check(a.host.observed == b.host.observed, "the machine's requests differ between two host layouts");
    a.host.observed.clear();
    b.host.observed.clear();
    a.host.check_machine();
    b.host.check_machine();
  }
  return 0;
}
