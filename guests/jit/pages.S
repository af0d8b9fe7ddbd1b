# Two hot loops on two code pages, for hooks with the block translator on
# (tests/translate_test.ts): a pc hook on `hot_a` must see every pass of loop_a
# while loop_b, a page further, keeps running translated; a watchpoint on
# `counter` must see every store loop_b's block makes. Each outer pass runs
# each inner loop INNER times; the sums prove no pass was lost or repeated.
#include "test.h"

#define OUTER 200
#define INNER 100

TEST_BEGIN
  la s2, counter
  li s1, OUTER
  li a0, 0
  li a1, 0
  li a3, 0
  li a5, 0
1:call loop_a
  call loop_b
  addi s1, s1, -1
  bnez s1, 1b
  TEST_CASE(1, a0, OUTER * INNER, nop)
  TEST_CASE(2, a1, OUTER * INNER, nop)
  TEST_CASE(3, t1, OUTER * INNER, ld t1, 0(s2))
  TEST_END

  .balign 4096
  .globl loop_a
loop_a:
  li t3, INNER
2:addi a0, a0, 1
  .globl hot_a
hot_a:
  xor a2, a0, t3
  add a3, a3, a2
  addi t3, t3, -1
  bnez t3, 2b
  ret

  .balign 4096
  .globl loop_b
loop_b:
  li t4, INNER
3:addi a1, a1, 1
  xor a4, a1, t4
  add a5, a5, a4
  sd a1, 0(s2)
  addi t4, t4, -1
  bnez t4, 3b
  ret

  .data
  .balign 8
  .globl counter
counter:
  .dword 0
