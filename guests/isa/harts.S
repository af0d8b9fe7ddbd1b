# The CLINT and PLIC registers of harts a one-hart `virt` lacks (QEMU 7.2,
# hw/intc/riscv_aclint.c and sifive_plic.c, measured with -smp 1, 2 and 4):
# hart i's msip is at CLINT + 4i and its mtimecmp at CLINT + 0x4000 + 8i;
# PLIC context 2i is hart i's M-mode, 2i + 1 its S-mode. Those of a hart the
# machine does not have read 0 and ignore writes (QEMU logs "invalid hartid");
# hart 0's keep what is written. Run with one hart (-smp 1, rvisor's default).

#include "test.h"

#define MSIP(h)     (CLINT_BASE + 4 * (h))
#define MTIMECMP(h) (CLINT_MTIMECMP + 8 * (h))
#define ENABLE(c)   (PLIC_BASE + 0x2000 + 0x80 * (c))
#define THRESHOLD(c) (PLIC_BASE + 0x200000 + 0x1000 * (c))

/* Case n: store `value` (width w: sw/sd) at `addr`, load it back (lw/ld) into s2. */
#define STORE_LOAD(n, st, ld, addr, value, expected) \
  TEST_CASE(n, s2, expected, li t0, addr; li t1, value; st t1, 0(t0); ld s2, 0(t0))

TEST_BEGIN
  # Hart 0: its registers work (mie is zero, so its MSIP is never taken).
  STORE_LOAD(1, sw, lw, MSIP(0), 1, 1)
  STORE_LOAD(2, sw, lw, MSIP(0), 0, 0)
  STORE_LOAD(3, sd, ld, MTIMECMP(0), 0x12345678, 0x12345678)
  STORE_LOAD(4, sw, lw, ENABLE(1), -1, -1)
  STORE_LOAD(5, sw, lw, THRESHOLD(1), 5, 5)
  # Harts 1 and up: nothing there.
  STORE_LOAD(6, sw, lw, MSIP(1), 1, 0)
  STORE_LOAD(7, sw, lw, MSIP(7), 1, 0)
  STORE_LOAD(8, sw, lw, MSIP(4095), 1, 0)
  STORE_LOAD(9, sd, ld, MTIMECMP(1), 0x1234567800000001, 0)
  STORE_LOAD(10, sw, lw, MTIMECMP(7) + 4, 0x12345678, 0)
  STORE_LOAD(11, sw, lw, ENABLE(2), -1, 0)
  STORE_LOAD(12, sw, lw, ENABLE(15), -1, 0)
  STORE_LOAD(13, sw, lw, THRESHOLD(2), 5, 0)
  STORE_LOAD(14, sw, lw, THRESHOLD(15), 5, 0)
  # Hart 0's registers are untouched by those writes.
  TEST_CASE(15, s2, 0x12345678, li t0, MTIMECMP(0); ld s2, 0(t0))
  TEST_CASE(16, s2, -1, li t0, ENABLE(1); lw s2, 0(t0))
  TEST_CASE(17, s2, 0, li t0, MSIP(0); lw s2, 0(t0))
TEST_END
