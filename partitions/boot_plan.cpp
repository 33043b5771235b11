#include "partitions/boot_plan.hpp"

#include "core/lib/boot_storage.hpp"
#include "core/lib/crc32.hpp"
#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "partitions/guest_dt.hpp"
#include "partitions/vpci_setup.hpp"
#include "pci/reset_method.hpp"
#include "pci/vpci/vpci_report.hpp"

namespace bulkhead::partitions {
namespace {

using pci::Function;

bool overlaps(const AddressRange& a, const AddressRange& b) {
  return a.size != 0 && b.size != 0 && a.base < b.end() && b.base < a.end();
}

bool inside(const AddressRange& inner, const AddressRange& outer) {
  return inner.base >= outer.base && inner.end() <= outer.end() && inner.end() >= inner.base;
}

// Records a failure: an error line now, and the first reason for the start line.
class Failures {
 public:
  Failures(const Partition& partition, PartitionPlan& plan) : partition_(partition), plan_(plan) {}

  template <typename... Args>
  void add(FormatString<std::type_identity_t<Args>...> reason, Args... args) {
    FixedBuffer<max_reason> text;
    format<Args...>(text, reason, args...);
    log::error("partition {}: {}", partition_.name, text.c_str());
    if (plan_.startable) rt::copy_string(plan_.reason, sizeof(plan_.reason), text.c_str());
    plan_.startable = false;
  }

