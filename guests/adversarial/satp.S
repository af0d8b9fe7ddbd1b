# Adversarial guest (e): satp writes with modes other than Bare (0) and Sv39
# (8) - 1..7 and 11..15 are reserved, 9/10 are Sv48/Sv57, which rvisor does
# not implement - must be ignored: satp reads back the old value and
# translation stays as it was (an alias gigapage keeps working, and a bogus
# root in the rejected value is never walked). Tried from S-mode with csrw and
# csrrw, and from M-mode. QEMU implements Sv48/Sv57, so modes 9 and 10 are
# checked only with rvisor_checks.
#include "test.h"
#include "probe.h"

#define LEAF 0xcf                       /* V R W X A D */
#define SATP_SV39 (8 << 60)
#define ALIAS 0x40000000                /* VA gigapage 1 -> PA 0x8000_0000 */

#define SET_PTE(table, idx, pareg, flags) \
  srli t1, pareg, 12; slli t1, t1, 10; ori t1, t1, flags; la t2, table; sd t1, ((idx) * 8)(t2)

/* Tries satp mode `mode` (with the bogus root's PPN); satp must still be s1
 * and the alias must still read the marker. Case number n. */
#define TRY_MODE(n, mode, csrop...) TRY_MODE_A(n, mode, 1, csrop)
#define TRY_MODE_M(n, mode, csrop...) TRY_MODE_A(n, mode, 0, csrop)
#define TRY_MODE_A(n, mode, alias, csrop...) \
  li TESTNUM, n;                        \
  la t0, bogus_root;                    \
  srli t0, t0, 12;                      \
  li t1, (mode);                        \
  slli t1, t1, 60;                      \
  or t0, t0, t1;                        \
  csrop;                                \
  sfence.vma;                           \
  csrr a0, satp;                        \
  bne a0, s1, fail;                     \
  .if (alias);                          \
  li t0, ALIAS;                         \
  la t1, marker;                        \
  li t2, 0x80000000;                    \
  sub t1, t1, t2;                       \
  add t0, t0, t1;                       \
  ld a0, 0(t0);                         \
  CHECK_EQ(a0, 0x600dcafe);             \
  .endif

#define ALL_MODES(n, csrop...) ALL_MODES_T(TRY_MODE, n, csrop)
#define ALL_MODES_M(n, csrop...) ALL_MODES_T(TRY_MODE_M, n, csrop)
#define ALL_MODES_T(T, n, csrop...)     \
  T((n) + 1, 1, csrop);          \
  T((n) + 2, 2, csrop);          \
  T((n) + 3, 3, csrop);          \
  T((n) + 4, 4, csrop);          \
  T((n) + 5, 5, csrop);          \
  T((n) + 6, 6, csrop);          \
  T((n) + 7, 7, csrop);          \
  T((n) + 11, 11, csrop);        \
  T((n) + 12, 12, csrop);        \
  T((n) + 13, 13, csrop);        \
  T((n) + 14, 14, csrop);        \
  T((n) + 15, 15, csrop);        \
  IF_RVISOR_CHECKS(98f);                \
  T((n) + 9, 9, csrop);          \
  T((n) + 10, 10, csrop);        \
98:

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL
  la t0, l1
  SET_PTE(root, 0, t0, 1)
  SET_PTE(l1, 0, zero, LEAF)            /* syscon, for fail */
  li t0, 0x80000000
  SET_PTE(root, 1, t0, LEAF)            /* the alias */
  SET_PTE(root, 2, t0, LEAF)            /* identity */
  # The bogus root maps nothing: if it were used, every fetch would fault.
  la t0, root
  srli t0, t0, 12
  li t1, SATP_SV39
  or s1, t0, t1
  csrw satp, s1
  ENTER_MODE(PRV_S)
  ALL_MODES(0, csrw satp, t0)
  ALL_MODES(20, csrrw a1, satp, t0; bne a1, s1, fail)
  RETURN_TO_M
  ALL_MODES_M(40, csrw satp, t0)      # M-mode: satp checked, no translation to check
  # Still translating in S after all that.
  ENTER_MODE(PRV_S)
  TRY_MODE(60, 0, nop)
  RETURN_TO_M
  csrw satp, zero
TEST_END
PRIV_HANDLERS

  .section .data
  .align 3
marker: .dword 0x600dcafe
  .align 12
root: .space 4096
l1: .space 4096
bogus_root: .space 4096
RVISOR_CHECKS_VAR
