/*
 * One vCPU changes a page table another vCPU is using (an S-mode kernel for
 * the hypervisor's built-in firmware with --smp 2, or after OpenSBI).
 *
 * Hart 0 builds an Sv39 table: RAM identity-mapped by a gigapage, and VA
 * 0x4000_0000 mapped by a 4 KiB leaf to page_a (which holds 1). It turns
 * paging on, starts hart 1 with SBI HSM hart_start (a1 = satp), and waits.
 * Hart 1 turns the same table on, reads VA 0x4000_0000 (1: the mapping is now
 * cached in its TLB, or its shadow table under a hypervisor), says so, and
 * waits. Hart 0 repoints the leaf at page_b (which holds 2), runs sfence.vma
 * and SBI RFENCE remote_sfence_vma for hart 1, and lets hart 1 read again:
 * it must see 2, then stops itself with HSM hart_stop, which hart 0 waits
 * to see in hart_get_status. Hart 0 prints
 *
 *   shadow: hart 1 read 1 then 2
 *
 * (a stale mapping prints "then 1") and shuts down through SBI SRST.
 */
#define VA 0x40000000
#define SBI_HSM 0x48534d
#define SBI_RFENCE 0x52464e43
#define SBI_SRST 0x53525354

  .option norvc
  .section .text.init, "ax"
  .globl _start
_start:
  bnez a0, fail                 /* the boot hart is hart 0 */
  /* root[1] -> l1 (VA 0x4000_0000..), root[2] = gigapage at 0x8000_0000 (RWX, A, D). */
  la t0, root
  la t1, l1
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, 0x01              /* V: a pointer */
  sd t1, 8(t0)
  li t1, (0x80000000 >> 12) << 10
  ori t1, t1, 0xcf              /* V R W X A D */
  sd t1, 16(t0)
  la t0, l1
  la t1, l0
  srli t1, t1, 12
  slli t1, t1, 10
  ori t1, t1, 0x01
  sd t1, 0(t0)
  la a0, page_a
  call map_leaf
  la t0, root
  srli t0, t0, 12
  li t1, 8 << 60                /* Sv39 */
  or s1, t0, t1
  csrw satp, s1
  sfence.vma
  /* hart_start(1, hart1, satp) */
  li a0, 1
  la a1, hart1
  mv a2, s1
  li a6, 0
  li a7, SBI_HSM
  ecall
  bnez a0, fail
  la s2, phase
1:
  lw t0, 0(s2)
  li t1, 1
  bne t0, t1, 1b                /* hart 1 has read page_a through VA */
  la a0, page_b
  call map_leaf
  sfence.vma
  /* remote_sfence_vma(hart_mask 0b10, base 0, start 0, size 0 = all) */
  li a0, 2
  li a1, 0
  li a2, 0
  li a3, 0
  li a6, 1
  li a7, SBI_RFENCE
  ecall
  bnez a0, fail
  li t0, VA
  lw t0, 0(t0)
  li t1, 2
  bne t0, t1, fail              /* hart 0's own view is new */
  li t0, 2
  sw t0, 0(s2)
2:
  lw t0, 0(s2)
  li t1, 3
  bne t0, t1, 2b
  /* hart 1 stops itself after phase 3: wait until HSM hart_get_status(1) says STOPPED (1). */
4:
  li a0, 1
  li a6, 2
  li a7, SBI_HSM
  ecall
  bnez a0, fail
  li t1, 1
  bne a1, t1, 4b
  la a0, msg
  call puts
  la t0, seen
  lw a0, 0(t0)
  addi a0, a0, '0'
  call putc
  la a0, msg2
  call puts
  la t0, seen
  lw a0, 4(t0)
  addi a0, a0, '0'
  call putc
  li a0, '\n'
  call putc
  li a0, 0                      /* shutdown */
  li a1, 0
  li a6, 0
  li a7, SBI_SRST
  ecall
fail:
  la a0, failmsg
  call puts
  li a0, 0
  li a1, 1                      /* system failure */
  li a6, 0
  li a7, SBI_SRST
  ecall
3:
  j 3b

/* Points VA's leaf at page a0 (V R W A D). */
map_leaf:
  la t0, l0
  srli t1, a0, 12
  slli t1, t1, 10
  ori t1, t1, 0xc7
  sd t1, 0(t0)
  ret

/* a0 = hart id 1, a1 = satp. */
hart1:
  csrw satp, a1
  sfence.vma
  la s2, phase
  la s3, seen
  li t0, VA
  lw t0, 0(t0)
  sw t0, 0(s3)
  li t0, 1
  sw t0, 0(s2)
1:
  lw t0, 0(s2)
  li t1, 2
  bne t0, t1, 1b
  li t0, VA
  lw t0, 0(t0)
  sw t0, 4(s3)
  li t0, 3
  sw t0, 0(s2)
  li a6, 1                      /* hart_stop: does not return */
  li a7, SBI_HSM
  ecall
  j fail

/* Legacy console_putchar(a0). */
putc:
  li a7, 1
  ecall
  ret

/* Prints the NUL-terminated string at a0. */
puts:
  mv t2, a0
  mv t3, ra
1:
  lbu a0, 0(t2)
  beqz a0, 2f
  call putc
  addi t2, t2, 1
  j 1b
2:
  mv ra, t3
  ret

msg: .asciz "shadow: hart 1 read "
msg2: .asciz " then "
failmsg: .asciz "shadow: FAIL\n"

  .section .data
  .balign 8
phase: .word 0
seen: .word 0, 0

  .section .bss
  .balign 4096
root: .space 4096
l1: .space 4096
l0: .space 4096
  .section .rodata
  .balign 4096
page_a: .word 1
  .balign 4096
page_b: .word 2
  .balign 4096
