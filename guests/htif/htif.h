/*
 * HTIF exit, as riscv-tests' programs end on Spike and on QEMU's spike machine
 * (-M spike -bios none -kernel prog.elf): a store of (code << 1) | 1 to the
 * `tohost` symbol ends the run with exit code `code`. The program does some
 * work first (a loop over memory) so that the exit is not the first store.
 * QEMU refuses a `tohost` symbol without its size (8).
 */
#define HTIF_EXIT(code)                 \
  .section .text.init;                  \
  .globl _start;                        \
_start:                                 \
  la t0, buffer;                        \
  li t1, 64;                            \
  li t2, 0;                             \
1:sd t1, 0(t0);                         \
  add t2, t2, t1;                       \
  addi t0, t0, 8;                       \
  addi t1, t1, -1;                      \
  bnez t1, 1b;                          \
  li t1, 2080; /* 64 + 63 + ... + 1 */  \
  bne t1, t2, broken;                   \
  li t0, ((code) << 1) | 1;             \
  la t1, tohost;                        \
  sd t0, 0(t1);                         \
2:j 2b;                                 \
broken:                                 \
  li t0, (0x7f << 1) | 1;               \
  la t1, tohost;                        \
  sd t0, 0(t1);                         \
3:j 3b;                                 \
  .section .tohost, "aw", @progbits;    \
  .balign 64;                           \
  .globl tohost;                        \
tohost: .dword 0;                       \
  .size tohost, 8;                      \
  .balign 64;                           \
  .globl fromhost;                      \
fromhost: .dword 0;                     \
  .size fromhost, 8;                    \
  .section .bss;                        \
  .balign 8;                            \
buffer: .space 512
