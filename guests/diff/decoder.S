/*
 * Decoder classification harness: executes a list of encodings one at a time in
 * M-mode and reports what each one did, so that QEMU and rvisor can be compared
 * (scripts/decoder-diff.ts builds it, loads the list and compares the reports).
 *
 * Input (loaded into RAM by the host, QEMU: -device loader,file=...,addr=ENC):
 *   ENC+0: u32 count, ENC+4: u32 flags (bit 0: verbose records),
 *   ENC+8: count u32 words, each written to SLOT as is (a 16-bit encoding comes
 *   with c.ebreak, 0x9002, in its upper half).
 *
 * Why it survives (almost) anything a single instruction can do:
 * - Every register holds a value from regs_init: addresses 2^44 and above, where
 *   neither machine has memory, so loads, stores, AMOs and jalr fault instead
 *   of corrupting the harness (x0-based accesses reach the unmapped bottom 2 KiB
 *   or the top of the address space).
 * - SLOT sits in the middle of a pad of c.ebreak that covers everything a jal
 *   or branch can reach, so a jump ends in a breakpoint trap whose mepc says
 *   where it went, and an instruction that completes traps on the c.ebreak
 *   after it (mepc = SLOT + its length). The host filters the few jumps that
 *   would land on SLOT-4..SLOT+2 (endless loops).
 * - The harness itself keeps no state in registers: the trap handler finds its
 *   save area through mscratch, everything else is in memory. The host filters
 *   CSR writes that would break the handler itself (mtvec, mscratch, pmpcfg0,
 *   and the trigger and mseccfg CSRs whose state would outlive the test).
 * - Before each test the CSRs an instruction may have changed are reset:
 *   mstatus (MPP = M so that mret lands at SLOT+0x100 in M-mode; sret goes to
 *   SLOT+0x200 in U-mode), mie = MTIE with mtimecmp = 0 (the timer interrupt is
 *   pending but disabled by mstatus.MIE, so wfi returns at once and a write
 *   that sets MIE traps with cause 0x8000000000000007), mip, delegation,
 *   satp, pmpaddr0, misa and sstatus.UXL.
 * - The harness is assembled without C: if some machine let a test clear
 *   misa.C, the harness would keep working.
 *
 * Output on the UART: "BEGIN\n", one record per encoding, "\nEND\n", then the
 * syscon poweroff. A record is 5 characters, each '0' + 6 bits: mcause (the
 * exception code, +32 for interrupts), 12 bits of hash A (mepc - SLOT, mtval,
 * mstatus.MPP) and 12 bits of hash R (x1..x31 after the test): 5 characters
 * rather than 20 hex digits because QEMU writes its console a byte at a time.
 * Every byte waits for LSR.THRE (putc): QEMU's UART drops a byte written
 * while it still transmits the last, which it does when whoever reads its
 * stdout falls behind (a test running rvisor in the same process).
 * Verbose records print every value in hex instead:
 * "cc eeeeeeee tttttttttttttttt p r1 .. r31\n".
 */
#define UART 0x10000000
#define SYSCON 0x100000
#define MTIMECMP 0x2004000
#define SLOT 0x80200000
#define PAD_LO 0x80100000
#define PAD_HI 0x80300400
#define ENC 0x80400000

  .option norvc
  .section .text.init, "ax"
  .globl _start
_start:
  la sp, stack_top
  la t0, handler
  csrw mtvec, t0
  la t0, save
  csrw mscratch, t0
  csrr t0, misa
  la t1, misa_init
  sd t0, 0(t1)
  /* One PMP entry granting everything: U-mode (after sret) may fetch. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  li t0, MTIMECMP
  sd zero, 0(t0)
  /* The c.ebreak pad around SLOT. */
  li t0, PAD_LO
  li t1, PAD_HI
  li t2, 0x9002900290029002
1:
  sd t2, 0(t0)
  addi t0, t0, 8
  bltu t0, t1, 1b
  /* SLOT-4: csrr x31, sscratch (the launch path's last register). */
  li t0, SLOT - 4
  li t1, 0x14002ff3
  sw t1, 0(t0)
  la a0, msg_begin
  call puts
  li t0, ENC
  lwu t1, 0(t0)
  lwu t2, 4(t0)
  la t0, state
  sd zero, 0(t0)
  sd t1, 8(t0)
  sd t2, 16(t0)

next:
  la s0, state
  ld s1, 0(s0)
  ld s2, 8(s0)
  bgeu s1, s2, done
  li t0, ENC + 8
  slli t1, s1, 2
  add t0, t0, t1
  lwu t2, 0(t0)
  li t0, SLOT
  sw t2, 0(t0)
  sw t2, 24(s0)
  fence.i
  addi s1, s1, 1
  sd s1, 0(s0)
  /* sstatus first: QEMU 7.2 lets an sstatus write change UXL, and only an
     sstatus write puts it back (UXL = 2); rvisor keeps UXL read-only. */
  li t0, 2
  slli t0, t0, 32
  csrw sstatus, t0
  li t0, 0x1800
  csrw mstatus, t0
  li t0, SLOT + 0x100
  csrw mepc, t0
  li t0, SLOT + 0x200
  csrw sepc, t0
  li t0, 0x80
  csrw mie, t0
  csrw mip, zero
  csrw medeleg, zero
  csrw mideleg, zero
  /* satp, pmpaddr0 and misa only when changed: writing them flushes
     rvisor's TLB, which would dominate the run time. */
  csrr t0, satp
  beqz t0, 1f
  csrw satp, zero
