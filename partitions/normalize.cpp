#include "partitions/normalize.hpp"

#include <libfdt.h>

#include "core/lib/runtime.hpp"

namespace bulkhead::partitions {
namespace {

class TreeWriter {
 public:
  TreeWriter(void* buffer, size_t capacity) : fdt_(buffer) {
    status_ = capacity > INT32_MAX ? -FDT_ERR_NOSPACE : fdt_create(buffer, static_cast<int>(capacity));
    if (status_ == 0) status_ = fdt_finish_reservemap(fdt_);
  }

  void begin(const char* name) {
    if (status_ == 0) status_ = fdt_begin_node(fdt_, name);
  }
  void end() {
    if (status_ == 0) status_ = fdt_end_node(fdt_);
  }
  void string(const char* name, const char* value) {
    if (status_ == 0) status_ = fdt_property_string(fdt_, name, value);
  }
  void bytes(const char* name, const void* value, size_t length) {
    if (status_ == 0) status_ = fdt_property(fdt_, name, value, static_cast<int>(length));
  }
  void u32(const char* name, uint32_t value) {
    if (status_ == 0) status_ = fdt_property_u32(fdt_, name, value);
  }
  // Big-endian cells, as `<a b c>`: at most 32 of them.
  void cells(const char* name, const uint32_t* values, size_t count) {
    fdt32_t encoded[32];
    if (count > 32) status_ = -FDT_ERR_BADVALUE;
    for (size_t i = 0; i < count && status_ == 0; ++i) encoded[i] = cpu_to_fdt32(values[i]);
    bytes(name, encoded, count * sizeof(fdt32_t));
  }
  void u64(const char* name, uint64_t value) {
    const uint32_t halves[2] = {static_cast<uint32_t>(value >> 32), static_cast<uint32_t>(value)};
    cells(name, halves, 2);
  }
  void ranges(const char* name, const AddressRange* ranges, size_t count) {
    uint32_t values[32] = {};
    if (count > 8) status_ = -FDT_ERR_BADVALUE;
    for (size_t i = 0; i < count && i < 8; ++i) {
      values[4 * i] = static_cast<uint32_t>(ranges[i].base >> 32);
      values[4 * i + 1] = static_cast<uint32_t>(ranges[i].base);
      values[4 * i + 2] = static_cast<uint32_t>(ranges[i].size >> 32);
      values[4 * i + 3] = static_cast<uint32_t>(ranges[i].size);
    }
    cells(name, values, 4 * count);
  }

  bool finish(size_t& size) {
    if (status_ == 0) status_ = fdt_finish(fdt_);
    if (status_ != 0) return false;
    size = fdt_totalsize(fdt_);
    return true;
  }

