# Adversarial guest (g): virtio-blk requests whose buffers or rings are not in
# guest RAM (needs a disk in the last virtio slot, as QEMU's first -drive; the
# harness gives one whose first dword is 0x0123456789abcdef). A good read works
# (positive control); a read into the page after RAM, a write from
# 0x7b00_0000, a read straddling the end of RAM and a descriptor table that
# straddles the end of RAM must each fail - status IOERR, or the device in
# DEVICE_NEEDS_RESET - and leave the last bytes of RAM untouched.
#include "test.h"
#include "probe.h"
#include "virtio.h"

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  la t0, ram_end
  ld s1, 0(t0)
  li s0, VIRTIO
  TEST_CASE(1, a0, 0x74726976, lw a0, 0(s0))     # magic
  TEST_CASE(2, a0, 2, lw a0, 8(s0))              # block device

  # Fill the last 512 bytes of RAM with 0xaa: no failed request may change them.
  li t0, -512
  add t0, t0, s1
  li t1, 0xaaaaaaaaaaaaaaaa
1: sd t1, 0(t0)
  addi t0, t0, 8
  bltu t0, s1, 1b

  # Case 10: a good read of sector 0.
  li TESTNUM, 10
  la a0, desc
  la a1, data
  li a2, 0
  call request
  CHECK_EQ(a0, 0)
  la t0, data
  ld a0, 0(t0)
  CHECK_EQ(a0, 0x0123456789abcdef)

  # Case 11: read into the page after RAM.
  li TESTNUM, 11
  la a0, desc
  mv a1, s1
  li a2, 0
  call request
  CHECK_EQ(a0, 1)
  # Case 12: write (disk <- memory) from 0x7b00_0000.
  li TESTNUM, 12
  la a0, desc
  li a1, 0x7b000000
  li a2, 1
  call request
  CHECK_EQ(a0, 1)
  # Case 13: read into the last 256 bytes of RAM and 256 bytes beyond.
  li TESTNUM, 13
  la a0, desc
  addi a1, s1, -256
  li a2, 0
  call request
  CHECK_EQ(a0, 1)
  # Case 14: the descriptor table straddles the end of RAM.
  li TESTNUM, 14
  addi a0, s1, -64
  la a1, data
  li a2, 0
  call request
  CHECK_EQ(a0, 1)
  # Case 15: the end of RAM is as it was.
  li TESTNUM, 15
  li t0, -512
  add t0, t0, s1
  li t1, 0xaaaaaaaaaaaaaaaa
2: ld t2, 0(t0)
  bne t2, t1, fail
  addi t0, t0, 8
  bltu t0, s1, 2b
  # Case 16: after a reset the device still works.
  li TESTNUM, 16
  la t0, data
  sd zero, 0(t0)
  la a0, desc
  la a1, data
  li a2, 0
  call request
  CHECK_EQ(a0, 0)
  la t0, data
  ld a0, 0(t0)
  CHECK_EQ(a0, 0x0123456789abcdef)
TEST_END
PRIV_HANDLERS
#define VIRTIO_REQUEST
#include "virtio.h"
RAM_END_VAR
