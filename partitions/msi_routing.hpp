// A partition's MSIs through the physical ITS, as its guest's message-based SPIs: the
// pci::vpci::MsiRouter its MSI and MSI-X emulation asks, and the table the target's LPI
// handler reads. Portable: the ITS through its::Driver, the vCPUs' targets from the
// partition's virtual GIC.
//
// Everything a partition's functions can need is reserved when it is configured, so
// nothing is allocated while guests run and no partition can take another's share:
// - each of its DeviceIDs (from `msi-map`; functions behind one PCIe-to-PCI bridge share
//   one) gets an ITT for all its functions' vectors (MAPD): per function an aligned block
//   of EventIDs for MSI (the function adds the vector number to the data), then one for
//   the MSI-X table;
// - the partition gets one LPI per vector, a contiguous block that stays its own.
// Binding a vector maps its event to its LPI on the physical CPU running the vCPU the
// guest's SPI targets (MAPTI, INV, SYNC); unbinding removes it (DISCARD, SYNC); a new
// target vCPU moves it (MOVI, SYNC). A DMA write to the doorbell with a forged EventID
// reaches at most the partition's own events (the DeviceID comes from the hardware), and
// an event not bound now is dropped by the ITS; an LPI with no binding is dropped here.
//
// Calls other than deliver() come from the partition's trap path, under its VM lock; the
// ITS driver is shared by every partition and taken under `its_lock`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/its/driver.hpp"
#include "core/its/hardware.hpp"
#include "core/lib/unset_array.hpp"
#include "core/vgic/virtual_gic.hpp"
#include "partitions/description.hpp"
#include "pci/topology.hpp"
#include "pci/vpci/msi_router.hpp"

namespace bulkhead::partitions {

constexpr size_t max_partition_message_vectors = 2048;  // MSI and MSI-X vectors of one partition's functions

struct MsiRoutingSetup {
  const char* partition = "";  // its name, for log lines; must outlive the router
  // Its PCI functions (plan order); those without MSI or MSI-X need nothing.
  const pci::Function* functions[max_pci_devices] = {};
  size_t function_count = 0;
  // GITS_TRANSLATER as the partition's DMA context maps it: what physical vectors get.
  uint64_t doorbell = 0;
  // The physical CPU (the ITS collection, boot CPU order) each vCPU runs on.
  uint8_t vcpu_cpus[max_partition_cpus] = {};
  size_t vcpu_count = 0;
};

class PartitionMsi final : public pci::vpci::MsiRouter {
 public:
  PartitionMsi() = default;

  // Reserves the ITTs and LPIs (see above). False, logged naming the partition and the
  // function, when it cannot; nothing is kept then.
  bool configure(const MsiRoutingSetup& setup, its::Driver& its, const vgic::VirtualGic& gic, its::Lock* its_lock);
  // Unbinds what is still bound, unmaps the devices and gives the LPIs back.
  void release();

  pci::vpci::PhysicalMessage bind(const pci::Function& function, pci::vpci::MessageKind kind, uint16_t vector,
                                  uint32_t spi) override;
  void unbind(const pci::Function& function, pci::vpci::MessageKind kind, uint16_t vector) override;

  // The guest moved message-based SPI `spi` to another vCPU (vgic::Events::
  // rerouted_message_spi): the LPIs that deliver it follow (MOVI).
  void retarget(uint32_t spi);

  // The LPI handler, on any CPU, without the VM lock: `lpi` (one of this partition's) was
  // acknowledged. The SPI to make pending (VirtualGic::signal_message), or 0 when no
  // vector is bound to it now (a message that raced an unbind): dropped, counted.
  uint32_t deliver(uint32_t lpi);
  bool owns_lpi(uint32_t lpi) const { return lpi_count_ != 0 && lpi - lpi_base_ < lpi_count_; }

  // Messages delivered per function (setup order) and dropped, since the last clear.
  uint64_t delivered(size_t function_index) const;
  uint64_t dropped() const { return __atomic_load_n(&dropped_, __ATOMIC_RELAXED); }
  void clear_counts();
  uint32_t lpi_base() const { return lpi_base_; }
  uint32_t lpi_count() const { return lpi_count_; }
  size_t bound_vectors() const;

