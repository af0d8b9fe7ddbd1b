/*
 * An S-mode kernel for the built-in SBI firmware that does nothing but wait
 * for its timer, as an idle Linux does: SBI set_timer 1 ms ahead, wfi, and on
 * each timer interrupt a '.' on the console (legacy putchar) and the next
 * set_timer; after TICKS ticks "ticks: done" and SRST shutdown. Two of them
 * as two guests (tests/guests_test.ts) leave each idle in wfi while the other
 * runs, with its deadline passing while it is switched out.
 */
#define EXT_TIME   0x54494D45
#define EXT_SRST   0x53525354
#define STIE (1 << 5)
#define SIE_BIT (1 << 1)
#define TICKS 20
#define PERIOD 10000 /* 1 ms of 10 MHz mtime */

  .section .text.init, "ax"
  .globl _start
_start:
  la t0, strap
  csrw stvec, t0
  li s0, 0 /* ticks seen */
  call arm
  li t0, STIE
  csrs sie, t0
  csrs sstatus, SIE_BIT
idle:
  wfi
  li t0, TICKS
  blt s0, t0, idle
  csrc sstatus, SIE_BIT /* the handler uses a0, a6, a7 */
  la s1, done
1:
  lbu a0, 0(s1)
  beqz a0, 2f
  li a7, 1 /* legacy console_putchar */
  ecall
  addi s1, s1, 1
  j 1b
2:
  li a0, 0 /* shutdown */
  li a1, 0
  li a7, EXT_SRST
  li a6, 0
  ecall
  j 2b

/* set_timer(time + PERIOD) */
arm:
  rdtime a0
  li t0, PERIOD
  add a0, a0, t0
  li a7, EXT_TIME
  li a6, 0
  ecall
  ret

  .balign 4
strap: /* only the timer interrupt is enabled */
  addi s0, s0, 1
  li a0, '.'
  li a7, 1
  ecall
  mv s2, ra
  call arm /* the next set_timer clears STIP */
  mv ra, s2
  sret

  .section .rodata
done:
  .asciz "\nticks: done\n"
