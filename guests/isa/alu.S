# RV64I integer computation: register-register and register-immediate ops,
# their 32-bit W forms, lui/auipc, set-less-than edge cases and x0 writes.
# Expected values follow the RISC-V unprivileged spec (RV32I/RV64I chapters).
#include "test.h"

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN
  # Uncompressed encodings only: RVC is covered by compressed.S.
  .option norvc

  # add/sub wrap modulo 2^64 (no overflow trap); all 64 bits take part.
  TEST_RR(1, add, 3, 1, 2)
  TEST_RR(2, add, MIN, MAX, 1)
  TEST_RR(3, add, 0, -1, 1)
  TEST_RR(4, add, 0, MIN, MIN)
  TEST_RR(5, add, 0x100000000, 0xffffffff, 1)
  TEST_RR(6, sub, -1, 0, 1)
  TEST_RR(7, sub, MAX, MIN, 1)
  TEST_RR(8, sub, MIN, 0, MIN)
  TEST_RR(9, sub, 0xffffffff, 0x100000000, 1)

  # sll/srl/sra use only rs2[5:0]; srl fills with zeros, sra with bit 63.
  TEST_RR(10, sll, MIN, 1, 63)
  TEST_RR(11, sll, 1, 1, 64)
  TEST_RR(12, sll, 2, 1, 65)
  TEST_RR(13, sll, MIN, 1, -1)
  TEST_RR(14, sll, 0x100000000, 1, 32)
  TEST_RR(15, srl, 1, MIN, 63)
  TEST_RR(16, srl, MAX, -1, 1)
  TEST_RR(17, srl, MIN, MIN, 64)
  TEST_RR(18, srl, 0xffffffff, -1, 32)
  TEST_RR(19, sra, -1, MIN, 63)
  TEST_RR(20, sra, 0xc000000000000000, MIN, 1)
  TEST_RR(21, sra, 0, MAX, 63)
  TEST_RR(22, sra, 0xffffffff80000000, MIN, 32)
  TEST_RR(23, sra, MIN, MIN, -64)

  # Bitwise ops over all 64 bits.
  TEST_RR(24, and, 0x0f000f000f000f00, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
  TEST_RR(25, or, 0xff0fff0fff0fff0f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
  TEST_RR(26, xor, 0xf00ff00ff00ff00f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
  TEST_RR(27, xor, 0xedcba9876543210f, 0x123456789abcdef0, -1)

  # slt compares signed, sltu unsigned; the result is exactly 0 or 1.
  TEST_RR(28, slt, 1, -1, 1)
  TEST_RR(29, slt, 0, 1, -1)
  TEST_RR(30, slt, 1, MIN, MAX)
  TEST_RR(31, slt, 0, MAX, MIN)
  TEST_RR(32, slt, 0, 5, 5)
  TEST_RR(33, slt, 0, 0x80000000, 1)
  TEST_RR(34, sltu, 0, -1, 1)
  TEST_RR(35, sltu, 1, 1, -1)
  TEST_RR(36, sltu, 0, MIN, MAX)
  TEST_RR(37, sltu, 1, MAX, MIN)
  TEST_RR(38, sltu, 0, 5, 5)
  # sltu rd, x0, rs (snez) is 1 iff rs != 0, also when only high bits are set.
  TEST_CASE(39, s2, 1, li s1, 0x100000000; sltu s2, x0, s1)
  TEST_CASE(40, s2, 0, li s1, 0; sltu s2, x0, s1)

  # I-type immediates are 12 bits, sign-extended to 64 (range -2048..2047).
  TEST_RI(41, addi, 0x800, 0x7ff, 1)
  TEST_RI(42, addi, 0x7ff, 0, 2047)
  TEST_RI(43, addi, -2048, 0, -2048)
  TEST_RI(44, addi, 0, 1, -1)
  TEST_RI(45, addi, MIN, MAX, 1)
  TEST_RI(46, addi, 0xffffffff, 0x100000000, -1)
  TEST_RI(47, andi, 0x123456789abcdef0, 0x123456789abcdef0, -1)
  TEST_RI(48, andi, 0x6f0, 0x123456789abcdef0, 0x7ff)
  TEST_RI(49, andi, 0x123456789abcd800, 0x123456789abcdef0, -2048)
  TEST_RI(50, ori, 0xfffffffffffff800, 0, -2048)
  TEST_RI(51, ori, 0x123456789abcdff0, 0x123456789abcdef0, 0x100)
  TEST_RI(52, xori, 0xedcba9876543210f, 0x123456789abcdef0, -1)
  TEST_RI(53, xori, 0x123456789abcd90f, 0x123456789abcdef0, 0x7ff)
  # slti compares signed with the sign-extended immediate; sltiu compares
  # unsigned with the sign-extended immediate (so -1 means 2^64-1).
  TEST_RI(54, slti, 1, -1, 0)
  TEST_RI(55, slti, 0, 0, -1)
  TEST_RI(56, slti, 1, MIN, -2048)
  TEST_RI(57, slti, 0, 2047, 2047)
  TEST_RI(58, slti, 0, 0x100000000, 1)
  TEST_RI(59, sltiu, 1, 5, -1)
  TEST_RI(60, sltiu, 0, -1, -1)
  TEST_RI(61, sltiu, 1, 0, 1)
  TEST_RI(62, sltiu, 0, 0x100000000, 1)
  TEST_RI(63, sltiu, 1, 0xfffffffffffff7ff, -2048)

  # Immediate shifts take a 6-bit shamt on RV64 (0..63).
  TEST_RI(64, slli, MIN, 1, 63)
  TEST_RI(65, slli, 0x123456789abcdef0, 0x123456789abcdef0, 0)
  TEST_RI(66, slli, 0x9abcdef000000000, 0x123456789abcdef0, 32)
  TEST_RI(67, srli, 1, MIN, 63)
  TEST_RI(68, srli, 0x12345678, 0x123456789abcdef0, 32)
  TEST_RI(69, srli, -1, -1, 0)
  TEST_RI(70, srai, -1, MIN, 63)
  TEST_RI(71, srai, 0xffffffff80000000, MIN, 32)
  TEST_RI(72, srai, 0x12345678, 0x123456789abcdef0, 32)

  # W forms: operate on the low 32 bits of the sources (upper bits ignored)
  # and sign-extend the 32-bit result to 64 bits.
  TEST_RR(73, addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR(74, addw, 3, 0x1234567800000001, 0xabcdef0000000002)
  TEST_RR(75, addw, 0, -1, 1)
  TEST_RR(76, addw, 0, 0xffffffff, 1)
  TEST_RR(77, subw, -1, 0, 1)
  TEST_RR(78, subw, 0x7fffffff, 0xffffffff80000000, 1)
  TEST_RR(79, subw, 0xffffffff80000000, 0x0000000080000001, 0x1000000000000001)
  # sllw/srlw/sraw use rs2[4:0] only; srlw/sraw shift the low word only.
  TEST_RR(80, sllw, 0xffffffff80000000, 1, 31)
  TEST_RR(81, sllw, 1, 1, 32)
  TEST_RR(82, sllw, 0xffffffffffff0000, 0x123456780000ffff, 16)
  TEST_RR(83, srlw, 1, 0x80000000, 31)
  TEST_RR(84, srlw, 0xffffffff80000000, 0x0000000080000000, 0)
  TEST_RR(85, srlw, 0x7fffffff, -1, 1)
  TEST_RR(86, srlw, 0, 0xffffffff00000000, 1)
  TEST_RR(87, srlw, 0xffffffff80000000, 0x80000000, 32)
  TEST_RR(88, sraw, -1, 0x80000000, 31)
  TEST_RR(89, sraw, 0, 0x7fffffff, 31)
  TEST_RR(90, sraw, 0xfffffffff8000000, 0x0000000080000000, 4)
  TEST_RR(91, sraw, 0x07ffffff, 0xffffffff7fffffff, 36)
  TEST_RI(92, addiw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RI(93, addiw, -1, 0xffffffff, 0)
  TEST_RI(94, addiw, 0, 0x100000000, 0)
  TEST_RI(95, addiw, 0x7ffff800, 0xffffffff80000000, -2048)
  TEST_RI(96, addiw, 0x7ff, 0xabcdef0000000000, 2047)
  TEST_RI(97, slliw, 0xffffffff80000000, 1, 31)
  TEST_RI(98, slliw, 0xffffffff80000000, 0x0000000080000000, 0)
  TEST_RI(99, slliw, 0x56780000, 0x1234567812345678, 16)
  TEST_RI(100, srliw, 1, 0x80000000, 31)
  TEST_RI(101, srliw, 0xffffffff80000000, 0x80000000, 0)
  TEST_RI(102, srliw, 0x7fffffff, -1, 1)
  TEST_RI(103, srliw, 0x00008765, 0x1234567887654321, 16)
  TEST_RI(104, sraiw, -1, 0x80000000, 31)
  TEST_RI(105, sraiw, 0xffffffff87654321, 0x1234567887654321, 0)
  TEST_RI(106, sraiw, 0xffffffffffff8765, 0x1234567887654321, 16)

  # lui places imm<<12 and sign-extends bit 31 to 64 bits.
  TEST_CASE(107, s2, 0xffffffff80000000, lui s2, 0x80000)
  TEST_CASE(108, s2, 0x7ffff000, lui s2, 0x7ffff)
  TEST_CASE(109, s2, 0xfffffffffffff000, lui s2, 0xfffff)
  TEST_CASE(110, s2, 0x1000, li s2, -1; lui s2, 1)
  # auipc adds the sign-extended imm<<12 to its own address.
  TEST_CASE(111, s2, 0, 1: auipc s2, 0; lla s0, 1b; sub s2, s2, s0)
  TEST_CASE(112, s2, 0x1000, 1: auipc s2, 1; lla s0, 1b; sub s2, s2, s0)
  # imm 0x80000 is -2^31: pc - 0x80000000, not pc + 0x80000000.
  TEST_CASE(113, s2, 0x80000000, 1: auipc s2, 0x80000; lla s0, 1b; sub s2, s0, s2)
  TEST_CASE(114, s2, 0x1000, 1: auipc s2, 0xfffff; lla s0, 1b; sub s2, s0, s2)

  # Writes to x0 are discarded and x0 always reads 0.
  TEST_CASE(115, s2, 0, addi x0, x0, 5; mv s2, x0)
  TEST_CASE(116, s2, 0, lui x0, 0x12345; add s2, x0, x0)
  TEST_CASE(117, s2, 0, li s0, 7; li s1, 9; add x0, s0, s1; mv s2, x0)
  TEST_CASE(118, s2, 0, 1: auipc x0, 1; addi s2, x0, 0)
  TEST_CASE(119, s2, 0, li s0, -1; slli x0, s0, 3; or s2, x0, x0)

  # rd may equal a source: the sources are read before rd is written.
  TEST_CASE(120, s0, 12, li s0, 6; add s0, s0, s0)
  TEST_CASE(121, s0, 0xffffffff80000000, li s0, 0x40000000; addw s0, s0, s0)
  TEST_CASE(122, s0, -5, li s0, 5; sub s0, x0, s0)
TEST_END
