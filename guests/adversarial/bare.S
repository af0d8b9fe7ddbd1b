# Adversarial guest (b): with translation off (virtual M-mode, then S-mode
# with satp = 0), loads, stores and fetches at guest-physical addresses that
# are not the guest's: just past the end of its RAM, where the host keeps its
# own data if the window offset were subtracted (0x7b00_0000 = 0x8000_0000 -
# 0x5000000), far above RAM, above the 56-bit physical space, "negative".
# Each must be an access fault (1/5/7) with tval = the address; the last
# dword of RAM must stay ordinary memory.
#include "test.h"
#include "probe.h"

TEST_BEGIN
  INSTALL_TRAP_HANDLER
  la t0, ram_end
  ld s1, 0(t0)
  # RAM-end-relative probe addresses, filled in at run time.
  la t0, rel_table
  sd s1, 0(t0)                        # first byte past RAM
  addi t1, s1, 8
  sd t1, 8(t0)
  li t1, 0x1000
  add t1, s1, t1
  sd t1, 16(t0)                       # the page after RAM
  li t1, 0x5000000 - 8
  add t1, s1, t1
  sd t1, 24(t0)                       # RAM end + the default window offset - 8
  li t1, 0x5000000
  add t1, s1, t1
  sd t1, 32(t0)
  li t1, 0x7fff000
  add t1, s1, t1
  sd t1, 40(t0)

  # Case 1: the last dword of RAM is memory.
  TEST_CASE(1, a0, 0x1234abcd, li t0, 0x1234abcd; sd t0, -8(s1); ld a0, -8(s1))
  # Case 2: the first byte of RAM too.
  TEST_CASE(2, a0, 0x55, li t0, 0x55; li s0, 0x80000000; sb t0, 0x7ff(s0); lbu a0, 0x7ff(s0))

  # Virtual M-mode: cases 10.. (RAM end relative), 20.. (absolute).
  PROBE_TABLE(10, rel_table, rel_table_end, 5, 7, 1)
  PROBE_TABLE(20, abs_table, abs_table_end, 5, 7, 1)
  IF_RVISOR_CHECKS(1f)
  PROBE_TABLE(40, low_table, low_table_end, 5, 7, 1)
1:

  # S-mode with satp = 0 and a PMP entry that allows everything: the same.
  PMP_ALLOW_ALL
  csrw satp, zero
  ENTER_MODE(PRV_S)
  PROBE_TABLE(60, rel_table, rel_table_end, 5, 7, 1)
  PROBE_TABLE(70, abs_table, abs_table_end, 5, 7, 1)
  IF_RVISOR_CHECKS(1f)
  PROBE_TABLE(90, low_table, low_table_end, 5, 7, 1)
1:
  TEST_CASE(100, a0, 0x77, li t0, 0x77; sd t0, -8(s1); ld a0, -8(s1))
  RETURN_TO_M
TEST_END
PRIV_HANDLERS

  .section .data
  .align 3
# Below RAM: on QEMU this is the PCIe MMIO window (0x4000_0000..0x8000_0000,
# unclaimed reads return ones), which rvisor's machine does not have; probed
# only when the harness sets `rvisor_checks`.
low_table:
  .dword 0x7b000000                   # host RAM base + offset, read as guest-physical
  .dword 0x7b001000
  .dword 0x7fffeff8
  .dword 0x7ffffff8                   # the dword just below RAM
  .dword 0x70000000
  .dword 0x40000000
low_table_end:
abs_table:
  .dword 0x100000000
  .dword 0x4000000000                 # 2^38: beyond the Sv39 range of the host's shadow tables
  .dword 0x8000000000
  .dword 0x4080000000                 # RAM base + 2^38
  .dword 0x0100000080000000           # RAM base + 2^56 (above the physical address space)
  .dword 0x00fffffffffffff8
  .dword 0xffffffff80000000           # RAM base sign-extended from 32 bits
  .dword 0xfffffffffffffff8
  .dword 0x8000000080000000
  .dword 0x7ffffffffffff000
abs_table_end:
rel_table:
  .space 48
rel_table_end:
RAM_END_VAR
RVISOR_CHECKS_VAR
