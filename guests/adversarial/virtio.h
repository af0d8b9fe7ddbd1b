/*
 * The virtio-blk request routine of the adversarial guests (virtio.S,
 * cross.S): include this once at the top for the constants, and again after
 * PRIV_HANDLERS with VIRTIO_REQUEST defined for the routine, which adds its
 * rings and buffers to .data and expects s1 = ram_end.
 */
#ifndef RVISOR_VIRTIO_H
#define RVISOR_VIRTIO_H
#define VIRTIO 0x10008000
#define NEEDS_RESET 0x40
#endif

#ifdef VIRTIO_REQUEST
# request(a0 = descriptor table, a1 = data buffer, a2 = type 0 read / 1 write):
# resets and sets up the device with one queue of 8, submits header, 512-byte
# data and status descriptors, waits; returns a0 = 0 (OK) or 1 (failed:
# status IOERR or the device needs a reset). Clobbers t0..t2, a3..a6.
request:
  li t2, VIRTIO
  sw zero, 0x70(t2)                     # reset
  li t0, 1
  sw t0, 0x70(t2)                       # ACKNOWLEDGE
  li t0, 3
  sw t0, 0x70(t2)                       # DRIVER
  li t0, 1
  sw t0, 0x24(t2)                       # DriverFeaturesSel = 1
  sw t0, 0x20(t2)                       # VIRTIO_F_VERSION_1
  sw zero, 0x24(t2)
  sw zero, 0x20(t2)
  li t0, 11
  sw t0, 0x70(t2)                       # FEATURES_OK
  sw zero, 0x30(t2)                     # QueueSel 0
  li t0, 8
  sw t0, 0x38(t2)                       # QueueNum
  sw a0, 0x80(t2)                       # QueueDesc
  srli t0, a0, 32
  sw t0, 0x84(t2)
  la a3, avail
  sw a3, 0x90(t2)
  srli t0, a3, 32
  sw t0, 0x94(t2)
  la a4, used
  sw a4, 0xa0(t2)
  srli t0, a4, 32
  sw t0, 0xa4(t2)
  sd zero, 0(a3)                        # avail flags/idx
  sd zero, 0(a4)                        # used flags/idx
  li t0, 1
  sw t0, 0x44(t2)                       # QueueReady
  li t0, 15
  sw t0, 0x70(t2)                       # DRIVER_OK
  # Header, then the chain (written only when the table is ours: in RAM, below
  # the last 512 bytes; a table elsewhere is whatever is there).
  la a5, header
  sw a2, 0(a5)                          # type
  sw zero, 4(a5)
  sd zero, 8(a5)                        # sector 0
  la a6, status
  li t0, 0xff
  sb t0, 0(a6)
  li t0, -512
  add t0, t0, s1
  bgeu a0, t0, 1f
  sd a5, 0(a0)                          # desc 0: header, 16 bytes, NEXT -> 1
  li t0, 16 | (1 << 32) | (1 << 48)
  sd t0, 8(a0)
  sd a1, 16(a0)                         # desc 1: data, 512, NEXT (| WRITE for reads) -> 2
  li t0, 512 | (1 << 32) | (2 << 48)
  bnez a2, 2f
  li t1, 2 << 32
  or t0, t0, t1
2: sd t0, 24(a0)
  sd a6, 32(a0)                         # desc 2: status, 1 byte, WRITE
  li t0, 1 | (2 << 32)
  sd t0, 40(a0)
1: fence
  sh zero, 4(a3)                        # avail ring[0] = 0
  fence
  li t0, 1
  sh t0, 2(a3)                          # avail idx = 1
  fence
  sw zero, 0x50(t2)                     # QueueNotify
  li t1, 100000
3: lw t0, 0x70(t2)
  andi t0, t0, NEEDS_RESET
  bnez t0, 4f
  fence
  lhu t0, 2(a4)                         # used idx
  bnez t0, 5f
  addi t1, t1, -1
  bnez t1, 3b
  j fail                                # no answer at all
5: lbu t0, 0(a6)
  beqz t0, 6f                           # OK
  li t1, 1
  bne t0, t1, fail                      # anything but IOERR
4: li a0, 1
  ret
6: li a0, 0
  ret

  .section .data
  .align 12
desc: .space 256
avail: .space 64
  .align 6
used: .space 128
header: .space 16
status: .space 8
  .align 9
data: .space 512
#endif
