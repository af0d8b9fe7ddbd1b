/*
 * Driver of the 16550 UART0: polled output, interrupt-driven input.
 *
 * Output polls "transmit holding register empty" before each byte, which is
 * right on a real UART; QEMU and rvisor never make it wait.
 *
 * Input raises PLIC source 10 while the receive FIFO holds data. The FIFO
 * holds 16 bytes and a pasted line is longer, so each interrupt drains it
 * completely instead of reading one byte.
 */
#include "defs.h"
#include "memlayout.h"

#define RBR 0 /* receive buffer (read) */
#define THR 0 /* transmit holding register (write) */
#define IER 1 /* interrupt enable */
#define IER_RX 0x01
#define FCR 2 /* FIFO control */
#define FCR_FIFO_ENABLE 0x01
#define LCR 3 /* line control */
#define LCR_8N1 0x03
#define LSR 5 /* line status */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

#define reg(r) (((volatile uint8 *)UART0)[r])

void uart_init(void) {
  reg(IER) = 0;
  reg(LCR) = LCR_8N1;
  /* Turning the FIFO on empties it (QEMU, as a real 16550): keep the bytes
     that arrived during boot first. */
  uart_intr();
  reg(FCR) = FCR_FIFO_ENABLE;
  reg(IER) = IER_RX;
}

void uart_putc(char c) {
  while ((reg(LSR) & LSR_THR_EMPTY) == 0) {
  }
  reg(THR) = (uint8)c;
}

void uart_intr(void) {
  while (reg(LSR) & LSR_DATA_READY) console_intr((char)reg(RBR));
}
