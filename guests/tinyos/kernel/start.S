/*
 * The first instructions tinyos runs, and the stacks.
 *
 * QEMU's virt machine (and rvisor) starts every hart at 0x8000_0000 in
 * M-mode with a0 = hart id and a1 = the device tree's address. Hart 0 gets
 * a stack, clears .bss and calls mstart (machine.c), which configures the
 * hart and drops to S-mode at sstart; other harts park for good.
 */
  .file "start.S" /* else the symbol table names a random temporary file */
  .section .text.init, "ax"
  .globl _start
_start:
  bnez a0, park
  la sp, mstack_top

  /* C expects zeroed globals. QEMU's ELF loader zeroes .bss, but a raw
     loader would not; it is cheap. This also clears the stack, unused yet. */
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  call mstart /* a0, a1 still hold the hart id and the device tree */

park:
  wfi
  j park

/* S-mode entry (mret from mstart lands here): the kernel's own stack, then C.
   The kernel has a single stack: it never blocks in the middle of a call
   (a process that must wait is simply not resumed, see proc.c), so every
   trap starts on an empty stack. */
  .text
  .globl sstart
sstart:
  la sp, kstack_top
  call kmain

  .section .bss
  .balign 16
  .space 4096
  .globl mstack_top
mstack_top: /* M-mode stack: boot, then the M trap handler (via mscratch) */
  .space 16384
  .globl kstack_top
kstack_top:
