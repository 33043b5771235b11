// The probe guest's entry points, its EL1 exception vectors and the few instructions
// the tests need at known addresses. EL1h, MMU off, DAIF masked at entry (the
// hypervisor's guest entry state); the boot vCPU gets x0 = guest DTB, a vCPU started
// by PSCI CPU_ON gets x0 = the caller's context id.

#define MAX_VCPUS 8
#define STACK_SHIFT 14              // 16 KiB per vCPU, as guest.ld reserves
#define FRAME_SIZE 288              // struct Frame in probe.hpp
#define CPACR_FPEN (3 << 20)        // FP/SIMD at EL1 and EL0 without traps

  .section .text.entry, "ax"
  .global _start
_start:
  // The very first instruction: the physical counter (not offset by CNTVOFF_EL2) when
  // the partition's first instruction ran. Then the virtual counter, for the vtimer test.
  mrs x19, cntpct_el0
  mrs x20, cntvct_el0
  mov x21, x0
  mrs x22, vbar_el1                 // as the hypervisor left them (restart-state)
  mrs x23, cpacr_el1
  ldr x1, =__stacks_start
  add sp, x1, #(1 << STACK_SHIFT)   // vCPU 0's stack
  bl setup_el1
  ldr x1, =__bss_start
  ldr x2, =__bss_end
1: cmp x1, x2
  b.hs 2f
  str xzr, [x1], #8
  b 1b
2: ldr x1, =entry_counters
  stp x19, x20, [x1]
  ldr x1, =entry_el1_controls
  stp x22, x23, [x1]
  mov x0, x21
  bl probe_main
  b park

// PSCI CPU_ON entry of every other vCPU: x0 = context id.
  .global secondary_entry
secondary_entry:
  mov x19, x0
  mrs x20, mpidr_el1
  and x1, x20, #0xff
  cmp x1, #MAX_VCPUS
  b.hs park
  mrs x3, vbar_el1                  // as the hypervisor left them (restart-state)
  mrs x4, cpacr_el1
  ldr x2, =entry_el1_controls
  add x2, x2, x1, lsl #4
  stp x3, x4, [x2]
  add x1, x1, #1
  ldr x2, =__stacks_start
  add x2, x2, x1, lsl #STACK_SHIFT
  mov sp, x2
  bl setup_el1
  mov x0, x19
  mov x1, x20
  bl secondary_main
  .global park
park:
  msr daifset, #0xf
3: wfi
  b 3b

setup_el1:
  ldr x1, =vectors
  msr vbar_el1, x1
  mov x1, #CPACR_FPEN
  msr cpacr_el1, x1
  isb
  ret

// SMCCC calls: x0 = function ID, x1..x3 arguments; x0 comes back (x1-x3 clobbered).
  .text
  .global smccc_hvc
smccc_hvc:
  hvc #0
  ret
  .global smccc_smc
smccc_smc:
  smc #0
  ret

// One 32-bit access each at a label, so the abort handler can check ELR_EL1 and skip
// exactly that instruction.
  .global probe_read32
  .global probe_read_insn
probe_read32:
probe_read_insn:
  ldr w0, [x0]
  ret
  .global probe_write32
  .global probe_write_insn
probe_write32:
probe_write_insn:
  str w1, [x0]
  ret

// Branches to x0 (an address the test expects to fault on fetch); the abort handler
// resumes at the return address in x30.
  .global probe_call
probe_call:
  stp x29, x30, [sp, #-16]!
  blr x0
  ldp x29, x30, [sp], #16
  ret

// x0..x30 at 0..240, ELR 248, SPSR 256, ESR 264, FAR 272, the IRQ stamp 280.
.macro save_frame
  stp x2, x3, [sp, #16]
  stp x4, x5, [sp, #32]
  stp x6, x7, [sp, #48]
  stp x8, x9, [sp, #64]
  stp x10, x11, [sp, #80]
  stp x12, x13, [sp, #96]
  stp x14, x15, [sp, #112]
  stp x16, x17, [sp, #128]
  stp x18, x19, [sp, #144]
  stp x20, x21, [sp, #160]
  stp x22, x23, [sp, #176]
  stp x24, x25, [sp, #192]
  stp x26, x27, [sp, #208]
  stp x28, x29, [sp, #224]
  str x30, [sp, #240]
  mrs x2, elr_el1
  mrs x3, spsr_el1
  stp x2, x3, [sp, #248]
  mrs x2, esr_el1
  mrs x3, far_el1
  stp x2, x3, [sp, #264]
.endm

  .balign 0x800
vectors:
  // Current EL with SP_EL0: never used (the guest runs EL1h).
  .balign 0x80
  mov x1, #0
  b unexpected
  .balign 0x80
  mov x1, #1
  b unexpected
  .balign 0x80
  mov x1, #2
  b unexpected
  .balign 0x80
  mov x1, #3
  b unexpected
  // Current EL with SP_ELx.
  .balign 0x80
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp]
  b sync_common
  .balign 0x80
  // IRQ: the counter is read as early as the frame allows (third instruction), for the
  // interrupt-latency figure.
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp]
  mrs x0, cntvct_el0
  str x0, [sp, #280]
  b irq_common
  .balign 0x80
  // FIQ: Group 0 virtual interrupts (the sgi test's ICC_SGI0R_EL1 case).
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp]
  b fiq_common
  .balign 0x80
  mov x1, #7
  b unexpected
  // Lower EL, AArch64 and AArch32: the guest has no EL0 code.
  .balign 0x80
  mov x1, #8
  b unexpected
  .balign 0x80
  mov x1, #9
  b unexpected
  .balign 0x80
  mov x1, #10
  b unexpected
  .balign 0x80
  mov x1, #11
  b unexpected
  .balign 0x80
  mov x1, #12
  b unexpected
  .balign 0x80
  mov x1, #13
  b unexpected
  .balign 0x80
  mov x1, #14
  b unexpected
  .balign 0x80
  mov x1, #15
  b unexpected

sync_common:
  save_frame
  mov x0, sp
  bl on_sync
  b restore_frame

fiq_common:
  save_frame
  mov x0, sp
  bl on_fiq
  b restore_frame

irq_common:
  save_frame
  mov x0, sp
  bl on_irq

restore_frame:
  ldp x2, x3, [sp, #248]
  msr elr_el1, x2
  msr spsr_el1, x3
  ldp x0, x1, [sp]
  ldp x2, x3, [sp, #16]
  ldp x4, x5, [sp, #32]
  ldp x6, x7, [sp, #48]
  ldp x8, x9, [sp, #64]
  ldp x10, x11, [sp, #80]
  ldp x12, x13, [sp, #96]
  ldp x14, x15, [sp, #112]
  ldp x16, x17, [sp, #128]
  ldp x18, x19, [sp, #144]
  ldp x20, x21, [sp, #160]
  ldp x22, x23, [sp, #176]
  ldp x24, x25, [sp, #192]
  ldp x26, x27, [sp, #208]
  ldp x28, x29, [sp, #224]
  ldr x30, [sp, #240]
  add sp, sp, #FRAME_SIZE
  eret

// x1 = vector index. Whatever state we are in, report it and stop (on_unexpected does
// not return).
unexpected:
  sub sp, sp, #FRAME_SIZE
  str x0, [sp]
  str x1, [sp, #8]
  save_frame
  mov x0, sp
  ldr x1, [sp, #8]
  bl on_unexpected
  b park
