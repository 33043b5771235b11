#include "core/psci_guest/psci_guest.hpp"

#include "core/lib/psci.hpp"

namespace bulkhead::psci_guest {

const char* vcpu_power_name(VcpuPower power) {
  switch (power) {
    case VcpuPower::off: return "off";
    case VcpuPower::on_pending: return "on-pending";
    case VcpuPower::on: return "on";
    case VcpuPower::off_pending: return "off-pending";
  }
  return "unknown";
}

const char* action_kind_name(ActionKind kind) {
  switch (kind) {
    case ActionKind::none: return "none";
    case ActionKind::start_vcpu: return "start-vcpu";
    case ActionKind::stop_this_vcpu: return "stop-this-vcpu";
    case ActionKind::wait_for_interrupt: return "wait-for-interrupt";
    case ActionKind::partition_off: return "partition-off";
    case ActionKind::partition_reset: return "partition-reset";
  }
  return "unknown";
}

bool implemented(uint32_t function_id) {
  switch (function_id) {
    case psci::version:
    case psci::features:
    case psci::cpu_suspend_32:
    case psci::cpu_suspend_64:
    case psci::cpu_on_32:
    case psci::cpu_on_64:
    case psci::cpu_off:
    case psci::affinity_info_32:
    case psci::affinity_info_64:
    case psci::migrate_info_type:
    case psci::system_off:
    case psci::system_reset:
    case psci::smccc_version:
    case psci::smccc_arch_features: return true;
    default: return false;
  }
}

bool PartitionPsci::configure(const Config& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > max_vcpus) return false;
  vcpu_count_ = config.vcpu_count;
  ram_base_ = config.ram_base;
  ram_size_ = config.ram_size;
  reset(0);
  return true;
}

void PartitionPsci::reset(uint32_t boot_vcpu) {
  for (uint32_t i = 0; i < max_vcpus; ++i) power_[i] = VcpuPower::off;
  if (valid(boot_vcpu)) power_[boot_vcpu] = VcpuPower::on;
}

void PartitionPsci::vcpu_started(uint32_t index) {
  if (valid(index)) power_[index] = VcpuPower::on;
}

void PartitionPsci::vcpu_stopped(uint32_t index) {
  if (valid(index)) power_[index] = VcpuPower::off;
}

bool PartitionPsci::vcpu_of(uint64_t target_cpu, uint32_t& index) const {
  // Anything beyond Aff0 names a CPU this partition does not have; bits outside the
  // affinity fields (e.g. MPIDR bit 31) are not allowed in a target_cpu argument.
  if (target_cpu >= vcpu_count_ || target_cpu >= max_vcpus) return false;
  index = static_cast<uint32_t>(target_cpu);
  return true;
}

bool PartitionPsci::entry_valid(uint64_t entry) const {
  if (entry % 4 != 0) return false;  // A64 instructions are word-aligned
  if (ram_size_ == 0) return true;
  return entry >= ram_base_ && entry - ram_base_ < ram_size_;
}

