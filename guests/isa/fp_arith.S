# F/D arithmetic (unprivileged spec chapters 11-12): results and fflags for
# the five rounding modes, canonical NaNs (11.3), invalid/divide-by-zero/
# overflow/underflow/inexact with tininess detected after rounding (11.2),
# fused multiply-add with one rounding (11.6), fsqrt, and the conversions
# with their saturation and invalid rules (11.7, table 11.4). Built with
# rv64imafdc (fp_* files); run on a machine with F and D.
#include "test.h"

#define BOX(x) (0xffffffff00000000 | (x))
#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

/* Operands a, b, c in fa1, fa2, fa3 (singles NaN-boxed by fmv.w.x); `insn`
 * writes fa0, which must hold `res` (BOX(res) for singles), fflags `flags`. */
#define TEST_FS(n, res, flags, a, b, c, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.w.x fa1, s0;            \
  li s0, b; fmv.w.x fa2, s0;            \
  li s0, c; fmv.w.x fa3, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  fmv.x.d s2, fa0;                      \
  CHECK_EQ(s2, BOX(res));               \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

#define TEST_FD(n, res, flags, a, b, c, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.d.x fa1, s0;            \
  li s0, b; fmv.d.x fa2, s0;            \
  li s0, c; fmv.d.x fa3, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  fmv.x.d s2, fa0;                      \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

/* Float (single in fa1 if `single`, else double) to integer s2. */
#define TEST_FX(n, res, flags, a, single, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a;                             \
  .if single; fmv.w.x fa1, s0; .else; fmv.d.x fa1, s0; .endif; \
  csrw fflags, zero;                    \
  insn;                                 \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

/* Integer s0 to float fa0, whose 64 bits must be `res`. */
#define TEST_XF(n, res, flags, a, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a;                             \
  csrw fflags, zero;                    \
  insn;                                 \
  fmv.x.d s2, fa0;                      \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

