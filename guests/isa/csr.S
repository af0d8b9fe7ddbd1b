# Machine/supervisor CSRs: identification, WARL fields, views, privilege checks
# (privileged spec 1.12, chapters 2, 3.1 and 4.1). Expected values are the
# spec's; where QEMU 7.2 (the reference) takes a spec-allowed choice, the case
# says "QEMU's choice".
#include "test.h"

TEST_BEGIN
  INSTALL_TRAP_HANDLER

  # --- misa (3.1.1): MXL=2 (64-bit), extensions A C I M S U and nothing else.
  TEST_CASE(1, a0, 0x8000000000141105, csrr a0, misa)
  # misa is WARL; QEMU's choice: writes are ignored (no extension can be turned
  # off), so clearing C (bit 2) leaves C set and 2-aligned jumps stay legal.
  TEST_CASE(2, a0, 0x8000000000141105, li t0, 0x8000000000141101; csrw misa, t0; csrr a0, misa)

  # --- identification CSRs (3.1.2-3.1.5): read-only; hart 0; mvendorid 0 =
  # non-commercial implementation. (marchid/mimpid encode QEMU's version, not tested.)
  TEST_CASE(3, a0, 0, li a0, 1; csrr a0, mvendorid)
  TEST_CASE(4, a0, 0, li a0, 1; csrr a0, mhartid)
  # csrrs/csrrc with rs1=x0 do not write, so they are legal on read-only CSRs (2.1).
  TEST_CASE(5, a0, 0, li a0, 1; csrrs a0, mhartid, x0)
  TEST_CASE(6, a0, 0, li a0, 1; csrrci a0, mvendorid, 0)
  # Any write to a read-only CSR (bits 11:10 = 3) is an illegal instruction (2.1).
  TEST_ILLEGAL(7, csrw mvendorid, zero)
  TEST_ILLEGAL(8, csrw marchid, zero)
  TEST_ILLEGAL(9, csrw mimpid, zero)
  TEST_ILLEGAL(10, csrrs a0, mhartid, t0)
  TEST_ILLEGAL(11, csrrwi a0, mhartid, 0)

  # --- mstatus (3.1.6). After `csrw mstatus, 0`: SXL = UXL = 2 (read-only,
  # 3.1.6.2), everything else 0.
  TEST_CASE(12, a0, 0x0000000a00000000, csrw mstatus, zero; csrr a0, mstatus)
  # All single-bit fields of M and S plus MPP=3 are writable.
  TEST_CASE(13, a0, 0x0000000a007e19aa, li t0, 0x7e19aa; csrw mstatus, t0; csrr a0, mstatus)
  # MPP holds U (0), S (1), M (3).
  TEST_CASE(14, a0, 0x0000000a00000800, li t0, (1 << 11); csrw mstatus, t0; csrr a0, mstatus)
  TEST_CASE(15, a0, 0x0000000a00000000, li t0, (0 << 11); csrw mstatus, t0; csrr a0, mstatus)
  # FS is read-only 0 without F (3.1.6.6), so SD stays 0 too.
  TEST_CASE(16, a0, 0x0000000a00000000, li t0, (3 << 13); csrw mstatus, t0; csrr a0, mstatus)
  # XS is read-only 0 (no custom extension state).
  TEST_CASE(17, a0, 0x0000000a00000000, li t0, (3 << 15); csrw mstatus, t0; csrr a0, mstatus)
  # SD (bit 63) is read-only: set only when FS/VS/XS say dirty.
  TEST_CASE(18, a0, 0x0000000a00000000, li t0, (1 << 63); csrw mstatus, t0; csrr a0, mstatus)

  # --- sstatus (4.1.1) is a view of mstatus: only SIE SPIE SPP SUM MXR (and
  # UXL, FS, XS, SD) are visible.
  TEST_CASE(19, a0, 0x00000002000c0122, li t0, 0x7e19aa; csrw mstatus, t0; csrr a0, sstatus)
  # Writing sstatus changes only the S fields of mstatus (MIE, MPP, TVM.. stay).
  TEST_CASE(20, a0, 0x0000000a00721888, csrw sstatus, zero; csrr a0, mstatus)
  TEST_CASE(21, a0, 0x0000000a000c0122, csrw mstatus, zero; li t0, 0x7e19aa; csrw sstatus, t0; csrr a0, mstatus)
  csrw mstatus, zero

  # --- mtvec/stvec (3.1.7, 4.1.2): MODE 0 = direct, 1 = vectored; MODE >= 2 is
  # reserved. QEMU's choice (WARL): a write with a reserved MODE is ignored.
  la s0, trap_handler_m
  TEST_CASE(22, a0, 0x80001000, li t0, 0x80001000; csrw mtvec, t0; csrr a0, mtvec; csrw mtvec, s0)
  TEST_CASE(23, a0, 0x80001001, li t0, 0x80001001; csrw mtvec, t0; csrr a0, mtvec; csrw mtvec, s0)
  TEST_CASE(24, a0, 0x80001001, li t0, 0x80001001; csrw mtvec, t0; li t0, 0x80002002; csrw mtvec, t0; csrr a0, mtvec; csrw mtvec, s0)
  TEST_CASE(25, a0, 0x80001001, li t0, 0x80001001; csrw mtvec, t0; li t0, 0x80002003; csrw mtvec, t0; csrr a0, mtvec; csrw mtvec, s0)
  TEST_CASE(26, a0, 0x80003000, li t0, 0x80003000; csrw stvec, t0; csrr a0, stvec)
  TEST_CASE(27, a0, 0x80003001, li t0, 0x80003001; csrw stvec, t0; csrr a0, stvec)
  TEST_CASE(28, a0, 0x80003001, li t0, 0x80004002; csrw stvec, t0; csrr a0, stvec)
  TEST_CASE(29, a0, 0x80003001, li t0, 0x80004003; csrw stvec, t0; csrr a0, stvec)

  # --- medeleg/mideleg (3.1.8): WARL masks of delegable traps. QEMU's choice:
  # medeleg bits 0-13, 15 and 20-23 are writable (including 10/11 and the
  # guest page faults although H is absent; the spec only says "should" be 0);
  # bit 14 and 16-19 (reserved) are 0.
  TEST_CASE(30, a0, 0xf0bfff, li t0, -1; csrw medeleg, t0; csrr a0, medeleg)
  TEST_CASE(31, a0, 0, csrw medeleg, zero; csrr a0, medeleg)
  # mideleg: SSI, STI, SEI (1, 5, 9) delegable; QEMU's choice: also VS bits
  # 2, 6, 10 and LCOFI (13); the M bits are never delegable.
  TEST_CASE(32, a0, 0x2666, li t0, -1; csrw mideleg, t0; csrr a0, mideleg)
  TEST_CASE(33, a0, 0, csrw mideleg, zero; csrr a0, mideleg)

  # --- mie/mip/sie/sip (3.1.9, 4.1.3). mtimecmp = -1 so that MTIP is 0.
  li t0, CLINT_MTIMECMP
  li t1, -1
  sd t1, 0(t0)
  # mie: SSIE STIE SEIE MSIE MTIE MEIE (1,3,5,7,9,11); QEMU: + VS bits and LCOFIE.
  TEST_CASE(34, a0, 0x2eee, li t0, -1; csrw mie, t0; csrr a0, mie)
  # sie shows only the bits delegated in mideleg (4.1.3): none delegated -> 0.
  TEST_CASE(35, a0, 0, csrr a0, sie)
  TEST_CASE(36, a0, 0x222, li t0, 0x222; csrw mideleg, t0; csrr a0, sie)
  # writing sie changes only delegated bits of mie.
  TEST_CASE(37, a0, 0x2ccc, csrw sie, zero; csrr a0, mie)
  csrw mie, zero
  # mip: SSIP, STIP, SEIP are writable from M (3.1.9); MSIP/MTIP/MEIP are not.
  TEST_CASE(38, a0, 0x222, li t0, 0xaaa; csrw mip, t0; csrr a0, mip)
  TEST_CASE(39, a0, 0x222, csrr a0, sip)
  # sip: only SSIP is writable from S (4.1.3); STIP and SEIP stay.
  TEST_CASE(40, a0, 0x220, csrw sip, zero; csrr a0, mip)
  # with nothing delegated, sip reads 0.
  TEST_CASE(41, a0, 0, csrw mideleg, zero; csrr a0, sip)
  csrw mip, zero

  # --- satp (4.1.11): Sv39 (8) and Bare (0) are accepted with all 16 ASID bits
  # and 44 PPN bits. A write with an unsupported MODE is ignored entirely
  # (the spec: "the entire write has no effect", 4.1.11).
  TEST_CASE(42, a0, 0x8fffffffffffffff, li t0, 0x8fffffffffffffff; csrw satp, t0; csrr a0, satp)
  TEST_CASE(43, a0, 0x8000000000080123, li t0, 0x8000000000080123; csrw satp, t0; csrr a0, satp)
  TEST_CASE(44, a0, 0x8000000000080123, li t0, 0x1000000000080456; csrw satp, t0; csrr a0, satp)
  TEST_CASE(45, a0, 0x8000000000080123, li t0, 0xf000000000080456; csrw satp, t0; csrr a0, satp)
  TEST_CASE(46, a0, 0x8000000000080123, li t0, 0x7000000000080456; csrw satp, t0; csrr a0, satp)
  # NOTE: Sv48 (9) and Sv57 (10) are accepted by QEMU's rv64 CPU unless it is
  # started with sv48=false,sv57=false, so they are not tested here.
  TEST_CASE(47, a0, 0, csrw satp, zero; csrr a0, satp)

  # --- mcounteren/scounteren (3.1.11, 4.1.5): CY, TM, IR and the hpm bits are
  # writable.
  TEST_CASE(48, a0, 7, li t0, 7; csrw mcounteren, t0; csrr a0, mcounteren)
  TEST_CASE(49, a0, 0x5, li t0, 5; csrw scounteren, t0; csrr a0, scounteren)
  csrw mcounteren, zero
  csrw scounteren, zero

  # --- menvcfg/senvcfg (3.1.18, 4.1.4): present in 1.12, reset 0, FIOM writable.
  TEST_CASE(50, a0, 1, li t0, 1; csrw menvcfg, t0; csrr a0, menvcfg)
  TEST_CASE(51, a0, 1, li t0, 1; csrw senvcfg, t0; csrr a0, senvcfg)
  csrw menvcfg, zero
  csrw senvcfg, zero

  # --- PMP CSRs (3.7.1): 16 entries; pmpcfg0 and pmpcfg2 hold 8 entries each
  # on RV64, odd pmpcfg registers do not exist.
  TEST_CASE(52, a0, 0x00191b0d0f0b0908, li t0, 0x00191b0d0f0b0908; csrw pmpcfg0, t0; csrr a0, pmpcfg0)
  TEST_CASE(53, a0, 0x1d1918110f0d0c08, li t0, 0x1d1918110f0d0c08; csrw pmpcfg2, t0; csrr a0, pmpcfg2)
  csrw pmpcfg0, zero
  csrw pmpcfg2, zero
  TEST_ILLEGAL(54, csrr a0, pmpcfg1)
  TEST_ILLEGAL(55, csrr a0, pmpcfg3)