Result PartitionPsci::handle(uint32_t vcpu, uint32_t function_id, uint64_t x1, uint64_t x2, uint64_t x3) {
  Result result;
  if (!answers(function_id)) {
    result.x0 = psci::not_supported;
    return result;
  }
  if ((function_id & psci::smccc_64) == 0) {
    // SMC32/HVC32 convention: arguments are W1..W3, the upper halves are ignored.
    x1 &= 0xffffffff;
    x2 &= 0xffffffff;
    x3 &= 0xffffffff;
  }
  switch (function_id) {
    case psci::version: result.x0 = psci_version_1_1; break;
    case psci::features: result.x0 = implemented(static_cast<uint32_t>(x1)) ? psci::success : psci::not_supported; break;
    case psci::cpu_on_32:
    case psci::cpu_on_64: result = cpu_on(x1, x2, x3); break;
    case psci::cpu_off: result = cpu_off(vcpu); break;
    case psci::cpu_suspend_32:
    case psci::cpu_suspend_64: result = cpu_suspend(x1, x2); break;
    case psci::affinity_info_32:
    case psci::affinity_info_64: result.x0 = affinity_info(x1, x2); break;
    case psci::migrate_info_type: result.x0 = psci::migrate_not_required; break;
    case psci::system_off: result.action.kind = ActionKind::partition_off; break;
    case psci::system_reset: result.action.kind = ActionKind::partition_reset; break;
    case psci::smccc_version: result.x0 = smccc_version_1_1; break;
    // No SMCCC_ARCH_WORKAROUND_* or SOC_ID is offered: the hypervisor does not forward
    // them to firmware, so the guest must not rely on them. Linux then reports its own
    // view of the mitigations instead of one we could not vouch for.
    case psci::smccc_arch_features: {
      const auto queried = static_cast<uint32_t>(x1);
      const bool architecture_call = queried == psci::smccc_version || queried == psci::smccc_arch_features;
      result.x0 = architecture_call ? psci::success : psci::not_supported;
      break;
    }
    default: result.x0 = psci::not_supported; break;
  }
  return result;
}

Result PartitionPsci::cpu_suspend(uint64_t power_state, uint64_t entry) {
  Result result;
  constexpr uint64_t state_type_powerdown = 1u << 16;  // original power_state format
  if ((power_state & state_type_powerdown) != 0 && !entry_valid(entry)) {
    result.x0 = psci::invalid_address;
    return result;
  }
  result.action.kind = ActionKind::wait_for_interrupt;
  return result;
}

Result PartitionPsci::cpu_on(uint64_t target_cpu, uint64_t entry, uint64_t context_id) {
  Result result;
  uint32_t index = 0;
  if (!vcpu_of(target_cpu, index)) {
    result.x0 = psci::invalid_parameters;
    return result;
  }
  switch (power_[index]) {
    case VcpuPower::on:
    case VcpuPower::off_pending: result.x0 = psci::already_on; return result;
    case VcpuPower::on_pending: result.x0 = psci::on_pending; return result;
    case VcpuPower::off: break;
  }
  if (!entry_valid(entry)) {
    result.x0 = psci::invalid_address;
    return result;
  }
  power_[index] = VcpuPower::on_pending;
  result.x0 = psci::success;
  result.action = {ActionKind::start_vcpu, index, entry, context_id};
  return result;
}

Result PartitionPsci::cpu_off(uint32_t vcpu) {
  Result result;
  if (!valid(vcpu)) {
    result.x0 = psci::denied;
    return result;
  }
  power_[vcpu] = VcpuPower::off_pending;
  // PSCI allows the last CPU to turn itself off; for a partition that is powering off
  // (the machine powers off once every partition is off). A vCPU still starting counts
  // as running: it will run.
  bool others_running = false;
  for (uint32_t i = 0; valid(i); ++i) {
    if (i != vcpu && (power_[i] == VcpuPower::on || power_[i] == VcpuPower::on_pending)) others_running = true;
  }
  result.action.kind = others_running ? ActionKind::stop_this_vcpu : ActionKind::partition_off;
  result.action.vcpu = vcpu;
  return result;
}

int64_t PartitionPsci::affinity_info(uint64_t target_affinity, uint64_t lowest_level) const {
  // Only level 0 (one CPU): PSCI 1.0 made the higher levels optional, and a partition
  // has no clusters to describe.
  if (lowest_level != 0) return psci::invalid_parameters;
  uint32_t index = 0;
  if (!vcpu_of(target_affinity, index)) return psci::invalid_parameters;
  switch (power_[index]) {
    case VcpuPower::on:
    case VcpuPower::off_pending: return psci::affinity_on;
    case VcpuPower::on_pending: return psci::affinity_on_pending;
    case VcpuPower::off: return psci::affinity_off;
  }
  return psci::affinity_off;
}

}  // namespace bulkhead::psci_guest
