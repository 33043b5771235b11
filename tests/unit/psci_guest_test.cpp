#include <doctest/doctest.h>

#include <string>

#include "core/lib/psci.hpp"
#include "core/psci_guest/psci_guest.hpp"

using namespace bulkhead;
using namespace bulkhead::psci_guest;

namespace {
constexpr uint64_t ram_base = 0x40000000;
constexpr uint64_t ram_size = 0x10000000;

PartitionPsci make_partition(uint32_t vcpus) {
  PartitionPsci psci;
  Config config;
  config.vcpu_count = vcpus;
  config.ram_base = ram_base;
  config.ram_size = ram_size;
  REQUIRE(psci.configure(config));
  return psci;
}

int64_t call(PartitionPsci& psci, uint32_t vcpu, uint32_t function, uint64_t x1 = 0, uint64_t x2 = 0, uint64_t x3 = 0) {
  return psci.handle(vcpu, function, x1, x2, x3).x0;
}
}  // namespace

TEST_CASE("psci guest: versions") {
  PartitionPsci psci = make_partition(1);
  const Result version = psci.handle(0, psci::version, 0, 0, 0);
  CHECK(version.x0 == 0x10001);  // PSCI 1.1
  CHECK(version.action.kind == ActionKind::none);
  CHECK(call(psci, 0, psci::smccc_version) == 0x10001);  // SMCCC 1.1
  CHECK(call(psci, 0, 0xc4000000) == psci::not_supported);  // PSCI_VERSION has no SMC64 form
}

TEST_CASE("psci guest: PSCI_FEATURES lists exactly the implemented functions") {
  PartitionPsci psci = make_partition(2);
  for (uint32_t function : {psci::version, psci::features, psci::cpu_on_32, psci::cpu_on_64, psci::cpu_off,
                            psci::affinity_info_32, psci::affinity_info_64, psci::migrate_info_type, psci::system_off,
                            psci::system_reset, psci::smccc_version, psci::cpu_suspend_32, psci::cpu_suspend_64}) {
    CAPTURE(function);
    CHECK(call(psci, 0, psci::features, function) == psci::success);
  }
  for (uint32_t function : {psci::migrate_32, psci::migrate_64,
                            psci::migrate_info_up_cpu_32, psci::system_reset2_64, 0x84000050u, 0u, 0xffffffffu}) {
    CAPTURE(function);
    CHECK(call(psci, 0, psci::features, function) == psci::not_supported);
  }
  // The queried ID is W1: upper bits do not matter.
  CHECK(call(psci, 0, psci::features, 0xffffffff00000000ull | psci::cpu_on_64) == psci::success);
}

TEST_CASE("psci guest: SMCCC_ARCH_FEATURES names the two calls it has and no workaround") {
  PartitionPsci psci = make_partition(1);
  for (uint32_t function : {psci::smccc_arch_workaround_1, psci::smccc_arch_soc_id, 0x80008001u, 0x80000002u}) {
    CAPTURE(function);
    CHECK(call(psci, 0, psci::smccc_arch_features, function) == psci::not_supported);
  }
  // As TF-A answers: the Arm Architecture Service functions that exist are implemented.
  CHECK(call(psci, 0, psci::smccc_arch_features, psci::smccc_version) == psci::success);
  CHECK(call(psci, 0, psci::smccc_arch_features, psci::smccc_arch_features) == psci::success);
}

TEST_CASE("psci guest: CPU_ON brings a secondary vCPU up through ON_PENDING") {
  PartitionPsci psci = make_partition(2);
  CHECK(psci.power(0) == VcpuPower::on);
  CHECK(psci.power(1) == VcpuPower::off);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0) == psci::affinity_off);

  const Result on = psci.handle(0, psci::cpu_on_64, 1, ram_base + 0x1000, 0x1234);
  CHECK(on.x0 == psci::success);
  CHECK(on.action.kind == ActionKind::start_vcpu);
  CHECK(on.action.vcpu == 1);
  CHECK(on.action.entry == ram_base + 0x1000);
  CHECK(on.action.context_id == 0x1234);
  CHECK(psci.power(1) == VcpuPower::on_pending);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0) == psci::affinity_on_pending);

  const Result again = psci.handle(0, psci::cpu_on_64, 1, ram_base, 0);
  CHECK(again.x0 == psci::on_pending);
  CHECK(again.action.kind == ActionKind::none);

  psci.vcpu_started(1);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0) == psci::affinity_on);
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base, 0) == psci::already_on);
  CHECK(call(psci, 1, psci::cpu_on_64, 0, ram_base, 0) == psci::already_on);  // the boot vCPU
  CHECK(call(psci, 1, psci::cpu_on_64, 1, ram_base, 0) == psci::already_on);  // itself
}

