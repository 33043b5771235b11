// The probe guest's view of the CPU: system registers, MMIO, counters and the frame the
// exception vectors (entry.S) save. EL1, MMU off: every data access is Device memory, so
// MMIO and RAM alike are reached with plain aligned accesses (the build passes
// -mstrict-align), and MMIO goes through single LDR/STR instructions without writeback,
// the form whose stage-2 abort syndrome (ISV = 1) a hypervisor can emulate.
#pragma once

#include <cstddef>
#include <cstdint>

#define PROBE_READ_SYSREG(reg)                          \
  ({                                                    \
    uint64_t value_;                                    \
    asm volatile("mrs %0, " #reg : "=r"(value_)::"memory"); \
    value_;                                             \
  })
#define PROBE_WRITE_SYSREG(reg, value) asm volatile("msr " #reg ", %0" ::"r"(uint64_t(value)) : "memory")

// GICv3 CPU-interface registers by encoding (EL1 accesses reach the virtual ICV_* ones).
#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_IAR0_EL1 S3_0_C12_C8_0
#define ICC_EOIR0_EL1 S3_0_C12_C8_1
#define ICC_IGRPEN0_EL1 S3_0_C12_C12_6
#define ICC_SGI0R_EL1 S3_0_C12_C11_7
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_HPPIR1_EL1 S3_0_C12_C12_2
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_CTLR_EL1 S3_0_C12_C12_4
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_RPR_EL1 S3_0_C12_C11_3
#define ICC_SGI1R_EL1 S3_0_C12_C11_5

namespace probe {

constexpr uint32_t max_vcpus = 8;  // entry.S and guest.ld reserve this many stacks

inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb() { asm volatile("dsb sy" ::: "memory"); }
inline void irqs_on() { asm volatile("msr daifclr, #2" ::: "memory"); }
inline void irqs_off() { asm volatile("msr daifset, #2" ::: "memory"); }
inline void relax() { asm volatile("yield" ::: "memory"); }

inline uint32_t read32(uint64_t address) {
  uint32_t value;
  asm volatile("ldr %w0, [%1]" : "=r"(value) : "r"(address) : "memory");
  return value;
}
inline void write32(uint64_t address, uint32_t value) {
  asm volatile("str %w0, [%1]" ::"r"(value), "r"(address) : "memory");
}
inline uint64_t read64(uint64_t address) {
  uint64_t value;
  asm volatile("ldr %0, [%1]" : "=r"(value) : "r"(address) : "memory");
  return value;
}
inline void write64(uint64_t address, uint64_t value) {
  asm volatile("str %0, [%1]" ::"r"(value), "r"(address) : "memory");
}
inline uint16_t read16(uint64_t address) {
  uint32_t value;
  asm volatile("ldrh %w0, [%1]" : "=r"(value) : "r"(address) : "memory");
  return static_cast<uint16_t>(value);
}
inline void write16(uint64_t address, uint16_t value) {
  asm volatile("strh %w0, [%1]" ::"r"(uint32_t{value}), "r"(address) : "memory");
}
inline uint8_t read8(uint64_t address) {
  uint32_t value;
  asm volatile("ldrb %w0, [%1]" : "=r"(value) : "r"(address) : "memory");
  return static_cast<uint8_t>(value);
}
inline void write8(uint64_t address, uint8_t value) {
  asm volatile("strb %w0, [%1]" ::"r"(uint32_t{value}), "r"(address) : "memory");
}

inline uint64_t virtual_count() {
  isb();
  return PROBE_READ_SYSREG(cntvct_el0);
}
inline uint64_t physical_count() {
  isb();
  return PROBE_READ_SYSREG(cntpct_el0);
}
// CNTPCT - CNTVCT (what CNTVOFF_EL2 makes it), bracketed: the virtual count read between
// two physical ones, retried until they are at most 2 ticks apart (an exit to EL2 in
// between would widen them). Returns the bounds [low, high].
inline void counter_offset(uint64_t& low, uint64_t& high) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t before = physical_count();
    const uint64_t virtual_now = virtual_count();
    const uint64_t after = physical_count();
    low = before - virtual_now;
    high = after - virtual_now;
    if (after - before <= 2) return;
  }
}

inline uint64_t counter_frequency() { return PROBE_READ_SYSREG(cntfrq_el0); }
inline uint64_t ticks_per_us() { return counter_frequency() / 1000000; }

// This vCPU's index: the hypervisor gives vCPU n MPIDR Aff0 = n.
inline uint32_t vcpu_index() { return static_cast<uint32_t>(PROBE_READ_SYSREG(mpidr_el1) & 0xff); }

// Busy-waits until `done()` or `microseconds` of virtual time passed; true if done.
template <typename Condition>
bool wait_for(Condition done, uint64_t microseconds) {
  const uint64_t deadline = virtual_count() + microseconds * ticks_per_us();
  while (!done()) {
    if (virtual_count() > deadline) return done();
    relax();
  }
  return true;
}

// Waits until `counter` (written by an interrupt handler or another vCPU) is no longer
// `before`; true if it changed in time.
inline bool wait_change(const volatile uint32_t& counter, uint32_t before, uint64_t microseconds) {
  return wait_for([&counter, before] { return counter != before; }, microseconds);
}

// How often `counter` was incremented since it read `before`.
inline uint32_t since(const volatile uint32_t& counter, uint32_t before) { return counter - before; }

inline void delay_us(uint64_t microseconds) {
  wait_for([] { return false; }, microseconds);
}

// What entry.S saves on every exception taken to EL1 (FRAME_SIZE there).
struct Frame {
  uint64_t x[31];
  uint64_t elr;
  uint64_t spsr;
  uint64_t esr;
  uint64_t far;
  uint64_t stamp;  // IRQs: CNTVCT_EL0 read in the vector
};
static_assert(sizeof(Frame) == 288, "entry.S FRAME_SIZE");

constexpr uint32_t exception_class(uint64_t esr) { return static_cast<uint32_t>((esr >> 26) & 0x3f); }

}  // namespace probe

// entry.S and fp.S.
extern "C" {
extern uint64_t entry_counters[2];  // CNTPCT_EL0 and CNTVCT_EL0 at the first instructions
// Per vCPU, VBAR_EL1 and CPACR_EL1 before its entry code set them (vCPU 0's are stored
// once its BSS is cleared).
extern uint64_t entry_el1_controls[probe::max_vcpus][2];
void secondary_entry();
[[noreturn]] void park();
int64_t smccc_hvc(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t smccc_smc(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3);
uint32_t probe_read32(uint64_t address);
void probe_write32(uint64_t address, uint32_t value);
void probe_call(uint64_t address);
extern char probe_read_insn[];
extern char probe_write_insn[];
void fp_load_all(const void* registers);
void fp_store_all(void* registers);
void fp_write_control(uint64_t fpcr, uint64_t fpsr);
uint64_t fp_read_fpcr();
uint64_t fp_read_fpsr();
uint64_t hvc_preserves_registers(uint64_t function, uint64_t seed);
}