 private:
  const Partition& partition_;
  PartitionPlan& plan_;
};

void report_cpus(const Partition& partition, const MachineFacts& machine, Failures& failures) {
  FixedBuffer<160> indices;
  FixedBuffer<200> mpidrs;
  for (size_t i = 0; i < partition.cpu_count; ++i) {
    const PartitionCpu& cpu = partition.cpus[i];
    format(indices, "{}{}", i == 0 ? "" : ",", cpu.index);
    format(mpidrs, "{}{}", i == 0 ? "" : ",", hex(cpu.mpidr));
  }
  log::fact("partition {} cpus {} mpidrs {}", partition.name, indices.c_str(), mpidrs.c_str());
  const PlatformInfo& platform = *machine.platform;
  for (size_t i = 0; i < partition.cpu_count; ++i) {
    const PartitionCpu& cpu = partition.cpus[i];
    if (cpu.index >= platform.cpu_count) {
      failures.add("cpu {}: the machine has {} CPUs", cpu.index, platform.cpu_count);
    } else if (platform.cpus[cpu.index].mpidr != cpu.mpidr) {
      failures.add("cpu {}: mpidr {} in the description, {} on this machine", cpu.index, hex(cpu.mpidr),
                   hex(platform.cpus[cpu.index].mpidr));
    } else if (!machine.cpu_online[cpu.index]) {
      failures.add("cpu {}: not online", cpu.index);
    }
  }
}

void check_ram(const Partition& partition, const MachineFacts& machine, Failures& failures) {
  const AddressRange ram{partition.ram.host_base, partition.ram.size};
  log::fact("partition {} ram host {} size {} guest {}", partition.name, hex(ram.base), hex(ram.size),
            hex(partition.ram.guest_base));
  bool present = false;
  for (size_t i = 0; i < machine.platform->ram_count; ++i) present |= inside(ram, machine.platform->ram[i]);
  if (!present) {
    failures.add("ram {} size {}: not inside this machine's RAM", hex(ram.base), hex(ram.size));
    return;
  }
  for (size_t i = 0; i < machine.hypervisor_range_count; ++i) {
    const AddressRange& reserved = machine.hypervisor_ranges[i];
    if (overlaps(ram, reserved)) {
      failures.add("ram {} size {}: overlaps hypervisor memory {} size {}", hex(ram.base), hex(ram.size),
                   hex(reserved.base), hex(reserved.size));
    }
  }
}

const char* selector_text(const PciDeviceSelector& selector, FixedBuffer<96>& text) {
  format(text, "{}", selector.node);
  if (selector.has_sbdf) {
    format(text, " sbdf {}:{}:{}.{}", plain_hex(selector.sbdf.segment, 4), plain_hex(selector.sbdf.bdf.bus, 2),
           plain_hex(selector.sbdf.bdf.device, 2), plain_hex(selector.sbdf.bdf.function, 1));
  }
  if (selector.has_ids) {
    format(text, " vendor-device {}:{} instance {}", plain_hex(selector.vendor, 4), plain_hex(selector.device, 4),
           selector.instance);
  }
  return text.c_str();
}

// The function a selector names, or nullptr after reporting why there is none.
const Function* resolve_selector(const PciDeviceSelector& selector, const pci::PciTopology& topology,
                                 Failures& failures) {
  FixedBuffer<96> name;
  selector_text(selector, name);
  const Function* by_address = selector.has_sbdf ? topology.find(selector.sbdf) : nullptr;
  // With an address the IDs only check the function there; without one they select the
  // instance-th function with those IDs.
  const bool select_by_ids = selector.has_ids && !selector.has_sbdf;
  const Function* by_ids =
      select_by_ids ? topology.find_by_id(selector.vendor, selector.device, selector.instance) : nullptr;
  if ((selector.has_sbdf && by_address == nullptr) || (select_by_ids && by_ids == nullptr)) {
    failures.add("{}: device not present", name.c_str());
    return nullptr;
  }
  if (selector.has_sbdf && selector.has_ids &&
      (by_address->vendor_id != selector.vendor || by_address->device_id != selector.device)) {
    failures.add("{}: the address and the IDs name different functions", name.c_str());
    return nullptr;
  }
  const Function* function = by_address != nullptr ? by_address : by_ids;
  if (function == nullptr) {  // the build-time rules forbid this; the boot does not rely on them
    failures.add("{}: selects nothing (neither sbdf nor vendor-device)", name.c_str());
    return nullptr;
  }
  if (function->is_bridge() || function->kind == pci::FunctionKind::host_bridge) {
    failures.add("{}: is a {}, only endpoints can be assigned", name.c_str(), pci::kind_name(function->kind));
    return nullptr;
  }
  if (!function->usable) {
    failures.add("{}: unusable (its BARs could not be placed)", name.c_str());
    return nullptr;
  }
  return function;
}

// Why enumeration found no reset method (pci/reset_method.hpp), for the refusal.
const char* no_reset_method_reason(pci::ResetReason reason) {
  switch (reason) {
    case pci::ResetReason::root_bus: return "no FLR, no PM soft reset, and on the root bus: no bridge to reset it";
    case pci::ResetReason::shared_bus:
      return "no FLR, no PM soft reset, and other functions share its bus: a bus reset would reset them too";
    case pci::ResetReason::not_assignable:
    case pci::ResetReason::device_capabilities:
    case pci::ResetReason::advanced_features:
    case pci::ResetReason::soft_reset:
    case pci::ResetReason::alone_below_bridge: break;  // (a method, or not an endpoint: refused before)
  }
  return "none recorded by enumeration";
}

void check_pci(size_t index, const SystemDescription& description, const MachineFacts& machine, PlanClaims& claims,
               PartitionPlan& plan, Failures& failures) {
  const Partition& partition = description.partitions[index];
  for (size_t s = 0; s < partition.pci_device_count; ++s) {
    const PciDeviceSelector& selector = partition.pci_devices[s];
    const Function* function = resolve_selector(selector, *machine.pci, failures);
    if (function == nullptr) continue;
    const size_t function_index = machine.pci->index_of(*function);
    const pci::SbdfText sbdf = pci::sbdf_text(function->address);
    const int owner = claims.function_owner(function_index);
    if (owner >= 0) {
      failures.add("{}: {} is already assigned to partition {}", selector.node, sbdf.text,
                   description.partitions[owner].name);
      continue;
    }
    const pci::ResetDecision reset = pci::decide_reset(function->reset.method, selector.reset_none);
    if (reset == pci::ResetDecision::refuse) {
      failures.add("{}: {} has no reset method ({}) and the description does not say reset = \"none\" for it",
                   selector.node, sbdf.text, no_reset_method_reason(function->reset.reason));
      continue;
    }
    claims.claim_function(function_index, index);
    plan.functions[plan.function_count++] = {static_cast<uint16_t>(function_index),
                                             static_cast<uint8_t>(selector.guest_slot), static_cast<uint8_t>(s),
                                             reset == pci::ResetDecision::reset};
    log::fact("partition {} pci {} slot {} {}:{} selector {}", partition.name, sbdf.text,
              plain_hex(selector.guest_slot, 2), plain_hex(function->vendor_id, 4), plain_hex(function->device_id, 4),
              selector.node);
    for (size_t b = 0; b < pci::bar_slots; ++b) {
      const pci::Bar& bar = function->bars[b];
      if (bar.kind == pci::BarKind::none) continue;
      log::fact("partition {} pci-bar {} {} {}{} addr {} size {}", partition.name, sbdf.text, b,
                pci::bar_kind_name(bar.kind), bar.prefetchable ? " pref" : "", hex(bar.cpu_address), hex(bar.size));
    }
    if (function->interrupt.pin == 0) continue;
    const char pin = static_cast<char>('A' + function->interrupt.pin - 1);
    const char pin_text[2] = {pin, '\0'};
    if (!partition.legacy_intx) {
      log::fact("partition {} pci-irq {} pin {} intx denied", partition.name, sbdf.text, pin_text);
      continue;
    }
    if (!function->interrupt.routed || function->interrupt.spi >= PlanClaims::spi_limit) {
      failures.add("{}: {} INT{} has no SPI in interrupt-map", selector.node, sbdf.text, pin_text);
      continue;
    }
    const uint32_t spi = function->interrupt.spi;
    log::fact("partition {} pci-irq {} pin {} intx allowed spi {}", partition.name, sbdf.text, pin_text, spi);
    const int spi_owner = claims.spi_owner(spi);
    // The guest gets the line as the same SPI number, so it must not be its UART's.
    if (partition.console == GuestConsole::virtual_uart && spi == guest_uart_spi) {
      failures.add("{}: {} INTx SPI {} is the guest's virtual UART interrupt", selector.node, sbdf.text, spi);
    } else if (partition.msi_spis.assigned && partition.msi_spis.contains(spi)) {
      failures.add("{}: {} INTx SPI {} is inside the partition's msi-spis {}-{}", selector.node, sbdf.text, spi,
                   partition.msi_spis.first, partition.msi_spis.first + partition.msi_spis.count - 1);
    } else if (spi_owner >= 0 && spi_owner != static_cast<int>(index)) {
      failures.add("{}: {} INTx SPI {} is also used by partition {}; INTx lines cannot be shared", selector.node,
                   sbdf.text, spi, description.partitions[spi_owner].name);
    } else {
      claims.claim_spi(spi, index);
    }
  }
}

void check_platform_devices(size_t index, const SystemDescription& description, PlanClaims& claims, Failures& failures) {
  const Partition& partition = description.partitions[index];
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    const PlatformDeviceRef& device = partition.platform_devices[d];
    for (size_t r = 0; r < device.region_count; ++r) {
      log::fact("partition {} platform {} reg {} size {}", partition.name, device.device, hex(device.regions[r].base),
                hex(device.regions[r].size));
    }
    for (size_t i = 0; i < device.interrupt_count; ++i) {
      const uint32_t spi = device.interrupts[i].spi;
      log::fact("partition {} platform {} spi {}", partition.name, device.device, spi);
      if (spi >= PlanClaims::spi_limit) continue;
      const int owner = claims.spi_owner(spi);
      if (owner >= 0 && owner != static_cast<int>(index)) {
        failures.add("{} ({}): SPI {} is also used by partition {}", device.node, device.device, spi,
                     description.partitions[owner].name);
      } else {
        claims.claim_spi(spi, index);
      }
    }
  }
}

// Guest-physical to host-physical inside the partition's RAM.
uint64_t host_address(const Partition& partition, uint64_t guest_address) {
  return guest_address - partition.ram.guest_base + partition.ram.host_base;
}

// Generates the partition's device tree, copies it to the placement's DTB address and
// keeps a pristine copy in the plan for restarts.
bool load_guest_dt(const Partition& partition, const MachineFacts& machine, GuestLoader& loader, BootPlan& plan,
                   PartitionPlan& partition_plan) {
  // One partition at a time, at boot, on the boot CPU: a static buffer keeps it off the
  // stack. libfdt clears as much of it as it is offered, so a first try offers only
  // what a typical tree needs; one that does not fit is written again with all of it.
  constexpr size_t first_try = size_t{8} * 1024;
  BULKHEAD_NOINIT alignas(8) static uint8_t buffer[64 * 1024];
  GuestDtInput input;
  input.partition = &partition;
  input.placement = partition_plan.placement;
  input.timer = machine.platform->timer;
  input.virtual_pci = machine.virtual_pci;
  input.message_interrupts = machine.message_interrupts;
  input.pci_interrupt_count = pci_intx_lines(partition, partition_plan, *machine.pci, input.pci_interrupts);
  size_t size = 0;
  GuestDtError error;
  if (!write_guest_dt(input, buffer, first_try, size, error) &&
      !write_guest_dt(input, buffer, sizeof(buffer), size, error)) {
    Failures(partition, partition_plan).add("guest device tree: {}", error.message);
    return false;
  }
  const size_t kept_at = (plan.pristine_dtbs_used + 7) & ~size_t{7};
  if (kept_at + size > sizeof(plan.pristine_dtbs)) {
    Failures(partition, partition_plan).add("guest device tree: size {} does not fit the {} bytes kept for restarts",
                                            hex(size), sizeof(plan.pristine_dtbs));
    return false;
  }
  rt::copy(plan.pristine_dtbs + kept_at, buffer, size);
  plan.pristine_dtbs_used = kept_at + size;
  partition_plan.pristine_dtb_offset = kept_at;
  const uint64_t destination = host_address(partition, partition_plan.placement.dtb_base);
  if (loader.copy_and_crc32(destination, buffer, size) != bulkhead::crc32(buffer, size)) {
    Failures(partition, partition_plan).add("guest device tree: copy at host {} does not match", hex(destination));
    return false;
  }
  partition_plan.dtb_size = size;
  log::fact("partition {} guest-dtb {} size {}", partition.name, hex(partition_plan.placement.dtb_base), hex(size));
  return true;
}

void scrub_between(GuestLoader& loader, uint64_t from, uint64_t to) {
  if (to > from) loader.scrub(from, to - from);
}

// Zeroes what `scope` says of the partition's RAM, around the payload copies.
void scrub_ram(const Partition& partition, const Package& package, const PayloadPlacement& placement,
               ScrubScope scope, GuestLoader& loader) {
  const Payload& payload = partition.payload;
  const uint64_t kernel = host_address(partition, placement.kernel_base);
  const uint64_t kernel_file_end = kernel + package.entries[payload.kernel_entry].size;
  if (scope == ScrubScope::payload_bss) {
    scrub_between(loader, kernel_file_end, host_address(partition, placement.kernel_end));
    return;
  }
  // Nothing of a previous occupant (firmware, an earlier boot or run) may leak into a guest.
  const uint64_t initrd = host_address(partition, placement.initrd_base);
  const uint64_t initrd_end = initrd + (payload.has_initrd ? package.entries[payload.initrd_entry].size : 0);
  scrub_between(loader, partition.ram.host_base, kernel);
  scrub_between(loader, kernel_file_end, initrd);
  scrub_between(loader, initrd_end, partition.ram.host_base + partition.ram.size);
}

// A partition's payloads in the package: the kernel (or raw binary), and its initrd.
struct PayloadCopy {
  uint32_t entry;
  uint64_t guest;    // its load address
  const char* file;  // its file name
};

size_t payload_copies(const Payload& payload, const PayloadPlacement& placement, PayloadCopy (&copies)[2]) {
  copies[0] = {payload.kernel_entry, placement.kernel_base, payload.file};
  copies[1] = {payload.initrd_entry, placement.initrd_base, payload.initrd};
  return payload.has_initrd ? 2 : 1;
}

// Scrubs the partition's RAM and copies its payloads from the package, checking each
// copy against its CRC. Returns the first failure's text, or nullptr.
const char* load_payloads(const Partition& partition, const Package& package, const PayloadPlacement& placement,
                          ScrubScope scope, GuestLoader& loader, FixedBuffer<max_reason>& failure) {
  scrub_ram(partition, package, placement, scope, loader);
  PayloadCopy copies[2];
  const size_t copy_count = payload_copies(partition.payload, placement, copies);
  for (size_t c = 0; c < copy_count; ++c) {
    const PackageEntry& entry = package.entries[copies[c].entry];
    const uint64_t destination = host_address(partition, copies[c].guest);
    if (loader.copy_and_crc32(destination, package.entry_data(copies[c].entry), entry.size) != entry.crc32) {
      format(failure, "{}: copy at host {} does not match its CRC", copies[c].file, hex(destination));
      return failure.c_str();
    }
  }
  return nullptr;
}

// The boot's load of one partition: its payloads checked once each, on their way into
// its RAM (a startable partition), or only in the package (one already refused, or
// after a failed copy), each reported with `crc ok|bad`. A copy that does not match
// its CRC is told apart from a corrupt package entry by checking the entry then.
void load_and_check_payloads(const Partition& partition, const Package& package, ScrubScope scope,
                             GuestLoader& loader, PartitionPlan& partition_plan) {
  const Payload& payload = partition.payload;
  const PayloadPlacement& placement = partition_plan.placement;
  bool copying = partition_plan.startable;
  if (copying) scrub_ram(partition, package, placement, scope, loader);
  PayloadCopy copies[2];
  const size_t copy_count = payload_copies(payload, placement, copies);
  FixedBuffer<32> payload_words;
  format(payload_words, "payload {}", payload_format_name(payload.format));
  const char* const words[2] = {payload_words.c_str(), "initrd"};
  Failures failures(partition, partition_plan);
  for (size_t c = 0; c < copy_count; ++c) {
    const uint32_t index = copies[c].entry;
    const bool exists = index < package.entry_count;
    const uint64_t size = exists ? package.entries[index].size : 0;
    const uint64_t destination = host_address(partition, copies[c].guest);
    const bool copy_matches =
        copying && exists && loader.copy_and_crc32(destination, package.entry_data(index), size) == package.entries[index].crc32;
    PackageError error;
    const bool intact = copy_matches || verify_entry(package, index, error);
    log::fact("partition {} {} {} entry {} size {} load {} crc {}", partition.name, words[c], copies[c].file, index,
              hex(size), hex(copies[c].guest), intact ? "ok" : "bad");
    if (!intact) {
      failures.add("{} {} (package entry {}): {}", words[c], copies[c].file, index, error.message);
    } else if (copying && !copy_matches) {
      failures.add("{}: copy at host {} does not match its CRC", copies[c].file, hex(destination));
    }
    copying = partition_plan.startable;
  }
}

// One line per function: the reset it gets before hand-over and on every restart, or none
// (its description says reset = "none").
void report_function_resets(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology) {
  for (size_t i = 0; i < plan.function_count; ++i) {
    const pci::Function& function = topology.functions[plan.functions[i].function];
    log::fact("partition {} pci-reset {} {}", partition.name, pci::sbdf_text(function.address).text,
              plan.functions[i].reset ? pci::reset_method_name(function.reset.method) : "none");
  }
}

// One line per function on the partition's virtual bus: its vBDF and the BARs its guest sees.
void report_virtual_functions(const Partition& partition, const PartitionPlan& plan, const pci::PciTopology& topology) {
  for (size_t i = 0; i < plan.function_count; ++i) {
    FixedBuffer<log::max_line> line;
    pci::vpci::write_function_fact(line, partition.name, topology.functions[plan.functions[i].function],
                                   plan.functions[i].guest_slot);
    log::fact("{}", line.c_str());
  }
}

}  // namespace

