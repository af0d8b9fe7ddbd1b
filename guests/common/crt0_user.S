/*
 * C runtime start that runs main() in U-mode (guests/bench/NAME.c ->
 * build/NAME_user.elf, scripts/build-guests.ts): the same workload as crt0.S's
 * M-mode build, for measuring a hypervisor on a CPU-bound user program.
 *
 * Entered in M-mode at 0x8000_0000, as crt0.S. M-mode sets up the stack and
 * clears .bss, then:
 *   - PMP entry 0 = NAPOT over the whole address space, RWX: with no PMP entry
 *     U-mode may access nothing (QEMU and rvisor refuse even the fetch after mret);
 *   - mcounteren = scounteren = CY|TM|IR, so that U-mode may read cycle/time/
 *     instret (with S-mode implemented, U-mode needs both enables);
 *   - mstatus.MPP = U, mepc = user_main, mret.
 * U-mode calls main() and passes its result to M-mode with ecall (a0 = code).
 * The M-mode trap handler reports a0 through the syscon finisher as crt0.S does
 * (0x5555 on 0, otherwise (code << 16) | 0x3333); any trap other than the
 * ecall from U-mode fails with code 0x7f. The handler needs no stack.
 *
 * .bss start: this file comes first on the link line, as crt0.S (see there).
 */
#define SYSCON_BASE 0x100000
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333
#define CAUSE_ECALL_U 8
#define MSTATUS_MPP (3 << 11)

  .section .text.init, "ax"
  .globl _start
_start:
  la t0, trap
  csrw mtvec, t0
  la sp, __stack_top

  /* Clear .bss, 8 bytes at a time (both ends 8-aligned, as crt0.S). */
  la t0, __bss_first
  la t1, _end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  /* PMP entry 0: NAPOT covering all of memory (pmpaddr all ones), R|W|X. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f /* A = NAPOT (3 << 3) | X | W | R */
  csrw pmpcfg0, t0
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, t0

  /* mret to U-mode at user_main. */
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  la t0, user_main
  csrw mepc, t0
  mret

user_main:
  call main
  ecall /* a0: main's result */
3:
  j 3b

  .balign 4
trap:
  csrr t0, mcause
  li t1, CAUSE_ECALL_U
  beq t0, t1, finish
  li a0, 0x7f

  /* Report a0 (main's result) on the finisher. */
finish:
  li t0, SYSCON_BASE
  bnez a0, 4f
  li t1, FINISHER_PASS
  sw t1, 0(t0)
  j 5f
4:
  slli t1, a0, 16
  li t2, FINISHER_FAIL
  or t1, t1, t2
  sw t1, 0(t0)
5:
  /* The finisher stops the machine; spin in case it does not. */
  wfi
  j 5b

  .section .bss
  .balign 16
  .globl __bss_first
__bss_first:
  .space 65536
  .globl __stack_top
__stack_top:
