# Sv39 address translation (privileged spec 1.12, 4.3 and 4.4): 4 KiB pages,
# 2 MiB megapages and 1 GiB gigapages; A/D updates; page faults (12 fetch,
# 13 load, 15 store) with stval = the virtual address; U/SUM/MXR rules;
# reserved encodings; misaligned superpages; non-canonical addresses; sfence.vma
# of everything, of one page, and of one address in a megapage.
#
# The page tables are built in M-mode. Virtual layout (root = level-2 table):
#   0x0000_0000 1 GiB   -> PA 0           RW  S  (syscon/CLINT/UART for S)
#   0x4000_0000 level-1 table:
#     0x4000_0000 level-0 table, 4 KiB pages onto data_page:
#       +0x0000 RW (A=D=0)   +0x1000 R   +0x2000 RW U   +0x3000 X only
#       +0x4000 invalid      +0x5000 W only (reserved)
#     0x4020_0000 2 MiB -> PA 0x8000_0000 RW
#     0x4040_0000 2 MiB -> PA 0x8000_1000 (ppn[0] != 0: misaligned)
#   0x8000_0000 1 GiB   -> PA 0x8000_0000 RWX S  (identity: code, data, tables)
#   0xc000_0000 1 GiB   -> PA 0x8000_0000 RW  S
#   0x1_0000_0000 1 GiB -> PA 0x8000_0000 RWX U  (U alias of the program)
#include "test.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define ALIAS_OFF 0x80000000            /* U alias VA - PA */
#define PAGE(i) (0x40000000 + (i) * 0x1000)

/* table[idx] = leaf/pointer PTE for the physical address in `pa`. */
#define SET_PTE(table, idx, pa, flags)  \
  srli t1, pa, 12;                      \
  slli t1, t1, 10;                      \
  ori t1, t1, flags;                    \
  la t2, table;                         \
  sd t1, ((idx) * 8)(t2)

/* s0 = the virtual address of data_page's first dword seen through `base`
 * (a superpage VA that maps PA 0x8000_0000). */
#define DATA_VIA(base) la s0, data_page; li t0, 0x80000000; sub s0, s0, t0; li t0, base; add s0, s0, t0

/* Leave the U alias for M: the resume address is made physical. */
#define RETURN_TO_M_FROM_ALIAS          \
  la s9, 1f;                            \
  li t0, ALIAS_OFF;                     \
  sub s9, s9, t0;                       \
  li s5, 3;                             \
  ecall;                                \
