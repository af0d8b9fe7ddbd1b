# Timer interrupts landing inside a hot loop, for the block translator
# (tests/translate_test.ts runs it bare and under the hypervisor with every
# block compiled at its first visit: with the virtual clock each interrupt must
# come at the same instruction, so s2, the sum of the loop counters the handler
# saw, is the same with the translator on and off; tests/isa_qemu_test.ts runs
# it on QEMU). TICKS interrupts, PERIOD mtime ticks apart, all inside the loop;
# the loop's result must be the one it gives with interrupts off.
#include "test.h"

#define PASSES 20000
#define TICKS 7
#define PERIOD 37

TEST_BEGIN
  la t0, timer_handler
  csrw mtvec, t0
  li s1, 0                      # interrupts taken
  li s2, 0                      # sum of the loop counters they saw
  li s4, 0                      # how many landed inside the loop
  call arm
  li t0, 0x80                   # mie.MTIE
  csrs mie, t0
  csrsi mstatus, 8              # mstatus.MIE
  call hot_loop
  csrci mstatus, 8
  mv s5, a2
  TEST_CASE(1, s1, TICKS, nop)
  TEST_CASE(2, s4, TICKS, nop)
  TEST_CASE(3, a0, PASSES, nop)
  TEST_CASE(4, s5, 0, call hot_loop; sub s5, s5, a2)
  TEST_END

# mtimecmp = mtime + PERIOD.
arm:
  li t0, CLINT_MTIME
  ld t1, 0(t0)
  addi t1, t1, PERIOD
  li t0, CLINT_MTIMECMP
  sd t1, 0(t0)
  ret

hot_loop:
  li a0, 0
  li a2, 0
  li s3, PASSES
loop_start:
  addi a0, a0, 1
  xor a1, a0, s3
  add a2, a2, a1
  addi s3, s3, -1
  bnez s3, loop_start
loop_end:
  ret

  ALIGN4
timer_handler:
  csrr s10, mepc
  la t0, loop_start
  bltu s10, t0, 1f
  la t0, loop_end
  bgeu s10, t0, 1f
  addi s4, s4, 1
1:add s2, s2, s3
  addi s1, s1, 1
  li t0, TICKS
  bgeu s1, t0, 2f
  mv s11, ra
  call arm
  mv ra, s11
  mret
2:li t0, CLINT_MTIMECMP         # no more: mtimecmp = -1
  li t1, -1
  sd t1, 0(t0)
  mret
