/*
 * The first instructions tinyos runs, and the stacks.
 *
 * QEMU's virt machine (and rvisor) starts every hart at 0x8000_0000 in
 * M-mode with a0 = hart id and a1 = the device tree's address. Each hart
 * keeps its id in tp (the kernel's cpuid(), see proc.c) and takes its own
 * M-mode stack. Hart 0 clears .bss; the others wait until it has, since
 * their stacks are in .bss, then every hart calls mstart (machine.c), which
 * configures it and drops to S-mode at sstart. Harts beyond NCPU park.
 */
#include "memlayout.h"

  .file "start.S" /* else the symbol table names a random temporary file */
  .section .text.init, "ax"
  .globl _start
_start:
  mv tp, a0
  li t0, NCPU
  bgeu a0, t0, park
  la sp, mstacks
  addi t0, a0, 1
  li t1, MSTACK_SIZE
  mul t0, t0, t1
  add sp, sp, t0
  bnez a0, wait_bss

  /* C expects zeroed globals. QEMU's ELF loader zeroes .bss, but a raw
     loader would not; it is cheap. This also clears the stacks, unused yet. */
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  fence rw, w /* the zeroes before the flag, for the harts that wait on it */
  la t0, bss_cleared
  li t1, 1
  sw t1, 0(t0)
  call mstart /* a0, a1 still hold the hart id and the device tree */

wait_bss:
  la t0, bss_cleared
1:
  lw t1, 0(t0)
  beqz t1, 1b
  fence r, rw
  call mstart

park:
  wfi
  j park

/* S-mode entry (mret from mstart lands here): this hart's kernel stack,
   then C. A hart has a single kernel stack: the kernel never blocks in the
   middle of a call (a process that must wait is simply not resumed, see
   proc.c), so every trap starts on an empty stack. */
  .text
  .globl sstart
sstart:
  la sp, kstacks
  addi t0, tp, 1
  li t1, KSTACK_SIZE
  mul t0, t0, t1
  add sp, sp, t0
  call kmain

  .section .data
  .balign 4
bss_cleared: /* in .data, not .bss: hart 0 sets it once .bss is clear */
  .word 0

  .section .bss
  .balign 16
  .globl mstacks, kstacks
mstacks: /* M-mode stacks: boot, then the M trap handler (via mscratch) */
  .space MSTACK_SIZE * NCPU
kstacks:
  .space KSTACK_SIZE * NCPU