1:

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL

  # --- build the tables
  li s0, 0
  SET_PTE(root, 0, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  la s0, l1
  SET_PTE(root, 1, s0, PTE_V)
  li s0, 0x80000000
  SET_PTE(root, 2, s0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
  SET_PTE(root, 3, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  SET_PTE(root, 4, s0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
  SET_PTE(l1, 1, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  li s0, 0x80001000
  SET_PTE(l1, 2, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  la s0, l0
  SET_PTE(l1, 0, s0, PTE_V)
  la s0, data_page
  SET_PTE(l0, 0, s0, PTE_V | PTE_R | PTE_W)
  SET_PTE(l0, 1, s0, PTE_V | PTE_R | PTE_A)
  SET_PTE(l0, 2, s0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
  SET_PTE(l0, 3, s0, PTE_V | PTE_X | PTE_A)
  SET_PTE(l0, 5, s0, PTE_V | PTE_W | PTE_A | PTE_D)
  la t0, root
  srli t0, t0, 12
  li t1, 8 << 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma

  # --- M-mode is never translated (4.1.11): 0xc000_0000 is a physical hole
  # (access fault 5, not a page fault).
  li t1, 0xc0000000
  TEST_TRAP(1, 5, 0xc0000000, ld a0, 0(t1))

  ENTER_MODE(PRV_S)
  # --- 4 KiB page, and the A/D bits (4.3.1, 4.3.2 step 7). QEMU's choice:
  # the hardware sets A and D in the PTE (instead of raising a page fault).
  li s1, 0x1122334455667788
  li t1, PAGE(0)
  TEST_CASE(2, a0, 0x1122334455667788, ld a0, 0(t1))
  TEST_CASE(3, a0, PTE_A, la t0, l0; ld a0, 0(t0); andi a0, a0, PTE_A | PTE_D)
  TEST_CASE(4, a0, 0x99, li t1, PAGE(0); li t0, 0x99; sd t0, 8(t1); la t0, data_page; ld a0, 8(t0))
  TEST_CASE(5, a0, PTE_A | PTE_D, la t0, l0; ld a0, 0(t0); andi a0, a0, PTE_A | PTE_D)

  # --- superpages (4.3.1, 4.4.1): a megapage and a gigapage onto PA 0x8000_0000.
  TEST_CASE(6, a0, 0x1122334455667788, DATA_VIA(0x40200000); ld a0, 0(s0))
  TEST_CASE(7, a0, 0x1122334455667788, DATA_VIA(0xc0000000); ld a0, 0(s0))
  # a megapage whose ppn[0] != 0 is misaligned: page fault (4.3.2 step 6).
  li t1, 0x40400010
  TEST_TRAP(8, 13, 0x40400010, ld a0, 0(t1))
  TEST_TRAP(9, 15, 0x40400010, sd a0, 0(t1))

  # --- permissions (4.3.1 Table 4.5): read-only page.
  li t1, PAGE(1)
  TEST_CASE(10, a0, 0x1122334455667788, ld a0, 0(t1))
  TEST_TRAP(11, 15, PAGE(1) + 8, sd a0, 8(t1))
  # invalid PTE (V=0): the fault type follows the access.
  li t1, PAGE(4)
  TEST_TRAP(12, 13, PAGE(4) + 0x10, ld a0, 0x10(t1))
  TEST_TRAP(13, 15, PAGE(4) + 0x18, sd a0, 0x18(t1))
test_14:
  li TESTNUM, 14                               # fetch: epc = tval = target
  li s7, PAGE(4)
  li s8, PAGE(4)
  ARM_TRAP(12, 1f)
  jalr s7
1: CHECK_TRAPPED
  # W=1 with R=0 is reserved: page fault for any access (4.3.2 step 5).
  li t1, PAGE(5)
  TEST_TRAP(15, 13, PAGE(5), ld a0, 0(t1))
  TEST_TRAP(16, 15, PAGE(5), sd a0, 0(t1))
  # execute-only page: loads fault unless MXR (4.1.1.2).
  li t1, PAGE(3)
  TEST_TRAP(17, 13, PAGE(3), ld a0, 0(t1))
  li t0, MSTATUS_MXR
  csrs sstatus, t0
  TEST_CASE(18, a0, 0x1122334455667788, li t1, PAGE(3); ld a0, 0(t1))
  li t1, PAGE(3)
  TEST_TRAP(19, 15, PAGE(3), sd a0, 0(t1))     # MXR does not grant writes
  li t0, MSTATUS_MXR
  csrc sstatus, t0

  # --- U pages seen from S (4.1.1.2): loads/stores fault unless SUM;
  # fetches always fault.
  li t1, PAGE(2)
  TEST_TRAP(20, 13, PAGE(2), ld a0, 0(t1))
  TEST_TRAP(21, 15, PAGE(2), sd a0, 0(t1))
  li t0, MSTATUS_SUM
  csrs sstatus, t0
  TEST_CASE(22, a0, 0x1122334455667788, li t1, PAGE(2); ld a0, 0(t1))
  TEST_CASE(23, a0, 0x99, li t1, PAGE(2); li t0, 0x99; sd t0, 8(t1); ld a0, 8(t1))
test_24:
  li TESTNUM, 24                               # S fetch from the U alias
  la s7, 1f
  li t0, ALIAS_OFF
  add s7, s7, t0
  mv s8, s7
  ARM_TRAP(12, 1f)
  jalr s7
1: CHECK_TRAPPED
  li t0, MSTATUS_SUM
  csrc sstatus, t0

  # --- non-canonical addresses (4.4.1): bits 63..39 must equal bit 38.
  li t1, 0x0000004000000000
  TEST_TRAP(25, 13, 0x0000004000000000, ld a0, 0(t1))
  li t1, 0x8000000080000000                    # identity VA with bit 63 set
  TEST_TRAP(26, 15, 0x8000000080000000, sd a0, 0(t1))

  # --- sfence.vma (4.2.1): a PTE changed in memory is used after sfence.vma.
  la s0, data_page
  SET_PTE(l0, 4, s0, PTE_V | PTE_R | PTE_A)    # make page 4 valid
  sfence.vma
  TEST_CASE(27, a0, 0x1122334455667788, li t1, PAGE(4); ld a0, 0(t1))
  la t2, l0                                    # unmap page 1 (used above)
  sd zero, 8(t2)
  sfence.vma
  li t1, PAGE(1)
  TEST_TRAP(28, 13, PAGE(1), ld a0, 0(t1))
  # sfence.vma with rs1 = the address (one page) also works.
  la s0, data_page
  SET_PTE(l0, 1, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  li t1, PAGE(1)
  sfence.vma t1, zero
  TEST_CASE(29, a0, 0x1122334455667788, li t1, PAGE(1); ld a0, 0(t1); sd a0, 0(t1))
  # sfence.vma of one address drops a translation that was used (and may be
  # cached) for that page, and only needs to: the page now maps data2.
  la s0, data_page
  SET_PTE(l0, 6, s0, PTE_V | PTE_R | PTE_A)
  li t1, PAGE(6)
  sfence.vma t1, zero
  TEST_CASE(34, a0, 0x1122334455667788, li t1, PAGE(6); ld a0, 0(t1))
  la s0, data2
  SET_PTE(l0, 6, s0, PTE_V | PTE_R | PTE_A)
  li t1, PAGE(6)
  sfence.vma t1, zero
  TEST_CASE(35, a0, 0x5566778899aabbcc, li t1, PAGE(6); ld a0, 0(t1))
  TEST_CASE(36, a0, 0x1122334455667788, li t1, PAGE(0); ld a0, 0(t1))
  # One address anywhere in a megapage fences the whole megapage (its leaf
  # PTE covers every address in it): unmap it, fence its first page, and the
  # data page seen through it (used by test 6) faults.
  TEST_CASE(37, a0, 0x1122334455667788, DATA_VIA(0x40200000); ld a0, 0(s0))
megapage_unmap:                               # (tests/snapshot_test.ts snapshots here)
  la t2, l1
  sd zero, 8(t2)
  li t1, 0x40200000
  sfence.vma t1, zero
  DATA_VIA(0x40200000)
  mv s8, s0
  TEST_TRAP_X(38, 13, ld a0, 0(s0))
  li s0, 0x80000000
  SET_PTE(l1, 1, s0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
  sfence.vma
  RETURN_TO_M

  # --- U-mode, running from the U alias.
  la a0, u_code
  li t1, ALIAS_OFF
  add a0, a0, t1
  ENTER_MODE_AT(PRV_U, a0)
u_code:
  TEST_CASE(30, a0, 0x1122334455667788, li t1, PAGE(2); ld a0, 0(t1))
  # U access to a non-U page faults, SUM or not (SUM only affects S).
  li t1, PAGE(0)
  TEST_TRAP(31, 13, PAGE(0), ld a0, 0(t1))
  TEST_TRAP(32, 15, PAGE(0), sd a0, 0(t1))
test_33:
  li TESTNUM, 33                               # U fetch from an S page
  la s7, 1f
  li t0, ALIAS_OFF
  sub s7, s7, t0
  mv s8, s7
  ARM_TRAP(12, 1f)
  jalr s7
1: CHECK_TRAPPED
  RETURN_TO_M_FROM_ALIAS
  csrw satp, zero
  sfence.vma
TEST_END
PRIV_HANDLERS

  .data
  .align 12
root: .space 4096
l1:   .space 4096
l0:   .space 4096
data_page:
  .dword 0x1122334455667788
  .space 4096 - 8
data2:
  .dword 0x5566778899aabbcc
  .space 4096 - 8
