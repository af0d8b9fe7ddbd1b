/*
 * System calls (numbers and structures in lib/syscall.h).
 *
 * The call number is in a7, arguments in a0..a2, the result goes to a0.
 * sepc points at the ecall, so the kernel steps past it (+4) before the
 * call runs. A call that must wait for input instead puts the process to
 * sleep with sepc still on the ecall: when woken, the process simply makes
 * the same call again. That keeps the kernel free of blocked kernel stacks.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

#define RESTART (-2L) /* sleep, then re-execute the ecall */

#define ARG(p, n) ((p)->tf.x[REG_A0 + (n)])

static int64 sys_write(struct proc *p) {
  uint64 buf = ARG(p, 1), n = ARG(p, 2);
  char chunk[64];
  for (uint64 done = 0; done < n; done += sizeof chunk) {
    uint64 len = n - done < sizeof chunk ? n - done : sizeof chunk;
    if (copyin(p, chunk, buf + done, len)) return -1;
    for (uint64 i = 0; i < len; i++) console_putc(chunk[i]);
  }
  return (int64)n;
}

static int64 sys_read(struct proc *p) {
  char line[128];
  int n = ARG(p, 2) < sizeof line ? (int)ARG(p, 2) : (int)sizeof line;
  int got = console_read(line, n);
  if (got < 0) {
    sleep_on(p, &console_chan);
    return RESTART;
  }
  return copyout(p, ARG(p, 1), line, (uint64)got) ? -1 : got;
}

static int64 sys_getpid(struct proc *p) { return p->pid; }

static int64 sys_sleep(struct proc *p) {
  if (ARG(p, 0) == 0) {
    p->state = RUNNABLE; /* just yield */
  } else {
    p->wake_at = ticks + ARG(p, 0);
    sleep_on(p, &ticks);
  }
  return 0;
}

static int64 sys_exit(struct proc *p) {
  proc_exit(p, (int)ARG(p, 0));
  return 0;
}

static int64 sys_uptime(struct proc *p) {
  struct uptime u = {ticks, csr_read(time)};
  return copyout(p, ARG(p, 0), &u, sizeof u);
}

static int64 sys_ps(struct proc *p) {
  uint64 dst = ARG(p, 0), max = ARG(p, 1);
  int64 n = 0;
  for (struct proc *q = procs; q < &procs[NPROC] && (uint64)n < max; q++) {
    if (q->state == UNUSED) continue;
    struct procinfo info = {q->pid, q->state, q->ticks, {0}};
    strlcpy(info.name, q->name, sizeof info.name);
    if (copyout(p, dst + n * sizeof info, &info, sizeof info)) return -1;
    n++;
  }
  return n;
}

/* Moves the end of the heap. Growing only reserves address space: the pages
   come on first touch (proc_fault). Shrinking frees the pages and flushes
   the TLB (uvm_unmap). Refuses to promise more pages than are free. */
static int64 sys_sbrk(struct proc *p) {
  int64 delta = (int64)ARG(p, 0);
  uint64 old = p->brk, new = old + delta;
  if (new < p->heap || new > USERHEAPMAX) return -1;
  if (delta > 0 && (PGROUNDUP(new) - PGROUNDUP(old)) / PGSIZE > kfree_pages()) return -1;
  if (delta < 0)
    uvm_unmap(p->pagetable, PGROUNDUP(new), (PGROUNDUP(old) - PGROUNDUP(new)) / PGSIZE);
  p->brk = new;
  return (int64)old;
}

static int64 sys_meminfo(struct proc *p) {
  struct meminfo m = {kfree_pages(), p->faults};
  return copyout(p, ARG(p, 0), &m, sizeof m);
}

static int64 sys_poweroff(struct proc *p) {
  kprintf("tinyos: poweroff requested by pid %d (%s)\n", p->pid, p->name);
  poweroff(0);
}

static int64 (*const calls[])(struct proc *) = {
    [SYS_write] = sys_write,   [SYS_read] = sys_read,     [SYS_getpid] = sys_getpid,
    [SYS_sleep] = sys_sleep,   [SYS_exit] = sys_exit,     [SYS_uptime] = sys_uptime,
    [SYS_ps] = sys_ps,         [SYS_sbrk] = sys_sbrk,     [SYS_meminfo] = sys_meminfo,
    [SYS_poweroff] = sys_poweroff,
};

void syscall(struct proc *p) {
  uint64 num = p->tf.x[REG_A7];
  p->tf.epc += 4;
  int64 r = num < sizeof calls / sizeof calls[0] && calls[num] ? calls[num](p) : -1;
  if (r == RESTART) p->tf.epc -= 4;
  else p->tf.x[REG_A0] = (uint64)r;
}
