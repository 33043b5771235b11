#include "partitions/rules.hpp"

#include "core/lib/runtime.hpp"
#include "partitions/dt_reader.hpp"
#include "partitions/msi_spis.hpp"
#include "partitions/rule_names.hpp"

namespace bulkhead::partitions {
namespace {

constexpr uint32_t invalid_cpu = 0xffffffff;
constexpr uint32_t raw_entry_alignment = 4;  // the first instruction of a raw payload

bool overlap(const AddressRange& a, const AddressRange& b) { return a.base < b.end() && b.base < a.end(); }
bool wraps(uint64_t base, uint64_t size) { return size > UINT64_MAX - base; }
bool aligned(uint64_t value) { return value % ram_alignment == 0; }
bool same(const char* a, const char* b) { return rt::compare_strings(a, b) == 0; }

// A RAM size the other RAM rules can work with (its own problems are reported once).
bool usable_size(const PartitionRam& ram) { return ram.size_known && ram.size != 0 && aligned(ram.size); }

void subtract(FreeRam& free, const AddressRange& taken) {
  FreeRam result;
  for (size_t i = 0; i < free.count; ++i) {
    const AddressRange& block = free.blocks[i];
    if (!overlap(block, taken)) {
      if (result.count < max_free_blocks) result.blocks[result.count++] = block;
      continue;
    }
    if (block.base < taken.base && result.count < max_free_blocks) {
      result.blocks[result.count++] = {block.base, taken.base - block.base};
    }
    if (taken.end() < block.end() && result.count < max_free_blocks) {
      result.blocks[result.count++] = {taken.end(), block.end() - taken.end()};
    }
  }
  free = result;
}

class RuleChecker {
 public:
  RuleChecker(const SystemDescription& description, Violations& violations)
      : description_(description), violations_(violations) {}

  // Shared by both entry points: rules over resolved fields.
  void check_cpus_unique(size_t index) {
    const Partition& partition = description_.partitions[index];
    const DescriptionPath path = partition_path(partition);
    for (size_t c = 0; c < partition.cpu_count; ++c) {
      const PartitionCpu& cpu = partition.cpus[c];
      if (cpu.index == invalid_cpu) continue;
      bool reported = false;
      for (size_t earlier = 0; earlier < c && !reported; ++earlier) {
        if (partition.cpus[earlier].index != cpu.index) continue;
        violations_.add(path.text, rule::cpu_unique, "CPU {} (MPIDR {}) is listed twice", cpu.index, hex(cpu.mpidr));
        reported = true;
      }
      for (size_t other = 0; other < index && !reported; ++other) {
        const Partition& owner = description_.partitions[other];
        for (size_t o = 0; o < owner.cpu_count && !reported; ++o) {
          if (owner.cpus[o].index != cpu.index) continue;
          violations_.add(path.text, rule::cpu_unique, "CPU {} (MPIDR {}) is also in partition {}", cpu.index,
                          hex(cpu.mpidr), owner.name);
          reported = true;
        }
      }
    }
  }

  void check_ram_alignment(const Partition& partition) {
    const DescriptionPath path = partition_path(partition);
    const PartitionRam& ram = partition.ram;
    if (ram.size_known && ram.size == 0) violations_.add(path.text, rule::ram_size, "memory-size is 0");
    if (ram.size_known && ram.size != 0 && !aligned(ram.size)) {
      violations_.add(path.text, rule::ram_alignment, "memory-size {} is not a multiple of 2 MiB", hex(ram.size));
    }
    if (ram.host_base_fixed && !aligned(ram.host_base)) {
      violations_.add(path.text, rule::ram_alignment, "memory-host-base {} is not 2 MiB aligned", hex(ram.host_base));
    }
    if (!aligned(ram.guest_base)) {
      violations_.add(path.text, rule::ram_alignment, "memory-guest-base {} is not 2 MiB aligned", hex(ram.guest_base));
    }
  }

