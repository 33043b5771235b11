// The CRC-32 inner loops of core/lib/crc32.cpp (crc32_chunks.hpp calls them): 64 bytes
// per iteration, 8 CRC32X steps, loads and stores in pairs. The caller checked that the
// CPU has the CRC32 instructions (ID_AA64ISAR0_EL1.CRC32) and aligned the data to 8.
  .arch_extension crc
  .text

// w0 = crc (raw register), x1 = data, x2 = number of 64-byte blocks (> 0). Returns w0.
  .global bulkhead_crc32_blocks
  .type bulkhead_crc32_blocks, %function
bulkhead_crc32_blocks:
1: ldp x3, x4, [x1], #16
  ldp x5, x6, [x1], #16
  ldp x7, x8, [x1], #16
  ldp x9, x10, [x1], #16
  crc32x w0, w0, x3
  crc32x w0, w0, x4
  crc32x w0, w0, x5
  crc32x w0, w0, x6
  crc32x w0, w0, x7
  crc32x w0, w0, x8
  crc32x w0, w0, x9
  crc32x w0, w0, x10
  subs x2, x2, #1
  b.ne 1b
  ret
  .size bulkhead_crc32_blocks, . - bulkhead_crc32_blocks

// One 64-byte block of bulkhead_copy_crc32_blocks: x2 -> x1, into the CRC in w0.
.macro copy_crc32_block
  ldp x4, x5, [x2], #16
  ldp x6, x7, [x2], #16
  ldp x8, x9, [x2], #16
  ldp x10, x11, [x2], #16
  stp x4, x5, [x1], #16
  stp x6, x7, [x1], #16
  stp x8, x9, [x1], #16
  stp x10, x11, [x1], #16
  crc32x w0, w0, x4
  crc32x w0, w0, x5
  crc32x w0, w0, x6
  crc32x w0, w0, x7
  crc32x w0, w0, x8
  crc32x w0, w0, x9
  crc32x w0, w0, x10
  crc32x w0, w0, x11
.endm

// w0 = crc, x1 = destination, x2 = source, x3 = number of 64-byte blocks (> 0): copies
// them and returns the CRC of what was copied. Eight blocks per iteration while eight
// remain (a partition's payload goes through here before its first instruction: 16.25
// instructions per 64 bytes instead of 18), then one at a time.
  .global bulkhead_copy_crc32_blocks
  .type bulkhead_copy_crc32_blocks, %function
bulkhead_copy_crc32_blocks:
  subs x3, x3, #8
  b.lo 2f
1: .rept 8
  copy_crc32_block
  .endr
  subs x3, x3, #8
  b.hs 1b
2: adds x3, x3, #8
  b.eq 4f
3: copy_crc32_block
  subs x3, x3, #1
  b.ne 3b
4: ret
  .size bulkhead_copy_crc32_blocks, . - bulkhead_copy_crc32_blocks
