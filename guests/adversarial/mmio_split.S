# Adversarial guest: device accesses that QEMU 7.2's models refuse or that
# its memory core splits, with exact values, causes and mtvals (QEMU's
# MemoryRegionOps rules and accel/tcg/cputlb.c):
# - widths a device does not take and offsets past its registers are access
#   faults at the access's address (the UART's 8 bytes, the RTC's 0x24, a
#   virtio slot's 0x200, the CLINT's 48 KiB);
# - an access the UART takes is one register access, whatever its width;
# - a misaligned device load is the two aligned loads of its width around it,
#   combined, and faults at the address of the half that faults;
# - a misaligned device store is made byte by byte, up to the first fault;
# - instruction fetches read 2-byte halves, which some devices refuse.
# Virtio slot 0 is empty on QEMU and on rvisor (the first disk goes to slot 7).
#include "test.h"

#define RTC_BASE 0x101000
#define VIRTIO0  0x10001000

/* Case n: a jump to `addr` is an instruction access fault there. */
#define FETCH_FAULT(n, addr)            \
  li TESTNUM, n;                        \
  li s7, addr;                          \
  mv s8, s7;                            \
  ARM_TRAP(1, 1f);                      \
  jr s7;                                \
1: CHECK_TRAPPED

TEST_BEGIN
  INSTALL_TRAP_HANDLER

  # UART: SCR is storage; with DLAB, offset 0 is the divisor's low byte.
  li t0, UART_BASE
  TEST_CASE(1, a0, 0x5a, li t1, 0x5a; sb t1, 7(t0); lbu a0, 7(t0))
  # One 8-byte access reads DLL (reset 0x0c) alone, not DLL..SCR.
  TEST_CASE(2, a0, 0x0c, li t1, 0x80; sb t1, 3(t0); ld a0, 0(t0); sb zero, 3(t0))
  # Halves at 4 (MCR) and 8 (past the UART): the second faults.
  TEST_TRAP(3, 5, UART_BASE + 8, lw a0, 6(t0))
  # Halves at 4 (MCR 0x08) and 6 (MSR 0xb0), one register each: 0xb000.
  TEST_CASE(4, a0, 0xffffffffffffb000, lh a0, 5(t0))
  # Bytes at 7 (SCR) and 8 (fault): SCR keeps the low byte.
  li t1, 0x1234
  TEST_TRAP(5, 7, UART_BASE + 8, sh t1, 7(t0))
  TEST_CASE(6, a0, 0x34, lbu a0, 7(t0))
  TEST_TRAP(7, 5, UART_BASE + 8, lb a0, 8(t0))

  # PLIC: 4-byte accesses only.
  li t0, PLIC_BASE
  TEST_TRAP(10, 5, PLIC_BASE, lh a0, 0(t0))
  TEST_TRAP(11, 7, PLIC_BASE + 4, sb zero, 4(t0))
  TEST_TRAP(12, 5, PLIC_BASE, ld a0, 0(t0))
  # Halves at 4 (priority 1 = 5) and 8 (priority 2 = 3).
  TEST_CASE(13, a0, 0x30000, li t1, 5; sw t1, 4(t0); li t1, 3; sw t1, 8(t0); lw a0, 6(t0))
  # Byte by byte: the first byte faults, nothing is written.
  TEST_TRAP(14, 7, PLIC_BASE + 6, sw zero, 6(t0))
  TEST_CASE(15, a0, 5, lw a0, 4(t0))
  sw zero, 4(t0)
  sw zero, 8(t0)

  # Syscon: 2 and 4 bytes.
  li t0, SYSCON_BASE
  TEST_TRAP(20, 7, SYSCON_BASE, sb zero, 0(t0))
  TEST_TRAP(21, 5, SYSCON_BASE, ld a0, 0(t0))
  TEST_CASE(22, a0, 0, li a0, 1; lh a0, 2(t0))

  # CLINT: msip 4 bytes; mtimecmp 4 and 8; nothing from 0xc000.
  li t0, CLINT_BASE
  TEST_TRAP(30, 5, CLINT_BASE, lh a0, 0(t0))
  li t1, CLINT_BASE + 0xc000
  TEST_TRAP(31, 5, CLINT_BASE + 0xc000, lw a0, 0(t1))
  li t1, CLINT_MTIMECMP
  TEST_CASE(32, a0, 0x123456789a, li a1, 0x123456789a; sd a1, 0(t1); ld a0, 0(t1))
  TEST_CASE(33, a0, 0x123456, lw a0, 2(t1))
  li a1, -1
  sd a1, 0(t1)

  # RTC: 4 and 8 bytes (QEMU's subpage splits 8), 0x24 bytes of registers.
  li t0, RTC_BASE
  TEST_TRAP(40, 5, RTC_BASE + 0x20, ld a0, 0x20(t0))
  TEST_TRAP(41, 5, RTC_BASE + 0x24, lw a0, 0x24(t0))
  TEST_TRAP(42, 7, RTC_BASE + 0x10, sh zero, 0x10(t0))
  TEST_CASE(43, a0, 0, li a0, 1; ld a0, 8(t0))

  # An empty virtio slot: any width in its first 0x200 bytes.
  li t0, VIRTIO0
  # Halves at 0 (MagicValue's low half, 0x6976) and 2 (reads 0).
  TEST_CASE(50, a0, 0x69, lh a0, 1(t0))
  TEST_TRAP(51, 5, VIRTIO0 + 0x200, lw a0, 0x200(t0))
  # DeviceID 0 and VendorID, as two 4-byte halves.
  TEST_CASE(52, a0, 0x554d455100000000, ld a0, 8(t0))
  # Across a page: the lower half (past the slot's registers) faults first.
  li t1, VIRTIO0 + 0xffe
  TEST_TRAP(53, 5, VIRTIO0 + 0xffc, lw a0, 0(t1))

  # Fetches read 2-byte halves: devices that refuse them fault the fetch.
  FETCH_FAULT(60, CLINT_BASE)
  FETCH_FAULT(61, RTC_BASE)
  FETCH_FAULT(62, UART_BASE + 8)
TEST_END
PRIV_HANDLERS
