// Drives a partition's virtual PCI bus (pci/vpci) against functions enumerated on the
// simulated ECAM, recording every effect the bus asks the machine for, in order.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pci/vpci/virtual_bus.hpp"
#include "tests/sim/pci_harness.hpp"

namespace bulkhead::sim {

inline std::string printed(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline std::string printed(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return text;
}

// The machine as the bus sees it: physical config space is the simulated ECAM; stage 2
// and I/O are recorded (and stage 2 checked: no overlapping maps, unmaps of what was mapped).
class RecordingHost final : public pci::vpci::VpciHost {
 public:
  explicit RecordingHost(SimEcam& ecam) : ecam_(ecam) {}

  uint32_t config_read(const pci::Function& f, uint16_t offset, pci::AccessWidth width) override {
    return ecam_.read(f.address.bdf, offset, width);
  }
  void config_write(const pci::Function& f, uint16_t offset, pci::AccessWidth width, uint32_t value) override {
    calls.push_back(printed("config-write %s 0x%x size %d value 0x%x", pci::sbdf_text(f.address).text, offset,
                            static_cast<int>(width), value));
    ecam_.write(f.address.bdf, offset, width, value);
  }
  bool map_mmio(uint64_t guest, uint64_t host, uint64_t size) override {
    calls.push_back(printed("map guest 0x%llx host 0x%llx size 0x%llx", ull(guest), ull(host), ull(size)));
    if (fail_maps) return false;
    for (const auto& [base, mapping] : mapped) {
      if (guest < base + mapping.size && base < guest + size) problems.push_back(calls.back() + ": overlaps a mapping");
    }
    mapped[guest] = {host, size};
    return true;
  }
  void unmap_mmio(uint64_t guest, uint64_t size) override {
    calls.push_back(printed("unmap guest 0x%llx size 0x%llx", ull(guest), ull(size)));
    const auto it = mapped.find(guest);
    if (it == mapped.end() || it->second.size != size) {
      problems.push_back(calls.back() + ": not a mapping");
    } else {
      mapped.erase(it);
    }
  }
  uint32_t io_read(uint64_t address, pci::AccessWidth width) override {
    calls.push_back(printed("io-read 0x%llx size %d", ull(address), static_cast<int>(width)));
    return io_value;
  }
  void io_write(uint64_t address, pci::AccessWidth width, uint32_t value) override {
    calls.push_back(printed("io-write 0x%llx size %d value 0x%x", ull(address), static_cast<int>(width), value));
  }
  bool bus_master_allowed(const pci::Function&) override { return allow_bus_master; }
  void log(const char* line) override {
    calls.push_back(std::string("log ") + line);
    logs.push_back(line);
  }

  // The calls since the last take().
  std::vector<std::string> take() {
    std::vector<std::string> taken;
    taken.swap(calls);
    return taken;
  }

  struct Mapping {
    uint64_t host;
    uint64_t size;
  };
  std::map<uint64_t, Mapping> mapped;  // guest base -> host, size
  std::vector<std::string> calls;
  std::vector<std::string> logs;
  std::vector<std::string> problems;  // stage-2 misuse
  bool allow_bus_master = true;
  bool fail_maps = false;
  uint32_t io_value = 0x12345678;

 private:
  static unsigned long long ull(uint64_t value) { return value; }
  SimEcam& ecam_;
};

// The guest layout of partitions/guest_layout.hpp, and guest RAM at 1 GiB.
inline pci::vpci::GuestWindows test_windows() {
  return {{0x10000000, 0x2eff0000}, {0x8000000000ull, 0x8000000000ull}, {0x3eff0000, 0x10000}};
}
constexpr AddressRange test_guest_ram{0x40000000, 0x40000000};

// Functions enumerated on one simulated QEMU-like host bridge, given to one partition.
struct VpciFixture {
  SimEcam ecam;
  PciHarness harness;
  RecordingHost host{ecam};
  std::unique_ptr<pci::vpci::VirtualPciBus> bus = std::make_unique<pci::vpci::VirtualPciBus>();
  pci::vpci::BusSetup setup;

  SimBus& root() { return ecam.root(); }

  // Enumerates the simulated host; `clean`: no error may be logged.
  void enumerate(bool clean = true) {
    harness.add_host(qemu_host(), &ecam);
    if (!harness.enumerate() && clean) throw std::runtime_error("enumeration failed: " + joined(harness.errors));
  }
  const pci::Function& function(uint8_t device, uint8_t function = 0, uint8_t bus_number = 0) const {
    return harness.function(0, bus_number, device, function);
  }
  // Puts the function at 00:device.function on the virtual bus in `slot`.
  void give(uint8_t device, uint8_t function_number, uint8_t slot, uint8_t bus_number = 0) {
    setup.functions[setup.function_count++] = {&function(device, function_number, bus_number), slot};
  }
  void configure(bool legacy_intx = false) {
    setup.partition = "guest";
    setup.legacy_intx = legacy_intx;
    setup.windows = test_windows();
    setup.reserved[0] = {"guest RAM", test_guest_ram};
    setup.reserved[1] = {"test region", {0x3e000000, 0x10000}};  // inside the 32-bit window, for the rule
    setup.reserved_count = 2;
    pci::vpci::SetupError error;
    if (!bus->configure(setup, host, error)) throw std::runtime_error(error.message);
    host.take();
  }

  static uint64_t ecam_offset(uint8_t slot, uint16_t offset) { return uint64_t{slot} << 15 | offset; }
  pci::vpci::ReadResult read(uint8_t slot, uint16_t offset, uint8_t size) {
    return bus->config_read(ecam_offset(slot, offset), size);
  }
  uint32_t read32(uint8_t slot, uint16_t offset) {
    const pci::vpci::ReadResult r = read(slot, offset, 4);
    if (!r.ok) throw std::runtime_error("config read refused");
    return r.value;
  }
  uint16_t read16(uint8_t slot, uint16_t offset) {
    const pci::vpci::ReadResult r = read(slot, offset, 2);
    if (!r.ok) throw std::runtime_error("config read refused");
    return static_cast<uint16_t>(r.value);
  }
  uint8_t read8(uint8_t slot, uint16_t offset) {
    const pci::vpci::ReadResult r = read(slot, offset, 1);
    if (!r.ok) throw std::runtime_error("config read refused");
    return static_cast<uint8_t>(r.value);
  }
  bool write(uint8_t slot, uint16_t offset, uint8_t size, uint32_t value) {
    return bus->config_write(ecam_offset(slot, offset), size, value);
  }
  void write32(uint8_t slot, uint16_t offset, uint32_t value) { write(slot, offset, 4, value); }
  void write16(uint8_t slot, uint16_t offset, uint16_t value) { write(slot, offset, 2, value); }

  // The guest's standard probe: all ones, read back, restore.
  uint32_t size_probe(uint8_t slot, uint16_t offset) {
    const uint32_t original = read32(slot, offset);
    write32(slot, offset, 0xffffffffu);
    const uint32_t probed = read32(slot, offset);
    write32(slot, offset, original);
    return probed;
  }
};

}  // namespace bulkhead::sim
