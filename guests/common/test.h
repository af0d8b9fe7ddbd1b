/*
 * ISA test framework for rvisor's own guests (bare metal, entered in M-mode at
 * 0x8000_0000 with a0 = hart id, a1 = DTB, as QEMU's -bios none -kernel does).
 *
 * A test reports through the syscon test finisher at 0x10_0000, which both QEMU
 * and rvisor understand: 0x5555 = pass, (N << 16) | 0x3333 = fail with exit code N.
 * gp (x3) holds the number of the case that runs, so a failure exits with it.
 *
 * Usage:
 *   #include "test.h"
 *   TEST_BEGIN
 *     TEST_RR(1, add, 3, 1, 2)          // case 1: add rd, rs1, rs2 with rs1=1, rs2=2 -> 3
 *     TEST_CASE(2, t0, 42, li t0, 42)   // case 2: run the code, then t0 must equal 42
 *   TEST_END
 *
 * Registers: t0..t2 and s10/s11 are scratch for the macros; gp is the case number.
 * An unexpected trap fails with exit code 0x7f (mcause in s11, mepc in s10).
 */
#ifndef RVISOR_TEST_H
#define RVISOR_TEST_H

#define SYSCON_BASE 0x100000
#define UART_BASE   0x10000000
#define CLINT_BASE  0x2000000
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)
#define PLIC_BASE   0xc000000

#define TESTNUM gp

/* 4-byte alignment for trap handlers (mtvec ignores misaligned bases). RVC must be on
 * for it: with `.option norvc` the assembler cannot pad by 2 bytes and silently
 * leaves the code misaligned, which tests that switch RVC off did. */
#define ALIGN4 .option push; .option rvc; .balign 4; .option pop

/* Entry: set up a trap vector that fails, a stack, then run the cases. */
#define TEST_BEGIN                      \
  .section .text.init;                  \
  .globl _start;                        \
_start:                                 \
  la t0, unexpected_trap;               \
  csrw mtvec, t0;                       \
  la sp, stack_top;                     \
  li TESTNUM, 0;

/* Pass after the last case; include the shared failure paths and a stack. */
#define TEST_END                        \
  j pass;                               \
  ALIGN4;                               \
unexpected_trap:                        \
  csrr s11, mcause;                     \
  csrr s10, mepc;                       \
  li TESTNUM, 0x7f;                     \
  j fail;                               \
pass:                                   \
  li t0, SYSCON_BASE;                   \
  li t1, 0x5555;                        \
  sw t1, 0(t0);                         \
1: j 1b;                                \
fail:                                   \
  li t0, SYSCON_BASE;                   \
  slli t1, TESTNUM, 16;                 \
  li t2, 0x3333;                        \
  or t1, t1, t2;                        \
  sw t1, 0(t0);                         \
2: j 2b;                                \
  .section .bss;                        \
  .align 4;                             \
  .space 8192;                          \
stack_top:                              \
  .section .text;

/* Run `code...`, then fail with case `n` unless register `reg` equals `expected`. */
#define TEST_CASE(n, reg, expected, code...) \
test_##n:                               \
  li TESTNUM, n;                        \
  code;                                 \
  li t2, expected;                      \
  bne reg, t2, fail;

/* Register-register op: `op s2, s0, s1` with s0 = v1, s1 = v2; s2 must equal `expected`. */
#define TEST_RR(n, op, expected, v1, v2) \
  TEST_CASE(n, s2, expected, li s0, v1; li s1, v2; op s2, s0, s1)

/* Register-immediate op: `op s2, s0, imm` with s0 = v1. */
#define TEST_RI(n, op, expected, v1, imm) \
  TEST_CASE(n, s2, expected, li s0, v1; op s2, s0, imm)

/* Fail unconditionally with case `n` (for paths that must not be reached). */
#define FAIL_HERE(n) li TESTNUM, n; j fail

