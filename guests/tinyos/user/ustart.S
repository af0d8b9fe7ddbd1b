/*
 * Entry of every user program: the kernel starts it at USERBASE with sp at
 * the top of its stack page. main's return value becomes the exit status.
 */
  .section .text.init, "ax"
  .globl _start
_start:
  call main
  call exit
