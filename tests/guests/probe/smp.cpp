#include "smp.hpp"

#include "console.hpp"
#include "gic.hpp"
#include "psci.hpp"

namespace probe::smp {
namespace {

Slot slots[max_vcpus];
uint32_t attempts = 0;

}  // namespace

Slot& slot(uint32_t vcpu) { return slots[vcpu % max_vcpus]; }

int64_t cpu_on(uint32_t vcpu, uint64_t context, bool via_smc32) {
  const auto entry = reinterpret_cast<uint64_t>(&secondary_entry);
  if (via_smc32) return psci::smc(psci::cpu_on_32, vcpu, entry, context);
  return psci::hvc(psci::cpu_on_64, vcpu, entry, context);
}

bool wait_report(uint32_t vcpu, uint32_t boots_before, uint64_t timeout_us) {
  Slot& s = slot(vcpu);
  return wait_for([&s, boots_before] { return s.boots > boots_before; }, timeout_us);
}

bool ensure_online(uint32_t vcpu) {
  const Slot& s = slot(vcpu);
  // Running and answering commands is what the callers need; the smp test judges what
  // AFFINITY_INFO says.
  if (s.online != 0 && run(vcpu, Command::ping)) return true;
  const uint32_t before = s.boots;
  const int64_t status = cpu_on(vcpu, context_for(vcpu, ++attempts), false);
  if (status != psci::success) {
    begin_fail();
    put_text("CPU_ON of vcpu ");
    put_decimal(vcpu);
    put_text(" expected 0 got ");
    put_signed(status);
    end_line();
    return false;
  }
  if (!wait_report(vcpu, before)) {
    begin_fail();
    put_text("vcpu ");
    put_decimal(vcpu);
    put_text(" did not report in within 2 s");
    end_line();
    return false;
  }
  return true;
}

uint32_t post(uint32_t vcpu, Command command, uint64_t argument) {
  Slot& s = slot(vcpu);
  s.command = command;
  s.argument = argument;
  dsb();
  const uint32_t request = s.request + 1;
  s.request = request;
  dsb();
  return request;
}

bool wait_done(uint32_t vcpu, uint32_t request, uint64_t timeout_us) {
  const Slot& s = slot(vcpu);
  return wait_for([&s, request] { return s.done == request; }, timeout_us);
}

bool run(uint32_t vcpu, Command command, uint64_t argument, uint64_t timeout_us) {
  return wait_done(vcpu, post(vcpu, command, argument), timeout_us);
}

}  // namespace probe::smp

// secondary_entry (entry.S) calls this on the vCPU's own stack.
extern "C" [[noreturn]] void secondary_main(uint64_t context, uint64_t mpidr) {
  using namespace probe;
  const auto vcpu = static_cast<uint32_t>(mpidr & 0xff);
  smp::Slot& s = smp::slot(vcpu);
  uint64_t low = 0;
  uint64_t high = 0;
  counter_offset(low, high);
  s.counter_offset_low = low;
  s.counter_offset_high = high;
  s.mpidr = mpidr;
  s.context = context;
  gic::init_this_cpu();
  for (uint32_t sgi = 0; sgi < 16; ++sgi) gic::enable_private(sgi, 0x80);
  dsb();
  s.online = 1;
  s.boots = s.boots + 1;
  dsb();
  irqs_on();
  for (;;) {
    const uint32_t request = s.request;
    if (request == s.done) {
      relax();
      continue;
    }
    dsb();
    switch (s.command) {
      case smp::Command::send_sgi: gic::send_sgi(s.argument); break;
      case smp::Command::call: reinterpret_cast<void (*)()>(s.argument)(); break;
      case smp::Command::cpu_off:
        s.online = 0;
        s.done = request;
        dsb();
        s.result = psci::hvc(psci::cpu_off);  // returns only on failure
        s.online = 1;
        continue;
      case smp::Command::none:
      case smp::Command::ping: break;
    }
    dsb();
    s.done = request;
  }
}
