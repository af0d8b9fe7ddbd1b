# F/D architectural state (unprivileged spec chapters 11-12, privileged 3.1.6.6):
# mstatus.FS gating and dirtiness with SD, misa, fcsr/fflags/frm, the dynamic
# rounding mode and its illegal values, NaN boxing (12.2) of loads, moves and
# operands, fmv/fsgnj/fclass/fmin/fmax/feq/flt/fle edge cases, and the RV64DC
# compressed loads and stores. Built with rv64imafdc (fp_* files); run on a
# machine with F and D (QEMU -cpu rv64 with f/d on, rvisor --isa rv64imafdc).
#include "test.h"

#define FS_MASK    (3 << 13)
#define FS_INITIAL (1 << 13)
#define FS_CLEAN   (2 << 13)
#define BOX(x)     (0xffffffff00000000 | (x))

/* Single operands a, b in fa1, fa2 (NaN-boxed by fmv.w.x); `insn` writes fa0;
 * fa0's 64 bits must be BOX(res) and fflags `flags`. */
#define TEST_FS(n, res, flags, a, b, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.w.x fa1, s0;            \
  li s0, b; fmv.w.x fa2, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  fmv.x.d s2, fa0;                      \
  CHECK_EQ(s2, BOX(res));               \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

/* Double operands; fa0 must hold `res`. */
#define TEST_FD(n, res, flags, a, b, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.d.x fa1, s0;            \
  li s0, b; fmv.d.x fa2, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  fmv.x.d s2, fa0;                      \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

/* Single operands, integer result in s2. */
#define TEST_FSX(n, res, flags, a, b, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.w.x fa1, s0;            \
  li s0, b; fmv.w.x fa2, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

/* Double operands, integer result in s2. */
#define TEST_FDX(n, res, flags, a, b, insn...) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, a; fmv.d.x fa1, s0;            \
  li s0, b; fmv.d.x fa2, s0;            \
  csrw fflags, zero;                    \
  insn;                                 \
  CHECK_EQ(s2, res);                    \
  csrr s3, fflags;                      \
  CHECK_EQ(s3, flags);

