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
  .align 2;                             \
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

#endif
