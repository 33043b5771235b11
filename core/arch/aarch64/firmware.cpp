#include "core/arch/aarch64/firmware.hpp"

#include "core/arch/aarch64/sysreg.hpp"
#include "core/lib/psci.hpp"

extern "C" int64_t firmware_call_smc(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3);
extern "C" int64_t firmware_call_hvc(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3);

namespace bulkhead::arch {

int64_t firmware_call(PsciConduit conduit, uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3) {
  switch (conduit) {
    case PsciConduit::smc: return firmware_call_smc(function, a1, a2, a3);
    // From EL2 an HVC traps to ourselves, never to firmware; the boot code rejects
    // this conduit before calling, so reaching here is a programming error.
    case PsciConduit::hvc:
    case PsciConduit::none: break;
  }
  return psci::not_supported;
}

void park_forever() {
  asm volatile("msr daifset, #0xf");
  for (;;) wait_for_interrupt();
}

void system_off(PsciConduit conduit) {
  firmware_call(conduit, psci::system_off);
  park_forever();
}

void cpu_off(PsciConduit conduit) {
  firmware_call(conduit, psci::cpu_off);
  park_forever();
}

}  // namespace bulkhead::arch
