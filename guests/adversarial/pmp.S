# Adversarial guest (d): PMP tricks.
# - Permissions revoked while pages are in use: S/U-mode touches a data page and
#   calls into a code page (so a hypervisor has them mapped), M-mode then takes
#   W, then R, then X away; the very next S/U access must fault (1/5/7), and
#   access comes back when the entry is cleared (a regression test: rvisor once
#   kept stale shadow mappings after guest PMP writes).
# - The boot ROM page under PMP: R without X, then X without R, in U-mode.
# - An entry with no permissions over all memory, then mret to U or S: the
#   first fetch is an access fault.
# - A locked entry binds M-mode at once (even on a page M-mode has just used)
#   and cannot be rewritten or unlocked.
#include "test.h"
#include "probe.h"

#define A_NAPOT 0x18
#define P_R 1
#define P_W 2
#define P_X 4
#define P_L 0x80

/* Entry 0 = NAPOT 4 KiB at the pmpaddr value in `reg` with `perms`. */
/* Case n: a call to `reg` must be a fetch access fault at the target. */
#define TEST_FETCH_FAULT(n, reg)        \
  li TESTNUM, n;                        \
  mv s7, reg;                           \
  mv s8, reg;                           \
  ARM_TRAP(1, 99f);                     \
  jalr reg;                             \
99: CHECK_TRAPPED

#define ENTRY0(reg, perms) csrw pmpaddr0, reg; li t0, A_NAPOT | (perms); csrw pmpcfg0, t0

/* One round of revocations in `mode`; case numbers a..e. */
#define REVOKE_ROUND(mode, a, b, c, d, e) \
  csrw pmpcfg0, zero;                   \
  ENTER_MODE(mode);                     \
  TEST_CASE(a, a0, 42, ld a0, 0(s0); sd a0, 0(s0); jalr s1); \
  RETURN_TO_M;                          \
  ENTRY0(a4, P_R);                      \
  ENTER_MODE(mode);                     \
  ld a0, 0(s0);                         \
  mv s8, s0;                            \
  TEST_TRAP_X(b, 7, sd a0, 0(s0));      \
  RETURN_TO_M;                          \
  ENTRY0(a4, 0);                        \
  ENTER_MODE(mode);                     \
  mv s8, s0;                            \
  TEST_TRAP_X(c, 5, ld a0, 0(s0));      \
  RETURN_TO_M;                          \
  ENTRY0(a5, P_R);                      \
  ENTER_MODE(mode);                     \
  TEST_FETCH_FAULT(d, s1);              \
  RETURN_TO_M;                          \
  csrw pmpcfg0, zero;                   \
  ENTER_MODE(mode);                     \
  TEST_CASE(e, a0, 42, li a0, 7; sd a0, 0(s0); ld a0, 0(s0); jalr s1); \
  RETURN_TO_M

/* mret to `mode` at 2f with entry 0 denying everything: fetch access fault. */
#define DENY_ALL_ROUND(n, mode)         \
  li TESTNUM, n;                        \
  li t0, -1;                            \
  csrw pmpaddr0, t0;                    \
  li t0, A_NAPOT;                       \
  csrw pmpcfg0, t0;                     \
  la t0, capture_m_a5;                     \
  csrw mtvec, t0;                       \
  la s7, 2f;                            \
  la s9, 3f;                            \
  ENTER_MODE_AT(mode, s7);              \
2: j fail;                              \
3: la t0, trap_handler_m;               \
  csrw mtvec, t0;                       \
  csrw pmpcfg0, zero;                   \
  CHECK_EQ(a5, 1);                      \
  bne a6, s7, fail;                     \
  bne a7, s7, fail

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  csrw satp, zero
  li t0, -1                             # entry 15: everything RWX (entries 0/1 refine it)
  csrw pmpaddr15, t0
  li t0, (A_NAPOT | P_R | P_W | P_X) << 56
  csrw pmpcfg2, t0
  la s0, page_a
  la s1, page_code
  srli a4, s0, 2
  ori a4, a4, 0x1ff
  srli a5, s1, 2
  ori a5, a5, 0x1ff
  li a6, (0x1000 >> 2) | 0x1ff          # the boot ROM page

  REVOKE_ROUND(PRV_U, 1, 2, 3, 4, 5)
  REVOKE_ROUND(PRV_S, 11, 12, 13, 14, 15)

  # Boot ROM page readable but not executable, in U-mode (load first).
  ENTRY0(a6, P_R)
  ENTER_MODE(PRV_U)
  TEST_CASE(21, a0, 0x0282861300000297, li t0, 0x1000; ld a0, 0(t0))
  li s2, 0x1000
  TEST_FETCH_FAULT(22, s2)
  RETURN_TO_M
  # Executable but not readable (fetch first: the ROM's third instruction,
  # csrr a0, mhartid, is illegal in U-mode).
  ENTRY0(a6, P_X)
  ENTER_MODE(PRV_U)
test_23:
  li TESTNUM, 23
  li s7, 0x1008
  li s8, 0xf1402573
  ARM_TRAP(2, 1f)
  li t0, 0x1000
  jr t0
1: CHECK_TRAPPED
  li s8, 0x1000
  TEST_TRAP_X(24, 5, ld a0, 0(s8))
  RETURN_TO_M
  csrw pmpcfg0, zero

  DENY_ALL_ROUND(31, PRV_U)
  DENY_ALL_ROUND(32, PRV_S)

  # Locked entry 1 over page_b, read-only: M-mode has just written the page.
  la s2, page_b
  TEST_CASE(41, a0, 0x1111, li t0, 0x1111; sd t0, 0(s2); ld a0, 0(s2))
  srli t0, s2, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr1, t0
  li t0, (P_L | A_NAPOT | P_R) << 8
  csrw pmpcfg0, t0
  TEST_CASE(42, a0, 0x1111, ld a0, 0(s2))
  mv s8, s2
  TEST_TRAP_X(43, 7, sd a0, 0(s2))
  TEST_FETCH_FAULT(44, s2)
  # No way back: pmpcfg0 and pmpaddr1 writes are ignored.
  TEST_CASE(45, a0, (P_L | A_NAPOT | P_R) << 8, csrw pmpcfg0, zero; csrr a0, pmpcfg0)
  srli s3, s2, 2
  ori s3, s3, 0x1ff
  TEST_CASE(46, a0, 0, csrw pmpaddr1, zero; csrr a0, pmpaddr1; sub a0, a0, s3)
  mv s8, s2
  TEST_TRAP_X(47, 7, sd a0, 0(s2))
  ENTER_MODE(PRV_U)
  mv s8, s2
  TEST_TRAP_X(48, 7, sd a0, 0(s2))
  TEST_CASE(49, a0, 0x1111, ld a0, 0(s2))
  RETURN_TO_M
TEST_END
PRIV_HANDLERS
  .align 2
capture_m_a5:                              # a5/a6/a7 = mcause/mepc/mtval, resume in M at s9
  csrr a5, mcause
  csrr a6, mepc
  csrr a7, mtval
  li t0, MSTATUS_MPP
  csrs mstatus, t0
  csrw mepc, s9
  mret

  .section .text
  .align 12
page_code:
  li a0, 42
  ret
  .align 12

  .section .data
  .align 12
page_a: .dword 0
  .align 12
page_b: .dword 0
  .align 12