  // A fixed host placement against the hypervisor and the earlier fixed placements.
  // Returns false if it overlaps anything.
  bool check_ram_overlap(size_t index) {
    const Partition& partition = description_.partitions[index];
    const DescriptionPath path = partition_path(partition);
    const AddressRange ram{partition.ram.host_base, partition.ram.size};
    bool clear = true;
    for (size_t i = 0; i < description_.hypervisor_reserved_count; ++i) {
      const AddressRange& reserved = description_.hypervisor_reserved[i];
      if (!overlap(ram, reserved)) continue;
      violations_.add(path.text, rule::ram_overlap, "RAM {} size {} overlaps the hypervisor's reserved {} size {}",
                      hex(ram.base), hex(ram.size), hex(reserved.base), hex(reserved.size));
      clear = false;
    }
    for (size_t other = 0; other < index; ++other) {
      const Partition& earlier = description_.partitions[other];
      if (!earlier.ram.host_base_fixed || !usable_size(earlier.ram) || !aligned(earlier.ram.host_base)) continue;
      const AddressRange earlier_ram{earlier.ram.host_base, earlier.ram.size};
      if (wraps(earlier_ram.base, earlier_ram.size) || !overlap(ram, earlier_ram)) continue;
      violations_.add(path.text, rule::ram_overlap, "RAM {} size {} overlaps partition {} (RAM {} size {})",
                      hex(ram.base), hex(ram.size), earlier.name, hex(earlier_ram.base), hex(earlier_ram.size));
      clear = false;
    }
    return clear;
  }

  void check_guest_ram(const Partition& partition) {
    const DescriptionPath path = partition_path(partition);
    const PartitionRam& ram = partition.ram;
    if (!usable_size(ram)) return;
    if (wraps(ram.guest_base, ram.size) || ram.guest_base + ram.size > guest_address_limit) {
      violations_.add(path.text, rule::guest_address_limit, "guest RAM {} size {} ends above the guest limit {}",
                      hex(ram.guest_base), hex(ram.size), hex(guest_address_limit));
      return;
    }
    const AddressRange guest{ram.guest_base, ram.size};
    for (const GuestRegion& region : fixed_guest_regions) {
      if (!overlap(guest, region.range)) continue;
      violations_.add(path.text, rule::guest_region_collision,
                      "guest RAM {} size {} collides with the {} at {} size {}", hex(guest.base), hex(guest.size),
                      region.name, hex(region.range.base), hex(region.range.size));
    }
  }

  void check_payload_fits(const Partition& partition) {
    const Payload& payload = partition.payload;
    if (!payload.resolved || !usable_size(partition.ram)) return;
    const PayloadPlacement placement = place_payloads(partition.ram.guest_base, partition.ram.size, payload.load_offset,
                                                      payload.load_size, payload.has_initrd ? payload.initrd_size : 0);
    if (placement.fits) return;
    const DescriptionPath path = partition_child_path(partition, "payload");
    violations_.add(path.text, rule::payload_fits,
                    "kernel (load offset {}, {} bytes), initrd ({} bytes) and the 2 MiB device-tree area do not fit "
                    "in memory-size {}",
                    hex(payload.load_offset), hex(payload.load_size), hex(payload.has_initrd ? payload.initrd_size : 0),
                    hex(partition.ram.size));
  }

  void check_pci(size_t index) {
    const Partition& partition = description_.partitions[index];
    for (size_t d = 0; d < partition.pci_device_count; ++d) {
      const PciDeviceSelector& selector = partition.pci_devices[d];
      const DescriptionPath path = partition_child_path(partition, selector.node);
      check_pci_unique(index, d, path);
      const bool has_slot = selector.slot_given || selector.slot_assigned;
      if (has_slot && selector.guest_slot == 0) {
        violations_.add(path.text, rule::guest_slot_range, "guest-slot 0 is the virtual host bridge's");
      } else if (has_slot && selector.guest_slot >= guest_slot_count) {
        violations_.add(path.text, rule::guest_slot_range, "guest-slot {} is above {}", selector.guest_slot,
                        guest_slot_count - 1);
      } else if (has_slot) {
        for (size_t e = 0; e < d; ++e) {
          const PciDeviceSelector& earlier = partition.pci_devices[e];
          if (!(earlier.slot_given || earlier.slot_assigned) || earlier.guest_slot != selector.guest_slot) continue;
          violations_.add(path.text, rule::guest_slot_unique, "guest-slot {} is also used by {}", selector.guest_slot,
                          shown(earlier.node).text);
          break;
        }
      }
    }
  }

  void check_platform(size_t index) {
    const Partition& partition = description_.partitions[index];
    for (size_t d = 0; d < partition.platform_device_count; ++d) {
      const PlatformDeviceRef& device = partition.platform_devices[d];
      const DescriptionPath path = partition_child_path(partition, device.node);
      if (!device.resolved) continue;  // unknown device: reported by platform-exists
      check_platform_unique(index, d, path);
      check_platform_collisions(partition, device, path);
    }
  }

 protected:
  const SystemDescription& description_;
  Violations& violations_;

