# Atomics in the middle of translated blocks (tests/translate_test.ts runs it
# with every block compiled at its first visit, bare and under the hypervisor,
# translator on and off; tests/isa_qemu_test.ts on QEMU). Cases 1-3 are hot
# loops whose bodies mix ALU instructions with every AMO, .w and .d, and with
# LR/SC (a retry loop, and an SC after the reservation is gone, which must
# fail). Cases 4-6 are hot loops around one atomic through t3 whose last pass
# aims it elsewhere: an AMO misaligned or at no device, an LR misaligned:
# mcause, mepc and mtval must be the atomic's, the instructions before it in
# the block done, those after it not, and memory untouched. An AMO's cause is
# the one the same AMO gets run once outside any loop (PROBE_CAUSE): QEMU 7.2
# makes an AMO on one hart a load and a store, so its faults are the load's
# (4, 5), where rvisor raises the store/AMO ones (6, 7) as QEMU does with
# several harts.
#include "test.h"
#include "hot.h"

/* s6 = the mcause of the 4-byte `insn` run once, then the test handler
 * expects it (ARM_TRAP without its cause). */
#define PROBE_CAUSE(insn...)            \
  li s6, 0;                             \
  la t0, probe_handler;                 \
  csrw mtvec, t0;                       \
  insn;                                 \
  INSTALL_TRAP_HANDLER

TEST_BEGIN
  INSTALL_TRAP_HANDLER

  # 1: every AMO on words, between ALU instructions of one block.
test_1:
  li TESTNUM, 1
  la a3, words
  li a0, 0
  li a1, 0
  li s3, HOT
1:addi a0, a0, 1
  amoadd.w t6, a0, (a3)           # sum of 1..HOT; t6 the sum before
  add a1, a1, t6
  addi a5, a3, 4
  amoxor.w zero, a0, (a5)        # xor of 1..HOT (HOT % 4 == 0: HOT)
  andi t0, a0, 31
  li t1, 1
  sll t1, t1, t0
  addi a5, a3, 8
  amoor.w zero, t1, (a5)         # every bit: -1
  neg t0, a0
  addi a5, a3, 12
  amomin.w zero, t0, (a5)       # -HOT
  addi a5, a3, 16
  amomax.w zero, a0, (a5)       # HOT
  slli t0, a0, 24
  addi a5, a3, 20
  amomaxu.w zero, t0, (a5)      # HOT << 24, unsigned above the rest
  addi a5, a3, 24
  amominu.w zero, t0, (a5)      # 1 << 24
  addi a5, a3, 28
  amoswap.w t6, a0, (a5)        # the previous pass's a0
  addi t0, a0, -1
  bne t6, t0, fail
  addi s3, s3, -1
  bnez s3, 1b
  lw t0, 0(a3)
  CHECK_EQ(t0, HOT * (HOT + 1) / 2)
  CHECK_EQ(a1, (HOT - 1) * HOT * (HOT + 1) / 6)
  lw t0, 4(a3)
  CHECK_EQ(t0, HOT)
  lw t0, 8(a3)
  CHECK_EQ(t0, -1)
  lw t0, 12(a3)
  CHECK_EQ(t0, -HOT)
  lw t0, 16(a3)
  CHECK_EQ(t0, HOT)
  lw t0, 20(a3)
  CHECK_EQ(t0, (HOT << 24) - (1 << 32))
  lw t0, 24(a3)
  CHECK_EQ(t0, 1 << 24)

  # 2: every AMO on doublewords.
test_2:
  li TESTNUM, 2
  la a3, dwords
  li a0, 0
  li s3, HOT
