// PSCI and SMCCC as the guest calls them (Arm DEN0022, DEN0028), through HVC as its
// device tree says, or through a trapped SMC.
#pragma once

#include <cstdint>

#include "arch.hpp"

namespace probe::psci {

constexpr uint32_t version = 0x84000000;
constexpr uint32_t cpu_suspend_64 = 0xc4000001;
// power_state in the original format: StateType in bit 16.
constexpr uint64_t power_state_standby = 0;
constexpr uint64_t power_state_powerdown = 1u << 16;
constexpr uint32_t cpu_off = 0x84000002;
constexpr uint32_t cpu_on_32 = 0x84000003;
constexpr uint32_t cpu_on_64 = 0xc4000003;
constexpr uint32_t affinity_info_32 = 0x84000004;
constexpr uint32_t affinity_info_64 = 0xc4000004;
constexpr uint32_t migrate_info_type = 0x84000006;
constexpr uint32_t system_off = 0x84000008;
constexpr uint32_t system_reset = 0x84000009;
constexpr uint32_t features = 0x8400000a;
constexpr uint32_t system_suspend_64 = 0xc400000e;
constexpr uint32_t unassigned_psci = 0x8400001f;  // inside the PSCI range, no function

constexpr uint32_t smccc_version = 0x80000000;
constexpr uint32_t smccc_arch_features = 0x80000001;
constexpr uint32_t smccc_arch_workaround_1 = 0x80008000;
constexpr uint32_t unknown_arch_function = 0x8000ff00;
// A fast call in the standard hypervisor service range that nothing implements: the
// "null" hypercall (SMCCC: an unknown function returns NOT_SUPPORTED).
constexpr uint32_t null_hypercall = 0x8600ff00;

constexpr int64_t success = 0;
constexpr int64_t not_supported = -1;
constexpr int64_t invalid_parameters = -2;
constexpr int64_t already_on = -4;
constexpr int64_t on_pending = -5;
constexpr int64_t invalid_address = -9;
constexpr int64_t affinity_on = 0;
constexpr int64_t affinity_off = 1;

constexpr uint32_t version_1_1 = 0x10001;

// SMC32/HVC32 calls return a 32-bit W0: sign-extend it.
inline int64_t hvc(uint32_t function, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
  const int64_t x0 = smccc_hvc(function, a1, a2, a3);
  return (function & 0x40000000u) != 0 ? x0 : static_cast<int32_t>(x0);
}
inline int64_t smc(uint32_t function, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
  const int64_t x0 = smccc_smc(function, a1, a2, a3);
  return (function & 0x40000000u) != 0 ? x0 : static_cast<int32_t>(x0);
}

[[noreturn]] inline void power_off() {
  hvc(system_off);
  park();
}

}  // namespace probe::psci
