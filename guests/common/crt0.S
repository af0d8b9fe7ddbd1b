/*
 * C runtime start for rvisor's bare-metal C guests (guests/bench/*.c, guests/virtio/*.c).
 *
 * Entered in M-mode at 0x8000_0000 (QEMU's -bios none -kernel convention, which
 * rvisor follows). Sets up a stack, clears .bss, calls main(), then reports
 * main's return value through the syscon test finisher at 0x10_0000 that both
 * QEMU and rvisor understand: 0x5555 (pass) if main returned 0, otherwise
 * (code << 16) | 0x3333, which ends QEMU and rvisor with exit code `code`.
 * A trap (there is no handler to expect one) fails with code 0x7f, as test.h.
 *
 * link.ld defines no .bss start symbol, so the start is the label below: this
 * file comes first on the link line (scripts/build-guests.ts), so its .bss is the
 * first input of the output .bss section. The end is link.ld's `_end` (the
 * page-aligned end of everything, so the padding after .bss is cleared too).
 */
#define SYSCON_BASE 0x100000
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333

  .section .text.init, "ax"
  .globl _start
_start:
  /* Any trap is a bug in the guest: fail with exit code 0x7f, as test.h does. */
  la t0, trap
  csrw mtvec, t0
  la sp, __stack_top

  /* Clear .bss (and the stack, harmless: nothing is on it yet), 8 bytes at a time:
     both ends are 8-aligned (the stack below is 16-aligned, _end page-aligned). */
  la t0, __bss_first
  la t1, _end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  call main
  j finish

  .balign 4
trap:
  li a0, 0x7f

  /* Report a0 (main's result) on the finisher. */
finish:
  li t0, SYSCON_BASE
  bnez a0, 3f
  li t1, FINISHER_PASS
  sw t1, 0(t0)
  j 4f
3:
  slli t1, a0, 16
  li t2, FINISHER_FAIL
  or t1, t1, t2
  sw t1, 0(t0)
4:
  /* The finisher stops the machine; spin in case it does not. */
  wfi
  j 4b

  .section .bss
  .balign 16
  .globl __bss_first
__bss_first:
  .space 65536
  .globl __stack_top
__stack_top:
