/*
 * Spinlocks, as xv6 has them.
 *
 * acquire takes the lock with an atomic swap (amoswap.w.aq) and spins while
 * another hart holds it; release stores 0 with release ordering. A hart
 * holds a lock only briefly and never while it waits for anything else.
 *
 * Interrupts stay off while a hart holds a lock, or an interrupt handler
 * wanting the same lock would spin forever on its own hart. push_off and
 * pop_off nest: interrupts come back on only when the outermost pop_off
 * undoes the first push_off, and only if they were on before it. (The
 * tinyos kernel keeps S interrupts off anyway, see trap.c; the discipline
 * keeps the locks right if that ever changes.)
 */
#include "defs.h"
#include "riscv.h"

void acquire(struct spinlock *lk) {
  push_off();
  if (holding(lk)) panic("acquire %s: already held by this hart", lk->name);
  while (__sync_lock_test_and_set(&lk->locked, 1) != 0) {
  }
  __sync_synchronize(); /* the critical section's accesses stay after the swap */
  lk->cpu = cpuid();
}

void release(struct spinlock *lk) {
  if (!holding(lk)) panic("release %s: not held", lk->name);
  lk->cpu = -1;
  __sync_synchronize(); /* and before the store that frees the lock */
  __sync_lock_release(&lk->locked);
  pop_off();
}

/* Whether this hart holds lk; interrupts must be off. */
int holding(struct spinlock *lk) { return lk->locked && lk->cpu == cpuid(); }

void push_off(void) {
  int old = (csr_read(sstatus) & SSTATUS_SIE) != 0;
  csr_clear(sstatus, SSTATUS_SIE);
  struct cpu *c = mycpu();
  if (c->noff == 0) c->intena = old;
  c->noff++;
}

void pop_off(void) {
  struct cpu *c = mycpu();
  if (csr_read(sstatus) & SSTATUS_SIE) panic("pop_off: interrupts on");
  if (c->noff < 1) panic("pop_off: not pushed");
  c->noff--;
  if (c->noff == 0 && c->intena) csr_set(sstatus, SSTATUS_SIE);
}
