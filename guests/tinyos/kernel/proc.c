/*
 * Processes and the scheduler.
 *
 * A process is a user address space plus the user registers saved when it
 * last trapped into the kernel (its trapframe). There are no kernel threads:
 * a hart handles a trap on its own kernel stack and then resumes some
 * process with userret. A process that must wait (sleep, or read with no
 * line typed yet) is marked SLEEPING and simply not resumed until wakeup()
 * makes it RUNNABLE again.
 *
 * Scheduling is round-robin: on each timer tick the running process goes
 * to the back of the line (trap.c), and the scheduler picks the next
 * RUNNABLE process after it in the table. With nothing to run, the hart
 * waits for an interrupt (wfi).
 *
 * Several harts: each runs its own scheduler loop over the one table, so
 * any hart may pick any runnable process, and proc_lock makes the pick and
 * the state changes atomic. Each hart goes round from the process it ran
 * last, so that a process it preempts goes to the back of its line even
 * when another hart has picked a process since. A process is on one hart
 * at a time: from the pick until the end of its trap handling
 * (trap_return) it is `oncpu`, and no other hart takes it even if it
 * becomes RUNNABLE meanwhile (a wakeup from another hart, or the tick that
 * preempts it), since this hart is still using its trapframe.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

struct proc procs[NPROC];
struct spinlock proc_lock = SPINLOCK("proc");
struct cpu cpus[NCPU];
int harts_online; /* harts that reached their scheduler, counted atomically */
static int nextpid = 1;

/* The programs spawn() can start, besides the two that boot starts. */
extern const uint8 spin_start[], spin_end[];
static const struct {
  const char *name;
  const uint8 *start, *end;
} programs[] = {{"spin", spin_start, spin_end}};

/* This hart's id: start.S put it in tp, and uservec puts it back after a
   process ran (which may have changed tp). */
int cpuid(void) {
  int id;
  asm volatile("mv %0, tp" : "=r"(id));
  return id;
}

struct cpu *mycpu(void) { return &cpus[cpuid()]; }

/* Creates a process running the flat binary `code` (linked at USERBASE by
   user/user.ld): its pages, a stack page, and an empty heap after the code.
   It runs once proc_start makes it RUNNABLE. 0 if memory or process slots
   ran out. */
struct proc *proc_spawn(const char *name, const uint8 *code, uint64 size) {
  pagetable_t pt = uvm_create();
  if (!pt) return 0;
  int ok = 1;
  for (uint64 off = 0; off < size && ok; off += PGSIZE) {
    uint8 *page = kalloc();
    ok = page && !uvm_map(pt, USERBASE + off, page, PTE_R | PTE_W | PTE_X);
    if (ok) memcpy(page, code + off, size - off < PGSIZE ? size - off : PGSIZE);
    else if (page) kfree(page);
  }
  void *stack = ok ? kalloc() : 0;
  if (!stack || uvm_map(pt, USERSTACK, stack, PTE_R | PTE_W)) {
    if (stack) kfree(stack);
    uvm_free(pt);
    return 0;
  }
  acquire(&proc_lock);
  struct proc *p = 0;
  for (int i = 0; i < NPROC && !p; i++)
    if (procs[i].state == UNUSED && !procs[i].oncpu) p = &procs[i];
  if (p) {
    memset(p, 0, sizeof *p);
    p->pagetable = pt;
    p->heap = p->brk = USERBASE + PGROUNDUP(size);
    p->tf.epc = USERBASE;
    p->tf.x[REG_SP] = USERTOP;
    p->pid = nextpid++;
    p->hart = -1;
    strlcpy(p->name, name, sizeof p->name);
    p->state = SLEEPING; /* on no channel: nothing wakes it but proc_start */
  }
  release(&proc_lock);
  if (!p) uvm_free(pt);
  return p;
}

void proc_start(struct proc *p) {
  acquire(&proc_lock);
  p->state = RUNNABLE;
  release(&proc_lock);
}

/* Spawns and starts the program called name (programs[]); 0 if there is no
   such program or no room for it. */
struct proc *spawn_program(const char *name) {
  for (uint64 i = 0; i < sizeof programs / sizeof programs[0]; i++) {
    if (strcmp(programs[i].name, name)) continue;
    struct proc *p = proc_spawn(name, programs[i].start, programs[i].end - programs[i].start);
    if (p) proc_start(p);
    return p;
  }
  return 0;
}

/* Ends the process p (this hart's) and frees its memory. Its slot stays
   oncpu until trap_return, so the trap handling can still write to it. The
   shell is the machine's reason to run: when it ends, the machine powers
   off. */
void proc_exit(struct proc *p, int status) {
  kvm_switch(); /* leave its page table before freeing it */
  uvm_free(p->pagetable);
  acquire(&proc_lock);
  p->state = UNUSED;
  release(&proc_lock);
  if (p->pid == 1) {
    kprintf("tinyos: %s exited (status %d), powering off\n", p->name, status);
    poweroff(status == 0 ? 0 : 1);
  }
}

/* A page fault at va: inside the heap, map a fresh zeroed page there (the
   heap is allocated lazily, on first touch); anything else is an error.
   Returns 0 if the access can be retried. */
