# RV64C: every compressed instruction of RV64C without F/D (c.jal is RV32
# only; its encoding is c.addiw on RV64), each at its immediate extremes,
# plus 32-bit instructions at 2-byte aligned addresses (also one that
# straddles a 4 KiB page). Every instruction in the cases is written with
# its explicit c. mnemonic, so the assembler must emit the 16-bit form (or
# reject the operand); check with riscv64-unknown-elf-objdump -d.
# Registers: the 3-bit register fields (rd'/rs1'/rs2') reach x8..x15 only,
# so the cases use a0..a5 (x10..x15).
#include "test.h"

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN
  .option rvc
  # Keep the exact layout: no linker relaxation may shrink the distances
  # that the branch-range cases rely on.
  .option norelax

  # The stack cases below use sp .. sp+511; keep them below stack_top.
  addi sp, sp, -1024

  # c.addi4spn rd', sp, nzuimm: rd' = sp + zero-extended imm (4..1020, x4).
  TEST_CASE(1, a0, 4, c.addi4spn a0, sp, 4; sub a0, a0, sp)
  TEST_CASE(2, a0, 1020, c.addi4spn a0, sp, 1020; sub a0, a0, sp)
  # c.addi16sp: sp += sign-extended nzimm (-512..496, x16).
  TEST_CASE(3, a0, 512, mv a1, sp; c.addi16sp sp, -512; sub a0, a1, sp)
  TEST_CASE(4, a0, 16, c.addi16sp sp, 496; sub a0, a1, sp)
  TEST_CASE(5, a0, 0, c.addi16sp sp, 16; sub a0, a1, sp)

  # c.li rd, imm: sign-extended 6-bit immediate (-32..31).
  TEST_CASE(6, a0, -32, li a0, 0; c.li a0, -32)
  TEST_CASE(7, a0, 31, li a0, -1; c.li a0, 31)
  TEST_CASE(8, a0, 0, li a0, -1; c.li a0, 0)
  # c.lui rd, nzimm: imm[17:12], sign-extended from bit 17.
  TEST_CASE(9, a0, 0x1000, c.lui a0, 1)
  TEST_CASE(10, a0, 0x1f000, c.lui a0, 31)
  TEST_CASE(11, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
  TEST_CASE(12, a0, 0xfffffffffffff000, c.lui a0, 0xfffff)

  # c.addi rd, nzimm: 64-bit add of a sign-extended 6-bit immediate.
  TEST_CASE(13, a0, -32, li a0, 0; c.addi a0, -32)
  TEST_CASE(14, a0, 32, li a0, 1; c.addi a0, 31)
  TEST_CASE(15, a0, MIN, li a0, MAX; c.addi a0, 1)
  # c.addiw rd, imm: 32-bit add, result sign-extended; imm 0 is sext.w.
  TEST_CASE(16, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
  TEST_CASE(17, a0, -1, li a0, 0xffffffff; c.addiw a0, 0)
  TEST_CASE(18, a0, -32, li a0, 0x100000000; c.addiw a0, -32)
  TEST_CASE(19, a0, 0x7fffffff, li a0, 0xffffffff80000000; c.addiw a0, -1)
  TEST_CASE(20, a0, 31, li a0, 0x1200000000; c.addiw a0, 31)

  # c.slli/c.srli/c.srai: 6-bit shamt 1..63.
  TEST_CASE(21, a0, MIN, li a0, 1; c.slli a0, 63)
  TEST_CASE(22, a0, 0xffffffff00000000, li a0, 0xffffffff; c.slli a0, 32)
  TEST_CASE(23, a0, 2, li a0, 1; c.slli a0, 1)
  TEST_CASE(24, a0, 1, li a0, MIN; c.srli a0, 63)
  TEST_CASE(25, a0, MAX, li a0, -1; c.srli a0, 1)
  TEST_CASE(26, a0, 0xffffffff, li a0, -1; c.srli a0, 32)
  TEST_CASE(27, a0, -1, li a0, MIN; c.srai a0, 63)
  TEST_CASE(28, a0, 0xffffffff80000000, li a0, MIN; c.srai a0, 32)
  TEST_CASE(29, a0, 0x3fffffffffffffff, li a0, MAX; c.srai a0, 1)
  # c.andi rd', imm: sign-extended 6-bit immediate.
  TEST_CASE(30, a0, 0xffffffffffffffe0, li a0, -1; c.andi a0, -32)
  TEST_CASE(31, a0, 31, li a0, -1; c.andi a0, 31)
  TEST_CASE(32, a0, 0, li a0, -1; c.andi a0, 0)

  # Register-register ops on x8..x15, all 64 bits.
  TEST_CASE(33, a0, -1, li a0, 0; li a1, 1; c.sub a0, a1)
  TEST_CASE(34, a0, MAX, li a0, MIN; li a1, 1; c.sub a0, a1)
  TEST_CASE(35, a0, 0xf00ff00ff00ff00f, li a0, 0xff00ff00ff00ff00; li a1, 0x0f0f0f0f0f0f0f0f; c.xor a0, a1)
  TEST_CASE(36, a0, 0xff0fff0fff0fff0f, li a0, 0xff00ff00ff00ff00; li a1, 0x0f0f0f0f0f0f0f0f; c.or a0, a1)
  TEST_CASE(37, a0, 0x0f000f000f000f00, li a0, 0xff00ff00ff00ff00; li a1, 0x0f0f0f0f0f0f0f0f; c.and a0, a1)
  # c.subw/c.addw: 32-bit, result sign-extended.
  TEST_CASE(38, a0, -1, li a0, 0x100000000; li a1, 1; c.subw a0, a1)
  TEST_CASE(39, a0, 0x7fffffff, li a0, 0x80000000; li a1, 1; c.subw a0, a1)
  TEST_CASE(40, a0, 0xffffffff80000000, li a0, 0x7fffffff; li a1, 1; c.addw a0, a1)
  TEST_CASE(41, a0, 8, li a0, 0xffffffff00000005; li a1, 0x100000003; c.addw a0, a1)
  # c.mv copies all 64 bits; c.add is a full 64-bit add (any registers).
  TEST_CASE(42, a0, 0x123456789abcdef0, li a1, 0x123456789abcdef0; c.mv a0, a1)
  TEST_CASE(43, s2, MIN, li s2, MAX; li s3, 1; c.add s2, s3)
  TEST_CASE(44, t0, 0x100000000, li t0, 0xffffffff; li t1, 1; c.add t0, t1)
  TEST_CASE(45, s4, -1, li s4, 0; li t1, -1; c.mv s4, t1)

  # c.lw/c.ld with rs1' base: zero-extended offsets 0..124 (x4) / 0..248 (x8);
  # c.lw sign-extends.
  TEST_CASE(46, a0, 0xffffffff80000000, la a1, cbuf; li a2, 0x80000000; sw a2, 0(a1); li a0, 0; c.lw a0, 0(a1))
  TEST_CASE(47, a0, 0x7654321, la a1, cbuf; li a2, 0x7654321; sw a2, 124(a1); c.lw a0, 124(a1))
  TEST_CASE(48, a0, MIN, la a1, cbuf; li a2, MIN; sd a2, 0(a1); c.ld a0, 0(a1))
  TEST_CASE(49, a0, 0x0123456789abcdef, la a1, cbuf; li a2, 0x0123456789abcdef; sd a2, 248(a1); c.ld a0, 248(a1))
  # c.sw stores 4 bytes (the neighbour word stays), c.sd 8.
  TEST_CASE(50, a2, 0x0000000099aabbcc, la a1, cbuf; sd zero, 120(a1); li a0, 0x1122334499aabbcc; c.sw a0, 120(a1); ld a2, 120(a1))
  TEST_CASE(51, a2, 0x99aabbcc00000000, la a1, cbuf; sd zero, 120(a1); li a0, 0x1122334499aabbcc; c.sw a0, 124(a1); ld a2, 120(a1))
  TEST_CASE(52, a2, 0x1122334499aabbcc, la a1, cbuf; sd zero, 248(a1); li a0, 0x1122334499aabbcc; c.sd a0, 248(a1); ld a2, 248(a1))
  TEST_CASE(53, a2, 0x1122334499aabbcc, la a1, cbuf; sd zero, 0(a1); li a0, 0x1122334499aabbcc; c.sd a0, 0(a1); ld a2, 0(a1))

  # sp-relative forms: offsets 0..252 (x4) for words, 0..504 (x8) for dwords.
  TEST_CASE(54, a0, 0xffffffff80000001, li a2, 0x80000001; sw a2, 252(sp); c.lwsp a0, 252(sp))
  TEST_CASE(55, a0, 0x5, li a2, 0x5; sw a2, 0(sp); c.lwsp a0, 0(sp))
  TEST_CASE(56, a0, 0xfedcba9876543210, li a2, 0xfedcba9876543210; sd a2, 504(sp); c.ldsp a0, 504(sp))
  TEST_CASE(57, a0, -2, li a2, -2; sd a2, 0(sp); c.ldsp a0, 0(sp))
  TEST_CASE(58, a2, 0x89abcdef00000000, sd zero, 248(sp); li a0, 0x0123456789abcdef; c.swsp a0, 252(sp); ld a2, 248(sp))
  TEST_CASE(59, a2, 0x0123456789abcdef, sd zero, 504(sp); li a0, 0x0123456789abcdef; c.sdsp a0, 504(sp); ld a2, 504(sp))
  TEST_CASE(60, a2, 0x0000000089abcdef, sd zero, 0(sp); li a0, 0x0123456789abcdef; c.swsp a0, 0(sp); ld a2, 0(sp))

  # c.j: offsets are sign-extended 12 bits: +2046 and -2048 are the extremes.
  # The gaps are filled with 0x0000 (an illegal instruction), so landing
  # anywhere but on the target traps (exit 0x7f).
test_61:
  li TESTNUM, 61
  c.j 1f
  .fill 1022, 2, 0
1:
test_62:
  li TESTNUM, 62
  j 2f
1:.option push
  .option norvc
  j 3f                     # 4 bytes: the -2048 target
  .option pop
  .fill 1022, 2, 0
2:c.j 1b
  j fail
3:
  # c.beqz/c.bnez: taken iff rs1' ==/!= 0 over all 64 bits; offsets +254/-256.
test_63:
  li TESTNUM, 63
  li a0, 0
  c.beqz a0, 1f
  .fill 126, 2, 0
1:
test_64:
  li TESTNUM, 64
  li a0, 0x100000000       # zero low word, yet non-zero
  c.beqz a0, fail
  c.bnez a0, 1f
  j fail
1:
test_65:
  li TESTNUM, 65
  li a0, MIN
  j 2f
1:.option push
  .option norvc
  j 3f                     # 4 bytes: the -256 target
  .option pop
  .fill 126, 2, 0
2:c.bnez a0, 1b
  j fail
3:
test_66:
  li TESTNUM, 66
  li a0, 0
  c.bnez a0, fail
  c.beqz a0, 1f
  j fail
1:

  # c.jr jumps to rs1; c.jalr also links ra = pc + 2 (not + 4).
test_67:
  li TESTNUM, 67
  la a0, 1f
  c.jr a0
  j fail
1:
test_68:
  li TESTNUM, 68
  la a0, 1f
2:c.jalr a0
  j fail
1:la a1, 2b
  addi a1, a1, 2
  bne ra, a1, fail
  # c.jalr ra: the target is the old ra, then ra gets the link.
test_69:
  li TESTNUM, 69
  la ra, 1f
2:c.jalr ra
  j fail
1:la a1, 2b
  addi a1, a1, 2
  bne ra, a1, fail

  # c.nop executes without effect (an emulator that cannot decode it traps).
  TEST_CASE(70, a0, 7, li a0, 7; c.nop; c.nop)

  # c.ebreak raises a breakpoint exception (mcause 3) with mepc at the
  # 2-byte instruction; the handler resumes at mepc + 2.
test_71:
  li TESTNUM, 71
  la t0, ebreak_handler
  csrw mtvec, t0
  li a4, 0
  la a5, 1f
1:c.ebreak
  la t0, unexpected_trap
  csrw mtvec, t0
  CHECK_EQ(a4, 1)

  # A 32-bit instruction at an address = 2 mod 4, reached by falling through
  # and by a jump, then one that straddles a 4 KiB page boundary.
test_72:
  li TESTNUM, 72
  li a0, 0
  .balign 4
  c.nop
  .option push
  .option norvc
1:addi a0, a0, 0x123       # at 4k + 2
  .option pop
  CHECK_EQ(a0, 0x123)
  la a1, 1b
  andi a1, a1, 3
  CHECK_EQ(a1, 2)
test_73:
  li TESTNUM, 73
  li a0, 0
  la a1, 1f
  jalr a2, 0(a1)
  .balign 4
  c.nop
  .option push
  .option norvc
1:addi a0, a0, 0x456       # at 4k + 2
  .option pop
  CHECK_EQ(a0, 0x456)
test_74:
  li TESTNUM, 74
  li a0, 0
  j 1f
  .balign 4096
  .fill 2047, 2, 0
  .option push
  .option norvc
1:addi a0, a0, 0x789       # bytes at page_end - 2 .. page_end + 1
  .option pop
  CHECK_EQ(a0, 0x789)
  la a1, 1b
  li a2, 0xfff
  and a1, a1, a2
  CHECK_EQ(a1, 0xffe)

  addi sp, sp, 1024
  j pass

  .balign 4
ebreak_handler:
  csrr t0, mcause
  li t1, 3
  bne t0, t1, fail
  csrr t0, mepc
  bne t0, a5, fail
  addi t0, t0, 2
  csrw mepc, t0
  li a4, 1
  mret
TEST_END

  .data
  .balign 8
cbuf:
  .space 256
