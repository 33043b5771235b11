// libFuzzer target for the MSI and MSI-X emulation (pci/vpci/msi*.hpp): any sequence of
// guest accesses to the functions' configuration space (their MSI and MSI-X capabilities
// above all, the command register and BARs too), to the trapped MSI-X tables and PBAs,
// resets, and the functions raising vectors, against simulated functions whose messages
// are modelled. After every step:
// - nothing but the ITS doorbell and an EventID the router allocated for that very
//   vector ever reaches a function's MSI address/data registers or MSI-X table entries,
//   and every message a function sends is such a pair;
// - the router binds only the partition's own SPIs, for vectors the function has, each
//   SPI the one the guest's message names; unbinds only what is bound;
// - an MSI-X vector unmasked in the function (enabled, function mask clear) is bound; an
//   enabled MSI function with per-vector masking has every unbound vector masked;
// - physical config writes reach only the command register (decode, bus master, INTx
//   disable) and the MSI/MSI-X registers; BAR writes only the functions' own tables.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_support.hpp"
#include "pci/vpci/msi.hpp"
#include "pci/vpci/msix.hpp"
#include "pci/vpci/virtual_bus.hpp"
#include "pci/vpci/vpci_registers.hpp"
#include "tests/sim/pci_harness.hpp"
#include "tests/sim/sim_msi_device.hpp"

namespace {

using namespace bulkhead;
using sim::BarType;
namespace vpci = bulkhead::pci::vpci;
namespace vreg = bulkhead::pci::vpci::reg;
using vpci::MessageKind;

constexpr uint64_t guest_doorbell = 0x08000040;
constexpr uint64_t low_doorbell = 0x08090040;
constexpr uint64_t high_doorbell = 0x108090040ull;  // beyond a 32-bit MSI capability
constexpr uint8_t slots[] = {1, 2, 3, 4};
constexpr uint64_t guest_bar0[] = {0x10000000, 0x10010000, 0x10020000, 0x10030000};
constexpr uint64_t guest_bar1 = 0x10040000;  // 00:04.0's PBA BAR

void check(bool ok, const char* what) {
  if (!ok) fuzz::invariant_failed(what);
}

// The events the router gives: per function an MSI block of 32 and a table of 64.
uint32_t event_of(size_t function, MessageKind kind, uint16_t vector) {
  return static_cast<uint32_t>(function * 128 + (kind == MessageKind::msi ? 0 : 32) + vector);
}

struct Machine;

class CheckingRouter final : public vpci::MsiRouter {
 public:
  explicit CheckingRouter(Machine& machine) : machine_(machine) {}
  vpci::PhysicalMessage bind(const pci::Function& function, MessageKind kind, uint16_t vector, uint32_t spi) override;
  void unbind(const pci::Function& function, MessageKind kind, uint16_t vector) override;

  std::map<std::tuple<const pci::Function*, MessageKind, uint16_t>, uint32_t> bound;
  uint64_t doorbell = low_doorbell;
  uint8_t fail_every = 0;
  uint32_t binds = 0;

 private:
  Machine& machine_;
};

class CheckingHost final : public vpci::VpciHost, public vpci::BarAccess {
 public:
  explicit CheckingHost(Machine& machine) : machine_(machine) {}
  uint32_t config_read(const pci::Function& f, uint16_t offset, pci::AccessWidth width) override;
  void config_write(const pci::Function& f, uint16_t offset, pci::AccessWidth width, uint32_t value) override;
  bool map_mmio(uint64_t, uint64_t, uint64_t) override { return true; }
  void unmap_mmio(uint64_t, uint64_t) override {}
  uint32_t io_read(uint64_t, pci::AccessWidth) override { return 0; }
  void io_write(uint64_t, pci::AccessWidth, uint32_t) override {}
  bool bus_master_allowed(const pci::Function&) override { return true; }
  void log(const char*) override {}
  uint32_t bar_read(uint64_t address, pci::AccessWidth width) override;
  void bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) override;

 private:
  Machine& machine_;
};

