# Adversarial guest (a): Sv39 leaf PTEs whose PPN names memory that is not
# guest RAM - the page after RAM, host RAM beyond the window, the address of
# the host's page pool read as guest-physical (0x7b00_0000), PPN 0, huge PPNs,
# a PPN that would alias RAM modulo 2^48 - in S-mode and in U-mode. Every
# load, store and fetch through them must be an access fault (1/5/7) with
# tval = the virtual address; non-canonical addresses are page faults
# (12/13/15). A gigapage over RAM must end exactly where RAM ends, and the
# last page of RAM mapped through a 4 KiB PTE must work. The boot ROM page
# mapped readable but not executable must not become executable. rvisor_checks adds
# PTEs into QEMU's PCIe window and table pointers outside RAM.
#include "test.h"
#include "probe.h"

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_A 64
#define PTE_D 128
#define LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define SATP_SV39 (8 << 60)

/* table[idx] = PTE for physical address in `pareg` with `flags`. */
#define SET_PTE(table, idx, pareg, flags) \
  srli t1, pareg, 12;                   \
  slli t1, t1, 10;                      \
  ori t1, t1, flags;                    \
  la t2, table;                         \
  sd t1, ((idx) * 8)(t2)

/* The tables of one privilege: `u` is PTE_U for the user tables, 0 for S. */
#define BUILD_TABLES(root, l1, l0, u)   \
  la t0, l1;                            \
  SET_PTE(root, 0, t0, PTE_V);          \
  li t0, 0x80000000;                    \
  SET_PTE(root, 1, t0, LEAF | (u));     /* VA 1 GiB: gigapage over RAM */ \
  SET_PTE(l1, 0, zero, LEAF | (u));     /* identity: the syscon, so that fail works */ \
  li t0, 0x80000000;                    \
  SET_PTE(root, 2, t0, LEAF | (u));     /* identity: code, data, stack */ \
  li t0, 0x7b000000;                    \
  SET_PTE(l1, 1, t0, LEAF | (u));       \
  SET_PTE(l1, 2, s1, LEAF | (u));       /* the 2 MiB after RAM */ \
  li t0, 0x5000000;                     \
  add t0, t0, s1;                       \
  SET_PTE(l1, 3, t0, LEAF | (u));       /* host RAM end with the default offset */ \
  li t0, 0xffffffffe00000;              \
  SET_PTE(l1, 4, t0, LEAF | (u));       /* the last 2 MiB of the 56-bit space */ \
  SET_PTE(l1, 5, zero, LEAF | (u));     /* PPN 0 */ \
  li t0, 0x1000080000000;               \
  SET_PTE(l1, 6, t0, LEAF | (u));       /* RAM base + 2^48 */ \
  la t0, l0;                            \
  SET_PTE(l1, 8, t0, PTE_V);            \
  li t0, 0x7b000000;                    \
  SET_PTE(l1, 9, t0, PTE_V);            /* next-level table outside RAM */ \
  SET_PTE(l1, 10, s1, PTE_V);           /* next-level table just past RAM */ \
  li t0, -4096;                         \
  add t0, t0, s1;                       \
  SET_PTE(l0, 0, t0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | (u)); /* last page of RAM */ \
  SET_PTE(l0, 1, s1, LEAF | (u));       /* first page after RAM */ \
  li t0, 0x1000;                        \
  SET_PTE(l0, 2, t0, PTE_V | PTE_R | PTE_A | (u)) /* boot ROM page, not executable */

#define USE_ROOT(root) la t0, root; srli t0, t0, 12; li t1, SATP_SV39; or t0, t0, t1; csrw satp, t0; sfence.vma