TEST_BEGIN
  .option norvc
  INSTALL_TRAP_HANDLER
  # misa has D (bit 3) and F (bit 5).
  TEST_CASE(1, s2, 0x28, csrr s0, misa; andi s2, s0, 0x28)

  # FS = Off: FP instructions and FP CSRs are illegal (privileged 3.1.6.6).
  li t0, FS_MASK
  csrc mstatus, t0
  TEST_ILLEGAL(2, fadd.s fa0, fa1, fa2)
  TEST_ILLEGAL(3, csrr s0, fflags)
  TEST_ILLEGAL(4, flw fa0, 0(sp))
  TEST_ILLEGAL(5, fmv.x.d s0, fa0)
  TEST_ILLEGAL(6, fsd fa0, 0(sp))
  TEST_ILLEGAL(7, csrw fcsr, zero)
  .option push
  .option rvc
  TEST_ILLEGAL16(8, c.fldsp fa0, 0(sp))
  .option pop
  # FS writable; SD clear while FS != Dirty.
  TEST_CASE(9, s2, FS_INITIAL, li t0, FS_INITIAL; csrs mstatus, t0; csrr s0, mstatus; li t1, FS_MASK; and s2, s0, t1)
  TEST_CASE(10, s2, 0, csrr s0, mstatus; srli s2, s0, 63)
  # An FP write makes FS Dirty and sets SD (bit 63), also visible in sstatus.
  TEST_CASE(11, s2, FS_MASK, fmv.w.x fa0, zero; csrr s0, mstatus; li t1, FS_MASK; and s2, s0, t1)
  TEST_CASE(12, s2, 1, csrr s0, mstatus; srli s2, s0, 63)
  TEST_CASE(13, s2, 1, csrr s0, sstatus; srli s2, s0, 63)
  # Clean -> Dirty by writing fcsr.
  TEST_CASE(14, s2, FS_MASK, li t0, FS_MASK; csrc mstatus, t0; li t0, FS_CLEAN; csrs mstatus, t0; csrw fcsr, zero; csrr s0, mstatus; li t1, FS_MASK; and s2, s0, t1)
  # Clean -> Dirty by a load.
  TEST_CASE(15, s2, FS_MASK, li t0, FS_MASK; csrc mstatus, t0; li t0, FS_CLEAN; csrs mstatus, t0; fld fa0, 0(sp); csrr s0, mstatus; li t1, FS_MASK; and s2, s0, t1)

  # fcsr = frm << 5 | fflags; 8 bits; fflags/frm are views.
  TEST_CASE(16, s2, 0xff, li s0, -1; csrw fcsr, s0; csrr s2, fcsr)
  TEST_CASE(17, s2, 0x1f, csrr s2, fflags)
  TEST_CASE(18, s2, 7, csrr s2, frm)
  TEST_CASE(19, s2, 0x2a, li s0, 0x4a; csrw fcsr, s0; li s0, 1; csrw frm, s0; csrr s2, fcsr)
  TEST_CASE(20, s2, 0x22, li s0, 0x2; csrw fflags, s0; csrr s2, fcsr)
  # csrrs on fflags accumulates.
  TEST_CASE(21, s2, 0x23, csrsi fflags, 1; csrr s2, fcsr)
  csrw fcsr, zero

  # Dynamic rounding mode: frm = RTZ, RUP applied by dyn; frm = 5..7 -> dyn illegal.
  TEST_FS(22, 0x3f800000, 1, 0x3f800000, 0x33800000, fadd.s fa0, fa1, fa2)
  li s0, 3
  csrw frm, s0
  TEST_FS(23, 0x3f800001, 1, 0x3f800000, 0x33800000, fadd.s fa0, fa1, fa2, dyn)
  li s0, 1
  csrw frm, s0
  TEST_FS(24, 0x3f800000, 1, 0x3f800000, 0x33800000, fadd.s fa0, fa1, fa2, dyn)
  li s0, 5
  csrw frm, s0
  TEST_ILLEGAL(25, fadd.s fa0, fa1, fa2, dyn)
  TEST_ILLEGAL(26, fcvt.w.d s0, fa1, dyn)
  # ... but instructions without rounding still run with a bad frm.
  TEST_FS(27, 0x3f800000, 0, 0x3f800000, 0x40000000, fsgnj.s fa0, fa1, fa2)
  li s0, 7
  csrw frm, s0
  TEST_ILLEGAL(28, fmadd.d fa0, fa1, fa2, fa3, dyn)
  csrw frm, zero
  # Static rm 5 and 6 are reserved (fadd.s fa0, fa1, fa2 with rm = 5 / 6).
  TEST_ILLEGAL(29, .word 0x00c5d553)
  TEST_ILLEGAL(30, .word 0x00c5e553)

  # NaN boxing (12.2): an operand whose upper 32 bits are not all ones is the canonical NaN.
  TEST_CASE(31, s2, 0x7fc00000, li s0, 0x3f800000; fmv.d.x fa1, s0; fadd.s fa0, fa1, fa1; fmv.x.w s2, fa0)
  TEST_CASE(32, s2, 0x200, li s0, 0xfffffffe3f800000; fmv.d.x fa1, s0; fclass.s s2, fa1)
  TEST_CASE(33, s2, BOX(0x7fc00000), li s0, 0x3f800000; fmv.d.x fa1, s0; fsgnj.s fa0, fa1, fa1; fmv.x.d s2, fa0)
  # ... but fmv.x.w and fsw move the low bits as they are.
  TEST_CASE(34, s2, 0xffffffffbf800000, li s0, 0x12345678bf800000; fmv.d.x fa1, s0; fmv.x.w s2, fa1)
  TEST_CASE(35, s2, 0x3f800000, li s0, 0x3f800000; fmv.d.x fa1, s0; la s1, buf; fsw fa1, 0(s1); lwu s2, 0(s1))
  # flw and fmv.w.x box.
  TEST_CASE(36, s2, BOX(0x12345678), la s1, buf; li s0, 0x12345678; sw s0, 0(s1); flw fa0, 0(s1); fmv.x.d s2, fa0)
  TEST_CASE(37, s2, BOX(0x87654321), li s0, 0x1187654321; fmv.w.x fa0, s0; fmv.x.d s2, fa0)
  # An improperly boxed value read as double is just a double.
  TEST_CASE(38, s2, 0x4000000000000000, li s0, 0x3ff0000000000000; fmv.d.x fa1, s0; fadd.d fa0, fa1, fa1; fmv.x.d s2, fa0)
  # fld/fsd and fmv.d.x keep NaN payloads bit for bit.
  TEST_CASE(39, s2, 0x7ff0000000000123, la s1, buf; li s0, 0x7ff0000000000123; sd s0, 0(s1); fld fa0, 0(s1); fsd fa0, 8(s1); ld s2, 8(s1))
  TEST_CASE(40, s2, 0xfff4000000abcdef, li s0, 0xfff4000000abcdef; fmv.d.x fa0, s0; fmv.x.d s2, fa0)
  TEST_CASE(41, s2, 0x7ff0000000000123, li s0, 0xfff0000000000123; fmv.d.x fa1, s0; fabs.d fa0, fa1; fmv.x.d s2, fa0)

  # Sign injection is a bit operation: NaNs keep payloads, no flags.
  TEST_FD(42, 0xfff0000000000001, 0, 0x7ff0000000000001, 0x0, fsgnjn.d fa0, fa1, fa2)
  TEST_FD(43, 0x3ff0000000000000, 0, 0xbff0000000000000, 0x8000000000000000, fsgnjx.d fa0, fa1, fa2)
  TEST_FS(44, 0xff800001, 0, 0x7f800001, 0x80000000, fsgnj.s fa0, fa1, fa2)
  TEST_FS(45, 0x3f800000, 0, 0xbf800000, 0xbf800000, fsgnjx.s fa0, fa1, fa2)

  # fmin/fmax (11.9): -0 < +0, one NaN -> the other, sNaN signals, two NaNs -> canonical.
  TEST_FS(46, 0x80000000, 0, 0x00000000, 0x80000000, fmin.s fa0, fa1, fa2)
  TEST_FS(47, 0x00000000, 0, 0x80000000, 0x00000000, fmax.s fa0, fa1, fa2)
  TEST_FS(48, 0x3f800000, 0, 0x7fc12345, 0x3f800000, fmin.s fa0, fa1, fa2)
  TEST_FS(49, 0x3f800000, 0x10, 0x3f800000, 0x7f800001, fmax.s fa0, fa1, fa2)
  TEST_FS(50, 0x7fc00000, 0x10, 0x7f800001, 0x7fc12345, fmin.s fa0, fa1, fa2)
  TEST_FD(51, 0x8000000000000000, 0, 0x8000000000000000, 0x0, fmin.d fa0, fa1, fa2)
  TEST_FD(52, 0x7ff8000000000000, 0, 0x7ff8000000000001, 0xfff8000000000000, fmax.d fa0, fa1, fa2)
  TEST_FD(53, 0xc000000000000000, 0x10, 0xfff0000000000001, 0xc000000000000000, fmax.d fa0, fa1, fa2)
  TEST_FD(54, 0xfff0000000000000, 0, 0xfff0000000000000, 0x7ff0000000000000, fmin.d fa0, fa1, fa2)

  # Comparisons (11.8): feq signals only on sNaN, flt/fle on any NaN.
  TEST_FSX(55, 0, 0, 0x7fc00000, 0x3f800000, feq.s s2, fa1, fa2)
  TEST_FSX(56, 0, 0x10, 0x7f800001, 0x3f800000, feq.s s2, fa1, fa2)
  TEST_FSX(57, 0, 0x10, 0x7fc00000, 0x3f800000, flt.s s2, fa1, fa2)
  TEST_FSX(58, 1, 0, 0x80000000, 0x00000000, fle.s s2, fa1, fa2)
  TEST_FSX(59, 1, 0, 0x80000000, 0x00000000, feq.s s2, fa1, fa2)
  TEST_FSX(60, 0, 0, 0x80000000, 0x00000000, flt.s s2, fa1, fa2)
  TEST_FDX(61, 1, 0, 0xfff0000000000000, 0xffefffffffffffff, flt.d s2, fa1, fa2)
  TEST_FDX(62, 0, 0x10, 0x3ff0000000000000, 0x7ff8000000000000, fle.d s2, fa1, fa2)
  TEST_FDX(63, 0, 0x10, 0x3ff0000000000000, 0x7ff0000000000001, feq.d s2, fa1, fa2)
  TEST_FDX(64, 1, 0, 0x0000000000000001, 0x0000000000000001, feq.d s2, fa1, fa2)

  # fclass (table 11.5).
  TEST_FSX(65, 0x001, 0, 0xff800000, 0, fclass.s s2, fa1)
  TEST_FSX(66, 0x002, 0, 0xbf800000, 0, fclass.s s2, fa1)
  TEST_FSX(67, 0x004, 0, 0x807fffff, 0, fclass.s s2, fa1)
  TEST_FSX(68, 0x008, 0, 0x80000000, 0, fclass.s s2, fa1)
  TEST_FSX(69, 0x010, 0, 0x00000000, 0, fclass.s s2, fa1)
  TEST_FSX(70, 0x020, 0, 0x00000001, 0, fclass.s s2, fa1)
  TEST_FSX(71, 0x040, 0, 0x00800000, 0, fclass.s s2, fa1)
  TEST_FSX(72, 0x080, 0, 0x7f800000, 0, fclass.s s2, fa1)
  TEST_FSX(73, 0x100, 0, 0x7fbfffff, 0, fclass.s s2, fa1)
  TEST_FSX(74, 0x200, 0, 0xffc00000, 0, fclass.s s2, fa1)
  TEST_FDX(75, 0x100, 0, 0x7ff0000000000001, 0, fclass.d s2, fa1)
  TEST_FDX(76, 0x200, 0, 0x7ff8000000000000, 0, fclass.d s2, fa1)
  TEST_FDX(77, 0x004, 0, 0x800fffffffffffff, 0, fclass.d s2, fa1)
  TEST_FDX(78, 0x040, 0, 0x7fefffffffffffff, 0, fclass.d s2, fa1)

  # RV64DC compressed loads and stores (c.fld/c.fsd with x8-x15/f8-f15, c.fldsp/c.fsdsp).
  .option push
  .option rvc
  TEST_CASE(79, s2, 0x0123456789abcdef, la a0, buf; li s0, 0x0123456789abcdef; sd s0, 8(a0); c.fld fa5, 8(a0); fmv.x.d s2, fa5)
  TEST_CASE(80, s2, 0x0123456789abcdef, la a0, buf; c.fsd fa5, 16(a0); ld s2, 16(a0))
  TEST_CASE(81, s2, 0x7ff00000deadbeef, li s0, 0x7ff00000deadbeef; sd s0, 24(sp); c.fldsp ft0, 24(sp); fmv.x.d s2, ft0)
  TEST_CASE(82, s2, 0x7ff00000deadbeef, c.fsdsp ft0, 40(sp); ld s2, 40(sp))
  .option pop
TEST_END
PRIV_HANDLERS

  .section .data
  .align 4
buf:
  .space 64
