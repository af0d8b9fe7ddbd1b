/*
 * The console: a line discipline between the UART and read()/write().
 *
 * Typed bytes are echoed and collected in a line buffer; backspace (0x7f or
 * 0x08) erases the last byte of the current line, CR or LF ends it (CR LF
 * counts as one line end). read() returns whole lines only, so a process
 * waiting for input sleeps until Enter is pressed.
 *
 * Output turns "\n" into "\r\n": the UART is a raw line and a terminal needs
 * the carriage return.
 *
 * Two locks: cons.lock guards the line buffer (any hart may take the UART
 * interrupt while a process on another reads), out_lock keeps one writer's
 * bytes together on the UART.
 */
#include "defs.h"

#define INPUT_BUF 128

static struct {
  char buf[INPUT_BUF];
  uint32 r; /* next byte read() returns */
  uint32 w; /* end of the complete lines */
  uint32 e; /* end of the line being edited */
  int after_cr;
  struct spinlock lock;
} cons = {.lock = SPINLOCK("cons")};

static struct spinlock out_lock = SPINLOCK("console output");

static char console_chan; /* sleep channel of processes waiting for a line */

/* One byte out, without the output lock: for panic, and under it. */
void console_putc(char c) {
  if (c == '\n') uart_putc('\r');
  uart_putc(c);
}

void console_write(const char *s, uint64 n) {
  acquire(&out_lock);
  for (uint64 i = 0; i < n; i++) console_putc(s[i]);
  release(&out_lock);
}

static void console_byte(char c) {
  int was_cr = cons.after_cr;
  cons.after_cr = c == '\r';
  if (c == '\n' && was_cr) return;
  if (c == 0x7f || c == '\b') {
    if (cons.e != cons.w) {
      cons.e--;
      console_write("\b \b", 3);
    }
    return;
  }
  if (c == '\r') c = '\n';
  if ((c < ' ' && c != '\n' && c != '\t') || cons.e - cons.r == INPUT_BUF) return;
  console_write(&c, 1);
  cons.buf[cons.e++ % INPUT_BUF] = c;
  if (c == '\n' || cons.e - cons.r == INPUT_BUF) { /* a full buffer ends the line too */
    cons.w = cons.e;
    wakeup(&console_chan);
  }
}

/* One received byte (from uart_intr, in the trap handler). */
void console_intr(char c) {
  acquire(&cons.lock);
  console_byte(c);
  release(&cons.lock);
}

/* Copies up to n bytes of the next line into dst. If no line is complete,
   puts p to sleep until one is and returns -1. Both under cons.lock, so a
   line that another hart completes meanwhile cannot slip between the look
   and the sleep (its wakeup would find nobody asleep yet). */
int console_read(struct proc *p, char *dst, int n) {
  acquire(&cons.lock);
  int i = 0;
  if (cons.r == cons.w) {
    sleep_on(p, &console_chan);
    i = -1;
  }
  while (i >= 0 && i < n && cons.r != cons.w) {
    char c = cons.buf[cons.r++ % INPUT_BUF];
    dst[i++] = c;
    if (c == '\n') break;
  }
  release(&cons.lock);
  return i;
}
