# Hot loops of several paths in one page, for the wasm translator's regions
# (tests/translate_test.ts runs it with code compiled once it ran a few times,
# so that a region holds both paths of a loop; tests/isa_qemu_test.ts on QEMU).
# Each pass goes through one path (odd passes) or the other (even passes), and
# each path goes back to the loop's start, so a region jumps between them.
# Case 1: the even path's load faults on the last pass (mcause, mepc, mtval
# and the counts must be the access's). Case 2: the odd path rewrites an
# instruction of the even path halfway (then fence.i): the later even passes
# run the new instruction.
#include "test.h"
#include "hot.h"

#define ADDI_A2_1 0x00160613 /* addi a2, a2, 1 */
#define ADDI_A2_3 0x00360613 /* addi a2, a2, 3 */

TEST_BEGIN
  INSTALL_TRAP_HANDLER

  # 1: a0 counts passes, a1 the odd ones, a2 the even ones, a5 sums the even loads.
test_1:
  li TESTNUM, 1
  li s8, NOWHERE
  la s7, trap_epc_1
  ARM_TRAP(5, trap_ret_1)
  li a0, 0
  li a1, 0
  li a2, 0
  li a5, 0
  la a3, data
  li a4, NOWHERE
  sub a4, a4, a3
  li s3, HOT
  j loop_1
  .balign 256
loop_1:
  addi a0, a0, 1
  andi t0, a0, 1
  beqz t0, even_1
  addi a1, a1, 1
  j join_1
even_1:
  addi t4, s3, -1
  seqz t4, t4
  mul t5, t4, a4
  add t3, t5, a3
trap_epc_1:
  ld t6, 0(t3)
trap_ret_1:
  add a5, a5, t6
  addi a2, a2, 1
join_1:
  addi s3, s3, -1
  bnez s3, loop_1
  CHECK_TRAPPED
  CHECK_EQ(a0, HOT)
  CHECK_EQ(a1, HOT / 2)
  CHECK_EQ(a2, HOT / 2)
  CHECK_EQ(a5, HOT / 2 * 0x1234)

  # 2: on pass HOT / 2 + 1 (odd) the odd path rewrites the even path's add.
test_2:
  li TESTNUM, 2
  li a0, 0
  li a1, 0
  li a2, 0
  la a3, patch_2
  li t1, ADDI_A2_3
  li s3, HOT
  j loop_2
  .balign 256
loop_2:
  addi a0, a0, 1
  andi t0, a0, 1
  beqz t0, even_2
  addi a1, a1, 1
  addi t4, a0, -(HOT / 2 + 1)
  bnez t4, join_2
  sw t1, 0(a3)
  fence.i
  j join_2
even_2:
patch_2:
  .word ADDI_A2_1
join_2:
  addi s3, s3, -1
  bnez s3, loop_2
  CHECK_EQ(a0, HOT)
  CHECK_EQ(a1, HOT / 2)
  CHECK_EQ(a2, HOT / 4 + HOT / 4 * 3)
  TEST_END
  PRIV_HANDLERS

  .data
  .balign 8
data:
  .dword 0x1234
