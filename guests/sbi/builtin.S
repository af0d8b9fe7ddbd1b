/*
 * An S-mode kernel for rvisor's built-in SBI firmware (--firmware builtin,
 * tests/sbi_test.ts): it is started in (virtual) S-mode with a0 = hart id and
 * a1 = DTB, calls every SBI function the firmware implements and checks the
 * answers (SBI spec v2.0), and ends with SRST shutdown, so a pass is a
 * poweroff (exit 0). A failing case exits through the syscon finisher with
 * its number: (case << 16) | 0x3333.
 *
 * gp = case number; s10/s11 are the trap handler's: s11 = last scause, s10 =
 * count of traps taken.
 */
#define SYSCON_BASE 0x100000
#define UART_BASE 0x10000000
#define MSG_LEN 22 /* "sbi: hello from S-mode" */

#define EXT_BASE   0x10
#define EXT_TIME   0x54494D45
#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D
#define EXT_SRST   0x53525354
#define EXT_PMU    0x504D55
#define EXT_DBCN   0x4442434E

#define SSIP (1 << 1)
#define STIP (1 << 5)
#define SIE_BIT (1 << 1)
#define IRQ (1 << 63)

/* SBI call: a7 = ext, a6 = fid, arguments already in a0.. */
#define SBI(ext, fid) li a7, ext; li a6, fid; ecall

/* Start case n. */
#define CASE(n) li gp, n
/* Fail the current case unless reg == value. */
#define EXPECT(reg, value) li t6, value; bne reg, t6, fail

  .section .text.init, "ax"
  .globl _start
_start:
  la sp, stack_top
  mv s0, a0
  mv s1, a1
  la t0, strap
  csrw stvec, t0
  li s10, 0
  li s11, 0

  CASE(1) /* a0 = hart id 0, a1 = the DTB (magic 0xd00dfeed, big-endian) */
  EXPECT(s0, 0)
  lwu t0, 0(s1)
  EXPECT(t0, 0xedfe0dd0)

  CASE(2) /* we run in S-mode: M CSRs are illegal, and the trap comes to us (redirected) */
  csrr t0, mstatus
  EXPECT(s11, 2)
  EXPECT(s10, 1)
  csrr t0, sstatus /* ... and S CSRs are not */
  rdtime t0 /* mcounteren lets S read time */
  EXPECT(s10, 1)

  CASE(3) /* base: spec version 2.0, impl id, version */
  SBI(EXT_BASE, 0)
  EXPECT(a0, 0)
  EXPECT(a1, 0x2000000)
  SBI(EXT_BASE, 1)
  EXPECT(a0, 0)
  EXPECT(a1, 0x72766973)
  SBI(EXT_BASE, 2)
  EXPECT(a0, 0)
  EXPECT(a1, 1)

  CASE(4) /* probe_extension: present ones 1, PMU and unknown 0 */
  li a0, EXT_TIME
  SBI(EXT_BASE, 3)
  EXPECT(a0, 0)
  EXPECT(a1, 1)
  li a0, EXT_DBCN
  SBI(EXT_BASE, 3)
  EXPECT(a1, 1)
  li a0, EXT_SRST
  SBI(EXT_BASE, 3)
  EXPECT(a1, 1)
  li a0, EXT_PMU
  SBI(EXT_BASE, 3)
  EXPECT(a0, 0)
  EXPECT(a1, 0)
  li a0, 0x12345678
  SBI(EXT_BASE, 3)
  EXPECT(a1, 0)

  CASE(5) /* mvendorid/marchid/mimpid: the machine's (zero) */
  li a1, 99
  SBI(EXT_BASE, 4)
  EXPECT(a0, 0)
  EXPECT(a1, 0)
  SBI(EXT_BASE, 5)
  EXPECT(a0, 0)
  SBI(EXT_BASE, 6)
  EXPECT(a0, 0)

  CASE(6) /* unknown extension, unknown function, PMU: SBI_ERR_NOT_SUPPORTED */
  SBI(0x0A000000, 0)
  EXPECT(a0, -2)
  SBI(EXT_BASE, 99)
  EXPECT(a0, -2)
  SBI(EXT_PMU, 0)
  EXPECT(a0, -2)

  CASE(7) /* HSM: hart 0 started; other harts invalid */
  li a0, 0
  SBI(EXT_HSM, 2)
  EXPECT(a0, 0)
  EXPECT(a1, 0)
  li a0, 1
  SBI(EXT_HSM, 2)
  EXPECT(a0, -3)
  li a0, 0
  li a1, 0x80000000
  li a2, 0
  SBI(EXT_HSM, 0)
  EXPECT(a0, -6)

  CASE(8) /* send_ipi to hart 0 sets SSIP; taken once enabled */
  li a0, 1
  li a1, 0
  SBI(EXT_IPI, 0)
  EXPECT(a0, 0)
  csrr t0, sip
  andi t0, t0, SSIP
  EXPECT(t0, SSIP)
  li s10, 0
  csrs sie, SSIP
  csrs sstatus, SIE_BIT
  nop
  csrc sstatus, SIE_BIT
  EXPECT(s10, 1)
  li t0, IRQ | 1
  bne s11, t0, fail
  csrr t0, sip /* the handler cleared it */
  andi t0, t0, SSIP
  EXPECT(t0, 0)
  li a0, 2 /* hart 1 does not exist */
  li a1, 0
  SBI(EXT_IPI, 0)
  EXPECT(a0, -3)

  CASE(9) /* set_timer in the past: STIP at once; a new deadline clears it */
  li a0, 0
  SBI(EXT_TIME, 0)
  EXPECT(a0, 0)
  csrr t0, sip
  andi t0, t0, STIP
  EXPECT(t0, STIP)
  li a0, -1
  SBI(EXT_TIME, 0)
  csrr t0, sip
  andi t0, t0, STIP
  EXPECT(t0, 0)

  CASE(10) /* set_timer 1 ms ahead: an S timer interrupt arrives while we wfi */
  li s10, 0
  li t0, STIP
  csrs sie, t0
  rdtime s2
  li t0, 10000
  add a0, s2, t0
  mv s2, a0 /* the deadline (the call returns its error code in a0) */
  SBI(EXT_TIME, 0)
  csrs sstatus, SIE_BIT
  li t1, 1000000
