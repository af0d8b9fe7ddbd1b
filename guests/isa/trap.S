# Synchronous traps: causes, exact epc/tval, the mstatus stack on trap entry
# and on mret/sret, delegation to S, and the TSR/TW/TVM traps
# (privileged spec 1.12, 3.1.6, 3.1.8, 3.1.15-16, 3.3.2, 4.1.1, 4.1.7-9).
#include "test.h"


TEST_BEGIN
  INSTALL_TRAP_HANDLER
  INSTALL_TRAP_HANDLER_S

  # --- exceptions raised in M-mode (3.1.15 causes, 3.1.16 mtval).
  TEST_TRAP(1, 11, 0, ecall)                   # environment call from M
  # QEMU's choice: mtval = 0 for ebreak (the spec allows 0 or the pc).
  TEST_TRAP(2, 3, 0, ebreak)
  TEST_TRAP(3, 3, 0, c.ebreak)                 # epc exact, 2-byte resume
  # QEMU's choice: mtval = the illegal instruction's bits (0 also allowed).
  TEST_ILLEGAL(4, .word 0xffffffff)
  TEST_TRAP(5, 2, 0, .word 0)                  # all-zero: illegal, bits = 0
  TEST_ILLEGAL16(6, .hword 0x0004)             # c.addi4spn with nzuimm=0 is reserved
  TEST_TRAP(7, 2, 0, .hword 0)                 # 16-bit zero is the defined illegal instruction
  # Access faults (3.1.15: 5 load, 7 store/AMO, 1 fetch) at an address where
  # QEMU's virt machine has no device (0x0); mtval = the faulting address.
  TEST_TRAP(8, 5, 0x8, ld a0, 8(zero))
  TEST_TRAP(9, 7, 0x10, sw a0, 16(zero))
  TEST_TRAP(10, 7, 0x7fe, sh a0, 0x7fe(zero))
  # (Not tested: an AMO to 0x0 raises a *load* access fault (5) on QEMU 7.2,
  # where the spec's Table 3.6 says store/AMO access fault (7).)
  # Instruction access fault: epc = tval = the target (0).
test_11:
  li TESTNUM, 11
  li s7, 0
  li s8, 0
  ARM_TRAP(1, 1f)
  jalr zero, 0(zero)
1: CHECK_TRAPPED
  # LR/SC/AMOs must be naturally aligned (unprivileged spec 8.2/8.4: address-
  # misaligned or access fault; QEMU's choice: misaligned). LR is a load:
  # cause 4, tval = the address.
  la s8, scratch + 2
  TEST_TRAP_X(12, 4, lr.w a0, (s8))
  # (Not tested: a misaligned AMO raises a *load* address-misaligned (4) on
  # QEMU 7.2 where Table 3.6 says store/AMO (6); a misaligned SC without a
  # reservation just fails on QEMU, without trapping.)
  la s8, scratch + 4
  addi s8, s8, 1
  TEST_TRAP_X(13, 4, lr.d a0, (s8))
  # QEMU's choice: ordinary misaligned loads/stores are done in hardware (no trap).
  TEST_CASE(14, a0, 0x0201, la t0, scratch; li t1, 0x04030201; sw t1, 0(t0); lhu a0, 0(t0); lhu a1, 1(t0))
  # With C, a jump to a 2-aligned address is legal (no cause-0 trap); misa.C
  # cannot be cleared (csr.S), so this always holds.
  TEST_CASE(15, a0, 15, li a0, 0; la t0, half_aligned; jr t0; .align 2; c.nop; half_aligned: li a0, 15)

  # --- trap entry in M (3.1.6.1): MPIE <- MIE, MIE <- 0, MPP <- previous mode.
  li t0, MSTATUS_MIE
  csrw mstatus, t0                             # MIE=1 (mie=0: no interrupt can be taken)
  CAPTURE_M(16f)
  ecall
