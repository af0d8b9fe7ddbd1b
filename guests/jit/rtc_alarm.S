# A goldfish RTC alarm landing inside a hot loop (tests/rtc_test.ts runs it
# bare and under the hypervisor, the translator on and off, with the virtual
# clock: the interrupt must come at the instruction the alarm's time
# corresponds to, far from the end of any instruction batch;
# tests/translate_test.ts and tests/isa_qemu_test.ts run it as the other hard
# cases). The alarm is DELAY ns after the RTC's time when armed, through the
# PLIC (source 11) to M-mode; its handler arms a second one DELAY2 ns later,
# in the middle of an instruction batch. The handlers leave, for the test:
#   s1 = the first alarm's time, s2 = minstret at its handler's first
#   instruction, s3 = the RTC's time there, s4 = the PLIC's claim;
#   s6, s7, s8, s9 the same for the second alarm; s5 = the loop's counter.
#include "test.h"

#define RTC_BASE 0x101000
#define RTC_TIME_LOW 0x00
#define RTC_TIME_HIGH 0x04
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0c
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_INTERRUPT 0x1c
#define RTC_IRQ 11
#define PLIC_ENABLE_M (PLIC_BASE + 0x2000)
#define PLIC_CLAIM_M (PLIC_BASE + 0x200004)
/* Not a multiple of the 100 ns mtime tick, and more than one batch (32,768 instructions). */
#define DELAY 200037
#define DELAY2 5037
/* Iterations of 5 instructions before giving up: far beyond DELAY on rvisor, and beyond
 * the host-clock time QEMU's RTC takes to reach the alarm. */
#define PASSES 4000000

TEST_BEGIN
  la t0, alarm_handler
  csrw mtvec, t0
  li s4, 0
  li t0, PLIC_BASE + 4 * RTC_IRQ # priority 1
  li t1, 1
  sw t1, 0(t0)
  li t0, PLIC_ENABLE_M
  li t1, 1 << RTC_IRQ
  sw t1, 0(t0)
  li t0, RTC_BASE
  li t1, 1
  sw t1, RTC_IRQ_ENABLED(t0)
  call rtc_time
  li t1, DELAY
  add s1, a0, t1
  li t0, RTC_BASE
  srli t1, s1, 32
  sw t1, RTC_ALARM_HIGH(t0)
  sw s1, RTC_ALARM_LOW(t0)       # arms the alarm
  li t0, 0x800                   # mie.MEIE
  csrs mie, t0
  csrsi mstatus, 8               # mstatus.MIE
  li s5, 0
  li t3, PASSES
loop:
  addi s5, s5, 1
  xor t4, s5, t3
  add t5, t5, t4
  addi t3, t3, -1
  bnez t3, loop
  li TESTNUM, 1                  # no interrupt
  j fail
done:
  TEST_CASE(2, s4, RTC_IRQ, nop)
  TEST_CASE(3, t0, 1, sltu t0, s3, s1; xori t0, t0, 1) # the RTC had reached the alarm
  TEST_CASE(4, s9, RTC_IRQ, nop)
  TEST_CASE(5, t0, 1, sltu t0, s8, s6; xori t0, t0, 1)
  TEST_END

# a0 = the RTC's 64-bit time (TIME_LOW latches TIME_HIGH).
rtc_time:
  li t0, RTC_BASE
  lwu a0, RTC_TIME_LOW(t0)
  lwu t1, RTC_TIME_HIGH(t0)
  slli t1, t1, 32
  or a0, a0, t1
  ret

  ALIGN4
alarm_handler:
  csrr t6, minstret
  call rtc_time
  li t0, PLIC_CLAIM_M
  lw t2, 0(t0)
  li t1, RTC_BASE
  sw zero, RTC_CLEAR_INTERRUPT(t1)
  sw t2, 0(t0)                   # complete
  bnez s4, 1f
  mv s2, t6                      # the first alarm: arm the second, back into the loop
  mv s3, a0
  mv s4, t2
  li t0, DELAY2
  add s6, a0, t0
  srli t0, s6, 32
  sw t0, RTC_ALARM_HIGH(t1)
  sw s6, RTC_ALARM_LOW(t1)
  mret
1:mv s7, t6
  mv s8, a0
  mv s9, t2
  la t0, done
  csrw mepc, t0
  mret
