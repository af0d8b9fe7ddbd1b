/*
 * spin: a CPU-bound process for watching the harts share the work (the
 * shell's `spin N` starts N of them). It computes until SPIN_TICKS timer
 * ticks have passed, then exits. Every tick preempts it, and whichever hart
 * is free next takes it up: `ps` shows the hart that ran it last, `harts`
 * how many processes each hart started.
 */
#include "user.h"

#define SPIN_TICKS 10

int main(void) {
  struct uptime u;
  uptime(&u);
  uint64 end = u.ticks + SPIN_TICKS;
  volatile uint64 sum = 0; /* volatile: the loop is the point */
  while (u.ticks < end) {
    for (uint64 i = 0; i < 1000; i++) sum += i;
    uptime(&u);
  }
  return 0;
}
