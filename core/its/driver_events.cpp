// The translations of the ITS driver: devices and their ITTs, LPIs, events.
#include "core/its/driver.hpp"
#include "core/lib/log.hpp"

namespace bulkhead::its {
namespace {

unsigned bits_for(uint32_t count) {
  unsigned bits = 1;  // an ITT holds at least two entries
  while ((uint64_t{1} << bits) < count) ++bits;
  return bits;
}

}  // namespace

Driver::Device* Driver::find_device(uint32_t device_id) {
  for (size_t i = 0; i < max_devices; ++i) {
    if (devices_[i].used && devices_[i].id == device_id) return &devices_[i];
  }
  return nullptr;
}

uint32_t Driver::device_events(uint32_t device_id) const {
  for (size_t i = 0; i < max_devices; ++i) {
    if (devices_[i].used && devices_[i].id == device_id) return uint32_t{1} << devices_[i].event_bits;
  }
  return 0;
}

// A two-level device table gets the level-2 page holding `device_id` on first use.
bool Driver::device_table_entry(uint32_t device_id, bool& added_level2, uint64_t& level2) {
  added_level2 = false;
  level2 = 0;
  if (!layout_.device_two_level) return true;
  const uint64_t per_page = layout_.device_page / layout_.device_entry_bytes;
  const uint64_t index = device_id / per_page;
  auto* level1 = static_cast<uint64_t*>(memory_->pointer(layout_.device_table));
  if (baser::level1_valid::get(level1[index]) != 0) return true;
  level2 = memory_->allocate(layout_.device_page, layout_.device_page);
  if (level2 == 0) return false;
  memory_->publish(level2, layout_.device_page, false);
  level1[index] = (level2 & baser::level1_address::mask) | baser::level1_valid::put(1);
  memory_->publish(layout_.device_table + index * baser::level1_entry_bytes, baser::level1_entry_bytes,
                   layout_.tables_coherent);
  added_level2 = true;
  return true;
}

Status Driver::map_device(uint32_t device_id, uint32_t event_count) {
  if (!ready()) return Status::not_ready;
  if (device_id >= layout_.device_ids) {
    log::error("gic-v3-its {}: device {}: the device table covers DeviceIDs below {}", config_.path, hex(device_id),
               hex(layout_.device_ids));
    return Status::bad_request;
  }
  if (event_count == 0 || uint64_t{event_count} > (uint64_t{1} << layout_.event_bits) ||
      event_count > (uint32_t{1} << max_event_bits)) {
    const unsigned bits = layout_.event_bits < max_event_bits ? layout_.event_bits : max_event_bits;
    log::error("gic-v3-its {}: device {}: {} events; 1 to {} possible", config_.path, hex(device_id), event_count,
               uint64_t{1} << bits);
    return Status::bad_request;
  }
  if (find_device(device_id) != nullptr) {
    log::error("gic-v3-its {}: device {} is mapped already", config_.path, hex(device_id));
    return Status::bad_request;
  }
  Device* slot = nullptr;
  for (size_t i = 0; i < max_devices && slot == nullptr; ++i) {
    if (!devices_[i].used) slot = &devices_[i];
  }
  if (slot == nullptr) {
    log::error("gic-v3-its {}: device {}: {} devices are mapped, the most the driver holds", config_.path,
               hex(device_id), max_devices);
    return Status::exhausted;
  }
  const unsigned bits = bits_for(event_count);
  const uint64_t itt_bytes = (uint64_t{1} << bits) * layout_.itt_entry_bytes;
  const uint64_t itt = memory_->allocate(itt_bytes, command::itt_alignment);
  bool added_level2 = false;
  uint64_t level2 = 0;
  if (itt == 0 || !device_table_entry(device_id, added_level2, level2)) {
    if (itt != 0) memory_->release(itt, itt_bytes);
    log::error("gic-v3-its {}: device {}: no table memory for its ITT ({} bytes) or device table page", config_.path,
               hex(device_id), hex(itt_bytes));
    return Status::out_of_memory;
  }
  // Zeroed by the allocation; cleaned so no dirty line can later overwrite what the ITS writes.
  memory_->publish(itt, itt_bytes, false);
  const Command command = mapd(device_id, bits, itt, true);
  const Status status = run(&command, 1, "MAPD");
  // A failed command leaves the ITS in an unknown state: its memory is never reused.
  if (status != Status::ok) return status;
  *slot = Device{true, device_id, bits, itt, itt_bytes};
  return Status::ok;
}

Status Driver::unmap_device(uint32_t device_id) {
  if (!ready()) return Status::not_ready;
  Device* device = find_device(device_id);
  if (device == nullptr) {
    log::error("gic-v3-its {}: device {} is not mapped", config_.path, hex(device_id));
    return Status::bad_request;
  }
  const Command command = mapd(device_id, device->event_bits, 0, false);
  const Status status = run(&command, 1, "MAPD");
  if (status != Status::ok) return status;
  memory_->release(device->itt, device->itt_bytes);
  *device = Device{};
  return Status::ok;
}

void Driver::mark_lpis(uint32_t index, uint32_t count, bool used) {
  for (uint32_t i = index; i < index + count; ++i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (used) {
      lpi_map_[i / 64] |= bit;
    } else {
      lpi_map_[i / 64] &= ~bit;
    }
  }
}

void Driver::configure_lpis(uint32_t first, uint32_t count, bool enabled) {
  auto* table = static_cast<uint8_t*>(memory_->pointer(layout_.property_table));
  for (uint32_t lpi = first; lpi < first + count; ++lpi) {
    table[lpi - first_lpi] = lpi_config::value(enabled, config_.lpi_priority);
  }
  memory_->publish(layout_.property_table + (first - first_lpi), count, layout_.properties_coherent);
}

Status Driver::reserve_lpis(uint32_t count, uint32_t& first) {
  first = 0;
  if (!ready()) return Status::not_ready;
  if (count == 0) {
    log::error("gic-v3-its {}: a reservation of 0 LPIs", config_.path);
    return Status::bad_request;
  }
  uint32_t run_start = 0;
  uint32_t run_length = 0;
  for (uint32_t i = 0; i < lpi_count_ && run_length < count; ++i) {
    if (lpi_used(i)) {
      run_length = 0;
      continue;
    }
    if (run_length++ == 0) run_start = i;
  }
  if (run_length < count) {
    log::error("gic-v3-its {}: {} LPIs wanted, {} of {} free and no {} in a row", config_.path, count,
               lpi_count_ - lpis_used_, lpi_count_, count);
    return Status::exhausted;
  }
  mark_lpis(run_start, count, true);
  lpis_used_ += count;
  first = first_lpi + run_start;
  configure_lpis(first, count, true);
  return Status::ok;
}

void Driver::release_lpis(uint32_t first, uint32_t count) {
  if (first < first_lpi || count == 0 || first - first_lpi > lpi_count_ || count > lpi_count_ - (first - first_lpi)) {
    return;
  }
  const uint32_t index = first - first_lpi;
  for (uint32_t i = index; i < index + count; ++i) {
    if (lpi_used(i)) --lpis_used_;
  }
  mark_lpis(index, count, false);
  configure_lpis(first, count, false);
}

Status Driver::check_event(const char* what, uint32_t device_id, uint32_t event_id, unsigned cpu) {
  if (!ready()) return Status::not_ready;
  const Device* device = find_device(device_id);
  if (device == nullptr || event_id >= (uint64_t{1} << device->event_bits)) {
    log::error("gic-v3-its {}: {} device {} event {}: {}", config_.path, what, hex(device_id), event_id,
               device == nullptr ? "the device is not mapped" : "the event is beyond its ITT");
    return Status::bad_request;
  }
  if (cpu >= config_.cpu_count || !collections_[cpu].mapped) {
    log::error("gic-v3-its {}: {} device {} event {}: CPU {} has no collection (its redistributor is not enabled)",
               config_.path, what, hex(device_id), event_id, cpu);
    return Status::bad_request;
  }
  return Status::ok;
}

Status Driver::map_event(uint32_t device_id, uint32_t event_id, uint32_t lpi, unsigned cpu) {
  const Status checked = check_event("MAPTI", device_id, event_id, cpu);
  if (checked != Status::ok) return checked;
  if (lpi < first_lpi || lpi - first_lpi >= lpi_count_ || !lpi_used(lpi - first_lpi)) {
    log::error("gic-v3-its {}: MAPTI device {} event {}: LPI {} is not a reserved one", config_.path, hex(device_id),
               event_id, lpi);
    return Status::bad_request;
  }
  const auto icid = static_cast<uint16_t>(cpu);
  const Command commands[] = {mapti(device_id, event_id, lpi, icid), inv(device_id, event_id),
                              sync(collections_[cpu].rdbase)};
  return run(commands, 3, "MAPTI");
}

Status Driver::move_event(uint32_t device_id, uint32_t event_id, unsigned from_cpu, unsigned to_cpu) {
  Status checked = check_event("MOVI", device_id, event_id, from_cpu);
  if (checked == Status::ok) checked = check_event("MOVI", device_id, event_id, to_cpu);
  if (checked != Status::ok) return checked;
  if (from_cpu == to_cpu) return Status::ok;
  const Command commands[] = {movi(device_id, event_id, static_cast<uint16_t>(to_cpu)),
                              sync(collections_[from_cpu].rdbase), sync(collections_[to_cpu].rdbase)};
  return run(commands, 3, "MOVI");
}

Status Driver::unmap_event(uint32_t device_id, uint32_t event_id, unsigned cpu) {
  const Status checked = check_event("DISCARD", device_id, event_id, cpu);
  if (checked != Status::ok) return checked;
  const Command commands[] = {discard(device_id, event_id), sync(collections_[cpu].rdbase)};
  return run(commands, 2, "DISCARD");
}

}  // namespace bulkhead::its