void begin_plan(const SystemDescription& description, BootPlan& plan) {
  plan.count = description.partition_count;
  plan.pristine_dtbs_used = 0;
}

void plan_partition(const SystemDescription& description, const MachineFacts& machine, BootPlan& plan, size_t index,
                    PlanClaims& claims) {
  const Partition& partition = description.partitions[index];
  PartitionPlan& partition_plan = plan.partitions[index];
  partition_plan = PartitionPlan();
  partition_plan.startable = true;
  Failures failures(partition, partition_plan);

  report_cpus(partition, machine, failures);
  check_ram(partition, machine, failures);
  const Payload& payload = partition.payload;
  partition_plan.placement = place_payloads(partition.ram.guest_base, partition.ram.size, payload.load_offset,
                                            payload.load_size, payload.has_initrd ? payload.initrd_size : 0);
  if (!partition_plan.placement.fits) failures.add("payload {}: does not fit in the partition's RAM", payload.file);
  log::fact("partition {} dtb {} bootargs \"{}\"", partition.name, hex(partition_plan.placement.dtb_base),
            payload.bootargs);
  log::fact("partition {} console {}", partition.name, guest_console_name(partition.console));
  check_pci(index, description, machine, claims, partition_plan, failures);
  check_platform_devices(index, description, claims, failures);
  log::fact("partition {} legacy-intx {} restart-policy {}", partition.name,
            partition.legacy_intx ? "allowed" : "denied", restart_policy_name(partition.restart));
}

