// The other vCPUs: started with PSCI CPU_ON at secondary_entry (entry.S), they report in
// through their Slot and then serve commands from vCPU 0 (one at a time, by sequence
// number) with IRQs on and their SGIs enabled. Memory is Device (MMU off), so plain
// volatile accesses with DSBs order everything without exclusives.
#pragma once

#include <cstdint>

#include "arch.hpp"

namespace probe::smp {

// `call`: runs the function `argument` points to (void()), on the vCPU's own stack.
enum class Command : uint32_t { none, ping, send_sgi, cpu_off, call };

struct Slot {
  volatile uint64_t mpidr;    // MPIDR_EL1 as the vCPU read it
  volatile uint64_t context;  // x0 at secondary_entry
  volatile uint64_t counter_offset_low;   // CNTPCT - CNTVCT as it read them (arch.hpp
  volatile uint64_t counter_offset_high;  // counter_offset())
  volatile uint32_t boots;    // incremented on every report-in
  volatile uint32_t online;   // 1 from report-in until it calls CPU_OFF
  volatile uint32_t request;  // vCPU 0 increments it after setting command/argument
  volatile uint32_t done;     // the vCPU sets it to `request` when the command is done
  volatile Command command;
  volatile uint64_t argument;
  volatile int64_t result;    // e.g. what CPU_OFF returned, if it ever does
};

Slot& slot(uint32_t vcpu);

// The context id vCPU 0 passes to CPU_ON: a 64-bit value naming the vCPU and the attempt.
constexpr uint64_t context_for(uint32_t vcpu, uint32_t attempt) {
  return 0xc0de000000000000ull | (uint64_t{attempt} << 16) | (uint64_t{vcpu} << 8) | 0x5a;
}

// PSCI CPU_ON_64 through HVC (or CPU_ON_32 through SMC) at secondary_entry.
int64_t cpu_on(uint32_t vcpu, uint64_t context, bool via_smc32);
// Waits until vCPU `vcpu` reported in more than `boots_before` times.
bool wait_report(uint32_t vcpu, uint32_t boots_before, uint64_t timeout_us = 2000000);
// Starts the vCPU unless it is already running and answers a ping, and waits for it.
// False on failure (a FAIL line is printed).
bool ensure_online(uint32_t vcpu);
// Runs a command on vCPU `vcpu` and waits for it to be done.
bool run(uint32_t vcpu, Command command, uint64_t argument = 0, uint64_t timeout_us = 1000000);
// Gives vCPU `vcpu` a command without waiting (e.g. a `call` that runs until told to stop);
// returns its request number for wait_done().
uint32_t post(uint32_t vcpu, Command command, uint64_t argument = 0);
bool wait_done(uint32_t vcpu, uint32_t request, uint64_t timeout_us = 1000000);

}  // namespace probe::smp
