/*
 * A tiny S-mode guest that calls a custom SBI extension (for scripts/sbi-extension.ts).
 *
 * It brings its own minimal M-mode "firmware": every ecall from S-mode is
 * answered SBI_ERR_NOT_SUPPORTED, as an SBI implementation answers an
 * extension it does not know. So on QEMU, or on rvisor without a hook, the
 * program reports the extension missing; with scripts/sbi-extension.ts, rvisor
 * answers the ecall in TypeScript before the guest's firmware sees it, and the
 * program checks the answers.
 *
 * The extension (EID 0x08525653, in the SBI experimental range 0x0800_0000..0x08FF_FFFF):
 *   FID 0: version -> a1 = the implementation's version
 *   FID 1: add(a0, a1) -> a1 = a0 + a1
 * Discovery goes through the base extension: sbi_probe_extension (EID 0x10, FID 3).
 *
 * Exit (syscon finisher): 0 if the extension is absent, or present and right;
 * 1..3 if an answer is wrong.
 */
#define SYSCON_BASE 0x100000
#define UART_BASE 0x10000000
#define EXT_EID 0x08525653
#define SBI_ERR_NOT_SUPPORTED -2

  .section .text.init, "ax"
  .globl _start
_start:
  /* M-mode: the firmware part. Nothing delegated: S-mode ecalls come to mtrap. */
  la t0, mtrap
  csrw mtvec, t0
  la sp, stack_top
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f /* NAPOT, R/W/X: S-mode may use all memory */
  csrw pmpcfg0, t0
  li t0, 1 << 11 /* MPP = S */
  csrw mstatus, t0
  la t0, smain
  csrw mepc, t0
  mret

  .balign 4
mtrap:
  csrr t0, mcause
  li t1, 9 /* ecall from S-mode */
  bne t0, t1, crash
  li a0, SBI_ERR_NOT_SUPPORTED
  li a1, 0
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret
crash:
  li a0, 0x7f
  j finish

  /* S-mode: the "kernel". */
smain:
  la a0, msg_probe
  call puts
  li a7, 0x10 /* base extension */
  li a6, 3 /* sbi_probe_extension */
  li a0, EXT_EID
  ecall
  bnez a0, absent
  beqz a1, absent
  la a0, msg_present
  call puts

  li a7, EXT_EID
  li a6, 0 /* version */
  ecall
  li s1, 1
  bnez a0, wrong
  mv s2, a1
  la a0, msg_version
  call puts
  mv a0, s2
  call puthex
  la a0, msg_nl
  call puts

  li a7, EXT_EID
  li a6, 1 /* add */
  li a0, 40
  li a1, 2
  ecall
  li s1, 2
  bnez a0, wrong
  li s1, 3
  li t0, 42
  bne a1, t0, wrong
  la a0, msg_add
  call puts
  li a0, 0
  j finish

absent:
  la a0, msg_absent
  call puts
  li a0, 0
  j finish

wrong:
  la a0, msg_wrong
  call puts
  mv a0, s1

  /* Report a0 on the syscon finisher: 0x5555 pass, (a0 << 16) | 0x3333 fail. */
finish:
  li t0, SYSCON_BASE
  li t1, 0x5555
  beqz a0, 1f
  slli t1, a0, 16
  li t2, 0x3333
  or t1, t1, t2
1:
  sw t1, 0(t0)
2:
  j 2b

  /* puts(a0): NUL-terminated string to the UART (clobbers t0, t1). */
puts:
  li t0, UART_BASE
1:
  lbu t1, 0(a0)
  beqz t1, 2f
  sb t1, 0(t0)
  addi a0, a0, 1
  j 1b
2:
  ret

  /* puthex(a0): 0x and 16 hex digits (clobbers t0..t3). */
puthex:
  li t0, UART_BASE
  li t1, '0'
  sb t1, 0(t0)
  li t1, 'x'
  sb t1, 0(t0)
  li t2, 60
1:
  srl t1, a0, t2
  andi t1, t1, 15
  la t3, hexdigits
  add t3, t3, t1
  lbu t1, 0(t3)
  sb t1, 0(t0)
  addi t2, t2, -4
  bgez t2, 1b
  ret

  .section .rodata
hexdigits: .ascii "0123456789abcdef"
msg_probe: .asciz "sbi: probing extension 0x08525653\n"
msg_present: .asciz "sbi: extension present\n"
msg_version: .asciz "sbi: version "
msg_nl: .asciz "\n"
msg_add: .asciz "sbi: add(40, 2) = 42: ok\n"
msg_absent: .asciz "sbi: extension not available (the firmware said no)\n"
msg_wrong: .asciz "sbi: wrong answer\n"

  .section .bss
  .balign 16
  .space 4096
stack_top:
