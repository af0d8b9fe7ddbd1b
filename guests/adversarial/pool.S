# Adversarial guest (c): the guest cannot name the memory that holds the
# host's shadow page tables. In virtual M-mode it stores every 32 KiB of the
# 80 MiB after its RAM (where host RAM continues with the default 0x500_0000
# offset) and - with rvisor_checks, as QEMU has PCIe there - every 32 KiB from
# 0x7b00_0000 up to its RAM base (host RAM base + offset, read as guest-
# physical): each store must be a store access fault at exactly that address.
# Then it stamps the first dword of each of its own RAM pages with the page's
# guest-physical address, so that the harness can check that every address
# the guest can name landed in the guest's window at the right place.
#include "test.h"
#include "probe.h"

.option norvc                           /* the handler skips 4-byte instructions */

/* Stores zero every 32 KiB of [lo, hi) (registers); each must fault. (Every
 * 32 KiB rather than every page: each fault costs a trap, and the hypervisor
 * decides by address range, not page by page.) */
#define SWEEP(n, lo, hi)                \
  li TESTNUM, n;                        \
  mv s0, lo;                            \
  li a4, 0;                             \
1: sd zero, 0(s0);                      \
  li t0, 0x8000;                        \
  add s0, s0, t0;                       \
  bltu s0, hi, 1b;                      \
  sub t0, hi, lo;                       \
  srli t0, t0, 15;                      \
  bne a4, t0, fail                      /* every store faulted */

TEST_BEGIN
  la t0, expect_store_fault
  csrw mtvec, t0
  la t0, ram_end
  ld s1, 0(t0)
  li t1, 0x5000000
  add s2, s1, t1
  SWEEP(1, s1, s2)
  IF_RVISOR_CHECKS(2f)
  li s3, 0x7b000000
  li s2, 0x80000000
  SWEEP(2, s3, s2)
2:
  la t0, unexpected_trap
  csrw mtvec, t0
  # Stamp every page of RAM above the program with its own address.
  li TESTNUM, 3
  la s0, _end
3: sd s0, 0(s0)
  li t0, 4096
  add s0, s0, t0
  bltu s0, s1, 3b
TEST_END
  .align 2
expect_store_fault:                     # mcause 7 with mtval = s0; skip, count in a4
  csrr t0, mcause
  li t1, 7
  bne t0, t1, fail
  csrr t0, mtval
  bne t0, s0, fail
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  addi a4, a4, 1
  mret
RAM_END_VAR
RVISOR_CHECKS_VAR
