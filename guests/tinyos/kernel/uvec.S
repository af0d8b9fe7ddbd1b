/*
 * S-mode trap entry and exit.
 *
 * uservec: stvec while a process runs. sscratch holds the address of the
 * process's trapframe (defs.h: xN at N*8, then epc, the kernel stack and
 * the hart id), so the first instruction can swap it into a0 and save every
 * user register there. Then it switches to the stack of the hart it runs
 * on, puts the hart id back in tp (the process may have changed it) and
 * calls usertrap (trap.c), which never returns here: it ends by resuming a
 * process through userret.
 *
 * userret(tf): loads the user registers from tf and srets to sepc (set by
 * return_to_user), leaving tf in sscratch for the next trap.
 *
 * kernelvec: stvec while the kernel runs. The kernel keeps S interrupts
 * disabled, so only an exception, a kernel bug, can get here.
 */
  .file "uvec.S" /* else the symbol table names a random temporary file */
  .text
  .globl uservec
  .balign 4
uservec:
  csrrw a0, sscratch, a0 /* a0 = trapframe, sscratch = user a0 */
  .irp n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\n, \n*8(a0)
  .endr
  csrr t0, sscratch
  sd t0, 10*8(a0)
  ld sp, 33*8(a0) /* tf->kernel_sp */
  ld tp, 34*8(a0) /* tf->kernel_hartid */
  call usertrap /* usertrap(tf) */

  .globl userret
userret:
  csrw sscratch, a0
  .irp n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\n, \n*8(a0)
  .endr
  ld a0, 10*8(a0)
  sret

  .globl kernelvec
  .balign 4
kernelvec:
  call kerneltrap