1:
  li t1, -1
  csrr t0, pmpaddr0
  beq t0, t1, 1f
  csrw pmpaddr0, t1
1:
  la t1, misa_init
  ld t1, 0(t1)
  csrr t0, misa
  beq t0, t1, 1f
  csrw misa, t1
1:
  /* Launch: x31's test value goes through sscratch (read back at SLOT-4). */
  la x31, regs_init
  ld x30, 240(x31)
  csrw sscratch, x30
  ld x1, 0(x31)
  ld x2, 8(x31)
  ld x3, 16(x31)
  ld x4, 24(x31)
  ld x5, 32(x31)
  ld x6, 40(x31)
  ld x7, 48(x31)
  ld x8, 56(x31)
  ld x9, 64(x31)
  ld x10, 72(x31)
  ld x11, 80(x31)
  ld x12, 88(x31)
  ld x13, 96(x31)
  ld x14, 104(x31)
  ld x15, 112(x31)
  ld x16, 120(x31)
  ld x17, 128(x31)
  ld x18, 136(x31)
  ld x19, 144(x31)
  ld x20, 152(x31)
  ld x21, 160(x31)
  ld x22, 168(x31)
  ld x23, 176(x31)
  ld x24, 184(x31)
  ld x25, 192(x31)
  ld x26, 200(x31)
  ld x27, 208(x31)
  ld x28, 216(x31)
  ld x29, 224(x31)
  ld x30, 232(x31)
  li x31, SLOT - 4
  jr x31

done:
  la a0, msg_end
  call puts
  li t0, SYSCON
  li t1, 0x5555
  sw t1, 0(t0)
1:
  j 1b

  .align 4
handler:
  csrrw x31, mscratch, x31
  sd x1, 8(x31)
  sd x2, 16(x31)
  sd x3, 24(x31)
  sd x4, 32(x31)
  sd x5, 40(x31)
  sd x6, 48(x31)
  sd x7, 56(x31)
  sd x8, 64(x31)
  sd x9, 72(x31)
  sd x10, 80(x31)
  sd x11, 88(x31)
  sd x12, 96(x31)
  sd x13, 104(x31)
  sd x14, 112(x31)
  sd x15, 120(x31)
  sd x16, 128(x31)
  sd x17, 136(x31)
  sd x18, 144(x31)
  sd x19, 152(x31)
  sd x20, 160(x31)
  sd x21, 168(x31)
  sd x22, 176(x31)
  sd x23, 184(x31)
  sd x24, 192(x31)
  sd x25, 200(x31)
  sd x26, 208(x31)
  sd x27, 216(x31)
  sd x28, 224(x31)
  sd x29, 232(x31)
  sd x30, 240(x31)
  csrr x1, mscratch
  sd x1, 248(x31)
  csrw mscratch, x31
  mv s0, x31
  la sp, stack_top
  csrr s1, mcause
  srli t0, s1, 56
  andi t0, t0, 0x80
  andi s1, s1, 0x7f
  or s1, s1, t0
  csrr s2, mepc
  li t0, SLOT
  sub s2, s2, t0
  csrr s3, mtval
  csrr s4, mstatus
  srli s4, s4, 11
  andi s4, s4, 3
  la t0, state
  ld t0, 16(t0)
  andi t0, t0, 1
  bnez t0, verbose

  /* Compact record: 5 characters '0' + 6 bits: the cause (its code, +32 for
     an interrupt), then 12 bits of hash A and 12 bits of hash R, high first. */
  /* For access faults hash A takes mtval & ~7: QEMU 7.2 reports a misaligned
     access's fault at the address rounded down to its size, rvisor at the
     address itself (the verbose record shows both exactly). */
  addi t0, s1, -5
  beqz t0, 2f
  addi t0, s1, -7
  bnez t0, 3f
2:
  andi s3, s3, -8
3:
  li t6, 0x100000001b3
  li a0, 0xcbf29ce484222325
  xor a0, a0, s2
  mul a0, a0, t6
  xor a0, a0, s3
  mul a0, a0, t6
  xor a0, a0, s4
  mul a0, a0, t6
  call fold12
  mv s5, a0
  li a0, 0xcbf29ce484222325
  /* Hash R: multiply-xor over x1..x31; the fold brings the high bits down. */
  addi s6, s0, 8
  addi s7, s0, 256
