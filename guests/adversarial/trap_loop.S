# Adversarial guest (h): an endless trap loop in virtual M-mode. mtvec points
# at address 4, where nothing is, and a load from address 0 faults: every trap
# entry then faults again at mtvec without retiring an instruction. Bare
# hardware (and QEMU) spin forever; the hypervisor must stop the run with its
# double-fault report instead of hanging. Never passes by design.
  .section .text.init
  .globl _start
_start:
  li t0, 4
  csrw mtvec, t0
  ld a0, 0(zero)
1: j 1b
