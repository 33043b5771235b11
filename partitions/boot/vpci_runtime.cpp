// A partition's PCI functions while it runs: see vpci_runtime.hpp.
#include "partitions/boot/vpci_runtime.hpp"

#include "core/lib/log.hpp"
#include "core/lib/runtime.hpp"
#include "core/vcpu/register_access.hpp"
#include "partitions/boot/runtime_state.hpp"
#include "partitions/boot/smmu_boot.hpp"
#include "partitions/dma_streams.hpp"
#include "partitions/guest_layout.hpp"
#include "partitions/vpci_setup.hpp"
#include "pci/ecam_mmio.hpp"

namespace bulkhead::boot::runtime {

namespace {

vcpu::MmioResult handled_if(bool ok) { return ok ? vcpu::MmioResult::handled : vcpu::MmioResult::refused; }

vcpu::MmioResult answer(vcpu::MmioRequest& request, pci::vpci::ReadResult read) {
  request.value = read.value;
  return handled_if(read.ok);
}

// The ECAM window's direct handlers. The registry has checked the access (1, 2 or 4
// bytes, aligned: the region's rules), as the bus's header table wants. The table answers
// without the VM's lock (VirtualPciBus::header_table_read/write); what it does not answer
// needs the lock and goes through the bus's full decode, out of line so that the common
// access needs no stack frame.
[[gnu::noinline]] vcpu::MmioDirectRead ecam_read_decoded(pci::vpci::VirtualPciBus& bus, uint64_t offset, unsigned width) {
  const pci::vpci::ReadResult read = bus.config_read(offset, static_cast<uint8_t>(width));
  return read.ok ? vcpu::MmioDirectRead::handled(read.value) : vcpu::MmioDirectRead::not_handled(vcpu::MmioResult::refused);
}

[[gnu::noinline]] vcpu::MmioResult ecam_write_decoded(pci::vpci::VirtualPciBus& bus, uint64_t offset, unsigned width,
                                                      uint64_t guest_register) {
  const auto value = static_cast<uint32_t>(vcpu::simple_store_data(guest_register, width));
  return handled_if(bus.config_write(offset, static_cast<uint8_t>(width), value));
}

vcpu::MmioDirectRead ecam_config_read(void* context, uint64_t offset, unsigned width, vcpu::MmioLock lock) {
  auto& bus = *static_cast<pci::vpci::VirtualPciBus*>(context);
  uint32_t value = 0;
  if (bus.header_table_read(offset, static_cast<uint8_t>(width), value)) return vcpu::MmioDirectRead::handled(value);
  if (lock == vcpu::MmioLock::not_held) return vcpu::MmioDirectRead::not_handled(vcpu::MmioResult::needs_lock);
  return ecam_read_decoded(bus, offset, width);
}

vcpu::MmioResult ecam_config_write(void* context, uint64_t offset, unsigned width, uint64_t guest_register,
                                   vcpu::MmioLock lock) {
  auto& bus = *static_cast<pci::vpci::VirtualPciBus*>(context);
  if (bus.header_table_write(offset, guest_register)) return vcpu::MmioResult::handled;
  if (lock == vcpu::MmioLock::not_held) return vcpu::MmioResult::needs_lock;
  return ecam_write_decoded(bus, offset, width, guest_register);
}

}  // namespace

vcpu::MmioDirectHandlers ecam_direct_handlers(pci::vpci::VirtualPciBus& bus) {
  return {ecam_config_read, ecam_config_write, &bus};
}

vcpu::MmioResult PciIoDevice::access(vcpu::MmioRequest& request, vgic::Events& /*events*/) {
  if (request.write) return handled_if(bus_->io_write(request.offset, request.width, static_cast<uint32_t>(request.value)));
  return answer(request, bus_->io_read(request.offset, request.width));
}

vcpu::MmioResult PciWindowDevice::access(vcpu::MmioRequest& request, vgic::Events& /*events*/) {
  const uint64_t address = base_ + request.offset;
  if (request.write) return handled_if(bus_->trapped_write(address, request.width, static_cast<uint32_t>(request.value)));
  return answer(request, bus_->trapped_read(address, request.width));
}

pci::ConfigAccessor* PartitionPciHost::accessor_for(const pci::Function& function) const {
  const pci::Segment& segment = hardware_.topology->segments[function.segment_index];
  return hardware_.accessors[segment.host_index];
}

size_t PartitionPciHost::index_of(const pci::Function& function) const {
  const PartitionPci& pci = owner_->pci;
  for (size_t i = 0; i < pci.function_count; ++i) {
    if (&hardware_.topology->functions[owner_->plan->functions[i].function] == &function) return i;
  }
  return partitions::max_pci_devices;
}

uint32_t PartitionPciHost::config_read(const pci::Function& function, uint16_t offset, pci::AccessWidth width) {
  pci::ConfigAccessor* accessor = accessor_for(function);
  return accessor != nullptr ? accessor->read(function.address.bdf, offset, width) : ~0u;
}

void PartitionPciHost::config_write(const pci::Function& function, uint16_t offset, pci::AccessWidth width,
                                    uint32_t value) {
  pci::ConfigAccessor* accessor = accessor_for(function);
  if (accessor != nullptr) accessor->write(function.address.bdf, offset, width, value);
}

bool PartitionPciHost::map_mmio(uint64_t guest, uint64_t host, uint64_t size) {
  return stage2_map(*owner_, guest, host, size, {MemoryType::device_nGnRE, true, false});
}

void PartitionPciHost::unmap_mmio(uint64_t guest, uint64_t size) { stage2_unmap(*owner_, guest, size); }

uint32_t PartitionPciHost::io_read(uint64_t address, pci::AccessWidth width) { return pci::mmio_read(address, width); }

void PartitionPciHost::io_write(uint64_t address, pci::AccessWidth width, uint32_t value) {
  pci::mmio_write(address, width, value);
}

bool PartitionPciHost::bus_master_allowed(const pci::Function& function) {
  const size_t index = index_of(function);
  return index < partitions::max_pci_devices && master_permitted_[index];
}

void PartitionPciHost::log(const char* line) { log::fact("{}", line); }

void PartitionPciHost::permit_bus_master(size_t function) {
  if (function < partitions::max_pci_devices) master_permitted_[function] = true;
}

void PartitionPciHost::disable_bus_master(size_t function) {
  if (function >= owner_->pci.function_count) return;
  master_permitted_[function] = false;
  const pci::Function& f = hardware_.topology->functions[owner_->plan->functions[function].function];
  const uint16_t command = static_cast<uint16_t>(config_read(f, pci::reg::command, pci::AccessWidth::half));
  config_write(f, pci::reg::command, pci::AccessWidth::half, command & ~pci::reg::command_bus_master);
}

namespace {

// `device`, or else the ECAM window's direct handlers.
bool register_region(PartitionRuntime& p, const char* name, const AddressRange& range, PciRegionDevice* device) {
  constexpr uint8_t config_widths = vcpu::widths::bytes_1 | vcpu::widths::bytes_2 | vcpu::widths::bytes_4;
  vcpu::MmioRegion region{
      .name = name, .base = range.base, .size = range.size, .device = device, .widths = config_widths, .direct = {}};
  if (device != nullptr) {
    device->attach(p.pci.bus, range.base);
  } else {
    region.direct = ecam_direct_handlers(p.pci.bus);
  }
  const vcpu::MmioRegion* conflict = nullptr;
  const vcpu::RegistrationError error = p.vm.mmio.add(region, &conflict);
  if (error == vcpu::RegistrationError::none) return true;
  log::error("partition {}: emulated region {} at {}: {}{}{}", p.partition->name, name, hex(range.base),
             vcpu::registration_error_name(error), conflict != nullptr ? " " : "",
             conflict != nullptr ? conflict->name : "");
  return false;
}

// The partition's DMA context (its RAM, IOVA = guest-physical) and its functions' streams.
bool prepare_dma(PartitionRuntime& p, const PciHardware& hardware) {
  PartitionPci& pci = p.pci;
  smmu::Driver* driver = smmu_driver();
  if (driver == nullptr) return true;  // no SMMU: bus mastering is never permitted
  const PlatformInfo& platform = vcpu::machine();
  for (size_t i = 0; i < pci.function_count; ++i) {
    const pci::Function& function = hardware.topology->functions[p.plan->functions[i].function];
    const pci::SbdfText text = pci::sbdf_text(function.address);
    rt::copy(pci.labels[i], text.text, sizeof(pci.labels[i]));
    pci.labels[i][sizeof(pci.labels[i]) - 1] = '\0';
    pci.streams[i] = partitions::function_streams(platform, *hardware.topology, function, pci.labels[i]);
    if (pci.streams[i].count == 0) {
      log::error("partition {}: pci {} reaches no SMMU stream (iommu-map); its DMA stays off", p.partition->name,
                 pci.labels[i]);
    }
  }
  const partitions::Partition& partition = *p.partition;
  const arch::SpinLockGuard guard(smmu_lock());
  pci.dma_context =
      driver->create_context({partition.name, p.vm.vmid, partition.ram.guest_base, partition.ram.host_base, partition.ram.size});
  if (pci.dma_context != smmu::no_context) return true;
  log::error("partition {}: no DMA context in the SMMU", partition.name);
  return false;
}

}  // namespace

bool configure_partition_pci(PartitionRuntime& p, const PciHardware& hardware) {
  PartitionPci& pci = p.pci;
  pci.present = p.plan->function_count != 0;
  pci.function_count = p.plan->function_count;
  if (!pci.present) return true;
  pci.host.attach(p, hardware);
  pci.bus_mastering.attach(pci.host);
  pci::vpci::BusSetup setup;
  partitions::describe_virtual_bus(*p.partition, *p.plan, *hardware.topology, setup);
  pci::vpci::SetupError error;
  if (!pci.bus.configure(setup, pci.host, error)) {
    log::error("partition {}: virtual PCI bus: {}", p.partition->name, error.message);
    return false;
  }
  return register_region(p, "pci-ecam", partitions::guest_pci_ecam.range, nullptr) &&
         register_region(p, "pci-io", partitions::guest_pci_io.range, &pci.io) &&
         register_region(p, "pci-mmio32", partitions::guest_pci_mmio32.range, &pci.mmio32) &&
         register_region(p, "pci-mmio64", partitions::guest_pci_mmio64.range, &pci.mmio64) &&
         prepare_dma(p, hardware) && configure_partition_msi(p, hardware);
}

bool connect_partition_pci(PartitionRuntime& p) {
  PartitionPci& pci = p.pci;
  if (!pci.present) return true;
  pci.bus.reset();  // power-on state, INTx included, after a stop's quarantine
  pci.resets.handed_over = true;  // from here on the guest may drive them: a stop resets them
  smmu::Driver* driver = smmu_driver();
  if (driver == nullptr || pci.dma_context == smmu::no_context) return true;
  smmu_restarted(pci.dma_context);
  const arch::SpinLockGuard guard(smmu_lock());
  pci.dma_connected = smmu::connect_partition_dma(*driver, pci.dma_context, pci.streams, pci.function_count, pci.bus_mastering);
  if (!pci.dma_connected) log::error("partition {}: the SMMU did not take its streams", p.partition->name);
  return pci.dma_connected;
}

bool quarantine_partition_pci(PartitionRuntime& p) {
  PartitionPci& pci = p.pci;
  if (!pci.present) return true;
  report_partition_msi(p);
  pci.bus.quarantine();
  smmu::Driver* driver = smmu_driver();
  if (driver == nullptr || pci.dma_context == smmu::no_context || !pci.dma_connected) {
    for (size_t i = 0; i < pci.function_count; ++i) pci.host.disable_bus_master(i);
    return true;
  }
  const arch::SpinLockGuard guard(smmu_lock());
  smmu_service_locked();  // its functions' faults still name it
  pci.dma_connected = false;
  if (smmu::disconnect_partition_dma(*driver, pci.dma_context, pci.function_count, pci.bus_mastering)) return true;
  log::error("partition {}: the SMMU did not confirm its streams abort; its RAM is not reused", p.partition->name);
  return false;
}

}  // namespace bulkhead::boot::runtime