int proc_fault(struct proc *p, uint64 va) {
  va = PGROUNDDOWN(va);
  if (va < p->heap || va >= p->brk || uvm_lookup(p->pagetable, va)) return -1;
  void *page = kalloc();
  if (!page) return -1;
  if (uvm_map(p->pagetable, va, page, PTE_R | PTE_W)) {
    kfree(page);
    return -1;
  }
  sfence_vma(); /* the hart may have cached the invalid entry that faulted */
  p->faults++;
  return 0;
}

/* The kernel address of user address va, faulting the heap page in if needed. */
static uint8 *user_byte(struct proc *p, uint64 va) {
  uint8 *ka = uvm_lookup(p->pagetable, va);
  if (!ka && proc_fault(p, va) == 0) ka = uvm_lookup(p->pagetable, va);
  return ka;
}

/* Copies between kernel and user memory. User pointers are not trusted:
   each page is looked up in the process's page table (the kernel itself
   sees RAM at physical addresses). Returns -1 on a bad address. */
int copyout(struct proc *p, uint64 dstva, const void *src, uint64 n) {
  while (n) {
    uint8 *dst = user_byte(p, dstva);
    if (!dst) return -1;
    uint64 chunk = PGSIZE - dstva % PGSIZE;
    if (chunk > n) chunk = n;
    memcpy(dst, src, chunk);
    src = (const uint8 *)src + chunk, dstva += chunk, n -= chunk;
  }
  return 0;
}

int copyin(struct proc *p, void *dst, uint64 srcva, uint64 n) {
  while (n) {
    uint8 *src = user_byte(p, srcva);
    if (!src) return -1;
    uint64 chunk = PGSIZE - srcva % PGSIZE;
    if (chunk > n) chunk = n;
    memcpy(dst, src, chunk);
    dst = (uint8 *)dst + chunk, srcva += chunk, n -= chunk;
  }
  return 0;
}

/* p (this hart's) waits on chan; for &ticks, until the tick p->wake_at. */
void sleep_on(struct proc *p, void *chan) {
  acquire(&proc_lock);
  p->chan = chan;
  p->state = SLEEPING;
  release(&proc_lock);
}

/* p (this hart's) goes to the back of the line at the end of its trap. */
void yield(struct proc *p) {
  acquire(&proc_lock);
  if (p->state == RUNNING) p->state = RUNNABLE;
  release(&proc_lock);
}

/* Makes every process sleeping on chan runnable; processes sleeping on
   &ticks wake only once their time has come. */
void wakeup(void *chan) {
  acquire(&proc_lock);
  for (struct proc *p = procs; p < &procs[NPROC]; p++)
    if (p->state == SLEEPING && p->chan == chan && (chan != &ticks || p->wake_at <= ticks))
      p->state = RUNNABLE;
  release(&proc_lock);
}

/* Resumes p in U-mode; the next trap enters uservec with sscratch = &p->tf,
   on this hart's kernel stack. The hart's TLB may hold stale entries of p's
   page table if p changed it on another hart since it last ran here (or if
   a new process's table sits where an old one did): `migrated` flushes it
   even when satp does not change. */
static void return_to_user(struct proc *p, int migrated) {
  extern char kstacks[];
  uint64 satp = MAKE_SATP(p->pagetable);
  if (migrated || csr_read(satp) != satp) {
    csr_write(satp, satp);
    sfence_vma();
  }
  p->tf.kernel_sp = (uint64)kstacks + (cpuid() + 1) * KSTACK_SIZE;
  p->tf.kernel_hartid = cpuid();
  csr_write(stvec, uservec);
  csr_clear(sstatus, SSTATUS_SPP); /* sret to U-mode */
  csr_write(sepc, p->tf.epc);
  userret(&p->tf);
}

/* The end of every trap from p: p goes on if it is still RUNNING, else this
   hart lets go of it and schedules. */
void trap_return(struct proc *p) {
  acquire(&proc_lock);
  int go_on = p->state == RUNNING;
  if (!go_on) {
    p->oncpu = 0;
    mycpu()->proc = 0;
  }
  release(&proc_lock);
  if (go_on) return_to_user(p, 0);
  scheduler();
}

void scheduler(void) {
  struct cpu *c = mycpu();
  for (;;) {
    acquire(&proc_lock);
    for (int i = 0; i < NPROC; i++) {
      struct proc *p = &procs[(c->next + i) % NPROC];
      if (p->state == RUNNABLE && !p->oncpu) {
        c->next = (p - procs + 1) % NPROC;
        p->state = RUNNING;
        p->oncpu = 1;
        int migrated = p->hart != cpuid();
        p->hart = cpuid();
        c->proc = p;
        c->scheduled++;
        release(&proc_lock);
        return_to_user(p, migrated);
      }
    }
    release(&proc_lock);
    /* Nothing to run: wait. The kernel runs with sstatus.SIE clear, so the
       interrupt does not trap; wfi returns once one is pending, and
       intr_poll handles it. A process another hart makes runnable waits
       for this hart's next interrupt (its timer ticks HZ times a second). */
    wfi();
    intr_poll();
  }
}
