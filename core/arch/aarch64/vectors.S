// EL2 exception vectors: every entry saves the full register frame (ExceptionFrame in
// exception_frame.hpp) and calls dispatch_el2_exception(vector index, frame); on return
// the frame, possibly edited (a guest's registers, its return address), is restored and
// the exception returns. A guest's synchronous exception (the lower-EL AArch64 entry)
// goes to dispatch_guest_synchronous(frame, ESR) instead, which sends its data aborts,
// the exit of every trapped MMIO access, straight to their handler.
#include "core/arch/aarch64/exception_frame.hpp"
#include "core/arch/aarch64/exception_vectors.hpp"

#define FRAME_SIZE BULKHEAD_FRAME_SIZE
// The index the lower-EL AArch64 synchronous entry (the ninth) stands for, as the
// `vector` entries pass theirs.
#define VECTOR_LOWER_AARCH64_SYNCHRONOUS 8

.macro vector kind
  .balign BULKHEAD_VECTOR_ENTRY_SIZE
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp, #0]
  mov x0, #\kind
  b exception_entry
.endm

  .text
  .balign 2048
  .global el2_vectors
el2_vectors:
  vector 0
  vector 1
  vector 2
  vector 3
  vector 4
  vector 5
  vector 6
  vector 7
  // Lower EL, AArch64, synchronous: a guest's trap.
  .balign BULKHEAD_VECTOR_ENTRY_SIZE
  sub sp, sp, #FRAME_SIZE
  stp x0, x1, [sp, #0]
  b guest_synchronous_entry
  vector 9
  vector 10
  vector 11
  vector 12
  vector 13
  vector 14
  vector 15

// The rest of the frame, x0/x1 being saved by the vector. Leaves ESR_EL2 in x1. The slot
// after x30 (ExceptionFrame::x[31]) gets the interrupted stack pointer, or for a guest's
// synchronous exception (guest=1) zero: its trap path reads transfer register 31 (XZR)
// from there.
.macro save_frame guest=0
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
.if \guest
  stp x30, xzr, [sp, #BULKHEAD_FRAME_X30]
.else
  add x1, sp, #FRAME_SIZE
  stp x30, x1, [sp, #BULKHEAD_FRAME_X30]
.endif
  mrs x1, elr_el2
  mrs x2, spsr_el2
  stp x1, x2, [sp, #BULKHEAD_FRAME_ELR]
  mrs x1, esr_el2
  mrs x2, far_el2
  stp x1, x2, [sp, #BULKHEAD_FRAME_ESR]
.endm

.macro restore_frame_and_return
  ldp x1, x2, [sp, #BULKHEAD_FRAME_ELR]
  msr elr_el2, x1
  msr spsr_el2, x2
  ldp x0, x1, [sp, #0]
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
  ldr x30, [sp, #BULKHEAD_FRAME_X30]
  add sp, sp, #FRAME_SIZE
  eret
.endm

// x0 = the vector's index.
exception_entry:
  save_frame
  mov x1, sp
  bl dispatch_el2_exception
// Its own symbol (as guest_synchronous_return), so that exit profiles tell the restore.
exception_return:
  restore_frame_and_return

// A guest's synchronous exception: x1 = ESR_EL2 after save_frame. False from the
// dispatcher: this CPU runs no vCPU, and dispatch_el2_exception reports it.
guest_synchronous_entry:
  save_frame guest=1
  mov x0, sp
  bl dispatch_guest_synchronous
  tbz w0, #0, 1f  // a bool: its low byte is 0 or 1, the rest undefined (AAPCS64)
guest_synchronous_return:
  restore_frame_and_return
1:
  mov x0, #VECTOR_LOWER_AARCH64_SYNCHRONOUS
  mov x1, sp
  bl dispatch_el2_exception
  b guest_synchronous_return

// x0 = function ID, x1..x3 = arguments; returns x0. Firmware calls through SMC/HVC.
  .global firmware_call_smc
firmware_call_smc:
  smc #0
  ret
  .global firmware_call_hvc
firmware_call_hvc:
  hvc #0
  ret
