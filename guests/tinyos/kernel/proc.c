/*
 * Processes and the scheduler.
 *
 * A process is a user address space plus the user registers saved when it
 * last trapped into the kernel (its trapframe). There are no kernel threads:
 * the kernel handles a trap on its single stack and then resumes some
 * process with userret. A process that must wait (sleep, or read with no
 * line typed yet) is marked SLEEPING and simply not resumed until wakeup()
 * makes it RUNNABLE again.
 *
 * Scheduling is round-robin: on each timer tick the running process goes
 * to the back of the line (trap.c), and the scheduler picks the next
 * RUNNABLE process after it in the table. With nothing to run, the hart
 * waits for an interrupt (wfi).
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

struct proc procs[NPROC];
struct proc *current; /* the process whose trap the kernel is handling, or 0 */
static int nextpid = 1;

/* Creates a process running the flat binary `code` (linked at USERBASE by
   user/user.ld): its pages, a stack page, and an empty heap after the code. */
struct proc *proc_spawn(const char *name, const uint8 *code, uint64 size) {
  struct proc *p = 0;
  for (int i = 0; i < NPROC && !p; i++)
    if (procs[i].state == UNUSED) p = &procs[i];
  if (!p) panic("proc_spawn: no free process slot");
  memset(p, 0, sizeof *p);
  if (!(p->pagetable = uvm_create())) panic("proc_spawn: out of memory");
  for (uint64 off = 0; off < size; off += PGSIZE) {
    uint8 *page = kalloc();
    if (!page || uvm_map(p->pagetable, USERBASE + off, page, PTE_R | PTE_W | PTE_X))
      panic("proc_spawn: out of memory");
    memcpy(page, code + off, size - off < PGSIZE ? size - off : PGSIZE);
  }
  void *stack = kalloc();
  if (!stack || uvm_map(p->pagetable, USERSTACK, stack, PTE_R | PTE_W))
    panic("proc_spawn: out of memory");
  p->heap = p->brk = USERBASE + PGROUNDUP(size);
  p->tf.epc = USERBASE;
  p->tf.x[REG_SP] = USERTOP;
  p->pid = nextpid++;
  strlcpy(p->name, name, sizeof p->name);
  p->state = RUNNABLE;
  return p;
}

/* Ends a process and frees its memory. The shell is the machine's reason to
   run: when it ends, the machine powers off. */
void proc_exit(struct proc *p, int status) {
  kvm_switch(); /* leave its page table before freeing it */
  uvm_free(p->pagetable);
  p->state = UNUSED;
  if (p == current) current = 0;
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

void sleep_on(struct proc *p, void *chan) {
  p->chan = chan;
  p->state = SLEEPING;
}

/* Makes every process sleeping on chan runnable; processes sleeping on
   &ticks wake only once their time has come. */
void wakeup(void *chan) {
  for (struct proc *p = procs; p < &procs[NPROC]; p++)
    if (p->state == SLEEPING && p->chan == chan && (chan != &ticks || p->wake_at <= ticks))
      p->state = RUNNABLE;
}

/* Resumes p in U-mode; the next trap enters uservec with sscratch = &p->tf. */
void return_to_user(struct proc *p) {
  current = p;
  p->state = RUNNING;
  uint64 satp = MAKE_SATP(p->pagetable);
  if (csr_read(satp) != satp) {
    csr_write(satp, satp);
    sfence_vma();
  }
  csr_write(stvec, uservec);
  csr_clear(sstatus, SSTATUS_SPP); /* sret to U-mode */
  csr_write(sepc, p->tf.epc);
  userret(&p->tf);
}

void scheduler(void) {
  static int last = NPROC - 1; /* index of the process that ran last: start with procs[0] */
  for (;;) {
    for (int i = 1; i <= NPROC; i++) {
      int k = (last + i) % NPROC;
      if (procs[k].state == RUNNABLE) {
        last = k;
        return_to_user(&procs[k]);
      }
    }
    /* Nothing to run: wait. The kernel runs with sstatus.SIE clear, so the
       interrupt does not trap; wfi returns once one is pending, and
       intr_poll handles it. */
    current = 0;
    wfi();
    intr_poll();
  }
}