 private:
  static bool same_selector(const PciDeviceSelector& a, const PciDeviceSelector& b) {
    if (a.has_sbdf || b.has_sbdf) return a.has_sbdf && b.has_sbdf && a.sbdf == b.sbdf;
    return a.has_ids && b.has_ids && a.vendor == b.vendor && a.device == b.device && a.instance == b.instance;
  }

  void check_pci_unique(size_t index, size_t device, const DescriptionPath& path) {
    const PciDeviceSelector& selector = description_.partitions[index].pci_devices[device];
    if (!selector.has_sbdf && !selector.has_ids) return;
    for (size_t p = 0; p <= index; ++p) {
      const Partition& other = description_.partitions[p];
      const size_t limit = p == index ? device : other.pci_device_count;
      for (size_t d = 0; d < limit; ++d) {
        if (!same_selector(selector, other.pci_devices[d])) continue;
        if (selector.has_sbdf) {
          violations_.add(path.text, rule::pci_unique, "{} is also selected by partition {} ({})",
                          pci::sbdf_text(selector.sbdf).text, other.name, shown(other.pci_devices[d].node).text);
        } else {
          violations_.add(path.text, rule::pci_unique, "{}:{} instance {} is also selected by partition {} ({})",
                          plain_hex(selector.vendor, 4), plain_hex(selector.device, 4), selector.instance, other.name,
                          shown(other.pci_devices[d].node).text);
        }
        return;
      }
    }
  }

  void check_platform_unique(size_t index, size_t device_index, const DescriptionPath& path) {
    const PlatformDeviceRef& device = description_.partitions[index].platform_devices[device_index];
    for (size_t p = 0; p <= index; ++p) {
      const Partition& other = description_.partitions[p];
      const size_t limit = p == index ? device_index : other.platform_device_count;
      for (size_t d = 0; d < limit; ++d) {
        if (!same(other.platform_devices[d].device, device.device)) continue;
        if (p == index) {
          violations_.add(path.text, rule::platform_unique, "device {} is listed twice", device.device);
        } else {
          violations_.add(path.text, rule::platform_unique, "device {} is also given to partition {}", device.device,
                          other.name);
        }
        return;
      }
    }
  }

  // Passed-through registers appear at their host address in the guest.
  void check_platform_collisions(const Partition& partition, const PlatformDeviceRef& device,
                                 const DescriptionPath& path) {
    for (size_t r = 0; r < device.region_count; ++r) {
      const AddressRange& region = device.regions[r];
      for (const GuestRegion& fixed : fixed_guest_regions) {
        if (!overlap(region, fixed.range)) continue;
        violations_.add(path.text, rule::guest_region_collision, "{} at {} size {} collides with the {} at {} size {}",
                        device.device, hex(region.base), hex(region.size), fixed.name, hex(fixed.range.base),
                        hex(fixed.range.size));
      }
      const PartitionRam& ram = partition.ram;
      if (usable_size(ram) && !wraps(ram.guest_base, ram.size) && overlap(region, {ram.guest_base, ram.size})) {
        violations_.add(path.text, rule::guest_region_collision, "{} at {} size {} collides with guest RAM {} size {}",
                        device.device, hex(region.base), hex(region.size), hex(ram.guest_base), hex(ram.size));
      }
    }
  }
};

// The build-time pass: resolves against the board and the payload files as it checks.
class BoardRuleChecker final : public RuleChecker {
 public:
  BoardRuleChecker(SystemDescription& description, const BoardDefinition& board, const PartitionPayloads* payloads,
                   Violations& violations)
      : RuleChecker(description, violations), writable_(description), board_(board), payloads_(payloads) {}

  void run() {
    if (description_.board[0] != '\0' && !same(description_.board, board_.name)) {
      violations_.add("/", rule::board_match, "board \"{}\" is not this board definition's \"{}\"",
                      shown(description_.board).text, board_.name);
    }
    writable_.hypervisor_reserved_count = board_.reserved_count;
    rt::copy(writable_.hypervisor_reserved, board_.reserved, sizeof(board_.reserved));
    for (size_t i = 0; i < description_.partition_count; ++i) {
      Partition& partition = writable_.partitions[i];
      resolve_cpus(partition);
      check_cpus_unique(i);
      check_ram_alignment(partition);
      check_fixed_ram(i);
      check_guest_ram(partition);
      resolve_payload(partition, payloads_[i]);
      check_payload_fits(partition);
      check_pci(i);
      resolve_platforms(partition);
      check_platform(i);
    }
    allocate();
    assign_guest_slots();
    assign_msi_spis();
  }

