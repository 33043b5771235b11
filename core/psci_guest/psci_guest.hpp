// PSCI 1.1 as one partition's guests see it (HVC, or SMC when trapped): a state machine
// over the partition's vCPUs. It decides; the target acts on the returned Action (start
// or stop a vCPU, power the partition off or reset it) and confirms vCPU transitions
// with vcpu_started()/vcpu_stopped(). The target serialises calls for one partition.
//
// Implemented: PSCI_VERSION (1.1), PSCI_FEATURES, CPU_SUSPEND (SMC32/64), CPU_ON
// (SMC32/64), CPU_OFF, AFFINITY_INFO (SMC32/64), MIGRATE_INFO_TYPE, SYSTEM_OFF,
// SYSTEM_RESET, SMCCC_VERSION (1.1) and SMCCC_ARCH_FEATURES. Everything else returns
// NOT_SUPPORTED (-1), which is also SMCCC's "unknown function".
//
// CPU_SUSPEND behaves as KVM's: every state is a wait for an interrupt, after which the
// call returns SUCCESS (for a powerdown state that is the early return PSCI allows, so
// the entry point is only checked). PSCI_FEATURES(CPU_SUSPEND) is 0: the original
// power_state format (StateType in bit 16), platform-coordinated mode only.
//
// Concurrent CPU_ON of one target from several vCPUs: the calls are serialised (the
// partition's lock), the first gets SUCCESS and starts it; the others get ON_PENDING until
// the target confirms the vCPU runs (vcpu_started), ALREADY_ON after: the two answers
// PSCI 1.1 allows, each telling the truth at the time of the call.
//
// Guest MPIDRs are Aff0 = vCPU index, Aff1..Aff3 = 0: a target_cpu argument names vCPU n
// exactly when it equals n. Bits outside the affinity fields must be zero.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/lib/psci.hpp"

namespace bulkhead::psci_guest {

constexpr size_t max_vcpus = 16;
constexpr uint32_t psci_version_1_1 = 0x10001;   // major [31:16], minor [15:0]
constexpr uint32_t smccc_version_1_1 = 0x10001;  // the same encoding

// off_pending: CPU_OFF accepted, the target has not confirmed the vCPU stopped yet.
// AFFINITY_INFO still reports it ON (it is, until it stops), and CPU_ON on it is ALREADY_ON.
enum class VcpuPower : uint8_t { off, on_pending, on, off_pending };
const char* vcpu_power_name(VcpuPower power);

enum class ActionKind : uint8_t {
  none,
  start_vcpu,       // power vCPU `vcpu` on at `entry` (EL1h, MMU off) with x0 = context_id; then vcpu_started()
  stop_this_vcpu,   // the caller does not return from CPU_OFF: stop it, then vcpu_stopped()
  wait_for_interrupt,  // CPU_SUSPEND: return x0 once an interrupt is pending for the caller
  partition_off,    // stop every vCPU of the partition: it is powered off
  partition_reset,  // stop every vCPU, scrub and reload the partition, reset(), start it again
};
const char* action_kind_name(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::none;
  uint32_t vcpu = 0;
  uint64_t entry = 0;
  uint64_t context_id = 0;
};

// x0 to give back to the guest (sign-extended; an SMC32 caller reads W0). Registers x1-x3
// are left as they are: no implemented function returns more than x0. When the action
// stops the caller (CPU_OFF, SYSTEM_OFF, SYSTEM_RESET) the call does not return and x0
// is irrelevant.
struct Result {
  int64_t x0 = 0;
  Action action;
};

struct Config {
  uint32_t vcpu_count = 1;  // 1..max_vcpus
  // Guest RAM: CPU_ON entry points must lie inside it (else INVALID_ADDRESS). Size 0
  // accepts any 4-byte-aligned entry.
  uint64_t ram_base = 0;
  uint64_t ram_size = 0;
};

class PartitionPsci {
 public:
  // False (and nothing changes) for a vCPU count outside 1..max_vcpus.
  bool configure(const Config& config);
  // The partition (re)starts: `boot_vcpu` is on (the target starts it at the payload
  // entry itself), every other vCPU is off.
  void reset(uint32_t boot_vcpu);

  // One guest call from vCPU `vcpu`: w0 = function ID, x1..x3 = arguments.
  Result handle(uint32_t vcpu, uint32_t function_id, uint64_t x1, uint64_t x2, uint64_t x3);

  // The target confirms: vCPU `index` now runs (after start_vcpu) / has stopped (after
  // stop_this_vcpu or while stopping the partition).
  void vcpu_started(uint32_t index);
  void vcpu_stopped(uint32_t index);

  VcpuPower power(uint32_t index) const { return valid(index) ? power_[index] : VcpuPower::off; }
  uint32_t vcpu_count() const { return vcpu_count_; }

 private:
  Result cpu_on(uint64_t target_cpu, uint64_t entry, uint64_t context_id);
  Result cpu_off(uint32_t vcpu);
  Result cpu_suspend(uint64_t power_state, uint64_t entry);
  int64_t affinity_info(uint64_t target_affinity, uint64_t lowest_level) const;
  bool vcpu_of(uint64_t target_cpu, uint32_t& index) const;
  bool entry_valid(uint64_t entry) const;
  // Both bounds: vcpu_count_ <= max_vcpus holds, but the compiler cannot see it.
  bool valid(uint32_t index) const { return index < vcpu_count_ && index < max_vcpus; }

  VcpuPower power_[max_vcpus] = {};
  uint32_t vcpu_count_ = 1;
  uint64_t ram_base_ = 0;
  uint64_t ram_size_ = 0;
};

// True for the function IDs handle() implements (what PSCI_FEATURES reports as 0).
bool implemented(uint32_t function_id);
// Whether handle() looks at a call at all: only the Arm architecture (SMCCC) and standard
// secure service (PSCI) owners are answered; any other call is NOT_SUPPORTED at once,
// without a Result (the fast path for hypercalls nobody implements).
constexpr bool answers(uint32_t function_id) {
  const uint32_t owner = psci::smccc_owner(function_id);
  return owner == psci::smccc_owner_arm_architecture || owner == psci::smccc_owner_standard_secure;
}

}  // namespace bulkhead::psci_guest
