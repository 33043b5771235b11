#include "core/boot/smp.hpp"

#include <cstddef>

#include "core/arch/aarch64/firmware.hpp"
#include "core/arch/aarch64/gic_el2.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/boot/el2_memory_map.hpp"
#include "core/lib/boot_storage.hpp"
#include "core/lib/log.hpp"
#include "core/lib/psci.hpp"

extern "C" char secondary_entry[];
extern "C" char boot_stack_top[];

namespace bulkhead::boot {

// Read by secondary_entry (entry.S) with the MMU off: keep the layout in sync.
struct SecondaryBoot {
  uint64_t stack_top;
  uint64_t mair;
  uint64_t tcr;
  uint64_t ttbr0;
  uint64_t cpu_index;
  uint32_t online;
  CpuTask task;        // nullptr: report in at boot, then power off
  uint64_t argument;
};
static_assert(offsetof(SecondaryBoot, stack_top) == 0 && offsetof(SecondaryBoot, mair) == 8 &&
              offsetof(SecondaryBoot, tcr) == 16 && offsetof(SecondaryBoot, ttbr0) == 24);

namespace {
constexpr size_t stack_size = size_t{16} * 1024;
BULKHEAD_NOINIT alignas(16) uint8_t secondary_stacks[max_cpus][stack_size];  // set up with the MMU on
alignas(64) SecondaryBoot secondary_boot[max_cpus];
constinit const PlatformInfo* known_platform = nullptr;
constinit uint32_t boot_cpu_online_flag[max_cpus] = {};
// A CPU that has not reported after this long is declared failed.
constexpr uint64_t bring_up_timeout_ms = 1000;

// The boot CPU is never powered off: it serves the system (core/boot/console_input.cpp)
// and takes a task from this mailbox when a partition on it starts.
enum class BootCpuState : uint32_t { serving, posting, posted, running };
struct BootCpuMailbox {
  uint32_t state = 0;  // a BootCpuState, as an integer for the atomic builtins
  CpuTask task = nullptr;
  uint64_t argument = 0;
};
constinit BootCpuMailbox boot_cpu_mailbox;

constexpr uint32_t as_word(BootCpuState state) { return static_cast<uint32_t>(state); }
BootCpuState mailbox_state() { return static_cast<BootCpuState>(__atomic_load_n(&boot_cpu_mailbox.state, __ATOMIC_ACQUIRE)); }
void set_mailbox_state(BootCpuState state, int order) { __atomic_store_n(&boot_cpu_mailbox.state, as_word(state), order); }

int64_t post_to_boot_cpu(const PlatformInfo& platform, size_t index, CpuTask task, uint64_t argument) {
  // Its vCPU may still be on its way back to serving (a partition restarting from another CPU).
  const uint64_t deadline = arch::counter() + arch::counter_frequency() * bring_up_timeout_ms / 1000;
  for (;;) {
    uint32_t expected = as_word(BootCpuState::serving);
    if (__atomic_compare_exchange_n(&boot_cpu_mailbox.state, &expected, as_word(BootCpuState::posting), false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      break;
    }
    if (arch::counter() > deadline) return psci::already_on;
    arch::wait_for_event();
  }
  boot_cpu_mailbox.task = task;
  boot_cpu_mailbox.argument = argument;
  set_mailbox_state(BootCpuState::posted, __ATOMIC_RELEASE);
  // Its loop sleeps in WFI: the kick SGI wakes it (it also looks before sleeping).
  if (arch::own_mpidr() != platform.cpus[index].mpidr) arch::gic::send_sgi(arch::gic::kick_sgi, platform.cpus[index].mpidr);
  return psci::success;
}

// Fills CPU `index`'s slot, makes it visible to a CPU whose MMU is still off, and asks
// firmware to power the CPU on into secondary_entry. Returns the PSCI status.
int64_t power_on(const PlatformInfo& platform, size_t index, uint32_t online, CpuTask task, uint64_t argument) {
  const MmuSettings mmu = mmu_settings();
  SecondaryBoot& slot = secondary_boot[index];
  slot = {reinterpret_cast<uint64_t>(secondary_stacks[index] + stack_size), mmu.mair, mmu.tcr, mmu.ttbr0, index,
          online, task, argument};
  arch::clean_dcache_range(&slot, sizeof(slot));
  return arch::firmware_call(platform.psci.conduit, psci::cpu_on_64, psci::affinity_of(platform.cpus[index].mpidr),
                             reinterpret_cast<uint64_t>(secondary_entry), reinterpret_cast<uint64_t>(&slot));
}

bool wait_for_online(const SecondaryBoot& slot) {
  const uint64_t deadline = arch::counter() + arch::counter_frequency() * bring_up_timeout_ms / 1000;
  while (__atomic_load_n(&slot.online, __ATOMIC_ACQUIRE) == 0) {
    if (arch::counter() > deadline) return false;
    arch::wait_for_event();  // woken by the CPU's SEV or the event stream
  }
  return true;
}
}  // namespace

PsciConduit known_platform_conduit() {
  return known_platform != nullptr ? known_platform->psci.conduit : PsciConduit::none;
}

uint64_t known_platform_mpidr(size_t index) {
  return known_platform != nullptr && index < known_platform->cpu_count ? known_platform->cpus[index].mpidr : ~0ull;
}

bool cpu_is_online(size_t index) {
  return index < max_cpus && (__atomic_load_n(&secondary_boot[index].online, __ATOMIC_ACQUIRE) == 1 ||
                              boot_cpu_online_flag[index] != 0);
}

int current_cpu_index() {
  if (known_platform == nullptr) return -1;
  const uint64_t me = arch::own_mpidr();
  for (size_t i = 0; i < known_platform->cpu_count; ++i) {
    if (known_platform->cpus[i].mpidr == me) return static_cast<int>(i);
  }
  return -1;
}

CpuBringUpResult bring_up_secondary_cpus(const PlatformInfo& platform, uint64_t boot_mpidr) {
  known_platform = &platform;
  CpuBringUpResult result;
  for (size_t i = 0; i < platform.cpu_count; ++i) {
    const CpuInfo& cpu = platform.cpus[i];
    if (cpu.mpidr == boot_mpidr) {
      boot_cpu_online_flag[i] = 1;
      ++result.online;
      continue;
    }
    const SecondaryBoot& slot = secondary_boot[i];
    const int64_t status = power_on(platform, i, 0, nullptr, 0);
    if (status != psci::success) {
      log::error("cpu {} mpidr {} ({}) failed to come online: psci CPU_ON returned {} ({})", i, hex(cpu.mpidr),
                 cpu.path.text, status, psci::result_name(status));
      ++result.failed;
    } else if (!wait_for_online(slot)) {
      log::error("cpu {} mpidr {} ({}) failed to come online: no report within {} ms", i, hex(cpu.mpidr),
                 cpu.path.text, bring_up_timeout_ms);
      ++result.failed;
    } else if (slot.online != 1) {
      log::error("cpu {} mpidr {} ({}) failed to come online: a CPU with another MPIDR answered", i, hex(cpu.mpidr),
                 cpu.path.text);
      ++result.failed;
    } else {
      ++result.online;
    }
  }
  return result;
}

uint64_t cpu_stack_top(size_t index) {
  if (known_platform != nullptr && index < known_platform->cpu_count && boot_cpu_online_flag[index] != 0) {
    return reinterpret_cast<uint64_t>(boot_stack_top);
  }
  return index < max_cpus ? reinterpret_cast<uint64_t>(secondary_stacks[index] + stack_size) : 0;
}

int64_t start_cpu(const PlatformInfo& platform, size_t index, CpuTask task, uint64_t argument) {
  if (index >= platform.cpu_count) return psci::invalid_parameters;
  if (boot_cpu_online_flag[index] != 0) return post_to_boot_cpu(platform, index, task, argument);
  const uint64_t affinity = psci::affinity_of(platform.cpus[index].mpidr);
  // A CPU that reported in may still be on its way off.
  const uint64_t deadline = arch::counter() + arch::counter_frequency() * bring_up_timeout_ms / 1000;
  while (arch::firmware_call(platform.psci.conduit, psci::affinity_info_64, affinity, 0) != 1 /* OFF */) {
    if (arch::counter() > deadline) return psci::already_on;
    arch::wait_for_event();
  }
  return power_on(platform, index, 1, task, argument);
}

bool take_boot_cpu_task(CpuTask& task, uint64_t& argument) {
  if (mailbox_state() != BootCpuState::posted) return false;
  task = boot_cpu_mailbox.task;
  argument = boot_cpu_mailbox.argument;
  set_mailbox_state(BootCpuState::running, __ATOMIC_RELAXED);
  return true;
}

void boot_cpu_task_ended() {
  set_mailbox_state(BootCpuState::serving, __ATOMIC_RELEASE);
  arch::send_event();  // a CPU waiting in post_to_boot_cpu
}

}  // namespace bulkhead::boot

// First C++ of a secondary CPU, MMU and stack ready: either its task, or (at boot)
// report in and power off until start_cpu() needs it.
extern "C" [[noreturn]] void boot_secondary(bulkhead::boot::SecondaryBoot* slot) {
  if (slot->task != nullptr) {
    slot->task(slot->argument);
    bulkhead::arch::cpu_off(bulkhead::boot::known_platform_conduit());
  }
  // 2 = "a CPU came up, but not the one asked for": the firmware DT lied about MPIDRs.
  const bool expected = bulkhead::boot::known_platform_mpidr(slot->cpu_index) == bulkhead::arch::own_mpidr();
  __atomic_store_n(&slot->online, expected ? 1u : 2u, __ATOMIC_RELEASE);
  bulkhead::arch::send_event();
  bulkhead::arch::cpu_off(bulkhead::boot::known_platform_conduit());
}
