// The message side of simulated PCI functions, for tests of the MSI and MSI-X emulation
// (pci/vpci/msi*.hpp): the functions' MSI-X tables and PBAs in their memory BARs (reached
// through pci::vpci::BarAccess, and only while the function decodes memory, as on real
// hardware), and what a function does when it raises a vector: it sends (address, data)
// if MSI/MSI-X is enabled and the vector is not masked, else it holds it pending (the MSI
// pending bits, the PBA) and sends it once unmasked. Sent messages are recorded and, when
// they hit the ITS doorbell, handed to the simulated ITS with the function's DeviceID.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pci/topology.hpp"
#include "pci/vpci/msi_router.hpp"
#include "tests/sim/sim_ecam.hpp"
#include "tests/sim/sim_its.hpp"

namespace bulkhead::sim {

struct SentMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  bool operator==(const SentMessage&) const = default;
};

class SimMessageDevices final : public pci::vpci::BarAccess {
 public:
  explicit SimMessageDevices(SimEcam& ecam) : ecam_(ecam) {}

  // The function's MSI capability gets writable address, data and mask registers (the
  // pending bits stay the device's), and its MSI-X table and PBA live in its BARs.
  void add(const pci::Function& function);

  uint32_t bar_read(uint64_t address, pci::AccessWidth width) override;
  void bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) override;

  // The function raises MSI-X vector `vector` / MSI vector `vector`.
  void fire_msix(const pci::Function& function, uint16_t vector);
  void fire_msi(const pci::Function& function, unsigned vector);
  // What a function does on its own: pending MSI vectors whose mask was cleared are sent
  // (the MSI mask bits are in config space, which this model sees only when asked).
  void poll(const pci::Function& function);

  // The physical MSI-X entry as the function holds it.
  uint32_t table_word(const pci::Function& function, uint16_t vector, unsigned word) const;
  bool pba_bit(const pci::Function& function, uint16_t vector) const;
  // Writes as earlier software might have left them (masks, addresses), ignoring decode.
  void poke_table(const pci::Function& function, uint16_t vector, unsigned word, uint32_t value);

  std::vector<SentMessage> sent;
  // Messages to `doorbell` go to `its` as (DeviceID of the function, data).
  SimIts* its = nullptr;
  uint64_t doorbell = 0;
  std::vector<ItsDelivery> deliveries;
  std::vector<std::string> dropped_writes;  // accesses while the function did not decode memory

 private:
  struct Device {
    const pci::Function* function = nullptr;
    std::map<uint64_t, uint32_t> table;  // offset in the table -> word
    std::vector<bool> pba;
  };
  Device* device_at(uint64_t address, uint64_t& table_offset, uint64_t& pba_offset);
  Device& device_of(const pci::Function& function);
  const Device& device_of(const pci::Function& function) const;
  SimFunction& sim(const pci::Function& function) const { return *ecam_.reachable(function.address.bdf); }
  bool decodes(const pci::Function& function) const { return (sim(function).peek16(0x04) & 0x2) != 0; }
  void send(const pci::Function& function, uint64_t address, uint32_t data);
  void deliver_pending_msix(Device& device);
  bool msix_masked(const Device& device, uint16_t vector) const;

  SimEcam& ecam_;
  std::vector<Device> devices_;
};

}  // namespace bulkhead::sim
