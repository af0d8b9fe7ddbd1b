# The smallest ISA program: arithmetic, a branch, a load and a store.
#include "test.h"

TEST_BEGIN
  TEST_RR(1, add, 3, 1, 2)
  TEST_RR(2, sub, -1, 1, 2)
  TEST_RI(3, addi, 0x800, 0x7ff, 1)
  TEST_CASE(4, t0, 0x12345678, la t1, word; lw t0, 0(t1))
  TEST_CASE(5, t0, 7, la t1, word; li t2, 7; sw t2, 4(t1); lw t0, 4(t1))
TEST_END

  .data
word: .word 0x12345678, 0
