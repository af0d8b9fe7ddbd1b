/*
 * The PLIC, programmed for one source: UART0 (source 10) to the S-mode
 * context of every hart (plic_inithart on each). A source must have a
 * priority above the context's threshold to interrupt; the kernel claims
 * each interrupt, lets the driver handle it, and completes it so that the
 * source can fire again. Whichever hart claims first handles it; the other
 * harts' claims return 0.
 */
#include "defs.h"
#include "memlayout.h"

#define reg(addr) (*(volatile uint32 *)(addr))

void plic_init(void) { reg(PLIC_PRIORITY(UART0_IRQ)) = 1; }

void plic_inithart(void) {
  reg(PLIC_SENABLE(cpuid())) = 1U << UART0_IRQ;
  reg(PLIC_STHRESHOLD(cpuid())) = 0;
}

int plic_claim(void) { return (int)reg(PLIC_SCLAIM(cpuid())); }

void plic_complete(int irq) { reg(PLIC_SCLAIM(cpuid())) = (uint32)irq; }
