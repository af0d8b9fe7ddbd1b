/*
 * ticker: a background process that keeps the CPU busy now and then, so
 * that timer preemption has something to preempt. Once a second it spins
 * until the next timer tick; the tick preempts it (the shell runs if it has
 * work), and ps shows the ticks it was charged with.
 */
#include "user.h"

int main(void) {
  struct uptime u;
  for (;;) {
    uptime(&u);
    uint64 start = u.ticks;
    while (u.ticks == start) uptime(&u);
    sleep(HZ);
  }
}
