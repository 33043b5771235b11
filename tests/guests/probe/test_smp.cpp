// smp: PSCI and SMCCC as a partition's firmware (DEN0022 PSCI 1.1, DEN0028 SMCCC 1.1),
// through HVC and through a trapped SMC, and every other vCPU started, checked and
// stopped again.
#include "console.hpp"
#include "psci.hpp"
#include "smp.hpp"
#include "tests.hpp"

namespace probe {
namespace {

bool check_discovery() {
  if (!expect_hex("PSCI_VERSION", static_cast<uint64_t>(psci::hvc(psci::version)), psci::version_1_1)) return false;
  // PSCI_FEATURES: 0 for every function the hypervisor documents as implemented
  // (core/psci_guest), NOT_SUPPORTED for what it does not implement or what is no function.
  constexpr uint32_t implemented[] = {psci::version,          psci::cpu_off,    psci::cpu_on_32,
                                      psci::cpu_on_64,        psci::affinity_info_32,
                                      psci::affinity_info_64, psci::migrate_info_type,
                                      psci::system_off,       psci::system_reset,
                                      psci::features,         psci::smccc_version,
                                      psci::cpu_suspend_64};
  for (const uint32_t function : implemented) {
    const int64_t got = psci::hvc(psci::features, function);
    if (got != psci::success) {
      begin_fail();
      put_text("PSCI_FEATURES(");
      put_hex(function);
      put_text(") expected 0 got ");
      put_signed(got);
      end_line();
      return false;
    }
  }
  constexpr uint32_t absent[] = {psci::system_suspend_64, psci::unassigned_psci, psci::null_hypercall};
  for (const uint32_t function : absent) {
    const int64_t got = psci::hvc(psci::features, function);
    if (got != psci::not_supported) {
      begin_fail();
      put_text("PSCI_FEATURES(");
      put_hex(function);
      put_text(") expected -1 got ");
      put_signed(got);
      end_line();
      return false;
    }
  }
  if (!expect_signed("MIGRATE_INFO_TYPE", psci::hvc(psci::migrate_info_type), 2)) return false;
  if (!expect_hex("SMCCC_VERSION", static_cast<uint64_t>(psci::hvc(psci::smccc_version)), 0x10001)) return false;
  if (!expect_signed("SMCCC_ARCH_FEATURES(unassigned 0x8000ff00)",
                     psci::hvc(psci::smccc_arch_features, psci::unknown_arch_function), psci::not_supported)) {
    return false;
  }
  // WORKAROUND_1: -1 (not needed / not offered), 0 or 1 are the legal answers.
  const int64_t workaround = psci::hvc(psci::smccc_arch_features, psci::smccc_arch_workaround_1);
  if (workaround < -1 || workaround > 1) {
    return expect_signed("SMCCC_ARCH_FEATURES(WORKAROUND_1) in -1..1", workaround, -1);
  }
  // As TF-A answers: the Arm Architecture Service calls that exist are implemented.
  if (!expect_signed("SMCCC_ARCH_FEATURES(SMCCC_VERSION)", psci::hvc(psci::smccc_arch_features, psci::smccc_version),
                     psci::success)) {
    return false;
  }
  if (!expect_signed("unknown function 0x8600ff00", psci::hvc(psci::null_hypercall), psci::not_supported)) return false;
  if (!expect_signed("unknown function 0xc600ff00", psci::hvc(0xc600ff00u), psci::not_supported)) return false;
  // The same through SMC, which HCR_EL2.TSC traps to the hypervisor.
  if (!expect_hex("PSCI_VERSION via SMC", static_cast<uint64_t>(psci::smc(psci::version)), psci::version_1_1)) {
    return false;
  }
  if (!expect_signed("MIGRATE_INFO_TYPE via SMC", psci::smc(psci::migrate_info_type), 2)) return false;
  return expect_signed("unknown function via SMC", psci::smc(psci::null_hypercall), psci::not_supported);
}

// CPU_ON of vCPU `vcpu`, which must then report its MPIDR and context id.
bool start_and_check(uint32_t vcpu, uint32_t attempt, bool via_smc32) {
  smp::Slot& s = smp::slot(vcpu);
  const uint32_t before = s.boots;
  uint64_t context = smp::context_for(vcpu, attempt);
  if (via_smc32) context &= 0xffffffff;  // SMC32: W3 only
  const int64_t status = smp::cpu_on(vcpu, context, via_smc32);
  if (!expect_signed(via_smc32 ? "CPU_ON_32 via SMC" : "CPU_ON_64", status, psci::success)) return false;
  if (!smp::wait_report(vcpu, before)) {
    begin_fail();
    put_text("vcpu ");
    put_decimal(vcpu);
    put_text(" did not report in within 2 s after CPU_ON");
    end_line();
    return false;
  }
  // MPIDR_EL1: bit 31 RES1, Aff0 = the vCPU index, the other affinity fields 0.
  if (!expect_hex("secondary MPIDR_EL1 affinity and RES1", s.mpidr & 0xff80ffffffull, (1ull << 31) | vcpu)) return false;
  if (!expect_hex("secondary x0 (context id)", s.context, context)) return false;
  // One virtual counter per partition: every vCPU sees the same CNTVOFF (the bracketed
  // readings must overlap, give or take a tick).
  uint64_t low = 0;
  uint64_t high = 0;
  counter_offset(low, high);
  const auto signed_low = static_cast<int64_t>(low);
  const auto signed_high = static_cast<int64_t>(high);
  if (static_cast<int64_t>(s.counter_offset_high) + 1 < signed_low ||
      static_cast<int64_t>(s.counter_offset_low) > signed_high + 1) {
    begin_fail();
    put_text("secondary CNTPCT - CNTVCT expected vcpu 0's ");
    put_hex(low);
    put_text("..");
    put_hex(high);
    put_text(" got ");
    put_hex(s.counter_offset_low);
    put_text("..");
    put_hex(s.counter_offset_high);
    end_line();
    return false;
  }
  return expect_signed("AFFINITY_INFO after CPU_ON", psci::hvc(psci::affinity_info_64, vcpu, 0), psci::affinity_on);
}

bool stop_and_check(uint32_t vcpu) {
  if (!smp::run(vcpu, smp::Command::cpu_off)) {
    fail("secondary did not take the CPU_OFF command");
    return false;
  }
  const bool off = wait_for([vcpu] { return psci::hvc(psci::affinity_info_64, vcpu, 0) == psci::affinity_off; }, 1000000);
  if (!off) {
    return expect_signed("AFFINITY_INFO within 1 s of CPU_OFF", psci::hvc(psci::affinity_info_64, vcpu, 0),
                         psci::affinity_off);
  }
  return true;
}

}  // namespace

void test_smp() {
  const uint32_t vcpus = settings().guest.vcpu_count;
  if (vcpus == 0 || vcpus > max_vcpus) {
    EXPECT_HEX("vCPUs in /cpus (1..8)", vcpus, 1);
  }
  EXPECT_HEX("vCPU 0 MPIDR_EL1 affinity", PROBE_READ_SYSREG(mpidr_el1) & 0xff00ffffffull, 0);
  if (!check_discovery()) return;
  for (uint32_t vcpu = 1; vcpu < vcpus; ++vcpu) {
    if (smp::slot(vcpu).online != 0) {
      if (!stop_and_check(vcpu)) return;  // left on by an earlier test
    }
    if (!start_and_check(vcpu, 1, false)) return;
    EXPECT_SIGNED("CPU_ON of a vCPU that is on", smp::cpu_on(vcpu, 0, false), psci::already_on);
  }
  EXPECT_SIGNED("CPU_ON of the caller itself", smp::cpu_on(0, 0, false), psci::already_on);
  EXPECT_SIGNED("CPU_ON of MPIDR = vCPU count", smp::cpu_on(vcpus, 0, false), psci::invalid_parameters);
  EXPECT_SIGNED("CPU_ON of Aff1 = 1", psci::hvc(psci::cpu_on_64, 0x100, 0, 0), psci::invalid_parameters);
  EXPECT_SIGNED("AFFINITY_INFO of MPIDR = vCPU count", psci::hvc(psci::affinity_info_64, vcpus, 0),
                psci::invalid_parameters);
  for (uint32_t vcpu = 1; vcpu < vcpus; ++vcpu) {
    if (!stop_and_check(vcpu)) return;
  }
  if (vcpus > 1) {
    // An entry point outside the partition's RAM, on a vCPU that is off.
    EXPECT_SIGNED("CPU_ON with an entry outside RAM", psci::hvc(psci::cpu_on_64, 1, 0x1000, 0), psci::invalid_address);
    EXPECT_SIGNED("AFFINITY_INFO after a refused CPU_ON", psci::hvc(psci::affinity_info_64, 1, 0), psci::affinity_off);
    // Powered off and on again, this time with CPU_ON_32 through a trapped SMC; it
    // stays on for the next tests.
    if (!start_and_check(1, 2, true)) return;
  }
  begin_pass();
  put_text("psci 1.1 smccc 1.1 hvc+smc, cpu_on/off of ");
  put_decimal(vcpus > 0 ? vcpus - 1 : 0);
  put_text(" secondaries with context ids, already-on, invalid-parameters, invalid-address");
  end_line();
}

}  // namespace probe
