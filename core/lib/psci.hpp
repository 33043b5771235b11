// PSCI function IDs and return codes (Arm DEN0022), shared by the host side of the boot
// code and, later, the guest-facing PSCI emulation.
#pragma once

#include <cstdint>

namespace bulkhead::psci {

constexpr uint32_t version = 0x84000000;
constexpr uint32_t cpu_off = 0x84000002;
constexpr uint32_t cpu_on_64 = 0xc4000003;
constexpr uint32_t affinity_info_64 = 0xc4000004;
constexpr uint32_t system_off = 0x84000008;
constexpr uint32_t system_reset = 0x84000009;

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
