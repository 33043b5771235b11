#include "partitions/boot/first_entry.hpp"

#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/boot_timeline.hpp"
#include "core/lib/log.hpp"
#include "partitions/description.hpp"

namespace bulkhead::boot {
namespace {

// Written once per partition, by the CPU that enters its vCPU 0 the first time; the
// partition's restarts run on its own CPUs after that.
constinit bool entered[partitions::max_partitions] = {};

}  // namespace

void note_guest_entry(size_t index, const char* name, uint32_t vcpu) {
  if (vcpu != 0 || index >= partitions::max_partitions || entered[index]) return;
  const uint64_t ticks = arch::counter();
  entered[index] = true;
  log::fact("partition {} first-entry ticks {} ns {}", name, ticks, ticks_to_ns(ticks, arch::counter_frequency()));
}

}  // namespace bulkhead::boot
