# A extension (RV64A), single hart: LR/SC and the AMOs in .w and .d forms.
# Rules (unprivileged spec, "A" chapter): an AMO returns the old memory value
# in rd (sign-extended for .w) and stores op(old, rs2); .w forms use the low
# 32 bits of rs2 and compare 32-bit values (amomin.w is signed on 32 bits).
# LR loads (sign-extended for .w) and registers a reservation; SC writes 0 to
# rd and stores on success, writes non-zero and does NOT store on failure.
# An SC must fail when there is no reservation: at reset none exists, and
# every SC (successful or not) invalidates the reservation, so an SC that
# follows another SC without an LR in between must fail.
# Not tested (implementation-defined): SC after an intervening regular store
# by the same hart, SC to another address in the same reservation set, SC
# after an LR of another size, and misaligned AMOs (they trap on QEMU).
#include "test.h"

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN
  .option norvc

  # No LR has been executed since reset: SC must fail and not store.
test_1:
  li TESTNUM, 1
  la s0, amo_buf
  sd zero, 0(s0)
  li s1, 0x1234
  sc.w s2, s1, (s0)
  beqz s2, fail
  ld s3, 0(s0)
  bnez s3, fail
test_2:
  li TESTNUM, 2
  li s1, 0x1234
  sc.d s2, s1, (s0)
  beqz s2, fail
  ld s3, 0(s0)
  bnez s3, fail

  # lr.w sign-extends; sc.w after it succeeds (rd = 0) and stores 32 bits.
test_3:
  li TESTNUM, 3
  la s0, amo_buf
  li s1, 0x5a5a5a5a80000000
  sd s1, 0(s0)
  lr.w s2, (s0)
  CHECK_EQ(s2, 0xffffffff80000000)
  li s1, 0x1111111122222222
  sc.w s2, s1, (s0)
  bnez s2, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x5a5a5a5a22222222)
  # The reservation was consumed by the SC: a second SC fails, no store.
test_4:
  li TESTNUM, 4
  li s1, 0x33333333
  sc.w s2, s1, (s0)
  beqz s2, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x5a5a5a5a22222222)

  # lr.d/sc.d: same rules on 64 bits.
test_5:
  li TESTNUM, 5
  la s0, amo_buf
  li s1, MIN
  sd s1, 0(s0)
  lr.d s2, (s0)
  CHECK_EQ(s2, MIN)
  li s1, 0x0123456789abcdef
  sc.d s2, s1, (s0)
  bnez s2, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x0123456789abcdef)
test_6:
  li TESTNUM, 6
  li s1, 0x42
  sc.d s2, s1, (s0)
  beqz s2, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x0123456789abcdef)
  # A failed SC also invalidates: LR; SC (ok); SC (fails); SC (fails).
test_7:
  li TESTNUM, 7
  lr.d s2, (s0)
  sc.d s2, s2, (s0)
  bnez s2, fail
  sc.d s2, zero, (s0)
  beqz s2, fail
  sc.d s2, zero, (s0)
  beqz s2, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x0123456789abcdef)

  # The canonical LR/SC retry loop (a constrained loop: must complete).
test_8:
  li TESTNUM, 8
  la s0, amo_buf
  li s1, 41
  sd s1, 0(s0)
1:lr.d s2, (s0)
  addi s2, s2, 1
  sc.d s3, s2, (s0)
  bnez s3, 1b
  ld s3, 0(s0)
  CHECK_EQ(s3, 42)
  # Ordering bits (aq, rl, aqrl) do not change the single-hart result.
