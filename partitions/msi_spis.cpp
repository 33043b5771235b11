#include "partitions/msi_spis.hpp"

#include "partitions/guest_dt.hpp"
#include "partitions/rule_names.hpp"

namespace bulkhead::partitions {
namespace {

bool overlap(uint32_t first, uint32_t count, uint32_t other_first, uint32_t other_count) {
  return first < other_first + other_count && other_first < first + count;
}

bool covers_device_spi(const DeviceResources& device, uint32_t first, uint32_t count, uint32_t& spi) {
  for (size_t i = 0; i < device.interrupt_count; ++i) {
    if (device.interrupts[i].spi >= first && device.interrupts[i].spi - first < count) {
      spi = device.interrupts[i].spi;
      return true;
    }
  }
  return false;
}

}  // namespace

bool check_msi_spis(const SystemDescription& description, size_t index, Violations& violations) {
  const Partition& partition = description.partitions[index];
  const MessageSpis& spis = partition.msi_spis;
  if (!spis.given && !spis.assigned) return false;
  const DescriptionPath path = partition_path(partition);
  if (spis.count == 0 || spis.count > max_msi_spis) {
    violations.add(path.text, rule::msi_spis, "msi-spis: {} SPIs; 1 to {} per partition", spis.count, max_msi_spis);
    return false;
  }
  if (spis.first % msi_spi_alignment != 0) {
    violations.add(path.text, rule::msi_spis,
                   "msi-spis: the first SPI {} is not a multiple of {} (a multiple-message MSI block must be aligned)",
                   spis.first, msi_spi_alignment);
    return false;
  }
  if (spis.first > max_spi_number || spis.count - 1 > max_spi_number - spis.first) {
    violations.add(path.text, rule::msi_spis, "msi-spis: SPIs {}-{} go beyond SPI {} (INTID 1019)", spis.first,
                   uint64_t{spis.first} + spis.count - 1, max_spi_number);
    return false;
  }
  const uint32_t last = spis.first + spis.count - 1;
  bool clear = true;
  if (partition.console == GuestConsole::virtual_uart && spis.contains(guest_uart_spi)) {
    violations.add(path.text, rule::msi_spis, "msi-spis: SPIs {}-{} cover the virtual UART's SPI {}", spis.first, last,
                   guest_uart_spi);
    clear = false;
  }
  for (size_t p = 0; p < description.partition_count; ++p) {
    const Partition& other = description.partitions[p];
    for (size_t d = 0; d < other.platform_device_count; ++d) {
      const PlatformDeviceRef& device = other.platform_devices[d];
      uint32_t spi = 0;
      if (!device.resolved || !covers_device_spi(device, spis.first, spis.count, spi)) continue;
      violations.add(path.text, rule::msi_spis, "msi-spis: SPIs {}-{} cover SPI {} of platform device {} (partition {})",
                     spis.first, last, spi, device.device, other.name);
      clear = false;
    }
    if (p >= index || !other.msi_spis.assigned) continue;
    if (!overlap(spis.first, spis.count, other.msi_spis.first, other.msi_spis.count)) continue;
    violations.add(path.text, rule::msi_spis, "msi-spis: SPIs {}-{} overlap partition {}'s SPIs {}-{}", spis.first,
                   last, other.name, other.msi_spis.first, other.msi_spis.first + other.msi_spis.count - 1);
    clear = false;
  }
  return clear;
}

bool choose_msi_spis(const SystemDescription& description, const BoardDefinition* board, uint32_t count,
                     uint32_t& first) {
  if (count == 0 || count > max_spi_number + 1) return false;
  for (uint32_t candidate = 0; candidate <= max_spi_number + 1 - count; candidate += msi_spi_alignment) {
    bool free = !(guest_uart_spi >= candidate && guest_uart_spi - candidate < count);
    uint32_t spi = 0;
    for (size_t d = 0; free && board != nullptr && d < board->device_count; ++d) {
      free = !covers_device_spi(board->devices[d], candidate, count, spi);
    }
    for (size_t p = 0; free && p < description.partition_count; ++p) {
      const Partition& partition = description.partitions[p];
      for (size_t d = 0; free && d < partition.platform_device_count; ++d) {
        free = !covers_device_spi(partition.platform_devices[d], candidate, count, spi);
      }
      const MessageSpis& taken = partition.msi_spis;
      if (free && taken.assigned) free = !overlap(candidate, count, taken.first, taken.count);
    }
    if (!free) continue;
    first = candidate;
    return true;
  }
  return false;
}

}  // namespace bulkhead::partitions
