// FP/SIMD and register-preservation helpers for the fp test. The C++ code is built with
// -mgeneral-regs-only, so nothing between fp_load_all and fp_store_all touches v0-v31,
// FPCR or FPSR except the hypervisor, which is what the test watches.
  .text

// x0 = 512 bytes, 16-byte aligned: v0..v31 in order.
  .global fp_load_all
fp_load_all:
  ldp q0, q1, [x0, #0]
  ldp q2, q3, [x0, #32]
  ldp q4, q5, [x0, #64]
  ldp q6, q7, [x0, #96]
  ldp q8, q9, [x0, #128]
  ldp q10, q11, [x0, #160]
  ldp q12, q13, [x0, #192]
  ldp q14, q15, [x0, #224]
  ldp q16, q17, [x0, #256]
  ldp q18, q19, [x0, #288]
  ldp q20, q21, [x0, #320]
  ldp q22, q23, [x0, #352]
  ldp q24, q25, [x0, #384]
  ldp q26, q27, [x0, #416]
  ldp q28, q29, [x0, #448]
  ldp q30, q31, [x0, #480]
  ret

  .global fp_store_all
fp_store_all:
  stp q0, q1, [x0, #0]
  stp q2, q3, [x0, #32]
  stp q4, q5, [x0, #64]
  stp q6, q7, [x0, #96]
  stp q8, q9, [x0, #128]
  stp q10, q11, [x0, #160]
  stp q12, q13, [x0, #192]
  stp q14, q15, [x0, #224]
  stp q16, q17, [x0, #256]
  stp q18, q19, [x0, #288]
  stp q20, q21, [x0, #320]
  stp q22, q23, [x0, #352]
  stp q24, q25, [x0, #384]
  stp q26, q27, [x0, #416]
  stp q28, q29, [x0, #448]
  stp q30, q31, [x0, #480]
  ret

  .global fp_write_control
fp_write_control:  // x0 = FPCR, x1 = FPSR
  msr fpcr, x0
  msr fpsr, x1
  isb
  ret

  .global fp_read_fpcr
fp_read_fpcr:
  mrs x0, fpcr
  ret

  .global fp_read_fpsr
fp_read_fpsr:
  mrs x0, fpsr
  ret

// x0 = SMCCC function ID, x1 = seed. Sets x4..x30 to seed + n, makes the HVC, and
// returns a mask with bit n set for each of x4..x30 that changed (SMCCC 1.1: x4-x17 are
// preserved across a call; x18-x30 are the caller's, which no hypervisor may touch).
  .global hvc_preserves_registers
hvc_preserves_registers:
  stp x29, x30, [sp, #-112]!
  stp x19, x20, [sp, #16]
  stp x21, x22, [sp, #32]
  stp x23, x24, [sp, #48]
  stp x25, x26, [sp, #64]
  stp x27, x28, [sp, #80]
  str x1, [sp, #96]
  .irp n, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
  add x\n, x1, #\n
  .endr
  hvc #0
  ldr x2, [sp, #96]
  mov x1, #0
  .irp n, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
  add x3, x2, #\n
  cmp x\n, x3
  b.eq 1f
  orr x1, x1, #(1 << \n)
1:
  .endr
  mov x0, x1
  ldp x19, x20, [sp, #16]
  ldp x21, x22, [sp, #32]
  ldp x23, x24, [sp, #48]
  ldp x25, x26, [sp, #64]
  ldp x27, x28, [sp, #80]
  ldp x29, x30, [sp], #112
  ret
