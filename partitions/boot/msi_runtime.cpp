// A partition's MSIs while it runs: see msi_runtime.hpp.
#include "partitions/boot/msi_runtime.hpp"

#include "core/arch/aarch64/intid.hpp"
#include "core/boot/el2_memory_map.hpp"
#include "core/its/registers.hpp"
#include "core/lib/format.hpp"
#include "core/lib/log.hpp"
#include "partitions/boot/its_boot.hpp"
#include "partitions/boot/runtime_state.hpp"
#include "partitions/boot/smmu_boot.hpp"
#include "partitions/guest_layout.hpp"
#include "pci/ecam_mmio.hpp"

namespace bulkhead::boot::runtime {
namespace {

constexpr uint64_t page = 0x1000;

bool has_messages(const pci::Function& function) {
  return function.caps.msi.offset != 0 || function.caps.msix.offset != 0;
}

const pci::Function& function_of(const PartitionRuntime& p, const PciHardware& hardware, size_t index) {
  return hardware.topology->functions[p.plan->functions[index].function];
}

// `partition NAME msi off: WHY; 00:SS.0 msi N msix M ... interrupt by INTx only`.
void report_off(const PartitionRuntime& p, const PciHardware& hardware, const char* why) {
  FixedBuffer<200> line;
  format(line, "partition {} msi off: {};", p.partition->name, why);
  for (size_t i = 0; i < p.plan->function_count; ++i) {
    const pci::Function& function = function_of(p, hardware, i);
    if (!has_messages(function)) continue;
    format(line, " 00:{}.0", plain_hex(p.plan->functions[i].guest_slot, 2));
    if (function.caps.msi.offset != 0) format(line, " msi {}", function.caps.msi.vectors);
    if (function.caps.msix.offset != 0) format(line, " msix {}", function.caps.msix.table_size);
  }
  format(line, " {}", p.partition->legacy_intx ? "interrupt by INTx only" : "raise no interrupts (legacy-intx denied)");
  log::fact("{}", line.c_str());
}

// The 4 KiB pages holding [address, address + bytes).
AddressRange pages_of(uint64_t address, uint64_t bytes) {
  const uint64_t first = address & ~(page - 1);
  return {first, ((address + bytes + page - 1) & ~(page - 1)) - first};
}

// The pages of the function's MSI-X table and PBA, for the handler's accesses at EL2.
bool map_msix_pages(const pci::Function& function) {
  const pci::MsixInfo& msix = function.caps.msix;
  const AddressRange entries = pages_of(function.bars[msix.table_bar].cpu_address + msix.table_offset,
                                        uint64_t{msix.table_size} * pci::vpci::reg::msix::entry_bytes);
  const AddressRange pending = pages_of(function.bars[msix.pba_bar].cpu_address + msix.pba_offset,
                                        pci::vpci::reg::msix::pba_bytes(msix.table_size));
  if (entries.base < pending.end() && pending.base < entries.end()) {  // one run of pages holds both
    const uint64_t low = entries.base < pending.base ? entries.base : pending.base;
    const uint64_t high = entries.end() > pending.end() ? entries.end() : pending.end();
    return map_device({low, high - low}, "pci msi-x table and pba");
  }
  return map_device(entries, "pci msi-x table") && map_device(pending, "pci msi-x pba");
}

}  // namespace

uint32_t PhysicalBars::bar_read(uint64_t address, pci::AccessWidth width) { return pci::mmio_read(address, width); }

void PhysicalBars::bar_write(uint64_t address, pci::AccessWidth width, uint32_t value) {
  pci::mmio_write(address, width, value);
  asm volatile("dsb sy" ::: "memory");  // the table entry reaches the function before what the guest does next
}

bool machine_routes_messages() { return its_driver() != nullptr && smmu_driver() != nullptr; }

vgic::MessageRange partition_message_spis(const partitions::Partition& partition) {
  if (!machine_routes_messages() || !partition.msi_spis.assigned) return {};
  return {static_cast<uint16_t>(arch::Intid::from_dt_spi(partition.msi_spis.first).value()),
          static_cast<uint16_t>(partition.msi_spis.count)};
}

namespace {

// Why the partition's MSIs cannot be routed on this machine (in `why`), or true.
bool routable(const PartitionRuntime& p, const PciHardware& hardware, FixedBuffer<128>& why) {
  if (its_driver() == nullptr) {
    format(why, "no GICv3 ITS in service ({})", its_absence());
    return false;
  }
  if (smmu_driver() == nullptr || p.pci.dma_context == smmu::no_context) {
    format(why, "no SMMU context for the ITS doorbell (its functions never master)");
    return false;
  }
  // The DeviceID the router uses is the msi-map's: it must be this ITS's.
  for (size_t i = 0; i < p.pci.function_count; ++i) {
    const pci::Function& function = function_of(p, hardware, i);
    if (has_messages(function) && function.dma.its_device_id_valid &&
        function.dma.msi_phandle != vcpu::machine().gic.its_phandle) {
      format(why, "{}'s msi-map names {}, not the ITS", pci::sbdf_text(function.address).text,
             hex(function.dma.msi_phandle));
      return false;
    }
  }
  if (partition_message_spis(*p.partition).count == 0) {
    format(why, "no msi-spis");
    return false;
  }
  return true;
}

// The function's MSI and MSI-X handlers on the bus; the vectors it brings.
size_t attach_handlers(PartitionRuntime& p, size_t index, const pci::Function& function, size_t& vector_used) {
  PartitionMessages& messages = p.pci.messages;
  const vgic::MessageRange spis = partition_message_spis(*p.partition);
  pci::vpci::MessageSetup& message = messages.setups[index];
  message.partition = p.partition->name;
  message.function = &function;
  message.slot = p.plan->functions[index].guest_slot;
  message.target = {partitions::guest_gicd_setspi_nsr, spis.first, spis.count};
  message.host = &p.pci.host;
  message.bars = &messages.bars;
  message.router = &messages.router;
  size_t vectors = 0;
  if (function.caps.msi.offset != 0 && messages.msi[index].configure(message, p.pci.bus)) vectors += function.caps.msi.vectors;
  if (function.caps.msix.offset == 0) return vectors;
  const uint16_t table_size = function.caps.msix.table_size;
  if (table_size > partitions::max_partition_message_vectors - vector_used || !map_msix_pages(function)) {
    log::error("partition {}: vpci 00:{}.0: no room for its {} MSI-X vectors; MSI-X stays hidden", p.partition->name,
               plain_hex(message.slot, 2), table_size);
    return vectors;
  }
  // Its slice of the tables starts as a fresh one (vectors is not constructed): the
  // handler resets it once configured, but one refused late keeps it and resets it later,
  // so the slice stays its own either way and the next function's starts after it.
  for (size_t v = vector_used; v < vector_used + table_size; ++v) messages.vectors[v] = pci::vpci::MsixVector{};
  const bool configured = messages.msix[index].configure(message, p.pci.bus, &messages.vectors[vector_used], table_size);
  vector_used += table_size;
  return configured ? vectors + table_size : vectors;
}

}  // namespace

bool configure_partition_msi(PartitionRuntime& p, const PciHardware& hardware) {
  PartitionPci& pci = p.pci;
  PartitionMessages& messages = pci.messages;
  const partitions::Partition& partition = *p.partition;
  messages.routed = false;
  size_t with_messages = 0;
  for (size_t i = 0; i < pci.function_count; ++i) with_messages += has_messages(function_of(p, hardware, i)) ? 1 : 0;
  if (with_messages == 0) return true;
  FixedBuffer<128> why;
  if (!routable(p, hardware, why)) {
    report_off(p, hardware, why.c_str());
    return true;
  }
  // The doorbell: GITS_TRANSLATER's page and nothing else of the ITS, where the guest
  // layout keeps it out of every guest-physical use.
  bool mapped = false;
  {
    const arch::SpinLockGuard guard(smmu_lock());
    mapped = smmu_driver()->map_extra_page(pci.dma_context, partitions::guest_its_doorbell_page.range.base,
                                           its_translater_page());
  }
  if (!mapped) {
    report_off(p, hardware, "the SMMU did not map the ITS doorbell in its DMA context");
    return true;
  }
  partitions::MsiRoutingSetup setup;
  setup.partition = partition.name;
  setup.function_count = pci.function_count;
  for (size_t i = 0; i < pci.function_count; ++i) setup.functions[i] = &function_of(p, hardware, i);
  setup.doorbell = partitions::guest_its_doorbell_page.range.base + its::translater_page_offset;
  setup.vcpu_count = partition.cpu_count;
  for (size_t i = 0; i < partition.cpu_count; ++i) setup.vcpu_cpus[i] = static_cast<uint8_t>(partition.cpus[i].index);
  if (!messages.router.configure(setup, *its_driver(), p.vm.gic, &its_lock())) {
    report_off(p, hardware, "the ITS could not reserve its events and LPIs");
    return true;
  }
  size_t vector_used = 0;
  size_t vectors = 0;
  for (size_t i = 0; i < pci.function_count; ++i) {
    const pci::Function& function = function_of(p, hardware, i);
    if (has_messages(function)) vectors += attach_handlers(p, i, function, vector_used);
  }
  messages.routed = true;
  msi_dispatch().add(static_cast<uint8_t>(p.index), messages.router);
  const vgic::MessageRange spis = partition_message_spis(partition);
  const uint32_t lpi_first = messages.router.lpi_base();
  log::fact("partition {} msi-spis {}-{} vectors {} lpis {}-{} doorbell-iova {}", partition.name,
            spis.first - arch::Intid::first_spi, spis.first + spis.count - 1 - arch::Intid::first_spi, vectors,
            lpi_first, lpi_first + messages.router.lpi_count() - 1, hex(setup.doorbell));
  return true;
}

void report_partition_msi(PartitionRuntime& p) {
  PartitionMessages& messages = p.pci.messages;
  if (!messages.routed) return;
  FixedBuffer<200> line;
  format(line, "partition {} msi delivered", p.partition->name);
  for (size_t i = 0; i < p.pci.function_count; ++i) {
    const pci::vpci::MessageSetup& setup = messages.setups[i];
    if (setup.function == nullptr) continue;
    format(line, " 00:{}.0 {}", plain_hex(setup.slot, 2), messages.router.delivered(i));
  }
  format(line, " dropped {}", messages.router.dropped());
  log::fact("{}", line.c_str());
  messages.router.clear_counts();
}

}  // namespace bulkhead::boot::runtime
