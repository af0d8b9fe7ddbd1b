/*
 * Console helpers for rvisor's bare-metal C guests (no libc): byte output on the
 * `virt` board's 16550 UART at 0x1000_0000, strings, and hex/decimal numbers.
 * Header-only because scripts/build-guests.ts compiles one .c file per guest
 * (plus crt0.S). Polls LSR.THRE before each byte so that the same code is right
 * on a UART that really paces output (QEMU and rvisor never make it wait).
 */
#ifndef RVISOR_BARE_H
#define RVISOR_BARE_H

#include <stdint.h>

#define UART_BASE 0x10000000UL
#define UART_THR 0 /* transmit holding register (write) */
#define UART_LSR 5 /* line status register */
#define UART_LSR_THRE 0x20 /* THR empty: ready for the next byte */

static inline void bare_putchar(char c) {
  volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
  while ((uart[UART_LSR] & UART_LSR_THRE) == 0) {
  }
  uart[UART_THR] = (uint8_t)c;
}

static inline void bare_puts(const char *s) {
  while (*s) bare_putchar(*s++);
}

/* Prints v as 0x followed by `digits` hex digits (1..16). */
static inline void bare_puthex(uint64_t v, int digits) {
  bare_puts("0x");
  for (int i = digits - 1; i >= 0; i--) bare_putchar("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static inline void bare_putdec(uint64_t v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  bare_puts(&buf[i]);
}

#endif
