/*
 * M-mode trap vector. Saves all registers on the M-mode stack (mscratch
 * holds its top while S- or U-mode runs), calls mtrap (machine.c) with a
 * pointer to them, and restores them: an SBI call returns its results by
 * changing the saved a0 and a1.
 *
 * Frame layout: register xN at N*8 (x0 and x2 = sp are not saved).
 */
  .file "mvec.S" /* else the symbol table names a random temporary file */
  .text
  .globl mtrapvec
  .balign 4
mtrapvec:
  csrrw sp, mscratch, sp /* sp = M stack, mscratch = interrupted sp */
  addi sp, sp, -256
  .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  sd x\n, \n*8(sp)
  .endr
  mv a0, sp
  call mtrap
  .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  ld x\n, \n*8(sp)
  .endr
  addi sp, sp, 256
  csrrw sp, mscratch, sp /* back to the interrupted sp; mscratch = M stack again */
  mret
