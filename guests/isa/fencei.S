# Zifencei: self-modifying code. After a store to instruction memory and a
# fence.i on the same hart, instruction fetch must see the new bytes
# (unprivileged spec, "Zifencei" chapter). Each target is executed before
# it is overwritten, so an emulator that keeps a stale decoded/translated
# copy (decode cache, translated block) fails here. The new instructions are
# copied from assembled templates, so no encoding is written by hand.
# Not tested: what fetch sees WITHOUT fence.i (the spec leaves it open).
#include "test.h"

TEST_BEGIN
  .option norvc

  # A function runs, is rewritten with sw, fence.i, and runs the new code.
  TEST_CASE(1, a0, 1, li a0, 0; call smc_a)
  TEST_CASE(2, a0, 2, la t0, smc_a; lw t1, tmpl_li2; sw t1, 0(t0); fence.i; li a0, 0; call smc_a)
  # Rewriting an already rewritten instruction again.
  TEST_CASE(3, a0, 3, la t0, smc_a; lw t1, tmpl_li3; sw t1, 0(t0); fence.i; li a0, 0; call smc_a)

  # Hot code: run a function 1000 times (so that any JIT/trace cache has
  # picked it up), then rewrite it.
test_4:
  li TESTNUM, 4
  li s2, 0
  li s3, 1000
1:call smc_b
  add s2, s2, a0
  addi s3, s3, -1
  bnez s3, 1b
  CHECK_EQ(s2, 1000)
  TEST_CASE(5, a0, 2, la t0, smc_b; lw t1, tmpl_li2; sw t1, 0(t0); fence.i; li a0, 0; call smc_b)

  # Code that never ran before the rewrite.
  TEST_CASE(6, a0, 3, la t0, smc_c; lw t1, tmpl_li3; sw t1, 0(t0); fence.i; li a0, 0; call smc_c)

  # Rewriting an instruction later in the same straight-line block: each
  # loop pass stores a new `li a0, k` at label 1 (pass 1: 1, pass 2: 2),
  # so the second pass runs a block whose old copy has `li a0, 1`.
test_7:
  li TESTNUM, 7
  li s2, 0
  la s3, tmpl_li1
  li s4, 2
2:lw t1, 0(s3)
  la t0, 1f
  sw t1, 0(t0)
  fence.i
1:li a0, 7                 # replaced before it first runs
  li t0, 10
  mul s2, s2, t0
  add s2, s2, a0
  addi s3, s3, 4
  addi s4, s4, -1
  bnez s4, 2b
  CHECK_EQ(s2, 12)

  # Instruction length changes: one 32-bit instruction becomes two 16-bit
  # ones (c.li a0, 5; c.addi a0, 1), then a 32-bit one again.
  TEST_CASE(8, a0, 1, li a0, 0; call smc_d)
  TEST_CASE(9, a0, 6, la t0, smc_d; lw t1, tmpl_c2; sw t1, 0(t0); fence.i; li a0, 0; call smc_d)
  TEST_CASE(10, a0, 3, la t0, smc_d; lw t1, tmpl_li3; sw t1, 0(t0); fence.i; li a0, 0; call smc_d)

  # A partial (1-byte) write into an instruction: byte 3 of `addi a0, zero,
  # 0x10` is imm[11:4]; setting it to 0x02 makes the immediate 0x20.
  TEST_CASE(11, a0, 0x10, li a0, 0; call smc_e)
  TEST_CASE(12, a0, 0x20, la t0, smc_e; li t1, 0x02; sb t1, 3(t0); fence.i; li a0, 0; call smc_e)
  # A 2-byte write replaces a compressed instruction (c.li a0, 1 -> c.li a0, 5).
  TEST_CASE(13, a0, 1, li a0, 0; call smc_f)
  TEST_CASE(14, a0, 5, la t0, smc_f; lhu t1, tmpl_c2; sh t1, 0(t0); fence.i; li a0, 0; call smc_f)
  # An AMO is a store too: amoswap.w writes the new instruction.
  TEST_CASE(15, a0, 2, li a0, 0; call smc_g)
  TEST_CASE(16, a0, 3, la t0, smc_g; lw t1, tmpl_li3; amoswap.w t1, t1, (t0); fence.i; li a0, 0; call smc_g)
  # amoswap returned the old instruction word (li a0, 2).
  TEST_CASE(17, t1, 0, lw t0, tmpl_li2; sub t1, t1, t0)
  TEST_END

  # Targets: each is `li a0, k` (or compressed) followed by ret.
  .balign 4
smc_a:
  li a0, 1
  ret
smc_b:
  li a0, 1
  ret
smc_c:
  li a0, 1
  ret
smc_d:
  li a0, 1
  ret
smc_e:
  li a0, 0x10
  ret
smc_f:
  .option push
  .option rvc
  c.li a0, 1
  c.nop
  .option pop
  ret
smc_g:
  li a0, 2
  ret

  # Templates (data, never executed in place).
  .section .rodata
  .balign 4
tmpl_li1:
  li a0, 1
tmpl_li2:
  li a0, 2
tmpl_li3:
  li a0, 3
tmpl_c2:
  .option push
  .option rvc
  c.li a0, 5
  c.addi a0, 1
  .option pop
