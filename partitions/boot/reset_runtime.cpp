// Resetting a partition's PCI functions: see reset_runtime.hpp.
#include "partitions/boot/reset_runtime.hpp"

#include <new>
#include <type_traits>

#include "core/arch/aarch64/el2_sleep.hpp"
#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/log.hpp"
#include "core/vcpu/el2/vcpu.hpp"
#include "partitions/boot/runtime_state.hpp"

namespace bulkhead::boot::runtime {
namespace {

class El2Waiter final : public pci::ResetWaiter {
 public:
  uint64_t now() override { return arch::counter(); }
  void sleep_until(uint64_t time) override { arch::sleep_until(vcpu::machine(), time); }
};

// Rounded up: waits only get longer.
pci::ResetClock el2_clock() {
  constexpr uint64_t ms_per_second = 1000;
  return {(arch::counter_frequency() + ms_per_second - 1) / ms_per_second};
}

}  // namespace

bool reset_partition_functions(PartitionRuntime& p, ResetOccasion occasion) {
  PartitionPci& pci = p.pci;
  PartitionResets& resets = pci.resets;
  resets.summary.clear();
  resets.handed_over = false;
  if (!pci.present) return true;
  const pci::PciTopology& topology = *pci.host.hardware().topology;
  // Jobs in plan order, only for functions that are reset; the rest are named as not reset.
  static_assert(std::is_trivially_destructible_v<PartitionResets::Jobs>, "jobs are replaced, never destroyed");
  resets.jobs = (new (resets.job_storage) PartitionResets::Jobs)->each;
  size_t count = 0;
  for (size_t i = 0; i < pci.function_count; ++i) {
    const partitions::AssignedFunction& assigned = p.plan->functions[i];
    const pci::Function& function = topology.functions[assigned.function];
    if (!assigned.reset) continue;
    pci::ResetJob& job = resets.jobs[count++];
    job.function = &function;
    job.config = pci.host.accessor_for(function);
    if (job.config == nullptr) {
      log::error("partition {}: pci {} cannot be reset: its segment's configuration space is not mapped",
                 p.partition->name, pci::sbdf_text(function.address).text);
    }
  }
  const pci::ResetClock clock = el2_clock();
  El2Waiter waiter;
  const pci::ResetBatchResult result = pci::reset_side_by_side(resets.jobs, count, topology, clock, waiter);
  size_t job = 0;
  for (size_t i = 0; i < pci.function_count; ++i) {
    const partitions::AssignedFunction& assigned = p.plan->functions[i];
    const pci::SbdfText sbdf = pci::sbdf_text(topology.functions[assigned.function].address);
    if (!assigned.reset) {
      if (occasion == ResetOccasion::restart) format(resets.summary, " reset {} none", sbdf.text);
      continue;
    }
    const pci::FunctionReset& reset = resets.jobs[job++].reset;
    if (occasion != ResetOccasion::restart || !reset.done()) {
      pci::report_reset(reset, clock);
      continue;
    }
    const pci::ResetOutcome& outcome = reset.outcome();
    format(resets.summary, " reset {} {} ms {}", sbdf.text, pci::reset_method_name(outcome.method),
           (outcome.finished - outcome.started) / clock.ticks_per_ms);
  }
  return result.failed == 0;
}

}  // namespace bulkhead::boot::runtime
