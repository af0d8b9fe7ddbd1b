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
    console_write(chunk, len);
  }
  return (int64)n;
}

static int64 sys_read(struct proc *p) {
  char line[128];
  int n = ARG(p, 2) < sizeof line ? (int)ARG(p, 2) : (int)sizeof line;
  int got = console_read(p, line, n);
  if (got < 0) return RESTART; /* asleep until a line comes */
  return copyout(p, ARG(p, 1), line, (uint64)got) ? -1 : got;
}

static int64 sys_getpid(struct proc *p) { return p->pid; }

static int64 sys_sleep(struct proc *p) {
  if (ARG(p, 0) == 0) {
    yield(p);
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

/* Takes a snapshot of the table under proc_lock, then copies it out with the
   lock released: copyout may fault a heap page in, which takes kalloc's lock
   and zeroes a page, too long to hold up every other hart's scheduler. */
static int64 sys_ps(struct proc *p) {
  uint64 dst = ARG(p, 0), max = ARG(p, 1);
  struct procinfo info[NPROC];
  int64 n = 0;
  acquire(&proc_lock);
  for (struct proc *q = procs; q < &procs[NPROC] && (uint64)n < max; q++) {
    if (q->state == UNUSED) continue;
    info[n] = (struct procinfo){q->pid, q->state, q->ticks, q->hart, {0}};
    strlcpy(info[n].name, q->name, sizeof info[n].name);
    n++;
  }
  release(&proc_lock);
  return copyout(p, dst, info, n * sizeof info[0]) ? -1 : n;
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

/* The name is copied a byte at a time up to its NUL: the bytes after it may
   be on a page the process does not have. */
static int64 sys_spawn(struct proc *p) {
  char name[PROC_NAME_LEN] = {0};
  for (uint64 i = 0; i + 1 < sizeof name; i++) {
    if (copyin(p, &name[i], ARG(p, 0) + i, 1)) return -1;
    if (!name[i]) break;
  }
  struct proc *q = spawn_program(name);
  return q ? q->pid : -1;
}

static int64 sys_harts(struct proc *p) {
  uint64 dst = ARG(p, 0), max = ARG(p, 1);
  int online = __atomic_load_n(&harts_online, __ATOMIC_ACQUIRE);
  for (int i = 0; i < online && (uint64)i < max; i++) {
    struct hartinfo h = {cpus[i].ticks, cpus[i].scheduled};
    if (copyout(p, dst + i * sizeof h, &h, sizeof h)) return -1;
  }
  return online;
}

static int64 (*const calls[])(struct proc *) = {
    [SYS_write] = sys_write,   [SYS_read] = sys_read,     [SYS_getpid] = sys_getpid,
    [SYS_sleep] = sys_sleep,   [SYS_exit] = sys_exit,     [SYS_uptime] = sys_uptime,
    [SYS_ps] = sys_ps,         [SYS_sbrk] = sys_sbrk,     [SYS_meminfo] = sys_meminfo,
    [SYS_poweroff] = sys_poweroff, [SYS_spawn] = sys_spawn,   [SYS_harts] = sys_harts,
};

void syscall(struct proc *p) {
  uint64 num = p->tf.x[REG_A7];
  p->tf.epc += 4;
  int64 r = num < sizeof calls / sizeof calls[0] && calls[num] ? calls[num](p) : -1;
  if (r == RESTART) p->tf.epc -= 4;
  else p->tf.x[REG_A0] = (uint64)r;
}