struct Machine {
  sim::SimEcam ecam;
  sim::PciHarness harness;
  std::vector<const pci::Function*> functions;
  std::unique_ptr<vpci::VirtualPciBus> bus = std::make_unique<vpci::VirtualPciBus>();
  std::unique_ptr<sim::SimMessageDevices> devices;
  CheckingRouter router{*this};
  CheckingHost host{*this};
  vpci::MsiHandler msi[4];
  vpci::MsixHandler msix[4];
  std::vector<vpci::MsixVector> storage[4];
  vpci::GuestMessageTarget target;
  std::vector<std::vector<uint8_t>> snapshot;

  Machine() {
    sim::SimBus& root = ecam.root();
    root.pcie_endpoint(1, 0, 0x1234, 0x0001).bar(0, BarType::mem32, 0x1000).msi(3, true, true);
    root.pcie_endpoint(2, 0, 0x1af4, 0x1041).bar(0, BarType::mem32, 0x4000).msix(8, 0, 0x1000, 0, 0x1800).msi(0, true,
                                                                                                             false);
    root.pcie_endpoint(3, 0, 0x1234, 0x11e8).bar(0, BarType::mem32, 0x1000).msi(2, false, false);
    root.pcie_endpoint(4, 0, 0x8086, 0x10d3)
        .bar(0, BarType::mem32, 0x4000)
        .bar(1, BarType::mem32, 0x1000)
        .msix(4, 0, 0x0, 1, 0x0);
    harness.add_host(sim::qemu_host(), &ecam);
    check(harness.enumerate(), "enumeration");
    for (uint8_t d = 1; d <= 4; ++d) functions.push_back(&harness.function(0, 0, d, 0));
    for (const pci::Function* f : functions) {
      sim::SimFunction* s = ecam.reachable(f->address.bdf);
      std::vector<uint8_t> bytes(0x100);
      for (uint16_t i = 0; i < 0x100; ++i) bytes[i] = s->peek8(i);
      snapshot.push_back(std::move(bytes));
    }
  }

  size_t index_of(const pci::Function& f) const {
    for (size_t i = 0; i < functions.size(); ++i) {
      if (functions[i] == &f) return i;
    }
    check(false, "a function the partition does not own");
    return 0;
  }
  sim::SimFunction& physical(size_t i) { return *ecam.reachable(functions[i]->address.bdf); }

  void start(uint8_t flags) {
    for (size_t i = 0; i < functions.size(); ++i) {
      for (uint16_t b = 0; b < 0x100; ++b) physical(i).poke8(b, snapshot[i][b]);
    }
    devices = std::make_unique<sim::SimMessageDevices>(ecam);
    for (const pci::Function* f : functions) devices->add(*f);
    router.bound.clear();
    router.doorbell = (flags & 1) != 0 ? high_doorbell : low_doorbell;
    router.fail_every = static_cast<uint8_t>((flags >> 1) & 3);
    router.binds = 0;
    devices->doorbell = router.doorbell;
    target = {guest_doorbell, 64, (flags & 8) != 0 ? 60u : 64u};
    vpci::BusSetup setup;
    setup.partition = "fuzz";
    setup.windows = {{0x10000000, 0x2eff0000}, {0x8000000000ull, 0x8000000000ull}, {0x3eff0000, 0x10000}};
    for (size_t i = 0; i < functions.size(); ++i) setup.functions[i] = {functions[i], slots[i]};
    setup.function_count = functions.size();
    vpci::SetupError error;
    check(bus->configure(setup, host, error), error.message);
    for (size_t i = 0; i < functions.size(); ++i) {
      vpci::MessageSetup message;
      message.partition = "fuzz";
      message.function = functions[i];
      message.slot = slots[i];
      message.target = target;
      message.host = &host;
      message.bars = &host;
      message.router = &router;
      msi[i] = vpci::MsiHandler();
      msix[i] = vpci::MsixHandler();
      if (functions[i]->caps.msi.offset != 0) check(msi[i].configure(message, *bus), "MSI attach");
      if (functions[i]->caps.msix.offset != 0) {
        storage[i].assign(functions[i]->caps.msix.table_size, vpci::MsixVector{});
        check(msix[i].configure(message, *bus, storage[i].data(), storage[i].size()), "MSI-X attach");
      }
      // Placed and decoding, bus master on, as a driver leaves them.
      bus->config_write(uint64_t{slots[i]} << 15 | 0x10, 4, static_cast<uint32_t>(guest_bar0[i]));
      if (i == 3) bus->config_write(uint64_t{slots[i]} << 15 | 0x14, 4, static_cast<uint32_t>(guest_bar1));
      bus->config_write(uint64_t{slots[i]} << 15 | 0x04, 2, 0x6);
    }
  }

