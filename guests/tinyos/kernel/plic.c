/*
 * The PLIC, programmed for one source: UART0 (source 10) to the S-mode
 * context of hart 0 (context 1). A source must have a priority above the
 * context's threshold to interrupt; the kernel claims each interrupt, lets
 * the driver handle it, and completes it so that the source can fire again.
 */
#include "defs.h"
#include "memlayout.h"

#define reg(addr) (*(volatile uint32 *)(addr))

void plic_init(void) {
  reg(PLIC_PRIORITY(UART0_IRQ)) = 1;
  reg(PLIC_SENABLE) = 1U << UART0_IRQ;
  reg(PLIC_STHRESHOLD) = 0;
}

int plic_claim(void) { return (int)reg(PLIC_SCLAIM); }

void plic_complete(int irq) { reg(PLIC_SCLAIM) = (uint32)irq; }
