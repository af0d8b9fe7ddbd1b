/* printf for user programs: format, then one write() system call. */
#include "user.h"

void printf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  write(1, buf, n < (int)sizeof buf ? (uint64)n : sizeof buf - 1);
}