1:addi a0, a0, 1
  slli t0, a0, 32
  amoadd.d zero, t0, (a3)         # sum of 1..HOT in the high word
  addi a5, a3, 8
  amoxor.d zero, t0, (a5)        # HOT << 32
  li t1, -1
  andi t0, a0, 63
  li t2, 1
  sll t2, t2, t0
  xor t2, t2, t1
  addi a5, a3, 16
  amoand.d zero, t2, (a5)       # every bit cleared: 0
  neg t0, a0
  slli t0, t0, 32
  addi a5, a3, 24
  amomin.d zero, t0, (a5)       # -HOT << 32
  addi a5, a3, 32
  amomaxu.d t6, t0, (a5)        # -1 << 32 (the first pass's)
  addi a5, a3, 40
  amoswap.d t6, t0, (a5)
  addi s3, s3, -1
  bnez s3, 1b
  ld t0, 0(a3)
  li t1, (HOT * (HOT + 1) / 2) << 32
  bne t0, t1, fail
  ld t0, 8(a3)
  li t1, HOT << 32
  bne t0, t1, fail
  ld t0, 16(a3)
  CHECK_EQ(t0, 0)
  ld t0, 24(a3)
  li t1, -HOT << 32
  bne t0, t1, fail
  ld t0, 32(a3)
  li t1, -1 << 32
  bne t0, t1, fail
  ld t0, 40(a3)
  li t1, -HOT << 32
  bne t0, t1, fail
  ld t0, 48(a3)                   # never written
  CHECK_EQ(t0, 0)

  # 3: an LR/SC increment loop, and an SC without a reservation (it fails, stores nothing).
test_3:
  li TESTNUM, 3
  la a3, dwords + 48
  li a0, 0
  li a2, 0
  li s3, HOT
1:addi a0, a0, 1
2:lr.d t6, (a3)
  addi t6, t6, 1
  sc.d t5, t6, (a3)
  bnez t5, 2b
  sc.d t5, a0, (a3)               # the successful SC gave up the reservation
  add a2, a2, t5
  addi a5, a3, 8
3:lr.w t6, (a5)
  addi t6, t6, -1
  sc.w t5, t6, (a5)
  bnez t5, 3b
  addi s3, s3, -1
  bnez s3, 1b
  ld t0, 0(a3)
  CHECK_EQ(t0, HOT)
  lw t0, 8(a3)
  CHECK_EQ(t0, -HOT)
  CHECK_EQ(a2, HOT)

  # 4: an amoadd.w two bytes off on the last pass: misaligned, nothing written.
  la t3, data + 2
  PROBE_CAUSE(amoadd.w t6, a0, (t3))
  la s8, data + 2
  la s7, trap_epc_4
  la s9, trap_ret_4
  li s5, 1
  la a4, data + 2
  HOT_ACCESS(4, amoadd.w t6, a0, (t3))
  CHECK_TRAPPED
  CHECK_EQ(a0, HOT)
  CHECK_EQ(a2, HOT)
  lw t0, data
  CHECK_EQ(t0, HOT * (HOT - 1) / 2)
  lw t0, data + 4
  CHECK_EQ(t0, 0)

  # 5: an amoswap.d at no device on the last pass: an access fault.
  li t3, NOWHERE
  PROBE_CAUSE(amoswap.d t6, a0, (t3))
  li s8, NOWHERE
  la s7, trap_epc_5
  la s9, trap_ret_5
  li s5, 1
  li a4, NOWHERE
  HOT_ACCESS(5, amoswap.d t6, a0, (t3))
  CHECK_TRAPPED
  CHECK_EQ(a2, HOT)
  ld t0, data
  CHECK_EQ(t0, HOT - 1)

  # 6: an lr.d four bytes off on the last pass: load misaligned.
  la s8, data + 4
  la s7, trap_epc_6
  ARM_TRAP(4, trap_ret_6)
  la a4, data + 4
  HOT_ACCESS(6, lr.d t6, (t3); sc.d t6, a0, (t3))
  CHECK_TRAPPED
  CHECK_EQ(a2, HOT)
  ld t0, data
  CHECK_EQ(t0, HOT - 1)
  TEST_END
  PRIV_HANDLERS

  ALIGN4
probe_handler:
  csrr s6, mcause
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret

  .data
  .balign 8
data:
  .dword 0
words:
  .word 0, 0, 0, 0, 0, 0, 0x7fffffff, 0
dwords:
  .dword 0, 0, -1, 0, 0, 0, 0, 0