1:
  bnez s10, 2f
  wfi
  addi t1, t1, -1
  bnez t1, 1b
2:
  csrc sstatus, SIE_BIT
  EXPECT(s10, 1)
  li t0, IRQ | 5
  bne s11, t0, fail
  rdtime t0 /* not before the deadline */
  bltu t0, s2, fail

  CASE(11) /* legacy set_timer (0x00) too */
  li s10, 0
  li t0, STIP
  csrs sie, t0
  li a0, 0
  li a7, 0
  ecall
  EXPECT(a0, 0)
  csrs sstatus, SIE_BIT
  nop
  csrc sstatus, SIE_BIT
  EXPECT(s10, 1)

  CASE(12) /* RFENCE: local fences; a missing hart is invalid */
  li a0, 1
  li a1, 0
  SBI(EXT_RFENCE, 0)
  EXPECT(a0, 0)
  li a0, 0
  li a1, -1 /* all harts */
  li a2, 0
  li a3, -1
  SBI(EXT_RFENCE, 1)
  EXPECT(a0, 0)
  li a0, 1
  li a1, 0
  li a4, 0
  SBI(EXT_RFENCE, 2)
  EXPECT(a0, 0)
  li a0, 4
  li a1, 0
  SBI(EXT_RFENCE, 0)
  EXPECT(a0, -3)

  CASE(13) /* DBCN write: the bytes reach the console, a1 = count */
  li a0, MSG_LEN
  la a1, msg
  li a2, 0
  SBI(EXT_DBCN, 0)
  EXPECT(a0, 0)
  EXPECT(a1, MSG_LEN)
  li a0, '!'
  SBI(EXT_DBCN, 2) /* write_byte */
  EXPECT(a0, 0)
  li a0, '\n'
  li a7, 1 /* legacy console_putchar */
  ecall
  li a0, 4 /* outside RAM: invalid */
  li a1, 0x1000
  li a2, 0
  SBI(EXT_DBCN, 0)
  EXPECT(a0, -3)
  li a0, 16 /* read with no input: 0 bytes */
  la a1, buffer
  li a2, 0
  SBI(EXT_DBCN, 1)
  EXPECT(a0, 0)
  EXPECT(a1, 0)

  CASE(14) /* a deadline that passes while device accesses keep the hart busy still raises STIP */
  rdtime a0
  addi a0, a0, 20 /* 2,000 instructions ahead */
  addi s2, a0, 20 /* poll until well past it */
  SBI(EXT_TIME, 0)
  li t2, UART_BASE
1:
  lbu t0, 5(t2) /* LSR: every read is an exit to the hypervisor */
  rdtime t1
  bltu t1, s2, 1b
  csrr t0, sip
  andi t0, t0, STIP
  EXPECT(t0, STIP)
  li a0, -1
  SBI(EXT_TIME, 0)

  CASE(15) /* SRST: bad type invalid; shutdown ends the run (exit 0) */
  li a0, 7
  li a1, 0
  SBI(EXT_SRST, 0)
  EXPECT(a0, -3)
  li a0, 0
  li a1, 0
  SBI(EXT_SRST, 0)
  j fail /* never returns */

fail:
  li t0, SYSCON_BASE
  slli t1, gp, 16
  li t2, 0x3333
  or t1, t1, t2
  sw t1, 0(t0)
3: j 3b

  /* S-mode trap handler: count, remember scause, quiet the interrupt or skip the insn. */
  .balign 4
strap:
  addi s10, s10, 1
  csrr s11, scause
  bltz s11, 4f
  csrr t6, sepc
  addi t6, t6, 4
  csrw sepc, t6
  sret
4:
  slli t6, s11, 1
  srli t6, t6, 1
  li t5, 1
  bne t6, t5, 5f
  csrc sip, SSIP /* software interrupt: acknowledge */
  sret
5:
  li t6, STIP /* timer: STIP stays until the next set_timer, so mask it */
  csrc sie, t6
  sret

  .section .rodata
msg:
  .ascii "sbi: hello from S-mode"
msg_end:

  .section .bss
  .balign 16
buffer:
  .space 64
  .space 4096
stack_top:
