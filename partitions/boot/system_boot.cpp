// Everything after core/ has the machine up: enumerate PCI, open the package embedded
// in the image, check each partition against the machine, place its payloads, report.
#include "core/arch/aarch64/memory.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/boot_state.hpp"
#include "core/boot/system.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/bootargs.hpp"
#include "core/lib/crc32.hpp"
#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "partitions/boot/its_boot.hpp"
#include "partitions/boot/msi_runtime.hpp"
#include "partitions/boot/partition_runtime.hpp"
#include "partitions/boot/vpci_runtime.hpp"
#include "partitions/boot/smmu_boot.hpp"
#include "partitions/boot_plan.hpp"
#include "partitions/package.hpp"
#include "pci/ecam_mmio.hpp"
#include "pci/enumerate.hpp"
#include "pci/pci_report.hpp"
#include "pci/reset_method.hpp"

extern "C" const uint8_t bulkhead_package_start[];
extern "C" const uint8_t bulkhead_package_end[];

namespace bulkhead::boot {
namespace {

// Large tables the boot fills before reading: enumerate_all() clears the topology and
// resets each entry it creates, read_description() zeroes the description, and
// begin_plan() and plan_partition() set every field of the plan read later.
BULKHEAD_NOINIT constinit BootStorage<pci::PciTopology> pci_topology_storage;
BULKHEAD_NOINIT constinit BootStorage<partitions::SystemDescription> description_storage;
BULKHEAD_NOINIT constinit BootStorage<partitions::BootPlan> plan_storage;
constinit pci::EcamMmioAccessor ecam_accessors[max_pcie_hosts];
constinit partitions::Package package;

// Enumerates every host bridge and reports it; the time is counter ticks, which under
// QEMU -icount are instruction-based and deterministic (the enumeration benchmark).
void enumerate_pci(const BootContext& context) {
  const PlatformInfo& platform = *context.platform;
  pci::PciTopology& pci_topology = pci_topology_storage.get();
  pci::ConfigAccessor* accessors[max_pcie_hosts] = {};
  for (size_t i = 0; i < platform.pcie_host_count; ++i) {
    if (!context.ecam_mapped[i]) continue;
    ecam_accessors[i].attach(platform.pcie_hosts[i].ecam.base, platform.pcie_hosts[i].bus_first);
    accessors[i] = &ecam_accessors[i];
  }
  const uint64_t start = arch::counter();
  const bool clean = pci::enumerate_all(platform, accessors, pci_topology);
  const uint64_t ticks = arch::counter() - start;
  pci::report_topology(pci_topology);
  pci::report_reset_choices(pci_topology);
  uint64_t accesses = 0;
  for (size_t i = 0; i < pci_topology.segment_count; ++i) {
    accesses += pci_topology.segments[i].config_reads + pci_topology.segments[i].config_writes;
  }
  log::fact("pci-enumeration segments {} functions {} config-accesses {} ticks {} ns {} errors {}",
            pci_topology.segment_count, pci_topology.function_count, accesses, ticks,
            ticks * 1000000000ull / arch::counter_frequency(), clean ? "no" : "yes");
}

// Violations in the embedded description are impossible for an image the build made;
// if one shows up the image was tampered with or damaged.
class LoggedViolations final : public partitions::Violations {
 protected:
  void report(const char* path, const char* rule, const char* explanation) override {
    log::error("package description: {}: {}: {}", path, rule, explanation);
  }
};

// Partition RAM through the EL2 identity map (all RAM is mapped, normal memory). Every
// write ends at the point of coherency with no line left in a cache
// (core/arch/aarch64/memory.hpp): guests start with their MMU off.
class IdentityGuestLoader final : public partitions::GuestLoader {
 public:
  void scrub(uint64_t host_address, uint64_t size) override {
    arch::zero_to_poc(reinterpret_cast<void*>(host_address), size);
  }
  void copy(uint64_t host_address, const void* data, uint64_t size) override {
    rt::copy(reinterpret_cast<void*>(host_address), data, size);
    arch::clean_invalidate_to_poc(reinterpret_cast<const void*>(host_address), size);
  }
  uint32_t crc32(uint64_t host_address, uint64_t size) override {
    return bulkhead::crc32(reinterpret_cast<const void*>(host_address), size);
  }
  // One pass over the payload: each word is loaded from the package, stored into the
  // partition and fed to the CRC.
  uint32_t copy_and_crc32(uint64_t host_address, const void* data, uint64_t size) override {
    const uint32_t crc = bulkhead::copy_crc32(reinterpret_cast<void*>(host_address), data, size);
    arch::clean_invalidate_to_poc(reinterpret_cast<const void*>(host_address), size);
    return crc;
  }
};

// Restarts put a partition's RAM back from the package (partitions/boot_plan.hpp).
class PackageReloader final : public PartitionReloader {
 public:
  bool reload(size_t index) override {
    const partitions::SystemDescription& description = description_storage.get();
    partitions::ReloadError error;
    if (partitions::reload_partition(description.partitions[index], package, plan_storage.get(), index, loader_,
                                     error)) {
      return true;
    }
    log::error("partition {}: cannot restart: {}", description.partitions[index].name, error.message);
    return false;
  }

