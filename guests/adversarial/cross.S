# Adversarial guest (cross-guest): run beside another guest under the
# hypervisor, it aims at that guest's memory. The harness writes four
# addresses into `other_pas` (outside this guest's RAM): where the other
# guest's RAM window would be if guest-physical addresses were offset naively
# (its first and last page), and its host physical window (first and last
# page). Each must be unreachable: loads, stores and fetches from M-mode,
# S-mode leaf PTEs and S-mode next-level table pointers that name them are
# access faults (1/5/7), and virtio-blk reads and writes whose buffer or
# descriptor table is there fail (IOERR or DEVICE_NEEDS_RESET). Table
# pointers and DMA are checked with rvisor_checks only (QEMU 7.2 raises a
# page fault for the one and silently drops the other). The harness
# hashes both guests' windows before and after. The defaults (the 8 MiB past
# 128 MiB of RAM) let the program pass alone, bare or on QEMU.
#include "test.h"
#include "probe.h"
#include "virtio.h"

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_A 64
#define PTE_D 128
#define LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define SATP_SV39 (8 << 60)

/* table[idx] = PTE for the physical address in `pareg` with `flags`. */
#define SET_PTE(table, idx, pareg, flags) \
  srli t1, pareg, 12;                   \
  slli t1, t1, 10;                      \
  ori t1, t1, flags;                    \
  la t2, table;                         \
  sd t1, ((idx) * 8)(t2)

/* PTEs for other_pas[i]: a 4 KiB leaf at VA 2 MiB + (i + 1) * 4 KiB, a table pointer at VA (i + 8) * 2 MiB. */
#define MAP_OTHER(i)                    \
  la t0, other_pas;                     \
  ld t0, ((i) * 8)(t0);                 \
  SET_PTE(l0, (i) + 1, t0, LEAF);       \
  SET_PTE(l1, (i) + 8, t0, PTE_V)

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PMP_ALLOW_ALL
  la t0, ram_end
  ld s1, 0(t0)

  # M-mode: direct loads, stores and fetches (cases 1..4).
  PROBE_TABLE(1, other_pas, other_pas_end, 5, 7, 1)

  # S-mode through PTEs naming the other guest (cases 11..14 leaves, 21..24 tables).
  la t0, l1
  SET_PTE(root, 0, t0, PTE_V)
  li t0, 0x80000000
  SET_PTE(root, 2, t0, LEAF)            # identity gigapage: code, data, stack
  SET_PTE(l1, 0, zero, LEAF)            # identity: the syscon, so that fail works
  la t0, l0
  SET_PTE(l1, 1, t0, PTE_V)
  MAP_OTHER(0)
  MAP_OTHER(1)
  MAP_OTHER(2)
  MAP_OTHER(3)
  la t0, root
  srli t0, t0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  ENTER_MODE(PRV_S)
  PROBE_TABLE(11, leaf_vas, leaf_vas_end, 5, 7, 1)
  IF_RVISOR_CHECKS(1f)                  # QEMU 7.2: a page fault, the walk's read failing
  PROBE_TABLE(21, table_vas, table_vas_end, 5, 7, 1)
1:
  RETURN_TO_M
  csrw satp, zero
  sfence.vma

  # Device DMA (cases 31..): good read first, then buffers and tables there.
  li TESTNUM, 30
  la a0, desc
  la a1, data
  li a2, 0
  call request
  CHECK_EQ(a0, 0)
  IF_RVISOR_CHECKS(2f)                  # QEMU 7.2 drops DMA outside RAM and completes the request
  li TESTNUM, 31
  la t0, other_pas
  ld a1, 0(t0)
  la a0, desc
  li a2, 0
  call request                          # read into the other guest
  CHECK_EQ(a0, 1)
  li TESTNUM, 32
  la t0, other_pas
  ld a1, 16(t0)
  la a0, desc
  li a2, 0
  call request
  CHECK_EQ(a0, 1)
  li TESTNUM, 33
  la t0, other_pas
  ld a1, 8(t0)
  la a0, desc
  li a2, 1
  call request                          # write from the other guest
  CHECK_EQ(a0, 1)
  li TESTNUM, 34
  la t0, other_pas
  ld a0, 24(t0)
  la a1, data
  li a2, 0
  call request                          # descriptor table in the other guest
  CHECK_EQ(a0, 1)
2:
TEST_END
PRIV_HANDLERS
#define VIRTIO_REQUEST
#include "virtio.h"

  .section .data
  .align 3
other_pas:
  .globl other_pas
  .dword 0x88000000
  .dword 0x88000ff8
  .dword 0x88400000
  .dword 0x887ff000
other_pas_end:
leaf_vas:
  .dword 0x201000
  .dword 0x202ff8
  .dword 0x203000
  .dword 0x204000
leaf_vas_end:
table_vas:
  .dword 0x1000000
  .dword 0x1200ff8
  .dword 0x1400000
  .dword 0x1600000
table_vas_end:
  .align 12
root: .space 4096
l1: .space 4096
l0: .space 4096
RAM_END_VAR
RVISOR_CHECKS_VAR