 private:
  void resolve_cpus(Partition& partition) {
    const DescriptionPath path = partition_path(partition);
    bool all = partition.cpu_count != 0;
    for (size_t c = 0; c < partition.cpu_count; ++c) {
      PartitionCpu& cpu = partition.cpus[c];
      if (partition.cpu_selector == CpuSelector::indices) {
        if (cpu.index < board_.cpu_count) {
          cpu.mpidr = board_.cpu_mpidrs[cpu.index];
          continue;
        }
        violations_.add(path.text, rule::cpu_exists, "cpus: CPU {} does not exist (the board has CPUs 0 to {})",
                        cpu.index, board_.cpu_count - 1);
      } else {
        cpu.index = invalid_cpu;
        for (size_t b = 0; b < board_.cpu_count; ++b) {
          if (board_.cpu_mpidrs[b] == cpu.mpidr) cpu.index = static_cast<uint32_t>(b);
        }
        if (cpu.index != invalid_cpu) continue;
        violations_.add(path.text, rule::cpu_exists, "cpu-mpidrs: no board CPU has MPIDR {}", hex(cpu.mpidr));
      }
      cpu.index = invalid_cpu;
      all = false;
    }
    partition.cpus_resolved = all;
  }

  void check_fixed_ram(size_t index) {
    PartitionRam& ram = writable_.partitions[index].ram;
    if (!ram.host_base_fixed || !usable_size(ram) || !aligned(ram.host_base)) return;
    const DescriptionPath path = partition_path(description_.partitions[index]);
    bool inside = false;
    for (size_t r = 0; r < board_.ram_count; ++r) {
      const AddressRange& board_ram = board_.ram[r];
      inside = inside || (ram.host_base >= board_ram.base && !wraps(ram.host_base, ram.size) &&
                          ram.host_base + ram.size <= board_ram.end());
    }
    if (!inside) {
      FixedBuffer<200> ranges;
      for (size_t r = 0; r < board_.ram_count; ++r) {
        format(ranges, "{}{} size {}", r == 0 ? "" : ", ", hex(board_.ram[r].base), hex(board_.ram[r].size));
      }
      violations_.add(path.text, rule::ram_inside_board, "RAM {} size {} is not inside the board's RAM ({})",
                      hex(ram.host_base), hex(ram.size), ranges.c_str());
      return;
    }
    ram.placed = check_ram_overlap(index);
  }

  void resolve_payload(Partition& partition, const PartitionPayloads& files) {
    Payload& payload = partition.payload;
    if (!payload.present || payload.format == PayloadFormat::unknown || payload.file[0] == '\0') return;
    const DescriptionPath path = partition_child_path(partition, "payload");
    const PayloadInfo& kernel = files.kernel;
    bool valid = true;
    if (!kernel.found) {
      violations_.add(path.text, rule::payload_exists, "file \"{}\" is not in the payload directory",
                      shown(payload.file).text);
      valid = false;
    } else if (kernel.size == 0) {
      violations_.add(path.text, rule::payload_format, "file \"{}\" is empty", shown(payload.file).text);
      valid = false;
    } else if (payload.format == PayloadFormat::linux_image) {
      valid = check_linux_header(path, payload, kernel);
    } else if (payload.load_offset % raw_entry_alignment != 0) {
      violations_.add(path.text, rule::payload_format, "load-offset {} is not a multiple of {} (it is the entry point)",
                      hex(payload.load_offset), raw_entry_alignment);
      valid = false;
    }
    if (payload.has_initrd && !files.initrd.found) {
      violations_.add(path.text, rule::payload_exists, "initrd \"{}\" is not in the payload directory",
                      shown(payload.initrd).text);
      valid = false;
    } else if (payload.has_initrd && files.initrd.size == 0) {
      violations_.add(path.text, rule::payload_format, "initrd \"{}\" is empty", shown(payload.initrd).text);
      valid = false;
    }
    if (!valid) return;
    if (payload.format == PayloadFormat::linux_image) {
      payload.load_offset = kernel.text_offset;
      payload.load_size = kernel.image_size;
    } else {
      payload.load_size = kernel.size;
    }
    payload.has_load_offset = true;
    payload.file_size = kernel.size;
    payload.initrd_size = payload.has_initrd ? files.initrd.size : 0;
    payload.resolved = true;
  }