1:
  ld a1, 0(s6)
  xor a0, a0, a1
  mul a0, a0, t6
  addi s6, s6, 8
  bltu s6, s7, 1b
  call fold12
  mv s6, a0
  andi a0, s1, 0x1f
  srli t2, s1, 2
  andi t2, t2, 0x20
  or a0, a0, t2
  addi a0, a0, '0'
  call putc
  srli a0, s5, 6
  addi a0, a0, '0'
  call putc
  andi a0, s5, 0x3f
  addi a0, a0, '0'
  call putc
  srli a0, s6, 6
  addi a0, a0, '0'
  call putc
  andi a0, s6, 0x3f
  addi a0, a0, '0'
  call putc
  j next

verbose:
  mv a0, s1
  li a1, 2
  call puthex
  call space
  mv a0, s2
  li a1, 8
  call puthex
  call space
  mv a0, s3
  li a1, 16
  call puthex
  call space
  mv a0, s4
  li a1, 1
  call puthex
  li s5, 1
1:
  call space
  slli t0, s5, 3
  add t0, t0, s0
  ld a0, 0(t0)
  li a1, 16
  call puthex
  addi s5, s5, 1
  li t0, 32
  bltu s5, t0, 1b
  li a0, '\n'
  call putc
  j next

/* a0 = the 64-bit a0 folded to 12 bits. */
fold12:
  srli t0, a0, 32
  xor a0, a0, t0
  srli t0, a0, 16
  xor a0, a0, t0
  srli t0, a0, 12
  xor a0, a0, t0
  slli a0, a0, 52
  srli a0, a0, 52
  ret

/* Print the low a1 hex digits of a0. */
puthex:
  addi sp, sp, -32
  sd ra, 0(sp)
  sd s6, 8(sp)
  sd s7, 16(sp)
  mv s6, a0
  mv s7, a1
1:
  addi s7, s7, -1
  slli t0, s7, 2
  srl a0, s6, t0
  andi a0, a0, 15
  li t0, 10
  bltu a0, t0, 2f
  addi a0, a0, 'a' - '0' - 10
2:
  addi a0, a0, '0'
  call putc
  bnez s7, 1b
  ld ra, 0(sp)
  ld s6, 8(sp)
  ld s7, 16(sp)
  addi sp, sp, 32
  ret

space:
  li a0, ' '
/* Transmit a0 once the UART's holding register is empty. */
putc:
  li t0, UART
1:
  lbu t1, 5(t0)
  andi t1, t1, 0x20
  beqz t1, 1b
  sb a0, 0(t0)
  ret

/* Print the NUL-terminated string at a0. */
puts:
  addi sp, sp, -16
  sd ra, 0(sp)
  sd s6, 8(sp)
  mv s6, a0
1:
  lbu a0, 0(s6)
  beqz a0, 2f
  call putc
  addi s6, s6, 1
  j 1b
2:
  ld ra, 0(sp)
  ld s6, 8(sp)
  addi sp, sp, 16
  ret

  .section .rodata
msg_begin:
  .asciz "BEGIN\n"
msg_end:
  .asciz "\nEND\n"

  .section .data
  .align 3
/* x1..x31 at launch: distinct, in [2^44, 2^52): unmapped on both machines, and exact
   as doubles (rvisor keeps fault addresses as JS numbers: 2^53 and above round). */
regs_init:
  .dword 0x00091b752265b1f5 /* x1 */
  .dword 0x000cd613d8f16adf /* x2 */
  .dword 0x0001127cc386bbc4 /* x3 */
  .dword 0x0001f2fe414c343c /* x4 */
  .dword 0x000c3ce67ed4d57b /* x5 */
  .dword 0x00079e517311d8a3 /* x6 */
  .dword 0x000612e7a6cecc1b /* x7 */
  .dword 0x00035bf9c9e9c616 /* x8 */
  .dword 0x0007de4218072e8c /* x9 */
  .dword 0x000e5b060741c7a8 /* x10 */
  .dword 0x00063ca8d5f4b3b2 /* x11 */
  .dword 0x0009b8106ec9d286 /* x12 */
  .dword 0x000c5647c324c985 /* x13 */
  .dword 0x000b3221008a05a6 /* x14 */
  .dword 0x000452e37204e52d /* x15 */
  .dword 0x000cd447b8b6d8fe /* x16 */
  .dword 0x0009755d3a902931 /* x17 */
  .dword 0x0001b2b8f1fd42a2 /* x18 */
  .dword 0x00051431e6c3f339 /* x19 */
  .dword 0x00005b6e07d4bedc /* x20 */
  .dword 0x000a748a06839eb9 /* x21 */
  .dword 0x000035b48a9a021e /* x22 */
  .dword 0x000e1988f06c144a /* x23 */
  .dword 0x000afbd6619699cf /* x24 */
  .dword 0x000f913037730edf /* x25 */
  .dword 0x000b9d176c0fd4f5 /* x26 */
  .dword 0x0008712b076f3787 /* x27 */
  .dword 0x000c381e38c0c8fd /* x28 */
  .dword 0x000f16d3701966a0 /* x29 */
  .dword 0x0008d8837eed8d14 /* x30 */
  .dword 0x000597fd3bab6c39 /* x31 */
/* index of the next encoding, count, flags, current encoding */
state:
  .dword 0, 0, 0, 0
misa_init:
  .dword 0
save:
  .space 256
  .align 4
  .space 1024
stack_top:
