# Self-modifying code in hot loops, for the block translator (tests/translate_test.ts
# runs it with every block compiled at its first visit, bare and under the
# hypervisor, translator on and off; tests/isa_qemu_test.ts on QEMU). Each loop
# runs HOT times before and after its code is rewritten, so the old code is in
# blocks when the store comes. New instructions are built from assembled
# templates, not written by hand.
#include "test.h"

#define HOT 300

TEST_BEGIN
  .option norvc

  # 1: a hot function rewritten with sw and fence.i runs the new code.
  TEST_CASE(1, s2, HOT, la a1, smc_a; call run_hot)
  TEST_CASE(2, s2, 2 * HOT, la t0, smc_a; lw t1, tmpl_li2; sw t1, 0(t0); fence.i; la a1, smc_a; call run_hot)

  # 3: the same without fence.i. The spec leaves it open; rvisor (both tiers) and
  # QEMU 7.2 both run the new code at the next call (the store drops the old
  # translation of that page).
  TEST_CASE(3, s2, HOT, la a1, smc_b; call run_hot)
  TEST_CASE(4, s2, 3 * HOT, la t0, smc_b; lw t1, tmpl_li3; sw t1, 0(t0); la a1, smc_b; call run_hot)

  # 5: a hot loop rewrites an instruction later in its own block on every pass,
  # then fence.i: pass k adds k, so a stale copy shows in the sum.
test_5:
  li TESTNUM, 5
  li a0, 0
  li s3, HOT
  lw s1, tmpl_add0
  la s4, 1f
2:slli t1, s3, 20
  or t1, t1, s1
  sw t1, 0(s4)
  fence.i
1:addi a0, a0, 0              # becomes addi a0, a0, s3
  addi s3, s3, -1
  bnez s3, 2b
  li t2, HOT * (HOT + 1) / 2
  bne a0, t2, fail

  # 6: the same without fence.i. rvisor runs the new instruction (with the
  # translator on and off alike: the translate test compares a0); QEMU 7.2 may
  # run the old copy of its current block (no precise SMC on RISC-V), so the
  # result is not checked here.
test_6:
  li TESTNUM, 6
  li a0, 0
  li s3, HOT
  la s4, 1f
2:slli t1, s3, 20
  or t1, t1, s1
  sw t1, 0(s4)
1:addi a0, a0, 0
  addi s3, s3, -1
  bnez s3, 2b
  mv s5, a0
  TEST_END

# Calls the function at a1 HOT times; s2 = the sum of its results.
run_hot:
  mv s6, ra
  li s2, 0
  li s3, HOT
1:jalr a1
  add s2, s2, a0
  addi s3, s3, -1
  bnez s3, 1b
  mv ra, s6
  ret

  .balign 4
smc_a:
  li a0, 1
  ret
smc_b:
  li a0, 1
  ret

  .section .rodata
  .balign 4
tmpl_li2: li a0, 2
tmpl_li3: li a0, 3
tmpl_add0: addi a0, a0, 0
