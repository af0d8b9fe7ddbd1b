# Misaligned loads and stores in a hot loop, for the block translator
# (tests/translate_test.ts runs it bare and under the hypervisor, translator on
# and off; tests/isa_qemu_test.ts on QEMU). Every pass stores a new value with
# sd, sw and sh at odd offsets within a page and reads it back with every load
# width (overlapping bytes too: a misaligned lw inside the sd's bytes), then
# does the same across a page boundary. RISC-V allows these without a trap, as
# QEMU 7.2 makes them: wasm blocks make the ones within a page themselves,
# accesses crossing a page leave the block.
#include "test.h"

#define HOT 1000

TEST_BEGIN
test_1:
  li TESTNUM, 1
  la a3, buf
  la a4, page1
  li a0, 0x0123456789abcdef
  li s3, HOT
1:
  # Within a page: bytes 1..8 hold a0.
  mv a5, a0
  sd a0, 1(a3)
  ld t0, 1(a3)
  bne t0, a0, fail
  lw t1, 3(a3)              # a0's bytes 2..5
  srai t2, a0, 16
  sext.w t2, t2
  bne t1, t2, fail
  lhu t1, 2(a3)             # a0's bytes 1..2
  srli t2, a0, 8
  slli t2, t2, 48
  srli t2, t2, 48
  bne t1, t2, fail
  sw a0, 13(a3)
  lwu t1, 13(a3)
  slli t2, a0, 32
  srli t2, t2, 32
  bne t1, t2, fail
  sh a0, 19(a3)
  lh t1, 19(a3)
  slli t2, a0, 48
  srai t2, t2, 48
  bne t1, t2, fail
  # Across the page boundary at a4: bytes -3..4 hold a0.
  sd a0, -3(a4)
  ld t0, -3(a4)
  bne t0, a0, fail
  lw t1, -2(a4)             # a0's bytes 1..4
  srai t2, a0, 8
  sext.w t2, t2
  bne t1, t2, fail
  # The next value: xorshift64.
  slli t2, a0, 13
  xor a0, a0, t2
  srli t2, a0, 7
  xor a0, a0, t2
  slli t2, a0, 17
  xor a0, a0, t2
  addi s3, s3, -1
  bnez s3, 1b
  # The last pass's sd within the page, read back with aligned loads.
  li TESTNUM, 2
  ld t0, 0(a3)              # byte 0, then the value's bytes 0..6
  ld t1, 8(a3)              # the value's byte 7, then the rest
  srli t0, t0, 8
  slli t1, t1, 56
  or t0, t0, t1
  bne t0, a5, fail
  TEST_END

  .data
  .balign 4096
page0:
  .space 4096 - 64
buf:
  .space 64
page1:
  .space 64
