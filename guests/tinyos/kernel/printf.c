/*
 * Kernel messages, panics and power-off.
 *
 * Used by M-mode (which runs untranslated) and by the S-mode kernel (which
 * maps the UART and the syscon at their physical addresses), so the same
 * code works in both.
 */
#include "defs.h"
#include "memlayout.h"

void kprintf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (char *s = buf; *s; s++) console_putc(*s);
}

/* A kernel bug: say what happened and stop the machine with exit code 1. */
void panic(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  kprintf("tinyos: panic: %s\n", buf);
  poweroff(1);
}

/* Ends the machine through the syscon: exit code 0 for code 0, else `code`. */
void poweroff(uint32 code) {
  *(volatile uint32 *)SYSCON = code == 0 ? SYSCON_POWEROFF : (code << 16) | SYSCON_FAIL;
  for (;;) asm volatile("wfi"); /* the syscon stops the machine at once */
}
