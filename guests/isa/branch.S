# RV64I control transfer: conditional branches (taken / not taken, forward
# and backward, signed and unsigned extremes), jal and jalr (link value,
# target = (rs1 + imm) & ~1, rd == rs1).
#include "test.h"

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN
  # Uncompressed encodings only (pc + 4 links): RVC is in compressed.S.
  .option norvc

  # beq/bne compare all 64 bits: values equal in the low word only differ.
  TEST_BR_TAKEN(1, beq, 0, 0)
  TEST_BR_TAKEN(2, beq, -1, -1)
  TEST_BR_NOT_TAKEN(3, beq, 1, 0)
  TEST_BR_NOT_TAKEN(4, beq, MIN, 0)
  TEST_BR_NOT_TAKEN(5, beq, 0x100000000, 0)
  TEST_BR_TAKEN(6, bne, 0x100000000, 0)
  TEST_BR_TAKEN(7, bne, MIN, MAX)
  TEST_BR_NOT_TAKEN(8, bne, -1, -1)
  TEST_BR_NOT_TAKEN(9, bne, 0, 0)

  # blt/bge are signed; equality goes to bge.
  TEST_BR_TAKEN(10, blt, -1, 0)
  TEST_BR_TAKEN(11, blt, MIN, MAX)
  TEST_BR_TAKEN(12, blt, MIN, -1)
  TEST_BR_NOT_TAKEN(13, blt, 0, -1)
  TEST_BR_NOT_TAKEN(14, blt, MAX, MIN)
  TEST_BR_NOT_TAKEN(15, blt, 7, 7)
  TEST_BR_NOT_TAKEN(16, blt, 0x80000000, 1)
  TEST_BR_TAKEN(17, bge, 7, 7)
  TEST_BR_TAKEN(18, bge, MAX, MIN)
  TEST_BR_TAKEN(19, bge, 0, -1)
  TEST_BR_TAKEN(20, bge, 0x80000000, 1)
  TEST_BR_NOT_TAKEN(21, bge, MIN, MAX)
  TEST_BR_NOT_TAKEN(22, bge, -1, 0)

  # bltu/bgeu are unsigned: -1 is the largest value, MIN > MAX.
  TEST_BR_TAKEN(23, bltu, 0, -1)
  TEST_BR_TAKEN(24, bltu, MAX, MIN)
  TEST_BR_TAKEN(25, bltu, 0xffffffff, 0x100000000)
  TEST_BR_NOT_TAKEN(26, bltu, -1, 0)
  TEST_BR_NOT_TAKEN(27, bltu, MIN, MAX)
  TEST_BR_NOT_TAKEN(28, bltu, 5, 5)
  TEST_BR_TAKEN(29, bgeu, -1, 0)
  TEST_BR_TAKEN(30, bgeu, 5, 5)
  TEST_BR_TAKEN(31, bgeu, MIN, MAX)
  TEST_BR_NOT_TAKEN(32, bgeu, 0, -1)
  TEST_BR_NOT_TAKEN(33, bgeu, 0xffffffff, 0x100000000)

  # Backward branches: the offset is negative (sign-extended B immediate).
test_34:
  li TESTNUM, 34
  li s0, 3
  li s2, 0
1:addi s2, s2, 1
  addi s0, s0, -1
  bnez s0, 1b              # loops 3 times
  CHECK_EQ(s2, 3)
test_35:
  li TESTNUM, 35
  j 2f
1:j 3f                     # reached only through the backward bltu below
2:li s0, -2
  li s1, -1
  bltu s0, s1, 1b
  j fail
3:

  # jal: rd = address of the next instruction; jumps forward and backward.
test_36:
  li TESTNUM, 36
  jal s2, 1f
2:j fail
1:lla s0, 2b
  bne s2, s0, fail
test_37:
  li TESTNUM, 37
  j 2f
1:j 3f                     # target of the backward jal
2:jal s2, 1b
4:j fail
3:lla s0, 4b
  bne s2, s0, fail
  # jal x0 (j) links nothing: x0 stays 0.
test_38:
  li TESTNUM, 38
  jal x0, 1f
  j fail
1:bnez x0, fail

  # jalr: target = rs1 + imm, rd = pc + 4.
test_39:
  li TESTNUM, 39
  lla s0, 1f
  jalr s2, 0(s0)
2:j fail
1:lla s1, 2b
  bne s2, s1, fail
test_40:
  li TESTNUM, 40
  lla s0, 1f
  addi s0, s0, -2000       # positive immediate
  jalr s2, 2000(s0)
2:j fail
1:lla s1, 2b
  bne s2, s1, fail
test_41:
  li TESTNUM, 41
  lla s0, 1f
  addi s0, s0, 2047        # negative immediate
  jalr s2, -2047(s0)
  j fail
1:
  # jalr clears bit 0 of rs1 + imm (both when rs1 and when imm is odd).
test_42:
  li TESTNUM, 42
  lla s0, 1f
  addi s0, s0, 1
  jalr s2, 0(s0)
  j fail
  j fail
1:
test_43:
  li TESTNUM, 43
  lla s0, 1f
  jalr s2, 1(s0)
  j fail
  j fail
1:
test_44:
  li TESTNUM, 44
  lla s0, 1f
  addi s0, s0, 2
  jalr s2, -1(s0)          # s0 + 1 -> bit 0 cleared -> 1f
  j fail
  j fail
1:
  # rd == rs1: the target uses the old rs1, then rd gets the link.
test_45:
  li TESTNUM, 45
  lla s0, 1f
  jalr s0, 0(s0)
2:j fail
1:lla s1, 2b
  bne s0, s1, fail
test_46:
  li TESTNUM, 46
  lla s0, 1f
  addi s0, s0, -8
  jalr s0, 8(s0)
2:j fail
1:lla s1, 2b
  bne s0, s1, fail
  # jalr x0 (ret/jr) writes nothing; jalr with rd = ra as a call/return pair.
test_47:
  li TESTNUM, 47
  lla s0, 1f
  jalr x0, 0(s0)
  j fail
1:bnez x0, fail
test_48:
  li TESTNUM, 48
  li s2, 0
  call 1f                  # auipc ra + jalr ra
  CHECK_EQ(s2, 5)
  j 2f
1:li s2, 5
  ret
2:
  # Branches to the next instruction (offset 4) and jal to itself + 4.
  TEST_CASE(49, s2, 1, li s2, 0; beq zero, zero, 1f; 1: addi s2, s2, 1)
  TEST_CASE(50, s2, 0, 1: jal s2, 2f; 2: lla s0, 1b; addi s0, s0, 4; sub s2, s2, s0)
TEST_END