TEST_CASE("psci guest: concurrent CPU_ON of one target: exactly one caller gets SUCCESS") {
  // Three vCPUs race to start vCPU 3. The target serialises their calls (one lock per
  // partition) in some order, and the started vCPU's confirmation can come between any
  // two of them: whatever the order, one SUCCESS (one start action), then ON_PENDING
  // until the confirmation, ALREADY_ON after it.
  const uint32_t callers[3][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}};
  for (const auto& order : callers) {
    for (unsigned started_after = 1; started_after <= 3; ++started_after) {
      CAPTURE(order[0]);
      CAPTURE(started_after);
      PartitionPsci psci = make_partition(4);
      psci.vcpu_started(1);
      psci.vcpu_started(2);
      for (uint32_t vcpu = 1; vcpu < 3; ++vcpu) REQUIRE(psci.power(vcpu) == VcpuPower::on);
      unsigned successes = 0;
      unsigned starts = 0;
      for (unsigned call_index = 0; call_index < 3; ++call_index) {
        if (call_index == started_after) psci.vcpu_started(3);
        const Result result = psci.handle(order[call_index], psci::cpu_on_64, 3, ram_base, order[call_index]);
        starts += result.action.kind == ActionKind::start_vcpu ? 1 : 0;
        if (result.x0 == psci::success) {
          ++successes;
          CHECK(call_index == 0);
          CHECK(result.action.context_id == order[0]);  // the winner's context ID
        } else if (call_index < started_after) {
          CHECK(result.x0 == psci::on_pending);
        } else {
          CHECK(result.x0 == psci::already_on);
        }
      }
      CHECK(successes == 1);
      CHECK(starts == 1);
    }
  }
}

TEST_CASE("psci guest: CPU_ON argument errors") {
  PartitionPsci psci = make_partition(2);
  CHECK(call(psci, 0, psci::cpu_on_64, 2, ram_base, 0) == psci::invalid_parameters);     // no such vCPU
  CHECK(call(psci, 0, psci::cpu_on_64, 0x100, ram_base, 0) == psci::invalid_parameters); // Aff1 = 1
  CHECK(call(psci, 0, psci::cpu_on_64, 0x100000000ull, ram_base, 0) == psci::invalid_parameters);  // Aff3 = 1
  CHECK(call(psci, 0, psci::cpu_on_64, 0x80000001ull, ram_base, 0) == psci::invalid_parameters);   // MPIDR bit 31
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base - 4, 0) == psci::invalid_address);
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base + ram_size, 0) == psci::invalid_address);
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base + 2, 0) == psci::invalid_address);  // not word-aligned
  CHECK(psci.power(1) == VcpuPower::off);  // nothing started
  // Without RAM bounds any aligned entry is accepted.
  PartitionPsci unbounded;
  Config config;
  config.vcpu_count = 2;
  REQUIRE(unbounded.configure(config));
  CHECK(call(unbounded, 0, psci::cpu_on_64, 1, 0x1000, 0) == psci::success);
}

TEST_CASE("psci guest: SMC32 calls use only the low 32 bits of their arguments") {
  PartitionPsci psci = make_partition(2);
  const Result on = psci.handle(0, psci::cpu_on_32, 0xffffffff00000001ull, 0xabcd000000000000ull | (ram_base + 0x80),
                                0x1111111122222222ull);
  CHECK(on.x0 == psci::success);
  CHECK(on.action.vcpu == 1);
  CHECK(on.action.entry == ram_base + 0x80);
  CHECK(on.action.context_id == 0x22222222);
  CHECK(call(psci, 0, psci::affinity_info_32, 0xffffffff00000001ull, 0xffffffff00000000ull) == psci::affinity_on_pending);
  // The SMC64 forms use all 64 bits.
  CHECK(call(psci, 0, psci::affinity_info_64, 0xffffffff00000001ull, 0) == psci::invalid_parameters);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0xffffffff00000000ull) == psci::invalid_parameters);
  CHECK(psci.handle(0, psci::cpu_on_64, 0, ram_base, 0x1111111122222222ull).x0 == psci::already_on);
}

TEST_CASE("psci guest: AFFINITY_INFO answers for level 0 only") {
  PartitionPsci psci = make_partition(3);
  CHECK(call(psci, 1, psci::affinity_info_64, 0, 0) == psci::affinity_on);
  CHECK(call(psci, 0, psci::affinity_info_64, 2, 0) == psci::affinity_off);
  CHECK(call(psci, 0, psci::affinity_info_64, 0, 1) == psci::invalid_parameters);
  CHECK(call(psci, 0, psci::affinity_info_64, 0, 3) == psci::invalid_parameters);
  CHECK(call(psci, 0, psci::affinity_info_64, 3, 0) == psci::invalid_parameters);
}

