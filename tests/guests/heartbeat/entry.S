// Bare-metal guest entry at EL1, MMU off, x0 = guest DTB (unused here).
  .section .text.entry, "ax"
  .global _start
_start:
  ldr x1, =stack_top
  mov sp, x1
  ldr x1, =__bss_start
  ldr x2, =__bss_end
1: cmp x1, x2
  b.hs 2f
  str xzr, [x1], #8
  b 1b
2: bl heartbeat_main
3: wfi
  b 3b

// x0 = function ID; PSCI through HVC, as the guest DT says.
  .global psci_hvc
psci_hvc:
  hvc #0
  ret
