# M extension (RV64M): multiply, multiply-high (signed/unsigned/mixed),
# division and remainder in 64-bit and W forms, including the edge cases
# the spec defines instead of trapping (unprivileged spec, "M" chapter,
# table of division by zero and overflow): x/0 = all ones, x%0 = x,
# MIN/-1 = MIN, MIN%-1 = 0. W forms use the low 32 bits of both sources
# and sign-extend the 32-bit result (divuw/remuw too).
#include "test.h"

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN
  .option norvc
  # mul: low 64 bits of the product; the same for signed and unsigned operands.
  TEST_RR(1, mul, 0x15, 3, 7)
  TEST_RR(2, mul, 0x1, -1, -1)
  TEST_RR(3, mul, 0x8000000000000000, MIN, -1)
  TEST_RR(4, mul, 0xfffffffffffffffe, MAX, 2)
  TEST_RR(5, mul, 0x0, 0x100000000, 0x100000000)
  TEST_RR(6, mul, 0x236d88fe5618cf00, 0x123456789abcdef0, 0xfedcba9876543210)
  TEST_RR(7, mul, 0xffffffffffffffeb, -7, 3)

  # mulh: high 64 bits of signed x signed.
  TEST_RR(8, mulh, 0x0, -1, -1)
  TEST_RR(9, mulh, 0x4000000000000000, MIN, MIN)
  TEST_RR(10, mulh, 0x0, MIN, -1)
  TEST_RR(11, mulh, 0x3fffffffffffffff, MAX, MAX)
  TEST_RR(12, mulh, 0xffffffffffffffff, -1, 1)
  TEST_RR(13, mulh, 0xffffffffffffffff, MIN, 1)
  TEST_RR(14, mulh, 0xc000000000000000, MIN, MAX)
  TEST_RR(15, mulh, 0x1, 0x100000000, 0x100000000)
  TEST_RR(16, mulh, 0xffffffffffffffff, -2, 3)

  # mulhsu: high 64 bits of signed rs1 x unsigned rs2.
  TEST_RR(17, mulhsu, 0xffffffffffffffff, -1, -1)
  TEST_RR(18, mulhsu, 0x8000000000000000, MIN, -1)
  TEST_RR(19, mulhsu, 0x0, 1, -1)
  TEST_RR(20, mulhsu, 0x7ffffffffffffffe, MAX, -1)
  TEST_RR(21, mulhsu, 0xffffffffffffffff, -1, 1)
  TEST_RR(22, mulhsu, 0xc000000000000000, MIN, MIN)
  TEST_RR(23, mulhsu, 0xffffffffffffffff, -2, 3)
  TEST_RR(24, mulhsu, 0x1, 2, MIN)

  # mulhu: high 64 bits of unsigned x unsigned.
  TEST_RR(25, mulhu, 0xfffffffffffffffe, -1, -1)
  TEST_RR(26, mulhu, 0x4000000000000000, MIN, MIN)
  TEST_RR(27, mulhu, 0x1, -1, 2)
  TEST_RR(28, mulhu, 0x0, -1, 1)
  TEST_RR(29, mulhu, 0x3fffffffffffffff, MAX, MAX)
  TEST_RR(30, mulhu, 0x1, 0x100000000, 0x100000000)
  TEST_RR(31, mulhu, 0x2, -2, 3)

  # div: signed, rounds toward zero; x/0 = -1; MIN/-1 = MIN (no trap).
  TEST_RR(32, div, 0x3, 20, 6)
  TEST_RR(33, div, 0xfffffffffffffffd, -20, 6)
  TEST_RR(34, div, 0xfffffffffffffffd, 20, -6)
  TEST_RR(35, div, 0x3, -20, -6)
  TEST_RR(36, div, 0xffffffffffffffff, 5, 0)
  TEST_RR(37, div, 0xffffffffffffffff, -5, 0)
  TEST_RR(38, div, 0xffffffffffffffff, 0, 0)
  TEST_RR(39, div, 0x8000000000000000, MIN, -1)
  TEST_RR(40, div, 0x8000000000000000, MIN, 1)
  TEST_RR(41, div, 0xc000000000000000, MIN, 2)
  TEST_RR(42, div, 0x8000000000000001, MAX, -1)
  TEST_RR(43, div, 0x80000000, 0x100000000, 2)

  # divu: unsigned; x/0 = 2^64-1.
  TEST_RR(44, divu, 0x3, 20, 6)
  TEST_RR(45, divu, 0x2aaaaaaaaaaaaaa7, -20, 6)
  TEST_RR(46, divu, 0xffffffffffffffff, -1, 1)
  TEST_RR(47, divu, 0xffffffffffffffff, 5, 0)
  TEST_RR(48, divu, 0xffffffffffffffff, 0, 0)
  TEST_RR(49, divu, 0x0, MIN, -1)
  TEST_RR(50, divu, 0x1, -1, -1)
  TEST_RR(51, divu, 0x4000000000000000, MIN, 2)

  # rem: sign of the dividend; x%0 = x; MIN%-1 = 0.
  TEST_RR(52, rem, 0x2, 20, 6)
  TEST_RR(53, rem, 0xfffffffffffffffe, -20, 6)
  TEST_RR(54, rem, 0x2, 20, -6)
  TEST_RR(55, rem, 0xfffffffffffffffe, -20, -6)
  TEST_RR(56, rem, 0x5, 5, 0)
  TEST_RR(57, rem, 0xfffffffffffffffb, -5, 0)
  TEST_RR(58, rem, 0x8000000000000000, MIN, 0)
  TEST_RR(59, rem, 0x0, MIN, -1)
  TEST_RR(60, rem, 0xfffffffffffffffe, MIN, 3)
  TEST_RR(61, rem, 0x0, MAX, -1)

  # remu: unsigned; x%0 = x.
  TEST_RR(62, remu, 0x2, 20, 6)
  TEST_RR(63, remu, 0x2, -20, 6)
  TEST_RR(64, remu, 0x5, 5, 0)
  TEST_RR(65, remu, 0xffffffffffffffff, -1, 0)
  TEST_RR(66, remu, 0x8000000000000000, MIN, -1)
  TEST_RR(67, remu, 0x7fffffffffffffff, -1, MIN)

  # mulw: low 32 bits of the product of the low words, sign-extended.
  TEST_RR(68, mulw, 0xfffffffffffffffe, 0x7fffffff, 2)
  TEST_RR(69, mulw, 0x15, 0x100000003, 0x100000007)
  TEST_RR(70, mulw, 0x0, 0x10000, 0x10000)
  TEST_RR(71, mulw, 0xffffffff80000000, 0x8000, 0x10000)
  TEST_RR(72, mulw, 0x1, -1, -1)
  TEST_RR(73, mulw, 0xffffffff80000000, 0x80000000, -1)

  # divw: signed 32-bit division of the low words, sign-extended result;
  # x/0 = -1, MIN32/-1 = MIN32; a divisor with a zero low word is 0.
  TEST_RR(74, divw, 0xfffffffffffffffd, -20, 6)
  TEST_RR(75, divw, 0xffffffff80000000, 0x80000000, -1)
  TEST_RR(76, divw, 0xffffffff80000000, 0x80000000, 1)
  TEST_RR(77, divw, 0xffffffffffffffff, 5, 0)
  TEST_RR(78, divw, 0x3, 0xffffffff00000014, 6)
  TEST_RR(79, divw, 0xffffffffc0000000, 0x80000000, 2)
  TEST_RR(80, divw, 0xffffffffffffffff, 5, 0x100000000)
  TEST_RR(81, divw, 0xffffffff80000001, 0x7fffffff, -1)

  # divuw: unsigned 32-bit division of the low words; the result is
  # sign-extended from bit 31 like every W op; x/0 = 2^32-1 -> -1.
  TEST_RR(82, divuw, 0xffffffff80000000, 0x80000000, 1)
  TEST_RR(83, divuw, 0xffffffffffffffff, 0xffffffff, 1)
  TEST_RR(84, divuw, 0xffffffffffffffff, 5, 0)
  TEST_RR(85, divuw, 0x3, 0xffffffff00000014, 6)
  TEST_RR(86, divuw, 0x7fffffff, 0xfffffffe, 2)
  TEST_RR(87, divuw, 0x0, 0x80000000, 0xffffffff)
  TEST_RR(88, divuw, 0x2aaaaaa7, -20, 6)

  # remw: signed 32-bit remainder; x%0 = sext(low word of x); MIN32%-1 = 0.
  TEST_RR(89, remw, 0xfffffffffffffffe, -20, 6)
  TEST_RR(90, remw, 0x2, 20, -6)
  TEST_RR(91, remw, 0xffffffff80000000, 0x180000000, 0)
  TEST_RR(92, remw, 0x0, 0x80000000, -1)
  TEST_RR(93, remw, 0x5, 5, 0x100000000)
  TEST_RR(94, remw, 0x23456789, 0x123456789, 0x100000000)

  # remuw: unsigned 32-bit remainder; x%0 = sext(low word of x).
  TEST_RR(95, remuw, 0xffffffff80000001, 0x80000001, 0)
  TEST_RR(96, remuw, 0xf, 0xffffffff, 0x10)
  TEST_RR(97, remuw, 0x2, -20, 6)
  TEST_RR(98, remuw, 0xfffffffffffffffe, 0x1fffffffe, 0xffffffff)
  TEST_RR(99, remuw, 0x7fffffff, 0x7fffffff, 0)

  # rd equal to a source: both sources are read first.
  TEST_CASE(100, s0, 42, li s0, 6; li s1, 7; mul s0, s0, s1)
  TEST_CASE(101, s1, 0xffffffffffffffff, li s0, 5; li s1, 0; div s1, s0, s1)
  TEST_CASE(102, s0, 0, li s0, MIN; li s1, -1; rem s0, s0, s1)
TEST_END
