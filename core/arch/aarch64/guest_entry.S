// First entry into a vCPU: x0 = guest entry point, x1 = the guest's x0 (DTB or PSCI
// context_id), x2 = this CPU's EL2 stack top. EL1h with DAIF masked and the MMU off,
// every other general register zero (the Linux boot protocol), FP/SIMD zero. Never returns: later
// traps come in through the vectors on the fresh stack.
#include "core/arch/aarch64/psr.hpp"

  .text
  .global guest_first_entry
guest_first_entry:
  mov sp, x2
  msr elr_el2, x0
  mov x3, #BULKHEAD_SPSR_EL1H_MASKED
  msr spsr_el2, x3
  mov x0, x1
  mov x1, xzr
  mov x2, xzr
  mov x3, xzr
  mov x4, xzr
  mov x5, xzr
  mov x6, xzr
  mov x7, xzr
  mov x8, xzr
  mov x9, xzr
  mov x10, xzr
  mov x11, xzr
  mov x12, xzr
  mov x13, xzr
  mov x14, xzr
  mov x15, xzr
  mov x16, xzr
  mov x17, xzr
  mov x18, xzr
  mov x19, xzr
  mov x20, xzr
  mov x21, xzr
  mov x22, xzr
  mov x23, xzr
  mov x24, xzr
  mov x25, xzr
  mov x26, xzr
  mov x27, xzr
  mov x28, xzr
  mov x29, xzr
  mov x30, xzr
  // FP/SIMD as at reset too: nothing of an earlier run of this CPU survives.
  msr fpcr, xzr
  msr fpsr, xzr
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  movi v\n\().2d, #0
  .endr
  isb
  eret