 private:
  IdentityGuestLoader loader_;
};
constinit PackageReloader reloader;

bool open_embedded_package() {
  // Two linker symbols around one blob: compare addresses, not pointers to distinct objects.
  const auto size = static_cast<size_t>(reinterpret_cast<uintptr_t>(bulkhead_package_end) -
                                        reinterpret_cast<uintptr_t>(bulkhead_package_start));
  log::fact("package base {} size {}", hex(reinterpret_cast<uint64_t>(bulkhead_package_start)), hex(size));
  partitions::PackageError error;
  if (!partitions::open_package(bulkhead_package_start, size, package, error)) {
    log::error("package: {}", error.message);
    return false;
  }
  partitions::SystemDescription& description = description_storage.get();
  LoggedViolations violations;
  if (!partitions::read_package_description(package, description, violations)) {
    log::error("package: the description does not read back ({} violations)", violations.count());
    return false;
  }
  log::fact("package entries {} partitions {} board {}", package.entry_count, description.partition_count,
            description.board);
  return true;
}

// At cold boot only the payloads' BSS is zeroed unless `bulkhead.scrub=all` asks for
// all of every partition's RAM (README.md, "What is scrubbed"). A restart always
// scrubs all of the partition's RAM.
partitions::ScrubScope cold_boot_scrub(const PlatformInfo& platform) {
  char value[16] = {};
  if (!bootarg_present(platform.bootargs, "bulkhead.scrub")) return partitions::ScrubScope::payload_bss;
  if (bootarg_value(platform.bootargs, "bulkhead.scrub", value, sizeof(value)) && rt::compare_strings(value, "all") == 0) {
    return partitions::ScrubScope::all_ram;
  }
  log::error("bootargs: bulkhead.scrub takes only the value all; scrubbing all partition RAM");
  return partitions::ScrubScope::all_ram;
}

}  // namespace

const char* run_system(const BootContext& context) {
  // No DMA passes the SMMU before enumeration; every StreamID aborts after.
  if (const char* failure = smmu_abort_bypass(context)) return failure;
  enumerate_pci(context);
  mark_boot_phase("pci");  // the SMMU's global abort, enumeration and its report
  pci::PciTopology& pci_topology = pci_topology_storage.get();
  if (const char* failure = smmu_bring_up(context, pci_topology)) return failure;
  mark_boot_phase("smmu");  // stream tables for the enumerated StreamIDs, the SMMU's report
  its_bring_up(context);
  mark_boot_phase("its");  // the ITS's tables and LPIs, its report
  if (!open_embedded_package()) {
    log::error("no partition can start without a valid package");
    return "package";
  }
  mark_boot_phase("package");
  const partitions::SystemDescription& description = description_storage.get();
  partitions::BootPlan& plan = plan_storage.get();
  partitions::MachineFacts machine;
  machine.platform = context.platform;
  machine.pci = &pci_topology;
  machine.virtual_pci = true;  // partitions see their PCI functions on a virtual bus
  machine.message_interrupts = runtime::machine_routes_messages();
  for (size_t i = 0; i < max_cpus; ++i) machine.cpu_online[i] = context.cpu_online[i];
  machine.hypervisor_ranges[machine.hypervisor_range_count++] = context.hypervisor_image;
  machine.hypervisor_ranges[machine.hypervisor_range_count++] = context.firmware_dtb;
  const partitions::ScrubScope scrub = cold_boot_scrub(*context.platform);
  log::fact("scrub cold-boot {}", scrub == partitions::ScrubScope::all_ram ? "all-ram" : "payload-bss");
  PciHardware pci;
  pci.topology = &pci_topology;
  for (size_t i = 0; i < context.platform->pcie_host_count; ++i) {
    if (context.ecam_mapped[i]) pci.accessors[i] = &ecam_accessors[i];
  }
  // One partition at a time: planned, loaded, started, then the next. The first guest
  // does not wait for the others' checks and payloads.
  partitions::PlanClaims claims;  // 1.3 KiB: fits the boot stack
  partitions::begin_plan(description, plan);
  IdentityGuestLoader loader;
  bool prepared = false;
  bool can_start = true;
  for (size_t i = 0; i < plan.count; ++i) {
    const char* name = description.partitions[i].name;
    partitions::plan_partition(description, machine, plan, i, claims);
    mark_boot_phase("plan", name);  // its report up to its payloads
    partitions::load_partition(description, package, machine, loader, plan, i, scrub);
    mark_boot_phase("load", name);  // its scrub, payload copies with their CRCs, its device tree
    if (!plan.partitions[i].loaded || !can_start) continue;
    if (!prepared) {
      prepared = true;
      can_start = prepare_partition_starts(*context.platform, reloader);
      if (!can_start) continue;
    }
    start_partition(*context.platform, description, plan, i, pci);
    mark_boot_phase("start", name);  // its stage 2, virtual devices and bus, DMA context, its boot CPU powered on
  }
  log::fact("partitions ready {} of {}", partitions::startable_count(plan), plan.count);
  return nullptr;
}

}  // namespace bulkhead::boot
