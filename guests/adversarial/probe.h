/*
 * Shared pieces of the adversarial guests (guests/adversarial): they try to
 * reach memory that is not theirs and expect a guest-visible trap each time.
 *
 * PROBE_TABLE(n, table, end, load, store, fetch) runs, for every dword address
 * in [table, end), an 8/4/2/1-byte load (cause `load`), store (cause `store`)
 * and an instruction fetch (cause `fetch`; 0 = skip fetches), each of which
 * must trap with tval = the address and epc = the instruction. The case number
 * is n + the address index, so a failing exit code names the address; s3 says
 * which access (1..8 = ld lw lh lb sd sw sh sb, 9 = fetch).
 * Uses the test.h privileged handlers (trap_handler_m), from any mode whose
 * traps reach M. Clobbers a0, a2, a3, s0, s3.
 */
#ifndef RVISOR_PROBE_H
#define RVISOR_PROBE_H

#define PROBE_ONE(k, cause, insn...)    \
  li s3, k;                             \
  mv s8, s0;                            \
  la s7, 91f;                           \
  ARM_TRAP(cause, 92f);                 \
91: insn;                               \
92: CHECK_TRAPPED

#define PROBE_TABLE(n, table, end, load, store, fetch) \
  li TESTNUM, (n) - 1;                  \
  la a2, table;                         \
  la a3, end;                           \
93:                                     \
  bgeu a2, a3, 94f;                     \
  addi TESTNUM, TESTNUM, 1;             \
  ld s0, 0(a2);                         \
  PROBE_ONE(1, load, ld a0, 0(s0));     \
  PROBE_ONE(2, load, lw a0, 0(s0));     \
  PROBE_ONE(3, load, lh a0, 0(s0));     \
  PROBE_ONE(4, load, lb a0, 0(s0));     \
  PROBE_ONE(5, store, sd zero, 0(s0));  \
  PROBE_ONE(6, store, sw zero, 0(s0));  \
  PROBE_ONE(7, store, sh zero, 0(s0));  \
  PROBE_ONE(8, store, sb zero, 0(s0));  \
  li a0, fetch;                         \
  beqz a0, 95f;                         \
  li s3, 9;                             \
  mv s7, s0;                            \
  mv s8, s0;                            \
  ARM_TRAP(fetch, 96f);                 \
  jr s0;                                \
96: CHECK_TRAPPED;                      \
95:                                     \
  addi a2, a2, 8;                       \
  j 93b;                                \
94:

/* `ram_end` (a patchable dword in .data, default: 128 MiB of RAM, QEMU -m 128M):
 * the test harness overwrites it when it boots the guest with another size. */
#define RAM_END_VAR                     \
  .section .data;                       \
  .align 3;                             \
  .globl ram_end;                       \
ram_end: .dword 0x88000000;             \
  .section .text

/* `rvisor_checks` (a dword in .data, 0 by default): the test harness sets it
 * to 1 to enable cases whose outcome QEMU's `virt` cannot show (QEMU has a
 * PCIe window below RAM, a 60 KiB mask ROM, performs AMOs on devices, accepts
 * Sv48/Sv57). IF_RVISOR_CHECKS(skip) branches to `skip` unless it is set. */
#define RVISOR_CHECKS_VAR               \
  .section .data;                       \
  .align 3;                             \
  .globl rvisor_checks;                 \
rvisor_checks: .dword 0;                \
  .section .text
#define IF_RVISOR_CHECKS(skip)          \
  la t0, rvisor_checks;                 \
  ld t0, 0(t0);                         \
  beqz t0, skip

#endif