  // What the guest's registers say vector `vector` raises: its SPI, or 0.
  uint32_t guest_spi(size_t i, MessageKind kind, uint16_t vector) {
    if (kind == MessageKind::msix) {
      const vpci::MsixVector& e = storage[i].at(vector);
      return target.spi_of(uint64_t{e.address_high} << 32 | e.address_low, e.data);
    }
    const uint16_t cap = functions[i]->caps.msi.offset;
    const bool wide = functions[i]->caps.msi.address_64bit;
    const uint64_t address = msi[i].read_config(cap + 4) |
                             (wide ? uint64_t{msi[i].read_config(static_cast<uint16_t>(cap + 8))} << 32 : 0);
    const uint32_t data = msi[i].read_config(vreg::msi::data(wide) + cap);
    const unsigned count = msi[i].vectors();
    return target.spi_of(address, (data & ~(count - 1)) | vector);
  }

  // `sender`: the function this step touched; only it may have sent messages.
  void check_state(size_t sender) {
    for (const auto& [key, spi] : router.bound) {
      const auto& [f, kind, vector] = key;
      const size_t i = index_of(*f);
      check(spi == guest_spi(i, kind, vector), "a vector bound to an SPI its guest registers do not name");
      check((kind == MessageKind::msi ? msi[i].bound_spi(vector) : msix[i].bound_spi(vector)) == spi,
            "the router and the handler disagree");
    }
    for (size_t i = 0; i < functions.size(); ++i) {
      const pci::Function& f = *functions[i];
      sim::SimFunction& s = physical(i);
      if (f.caps.msix.offset != 0) {
        const uint16_t control = s.peek16(f.caps.msix.offset + 2);
        if ((control & vreg::msix::control_enable) == 0 || (control & vreg::msix::control_function_mask) != 0) continue;
        for (uint16_t v = 0; v < f.caps.msix.table_size; ++v) {
          if ((devices->table_word(f, v, 3) & 1) != 0) continue;
          check(router.bound.count({&f, MessageKind::msix, v}) == 1, "an unmasked MSI-X vector that is not bound");
        }
      }
      if (f.caps.msi.offset != 0 && f.caps.msi.per_vector_mask && (s.peek16(f.caps.msi.offset + 2) & 1) != 0) {
        const uint32_t mask = s.peek32(f.caps.msi.offset + vreg::msi::mask(f.caps.msi.address_64bit));
        const unsigned count = 1u << ((s.peek16(f.caps.msi.offset + 2) >> 4) & 7);
        for (uint16_t v = 0; v < count; ++v) {
          if (((mask >> v) & 1) != 0) continue;
          check(router.bound.count({&f, MessageKind::msi, v}) == 1, "an unmasked MSI vector that is not bound");
        }
      }
    }
    for (const sim::SentMessage& message : devices->sent) {
      check(message.address == router.doorbell, "a function sent a message somewhere else than the doorbell");
      const pci::Function& f = *functions[sender];
      bool allocated = false;
      for (uint16_t v = 0; v < f.caps.msix.table_size && !allocated; ++v) {
        allocated = message.data == event_of(sender, MessageKind::msix, v);
      }
      for (uint16_t v = 0; v < f.caps.msi.vectors && !allocated; ++v) {
        allocated = message.data == event_of(sender, MessageKind::msi, v);
      }
      check(allocated, "a function sent an event the router never allocated for it");
    }
    devices->sent.clear();
  }
};

