// The boot-time half of the description: the rules that need the machine (CPUs online,
// RAM present, devices enumerated and placed, INTx not shared, payloads intact), the
// partition report, and placing each payload in its partition's RAM.
//
// A partition whose requirements fail is not started; every failure is an error line
// naming the partition, the item (selector, CPU, payload) and the reason; the other
// partitions proceed. Portable: the target supplies memory access through GuestLoader.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/platform/platform.hpp"
#include "partitions/description.hpp"
#include "partitions/guest_layout.hpp"
#include "partitions/package.hpp"
#include "pci/topology.hpp"

namespace bulkhead::partitions {

constexpr size_t max_hypervisor_ranges = 4;
constexpr size_t max_reason = 200;
// Every loaded partition's generated device tree is kept here, so a restart copies it
// back instead of running libfdt while guests run (libfdt uses FP/SIMD registers).
constexpr size_t pristine_dtb_store_size = size_t{64} * 1024;

// What the boot learnt about the machine.
struct MachineFacts {
  const PlatformInfo* platform = nullptr;
  const pci::PciTopology* pci = nullptr;
  bool cpu_online[max_cpus] = {};
  // Host memory no partition may have: the hypervisor image, the firmware DTB.
  AddressRange hypervisor_ranges[max_hypervisor_ranges];
  size_t hypervisor_range_count = 0;
  // The hypervisor emulates each partition's virtual PCI bus (pci/vpci): guests with PCI
  // functions get the host bridge in their device tree, and the report gives their vBDFs.
  bool virtual_pci = false;
  // The virtual GIC implements each partition's message-based SPIs (msi-spis) and MSIs
  // are routed to them: guests get `msi-controller`/`mbi-ranges` and `msi-parent`.
  bool message_interrupts = false;
};

struct AssignedFunction {
  uint16_t function = pci::no_function;  // index into PciTopology::functions
  uint8_t guest_slot = 0;
  uint8_t selector = 0;  // index into Partition::pci_devices
  // Reset before hand-over and on every restart (pci::decide_reset: reset); false when
  // the description says reset = "none".
  bool reset = false;
};

struct PartitionPlan {
  bool startable = false;
  char reason[max_reason] = {};  // the first failure, for the start line
  AssignedFunction functions[max_pci_devices];
  size_t function_count = 0;
  PayloadPlacement placement;  // guest-physical addresses
  uint64_t dtb_size = 0;       // the generated guest DTB at placement.dtb_base
  size_t pristine_dtb_offset = 0;  // its copy in BootPlan::pristine_dtbs
  bool loaded = false;
};

struct BootPlan {
  PartitionPlan partitions[max_partitions];
  size_t count = 0;
  alignas(8) uint8_t pristine_dtbs[pristine_dtb_store_size] = {};
  size_t pristine_dtbs_used = 0;
};

// Who already holds a PCI function or an SPI (the partition index, or -1): what the
// partitions planned so far took, for the next one's checks.
class PlanClaims {
 public:
  static constexpr uint32_t spi_limit = 1024;
  int function_owner(size_t function) const { return function_owner_plus_one_[function] - 1; }
  int spi_owner(uint32_t spi) const { return spi_owner_plus_one_[spi] - 1; }
  void claim_function(size_t function, size_t partition) {
    function_owner_plus_one_[function] = static_cast<uint8_t>(partition + 1);
  }
  void claim_spi(uint32_t spi, size_t partition) { spi_owner_plus_one_[spi] = static_cast<uint8_t>(partition + 1); }

 private:
  uint8_t function_owner_plus_one_[pci::max_functions] = {};  // 0: nobody
  uint8_t spi_owner_plus_one_[spi_limit] = {};
};

// The plan for `description`, before its first plan_partition().
void begin_plan(const SystemDescription& description, BootPlan& plan);
// Checks partition `index` against the machine (the partitions are planned in description
// order, one PlanClaims for all) and prints its report lines (`bulkhead: partition NAME
// ...`) up to `legacy-intx`. Its payloads are checked (and reported) by its load: each is
// read once, on its way into its RAM. The boot plans, loads and starts one partition
// before it plans the next.
void plan_partition(const SystemDescription& description, const MachineFacts& machine, BootPlan& plan, size_t index,
                    PlanClaims& claims);
// begin_plan(), then plan_partition() for each partition.
void plan_partitions(const SystemDescription& description, const MachineFacts& machine, BootPlan& plan);

// Host-physical memory of partitions, as the target reaches it. Whatever it writes a
// guest must read as written with its MMU off (the target cleans it to the point of
// coherency).
class GuestLoader {
 public:
  virtual void scrub(uint64_t host_address, uint64_t size) = 0;
  virtual void copy(uint64_t host_address, const void* data, uint64_t size) = 0;
  virtual uint32_t crc32(uint64_t host_address, uint64_t size) = 0;
  // copy(), then the CRC of the copy. The target does both in one pass over the data.
  virtual uint32_t copy_and_crc32(uint64_t host_address, const void* data, uint64_t size) {
    copy(host_address, data, size);
    return crc32(host_address, size);
  }

 protected:
  ~GuestLoader() = default;
};

// What a load zeroes of a partition's RAM. Never the bytes the payload copies write.
enum class ScrubScope : uint8_t {
  all_ram,      // everything else: nothing of a previous occupant stays
  payload_bss,  // only the kernel's (or raw binary's) load size beyond its file: its BSS
};

// One partition, after plan_partitions(): if it is startable, zeroes its RAM as `scope`
// says, copies its payloads from the package to their placement, checking each copy
// against its package CRC in the same pass, and writes its generated device tree
// (partitions/guest_dt.hpp) at the placement's DTB address, keeping a copy of it in the
// plan. A partition already refused only has its payloads checked in the package. Prints
// its payload lines (`crc ok|bad`), then its last report lines, ending with `partition
// NAME start yes` or `start no reason ...`. The boot starts each partition right after
// its load, before it plans the next.
void load_partition(const SystemDescription& description, const Package& package, const MachineFacts& machine,
                    GuestLoader& loader, BootPlan& plan, size_t index, ScrubScope scope = ScrubScope::all_ram);
// load_partition() for each partition in description order.
void load_partitions(const SystemDescription& description, const Package& package, const MachineFacts& machine,
                     GuestLoader& loader, BootPlan& plan, ScrubScope scope = ScrubScope::all_ram);

struct ReloadError {
  char message[max_reason] = {};
};

// Puts a loaded partition's RAM back to what load_partition() left, scrubbed whole
// (ScrubScope::all_ram, whatever the boot did): the payloads copied from the package
// again and checked against their CRCs, the kept device tree copied back. For restarts; runs while other partitions run, so it uses
// no libfdt and prints nothing. False with `error` saying what did not match.
bool reload_partition(const Partition& partition, const Package& package, const BootPlan& plan, size_t index,
                      GuestLoader& loader, ReloadError& error);

size_t startable_count(const BootPlan& plan);

}  // namespace bulkhead::partitions
