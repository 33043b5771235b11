// The SMMU's target edge and its place in the boot (smmu_boot.hpp).
#include "partitions/boot/smmu_boot.hpp"

#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/bootargs.hpp"
#include "core/lib/log.hpp"
#include "core/mmu/stage2.hpp"
#include "partitions/dma_streams.hpp"
#include "smmu/smmu_mmio.hpp"

namespace bulkhead::boot {
namespace {

// Tables, queues, context descriptors and DMA page tables. QEMU virt (16-bit StreamIDs,
// a 2-level table) needs 2 KiB of level-1 table, 16 KiB per PCI bus with functions,
// 8 KiB of queues and about 16 KiB per partition's context: 512 KiB leaves room for
// 8 partitions and 20 buses. Never zeroed as a whole (core/lib/boot_storage.hpp): the
// driver zeroes each block it takes (smmu::RegionMemory::allocate) and publishes what
// the SMMU reads.
constexpr uint64_t pool_size = 512ull * 1024;
BULKHEAD_NOINIT alignas(65536) uint8_t pool[pool_size];

constinit smmu::MmioRegisters registers;
constinit smmu::PoolMemory memory;
constinit smmu::CounterClock clock;
constinit smmu::Driver driver{registers, memory, clock};
constinit smmu::FaultLog fault_log{clock};
constinit bool enabled = false;
constinit arch::SpinLock lock;
constinit uint32_t event_intid = 0;   // 0: not wired
constinit uint32_t gerror_intid = 0;
// An SMMU without wired interrupts is polled this often by the boot CPU.
constexpr uint32_t poll_ms = 10;
// Records drained per interrupt or poll: the fault lines are rate-limited per partition
// (smmu/faults.hpp); this bounds the time the boot CPU spends at once.
constexpr size_t records_per_service = 256;

constexpr size_t max_present_streams = 2 * pci::max_functions;
constinit uint32_t present[max_present_streams];

// How the boot CPU learns of new events and global errors while partitions run:
// `smmu-v3 PATH interrupts eventq intid N|polled gerror intid N|polled [poll-ms N]`.
void report_interrupts(const SmmuV3Info& smmu) {
  FixedBuffer<64> wiring;
  const auto line = [&wiring](const char* name, uint32_t intid) {
    if (intid != 0) {
      format(wiring, " {} intid {}", name, intid);
    } else {
      format(wiring, " {} polled", name);
    }
  };
  line("eventq", event_intid);
  line("gerror", gerror_intid);
  if (event_intid == 0 || gerror_intid == 0) format(wiring, " poll-ms {}", poll_ms);
  log::fact("smmu-v3 {} interrupts{}", smmu.path.text, wiring.c_str());
}

}  // namespace

const char* smmu_abort_bypass(const BootContext& context) {
  const PlatformInfo& platform = *context.platform;
  if (!platform.smmu.present) return nullptr;
  registers.attach(platform.smmu.registers.base);
  memory.attach_pool(pool, pool_size);
  return driver.abort_bypass(platform) == smmu::BringUpResult::stuck ? "smmu" : nullptr;
}

const char* smmu_bring_up(const BootContext& context, const pci::PciTopology& topology) {
  const PlatformInfo& platform = *context.platform;
  if (!platform.smmu.present) return nullptr;
  smmu::BringUpOptions options;
  options.present_stream_count = partitions::present_streams(platform, topology, present, max_present_streams);
  options.present_streams = present;
  options.cpu_vtcr =
      stage2_setup(BULKHEAD_READ_SYSREG(id_aa64mmfr0_el1), BULKHEAD_READ_SYSREG(id_aa64mmfr1_el1)).vtcr;
  const smmu::BringUpResult result = driver.bring_up(platform, options);
  enabled = result == smmu::BringUpResult::enabled;
  if (enabled && bootarg_present(platform.bootargs, "bulkhead.smmu-dump")) driver.dump_stream_table();
  if (platform.smmu.has_event_spi) event_intid = arch::Intid::from_dt_spi(platform.smmu.event_spi).value();
  if (platform.smmu.has_gerror_spi) gerror_intid = arch::Intid::from_dt_spi(platform.smmu.gerror_spi).value();
  if (enabled) report_interrupts(platform.smmu);
  return result == smmu::BringUpResult::stuck ? "smmu" : nullptr;
}

smmu::Driver* smmu_driver() { return enabled && driver.ready() ? &driver : nullptr; }
arch::SpinLock& smmu_lock() { return lock; }

void smmu_service_locked() {
  if (smmu_driver() != nullptr) driver.service(fault_log, records_per_service);
}

void smmu_restarted(smmu::ContextId context) {
  const arch::SpinLockGuard guard(lock);
  fault_log.reset_partition(context);
}

DeviceInterrupts device_interrupts() {
  DeviceInterrupts devices;
  if (smmu_driver() == nullptr) return devices;
  // Edge-triggered (firmware_dt_smmu.cpp accepts no other); a combined line once.
  if (event_intid != 0) {
    devices.edge[devices.count] = true;
    devices.intids[devices.count++] = event_intid;
  }
  if (gerror_intid != 0 && gerror_intid != event_intid) {
    devices.edge[devices.count] = true;
    devices.intids[devices.count++] = gerror_intid;
  }
  if (event_intid == 0 || gerror_intid == 0) devices.poll_ms = poll_ms;
  return devices;
}

void handle_device_interrupt(uint32_t /*intid*/) {
  const arch::SpinLockGuard guard(lock);
  smmu_service_locked();
}

}  // namespace bulkhead::boot