/* The probes of one privilege, case numbers from n. */
#define PROBES(n)                       \
  PROBE_TABLE(n, far_vas, far_vas_end, 5, 7, 1); \
  PROBE_TABLE((n) + 10, gig_vas, gig_vas_end, 5, 7, 1); \
  PROBE_TABLE((n) + 12, noncanonical_vas, noncanonical_vas_end, 13, 15, 12); \
  /* the last page of RAM through a 4 KiB PTE, and its last dword */ \
  li TESTNUM, (n) + 16;                 \
  li t0, 0x5aa5;                        \
  li s0, 0x1000ff8;                     \
  sd t0, 0(s0);                         \
  ld a0, 0(s0);                         \
  CHECK_EQ(a0, 0x5aa5);                 \
  /* the last dword of RAM through the gigapage */ \
  li TESTNUM, (n) + 17;                 \
  la t0, gig_vas;                       \
  ld s0, 0(t0);                         \
  ld a0, -8(s0);                        \
  CHECK_EQ(a0, 0x5aa5);                 \
  /* the boot ROM page through a read-only PTE: load, then fetch (12) */ \
  li TESTNUM, (n) + 18;                 \
  li s0, 0x1002000;                     \
  ld a0, 0(s0);                         \
  CHECK_EQ(a0, 0x0282861300000297);     \
  li TESTNUM, (n) + 19;                 \
  mv s7, s0;                            \
  mv s8, s0;                            \
  ARM_TRAP(12, 99f);                    \
  jalr s0;                              \
99: CHECK_TRAPPED;                      \
  IF_RVISOR_CHECKS(97f);                \
  PROBE_TABLE((n) + 20, rvisor_vas, rvisor_vas_end, 5, 7, 1); \
97:

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL
  la t0, ram_end
  ld s1, 0(t0)
  BUILD_TABLES(root_s, l1_s, l0_s, 0)
  BUILD_TABLES(root_u, l1_u, l0_u, PTE_U)
  # gigapage VA of the first byte past RAM: 0x4000_0000 + (ram_end - 0x8000_0000)
  li t0, 0x40000000
  sub t0, s1, t0
  la t1, gig_vas
  sd t0, 0(t1)

  # S-mode (cases 1..)
  USE_ROOT(root_s)
  ENTER_MODE(PRV_S)
  PROBES(1)
  RETURN_TO_M
  # U-mode (cases 101..)
  USE_ROOT(root_u)
  ENTER_MODE(PRV_U)
  PROBES(101)
  RETURN_TO_M

  # A root table outside RAM: the first fetch in S-mode is an access fault.
  IF_RVISOR_CHECKS(1f)
test_200:
  li TESTNUM, 200
  la t0, capture_m_a5                      # the trap comes from S: come back in M
  csrw mtvec, t0
  li t0, 0x7b000000
  srli t0, t0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  la s7, 2f
  ENTER_MODE_AT(PRV_S, s7)
2: j fail
3:
  csrw satp, zero
  la t0, trap_handler_m
  csrw mtvec, t0
  CHECK_EQ(a5, 1)                       # fetch access fault
  bne a6, s7, fail                      # epc and tval = the target
  bne a7, s7, fail
1:
TEST_END
PRIV_HANDLERS
  .align 2
capture_m_a5:                              # a5/a6/a7 = mcause/mepc/mtval, resume in M at 3b
  csrr a5, mcause
  csrr a6, mepc
  csrr a7, mtval
  li t0, MSTATUS_MPP
  csrs mstatus, t0
  la t0, 3b
  csrw mepc, t0
  mret

  .section .data
  .align 3
far_vas:
  .dword 0x400000                       # -> first 2 MiB after RAM
  .dword 0x600000                       # -> host RAM end (default offset)
  .dword 0x800000                       # -> PA 0xff_ffff_ffe0_0000
  .dword 0xc00000                       # -> RAM base + 2^48
  .dword 0x4ffff8                       # last dword of that megapage
  .dword 0x1001000                      # 4 KiB PTE -> first page after RAM
far_vas_end:
gig_vas:
  .dword 0                              # gigapage: first byte past RAM (filled in)
gig_vas_end:
noncanonical_vas:
  .dword 0x4000000000                   # bit 38 set, not sign-extended
  .dword 0x8000000000000000
  .dword 0x00007ffffffff000
noncanonical_vas_end:
rvisor_vas:
  .dword 0x200000                       # -> 0x7b00_0000 (QEMU: PCIe window)
  .dword 0xa00000                       # -> PA 0 (QEMU: debug/unassigned)
  .dword 0x1200000                      # next-level table at 0x7b00_0000
  .dword 0x1400000                      # next-level table past RAM
rvisor_vas_end:
  .align 12
root_s: .space 4096
l1_s: .space 4096
l0_s: .space 4096
root_u: .space 4096
l1_u: .space 4096
l0_u: .space 4096
RAM_END_VAR
RVISOR_CHECKS_VAR
