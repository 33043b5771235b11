// The ITS's target edge and its place in the boot (its_boot.hpp), and the LPI handler's
// half (core/vcpu/el2/message_interrupts.hpp).
#include "partitions/boot/its_boot.hpp"

#include "core/arch/aarch64/gic_registers.hpp"
#include "core/arch/aarch64/intid.hpp"
#include "core/arch/aarch64/spinlock.hpp"
#include "core/its/its_mmio.hpp"
#include "core/its/registers.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/log.hpp"
#include "core/vcpu/el2/message_interrupts.hpp"

namespace bulkhead::boot {
namespace {

// Tables and queue (core/its/README.md "Memory"): on QEMU 7.2 with 4 CPUs about 36 KiB of
// shared tables, a 64 KiB-aligned 4 KiB pending table per CPU, a level-2 device table
// page per 512 DeviceIDs in use and an ITT per device; 512 KiB leaves ample room for 16
// CPUs and every function partitions may own. Not zeroed at entry: the pool zeroes each
// allocation (its::PagePool::allocate, core/lib/boot_storage.hpp).
constexpr uint64_t pool_size = 512ull * 1024;
BULKHEAD_NOINIT alignas(65536) uint8_t pool[pool_size];

class ItsSpinLock final : public its::Lock {
 public:
  void lock() override { lock_.lock(); }
  void unlock() override { lock_.unlock(); }

 private:
  arch::SpinLock lock_;
};

constinit its::MmioRegisters registers;
constinit its::PoolMemory memory;
constinit its::CounterClock clock;
constinit its::Driver driver{registers, memory, clock};
constinit ItsSpinLock lock;
constinit partitions::MsiDispatch dispatch;
constinit bool in_service = false;
constinit const char* absence = "it was not brought up";
constinit uint64_t translater_page = 0;

// CPU `mpidr`'s redistributor (RD_base), 0 when the GIC lists none for it.
uint64_t redistributor_of(const GicV3Info& gic, uint64_t mpidr) {
  const uint32_t wanted = arch::gic_affinity::packed(mpidr);
  for (size_t r = 0; r < gic.redistributor_region_count; ++r) {
    const AddressRange& region = gic.redistributors[r];
    for (uint64_t frame = region.base; frame + arch::gicr::frame_size <= region.end(); frame += arch::gicr::frame_size) {
      const uint64_t typer = *reinterpret_cast<volatile uint64_t*>(frame + arch::gicr::typer);
      if (static_cast<uint32_t>(typer >> arch::gicr::typer_affinity_shift) == wanted) return frame;
      if ((typer & arch::gicr::typer_last) != 0) break;
    }
  }
  return 0;
}

unsigned interrupt_id_bits(const GicV3Info& gic) {
  const uint32_t typer = *reinterpret_cast<volatile uint32_t*>(gic.distributor.base + arch::gicd::typer);
  return ((typer >> arch::gicd::typer_idbits_shift) & 0x1f) + 1;
}

}  // namespace

void its_bring_up(const BootContext& context) {
  const PlatformInfo& platform = *context.platform;
  const GicV3Info& gic = platform.gic;
  if (!gic.present || !gic.its_present) {
    absence = "the firmware DT's GIC has no arm,gic-v3-its child";
    log::fact("gic-v3-its none: {}; PCI functions interrupt by INTx only", absence);
    return;
  }
  registers.attach(gic.its.base);
  memory.attach_pool(pool, pool_size);
  its::Config config;
  config.path = gic.its_path.text;
  config.cpu_count = static_cast<unsigned>(platform.cpu_count);
  config.interrupt_id_bits = interrupt_id_bits(gic);
  if (driver.bring_up(config) != its::Status::ok) {
    absence = "it was refused at bring-up";
    log::fact("gic-v3-its none: {} {}; PCI functions interrupt by INTx only", gic.its_path.text, absence);
    return;
  }
  // Every CPU's collection, from here: a partition's LPIs go to the CPUs of its vCPUs.
  size_t enabled = 0;
  for (size_t cpu = 0; cpu < platform.cpu_count; ++cpu) {
    const uint64_t frame = redistributor_of(gic, platform.cpus[cpu].mpidr);
    if (frame == 0) {
      log::error("gic-v3-its {}: CPU {} (mpidr {}) has no redistributor; its vCPUs get no MSIs", gic.its_path.text, cpu,
                 hex(platform.cpus[cpu].mpidr));
      continue;
    }
    its::MmioRegisters redistributor;
    redistributor.attach(frame);
    if (driver.enable_redistributor(static_cast<unsigned>(cpu), redistributor, frame) == its::Status::ok) ++enabled;
  }
  if (driver.failed()) {
    absence = "it failed at bring-up";
    log::fact("gic-v3-its none: {} {}; PCI functions interrupt by INTx only", gic.its_path.text, absence);
    return;
  }
  translater_page = its::translater_page(gic.its.base);
  in_service = true;
  absence = "";
  log::fact("gic-v3-its-lpis {} cpus {} of {} translater {} memory {}", gic.its_path.text, enabled, platform.cpu_count,
            hex(translater_page + its::translater_page_offset), hex(driver.memory_used()));
}

its::Driver* its_driver() { return in_service && driver.ready() ? &driver : nullptr; }
its::Lock& its_lock() { return lock; }
const char* its_absence() { return its_driver() != nullptr ? "" : driver.failed() ? "it failed" : absence; }
uint64_t its_translater_page() { return translater_page; }
partitions::MsiDispatch& msi_dispatch() { return dispatch; }

}  // namespace bulkhead::boot

namespace bulkhead::vcpu {

// Lock-free on the router's side (PartitionMsi::deliver reads one word per vector); under
// vm.lock for the vGIC. The event's CPU is the one the SPI's vCPU had when it was bound:
// after the guest moves the SPI, the first message arrives here on the old CPU, is made
// pending for the new vCPU (a kick) and moves the event (MOVI) for the next ones.
bool take_message_interrupt(Vcpu& self, Vm& vm, uint32_t intid, vgic::Events& events) {
  if (!arch::Intid(intid).is_lpi()) return false;
  partitions::PartitionMsi* router = boot::msi_dispatch().router(vm.owner);
  const uint32_t spi = router != nullptr ? router->deliver(intid) : 0;
  if (spi == 0) {
    if (router == nullptr || !router->owns_lpi(intid)) boot::msi_dispatch().count_stray();
    return true;
  }
  const auto vcpu = static_cast<uint8_t>(self.index);
  vm.gic.signal_message(vcpu, static_cast<uint16_t>(spi), events);
  const vgic::InterruptState* irq = vm.gic.distributor().spi(spi);
  if (irq != nullptr && irq->target_vcpu != vcpu) router->retarget(spi);
  return true;
}

}  // namespace bulkhead::vcpu
