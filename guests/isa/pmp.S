# Physical memory protection (privileged spec 1.12, 3.7): NAPOT, TOR and NA4
# regions; permissions apply to S and U only unless L is set; the lowest
# matching entry wins; with entries configured, an S/U access that matches
# none fails. Access faults: 1 fetch, 5 load, 7 store, tval = the address.
#
# Entries: 0 = NAPOT over page `prot`, 1 = NA4 on word `na4w`, 2/3 = TOR over
# page `prot2` (2 is OFF and only gives the bottom), 15 = NAPOT over all
# memory with RWX (so code, stack and devices stay reachable from S/U).
#include "test.h"

#define A_TOR   0x08
#define A_NA4   0x10
#define A_NAPOT 0x18
#define P_R 1
#define P_W 2
#define P_X 4
#define P_L 0x80

/* pmpcfg0 = entry0 | entry1 << 8 | entry2 << 16 | entry3 << 24 */
#define CFG0(e0, e1, e2, e3) li t0, (e0) | ((e1) << 8) | ((e2) << 16) | ((e3) << 24); csrw pmpcfg0, t0


TEST_BEGIN
  INSTALL_TRAP_HANDLER
  # addresses: NAPOT 4 KiB = (base >> 2) | 0x1ff; NA4 and TOR = addr >> 2.
  la t0, prot
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr0, t0
  la t0, na4w
  srli t0, t0, 2
  csrw pmpaddr1, t0
  la t0, prot2
  srli t0, t0, 2
  csrw pmpaddr2, t0
  la t0, prot2 + 4096
  srli t0, t0, 2
  csrw pmpaddr3, t0
  li t0, -1
  csrw pmpaddr15, t0
  li t0, (A_NAPOT | P_R | P_W | P_X) << 56
  csrw pmpcfg2, t0
  CFG0(A_NAPOT, A_NA4, 0, A_TOR)               # three regions without permissions
  la s0, prot
  la s1, na4w
  la s2, prot2
  la s3, prot + 4096
  la a4, prot2 + 4096

  # --- M-mode ignores entries without L (3.7.1).
  TEST_CASE(1, a0, 0x5a, li t0, 0x5a; sd t0, 0(s0); ld a0, 0(s0))
  TEST_CASE(2, a0, 0x5b, li t0, 0x5b; sw t0, 0(s1); lw a0, 0(s1))
  TEST_CASE(3, a0, 0x5c, li t0, 0x5c; sd t0, 0(s2); ld a0, 0(s2))

  # --- S-mode: no permission, so access faults.
  ENTER_MODE(PRV_S)
  addi s8, s0, 8
  TEST_TRAP_X(4, 5, ld a0, 8(s0))              # NAPOT
  li t0, 0xff8
  add s8, s0, t0
  TEST_TRAP_X(5, 7, sd a0, 0(s8))              # last dword of the NAPOT page
  mv s8, s1
  TEST_TRAP_X(6, 5, lw a0, 0(s1))              # NA4
  mv s8, s2
  TEST_TRAP_X(7, 7, sw a0, 0(s2))              # TOR bottom (inclusive)
  addi s8, s2, 0x7f8
  TEST_TRAP_X(8, 5, ld a0, 0x7f8(s2))
test_9:
  li TESTNUM, 9                                # fetch: epc = tval = target
  mv s7, s0
  mv s8, s0
  ARM_TRAP(1, 1f)
  jalr s7
1: CHECK_TRAPPED
  # just outside the regions: entry 15 grants access.
  TEST_CASE(10, a0, 0x77, li t0, 0x77; sd t0, 0(s3); ld a0, 0(s3))           # above NAPOT
  TEST_CASE(11, a0, 0x78, li t0, 0x78; sw t0, 4(s1); lw a0, 4(s1))          # next word after NA4
  TEST_CASE(12, a0, 0x79, li t0, 0x79; sd t0, -8(s2); ld a0, -8(s2))        # below TOR
  TEST_CASE(13, a0, 0x7a, li t0, 0x7a; sd t0, 0(a4); ld a0, 0(a4))           # TOR top is exclusive
  RETURN_TO_M

  # --- U-mode is checked the same way.
  ENTER_MODE(PRV_U)
  mv s8, s0
  TEST_TRAP_X(14, 5, ld a0, 0(s0))
  RETURN_TO_M

  # --- permissions: R only on the NAPOT page, RW on the TOR page.
  CFG0(A_NAPOT | P_R, A_NA4 | P_W | P_R, 0, A_TOR | P_R | P_W)
  ENTER_MODE(PRV_S)
  TEST_CASE(15, a0, 0x5a, ld a0, 0(s0))
  mv s8, s0
  TEST_TRAP_X(16, 7, sd a0, 0(s0))
  TEST_CASE(17, a0, 0x66, li t0, 0x66; sw t0, 0(s1); lw a0, 0(s1))
  TEST_CASE(18, a0, 0x67, li t0, 0x67; sd t0, 0(s2); ld a0, 0(s2))
  mv s7, s2                                    # no X on the TOR page
  mv s8, s2
  ARM_TRAP(1, 1f)
  li TESTNUM, 19
  jalr s7
1: CHECK_TRAPPED
  RETURN_TO_M

  # --- the lowest-numbered matching entry wins (3.7.1): entry 0 (no
  # permissions) over entry 15 (RWX), already shown; and an entry that
  # allows wins over a later one that denies: entry 0 RW over TOR 3 none.
  la t0, prot2
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr0, t0                            # entry 0 now NAPOT over prot2
  CFG0(A_NAPOT | P_R | P_W, 0, 0, A_TOR)
  ENTER_MODE(PRV_S)
  TEST_CASE(20, a0, 0x67, ld a0, 0(s2))
  RETURN_TO_M

  # --- with entries configured, an S/U access that matches none fails
  # (3.7.1). Without entry 15 even the code fetch after mret faults.
  csrw pmpcfg2, zero
  li TESTNUM, 21
  CAPTURE_M(21f)
  ENTER_MODE(PRV_S)
s_nomatch:
  j fail
21:
  RESTORE_MTVEC
  TEST_CASE(21, a1, 1, la t0, s_nomatch; bne a2, t0, fail; bne a3, t0, fail)
  # M-mode still runs: nothing matches and M gets full access.
  TEST_CASE(22, a0, 0x5a, ld a0, 0(s0))

  # --- L (3.7.1.2): a locked entry binds M-mode too, and its pmpcfg/pmpaddr
  # can no longer be written. Entry 0 back over `prot`, read-only, locked.
  la t0, prot
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr0, t0
  CFG0(A_NAPOT | P_R | P_L, 0, 0, 0)
  TEST_CASE(23, a0, 0x5a, ld a0, 0(s0))
  mv s8, s0
  TEST_TRAP_X(24, 7, sd a0, 0(s0))
  TEST_CASE(25, a0, A_NAPOT | P_R | P_L, CFG0(A_NAPOT | P_R | P_W | P_X, 0, 0, 0); csrr a0, pmpcfg0)
  TEST_CASE(26, a0, 0, csrw pmpaddr0, zero; csrr a0, pmpaddr0; la t0, prot; srli t0, t0, 2; ori t0, t0, 0x1ff; sub a0, a0, t0)
TEST_END
PRIV_HANDLERS


  .data
  .align 12
prot:  .space 4096
  .space 4096
prot2: .space 4096
  .space 4096
na4w:  .word 0, 0
