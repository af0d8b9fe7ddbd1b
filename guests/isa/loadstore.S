# RV64I loads and stores: widths, sign/zero extension, positive/negative and
# extreme offsets, and misaligned accesses, which QEMU (the reference) and
# rvisor complete transparently in M-mode without a trap (the spec allows
# either handling in hardware or an address-misaligned exception).
#include "test.h"

# Byte pattern used by the load tests (offset: byte):
#   0: 01 82 03 84 05 86 07 88   8: 7f ff 80 00 11 22 33 44
#define D0 0x8807860584038201
#define D1 0x443322110080ff7f
# Store tests store V, whose bytes in memory order are 11 22 33 .. 88 (all
# non-zero, so a store that writes too many bytes is seen in a zeroed buffer).
#define V 0x8877665544332211

TEST_BEGIN
  .option norvc

  # Aligned loads: lb/lh/lw sign-extend, lbu/lhu/lwu zero-extend, ld is whole.
  TEST_LD(1, lb, 1, ld_data, 0, 0)
  TEST_LD(2, lb, 0xffffffffffffff82, ld_data, 0, 1)
  TEST_LD(3, lbu, 0x82, ld_data, 0, 1)
  TEST_LD(4, lb, 0x7f, ld_data, 0, 8)
  TEST_LD(5, lb, -1, ld_data, 0, 9)
  TEST_LD(6, lbu, 0xff, ld_data, 0, 9)
  TEST_LD(7, lh, 0xffffffffffff8201, ld_data, 0, 0)
  TEST_LD(8, lhu, 0x8201, ld_data, 0, 0)
  TEST_LD(9, lh, 0x80, ld_data, 0, 10)
  TEST_LD(10, lh, 0xffffffffffffff7f, ld_data, 0, 8)
  TEST_LD(11, lhu, 0xff7f, ld_data, 0, 8)
  TEST_LD(12, lw, 0xffffffff84038201, ld_data, 0, 0)
  TEST_LD(13, lwu, 0x84038201, ld_data, 0, 0)
  TEST_LD(14, lw, 0xffffffff88078605, ld_data, 0, 4)
  TEST_LD(15, lwu, 0x88078605, ld_data, 0, 4)
  TEST_LD(16, lw, 0x0080ff7f, ld_data, 0, 8)
  TEST_LD(17, lwu, 0x44332211, ld_data, 0, 12)
  TEST_LD(18, ld, D0, ld_data, 0, 0)
  TEST_LD(19, ld, D1, ld_data, 0, 8)

  # Negative offsets and the 12-bit immediate extremes (-2048, 2047).
  TEST_LD(20, lb, 0xffffffffffffff82, ld_data, 16, -15)
  TEST_LD(21, ld, D0, ld_data, 16, -16)
  TEST_LD(22, lw, 0xffffffff88078605, ld_data, 16, -12)
  TEST_LD(23, lhu, 0xff7f, ld_data, 16, -8)
  TEST_LD(24, lbu, 0x88, ld_data, 8, -1)
  TEST_LD(25, lbu, 0x82, ld_data, -2046, 2047)
  TEST_LD(26, ld, D1, ld_data, 2056, -2048)

  # Misaligned loads inside one dword and across an 8-byte boundary.
  TEST_LD(27, lh, 0x0382, ld_data, 0, 1)
  TEST_LD(28, lh, 0x7f88, ld_data, 0, 7)
  TEST_LD(29, lh, 0xffffffffffff80ff, ld_data, 0, 9)
  TEST_LD(30, lhu, 0x80ff, ld_data, 0, 9)
  TEST_LD(31, lw, 0x05840382, ld_data, 0, 1)
  TEST_LD(32, lw, 0x07860584, ld_data, 0, 3)
  TEST_LD(33, lw, 0x7f880786, ld_data, 0, 5)
  TEST_LD(34, lw, 0xffffffffff7f8807, ld_data, 0, 6)
  TEST_LD(35, lwu, 0xff7f8807, ld_data, 0, 6)
  TEST_LD(36, lw, 0xffffffff80ff7f88, ld_data, 0, 7)
  TEST_LD(37, lwu, 0x80ff7f88, ld_data, 0, 7)
  TEST_LD(38, ld, 0x7f88078605840382, ld_data, 0, 1)
  TEST_LD(39, ld, 0x80ff7f8807860584, ld_data, 0, 3)
  TEST_LD(40, ld, 0x0080ff7f88078605, ld_data, 0, 4)
  TEST_LD(41, ld, 0x3322110080ff7f88, ld_data, 0, 7)
  TEST_LD(42, ld, 0x3322110080ff7f88, ld_data, 8, -1)

  # Misaligned loads across a 4 KiB page boundary (page_x has the same
  # pattern as ld_data, with the page boundary between offsets 7 and 8).
  TEST_LD(43, lh, 0x7f88, page_x, 0, 7)
  TEST_LD(44, lw, 0xffffffffff7f8807, page_x, 0, 6)
  TEST_LD(45, lwu, 0x80ff7f88, page_x, 0, 7)
  TEST_LD(46, ld, 0x110080ff7f880786, page_x, 0, 5)
  TEST_LD(47, ld, 0x3322110080ff7f88, page_x, 0, 7)

  # Aligned stores write exactly 1/2/4/8 bytes: the low bytes of rs2.
  TEST_ST(48, sb, V, st_buf, 0, 0, 0x11, 0)
  TEST_ST(49, sb, V, st_buf, 0, 3, 0x11000000, 0)
  TEST_ST(50, sb, V, st_buf, 0, 15, 0, 0x1100000000000000)
  TEST_ST(51, sh, V, st_buf, 0, 0, 0x2211, 0)
  TEST_ST(52, sh, V, st_buf, 0, 6, 0x2211000000000000, 0)
  TEST_ST(53, sw, V, st_buf, 0, 0, 0x44332211, 0)
  TEST_ST(54, sw, V, st_buf, 0, 4, 0x4433221100000000, 0)
  TEST_ST(55, sd, V, st_buf, 0, 0, V, 0)
  TEST_ST(56, sd, V, st_buf, 0, 8, 0, V)

  # Stores with negative offsets.
  TEST_ST(57, sb, V, st_buf, 8, -1, 0x1100000000000000, 0)
  TEST_ST(58, sd, V, st_buf, 16, -16, V, 0)
  TEST_ST(59, sw, V, st_buf, 16, -9, 0x1100000000000000, 0x443322)
  TEST_ST(60, sh, V, st_buf, 2047, -2046, 0x221100, 0)

  # Misaligned stores inside one dword and across an 8-byte boundary.
  TEST_ST(61, sh, V, st_buf, 0, 1, 0x221100, 0)
  TEST_ST(62, sh, V, st_buf, 0, 7, 0x1100000000000000, 0x22)
  TEST_ST(63, sw, V, st_buf, 0, 2, 0x0000443322110000, 0)
  TEST_ST(64, sw, V, st_buf, 0, 5, 0x3322110000000000, 0x44)
  TEST_ST(65, sw, V, st_buf, 0, 6, 0x2211000000000000, 0x4433)
  TEST_ST(66, sw, V, st_buf, 0, 7, 0x1100000000000000, 0x443322)
  TEST_ST(67, sd, V, st_buf, 0, 1, 0x7766554433221100, 0x88)
  TEST_ST(68, sd, V, st_buf, 0, 3, 0x5544332211000000, 0x887766)
  TEST_ST(69, sd, V, st_buf, 0, 7, 0x1100000000000000, 0x0088776655443322)

  # Misaligned stores across the 4 KiB page boundary (page_x + 8).
  TEST_ST(70, sh, V, page_x, 0, 7, 0x1100000000000000, 0x22)
  TEST_ST(71, sw, V, page_x, 0, 6, 0x2211000000000000, 0x4433)
  TEST_ST(72, sd, V, page_x, 0, 5, 0x3322110000000000, 0x0000008877665544)

  # A stored value reads back with the load's own extension rule.
  TEST_CASE(73, s2, 0xffffffff80000000, la s0, st_buf; li s1, 0x80000000; sw s1, 0(s0); lw s2, 0(s0))
  TEST_CASE(74, s2, 0x80000000, la s0, st_buf; li s1, 0x80000000; sw s1, 0(s0); lwu s2, 0(s0))
  TEST_CASE(75, s2, -1, la s0, st_buf; li s1, 0xffff; sh s1, 2(s0); lh s2, 2(s0))
  TEST_CASE(76, s2, 0xffff, la s0, st_buf; li s1, -1; sh s1, 2(s0); lhu s2, 2(s0))
  TEST_CASE(77, s2, -128, la s0, st_buf; li s1, 0x180; sb s1, 5(s0); lb s2, 5(s0))
  TEST_CASE(78, s2, 0x80, la s0, st_buf; li s1, 0x180; sb s1, 5(s0); lbu s2, 5(s0))
  # Misaligned store then misaligned load of the same bytes.
  TEST_CASE(79, s2, 0x0123456789abcdef, la s0, st_buf; li s1, 0x0123456789abcdef; sd s1, 5(s0); ld s2, 5(s0))
  # A load into x0 is performed but the value is discarded.
  TEST_CASE(80, s2, 0, la s0, ld_data; ld x0, 0(s0); mv s2, x0)
  # The base register is read before a load overwrites it (rd == rs1).
  TEST_CASE(81, s0, D1, la s0, ld_data; ld s0, 8(s0))
TEST_END

  .data
  .balign 8
ld_data:
  .byte 0x01, 0x82, 0x03, 0x84, 0x05, 0x86, 0x07, 0x88
  .byte 0x7f, 0xff, 0x80, 0x00, 0x11, 0x22, 0x33, 0x44
st_buf:
  .space 16
  .balign 4096
  .space 4096 - 8
page_x:
  .byte 0x01, 0x82, 0x03, 0x84, 0x05, 0x86, 0x07, 0x88
  .byte 0x7f, 0xff, 0x80, 0x00, 0x11, 0x22, 0x33, 0x44
