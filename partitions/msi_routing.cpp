#include "partitions/msi_routing.hpp"

#include "core/lib/log.hpp"

namespace bulkhead::partitions {

using pci::vpci::MessageKind;
using pci::vpci::PhysicalMessage;

namespace {

bool has_messages(const pci::Function& function) {
  return function.caps.msi.offset != 0 || function.caps.msix.offset != 0;
}

uint32_t align_up(uint32_t value, uint32_t alignment) { return (value + alignment - 1) / alignment * alignment; }

}  // namespace

bool PartitionMsi::configure(const MsiRoutingSetup& setup, its::Driver& its, const vgic::VirtualGic& gic,
                             its::Lock* its_lock) {
  setup_ = setup;
  its_ = &its;
  gic_ = &gic;
  lock_ = its_lock;
  function_count_ = 0;
  device_count_ = 0;
  lpi_base_ = 0;
  lpi_count_ = 0;
  clear_counts();
  if (setup.function_count > max_pci_devices || setup.vcpu_count == 0 || setup.vcpu_count > max_partition_cpus) {
    log::error("partition {} msi: {} functions and {} vCPUs", setup.partition, setup.function_count, setup.vcpu_count);
    return false;
  }
  // Events per DeviceID: each function's MSI block aligned to its size, then its table.
  uint32_t events[max_pci_devices] = {};
  uint32_t vectors = 0;
  for (size_t i = 0; i < setup.function_count; ++i) {
    const pci::Function& function = *setup.functions[i];
    FunctionEvents& f = functions_[function_count_++];
    f = FunctionEvents{};
    f.function = &function;
    if (!has_messages(function)) continue;
    if (!function.dma.its_device_id_valid) {
      log::error("partition {} msi: {} has no ITS DeviceID (no msi-map entry for its requester ID); its MSIs are off",
                 setup.partition, pci::sbdf_text(function.address).text);
      return false;
    }
    f.device_id = function.dma.its_device_id;
    size_t device = 0;
    while (device < device_count_ && device_ids_[device] != f.device_id) ++device;
    if (device == device_count_) device_ids_[device_count_++] = f.device_id;
    f.msi_vectors = function.caps.msi.offset != 0 ? function.caps.msi.vectors : 0;
    f.msix_vectors = function.caps.msix.offset != 0 ? function.caps.msix.table_size : 0;
    if (f.msi_vectors != 0) events[device] = align_up(events[device], f.msi_vectors);
    f.msi_event = events[device];
    f.msix_event = f.msi_event + f.msi_vectors;
    events[device] = f.msix_event + f.msix_vectors;
    f.lpi_offset = vectors;
    vectors += f.msi_vectors + f.msix_vectors;
  }
  if (vectors > max_partition_message_vectors) {
    log::error("partition {} msi: its functions have {} MSI and MSI-X vectors, at most {} per partition",
               setup.partition, vectors, max_partition_message_vectors);
    return false;
  }
  if (vectors == 0) return true;
  const its::LockGuard guard(lock_);
  for (size_t d = 0; d < device_count_; ++d) {
    if (its.map_device(device_ids_[d], events[d]) == its::Status::ok) continue;
    log::error("partition {} msi: the ITS refused device {} ({} events); its functions' MSIs are off", setup.partition,
               hex(device_ids_[d]), events[d]);
    for (size_t undo = 0; undo < d; ++undo) its.unmap_device(device_ids_[undo]);
    device_count_ = 0;
    return false;
  }
  uint32_t base = 0;
  if (its.reserve_lpis(vectors, base) != its::Status::ok) {
    log::error("partition {} msi: no {} LPIs for its functions' vectors; their MSIs are off", setup.partition, vectors);
    for (size_t d = 0; d < device_count_; ++d) its.unmap_device(device_ids_[d]);
    device_count_ = 0;
    return false;
  }
  // Only the offsets it owns are ever read (all below lpi_count_): no vector bound yet.
  for (uint32_t offset = 0; offset < vectors; ++offset) store(offset, 0);
  lpi_base_ = base;
  lpi_count_ = vectors;
  return true;
}

void PartitionMsi::release() {
  for (size_t i = 0; i < function_count_; ++i) {
    const FunctionEvents& f = functions_[i];
    for (uint32_t v = 0; v < f.msi_vectors; ++v) unbind(*f.function, MessageKind::msi, static_cast<uint16_t>(v));
    for (uint32_t v = 0; v < f.msix_vectors; ++v) unbind(*f.function, MessageKind::msix, static_cast<uint16_t>(v));
  }
  if (its_ == nullptr) return;
  const its::LockGuard guard(lock_);
  for (size_t d = 0; d < device_count_; ++d) its_->unmap_device(device_ids_[d]);
  device_count_ = 0;
  if (lpi_count_ != 0) its_->release_lpis(lpi_base_, lpi_count_);
  lpi_count_ = 0;
}

const PartitionMsi::FunctionEvents* PartitionMsi::find(const pci::Function& function) const {
  for (size_t i = 0; i < function_count_; ++i) {
    if (functions_[i].function == &function) return &functions_[i];
  }
  return nullptr;
}

bool PartitionMsi::locate(const pci::Function& function, MessageKind kind, uint16_t vector, uint32_t& device_id,
                          uint32_t& event_id, uint32_t& lpi) const {
  const FunctionEvents* f = find(function);
  if (f == nullptr || lpi_count_ == 0) return false;
  const bool msi = kind == MessageKind::msi;
  if (vector >= (msi ? f->msi_vectors : f->msix_vectors)) return false;
  device_id = f->device_id;
  event_id = (msi ? f->msi_event : f->msix_event) + vector;
  lpi = lpi_base_ + f->lpi_offset + (msi ? 0 : f->msi_vectors) + vector;
  return true;
}

// The physical CPU of the vCPU the SPI targets; vCPU 0's when it targets none (it is not
// delivered then anyway, and follows when the guest routes it).
unsigned PartitionMsi::cpu_of(uint32_t spi) const {
  const vgic::InterruptState* irq = gic_->distributor().spi(spi);
  const uint8_t vcpu = irq != nullptr && irq->target_vcpu < setup_.vcpu_count ? irq->target_vcpu : 0;
  return setup_.vcpu_cpus[vcpu];
}

PhysicalMessage PartitionMsi::bind(const pci::Function& function, MessageKind kind, uint16_t vector, uint32_t spi) {
  uint32_t device_id = 0, event_id = 0, lpi = 0;
  const pci::SbdfText sbdf = pci::sbdf_text(function.address);
  if (!locate(function, kind, vector, device_id, event_id, lpi)) {
    log::error("partition {} msi: {} {} vector {} has no event reserved", setup_.partition, sbdf.text,
               pci::vpci::message_kind_name(kind), vector);
    return {};
  }
  // Only the partition's own message-based SPIs: the emulation checked, this holds it.
  const vgic::InterruptState* irq = gic_->distributor().spi(spi);
  if (irq == nullptr || !irq->message) {
    log::error("partition {} msi: {} {} vector {}: SPI {} is not one of its message-based SPIs", setup_.partition,
               sbdf.text, pci::vpci::message_kind_name(kind), vector, spi);
    return {};
  }
  const uint32_t offset = lpi - lpi_base_;
  const auto function_index = static_cast<uint32_t>(find(function) - functions_);
  const unsigned cpu = cpu_of(spi);
  const uint32_t now = load(offset);
  if ((now & route_bound) != 0) {  // already mapped: a new SPI, maybe on another CPU
    if (route_cpu(now) != cpu) {
      const its::LockGuard guard(lock_);
      if (its_->move_event(device_id, event_id, route_cpu(now), cpu) != its::Status::ok) {
        store(offset, route(spi, route_cpu(now), function_index));  // still delivered, from where it was
        return {true, setup_.doorbell, event_id};
      }
    }
    store(offset, route(spi, cpu, function_index));
    return {true, setup_.doorbell, event_id};
  }
  // The route first: a message right after MAPTI finds it.
  store(offset, route(spi, cpu, function_index));
  its::Status status = its::Status::ok;
  {
    const its::LockGuard guard(lock_);
    status = its_->map_event(device_id, event_id, lpi, cpu);
  }
  if (status != its::Status::ok) {
    store(offset, 0);
    log::error("partition {} msi: {} {} vector {}: the ITS did not map event {} of device {} ({}); it stays masked",
               setup_.partition, sbdf.text, pci::vpci::message_kind_name(kind), vector, event_id, hex(device_id),
               its::status_name(status));
    return {};
  }
  return {true, setup_.doorbell, event_id};
}

void PartitionMsi::unbind(const pci::Function& function, MessageKind kind, uint16_t vector) {
  uint32_t device_id = 0, event_id = 0, lpi = 0;
  if (!locate(function, kind, vector, device_id, event_id, lpi)) return;
  const uint32_t offset = lpi - lpi_base_;
  const uint32_t now = load(offset);
  if ((now & route_bound) == 0) return;
  {
    const its::LockGuard guard(lock_);
    its_->unmap_event(device_id, event_id, route_cpu(now));  // a failure is logged and fails the driver
  }
  store(offset, 0);
}

bool PartitionMsi::where(uint32_t offset, uint32_t& device_id, uint32_t& event_id) const {
  for (size_t i = 0; i < function_count_; ++i) {
    const FunctionEvents& f = functions_[i];
    if (offset < f.lpi_offset || offset - f.lpi_offset >= f.msi_vectors + f.msix_vectors) continue;
    const uint32_t index = offset - f.lpi_offset;
    device_id = f.device_id;
    event_id = index < f.msi_vectors ? f.msi_event + index : f.msix_event + (index - f.msi_vectors);
    return true;
  }
  return false;
}

void PartitionMsi::retarget(uint32_t spi) {
  if (spi == 0) return;
  const unsigned cpu = cpu_of(spi);
  for (uint32_t offset = 0; offset < lpi_count_; ++offset) {
    const uint32_t now = load(offset);
    uint32_t device_id = 0, event_id = 0;
    if ((now & route_bound) == 0 || route_spi(now) != spi || route_cpu(now) == cpu) continue;
    if (!where(offset, device_id, event_id)) continue;
    its::Status status = its::Status::ok;
    {
      const its::LockGuard guard(lock_);
      status = its_->move_event(device_id, event_id, route_cpu(now), cpu);
    }
    if (status == its::Status::ok) store(offset, route(spi, cpu, static_cast<uint32_t>(route_function(now))));
  }
}

uint32_t PartitionMsi::deliver(uint32_t lpi) {
  if (!owns_lpi(lpi)) return 0;
  const uint32_t now = load(lpi - lpi_base_);
  if ((now & route_bound) == 0) {
    __atomic_fetch_add(&dropped_, 1, __ATOMIC_RELAXED);
    return 0;
  }
  __atomic_fetch_add(&delivered_[route_function(now) % max_pci_devices], 1, __ATOMIC_RELAXED);
  return route_spi(now);
}

uint64_t PartitionMsi::delivered(size_t function_index) const {
  return function_index < max_pci_devices ? __atomic_load_n(&delivered_[function_index], __ATOMIC_RELAXED) : 0;
}

void PartitionMsi::clear_counts() {
  for (uint64_t& count : delivered_) __atomic_store_n(&count, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&dropped_, 0, __ATOMIC_RELAXED);
}

size_t PartitionMsi::bound_vectors() const {
  size_t bound = 0;
  for (uint32_t offset = 0; offset < lpi_count_; ++offset) bound += (load(offset) & route_bound) != 0 ? 1 : 0;
  return bound;
}

void MsiDispatch::add(uint8_t partition, PartitionMsi& router) {
  if (partition < max_partitions) routers_[partition] = &router;
}

MsiDispatch::Delivery MsiDispatch::deliver(uint32_t lpi) {
  for (size_t i = 0; i < max_partitions; ++i) {
    PartitionMsi* owner = routers_[i];
    if (owner == nullptr || !owner->owns_lpi(lpi)) continue;
    const uint32_t spi = owner->deliver(lpi);
    if (spi == 0) return {};
    return {true, static_cast<uint8_t>(i), static_cast<uint16_t>(spi)};
  }
  return {};
}

}  // namespace bulkhead::partitions
