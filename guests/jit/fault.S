# Blocks that fault midway, for the block translator (tests/translate_test.ts
# runs it with every block compiled at its first visit, bare and under the
# hypervisor, translator on and off; tests/isa_qemu_test.ts on QEMU). Each case
# is a hot loop whose body makes one access through t3; the last of HOT passes
# aims it elsewhere: at no device (access fault: mcause, mepc and mtval must be
# the access's, the instructions before it in the block done, those after it
# not), or one byte off (misaligned: done as QEMU 7.2 does, no trap). Case 5 is
# an illegal instruction the last pass falls into.
#include "test.h"
#include "hot.h"

TEST_BEGIN
  INSTALL_TRAP_HANDLER

  # 1: a load access fault on the last pass.
  li s8, NOWHERE
  la s7, trap_epc_1
  ARM_TRAP(5, trap_ret_1)
  li a4, NOWHERE
  HOT_ACCESS(1, ld t6, 0(t3); add a1, a1, t6)
  CHECK_TRAPPED
  CHECK_EQ(a0, HOT)
  CHECK_EQ(a2, HOT)
  CHECK_EQ(a1, (HOT - 1) * 0x1234)

  # 2: a store access fault on the last pass (the data word is left as it was).
  li s8, NOWHERE
  la s7, trap_epc_2
  ARM_TRAP(7, trap_ret_2)
  li a4, NOWHERE
  HOT_ACCESS(2, sd a0, 0(t3))
  CHECK_TRAPPED
  CHECK_EQ(a2, HOT)
  ld t6, data
  CHECK_EQ(t6, HOT - 1)

  # 3: the last pass loads one byte off: misaligned, done without a trap.
  la t0, data
  li t1, 0x1234
  sd t1, 0(t0)
  la a4, data + 1
  HOT_ACCESS(3, ld t6, 0(t3); add a1, a1, t6)
  CHECK_EQ(a1, (HOT - 1) * 0x1234 + 0x12)

  # 4: the last pass stores one byte off: misaligned, done without a trap.
  la a4, data + 1
  HOT_ACCESS(4, sd a0, 0(t3))
  ld t6, data
  CHECK_EQ(t6, (HOT << 8) | ((HOT - 1) & 0xff))

  # 5: the last pass falls into an illegal instruction (mtval: its 16 bits, 0).
test_5:
  li TESTNUM, 5
  li s8, 0
  la s7, trap_epc_5
  ARM_TRAP(2, trap_ret_5)
  li a0, 0
  li a2, 0
  li s3, HOT
1:addi a0, a0, 1
  addi t4, s3, -1
  bnez t4, trap_ret_5
trap_epc_5:
  .half 0
trap_ret_5:
  addi a2, a2, 1
  addi s3, s3, -1
  bnez s3, 1b
  CHECK_TRAPPED
  CHECK_EQ(a0, HOT)
  CHECK_EQ(a2, HOT)
  TEST_END
  PRIV_HANDLERS

  .data
  .balign 8
data:
  .dword 0x1234
  .dword 0
