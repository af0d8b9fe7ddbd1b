/*
 * Every hart of an SMP `virt` machine at work (QEMU's -smp N, rvisor's --smp N),
 * started as QEMU 7.2 starts them with -bios none -kernel: all harts at the
 * entry, a0 = hart id (checked against mhartid), a1 = the DTB.
 *
 * Hart 0 counts the cpu nodes of the DTB (N), wakes harts 1..N-1 with CLINT
 * software interrupts (msip) from wfi, and every hart then adds ITER to three
 * shared counters: with amoadd.w, with an lr.w/sc.w loop, and with a plain
 * load/add/store under an amoswap spinlock. Hart 1 also rewrites patch_fn,
 * which hart 0 ran (so decoded) before: after fence.i hart 0 must run the new
 * code. Each secondary reports with an IPI back to hart 0, which prints
 *
 *   smp: N harts, seen 2^N-1, amo N*ITER, lrsc N*ITER, lock N*ITER, patched 42
 *
 * and powers off. Only totals are printed, so the line is the same on QEMU
 * (whose harts run in parallel threads) and on rvisor (harts in turns). A
 * trap fails the run with exit code 0x7f.
 */
#define UART 0x10000000
#define CLINT 0x2000000
#define SYSCON 0x100000
#define ITER 1000
#define MIP_MSIP 8

  .option norvc
  .section .text.init, "ax"
  .globl _start
_start:
  csrr s0, mhartid
  bne s0, a0, fail
  la t0, trap
  csrw mtvec, t0
  la sp, stacks
  addi t0, s0, 1
  slli t0, t0, 12
  add sp, sp, t0
  li t0, 1
  sll t0, t0, s0
  la t1, seen
  amoor.w zero, t0, (t1)
  bnez s0, secondary

  /* Hart 0. */
  mv a0, a1
  call count_cpus
  mv s1, a0
  call patch_fn             /* decoded now: the patch must replace it */
  li t0, 1
  bne a0, t0, fail
  li t0, CLINT
  li t1, 1
  li t2, 1
1:
  bgeu t2, s1, 2f
  slli t3, t2, 2
  add t3, t3, t0
  sw t1, 0(t3)              /* msip[i] = 1 */
  addi t2, t2, 1
  j 1b
2:
  li t0, MIP_MSIP
  csrw mie, t0
  call work
  addi s2, s1, -1           /* secondaries to hear from */
wait:
  la t0, done
  lw t1, 0(t0)
  fence r, rw
  bgeu t1, s2, report
  wfi
  li t0, CLINT
  sw zero, 0(t0)            /* clear our msip, then look at done again */
  j wait

report:
  fence.i
  call patch_fn
  mv s3, a0
  la a0, msg_harts
  call puts
  mv a0, s1
  call putdec
  la a0, msg_seen
  call puts
  la t0, seen
  lw a0, 0(t0)
  call putdec
  la a0, msg_amo
  call puts
  la t0, amo_count
  lw a0, 0(t0)
  call putdec
  la a0, msg_lrsc
  call puts
  la t0, lrsc_count
  lw a0, 0(t0)
  call putdec
  la a0, msg_lock
  call puts
  la t0, lock_count
  lw a0, 0(t0)
  call putdec
  la a0, msg_patched
  call puts
  mv a0, s3
  call putdec
  li a0, '\n'
  call putc
  li t0, SYSCON
  li t1, 0x5555
  sw t1, 0(t0)
3:
  wfi
  j 3b

secondary:
  li t0, MIP_MSIP
  csrw mie, t0              /* mstatus.MIE stays 0: wfi wakes, no trap is taken */
1:
  wfi
  csrr t0, mip
  andi t0, t0, MIP_MSIP
  beqz t0, 1b
  li t0, CLINT
  slli t1, s0, 2
  add t0, t0, t1
  sw zero, 0(t0)            /* clear our msip */
  call work
  li t0, 1
  bne s0, t0, 2f
  la t0, patch_fn
  li t1, 0x02a00513         /* addi a0, zero, 42 */
  sw t1, 0(t0)