 private:
  void* fdt_;
  int status_ = 0;
};

bool resolved(const SystemDescription& description) {
  for (size_t i = 0; i < description.partition_count; ++i) {
    const Partition& partition = description.partitions[i];
    if (!partition.cpus_resolved || !partition.ram.placed || !partition.payload.resolved) return false;
    if (partition.payload.kernel_entry == no_entry) return false;
    if (partition.payload.has_initrd && partition.payload.initrd_entry == no_entry) return false;
    for (size_t d = 0; d < partition.pci_device_count; ++d) {
      if (!partition.pci_devices[d].slot_assigned) return false;
    }
    if (partition.msi_spis.given && !partition.msi_spis.assigned) return false;
    if (partition.pci_device_count != 0 && !partition.msi_spis.assigned) return false;
    for (size_t d = 0; d < partition.platform_device_count; ++d) {
      if (!partition.platform_devices[d].resolved) return false;
    }
  }
  return true;
}

void write_payload(TreeWriter& out, const Payload& payload) {
  out.begin("payload");
  out.string("format", payload_format_name(payload.format));
  out.string("file", payload.file);
  out.u64("load-offset", payload.load_offset);
  out.u64("load-size", payload.load_size);
  out.u32("payload-entry", payload.kernel_entry);
  if (payload.has_initrd) {
    out.string("initrd", payload.initrd);
    out.u32("initrd-entry", payload.initrd_entry);
  }
  if (payload.bootargs[0] != '\0') out.string("bootargs", payload.bootargs);
  out.end();
}

void write_pci_device(TreeWriter& out, const PciDeviceSelector& selector) {
  out.begin(selector.node);
  if (selector.has_sbdf) out.string("sbdf", pci::sbdf_text(selector.sbdf).text);
  if (selector.has_ids) {
    const uint32_t ids[2] = {selector.vendor, selector.device};
    out.cells("vendor-device", ids, 2);
    if (!selector.has_sbdf) out.u32("instance", selector.instance);
  }
  out.u32("guest-slot", selector.guest_slot);
  if (selector.reset_none) out.string("reset", "none");
  out.end();
}

void write_platform_device(TreeWriter& out, const PlatformDeviceRef& device) {
  out.begin(device.node);
  out.string("device", device.device);
  out.bytes("compatible", device.compatible, device.compatible_length);
  out.ranges("mmio", device.regions, device.region_count);
  if (device.interrupt_count != 0) {
    uint32_t cells[2 * max_device_interrupts] = {};
    for (size_t i = 0; i < device.interrupt_count; ++i) {
      cells[2 * i] = device.interrupts[i].spi;
      cells[2 * i + 1] = device.interrupts[i].flags;
    }
    out.cells("spi-interrupts", cells, 2 * device.interrupt_count);
  }
  out.end();
}

void write_partition(TreeWriter& out, const Partition& partition) {
  out.begin(partition.name);
  uint32_t indices[max_partition_cpus] = {};
  uint32_t mpidrs[max_partition_cpus] = {};
  for (size_t c = 0; c < partition.cpu_count; ++c) {
    indices[c] = partition.cpus[c].index;
    mpidrs[c] = partition.cpus[c].mpidr;
  }
  out.cells("cpus", indices, partition.cpu_count);
  out.cells("cpu-mpidrs", mpidrs, partition.cpu_count);
  out.u64("memory-size", partition.ram.size);
  out.u64("memory-host-base", partition.ram.host_base);
  out.u64("memory-guest-base", partition.ram.guest_base);
  out.string("console", guest_console_name(partition.console));
  out.string("legacy-intx", partition.legacy_intx ? "allowed" : "denied");
  out.string("restart-policy", restart_policy_name(partition.restart));
  if (partition.msi_spis.assigned) {
    const uint32_t spis[2] = {partition.msi_spis.first, partition.msi_spis.count};
    out.cells("msi-spis", spis, 2);
  }
  write_payload(out, partition.payload);
  for (size_t d = 0; d < partition.pci_device_count; ++d) write_pci_device(out, partition.pci_devices[d]);
  for (size_t d = 0; d < partition.platform_device_count; ++d) {
    write_platform_device(out, partition.platform_devices[d]);
  }
  out.end();
}

}  // namespace

bool write_normalized_description(const SystemDescription& description, void* buffer, size_t capacity, size_t& size) {
  size = 0;
  if (!resolved(description)) return false;
  TreeWriter out(buffer, capacity);
  out.begin("");
  out.string("compatible", description_compatible);
  out.u32("bulkhead,schema-version", schema_version);
  out.string("bulkhead,checked-by", checked_by_text);
  out.string("board", description.board);
  out.begin("hypervisor");
  out.string("console", "uart");
  out.ranges("reserved", description.hypervisor_reserved, description.hypervisor_reserved_count);
  out.end();
  out.begin("partitions");
  for (size_t i = 0; i < description.partition_count; ++i) write_partition(out, description.partitions[i]);
  out.end();
  out.end();
  return out.finish(size);
}

}  // namespace bulkhead::partitions
