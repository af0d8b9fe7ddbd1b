# Zicntr/Zicsr counters read and written from M-mode: rdcycle, rdtime,
# rdinstret (and mcycle/minstret). Rules checked:
# - M-mode reads the unprivileged counters whatever mcounteren says (it
#   only gates S/U-mode access).
# - A CSR read returns the value before the reading instruction retires, so
#   two `csrr minstret` separated by N instructions differ by exactly N+1
#   (the first csrr plus the N). QEMU with -icount shift=0 counts exactly.
# - instret and minstret, cycle and mcycle, time and the CLINT mtime are
#   the same counters.
# - mcycle/minstret are writable with 64-bit values and count on from the
#   written value. The spec says the instruction after a write to instret
#   reads exactly the written value (the write replaces the increment);
#   QEMU 7.2 reads the written value + 1 (it also counts the csrw), so the
#   write cases accept X+k or X+k+1 after k instructions.
#include "test.h"

# Two minstret reads around `code`; the difference must be `n`.
#define TEST_INSTRET(num, n, code...)  \
test_##num:                             \
  li TESTNUM, num;                      \
  csrr a0, minstret;                    \
  code;                                 \
  csrr a1, minstret;                    \
  sub a1, a1, a0;                       \
  CHECK_EQ(a1, n)

# Fail unless lo <= reg - base <= hi (unsigned; base/lo/hi constants).
#define CHECK_NEAR(reg, base, lo, hi)   \
  li t2, base;                          \
  sub reg, reg, t2;                     \
  li t2, lo;                            \
  bltu reg, t2, fail;                   \
  li t2, hi;                            \
  bltu t2, reg, fail

TEST_BEGIN
  .option norvc

  # mcounteren = 0 does not restrict M-mode: these reads must not trap.
test_1:
  li TESTNUM, 1
  csrw mcounteren, zero
  rdcycle a0
  rdtime a1
  rdinstret a2
  # Some instructions have retired since reset (at least the ones above).
  beqz a2, fail

  # Exact instruction counts between two reads: N instructions -> N+1.
  TEST_INSTRET(2, 1)
  TEST_INSTRET(3, 2, nop)
  TEST_INSTRET(4, 6, nop; nop; nop; nop; nop)
  TEST_INSTRET(5, 101, .rept 100; nop; .endr)
  # Compressed instructions count as one instruction each.
  TEST_INSTRET(6, 11, .option push; .option rvc; .rept 10; c.nop; .endr; .option pop)
  # Branches: li (1) + 5 x (addi, bnez) = 11 instructions, +1.
  TEST_INSTRET(7, 12, li t0, 5; 1: addi t0, t0, -1; bnez t0, 1b)
  # la (auipc + addi), a store, a load and a divide: 5 instructions, +1.
  TEST_INSTRET(8, 6, la t0, cnt_buf; sd t0, 0(t0); ld t1, 0(t0); div t1, t1, t0)

  # instret is minstret (csrr + 1), cycle is mcycle, time is mtime.
test_9:
  li TESTNUM, 9
  csrr a0, minstret
  rdinstret a1
  sub a1, a1, a0
  CHECK_EQ(a1, 1)
test_10:
  li TESTNUM, 10
  csrr a0, mcycle
  rdcycle a1
  sub a1, a1, a0
  li t2, 16
  bgeu a1, t2, fail         # same counter: a small non-negative step
test_11:
  li TESTNUM, 11
  li t0, CLINT_MTIME
  ld a0, 0(t0)
  rdtime a1
  ld a2, 0(t0)
  bltu a1, a0, fail         # mtime before <= time <= mtime after
  bltu a2, a1, fail

  # cycle advances while instructions run (10 nops take at least a cycle).
test_12:
  li TESTNUM, 12
  rdcycle a0
  .rept 10
  nop
  .endr
  rdcycle a1
  bgeu a0, a1, fail
  # time advances: poll it (bounded: 1e6 polls is ~0.3 s of QEMU icount
  # time, where mtime ticks every 100 instructions).
test_13:
  li TESTNUM, 13
  rdtime a0
  li a2, 1000000
1:rdtime a1
  bne a1, a0, 2f
  addi a2, a2, -1
  bnez a2, 1b
  j fail
2:bltu a1, a0, fail         # and it moved forward

  # minstret is writable (64 bits) and counts on from the written value:
  # k instructions after the write, a read sees X+k (spec) or X+k+1 (QEMU).
test_14:
  li TESTNUM, 14
  li a0, 1000
  csrw minstret, a0
  csrr a1, minstret
  CHECK_NEAR(a1, 1000, 0, 1)
test_15:
  li TESTNUM, 15
  li a0, 0x123456789abcdef0
  csrw minstret, a0
  nop
  nop
  csrr a1, minstret
  CHECK_NEAR(a1, 0x123456789abcdef0, 2, 3)
  # Wrap-around: -3 + 4 instructions passes through 0.
test_16:
  li TESTNUM, 16
  li a0, -3
  csrw minstret, a0
  nop
  nop
  nop
  nop
  csrr a1, minstret
  CHECK_NEAR(a1, 1, 0, 1)
  # csrwi/csrci forms write too: clear, then the count restarts near 0.
test_17:
  li TESTNUM, 17
  csrwi minstret, 0
  rdinstret a1
  CHECK_NEAR(a1, 0, 0, 1)
  # mcycle is writable; a read right after is the written value plus a few.
test_18:
  li TESTNUM, 18
  li a0, 0xfedcba9876543210
  csrw mcycle, a0
  csrr a1, mcycle
  CHECK_NEAR(a1, 0xfedcba9876543210, 0, 15)
test_19:
  li TESTNUM, 19
  csrwi mcycle, 0
  rdcycle a1
  CHECK_NEAR(a1, 0, 0, 15)
TEST_END

  .data
  .balign 8
cnt_buf:
  .dword 0
