// Image header and the first instructions at EL2, for the boot CPU and for CPUs started
// through PSCI CPU_ON. Everything here runs with the MMU off until mmu_switch_on.

#include "core/arch/aarch64/hcr.hpp"
#include "core/arch/aarch64/sctlr.hpp"

#define BULKHEAD_TEXT_OFFSET 0x200000
#define PSCI_SYSTEM_OFF 0x84000008

  .section .text.image_header, "ax"
  .global _start
_start:
  b primary_entry                 // code0
  .long 0                         // code1
  .quad BULKHEAD_TEXT_OFFSET      // text_offset: load at a 2 MiB-aligned base + this
  .quad _image_size               // image_size, BSS included
  .quad 0x2                       // flags: little-endian, 4 KiB pages, base near DRAM start
  .quad 0, 0, 0                   // res2-res4
  .ascii "ARM\x64"                // magic
  .long 0                         // res5

  .text
primary_entry:
  msr daifset, #0xf
  mov x19, x0                     // firmware DTB
  mrs x1, CurrentEL
  ubfx x1, x1, #2, #2
  cmp x1, #2
  b.ne entered_below_el2
  adr x1, _start
  ldr x2, =_start
  cmp x1, x2
  b.ne loaded_at_wrong_address
  bl cpu_common_setup
  ldr x1, =boot_stack_top
  mov sp, x1
  // Zero BSS (64 bytes a step: its size is a multiple of 4 KiB), then drop any stale
  // cache lines over it and over the boot stack, which the MMU-off code below writes:
  // the MMU comes on later and cacheable reads must see what was written to memory.
  ldr x1, =__bss_start
  ldr x2, =__bss_end
1: cmp x1, x2
  b.hs 2f
  stp xzr, xzr, [x1]
  stp xzr, xzr, [x1, #16]
  stp xzr, xzr, [x1, #32]
  stp xzr, xzr, [x1, #48]
  add x1, x1, #64
  b 1b
2: ldr x0, =__bss_start
  ldr x1, =__bss_end
  bl invalidate_dcache_range
  ldr x0, =boot_stack_bottom
  ldr x1, =boot_stack_top
  bl invalidate_dcache_range
  mov x0, x19
  bl boot_primary                 // never returns
  b park

// x0 = SecondaryBoot* (PSCI context_id): stack_top, mair, tcr, ttbr0 at offsets 0..24.
  .global secondary_entry
secondary_entry:
  msr daifset, #0xf
  mov x19, x0
  bl cpu_common_setup
  ldr x0, [x19, #8]
  ldr x1, [x19, #16]
  ldr x2, [x19, #24]
  bl mmu_switch_on
  ldr x1, [x19, #0]
  mov sp, x1
  mov x0, x19
  bl boot_secondary               // never returns
  b park

// Vectors, FP/SIMD access, counters and the WFE event stream, for every CPU.
cpu_common_setup:
  ldr x1, =el2_vectors
  msr vbar_el2, x1
  ldr x1, =BULKHEAD_CPTR_EL2_VALUE
  msr cptr_el2, x1
  // EL1 counter/timer access allowed; event stream on counter bit 12 (about every
  // 130 us at 62.5 MHz) so WFE-based waits can time out.
  mov x1, #BULKHEAD_CNTHCTL_EL2_VALUE
  msr cnthctl_el2, x1
  msr cntvoff_el2, xzr
  msr tpidr_el2, xzr              // no vCPU on this CPU (yet): exits are not guests'

  isb
  ret

// x0 = MAIR, x1 = TCR, x2 = TTBR0. Caches and MMU on, identity-mapped code continues.
  .global mmu_switch_on
mmu_switch_on:
  msr mair_el2, x0
  msr tcr_el2, x1
  msr ttbr0_el2, x2
  isb
  tlbi alle2
  ic iallu
  dsb nsh
  isb
  ldr x3, =BULKHEAD_SCTLR_EL2_MMU_ON
  msr sctlr_el2, x3
  isb
  ret

// x0 = start, x1 = end: invalidate data cache lines to the point of coherency.
  .global invalidate_dcache_range
invalidate_dcache_range:
  mrs x3, ctr_el0
  ubfx x3, x3, #16, #4            // DminLine: log2(words)
  mov x2, #4
  lsl x2, x2, x3                  // line size in bytes
  sub x3, x2, #1
  bic x0, x0, x3
1: dc ivac, x0
  add x0, x0, x2
  cmp x0, x1
  b.lo 1b
  dsb sy
  ret

// x0 = a function that never returns, x1 = a stack top: the function runs on that stack,
// empty (the boot CPU going back to serving the system when its vCPU stops, from deep in
// that vCPU's exit: core/boot/console_input.cpp).
  .global continue_on_stack
continue_on_stack:
  mov sp, x1
  mov x29, xzr                    // no frame below: backtraces end here
  mov x30, xzr
  br x0

// Without EL2 or at the wrong address nothing else can run: say so on the board's
// default UART (MMU off, so its physical address works) and ask firmware to power off.
entered_below_el2:
  // Any fault from here on parks instead of running off through an unset VBAR_EL1.
  adr x1, el1_park_vectors
  msr vbar_el1, x1
  isb
  adrp x0, msg_not_el2
  add x0, x0, :lo12:msg_not_el2
  b early_fatal
loaded_at_wrong_address:
  adrp x0, msg_wrong_address
  add x0, x0, :lo12:msg_wrong_address
early_fatal:
  ldr x1, =bulkhead_board_uart_base
  ldr x1, [x1]
1: ldrb w2, [x0], #1
  cbz w2, 3f
2: ldr w3, [x1, #0x18]            // UARTFR
  tbnz w3, #5, 2b                 // TXFF
  str w2, [x1]
  b 1b
3: ldr x0, =PSCI_SYSTEM_OFF
  mrs x1, CurrentEL
  ubfx x1, x1, #2, #2
  cmp x1, #2
  b.eq 4f
  hvc #0                          // at EL1 without EL2, QEMU offers PSCI on HVC
  ldr x0, =PSCI_SYSTEM_OFF
4: smc #0
park:
  wfi
  b park

// In .rodata, not .text: tests/cert/binary_check.py decodes every word of .text.
  .section .rodata.entry_messages, "a"
msg_not_el2:
  .asciz "bulkhead: error: entered below EL2; the hypervisor needs EL2 (QEMU: -M virt,virtualization=on)\r\nbulkhead: power-off reason entry\r\n"
msg_wrong_address:
  .asciz "bulkhead: error: image loaded at the wrong address; load it at DRAM base + text_offset\r\nbulkhead: power-off reason entry\r\n"

  .text
  .balign 2048
el1_park_vectors:
  .rept 16
  .balign 0x80
  b park
  .endr