TEST_BEGIN
  .option norvc
  li t0, 1 << 13
  csrs mstatus, t0

  # Rounding of 1 + 2^-24 (a tie in binary32) and 1 + 3*2^-25 in every mode.
  TEST_FS(1, 0x3f800000, NX, 0x3f800000, 0x33800000, 0, fadd.s fa0, fa1, fa2, rne)
  TEST_FS(2, 0x3f800000, NX, 0x3f800000, 0x33800000, 0, fadd.s fa0, fa1, fa2, rtz)
  TEST_FS(3, 0x3f800000, NX, 0x3f800000, 0x33800000, 0, fadd.s fa0, fa1, fa2, rdn)
  TEST_FS(4, 0x3f800001, NX, 0x3f800000, 0x33800000, 0, fadd.s fa0, fa1, fa2, rup)
  TEST_FS(5, 0x3f800001, NX, 0x3f800000, 0x33800000, 0, fadd.s fa0, fa1, fa2, rmm)
  TEST_FS(6, 0xbf800000, NX, 0xbf800000, 0xb3800000, 0, fadd.s fa0, fa1, fa2, rup)
  TEST_FS(7, 0xbf800001, NX, 0xbf800000, 0xb3800000, 0, fadd.s fa0, fa1, fa2, rdn)
  TEST_FD(8, 0x3ff0000000000002, NX, 0x3ff0000000000001, 0x3ca0000000000000, 0, fadd.d fa0, fa1, fa2, rne)
  TEST_FD(9, 0x3ff0000000000001, NX, 0x3ff0000000000001, 0x3ca0000000000000, 0, fadd.d fa0, fa1, fa2, rtz)
  TEST_FD(10, 0x3ff0000000000002, NX, 0x3ff0000000000001, 0x3ca0000000000000, 0, fadd.d fa0, fa1, fa2, rmm)
  # Exact zero sums: +0, except -0 in RDN (IEEE 754 6.3).
  TEST_FD(11, 0x0000000000000000, 0, 0x3ff0000000000000, 0xbff0000000000000, 0, fadd.d fa0, fa1, fa2, rne)
  TEST_FD(12, 0x8000000000000000, 0, 0x3ff0000000000000, 0xbff0000000000000, 0, fadd.d fa0, fa1, fa2, rdn)
  TEST_FS(13, 0x80000000, 0, 0x80000000, 0x80000000, 0, fadd.s fa0, fa1, fa2, rne)
  TEST_FS(14, 0x80000000, 0, 0x3f800000, 0x3f800000, 0, fsub.s fa0, fa1, fa2, rdn)

  # Invalid operations give the canonical NaN; NaN payloads never propagate.
  TEST_FS(15, 0x7fc00000, NV, 0x7f800000, 0x7f800000, 0, fsub.s fa0, fa1, fa2)
  TEST_FS(16, 0x7fc00000, NV, 0x00000000, 0xff800000, 0, fmul.s fa0, fa1, fa2)
  TEST_FS(17, 0x7fc00000, NV, 0x7f800001, 0x3f800000, 0, fmul.s fa0, fa1, fa2)
  TEST_FS(18, 0x7fc00000, 0, 0xffc12345, 0x3f800000, 0, fmul.s fa0, fa1, fa2)
  TEST_FD(19, 0x7ff8000000000000, 0, 0x7ff8000000012345, 0x3ff0000000000000, 0, fadd.d fa0, fa1, fa2)
  TEST_FD(20, 0x7ff8000000000000, NV, 0x0000000000000000, 0x0000000000000000, 0, fdiv.d fa0, fa1, fa2)
  TEST_FD(21, 0x7ff8000000000000, NV, 0x7ff0000000000000, 0xfff0000000000000, 0, fdiv.d fa0, fa1, fa2)
  TEST_FD(22, 0x7ff8000000000000, NV, 0xbff0000000000000, 0, 0, fsqrt.d fa0, fa1)
  TEST_FD(23, 0x8000000000000000, 0, 0x8000000000000000, 0, 0, fsqrt.d fa0, fa1)
  TEST_FS(24, 0x7fc00000, NV, 0xff800000, 0, 0, fsqrt.s fa0, fa1)
  # Division by zero.
  TEST_FS(25, 0xff800000, DZ, 0xbf800000, 0x00000000, 0, fdiv.s fa0, fa1, fa2)
  TEST_FD(26, 0x7ff0000000000000, DZ, 0x0000000000000001, 0x0000000000000000, 0, fdiv.d fa0, fa1, fa2)
  TEST_FD(27, 0x7ff0000000000000, 0, 0x7ff0000000000000, 0x0000000000000000, 0, fdiv.d fa0, fa1, fa2)
  # Exact and inexact sqrt, divide.
  TEST_FS(28, 0x40000000, 0, 0x40800000, 0, 0, fsqrt.s fa0, fa1)
  TEST_FD(29, 0x3ff6a09e667f3bcd, NX, 0x4000000000000000, 0, 0, fsqrt.d fa0, fa1, rne)
  TEST_FD(30, 0x3ff6a09e667f3bcc, NX, 0x4000000000000000, 0, 0, fsqrt.d fa0, fa1, rdn)
  TEST_FS(31, 0x3eaaaaab, NX, 0x3f800000, 0x40400000, 0, fdiv.s fa0, fa1, fa2, rne)
  TEST_FS(32, 0x3eaaaaaa, NX, 0x3f800000, 0x40400000, 0, fdiv.s fa0, fa1, fa2, rtz)
  TEST_FD(33, 0x3fd5555555555555, NX, 0x3ff0000000000000, 0x4008000000000000, 0, fdiv.d fa0, fa1, fa2, rne)
  TEST_FD(34, 0x3fd5555555555556, NX, 0x3ff0000000000000, 0x4008000000000000, 0, fdiv.d fa0, fa1, fa2, rup)

  # Overflow: to infinity or the largest finite number, by mode and sign.
  TEST_FS(35, 0x7f800000, OF|NX, 0x7f7fffff, 0x40000000, 0, fmul.s fa0, fa1, fa2, rne)
  TEST_FS(36, 0x7f7fffff, OF|NX, 0x7f7fffff, 0x40000000, 0, fmul.s fa0, fa1, fa2, rtz)
  TEST_FS(37, 0x7f7fffff, OF|NX, 0x7f7fffff, 0x40000000, 0, fmul.s fa0, fa1, fa2, rdn)
  TEST_FS(38, 0xff800000, OF|NX, 0xff7fffff, 0x40000000, 0, fmul.s fa0, fa1, fa2, rdn)
  TEST_FS(39, 0xff7fffff, OF|NX, 0xff7fffff, 0x40000000, 0, fmul.s fa0, fa1, fa2, rup)
  TEST_FD(40, 0xfff0000000000000, OF|NX, 0xffefffffffffffff, 0xffefffffffffffff, 0, fadd.d fa0, fa1, fa2, rmm)
  TEST_FD(41, 0x7fefffffffffffff, OF|NX, 0x7fefffffffffffff, 0x7fefffffffffffff, 0, fadd.d fa0, fa1, fa2, rtz)
  # Not an overflow: the max plus less than half an ulp rounds back to it.
  TEST_FD(42, 0x7fefffffffffffff, NX, 0x7fefffffffffffff, 0x7c8fffffffffffff, 0, fadd.d fa0, fa1, fa2, rne)

  # Underflow with tininess after rounding (11.2).
  # (1 - 2^-24) * 2^-126 = 2^-126 - 2^-150: tiny, rounds (tie, even) to 2^-126: UF|NX.
  TEST_FS(43, 0x00800000, UF|NX, 0x3f7fffff, 0x00800000, 0, fmul.s fa0, fa1, fa2)
  # Just below 2^-126 - 2^-151: rounds to 2^-126 - 2^-150 at 24 bits, so tiny (UF|NX)
  # although the result is 2^-126; 2^-126 - 2^-151 itself rounds to 2^-126 at 24
  # bits (tie, even): not tiny, so NX only.
  TEST_FX(44, BOX(0x00800000), UF|NX, 0x380fffffefffffff, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(45, BOX(0x00800000), NX, 0x380ffffff0000000, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)
  # Exact subnormal results raise nothing; inexact ones raise UF|NX.
  TEST_FS(46, 0x00000001, 0, 0x00800000, 0x34000000, 0, fmul.s fa0, fa1, fa2)
  TEST_FS(47, 0x00000000, UF|NX, 0x00000001, 0x3f000000, 0, fmul.s fa0, fa1, fa2)
  TEST_FS(48, 0x00000001, UF|NX, 0x00000001, 0x3f000000, 0, fmul.s fa0, fa1, fa2, rup)
  TEST_FD(49, 0x0000000000000001, UF|NX, 0x0000000000000003, 0x3fe0000000000000, 0, fmul.d fa0, fa1, fa2, rtz)
  TEST_FD(50, 0x0000000000000002, UF|NX, 0x0000000000000003, 0x3fe0000000000000, 0, fmul.d fa0, fa1, fa2, rne)
  TEST_FD(51, 0x000fffffffffffff, 0, 0x0010000000000000, 0x8000000000000001, 0, fadd.d fa0, fa1, fa2)
  TEST_FD(52, 0x0010000000000000, UF|NX, 0x3fefffffffffffff, 0x0010000000000000, 0, fmul.d fa0, fa1, fa2, rne)
  TEST_FD(53, 0x000fffffffffffff, UF|NX, 0x3fefffffffffffff, 0x0010000000000000, 0, fmul.d fa0, fa1, fa2, rtz)
  TEST_FD(54, 0x8000000000000000, UF|NX, 0x8000000000000001, 0x3fd0000000000000, 0, fmul.d fa0, fa1, fa2)
  TEST_FD(55, 0x8000000000000001, UF|NX, 0x8000000000000001, 0x3fd0000000000000, 0, fmul.d fa0, fa1, fa2, rdn)

  # Fused multiply-add: one rounding. (1 + 2^-30)(1 - 2^-30) - 1 = -2^-60 exactly.
  TEST_FD(56, 0xbc30000000000000, 0, 0x3ff0000000400000, 0x3fefffffff800000, 0xbff0000000000000, fmadd.d fa0, fa1, fa2, fa3)
  TEST_FD(57, 0xbc30000000000000, 0, 0x3ff0000000400000, 0x3fefffffff800000, 0x3ff0000000000000, fmsub.d fa0, fa1, fa2, fa3)
  TEST_FD(58, 0x3c30000000000000, 0, 0x3ff0000000400000, 0x3fefffffff800000, 0x3ff0000000000000, fnmsub.d fa0, fa1, fa2, fa3)
  TEST_FD(59, 0x3c30000000000000, 0, 0x3ff0000000400000, 0x3fefffffff800000, 0xbff0000000000000, fnmadd.d fa0, fa1, fa2, fa3)
  TEST_FS(60, 0xb2800000, 0, 0x3f800400, 0x3f7ff800, 0xbf800000, fmadd.s fa0, fa1, fa2, fa3)
  # Where rounding through binary64 first would be wrong: 257 * 65281 = 2^24 + 1 (a
  # binary32 tie) plus 2^-30: binary64 would drop 2^-30 and then round the tie to even.
  TEST_FS(61, 0x4b800001, NX, 0x43808000, 0x477f0100, 0x30800000, fmadd.s fa0, fa1, fa2, fa3, rne)
  TEST_FD(62, 0x3ff0000000000002, NX, 0x3ff0000000000001, 0x3ff0000000000001, 0x3970000000000001, fmadd.d fa0, fa1, fa2, fa3, rne)
  # inf * 0 + qNaN is invalid (11.6); exact zero results and signs.
  TEST_FD(63, 0x7ff8000000000000, NV, 0x7ff0000000000000, 0x0000000000000000, 0x7ff8000000000000, fmadd.d fa0, fa1, fa2, fa3)
  TEST_FS(64, 0x7fc00000, NV, 0x7f800000, 0x3f800000, 0xff800000, fmadd.s fa0, fa1, fa2, fa3)
  TEST_FS(65, 0x00000000, 0, 0x3f800000, 0x3f800000, 0xbf800000, fmadd.s fa0, fa1, fa2, fa3)
  TEST_FS(66, 0x80000000, 0, 0x3f800000, 0x3f800000, 0xbf800000, fmadd.s fa0, fa1, fa2, fa3, rdn)
  TEST_FD(67, 0x8000000000000000, 0, 0x0000000000000000, 0x3ff0000000000000, 0x8000000000000000, fnmsub.d fa0, fa1, fa2, fa3)
  TEST_FD(68, 0x8000000000000000, 0, 0x0000000000000000, 0x3ff0000000000000, 0x0000000000000000, fnmadd.d fa0, fa1, fa2, fa3)
  # No intermediate overflow in FMA (2 * max - max = max), and underflow.
  TEST_FD(69, 0x7fefffffffffffff, 0, 0x7fefffffffffffff, 0x4000000000000000, 0xffefffffffffffff, fmadd.d fa0, fa1, fa2, fa3)
  TEST_FS(70, 0x00000001, UF|NX, 0x00800000, 0x33800000, 0x00000000, fmadd.s fa0, fa1, fa2, fa3, rup)

  # Float to integer (table 11.4): rounding, NaN -> max, saturation with NV (no NX).
  TEST_FX(71, 2, NX, 0x40200000, 1, fcvt.w.s s2, fa1, rne)
  TEST_FX(72, 3, NX, 0x40200000, 1, fcvt.w.s s2, fa1, rmm)
  TEST_FX(73, 3, NX, 0x40200000, 1, fcvt.w.s s2, fa1, rup)
  TEST_FX(74, 2, NX, 0x40200000, 1, fcvt.w.s s2, fa1, rdn)
  TEST_FX(75, -3, NX, 0xc0200000, 1, fcvt.w.s s2, fa1, rmm)
  TEST_FX(76, -2, NX, 0xc0200000, 1, fcvt.w.s s2, fa1, rtz)
  TEST_FX(77, -4, NX, 0xc0600000, 1, fcvt.w.s s2, fa1, rne)
  TEST_FX(78, 0x7fffffff, NV, 0x7fc00000, 1, fcvt.w.s s2, fa1)
  TEST_FX(79, 0x7fffffff, NV, 0xffc00000, 1, fcvt.w.s s2, fa1)
  TEST_FX(80, -0x80000000, NV, 0xff800000, 1, fcvt.w.s s2, fa1)
  TEST_FX(81, -0x80000000, 0, 0xcf000000, 1, fcvt.w.s s2, fa1)
  TEST_FX(82, 0x7fffffff, NV, 0x4f000000, 1, fcvt.w.s s2, fa1)
  TEST_FX(83, 0, NV, 0xbf800000, 1, fcvt.wu.s s2, fa1)
  TEST_FX(84, 0, NX, 0xbf000000, 1, fcvt.wu.s s2, fa1, rne)
  TEST_FX(85, 0, NV, 0xbf000000, 1, fcvt.wu.s s2, fa1, rdn)
  TEST_FX(86, -1, NV, 0x4f800000, 1, fcvt.wu.s s2, fa1)
  TEST_FX(87, 0xffffffff80000000, 0, 0x4f000000, 1, fcvt.wu.s s2, fa1)
  TEST_FX(88, -1, NV, 0x7fc00000, 1, fcvt.wu.s s2, fa1)
  TEST_FX(89, 0x7fffffffffffffff, NV, 0x43e0000000000000, 0, fcvt.l.d s2, fa1)
  TEST_FX(90, 0x8000000000000000, 0, 0xc3e0000000000000, 0, fcvt.l.d s2, fa1)
  TEST_FX(91, 0x8000000000000000, NV, 0xc3e0000000000001, 0, fcvt.l.d s2, fa1)
  TEST_FX(92, 0x7ffffffffffffc00, 0, 0x43dfffffffffffff, 0, fcvt.l.d s2, fa1)
  TEST_FX(93, -1, NV, 0x7ff8000000000000, 0, fcvt.lu.d s2, fa1)
  TEST_FX(94, -1, NV, 0x43f0000000000000, 0, fcvt.lu.d s2, fa1)
  TEST_FX(95, 0xfffffffffffff800, 0, 0x43efffffffffffff, 0, fcvt.lu.d s2, fa1)
  TEST_FX(96, 0, NV, 0xfff0000000000000, 0, fcvt.lu.d s2, fa1)
  TEST_FX(97, 1, NX, 0x3fe0000000000001, 0, fcvt.l.d s2, fa1, rne)
  TEST_FX(98, 0, NX, 0x3fe0000000000000, 0, fcvt.l.d s2, fa1, rne)
  TEST_FX(99, 1, NX, 0x3fe0000000000000, 0, fcvt.l.d s2, fa1, rmm)
  TEST_FX(100, 0, NX, 0x0000000000000001, 0, fcvt.w.d s2, fa1, rtz)
  TEST_FX(101, 1, NX, 0x0000000000000001, 0, fcvt.w.d s2, fa1, rup)
  TEST_FX(102, -1, NX, 0x8000000000000001, 0, fcvt.l.d s2, fa1, rdn)
  TEST_FX(103, 0x7fffffff, NV, 0x41e0000000000000, 0, fcvt.w.d s2, fa1)
  TEST_FX(104, 0x7fffffff, NX, 0x41dfffffffffffff, 0, fcvt.w.d s2, fa1, rtz)
  TEST_FX(105, 0xffffffffffffffff, NX, 0x41efffffffffffff, 0, fcvt.wu.d s2, fa1, rtz)
  TEST_FX(106, 0x7fffffffffffffff, NV, 0x7f800001, 1, fcvt.l.s s2, fa1)
  TEST_FX(107, 0x8000000000000000, 0, 0xdf000000, 1, fcvt.l.s s2, fa1)
  TEST_FX(108, 0xffffff0000000000, 0, 0x5f7fffff, 1, fcvt.lu.s s2, fa1)

  # Integer to float: exact below 2^p, rounded above.
  TEST_XF(109, BOX(0x5f000000), NX, 0x7fffffffffffffff, fcvt.s.l fa0, s0)
  TEST_XF(110, BOX(0x5effffff), NX, 0x7fffffffffffffff, fcvt.s.l fa0, s0, rtz)
  TEST_XF(111, BOX(0x4f800000), NX, 0xffffffff, fcvt.s.wu fa0, s0)
  TEST_XF(112, BOX(0xbf800000), 0, 0xffffffff, fcvt.s.w fa0, s0)
  TEST_XF(113, BOX(0xdf000000), 0, 0x8000000000000000, fcvt.s.l fa0, s0)
  TEST_XF(114, BOX(0x5f800000), NX, 0xffffffffffffffff, fcvt.s.lu fa0, s0)
  TEST_XF(115, BOX(0x4b800001), NX, 0x1000003, fcvt.s.w fa0, s0, rdn)
  TEST_XF(116, BOX(0x4b800002), NX, 0x1000003, fcvt.s.w fa0, s0, rne)
  TEST_XF(117, 0x43f0000000000000, NX, 0xffffffffffffffff, fcvt.d.lu fa0, s0)
  TEST_XF(118, 0x43efffffffffffff, NX, 0xffffffffffffffff, fcvt.d.lu fa0, s0, rtz)
  TEST_XF(119, 0xc3e0000000000000, 0, 0x8000000000000000, fcvt.d.l fa0, s0)
  TEST_XF(120, 0xc1e0000000000000, 0, 0x80000000, fcvt.d.w fa0, s0)
  TEST_XF(121, 0x41efffffffe00000, 0, 0xffffffff, fcvt.d.wu fa0, s0)
  TEST_XF(122, 0x0000000000000000, 0, 0, fcvt.d.l fa0, s0, rdn)
  TEST_XF(123, 0x4340000000000002, NX, 0x20000000000003, fcvt.d.l fa0, s0, rup)

  # Between the formats: canonical NaN, NV only for sNaN, rounding of the narrowing.
  TEST_FX(124, 0x7ff8000000000000, NV, 0x7f800001, 1, fcvt.d.s fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(125, 0x7ff8000000000000, 0, 0xffc00001, 1, fcvt.d.s fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(126, 0x36a0000000000000, 0, 0x00000001, 1, fcvt.d.s fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(127, BOX(0x7fc00000), NV, 0x7ff0000000000001, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(128, BOX(0x7f800000), OF|NX, 0x47f0000000000000, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(129, BOX(0x7f7fffff), OF|NX, 0x47f0000000000000, 0, fcvt.s.d fa0, fa1, rtz; fmv.x.d s2, fa0)
  TEST_FX(130, BOX(0x80000000), UF|NX, 0x8000000000000001, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)
  TEST_FX(131, BOX(0x80000001), UF|NX, 0x8000000000000001, 0, fcvt.s.d fa0, fa1, rdn; fmv.x.d s2, fa0)
  TEST_FX(132, BOX(0x3eaaaaab), NX, 0x3fd5555555555555, 0, fcvt.s.d fa0, fa1; fmv.x.d s2, fa0)

  # Flags accumulate across instructions until cleared.
  TEST_CASE(133, s2, NV|DZ|NX, csrw fflags, zero; li s0, 0x3f800000; fmv.w.x fa1, s0; fmv.w.x fa2, zero; fdiv.s fa0, fa1, fa2; li s0, 0x40400000; fmv.w.x fa2, s0; fdiv.s fa0, fa1, fa2; fdiv.s fa0, fa2, fa2; fcvt.w.s s1, fa0; fmv.w.x fa3, zero; fdiv.s fa0, fa3, fa3; csrr s2, fflags)
TEST_END

