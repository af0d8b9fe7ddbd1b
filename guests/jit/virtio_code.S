# Code rewritten by a virtio read, for the block translator (tests/translate_test.ts
# runs it with every block compiled at its first visit, bare and under the
# hypervisor, translator on and off). Needs a disk of at least 512 bytes in
# the last virtio slot (where QEMU puts its first -drive). The guest writes
# `new_code` (li a0, 2; ret) to sector 0, calls `code` (li a0, 1; ret) HOT
# times so it is in blocks, then reads sector 0 over `code` by DMA, fence.i,
# and calls it HOT times again: the device's write must drop the old blocks.
#include "test.h"

#define VIRTIO 0x10008000
#define HOT 300

TEST_BEGIN
  li s0, VIRTIO
  TEST_CASE(1, a0, 0x74726976, lw a0, 0(s0))     # magic
  TEST_CASE(2, a0, 2, lw a0, 8(s0))              # block device
  TEST_CASE(3, a0, 0, la a1, new_code; li a2, 1; call request)
  TEST_CASE(4, s2, HOT, call run_hot)
  TEST_CASE(5, a0, 0, la a1, code; li a2, 0; call request)
  fence.i
  TEST_CASE(6, s2, 2 * HOT, call run_hot)
  TEST_END

# Calls `code` HOT times; s2 = the sum of its results.
run_hot:
  mv s6, ra
  li s2, 0
  li s3, HOT
1:call code
  add s2, s2, a0
  addi s3, s3, -1
  bnez s3, 1b
  mv ra, s6
  ret

# request(a1 = 512-byte buffer, a2 = 0 read sector 0 into it / 1 write it to
# sector 0): sets the device up (modern transport, one queue of 8), submits
# header, data and status descriptors and polls the used ring; a0 = the status
# byte (0 = OK). Clobbers t0..t2, a3..a6.
request:
  sw zero, 0x70(s0)                     # reset
  li t0, 1
  sw t0, 0x70(s0)                       # ACKNOWLEDGE
  li t0, 3
  sw t0, 0x70(s0)                       # DRIVER
  li t0, 1
  sw t0, 0x24(s0)                       # DriverFeaturesSel = 1
  sw t0, 0x20(s0)                       # VIRTIO_F_VERSION_1
  sw zero, 0x24(s0)
  sw zero, 0x20(s0)
  li t0, 11
  sw t0, 0x70(s0)                       # FEATURES_OK
  sw zero, 0x30(s0)                     # QueueSel 0
  li t0, 8
  sw t0, 0x38(s0)                       # QueueNum
  la a0, desc
  sw a0, 0x80(s0)                       # QueueDesc (RAM is below 4 GiB)
  sw zero, 0x84(s0)
  la a3, avail
  sw a3, 0x90(s0)
  sw zero, 0x94(s0)
  la a4, used
  sw a4, 0xa0(s0)
  sw zero, 0xa4(s0)
  sd zero, 0(a3)                        # avail flags/idx
  sd zero, 0(a4)                        # used flags/idx
  li t0, 1
  sw t0, 0x44(s0)                       # QueueReady
  li t0, 15
  sw t0, 0x70(s0)                       # DRIVER_OK
  la a5, header
  sw a2, 0(a5)                          # type: 0 IN (read), 1 OUT (write)
  sw zero, 4(a5)
  sd zero, 8(a5)                        # sector 0
  la a6, status
  li t0, 0xff
  sb t0, 0(a6)
  sd a5, 0(a0)                          # desc 0: header, 16 bytes, NEXT -> 1
  li t0, 16 | (1 << 32) | (1 << 48)
  sd t0, 8(a0)
  sd a1, 16(a0)                         # desc 1: data, 512, NEXT (| WRITE for reads) -> 2
  li t0, 512 | (1 << 32) | (2 << 48)
  bnez a2, 2f
  li t1, 2 << 32
  or t0, t0, t1
2:sd t0, 24(a0)
  sd a6, 32(a0)                         # desc 2: status, 1 byte, WRITE
  li t0, 1 | (2 << 32)
  sd t0, 40(a0)
  fence
  sh zero, 4(a3)                        # avail ring[0] = 0
  fence
  li t0, 1
  sh t0, 2(a3)                          # avail idx = 1
  fence
  sw zero, 0x50(s0)                     # QueueNotify
  li t1, 100000000                      # QEMU completes the request in another thread
3:fence
  lhu t0, 2(a4)                         # used idx
  bnez t0, 4f
  addi t1, t1, -1
  bnez t1, 3b
  j fail                                # no answer
4:lbu a0, 0(a6)
  ret

  # The code the read replaces: its own 512 bytes (one sector), on a code page.
  .balign 512
code:
  li a0, 1
  ret
  .balign 512

  .section .rodata
  .balign 512
new_code:
  li a0, 2
  ret
  .balign 512

  .section .data
  .balign 4096
desc: .space 256
avail: .space 64
  .balign 64
used: .space 128
header: .space 16
status: .space 8