vpci::PhysicalMessage CheckingRouter::bind(const pci::Function& function, MessageKind kind, uint16_t vector,
                                           uint32_t spi) {
  const size_t i = machine_.index_of(function);
  check(spi >= machine_.target.first_spi && spi - machine_.target.first_spi < machine_.target.spi_count,
        "a bind to an SPI that is not the partition's");
  const uint32_t vectors = kind == MessageKind::msi ? function.caps.msi.vectors : function.caps.msix.table_size;
  check(vector < vectors, "a bind of a vector the function does not have");
  if (fail_every != 0 && ++binds % (fail_every + 1) == 0) return {};
  bound[{&function, kind, vector}] = spi;
  return {true, doorbell, event_of(i, kind, vector)};
}

void CheckingRouter::unbind(const pci::Function& function, MessageKind kind, uint16_t vector) {
  check(bound.erase({&function, kind, vector}) == 1, "an unbind of something not bound");
}

uint32_t CheckingHost::config_read(const pci::Function& f, uint16_t offset, pci::AccessWidth width) {
  machine_.index_of(f);
  return machine_.ecam.read(f.address.bdf, offset, width);
}

void CheckingHost::config_write(const pci::Function& f, uint16_t offset, pci::AccessWidth width, uint32_t value) {
  const size_t i = machine_.index_of(f);
  const uint16_t msi = f.caps.msi.offset;
  const uint16_t msix = f.caps.msix.offset;
  const uint16_t pcie = f.caps.pcie.offset;
  if (offset == vreg::command) {
    check((value & ~vreg::command_guest_bits) == (f.command & ~vreg::command_guest_bits), "command bits changed");
  } else if (offset == vreg::status || (pcie != 0 && (offset == pcie + vreg::pcie::device_control ||
                                                       offset == pcie + vreg::pcie::device_control + 2))) {
    // the bus's own (fuzz_vpci checks them)
  } else if (msi != 0 && offset == msi + vreg::msi::address_low) {
    check(value == static_cast<uint32_t>(machine_.router.doorbell), "an MSI address that is not the doorbell");
  } else if (msi != 0 && f.caps.msi.address_64bit && offset == msi + vreg::msi::address_high) {
    check(value == static_cast<uint32_t>(machine_.router.doorbell >> 32), "an MSI address that is not the doorbell");
  } else if (msi != 0 && offset == msi + vreg::msi::data(f.caps.msi.address_64bit)) {
    check(value == event_of(i, MessageKind::msi, 0), "MSI data that is not the function's event base");
  } else if (msi != 0 && (offset == msi + vreg::msi::control ||
                          (f.caps.msi.per_vector_mask && offset == msi + vreg::msi::mask(f.caps.msi.address_64bit)))) {
    // enable, MME, mask bits: anything
  } else if (msix != 0 && offset == msix + vreg::msix::control) {
    check((value & ~(vreg::msix::control_enable | vreg::msix::control_function_mask)) == 0, "MSI-X control bits");
  } else {
    check(false, "a config write to a register the emulation may not reach");
  }
  machine_.ecam.write(f.address.bdf, offset, width, value);
}

uint32_t CheckingHost::bar_read(uint64_t address, pci::AccessWidth width) {
  return machine_.devices->bar_read(address, width);
}

void CheckingHost::bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) {
  bool in_table = false;
  for (size_t i = 0; i < machine_.functions.size() && !in_table; ++i) {
    const pci::Function& f = *machine_.functions[i];
    if (f.caps.msix.offset == 0) continue;
    const uint64_t table = f.bars[f.caps.msix.table_bar].cpu_address + f.caps.msix.table_offset;
    if (address < table || address - table >= f.caps.msix.table_size * 16u) {
      // Other registers of the function on the trapped page: the guest's own access.
      const pci::Bar& bar = f.bars[f.caps.msix.table_bar];
      in_table = address >= bar.cpu_address && address - bar.cpu_address < 0x4000;
      continue;
    }
    in_table = true;
    const auto vector = static_cast<uint16_t>((address - table) / 16);
    const uint64_t word = (address - table) % 16 / 4;
    check(width == pci::AccessWidth::word, "a table write narrower than its field");
    if (word == 0) check(value == static_cast<uint32_t>(machine_.router.doorbell), "an MSI-X address that is not the doorbell");
    if (word == 1) check(value == static_cast<uint32_t>(machine_.router.doorbell >> 32), "an MSI-X address that is not the doorbell");
    if (word == 2) check(value == event_of(i, MessageKind::msix, vector), "MSI-X data that is not the vector's event");
    if (word == 3) check((value & ~1u) == 0, "vector control bits beyond the mask");
  }
  check(in_table, "a BAR write outside the partition's functions");
  machine_.devices->bar_write(address, width, value);
}