/* ======================================================================
 * Privileged-architecture helpers (privileged spec 1.12): mode switches and
 * a trap handler that checks every expected trap exactly.
 *
 * Registers reserved by this block: s5 = trap state, s6 = expected cause,
 * s7 = expected epc, s8 = expected tval, s9 = resume address, s4 = the mode
 * whose handler took the last expected trap (PRV_M or PRV_S). The handlers
 * use s10/s11 as scratch and touch no memory (they work under any satp/MPRV).
 *
 * s5 states: 0 = no trap expected (any trap fails with 0x7f), 1 = armed,
 * 2 = the expected trap was taken, 3 = "return to M-mode at s9" request
 * (made by RETURN_TO_M through ecall).
 *
 * Install with INSTALL_TRAP_HANDLER (M) / INSTALL_TRAP_HANDLER_S (stvec);
 * place PRIV_HANDLERS once after TEST_END. A mismatch fails with the case
 * number; s10 = 1/2/3 (cause/epc/tval mismatch), s11 = the value read.
 * ====================================================================== */
#ifndef RVISOR_PRIV_H
#define RVISOR_PRIV_H

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3
#define MSTATUS_SIE  (1 << 1)
#define MSTATUS_MIE  (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP  (1 << 8)
#define MSTATUS_MPP  (3 << 11)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM  (1 << 18)
#define MSTATUS_MXR  (1 << 19)
#define MSTATUS_TVM  (1 << 20)
#define MSTATUS_TW   (1 << 21)
#define MSTATUS_TSR  (1 << 22)
#define CAUSE_IRQ    (1 << 63)

#define INSTALL_TRAP_HANDLER  la t0, trap_handler_m; csrw mtvec, t0; li s5, 0
#define INSTALL_TRAP_HANDLER_S la t0, trap_handler_s; csrw stvec, t0; li s5, 0

/* Expect trap `cause`; resume at `resume`. The caller sets s7 (epc) and s8 (tval). */
#define ARM_TRAP(cause, resume) li s6, cause; la s9, resume; li s5, 1
/* Fail with the current case unless the armed trap was taken; disarm. */
#define CHECK_TRAPPED li t2, 2; bne s5, t2, fail; li s5, 0

/* Case n: the single instruction `insn` must trap with `cause`, epc = its
 * address, tval = `tval` (a constant); execution resumes after it. */
#define TEST_TRAP(n, cause, tval, insn...) \
  li TESTNUM, n;                        \
  li s8, tval;                          \
  TEST_TRAP_X(n, cause, insn)

