# Adversarial guest (f): wild MMIO from virtual M-mode.
# - Holes of the virt map (0x0, after the RTC, after the CLINT, after the
#   PLIC, after the UART, after the virtio slots): every load, store and fetch
#   is an access fault with tval = the address.
# - Every device page: 1/2/4/8-byte loads, and stores of zero to harmless
#   registers, each either completes or traps with a load (4/5) or store (6/7)
#   fault - never anything else; misaligned device accesses likewise.
# - Fetches from a device trap (access fault, or illegal instruction where the
#   device bytes are executed, as QEMU does).
# - mtimecmp = 0 with interrupts off: the pending timer must not stop the guest.
# - rvisor_checks: AMOs and LR/SC on devices (QEMU performs them) must be
#   access faults, and holes that QEMU fills (PCIe, flash) must fault.
#include "test.h"
#include "probe.h"

/* `insn` either completes or traps with cause `lo` or `lo`+1. Uses the
 * lenient handler. */
#define LENIENT(lo, insn...)            \
  li a5, 0;                             \
  insn;                                 \
  beqz a5, 81f;                         \
  addi t3, a5, -(lo);                   \
  li t4, 1;                             \
  bgtu t3, t4, fail;                    \
81:

.option norvc                           /* the lenient handler skips 4-byte instructions */

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  PROBE_TABLE(1, holes, holes_end, 5, 7, 1)
  IF_RVISOR_CHECKS(1f)
  PROBE_TABLE(20, qemu_filled_holes, qemu_filled_holes_end, 5, 7, 1)
1:
  # Fetch from devices that read zero: an access fault (rvisor under the hypervisor), or
  # the device's bytes execute (QEMU and bare rvisor read zeros: illegal
  # instruction) - never anything else.
  la t0, catch
  csrw mtvec, t0
  li TESTNUM, 40
  la a2, zero_devices
  la a3, zero_devices_end
2: bgeu a2, a3, 3f
  ld s0, 0(a2)
  la s9, 4f
  li a5, 0
  jalr s0
4: li t0, 1
  beq a5, t0, 9f
  CHECK_EQ(a5, 2)
9: addi a2, a2, 8
  j 2b
3:
  la t0, lenient
  csrw mtvec, t0
  li TESTNUM, 50
  la a2, devices
  la a3, devices_end
5: bgeu a2, a3, 6f
  ld s0, 0(a2)
  LENIENT(4, lb a0, 0(s0))
  LENIENT(4, lh a0, 0(s0))
  LENIENT(4, lw a0, 0(s0))
  LENIENT(4, ld a0, 0(s0))
  LENIENT(4, lw a0, 1(s0))              # misaligned
  LENIENT(4, lh a0, 3(s0))
  LENIENT(4, ld a0, 4(s0))
  ld s1, 8(a2)                          # a harmless register to store to, or -1
  bltz s1, 7f
  add s1, s1, s0
  LENIENT(6, sb zero, 0(s1))
  LENIENT(6, sh zero, 0(s1))
  LENIENT(6, sw zero, 0(s1))
  LENIENT(6, sd zero, 0(s1))
  LENIENT(6, sw zero, 2(s1))            # misaligned
  LENIENT(6, sh zero, 1(s1))
  IF_RVISOR_CHECKS(7f)
  # AMOs and LR/SC on a device: store/AMO access fault (LR: load access fault).
  li a5, 0
  amoadd.w a0, zero, (s0)
  CHECK_EQ(a5, 7)
  li a5, 0
  amoswap.d a0, zero, (s0)
  CHECK_EQ(a5, 7)
  li a5, 0
  lr.w a0, (s0)
  CHECK_EQ(a5, 5)
  li a5, 0
  sc.w a0, zero, (s0)
  CHECK_EQ(a5, 7)
7: addi TESTNUM, TESTNUM, 1
  addi a2, a2, 16
  j 5b
6:
  la t0, trap_handler_m
  csrw mtvec, t0

  # A timer that is due while interrupts are off must not stop the guest.
  li TESTNUM, 90
  li t0, CLINT_MTIMECMP
  sd zero, 0(t0)
  li t0, 100000
8: addi t0, t0, -1
  bnez t0, 8b
  csrr t0, mip
  andi t0, t0, 1 << 7
  beqz t0, fail                         # MTIP is pending all the same
  li t0, CLINT_MTIMECMP
  li t1, -1
  sd t1, 0(t0)
TEST_END
PRIV_HANDLERS
  .align 2
catch:                                  # a5 = mcause; resume in M at s9
  csrr a5, mcause
  li t0, MSTATUS_MPP
  csrs mstatus, t0
  csrw mepc, s9
  mret
  .align 2
lenient:                                # a5 = mcause; skip the instruction
  csrr a5, mcause
  csrr t3, mepc
  addi t3, t3, 4
  csrw mepc, t3
  mret

  .section .data
  .align 3
holes:
  .dword 0x0
  .dword 0x102000                       # after the RTC
  .dword 0x2010000                      # after the CLINT
  .dword 0xc600000                      # after the PLIC
  .dword 0x10000100                     # after the UART's 256 bytes
  .dword 0x10009000                     # after the virtio slots
holes_end:
qemu_filled_holes:
  .dword 0x3000000                      # QEMU: PCIe I/O
  .dword 0x20000000                     # QEMU: flash
  .dword 0x30000000                     # QEMU: PCIe ECAM
  .dword 0x40000000                     # QEMU: PCIe MMIO
qemu_filled_holes_end:
zero_devices:                           # device words that read as zero
  .dword 0x100000                       # syscon
  .dword 0x2000000                      # CLINT msip
  .dword 0xc000000                      # PLIC priority 0
  .dword 0xc001000                      # PLIC pending
zero_devices_end:
devices:                                # base, offset of a register that takes a zero store
  .dword 0x100000, -1                   # syscon: no stores
  .dword 0x101000, 0x10                 # RTC IRQ_ENABLED
  .dword 0x2000000, 0                   # CLINT msip
  .dword 0x200bff0, -1                  # CLINT mtime (at +8)
  .dword 0xc000000, 4                   # PLIC priority 1
  .dword 0xc001000, -1                  # PLIC pending
  .dword 0xc002000, 0                   # PLIC enables
  .dword 0xc200000, 0                   # PLIC threshold
  .dword 0x10000000, 4                  # UART MCR..SCR
  .dword 0x10001000, 0x70               # virtio slots: Status = 0 is a reset
  .dword 0x10002000, 0x70
  .dword 0x10003000, 0x70
  .dword 0x10004000, 0x70
  .dword 0x10005000, 0x70
  .dword 0x10006000, 0x70
  .dword 0x10007000, 0x70
  .dword 0x10008000, 0x70
devices_end:
RVISOR_CHECKS_VAR