Machine& machine() {
  static Machine m;
  return m;
}

struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool more(size_t n) const { return size - at >= n; }
  uint8_t u8() { return data[at++]; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return v;
  }
};

// A value a guest driver might write: mostly the doorbell, SPIs near the range, masks.
uint32_t shaped(uint32_t value, uint8_t hint) {
  switch (hint % 8) {
    case 0: return static_cast<uint32_t>(guest_doorbell);
    case 1: return 60 + value % 80;  // SPIs around 64..127
    case 2: return value & 0x8001c071;  // control-ish bits
    default: return value;
  }
}

void step(Machine& m, uint8_t kind, uint8_t where, uint8_t size_code, uint32_t value, uint8_t target) {
  static constexpr uint8_t sizes[] = {1, 2, 4, 4, 2, 1, 4, 8};
  const size_t i = target % 4;
  const pci::Function& f = *m.functions[i];
  const uint8_t size = sizes[size_code & 7];
  switch (kind % 8) {
    case 0:
    case 1: {  // the MSI or MSI-X capability, at any width
      const uint16_t cap = (kind & 1) == 0 ? f.caps.msi.offset : f.caps.msix.offset;
      const uint16_t offset = static_cast<uint16_t>((cap != 0 ? cap : 0x40) + (where & 0x1f));
      if ((target & 0x80) != 0) {
        m.bus->config_read(uint64_t{slots[i]} << 15 | offset, size);
      } else {
        m.bus->config_write(uint64_t{slots[i]} << 15 | offset, size, shaped(value, target >> 3));
      }
      break;
    }
    case 2: {  // the MSI-X table and PBA (or whatever sits on their page): dword `where` of one of them
      const bool pba = (target & 0x40) != 0;
      const pci::MsixInfo& msix = f.caps.msix;
      const uint8_t bar = pba ? msix.pba_bar : msix.table_bar;
      const uint64_t base = bar == 1 ? guest_bar1 : guest_bar0[i];
      const uint64_t address = base + (pba ? msix.pba_offset : msix.table_offset) + uint64_t{where} * 4 +
                               ((target & 0x20) != 0 ? (value >> 30) : 0);
      if ((target & 0x80) != 0) {
        m.bus->trapped_read(address, size);
      } else {
        m.bus->trapped_write(address, size, shaped(value, target >> 3));
      }
      break;
    }
    case 3:  // anywhere in the header: command, BARs
      m.bus->config_write(uint64_t{slots[i]} << 15 | (where & 0x3c), size, value);
      break;
    case 4:
    case 5:  // the function raises a vector
      if (f.caps.msix.offset != 0 && (kind & 1) != 0) {
        m.devices->fire_msix(f, static_cast<uint16_t>(where % f.caps.msix.table_size));
      } else if (f.caps.msi.offset != 0) {
        m.devices->fire_msi(f, where % 32);
      }
      break;
    case 6: m.devices->poll(f); break;
    default:  // resets, rarely
      if ((where & 0xf) != 0) break;
      if ((where & 0x10) != 0) {
        m.bus->reset_function(slots[i]);
      } else {
        m.bus->reset();
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Copy input = fuzz::exact_copy(data, size);
  Reader reader{input.bytes.get(), input.size};
  if (!reader.more(1)) return 0;
  Machine& m = machine();
  m.start(reader.u8());
  m.check_state(0);
  while (reader.more(8)) {
    const uint8_t kind = reader.u8();
    const uint8_t where = reader.u8();
    const uint8_t size_code = reader.u8();
    const uint32_t value = reader.u32();
    const uint8_t target = reader.u8();
    step(m, kind, where, size_code, value, target);
    m.check_state(target % 4);
  }
  m.bus->reset();  // the partition stops: nothing may stay bound
  check(m.router.bound.empty(), "a vector still bound after reset");
  return 0;
}