2:
  fence rw, w
  la t0, done
  li t1, 1
  amoadd.w.rl zero, t1, (t0)
  li t0, CLINT
  li t1, 1
  sw t1, 0(t0)              /* msip[0] = 1: tell hart 0 */
3:
  wfi
  j 3b

/* Adds ITER to each counter: amoadd.w, lr/sc, and a plain add under a spinlock. */
work:
  li t0, ITER
  la t1, amo_count
  la t2, lrsc_count
  la a2, lock_word
  la a3, lock_count
  li t3, 1
1:
  amoadd.w zero, t3, (t1)
2:
  lr.w t4, (t2)
  addi t4, t4, 1
  sc.w t5, t4, (t2)
  bnez t5, 2b
3:
  amoswap.w.aq t4, t3, (a2)
  bnez t4, 3b
  lw t4, 0(a3)
  addi t4, t4, 1
  sw t4, 0(a3)
  amoswap.w.rl zero, zero, (a2)
  addi t0, t0, -1
  bnez t0, 1b
  ret

/* a0 = DTB: the number of FDT_BEGIN_NODE tokens of nodes named cpu@... in its structure block. */
count_cpus:
  mv a5, ra
  mv a4, a0
  addi a0, a4, 8
  call be32                 /* off_dt_struct */
  add a6, a4, a0
  addi a0, a4, 36
  call be32                 /* size_dt_struct */
  add a7, a6, a0
  li a0, 0
  li t0, 0x01000000         /* FDT_BEGIN_NODE as a little-endian word */
  li t1, 0x40757063         /* "cpu@" */
1:
  bgeu a6, a7, 2f
  lw t2, 0(a6)
  addi a6, a6, 4
  bne t2, t0, 1b
  lw t2, 0(a6)
  bne t2, t1, 1b
  addi a0, a0, 1
  j 1b
2:
  mv ra, a5
  ret

/* a0 = address of a big-endian 32-bit word: its value. */
be32:
  lbu t0, 0(a0)
  lbu t1, 1(a0)
  lbu t2, 2(a0)
  lbu t3, 3(a0)
  slli t0, t0, 24
  slli t1, t1, 16
  slli t2, t2, 8
  or t0, t0, t1
  or t0, t0, t2
  or a0, t0, t3
  ret

  .balign 4
patch_fn:
  addi a0, zero, 1
  ret

putc:
  li t0, UART
1:
  lbu t1, 5(t0)
  andi t1, t1, 0x20
  beqz t1, 1b
  sb a0, 0(t0)
  ret

puts:
  mv t6, ra
  mv t5, a0
1:
  lbu a0, 0(t5)
  beqz a0, 2f
  call putc
  addi t5, t5, 1
  j 1b
2:
  mv ra, t6
  ret

/* Prints a0 (unsigned) in decimal. */
putdec:
  mv t6, ra
  addi sp, sp, -32
  mv t5, sp
  li t4, 10
1:
  remu t3, a0, t4
  addi t3, t3, '0'
  sb t3, 0(t5)
  addi t5, t5, 1
  divu a0, a0, t4
  bnez a0, 1b
2:
  addi t5, t5, -1
  lbu a0, 0(t5)
  call putc
  bne t5, sp, 2b
  addi sp, sp, 32
  mv ra, t6
  ret

  .balign 4
trap:
fail:
  li t0, SYSCON
  li t1, (0x7f << 16) | 0x3333
  sw t1, 0(t0)
1:
  wfi
  j 1b

  .section .rodata
msg_harts: .asciz "smp: "
msg_seen: .asciz " harts, seen "
msg_amo: .asciz ", amo "
msg_lrsc: .asciz ", lrsc "
msg_lock: .asciz ", lock "
msg_patched: .asciz ", patched "

  .section .data
  .balign 8
seen: .word 0
amo_count: .word 0
lrsc_count: .word 0
lock_word: .word 0
lock_count: .word 0
done: .word 0

  .section .bss
  .balign 4096
stacks:
  .space 8 * 4096
