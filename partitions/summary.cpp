#include "partitions/summary.hpp"

#include "core/arch/aarch64/intid.hpp"
#include "partitions/rules.hpp"

namespace bulkhead::partitions {
namespace {

// Keys are padded so the values line up.
void key(Sink& out, const char* name) {
  constexpr size_t width = 14;
  format(out, "  {}", name);
  size_t length = 0;
  while (name[length] != '\0') ++length;
  for (size_t i = length; i < width; ++i) out.write(" ", 1);
}

void write_size(Sink& out, uint64_t bytes) {
  if (bytes % mib == 0)
    format(out, "{} MiB", bytes / mib);
  else
    format(out, "{} bytes", bytes);
}

void write_cpus(Sink& out, const Partition& partition) {
  key(out, "cpus");
  for (size_t c = 0; c < partition.cpu_count; ++c) {
    format(out, "{}{} (mpidr {})", c == 0 ? "" : ", ", partition.cpus[c].index, hex(partition.cpus[c].mpidr));
  }
  format(out, "\n");
}

void write_ram(Sink& out, const Partition& partition) {
  const PartitionRam& ram = partition.ram;
  key(out, "ram");
  format(out, "host {}-{} -> guest {}-{} (", hex(ram.host_base), hex(ram.host_base + ram.size - 1), hex(ram.guest_base),
         hex(ram.guest_base + ram.size - 1));
  write_size(out, ram.size);
  format(out, ", {})\n", ram.host_base_fixed ? "fixed" : "allocated");
}

void write_payload(Sink& out, const Partition& partition) {
  const Payload& payload = partition.payload;
  key(out, "payload");
  format(out, "{} ({}, {} bytes)\n", payload.file, payload_format_name(payload.format), payload.file_size);
  if (payload.has_initrd) {
    key(out, "initrd");
    format(out, "{} ({} bytes)\n", payload.initrd, payload.initrd_size);
  }
  const PayloadPlacement placement = place_payloads(partition.ram.guest_base, partition.ram.size, payload.load_offset,
                                                    payload.load_size, payload.initrd_size);
  key(out, "guest layout");
  format(out, "{} {}-{}", payload.format == PayloadFormat::raw ? "binary" : "kernel", hex(placement.kernel_base),
         hex(placement.kernel_end - 1));
  if (payload.has_initrd) format(out, ", initrd {}-{}", hex(placement.initrd_base), hex(placement.initrd_end - 1));
  format(out, ", device tree {}\n", hex(placement.dtb_base));
  if (payload.bootargs[0] != '\0') {
    key(out, "bootargs");
    format(out, "\"{}\"\n", payload.bootargs);
  }
}

void write_pci(Sink& out, const PciDeviceSelector& selector, bool automatic) {
  key(out, "pci");
  if (selector.has_sbdf) format(out, "sbdf {}", pci::sbdf_text(selector.sbdf).text);
  if (selector.has_sbdf && selector.has_ids) format(out, " ");
  if (selector.has_ids) {
    format(out, "vendor-device {}:{}", plain_hex(selector.vendor, 4), plain_hex(selector.device, 4));
    if (!selector.has_sbdf) format(out, " instance {}", selector.instance);
  }
  format(out, " -> vbdf 00:{}.0{}{}\n", plain_hex(selector.guest_slot, 2), automatic ? " (automatic)" : "",
         selector.reset_none ? ", reset none (handed over and restarted without a reset)" : "");
}

// Where the partition's BARs go: the virtual host bridge's windows. The BARs themselves
// (kinds and sizes) come from the hardware: the boot report's `vbdf` lines list them.
void write_pci_windows(Sink& out) {
  key(out, "pci windows");
  format(out, "mem32 {}-{}, mem64 pref {}-{}, io {}-{} (ports 0x0-{}); BARs sized at boot\n",
         hex(guest_pci_mmio32.range.base), hex(guest_pci_mmio32.range.end() - 1), hex(guest_pci_mmio64.range.base),
         hex(guest_pci_mmio64.range.end() - 1), hex(guest_pci_io.range.base), hex(guest_pci_io.range.end() - 1),
         hex(guest_pci_io.range.size - 1));
}

void write_platform(Sink& out, const PlatformDeviceRef& device) {
  key(out, "platform");
  format(out, "{}:", device.device);
  for (size_t r = 0; r < device.region_count; ++r) {
    format(out, "{} mmio {} size {}", r == 0 ? "" : ",", hex(device.regions[r].base), hex(device.regions[r].size));
  }
  for (size_t i = 0; i < device.interrupt_count; ++i) format(out, ", spi {}", device.interrupts[i].spi);
  format(out, "\n");
}

void write_partition(Sink& out, const Partition& partition, DescriptionForm form) {
  format(out, "partition {}\n", partition.name);
  write_cpus(out, partition);
  write_ram(out, partition);
  write_payload(out, partition);
  key(out, "console");
  format(out, "{}\n", guest_console_name(partition.console));
  for (size_t d = 0; d < partition.pci_device_count; ++d) {
    const PciDeviceSelector& selector = partition.pci_devices[d];
    write_pci(out, selector, form == DescriptionForm::source && !selector.slot_given);
  }
  if (partition.pci_device_count != 0) write_pci_windows(out);
  const MessageSpis& spis = partition.msi_spis;
  // Only a range the description gives: the automatic one is the boot report's
  // (partition NAME msi-spis), so the summary of a description without one stays as it was.
  if (spis.assigned && (spis.given || form == DescriptionForm::normalized)) {
    key(out, "msi-spis");
    const uint32_t last = spis.first + spis.count - 1;
    format(out, "{}-{} (INTIDs {}-{}){}\n", spis.first, last, arch::Intid::from_dt_spi(spis.first).value(),
           arch::Intid::from_dt_spi(last).value(), "");
  }
  for (size_t d = 0; d < partition.platform_device_count; ++d) write_platform(out, partition.platform_devices[d]);
  key(out, "legacy-intx");
  format(out, "{}\n", partition.legacy_intx ? "allowed" : "denied");
  key(out, "restart");
  format(out, "{}\n", restart_policy_name(partition.restart));
}

}  // namespace

void write_summary(Sink& out, const SystemDescription& description, const BoardDefinition* board) {
  if (board != nullptr) {
    format(out, "board {}: {} CPUs", board->name, board->cpu_count);
    for (size_t i = 0; i < board->ram_count; ++i) {
      format(out, ", RAM {}-{}", hex(board->ram[i].base), hex(board->ram[i].end() - 1));
    }
    format(out, "\n");
  }
  for (size_t i = 0; i < description.hypervisor_reserved_count; ++i) {
    const AddressRange& reserved = description.hypervisor_reserved[i];
    format(out, "hypervisor reserved {}-{}\n", hex(reserved.base), hex(reserved.end() - 1));
  }
  for (size_t i = 0; i < description.partition_count; ++i)
    write_partition(out, description.partitions[i], description.form);
  if (board == nullptr) return;
  const FreeRam free = free_ram(*board, description);
  if (free.count == 0) format(out, "free RAM none\n");
  for (size_t i = 0; i < free.count; ++i) {
    format(out, "free RAM {}-{} (", hex(free.blocks[i].base), hex(free.blocks[i].end() - 1));
    write_size(out, free.blocks[i].size);
    format(out, ")\n");
  }
}

}  // namespace bulkhead::partitions