TEST_CASE("psci guest: CPU_OFF stops the caller, the last one powers the partition off") {
  PartitionPsci psci = make_partition(2);
  REQUIRE(call(psci, 0, psci::cpu_on_64, 1, ram_base, 0) == psci::success);
  psci.vcpu_started(1);

  const Result off = psci.handle(1, psci::cpu_off, 0, 0, 0);
  CHECK(off.action.kind == ActionKind::stop_this_vcpu);
  CHECK(off.action.vcpu == 1);
  // Until the target confirms, the vCPU is still on (Linux polls AFFINITY_INFO for OFF).
  CHECK(psci.power(1) == VcpuPower::off_pending);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0) == psci::affinity_on);
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base, 0) == psci::already_on);
  psci.vcpu_stopped(1);
  CHECK(call(psci, 0, psci::affinity_info_64, 1, 0) == psci::affinity_off);

  // CPU hotplug: it can come back.
  CHECK(call(psci, 0, psci::cpu_on_64, 1, ram_base + 0x100, 7) == psci::success);
  psci.vcpu_started(1);
  CHECK(psci.handle(1, psci::cpu_off, 0, 0, 0).action.kind == ActionKind::stop_this_vcpu);
  // vCPU 1 is still stopping: vCPU 0 is the last one running.
  const Result last = psci.handle(0, psci::cpu_off, 0, 0, 0);
  CHECK(last.action.kind == ActionKind::partition_off);
  CHECK(last.action.vcpu == 0);
}

TEST_CASE("psci guest: a vCPU still starting keeps the partition alive") {
  PartitionPsci psci = make_partition(2);
  REQUIRE(call(psci, 0, psci::cpu_on_64, 1, ram_base, 0) == psci::success);
  CHECK(psci.handle(0, psci::cpu_off, 0, 0, 0).action.kind == ActionKind::stop_this_vcpu);
  PartitionPsci single = make_partition(1);
  CHECK(single.handle(0, psci::cpu_off, 0, 0, 0).action.kind == ActionKind::partition_off);
}

TEST_CASE("psci guest: migration, system off and reset act on the partition") {
  PartitionPsci psci = make_partition(2);
  CHECK(call(psci, 0, psci::migrate_info_type) == 2);  // no Trusted OS to migrate
  CHECK(call(psci, 0, psci::migrate_info_up_cpu_64) == psci::not_supported);
  CHECK(psci.handle(1, psci::system_off, 0, 0, 0).action.kind == ActionKind::partition_off);
  CHECK(psci.handle(0, psci::system_reset, 0, 0, 0).action.kind == ActionKind::partition_reset);
  // The target restarts the partition: only the boot vCPU is on.
  REQUIRE(call(psci, 0, psci::cpu_on_64, 1, ram_base, 0) == psci::success);
  psci.reset(0);
  CHECK(psci.power(0) == VcpuPower::on);
  CHECK(psci.power(1) == VcpuPower::off);
}

TEST_CASE("psci guest: unknown and unimplemented functions are NOT_SUPPORTED") {
  PartitionPsci psci = make_partition(2);
  for (uint32_t function : {psci::migrate_32, psci::migrate_64, psci::system_reset2_32,
                            psci::smccc_arch_soc_id, 0x8600ff01u /* vendor hypervisor UID */,
                            0x84000050u /* TRNG_VERSION */, 0x04000000u /* yielding call */, 0xc2000000u, 0u}) {
    CAPTURE(function);
    const Result result = psci.handle(0, function, 1, ram_base, 0);
    CHECK(result.x0 == psci::not_supported);
    CHECK(result.action.kind == ActionKind::none);
  }
  CHECK(psci.power(1) == VcpuPower::off);
}

TEST_CASE("psci guest: configuration and names") {
  PartitionPsci psci;
  Config config;
  config.vcpu_count = 0;
  CHECK_FALSE(psci.configure(config));
  config.vcpu_count = 17;
  CHECK_FALSE(psci.configure(config));
  config.vcpu_count = 16;
  CHECK(psci.configure(config));
  CHECK(psci.vcpu_count() == 16);
  CHECK(psci.power(16) == VcpuPower::off);
  CHECK(std::string(action_kind_name(ActionKind::partition_reset)) == "partition-reset");
  CHECK(std::string(vcpu_power_name(VcpuPower::on_pending)) == "on-pending");
}

TEST_CASE("psci guest: CPU_SUSPEND waits for an interrupt, a powerdown state needs a valid entry point") {
  PartitionPsci psci = make_partition(2);
  for (uint32_t function : {psci::cpu_suspend_32, psci::cpu_suspend_64}) {
    CAPTURE(function);
    // Standby (StateType 0): the entry point is not used, anything goes.
    Result result = psci.handle(0, function, 0x0, 0x3, 0);
    CHECK(result.x0 == psci::success);
    CHECK(result.action.kind == ActionKind::wait_for_interrupt);
    // Powerdown (StateType 1, bit 16): returning early is allowed, the entry is checked.
    result = psci.handle(0, function, 0x10000, ram_base + 0x1000, 7);
    CHECK(result.x0 == psci::success);
    CHECK(result.action.kind == ActionKind::wait_for_interrupt);
    for (uint64_t bad_entry : {ram_base - 4, ram_base + 0x1002, uint64_t{0}}) {
      CAPTURE(bad_entry);
      result = psci.handle(0, function, 0x10000, bad_entry, 0);
      CHECK(result.x0 == psci::invalid_address);
      CHECK(result.action.kind == ActionKind::none);
    }
  }
  // The caller stays on; nothing else changes.
  CHECK(psci.power(0) == VcpuPower::on);
  CHECK(psci.power(1) == VcpuPower::off);
  CHECK(std::string(action_kind_name(ActionKind::wait_for_interrupt)) == "wait-for-interrupt");
}
