# Adversarial guest: the mask ROM of the virt machine (0x1000..0x10000, the
# boot code in its first page, zeros after). Loads anywhere in it read what
# the ROM holds; stores are ignored (QEMU 7.2 and bare rvisor both drop them).
# Under the hypervisor the first ROM page is shadow-mapped read-only and the
# whole ROM is a guest-bus device (hypervisor/guest.ts): the same answers.
#include "test.h"

TEST_BEGIN
  TEST_CASE(1, a0, 0x0282861300000297, li t0, 0x1000; ld a0, 0(t0))
  TEST_CASE(2, a0, 0, li t0, 0x2000; ld a0, 0(t0))
  TEST_CASE(3, a0, 0, li t0, 0x3000; lw a0, 4(t0))
  TEST_CASE(4, a0, 0, li t0, 0xfff8; ld a0, 0(t0))
  TEST_CASE(5, a0, 0x0282861300000297, li t0, 0x1000; li t1, -1; sd t1, 0(t0); ld a0, 0(t0))
  TEST_CASE(6, a0, 0, li t0, 0x2000; li t1, -1; sw t1, 0(t0); lw a0, 0(t0))
TEST_END