void plan_partitions(const SystemDescription& description, const MachineFacts& machine, BootPlan& plan) {
  PlanClaims claims;  // 1.3 KiB: fits the boot stack
  begin_plan(description, plan);
  for (size_t index = 0; index < description.partition_count; ++index) {
    plan_partition(description, machine, plan, index, claims);
  }
}

void load_partition(const SystemDescription& description, const Package& package, const MachineFacts& machine,
                    GuestLoader& loader, BootPlan& plan, size_t index, ScrubScope scope) {
  const Partition& partition = description.partitions[index];
  PartitionPlan& partition_plan = plan.partitions[index];
  load_and_check_payloads(partition, package, scope, loader, partition_plan);
  if (partition_plan.startable) load_guest_dt(partition, machine, loader, plan, partition_plan);
  partition_plan.loaded = partition_plan.startable;
  if (partition_plan.startable) {
    report_function_resets(partition, partition_plan, *machine.pci);
    if (machine.virtual_pci) report_virtual_functions(partition, partition_plan, *machine.pci);
    log::fact("partition {} start yes", partition.name);
  } else {
    log::fact("partition {} start no reason {}", partition.name, partition_plan.reason);
  }
}

void load_partitions(const SystemDescription& description, const Package& package, const MachineFacts& machine,
                     GuestLoader& loader, BootPlan& plan, ScrubScope scope) {
  for (size_t index = 0; index < plan.count; ++index) load_partition(description, package, machine, loader, plan, index, scope);
}

bool reload_partition(const Partition& partition, const Package& package, const BootPlan& plan, size_t index,
                      GuestLoader& loader, ReloadError& error) {
  const PartitionPlan& partition_plan = plan.partitions[index];
  FixedBuffer<max_reason> failure;
  if (!partition_plan.loaded) {
    format(failure, "it was never loaded");
  } else if (load_payloads(partition, package, partition_plan.placement, ScrubScope::all_ram, loader, failure) ==
             nullptr) {
    const uint8_t* kept = plan.pristine_dtbs + partition_plan.pristine_dtb_offset;
    const uint64_t destination = host_address(partition, partition_plan.placement.dtb_base);
    if (loader.copy_and_crc32(destination, kept, partition_plan.dtb_size) ==
        bulkhead::crc32(kept, partition_plan.dtb_size)) {
      return true;
    }
    format(failure, "guest device tree: copy at host {} does not match", hex(destination));
  }
  rt::copy_string(error.message, sizeof(error.message), failure.c_str());
  return false;
}

size_t startable_count(const BootPlan& plan) {
  size_t count = 0;
  for (size_t i = 0; i < plan.count; ++i) count += plan.partitions[i].startable ? 1 : 0;
  return count;
}

}  // namespace bulkhead::partitions
