# mstatus.MPRV (privileged spec 1.12, 3.1.6.3): with MPRV=1, M-mode loads and
# stores are translated and checked as if in mode MPP (as OpenSBI reads S-mode
# memory); instruction fetches are not affected.
#
# Sv39 layout (built in M-mode):
#   0x4000_0000 1 GiB -> PA 0x8000_0000 RW  S
#   0x8000_0000 1 GiB -> PA 0x8000_0000 RWX S (identity)
#   0xc000_0000 1 GiB -> PA 0x8000_0000 RW  U
#include "test.h"

#define PTE_VRW_AD 0xc7                 /* V R W A D */
#define PTE_X 0x08
#define PTE_U 0x10

/* root[idx] = gigapage onto PA 0x8000_0000 */
#define GIGA(idx, flags) li t1, ((0x80000000 >> 12) << 10) | (flags); la t2, root; sd t1, ((idx) * 8)(t2)
/* s0 = data's address seen through gigapage VA `base` */
#define DATA_VIA(base) la s0, data; li t0, 0x80000000; sub s0, s0, t0; li t0, base; add s0, s0, t0
/* MPRV=1 and MPP=`mode` (other mstatus bits 0) */
#define MPRV_AS(mode) li t0, MSTATUS_MPRV | ((mode) << 11); csrw mstatus, t0

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL
  GIGA(1, PTE_VRW_AD)
  GIGA(2, PTE_VRW_AD | PTE_X)
  GIGA(3, PTE_VRW_AD | PTE_U)
  la t0, root
  srli t0, t0, 12
  li t1, 8 << 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma

  # --- MPP=S: loads/stores go through satp.
  DATA_VIA(0x40000000)
  MPRV_AS(PRV_S)
  TEST_CASE(1, a0, 0x1122334455667788, ld a0, 0(s0))
  TEST_CASE(2, a0, 0x77, li t0, 0x77; sd t0, 8(s0); csrw mstatus, zero; la t0, data; ld a0, 8(t0))
  # ... and are checked as S: a U page needs SUM (4.1.1.2).
  DATA_VIA(0xc0000000)
  MPRV_AS(PRV_S)
  mv s8, s0
  TEST_TRAP_X(3, 13, ld a0, 0(s0))
  # (the trap wrote MPP=M and the mret made it U: set it again)
  li t0, MSTATUS_MPRV | MSTATUS_SUM | (PRV_S << 11)
  csrw mstatus, t0
  TEST_CASE(4, a0, 0x1122334455667788, ld a0, 0(s0))

  # --- MPP=U: U pages are accessible, S pages are not. The code keeps
  # running from the S-only identity mapping, so fetches are untranslated.
  MPRV_AS(PRV_U)
  TEST_CASE(5, a0, 0x1122334455667788, ld a0, 0(s0))
  DATA_VIA(0x40000000)
  MPRV_AS(PRV_U)
  mv s8, s0
  TEST_TRAP_X(6, 15, sd a0, 0(s0))

  # --- MPP=M: no translation, 0xc000_0000 is a physical hole (access fault).
  DATA_VIA(0xc0000000)
  MPRV_AS(PRV_M)
  mv s8, s0
  TEST_TRAP_X(7, 5, ld a0, 0(s0))
  # (the trap's mret to M kept MPRV=1 and set MPP=U: M loads are now checked
  # as U, so the S-only identity mapping faults)
  la s8, data
  TEST_TRAP_X(8, 13, ld a0, 0(s8))
  csrw mstatus, zero

  # --- mret to M keeps MPRV (3.1.6.3: only an xRET to a mode below M clears it).
  TEST_CASE(9, a0, MSTATUS_MPRV, MPRV_AS(PRV_M); la t0, 1f; csrw mepc, t0; mret; 1: csrr a0, mstatus; li t0, MSTATUS_MPRV; and a0, a0, t0)
  # NOT TESTED: spec 1.12 says an MRET/SRET to a mode below M also sets
  # MPRV=0; QEMU 7.2 does not (it keeps MPRV, the 1.11 behaviour), so the
  # reference cannot validate it.
  csrw mstatus, zero
  csrw satp, zero
  sfence.vma
TEST_END
PRIV_HANDLERS

  .data
  .align 12
root: .space 4096
data: .dword 0x1122334455667788, 0
