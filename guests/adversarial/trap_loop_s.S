# Adversarial guest (h), S-mode variant: access faults are delegated to S,
# stvec points at address 4 (nothing there) and S-mode loads from address 0,
# so virtual S-mode traps into a fetch fault at stvec forever. The hypervisor
# must stop the run with its double-fault report. Never passes by design.
#include "test.h"

  .section .text.init
  .globl _start
_start:
  PMP_ALLOW_ALL
  li t0, (1 << 1) | (1 << 5)
  csrw medeleg, t0
  li t0, 4
  csrw stvec, t0
  ENTER_MODE(PRV_S)
  ld a0, 0(zero)
1: j 1b