16:
  TEST_CASE(16, a0, 0x0000000a00001880, RESTORE_MTVEC)   # MPP=3, MPIE=1, MIE=0
  TEST_CASE(17, a1, 11, )
  csrw mstatus, zero

  # --- mret (3.3.2): MIE <- MPIE, MPIE <- 1, MPP <- U (least-privileged mode).
  TEST_CASE(18, a0, 0x0000000a00000088, li t0, MSTATUS_MPIE | MSTATUS_MPP; csrw mstatus, t0; la t0, 1f; csrw mepc, t0; mret; 1: csrr a0, mstatus)
  TEST_CASE(19, a0, 0x0000000a00000080, li t0, MSTATUS_MPP; csrw mstatus, t0; la t0, 1f; csrw mepc, t0; mret; 1: csrr a0, mstatus)
  csrw mstatus, zero

  # --- ecall from S and U (causes 9, 8); the M handler returns to that mode.
  PMP_ALLOW_ALL
  ENTER_MODE(PRV_S)
  TEST_TRAP(20, 9, 0, ecall)
  TEST_TRAP(21, 3, 0, ebreak)
  TEST_ILLEGAL(22, mret)                       # mret is M-only (3.3.2)
  TEST_ILLEGAL(23, csrw mepc, zero)
  RETURN_TO_M
  ENTER_MODE(PRV_U)
  TEST_TRAP(24, 8, 0, ecall)
  TEST_CASE(60, s4, PRV_M, )
  TEST_ILLEGAL(25, mret)
  TEST_ILLEGAL(26, sret)                       # sret needs S (3.3.2)
  # wfi in U with S present: illegal (3.1.6.5; QEMU traps at once, TW=0).
  TEST_ILLEGAL(27, wfi)
  TEST_ILLEGAL(28, sfence.vma)                 # S-only (4.2.1)
  RETURN_TO_M

  # --- trap entry from S: MPP=1 (S), MPIE <- MIE (0 here).
  csrw mstatus, zero
  CAPTURE_M(29f)
  ENTER_MODE(PRV_S)
  ecall
29:
  TEST_CASE(29, a0, 0x0000000a00000800, RESTORE_MTVEC)   # MPP=S
  TEST_CASE(30, a1, 9, )
  csrw mstatus, zero

  # --- sret (3.3.2, 4.1.1): SIE <- SPIE, SPIE <- 1, SPP <- U; goes to SPP.
  # From S with SPP=S: stays in S (reading sstatus is legal there).
  ENTER_MODE(PRV_S)
  TEST_CASE(31, a0, 0x0000000200000022, li t0, MSTATUS_SPIE | MSTATUS_SPP; csrw sstatus, t0; la t0, 1f; csrw sepc, t0; sret; 1: csrr a0, sstatus)
  # sret with SPP=U lands in U: sstatus is then illegal.
  csrw sstatus, zero
  la t0, 32f
  csrw sepc, t0
  sret
