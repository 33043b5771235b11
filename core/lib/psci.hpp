// PSCI function IDs and return codes (Arm DEN0022), shared by the boot code's firmware
// calls and the guest-facing PSCI emulation (core/psci_guest).
#pragma once

#include <cstdint>

namespace bulkhead::psci {

constexpr uint32_t version = 0x84000000;
constexpr uint32_t cpu_suspend_32 = 0x84000001;
constexpr uint32_t cpu_suspend_64 = 0xc4000001;
constexpr uint32_t cpu_off = 0x84000002;
constexpr uint32_t cpu_on_32 = 0x84000003;
constexpr uint32_t cpu_on_64 = 0xc4000003;
constexpr uint32_t affinity_info_32 = 0x84000004;
constexpr uint32_t affinity_info_64 = 0xc4000004;
constexpr uint32_t migrate_32 = 0x84000005;
constexpr uint32_t migrate_64 = 0xc4000005;
constexpr uint32_t migrate_info_type = 0x84000006;
constexpr uint32_t migrate_info_up_cpu_32 = 0x84000007;
constexpr uint32_t migrate_info_up_cpu_64 = 0xc4000007;
constexpr uint32_t system_off = 0x84000008;
constexpr uint32_t system_reset = 0x84000009;
constexpr uint32_t features = 0x8400000a;
constexpr uint32_t system_reset2_32 = 0x84000012;
constexpr uint32_t system_reset2_64 = 0xc4000012;

// Arm SMC Calling Convention (DEN0028) calls in the Arm Architecture service range.
constexpr uint32_t smccc_version = 0x80000000;
constexpr uint32_t smccc_arch_features = 0x80000001;
constexpr uint32_t smccc_arch_soc_id = 0x80000002;
constexpr uint32_t smccc_arch_workaround_1 = 0x80008000;
constexpr uint32_t smccc_fast_call = 0x80000000;  // function ID bit 31
constexpr uint32_t smccc_64 = 0x40000000;         // function ID bit 30: SMC64/HVC64 convention
// Function ID bits 29:24: the owning entity. Only the Arm architecture calls (SMCCC) and
// the standard secure service calls (PSCI) are answered; every other owner's calls are
// unknown functions.
constexpr unsigned smccc_owner_shift = 24;
constexpr uint32_t smccc_owner_mask = 0x3f;
constexpr uint32_t smccc_owner_arm_architecture = 0;
constexpr uint32_t smccc_owner_standard_secure = 4;
constexpr uint32_t smccc_owner(uint32_t function_id) { return (function_id >> smccc_owner_shift) & smccc_owner_mask; }

// AFFINITY_INFO results.
constexpr int64_t affinity_on = 0;
constexpr int64_t affinity_off = 1;
constexpr int64_t affinity_on_pending = 2;
// MIGRATE_INFO_TYPE: a Trusted OS is not present or does not need migration.
constexpr int64_t migrate_not_required = 2;

constexpr int64_t success = 0;
constexpr int64_t not_supported = -1;
constexpr int64_t invalid_parameters = -2;
constexpr int64_t denied = -3;
constexpr int64_t already_on = -4;
constexpr int64_t on_pending = -5;
constexpr int64_t internal_failure = -6;
constexpr int64_t not_present = -7;
constexpr int64_t disabled = -8;
constexpr int64_t invalid_address = -9;

const char* result_name(int64_t result);

// CPU_ON takes the affinity fields only (Aff3 in bits 32-39, Aff2..Aff0 in bits 0-23).
constexpr uint64_t affinity_of(uint64_t mpidr) { return mpidr & 0xff00ffffffull; }

}  // namespace bulkhead::psci
