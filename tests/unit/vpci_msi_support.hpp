// Test support for the MSI and MSI-X emulation (pci/vpci/msi*.hpp): a virtual bus over
// simulated functions whose messages are modelled (tests/sim/sim_msi_device.hpp), and a
// router that records what it was asked, in the same list as the machine's calls, and
// checks that only the partition's SPIs are ever bound.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "pci/vpci/msi.hpp"
#include "pci/vpci/msix.hpp"
#include "tests/sim/sim_msi_device.hpp"
#include "tests/sim/vpci_harness.hpp"

namespace bulkhead::test {

constexpr uint64_t guest_doorbell = 0x08000040;  // the guest's virtual GICD_SETSPI_NSR
constexpr uint64_t its_doorbell = 0x08090040;    // GITS_TRANSLATER as the DMA context maps it
constexpr uint32_t first_spi = 64;               // INTIDs 64..127: msi-spis = <32 64>
constexpr uint32_t spi_count = 64;
constexpr uint32_t msi_event_base = 0x20;  // what the router gives a function's MSI vector 0
constexpr uint32_t msix_event_base = 0x40;

class RecordingRouter final : public pci::vpci::MsiRouter {
 public:
  explicit RecordingRouter(std::vector<std::string>& calls) : calls_(calls) {}

  pci::vpci::PhysicalMessage bind(const pci::Function& function, pci::vpci::MessageKind kind, uint16_t vector,
                                  uint32_t spi) override {
    calls_.push_back(sim::printed("bind %s %s %u spi %u", pci::sbdf_text(function.address).text,
                                  pci::vpci::message_kind_name(kind), vector, spi));
    if (spi < first_spi || spi >= first_spi + spi_count) problems.push_back(calls_.back() + ": not the partition's SPI");
    if (fail_binds) return {};
    bound[{&function, kind, vector}] = spi;
    const uint32_t base = kind == pci::vpci::MessageKind::msi ? msi_event_base : msix_event_base;
    return {true, doorbell, base + vector};
  }
  void unbind(const pci::Function& function, pci::vpci::MessageKind kind, uint16_t vector) override {
    calls_.push_back(sim::printed("unbind %s %s %u", pci::sbdf_text(function.address).text,
                                  pci::vpci::message_kind_name(kind), vector));
    if (bound.erase({&function, kind, vector}) == 0) problems.push_back(calls_.back() + ": not bound");
  }

  std::map<std::tuple<const pci::Function*, pci::vpci::MessageKind, uint16_t>, uint32_t> bound;
  std::vector<std::string> problems;
  bool fail_binds = false;
  uint64_t doorbell = its_doorbell;

 private:
  std::vector<std::string>& calls_;
};

// A partition with the given functions on its virtual bus, their messages modelled, their
// BARs at guest addresses from 0x10000000 with memory decode and bus mastering on.
struct MessageFixture : sim::VpciFixture {
  sim::SimMessageDevices devices{ecam};
  RecordingRouter router{host.calls};

  pci::vpci::MessageSetup setup_for(uint8_t slot, uint8_t device) {
    pci::vpci::MessageSetup message;
    message.partition = "guest";
    message.function = &function(device);
    message.slot = slot;
    message.target = {guest_doorbell, first_spi, spi_count};
    message.host = &host;
    message.bars = &devices;
    message.router = &router;
    return message;
  }
  // Places BAR 0 (and BAR 1 when given) and turns on memory decode and bus mastering.
  void decode(uint8_t slot, uint64_t bar0 = 0x10000000, uint64_t bar1 = 0) {
    write32(slot, 0x10, static_cast<uint32_t>(bar0));
    if (bar1 != 0) write32(slot, 0x14, static_cast<uint32_t>(bar1));
    write16(slot, 0x04, 0x6);
  }
  pci::vpci::ReadResult trapped_read(uint64_t address, uint8_t size = 4) { return bus->trapped_read(address, size); }
  bool trapped_write(uint64_t address, uint32_t value, uint8_t size = 4) {
    return bus->trapped_write(address, size, value);
  }
  // The calls since the last take() that are config writes to `offset` of the function.
  std::vector<std::string> config_writes(const std::vector<std::string>& calls, const std::string& prefix) {
    std::vector<std::string> out;
    for (const std::string& call : calls) {
      if (call.rfind(prefix, 0) == 0) out.push_back(call);
    }
    return out;
  }
};

}  // namespace bulkhead::test
