/*
 * A UART driver written against QEMU 7.2 (issue 10): it enables the 16550's
 * "transmitter holding register empty" interrupt, takes it through the PLIC as
 * a supervisor external interrupt, never reads IIR, and claims and completes.
 *
 * On QEMU this works because its PLIC pends a source only when a device
 * signals (sifive_plic_irq_request), a claim clears the pending bit and a
 * completion does not re-pend a line that is still high; and its 16550 signals
 * only from the register accesses and events where serial_update_irq runs. So
 * the THRE interrupt, never acknowledged, comes back once per signal, not once
 * per completion. A PLIC that re-pends a high line on completion gives the same
 * interrupt back for ever: the kernel makes no progress.
 *
 * M-mode opens PMP, delegates SEIP and mrets to the S-mode kernel. Each phase
 * makes one kind of UART access, then waits long enough for any interrupt it
 * causes to be taken, so the counts do not depend on timing. The kernel prints
 * one line per phase, "name: interrupts", and powers off; a count that differs
 * from QEMU's names the rule that differs.
 */
#include <stdint.h>

#include "bare.h"

#define SYSCON ((volatile uint32_t *)0x100000UL)
#define POWEROFF 0x5555

#define UART ((volatile uint8_t *)UART_BASE)
#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define IER_RDI 0x01
#define IER_THRI 0x02
#define UART_IRQ 10

#define PLIC 0x0c000000UL
#define PLIC_PRIORITY(irq) ((volatile uint32_t *)(PLIC + 4 * (irq)))
#define PLIC_SENABLE ((volatile uint32_t *)(PLIC + 0x2080)) /* context 1: hart 0, S-mode */
#define PLIC_STHRESHOLD ((volatile uint32_t *)(PLIC + 0x201000))
#define PLIC_SCLAIM ((volatile uint32_t *)(PLIC + 0x201004))

#define MIP_SEIP (1UL << 9)
#define SSTATUS_SIE (1UL << 1)
#define SCAUSE_SEI ((1UL << 63) | 9)

#define PHASE_REPEAT 4 /* accesses per phase that repeat one access */

static volatile uint64_t interrupts; /* UART claims */
static volatile uint64_t spurious; /* claims that returned another source or none */
static volatile uint64_t unexpected; /* traps that are not supervisor external interrupts */
static volatile int echo_in_handler; /* the next interrupt writes THR before completing */

static void phase(const char *name, uint64_t count);

__attribute__((interrupt("supervisor"), aligned(4))) static void strap(void) {
  uint64_t cause;
  __asm__ volatile("csrr %0, scause" : "=r"(cause));
  if (cause != SCAUSE_SEI) {
    unexpected++;
    /* Skip the faulting instruction: every instruction here is 4 bytes or 2; find out which. */
    uint64_t epc;
    __asm__ volatile("csrr %0, sepc" : "=r"(epc));
    epc += (*(volatile uint16_t *)epc & 3) == 3 ? 4 : 2;
    __asm__ volatile("csrw sepc, %0" ::"r"(epc));
    return;
  }
  uint32_t irq = *PLIC_SCLAIM;
  if (irq == UART_IRQ) {
    interrupts++;
    if (echo_in_handler) {
      /* A signal while the source is claimed: QEMU pends it, delivered after completion. */
      echo_in_handler = 0;
      UART[THR] = '!';
    }
  } else {
    spurious++;
  }
  if (irq != 0) *PLIC_SCLAIM = irq;
}

/* Long enough for a pending interrupt to be taken on QEMU and rvisor alike. */
static void settle(void) {
  for (volatile int i = 0; i < 200; i++) {
  }
}

/* Interrupts taken while `access` runs `times` times, each followed by settle(). */
static uint64_t count(void (*access)(void), int times) {
  uint64_t before = interrupts;
  for (int i = 0; i < times; i++) {
    access();
    settle();
  }
  return interrupts - before;
}

