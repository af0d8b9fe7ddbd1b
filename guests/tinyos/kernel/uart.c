/*
 * Driver of the 16550 UART0: polled output, interrupt-driven input.
 *
 * Output polls "transmit holding register empty" before each byte, which is
 * right on a real UART; QEMU and rvisor never make it wait.
 *
 * Input raises PLIC source 10 while received data waits, and each interrupt
 * drains all of it instead of reading one byte.
 *
 * The FIFOs stay off, as reset leaves them. Turning them on empties the
 * receiver, so a byte typed during boot would be lost whatever the order:
 * before the FIFO enable if the driver enabled first, or between its drain and
 * the enable if it drained first (an earlier tinyos did that). Without the
 * FIFO the receiver holds one byte and the line waits until it is read, so
 * nothing typed ahead is ever dropped.
 */
#include "defs.h"
#include "memlayout.h"

#define RBR 0 /* receive buffer (read) */
#define THR 0 /* transmit holding register (write) */
#define IER 1 /* interrupt enable */
#define IER_RX 0x01
#define LCR 3 /* line control */
#define LCR_8N1 0x03
#define LSR 5 /* line status */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

#define reg(r) (((volatile uint8 *)UART0)[r])

void uart_init(void) {
  reg(IER) = 0;
  reg(LCR) = LCR_8N1;
  /* Bytes that came before this raise the interrupt at once. */
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