/* As TEST_TRAP, with s8 (expected tval) set by the caller beforehand. */
#define TEST_TRAP_X(n, cause, insn...)  \
  li TESTNUM, n;                        \
  la s7, trap_epc_##n;                  \
  ARM_TRAP(cause, trap_ret_##n);        \
trap_epc_##n:                           \
  insn;                                 \
trap_ret_##n:                           \
  CHECK_TRAPPED

/* Continue at the next instruction in privilege `mode` (via mret from M). */
#define ENTER_MODE(mode)                \
  li t0, MSTATUS_MPP;                   \
  csrc mstatus, t0;                     \
  li t0, (mode) << 11;                  \
  csrs mstatus, t0;                     \
  la t0, 1f;                            \
  csrw mepc, t0;                        \
  mret;                                 \
1:

/* Continue at address `reg` (not t0) in privilege `mode`. */
#define ENTER_MODE_AT(mode, reg)        \
  li t0, MSTATUS_MPP;                   \
  csrc mstatus, t0;                     \
  li t0, (mode) << 11;                  \
  csrs mstatus, t0;                     \
  csrw mepc, reg;                       \
  mret

/* From S or U (pc identity-mapped): ecall, and continue at the next
 * instruction in M-mode. If ecall-from-U is delegated, trap_handler_s
 * forwards the request with an ecall from S (which must not be delegated). */
#define RETURN_TO_M                     \
  la s9, 1f;                            \
  li s5, 3;                             \
  ecall;                                \
1:

/* Case n: `insn` (one 32-bit instruction) must raise illegal instruction
 * (cause 2) with tval = its encoding (QEMU's choice: mtval = the instruction
 * bits, privileged spec 3.1.16 also allows 0). The code must be readable. */
#define TEST_ILLEGAL(n, insn...)        \
  la t0, trap_epc_##n;                  \
  lwu s8, 0(t0);                        \
  TEST_TRAP_X(n, 2, insn)

/* The same for a 16-bit (compressed) instruction: tval = its 16 bits. */
#define TEST_ILLEGAL16(n, insn...)      \
  la t0, trap_epc_##n;                  \
  lhu s8, 0(t0);                        \
  TEST_TRAP_X(n, 2, insn)

/* One PMP entry (0) that grants RWX on all memory: QEMU makes S/U accesses
 * fail while no PMP entry is configured (and mret to S/U is then illegal). */
#define PMP_ALLOW_ALL                   \
  li t0, -1;                            \
  csrw pmpaddr0, t0;                    \
  li t0, 0x1f;                          \
  csrw pmpcfg0, t0

/* Point xtvec at a capture handler: the trap lands there, which copies
 * x{status,cause,epc,tval} to a0..a3 and jumps to `resume` in the trap's
 * target mode without returning (so the state after trap entry is visible). */
#define CAPTURE_M(resume) la t0, capture_m; csrw mtvec, t0; la s9, resume
#define CAPTURE_S(resume) la t0, capture_s; csrw stvec, t0; la s9, resume
#define RESTORE_MTVEC la t0, trap_handler_m; csrw mtvec, t0

/* The handlers (checking, and capturing); place once after TEST_END. */
#define PRIV_HANDLERS                   \
  ALIGN4;                               \
trap_handler_m:                         \
  li s10, 3;                            \
  beq s5, s10, trap_m_return_to_m;      \
  li s10, 1;                            \
  bne s5, s10, unexpected_trap;         \
  csrr s11, mcause;                     \
  bne s11, s6, trap_bad;                \
  li s10, 2;                            \
  csrr s11, mepc;                       \
  bne s11, s7, trap_bad;                \
  li s10, 3;                            \
  csrr s11, mtval;                      \
  bne s11, s8, trap_bad;                \
  li s5, 2;                             \
  li s4, PRV_M;                         \
  csrw mepc, s9;                        \
  mret;                                 \
trap_m_return_to_m:                     \
  csrr s11, mcause;                     \
  addi s11, s11, -8;                    \
  li s10, 1;                            \
  bgtu s11, s10, unexpected_trap;       \
  li s10, MSTATUS_MPP;                  \
  csrs mstatus, s10;                    \
  csrw mepc, s9;                        \
  li s5, 0;                             \
  mret;                                 \
trap_bad:                               \
  j fail;                               \
  ALIGN4;                               \
trap_handler_s:                         \
  li s10, 3;                            \
  beq s5, s10, trap_s_return_to_m;      \
  li s10, 1;                            \
  bne s5, s10, trap_s_unexpected;       \
  csrr s11, scause;                     \
  bne s11, s6, trap_bad;                \
  li s10, 2;                            \
  csrr s11, sepc;                       \
  bne s11, s7, trap_bad;                \
  li s10, 3;                            \
  csrr s11, stval;                      \
  bne s11, s8, trap_bad;                \
  li s5, 2;                             \
  li s4, PRV_S;                         \
  csrw sepc, s9;                        \
  sret;                                 \
trap_s_return_to_m:                     \
  ecall;                                \
trap_s_unexpected:                      \
  csrr s11, scause;                     \
  csrr s10, sepc;                       \
  li TESTNUM, 0x7e;                     \
  j fail;                               \
  ALIGN4;                               \
capture_m:                              \
  csrr a0, mstatus;                     \
  csrr a1, mcause;                      \
  csrr a2, mepc;                        \
  csrr a3, mtval;                       \
  jr s9;                                \
  ALIGN4;                               \
capture_s:                              \
  csrr a0, sstatus;                     \
  csrr a1, scause;                      \
  csrr a2, sepc;                        \
  csrr a3, stval;                       \
  jr s9;

#endif /* RVISOR_PRIV_H */

#endif

/* ======================================================================
 * Unprivileged-test helpers (alu/branch/loadstore/muldiv/atomic/...).
 * Scratch: s0..s3 and t2 (as the base macros). `buf` is a label of an
 * 8-aligned buffer of at least 16 bytes; `base` is a byte offset added to it.
 * Case numbers must stay in 1..255 and avoid 0x7f/0x7e (QEMU exits with
 * the low 8 bits of N; 0x7f/0x7e mean an unexpected trap).
 * ====================================================================== */
#ifndef RVISOR_UNPRIV_H
#define RVISOR_UNPRIV_H

/* Fail with the current case unless register `reg` equals `expected`. */
#define CHECK_EQ(reg, expected) li t2, expected; bne reg, t2, fail

/* Load: `ld s2, off(s0)` with s0 = buf + base; s2 must equal `expected`. */
#define TEST_LD(n, ld, expected, buf, base, off) \
  TEST_CASE(n, s2, expected, la s0, buf + (base); ld s2, off(s0))

/* Store: zero buf[0..16), `st value, off(s0)` with s0 = buf + base, then the
 * dwords buf[0..8) and buf[8..16) must equal exp0 and exp1 (so a store that
 * writes too many or too few bytes, or to the wrong place, is caught). */
#define TEST_ST(n, st, value, buf, base, off, exp0, exp1) \
test_##n:                               \
  li TESTNUM, n;                        \
  la s0, buf;                           \
  sd zero, 0(s0);                       \
  sd zero, 8(s0);                       \
  la s0, buf + (base);                  \
  li s1, value;                         \
  st s1, off(s0);                       \
  la s0, buf;                           \
  ld s2, 0(s0);                         \
  CHECK_EQ(s2, exp0);                   \
  ld s2, 8(s0);                         \
  CHECK_EQ(s2, exp1);

/* Branch `br s0, s1, target` with s0 = v1, s1 = v2 must be taken. */
#define TEST_BR_TAKEN(n, br, v1, v2)    \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, v1;                            \
  li s1, v2;                            \
  br s0, s1, 1f;                        \
  j fail;                               \
1:

/* Branch `br s0, s1, target` with s0 = v1, s1 = v2 must fall through. */
#define TEST_BR_NOT_TAKEN(n, br, v1, v2) \
test_##n:                               \
  li TESTNUM, n;                        \
  li s0, v1;                            \
  li s1, v2;                            \
  br s0, s1, fail;

/* AMO on the word/dword at buf: memory starts as `init` (stored with `st`),
 * `op s2, s1, (s0)` with s1 = operand; s2 must be the old value `old` (as
 * `ld` loads it) and memory afterwards `new` (loaded with `ld`). The word
 * after a .w target (buf+4) holds 0x5a5a5a5a and must be left alone. */
#define TEST_AMO(n, op, st, ld, init, operand, old, new, buf) \
test_##n:                               \
  li TESTNUM, n;                        \
  la s0, buf;                           \
  li s1, 0x5a5a5a5a5a5a5a5a;            \
  sd s1, 0(s0);                         \
  li s1, init;                          \
  st s1, 0(s0);                         \
  li s1, operand;                       \
  op s2, s1, (s0);                      \
  CHECK_EQ(s2, old);                    \
  ld s3, 0(s0);                         \
  CHECK_EQ(s3, new);
#define TEST_AMO_W(n, op, init, operand, old, new, buf) \
  TEST_AMO(n, op, sw, lw, init, operand, old, new, buf) \
  lw s3, 4(s0);                         \
  CHECK_EQ(s3, 0x5a5a5a5a);
#define TEST_AMO_D(n, op, init, operand, old, new, buf) \
  TEST_AMO(n, op, sd, ld, init, operand, old, new, buf)

#endif /* RVISOR_UNPRIV_H */