static void ier_thri(void) { UART[IER] = IER_THRI; }
static void ier_thri_rdi(void) { UART[IER] = IER_THRI | IER_RDI; }
static void ier_off(void) { UART[IER] = 0; }
static void idle(void) {}
static void thr_write(void) { UART[THR] = '.'; }
static void fcr_write(void) { UART[FCR] = 0; }
static void rbr_read(void) { (void)UART[RBR]; }
static void iir_read(void) { (void)UART[IIR]; }
static void quiet_regs(void) {
  (void)UART[LSR];
  (void)UART[MSR];
  (void)UART[LCR];
  (void)UART[MCR];
  (void)UART[SCR];
  (void)UART[IER];
  UART[LCR] = 0x03;
  UART[MCR] = 0x08;
  UART[SCR] = 0x5a;
}
static void echo_next(void) {
  echo_in_handler = 1;
  UART[FCR] = 0;
}

static void kernel(void) {
  __asm__ volatile("csrw stvec, %0" ::"r"((uintptr_t)strap));
  *PLIC_PRIORITY(UART_IRQ) = 1;
  *PLIC_STHRESHOLD = 0;
  *PLIC_SENABLE = 1U << UART_IRQ;
  __asm__ volatile("csrs sie, %0" ::"r"(MIP_SEIP));
  __asm__ volatile("csrs sstatus, %0" ::"r"(SSTATUS_SIE));

  uint64_t n[13];
  n[0] = count(ier_thri, 1); /* THRI enabled with THR empty: one signal */
  n[1] = count(idle, 1000); /* nothing signals: the line stays high, nothing pends */
  n[2] = count(ier_thri, PHASE_REPEAT); /* IER unchanged: no signal */
  n[3] = count(ier_thri_rdi, 1); /* IER changed: a signal */
  n[4] = count(ier_thri, 1);
  n[5] = count(thr_write, PHASE_REPEAT); /* each THR write: low, then high */
  n[6] = count(fcr_write, PHASE_REPEAT); /* every FCR write signals */
  n[7] = count(rbr_read, PHASE_REPEAT); /* every RBR read signals, even empty */
  n[8] = count(quiet_regs, PHASE_REPEAT); /* none of these signal */
  n[9] = count(iir_read, PHASE_REPEAT); /* the first reports THRE and lowers the line */
  n[10] = count(fcr_write, PHASE_REPEAT); /* THRE acknowledged: signals are low */
  n[11] = count(thr_write, 1); /* the THR write re-arms THRE */
  n[12] = count(echo_next, 1); /* a THR write inside the handler: one more after completion */

  /* Quiet the UART before printing, so the report itself interrupts nobody. */
  __asm__ volatile("csrc sstatus, %0" ::"r"(SSTATUS_SIE));
  ier_off();
  bare_puts("\r\n");
  phase("enable THRI", n[0]);
  phase("idle, line high", n[1]);
  phase("IER rewritten", n[2]);
  phase("IER changed", n[3] + n[4]);
  phase("THR writes", n[5]);
  phase("FCR writes", n[6]);
  phase("RBR reads", n[7]);
  phase("LSR MSR LCR MCR SCR", n[8]);
  phase("IIR reads", n[9]);
  phase("FCR after IIR", n[10]);
  phase("THR after IIR", n[11]);
  phase("THR in handler", n[12]);
  phase("total", interrupts);
  phase("spurious", spurious);
  phase("unexpected traps", unexpected);
  bare_puts("thre: done\r\n");
  *SYSCON = POWEROFF;
  for (;;) {
  }
}

static void phase(const char *name, uint64_t value) {
  bare_puts(name);
  bare_puts(": ");
  bare_putdec(value);
  bare_puts("\r\n");
}

int main(void) {
  /* One NAPOT entry over everything: S-mode may reach RAM and devices (QEMU checks PMP). */
  __asm__ volatile("csrw pmpaddr0, %0" ::"r"(~0UL >> 10));
  __asm__ volatile("csrw pmpcfg0, %0" ::"r"(0x1fUL));
  __asm__ volatile("csrw mideleg, %0" ::"r"(MIP_SEIP));
  uint64_t mstatus;
  __asm__ volatile("csrr %0, mstatus" : "=r"(mstatus));
  mstatus = (mstatus & ~(3UL << 11)) | (1UL << 11); /* MPP = S */
  __asm__ volatile("csrw mstatus, %0" ::"r"(mstatus));
  __asm__ volatile("csrw mepc, %0" ::"r"((uintptr_t)kernel));
  __asm__ volatile("mret");
  return 1;
}
