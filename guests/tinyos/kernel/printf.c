/*
 * Kernel messages, panics and power-off.
 *
 * Used by M-mode (which runs untranslated) and by the S-mode kernel (which
 * maps the UART and the syscon at their physical addresses), so the same
 * code works in both. A message goes out whole (console_write holds the
 * output lock), so harts printing at once do not mix their lines.
 */
#include "defs.h"
#include "memlayout.h"

void kprintf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  console_write(buf, n < (int)sizeof buf ? (uint64)n : sizeof buf - 1);
}

/* A kernel bug: say what happened and stop the machine with exit code 1.
   Takes no lock: the bug may be a lock held by this very hart. */
void panic(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (const char *s = "tinyos: panic: "; *s; s++) console_putc(*s);
  for (char *s = buf; *s; s++) console_putc(*s);
  console_putc('\n');
  poweroff(1);
}

/* Ends the machine through the syscon: exit code 0 for code 0, else `code`. */
void poweroff(uint32 code) {
  *(volatile uint32 *)SYSCON = code == 0 ? SYSCON_POWEROFF : (code << 16) | SYSCON_FAIL;
  for (;;) asm volatile("wfi"); /* the syscon stops the machine at once */
}