test_9:
  li TESTNUM, 9
  li s1, 7
  sw s1, 0(s0)
  lr.w.aq s2, (s0)
  CHECK_EQ(s2, 7)
  li s1, 8
  sc.w.rl s2, s1, (s0)
  bnez s2, fail
  lr.d.aqrl s2, (s0)
  li s1, 9
  sc.d.aqrl s2, s1, (s0)
  bnez s2, fail
  lw s3, 0(s0)
  CHECK_EQ(s3, 9)

  # amoswap: old value back (sign-extended for .w), rs2 stored.
  TEST_AMO_W(10, amoswap.w, 0x80000000, 0x12345678, 0xffffffff80000000, 0x12345678, amo_buf)
  TEST_AMO_W(11, amoswap.w, 0x7fffffff, 0xffffffff80000000, 0x7fffffff, 0xffffffff80000000, amo_buf)
  TEST_AMO_D(12, amoswap.d, MIN, 0x0123456789abcdef, MIN, 0x0123456789abcdef, amo_buf)
  # amoadd wraps; .w uses the low 32 bits of rs2.
  TEST_AMO_W(13, amoadd.w, 0x7fffffff, 1, 0x7fffffff, 0xffffffff80000000, amo_buf)
  TEST_AMO_W(14, amoadd.w, 5, 0x100000001, 5, 6, amo_buf)
  TEST_AMO_W(15, amoadd.w, 0xffffffff, 1, -1, 0, amo_buf)
  TEST_AMO_D(16, amoadd.d, MAX, 1, MAX, MIN, amo_buf)
  TEST_AMO_D(17, amoadd.d, 0xffffffff, 1, 0xffffffff, 0x100000000, amo_buf)
  # amoand/amoor/amoxor: bitwise.
  TEST_AMO_W(18, amoand.w, 0xf0f0f0f0, 0xff00ff00, 0xfffffffff0f0f0f0, 0xfffffffff000f000, amo_buf)
  TEST_AMO_W(19, amoor.w, 0x0f0f0f0f, 0xf0000000, 0x0f0f0f0f, 0xffffffffff0f0f0f, amo_buf)
  TEST_AMO_W(20, amoxor.w, 0xffffffff, 0x0000ffff, -1, 0xffffffffffff0000, amo_buf)
  TEST_AMO_D(21, amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00, amo_buf)
  TEST_AMO_D(22, amoor.d, 0xff00000000000000, 0x00000000000000ff, 0xff00000000000000, 0xff000000000000ff, amo_buf)
  TEST_AMO_D(23, amoxor.d, -1, MIN, -1, MAX, amo_buf)
  # amomin/amomax are signed, amominu/amomaxu unsigned; .w compares the
  # 32-bit values (rs2 0x80000000 is -2^31 for amomin.w, not +2^31).
  TEST_AMO_W(24, amomin.w, -5, 3, -5, -5, amo_buf)
  TEST_AMO_W(25, amomin.w, 3, 0x80000000, 3, 0xffffffff80000000, amo_buf)
  TEST_AMO_W(26, amomin.w, 0, 0x0000000080000000, 0, 0xffffffff80000000, amo_buf)
  TEST_AMO_W(27, amomax.w, -1, 0, -1, 0, amo_buf)
  TEST_AMO_W(28, amomax.w, 0x80000000, 0x7fffffff, 0xffffffff80000000, 0x7fffffff, amo_buf)
  TEST_AMO_W(29, amomax.w, 1, 0x1ffffffff, 1, 1, amo_buf)
  TEST_AMO_W(30, amominu.w, 0xffffffff, 1, -1, 1, amo_buf)
  TEST_AMO_W(31, amominu.w, 3, 0x100000002, 3, 2, amo_buf)
  TEST_AMO_W(32, amominu.w, 0x80000000, 0x7fffffff, 0xffffffff80000000, 0x7fffffff, amo_buf)
  TEST_AMO_W(33, amomaxu.w, 1, 0xffffffff, 1, -1, amo_buf)
  TEST_AMO_W(34, amomaxu.w, 0x80000000, 0x7fffffff, 0xffffffff80000000, 0xffffffff80000000, amo_buf)
  TEST_AMO_D(35, amomin.d, 1, MIN, 1, MIN, amo_buf)
  TEST_AMO_D(36, amomin.d, -1, 0, -1, -1, amo_buf)
  TEST_AMO_D(37, amomax.d, -1, 0, -1, 0, amo_buf)
  TEST_AMO_D(38, amomax.d, MIN, MAX, MIN, MAX, amo_buf)
  TEST_AMO_D(39, amominu.d, MIN, 1, MIN, 1, amo_buf)
  TEST_AMO_D(40, amominu.d, 0x100000000, 0xffffffff, 0x100000000, 0xffffffff, amo_buf)
  TEST_AMO_D(41, amomaxu.d, 0, -1, 0, -1, amo_buf)
  TEST_AMO_D(42, amomaxu.d, MAX, MIN, MAX, MIN, amo_buf)

  # aq/rl variants encode the same operation.
  TEST_AMO_W(43, amoadd.w.aq, 10, 5, 10, 15, amo_buf)
  TEST_AMO_W(44, amoswap.w.rl, 10, 5, 10, 5, amo_buf)
  TEST_AMO_W(45, amomaxu.w.aqrl, 10, 0xfffffff0, 10, 0xfffffffffffffff0, amo_buf)
  TEST_AMO_D(46, amoor.d.aq, 0x10, 0x01, 0x10, 0x11, amo_buf)
  TEST_AMO_D(47, amoxor.d.rl, 0x11, 0x01, 0x11, 0x10, amo_buf)
  TEST_AMO_D(48, amominu.d.aqrl, 7, 3, 7, 3, amo_buf)

  # rd = x0: the memory update still happens, x0 stays 0.
test_49:
  li TESTNUM, 49
  la s0, amo_buf
  li s1, 100
  sd s1, 0(s0)
  li s1, 23
  amoadd.d x0, s1, (s0)
  bnez x0, fail
  ld s3, 0(s0)
  CHECK_EQ(s3, 123)
  # rd == rs2: the old value goes to rd, the old rs2 to memory.
test_50:
  li TESTNUM, 50
  li s1, 0x55
  amoswap.d s1, s1, (s0)
  CHECK_EQ(s1, 123)
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x55)
  # AMO on the upper word of a dword: only that word changes.
test_51:
  li TESTNUM, 51
  li s1, 0x1111111122222222
  sd s1, 0(s0)
  addi s2, s0, 4
  li s1, 0x80000000
  amoor.w s3, s1, (s2)
  CHECK_EQ(s3, 0x11111111)
  ld s3, 0(s0)
  CHECK_EQ(s3, 0x9111111122222222)
TEST_END

  .data
  .balign 8
amo_buf:
  .dword 0, 0