#define PMPADDR(n, i) TEST_CASE(n, a0, 0x2000000 + i * 0x1111, li t0, 0x2000000 + i * 0x1111; csrw pmpaddr##i, t0; csrr a0, pmpaddr##i)
  PMPADDR(56, 0)
  PMPADDR(57, 1)
  PMPADDR(58, 2)
  PMPADDR(59, 3)
  PMPADDR(60, 4)
  PMPADDR(61, 5)
  PMPADDR(62, 6)
  PMPADDR(63, 7)
  PMPADDR(64, 8)
  PMPADDR(65, 9)
  PMPADDR(66, 10)
  PMPADDR(67, 11)
  PMPADDR(68, 12)
  PMPADDR(69, 13)
  PMPADDR(70, 14)
  PMPADDR(71, 15)
  # the 16 registers are distinct: pmpaddr0 still holds its own value.
  TEST_CASE(72, a0, 0x2000000, csrr a0, pmpaddr0)

  # --- nonexistent CSRs raise illegal instruction (2.1); QEMU's choice for
  # mtval: the instruction bits (3.1.16 allows 0 too).
  TEST_ILLEGAL(73, csrr a0, 0x7c0)       # custom M-mode range, none here
  TEST_ILLEGAL(74, csrr a0, hstatus)     # no H extension
  TEST_ILLEGAL(75, csrr a0, fcsr)        # no F extension
  TEST_ILLEGAL(76, csrw 0x5c0, a0)       # custom S-mode range

  # --- privilege checks (2.1): bits 9:8 of the CSR number give the lowest
  # privilege that may access it. Needs a PMP entry for S/U (see test.h).
  PMP_ALLOW_ALL
  ENTER_MODE(PRV_S)
  TEST_CASE(77, a0, 0x0000000200000000, csrr a0, sstatus)
  TEST_ILLEGAL(78, csrr a0, mstatus)
  TEST_ILLEGAL(79, csrr a0, mhartid)
  TEST_ILLEGAL(80, csrw mscratch, a0)
  TEST_CASE(81, a0, 0x1234, li t0, 0x1234; csrw sscratch, t0; csrr a0, sscratch)
  RETURN_TO_M
  ENTER_MODE(PRV_U)
  TEST_ILLEGAL(82, csrr a0, sstatus)
  TEST_ILLEGAL(83, csrr a0, sscratch)
  TEST_ILLEGAL(84, csrr a0, satp)
  RETURN_TO_M
  # RETURN_TO_M really landed in M: M CSRs are accessible again.
  TEST_CASE(85, a0, 0x1234, csrr a0, sscratch; csrr t0, mstatus)
TEST_END
PRIV_HANDLERS
