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
 */
#include "defs.h"

#define INPUT_BUF 128

static struct {
  char buf[INPUT_BUF];
  uint32 r; /* next byte read() returns */
  uint32 w; /* end of the complete lines */
  uint32 e; /* end of the line being edited */
  int after_cr;
} cons;

char console_chan;

void console_putc(char c) {
  if (c == '\n') uart_putc('\r');
  uart_putc(c);
}

/* One received byte (from uart_intr, in the trap handler). */
void console_intr(char c) {
  int was_cr = cons.after_cr;
  cons.after_cr = c == '\r';
  if (c == '\n' && was_cr) return;
  if (c == 0x7f || c == '\b') {
    if (cons.e != cons.w) {
      cons.e--;
      kprintf("\b \b");
    }
    return;
  }
  if (c == '\r') c = '\n';
  if ((c < ' ' && c != '\n' && c != '\t') || cons.e - cons.r == INPUT_BUF) return;
  console_putc(c);
  cons.buf[cons.e++ % INPUT_BUF] = c;
  if (c == '\n' || cons.e - cons.r == INPUT_BUF) { /* a full buffer ends the line too */
    cons.w = cons.e;
    wakeup(&console_chan);
  }
}

/* Copies up to n bytes of the next line into dst; -1 if no line is complete. */
int console_read(char *dst, int n) {
  if (cons.r == cons.w) return -1;
  int i = 0;
  while (i < n && cons.r != cons.w) {
    char c = cons.buf[cons.r++ % INPUT_BUF];
    dst[i++] = c;
    if (c == '\n') break;
  }
  return i;
}