32:
  TEST_ILLEGAL(32, csrr a0, sstatus)
  RETURN_TO_M

  # --- TSR (3.1.6.5): sret in S is illegal when TSR=1; in M it is not.
  li t0, MSTATUS_TSR
  csrs mstatus, t0
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(33, sret)
  RETURN_TO_M
  # TW: wfi in S is illegal when TW=1 (3.1.6.5); QEMU traps at once.
  li t0, MSTATUS_TSR
  csrc mstatus, t0
  li t0, MSTATUS_TW
  csrs mstatus, t0
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(34, wfi)
  RETURN_TO_M
  # TVM (3.1.6.5): satp access and sfence.vma are illegal in S when TVM=1.
  li t0, MSTATUS_TW
  csrc mstatus, t0
  li t0, MSTATUS_TVM
  csrs mstatus, t0
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(35, csrr a0, satp)
  TEST_ILLEGAL(36, csrw satp, zero)
  TEST_ILLEGAL(37, sfence.vma)
  TEST_CASE(38, a0, 0x55, li t0, 0x55; csrw sscratch, t0; csrr a0, sscratch)  # other S CSRs still fine
  RETURN_TO_M
  # With TVM=0 the same accesses are legal in S.
  li t0, MSTATUS_TVM
  csrc mstatus, t0
  ENTER_MODE(PRV_S)
  TEST_CASE(39, a0, 0, li a0, 1; csrr a0, satp; sfence.vma)
  RETURN_TO_M
  # In M, TVM/TSR do not apply.
  li t0, MSTATUS_TVM | MSTATUS_TSR
  csrs mstatus, t0
  TEST_CASE(40, a0, 0, li a0, 1; csrr a0, satp; sfence.vma)
  csrw mstatus, zero

  # --- delegation (3.1.8): medeleg bits send traps from S/U to S.
  li t0, (1 << 8) | (1 << 2) | (1 << 3)        # ecall-from-U, illegal, breakpoint
  csrw medeleg, t0
  ENTER_MODE(PRV_U)
  TEST_TRAP(41, 8, 0, ecall)                   # handled by trap_handler_s
  TEST_CASE(54, s4, PRV_S, )
  TEST_ILLEGAL(42, .word 0xffffffff)           # stval = the bits, as mtval
  TEST_CASE(55, s4, PRV_S, )
  TEST_TRAP(43, 3, 0, ebreak)
  TEST_CASE(56, s4, PRV_S, )
  RETURN_TO_M                                  # forwarded by trap_handler_s (test.h)
  # A delegated trap from S stays in S (traps go to the same or a higher mode).
  ENTER_MODE(PRV_S)
  TEST_ILLEGAL(44, .word 0xffffffff)
  TEST_CASE(57, s4, PRV_S, )
  RETURN_TO_M
  # Traps taken in M are never delegated (3.1.8): the M handler takes this one
  # and scause keeps the sentinel.
  li t0, 0x55
  csrw scause, t0
  TEST_ILLEGAL(45, .word 0xffffffff)
  TEST_CASE(58, s4, PRV_M, )
  TEST_CASE(46, a0, 0x55, csrr a0, scause)

  # --- the sstatus stack on a delegated trap (4.1.1): SPP <- previous mode,
  # SPIE <- SIE, SIE <- 0; mstatus.MPP/MPIE are untouched.
  ENTER_MODE(PRV_S)
  CAPTURE_S(47f)
  li t0, MSTATUS_SPIE                          # sret: SIE <- 1, to U (SPP=0)
  csrw sstatus, t0
  la t0, 1f
  csrw sepc, t0
  sret
1:
  ecall                                        # from U, delegated
47:
  TEST_CASE(47, a0, 0x0000000200000020, )      # SPP=U, SPIE=1, SIE=0
  TEST_CASE(48, a1, 8, )
  TEST_CASE(49, a3, 0, la t0, 1b; bne a2, t0, fail)   # sepc = the ecall
  CAPTURE_S(50f)
  csrw sstatus, zero
  .word 0                                      # from S, delegated
50:
  TEST_CASE(50, a0, 0x0000000200000100, )      # SPP=S, SPIE=0, SIE=0
  TEST_CASE(51, a1, 2, )
  TEST_CASE(52, a3, 0, la t0, 50b - 4; bne a2, t0, fail)
  INSTALL_TRAP_HANDLER_S
  RETURN_TO_M
  csrw medeleg, zero

  # --- ecall from S delegated with medeleg bit 9 (last: RETURN_TO_M needs it
  # undelegated).
  li t0, (1 << 9)
  csrw medeleg, t0
  ENTER_MODE(PRV_S)
  TEST_TRAP(53, 9, 0, ecall)                   # handled by trap_handler_s
  TEST_CASE(59, s4, PRV_S, )
TEST_END
PRIV_HANDLERS


  .data
  .align 3
scratch: .dword 0, 0