  void resolve_platforms(Partition& partition) {
    for (size_t d = 0; d < partition.platform_device_count; ++d) {
      PlatformDeviceRef& device = partition.platform_devices[d];
      if (device.device[0] != '\0') resolve_platform(partition_child_path(partition, device.node), device);
    }
  }

  void resolve_platform(const DescriptionPath& path, PlatformDeviceRef& device) {
    const BoardDevice* found = board_.find_device(device.device);
    if (found == nullptr) {
      FixedBuffer<160> names;
      for (size_t i = 0; i < board_.device_count; ++i)
        format(names, "{}{}", i == 0 ? "" : ", ", board_.devices[i].name);
      violations_.add(path.text, rule::platform_exists, "device \"{}\" is not a platform device of board {} ({}: {})",
                      shown(device.device).text, board_.name, board_.device_count == 0 ? "it has none" : "it has",
                      names.c_str());
      return;
    }
    static_cast<DeviceResources&>(device) = *found;
    device.resolved = true;
  }

  bool check_linux_header(const DescriptionPath& path, const Payload& payload, const PayloadInfo& kernel) {
    if (!kernel.linux_header) {
      violations_.add(path.text, rule::payload_format,
                      "file \"{}\" has no arm64 Linux Image header (magic ARM\\x64 at 0x38); use format \"raw\" for "
                      "other binaries",
                      shown(payload.file).text);
      return false;
    }
    if (kernel.image_size == 0) {
      violations_.add(path.text, rule::payload_format,
                      "file \"{}\": image_size is 0 (kernels before Linux 3.17 are not supported)",
                      shown(payload.file).text);
      return false;
    }
    if (kernel.image_size < kernel.size) {
      violations_.add(path.text, rule::payload_format, "file \"{}\": image_size {} is smaller than the file ({} bytes)",
                      shown(payload.file).text, hex(kernel.image_size), hex(kernel.size));
      return false;
    }
    return true;
  }

  void allocate() {
    FreeRam free = free_ram(board_, description_);
    for (size_t i = 0; i < description_.partition_count; ++i) {
      Partition& partition = writable_.partitions[i];
      PartitionRam& ram = partition.ram;
      if (ram.host_base_fixed || !usable_size(ram)) continue;
      if (allocate_ram(free, ram.size, ram.host_base)) {
        ram.placed = true;
        continue;
      }
      violations_.add(partition_path(partition).text, rule::ram_exhausted,
                      "memory-size {} does not fit in the free board RAM (largest free block {})", hex(ram.size),
                      hex(free.largest_aligned()));
    }
  }

  // Devices without a guest-slot get the lowest free slot from 1, in node order.
  void assign_guest_slots() {
    for (size_t i = 0; i < description_.partition_count; ++i) {
      Partition& partition = writable_.partitions[i];
      bool used[guest_slot_count] = {true};  // slot 0: the virtual host bridge
      for (size_t d = 0; d < partition.pci_device_count; ++d) {
        PciDeviceSelector& selector = partition.pci_devices[d];
        if (!selector.slot_given || selector.guest_slot >= guest_slot_count || selector.guest_slot == 0) continue;
        if (!used[selector.guest_slot]) selector.slot_assigned = true;
        used[selector.guest_slot] = true;
      }
      for (size_t d = 0; d < partition.pci_device_count; ++d) {
        PciDeviceSelector& selector = partition.pci_devices[d];
        if (selector.slot_given) continue;
        for (uint32_t slot = 1; slot < guest_slot_count; ++slot) {
          if (used[slot]) continue;
          used[slot] = true;
          selector.guest_slot = slot;
          selector.slot_assigned = true;
          break;
        }
      }
    }
  }

  // The ranges written are checked once every platform device is resolved; then each
  // partition with PCI functions that gave none gets the lowest free one, in order.
  void assign_msi_spis() {
    for (size_t i = 0; i < description_.partition_count; ++i) {
      writable_.partitions[i].msi_spis.assigned = check_msi_spis(description_, i, violations_);
    }
    for (size_t i = 0; i < description_.partition_count; ++i) {
      Partition& partition = writable_.partitions[i];
      if (partition.pci_device_count == 0 || partition.msi_spis.given) continue;
      uint32_t first = 0;
      if (!choose_msi_spis(description_, &board_, default_msi_spis, first)) {
        violations_.add(partition_path(partition).text, rule::msi_spis,
                        "no {} free SPIs are left for the default msi-spis; give msi-spis = <first count>",
                        default_msi_spis);
        continue;
      }
      partition.msi_spis = {false, true, first, default_msi_spis};
    }
  }

  SystemDescription& writable_;
  const BoardDefinition& board_;
  const PartitionPayloads* payloads_;
};

}  // namespace

uint64_t FreeRam::largest_aligned() const {
  uint64_t largest = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t base = (blocks[i].base + ram_alignment - 1) & ~(ram_alignment - 1);
    const uint64_t end = blocks[i].end() & ~(ram_alignment - 1);
    if (base < blocks[i].base || end <= base) continue;  // rounding wrapped, or nothing aligned inside
    if (end - base > largest) largest = end - base;
  }
  return largest;
}

FreeRam free_ram(const BoardDefinition& board, const SystemDescription& description) {
  FreeRam free;
  for (size_t i = 0; i < board.ram_count && free.count < max_free_blocks; ++i) {
    if (board.ram[i].size != 0 && !wraps(board.ram[i].base, board.ram[i].size))
      free.blocks[free.count++] = board.ram[i];
  }
  // Ascending order, so first fit is lowest address first whatever the board lists.
  for (size_t i = 1; i < free.count; ++i) {
    for (size_t j = i; j > 0 && free.blocks[j].base < free.blocks[j - 1].base; --j) {
      const AddressRange swap = free.blocks[j];
      free.blocks[j] = free.blocks[j - 1];
      free.blocks[j - 1] = swap;
    }
  }
  for (size_t i = 0; i < board.reserved_count; ++i) subtract(free, board.reserved[i]);
  for (size_t i = 0; i < description.partition_count; ++i) {
    const PartitionRam& ram = description.partitions[i].ram;
    if (ram.placed && !wraps(ram.host_base, ram.size)) subtract(free, {ram.host_base, ram.size});
  }
  return free;
}

bool allocate_ram(FreeRam& free, uint64_t size, uint64_t& base) {
  if (size == 0) return false;
  for (size_t i = 0; i < free.count; ++i) {
    const AddressRange& block = free.blocks[i];
    const uint64_t start = (block.base + ram_alignment - 1) & ~(ram_alignment - 1);
    if (start < block.base || start >= block.end() || block.end() - start < size) continue;
    base = start;
    subtract(free, {start, size});
    return true;
  }
  return false;
}

bool check_description(SystemDescription& description, const BoardDefinition& board, const PartitionPayloads* payloads,
                       Violations& violations) {
  const size_t before = violations.count();
  BoardRuleChecker(description, board, payloads, violations).run();
  return violations.count() == before;
}

bool check_consistency(const SystemDescription& description, Violations& violations) {
  const size_t before = violations.count();
  RuleChecker checker(description, violations);
  for (size_t i = 0; i < description.partition_count; ++i) {
    const Partition& partition = description.partitions[i];
    checker.check_cpus_unique(i);
    checker.check_ram_alignment(partition);
    if (usable_size(partition.ram) && aligned(partition.ram.host_base)) checker.check_ram_overlap(i);
    checker.check_guest_ram(partition);
    checker.check_payload_fits(partition);
    checker.check_pci(i);
    checker.check_platform(i);
  }
  for (size_t i = 0; i < description.partition_count; ++i) {
    const Partition& partition = description.partitions[i];
    if (partition.msi_spis.assigned) check_msi_spis(description, i, violations);
  }
  return violations.count() == before;
}

bool check_source(const void* blob, size_t size, const BoardDefinition& board, PayloadLookup& files,
                  SystemDescription& description, Violations& violations) {
  const size_t before = violations.count();
  read_description(blob, size, DescriptionForm::source, description, violations);
  PartitionPayloads payloads[max_partitions];
  for (size_t i = 0; i < description.partition_count; ++i) {
    const Payload& payload = description.partitions[i].payload;
    if (payload.file[0] != '\0') payloads[i].kernel = files.inspect(payload.file);
    if (payload.has_initrd) payloads[i].initrd = files.inspect(payload.initrd);
  }
  check_description(description, board, payloads, violations);
  return violations.count() == before;
}

bool check_package_size(uint64_t package_bytes, const BoardDefinition& board, Violations& violations) {
  if (package_bytes != 0 && package_bytes <= board.package_max_size) return true;
  if (package_bytes == 0) {
    violations.add("/", rule::package_size, "the package would exceed 4 GiB");
  } else {
    violations.add("/", rule::package_size, "the package needs {} bytes, the board allows {} (package-max-size)",
                   hex(package_bytes), hex(board.package_max_size));
  }
  return false;
}

}  // namespace bulkhead::partitions