  // Where vector `vector` of a function is: its DeviceID, EventID and LPI. False when the
  // function or vector is not one of this partition's.
  bool locate(const pci::Function& function, pci::vpci::MessageKind kind, uint16_t vector, uint32_t& device_id,
              uint32_t& event_id, uint32_t& lpi) const;

 private:
  struct FunctionEvents {
    const pci::Function* function = nullptr;
    uint32_t device_id = 0;
    uint32_t msi_event = 0;  // first EventID of each block in the device's ITT
    uint32_t msi_vectors = 0;
    uint32_t msix_event = 0;
    uint32_t msix_vectors = 0;
    uint32_t lpi_offset = 0;  // its first vector's LPI, from lpi_base_: MSI, then MSI-X
  };
  // A vector's binding, one word so the LPI handler reads it whole.
  static constexpr uint32_t route_bound = 1u << 31;
  static constexpr uint32_t route(uint32_t spi, uint32_t cpu, uint32_t function) {
    return route_bound | (function & 0x1f) << 21 | (cpu & 0x1f) << 16 | (spi & 0xffff);
  }
  static constexpr uint32_t route_spi(uint32_t word) { return word & 0xffff; }
  static constexpr unsigned route_cpu(uint32_t word) { return (word >> 16) & 0x1f; }
  static constexpr size_t route_function(uint32_t word) { return (word >> 21) & 0x1f; }

  const FunctionEvents* find(const pci::Function& function) const;
  unsigned cpu_of(uint32_t spi) const;
  bool where(uint32_t offset, uint32_t& device_id, uint32_t& event_id) const;
  uint32_t load(uint32_t offset) const { return __atomic_load_n(&routes_[offset], __ATOMIC_ACQUIRE); }
  void store(uint32_t offset, uint32_t word) { __atomic_store_n(&routes_[offset], word, __ATOMIC_RELEASE); }

  MsiRoutingSetup setup_;
  its::Driver* its_ = nullptr;
  const vgic::VirtualGic* gic_ = nullptr;
  its::Lock* lock_ = nullptr;
  FunctionEvents functions_[max_pci_devices];
  size_t function_count_ = 0;
  uint32_t device_ids_[max_pci_devices] = {};
  size_t device_count_ = 0;
  uint32_t lpi_base_ = 0;
  uint32_t lpi_count_ = 0;
  // Offsets below lpi_count_ only, which configure() zeroes before it sets the count: not
  // constructed with the partition (8 KiB; core/lib/unset_array.hpp).
  UnsetArray<uint32_t, max_partition_message_vectors> routes_;
  uint64_t delivered_[max_pci_devices] = {};
  uint64_t dropped_ = 0;
};

// Machine-wide: the partition an LPI belongs to, for the LPI handler.
class MsiDispatch {
 public:
  struct Delivery {
    bool routed = false;
    uint8_t partition = 0;  // the index given to add()
    uint16_t spi = 0;
  };
  // A configured partition's router, by its index in the description.
  void add(uint8_t partition, PartitionMsi& router);
  // `lpi` was acknowledged: whose SPI it is now. Not routed: no partition owns the LPI,
  // or the owner has nothing bound to it.
  Delivery deliver(uint32_t lpi);
  // Partition `partition`'s router, nullptr when it has none (the LPI handler asks the
  // router of the VM it interrupted).
  PartitionMsi* router(size_t partition) const { return partition < max_partitions ? routers_[partition] : nullptr; }
  // LPIs no partition's router owned where they arrived (never expected: each CPU's LPIs
  // are its partition's).
  void count_stray() { __atomic_fetch_add(&stray_, 1, __ATOMIC_RELAXED); }
  uint64_t stray() const { return __atomic_load_n(&stray_, __ATOMIC_RELAXED); }

 private:
  PartitionMsi* routers_[max_partitions] = {};
  uint64_t stray_ = 0;
};

}  // namespace bulkhead::partitions
