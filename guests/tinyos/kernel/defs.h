/*
 * Kernel-wide declarations: the process structure and every function one
 * kernel file offers another, grouped by the file that defines it.
 */
#ifndef TINYOS_DEFS_H
#define TINYOS_DEFS_H

#include "../lib/lib.h"
#include "../lib/syscall.h"
#include "memlayout.h"

typedef uint64 *pagetable_t; /* 512 PTEs */

/* A process's user registers, saved by uservec (uvec.S) on every trap from
   U-mode and restored by userret. x[i] is register xi (x[0] is unused);
   the offsets are part of uvec.S's contract. The process may trap on any
   hart, so the kernel leaves that hart's stack and id here for uservec. */
struct trapframe {
  uint64 x[32];
  uint64 epc;           /* user pc to resume at */
  uint64 kernel_sp;     /* top of the kernel stack of the hart running the process */
  uint64 kernel_hartid; /* that hart's id, uservec's tp */
};
#define REG_SP 2
#define REG_A0 10
#define REG_A7 17

/* A spinlock (spinlock.c): locked is taken with an atomic swap. */
#define SPINLOCK(name) {0, -1, name}
struct spinlock {
  uint32 locked;
  int cpu; /* the hart holding it, for holding() */
  const char *name;
};

/* What the kernel keeps per hart; cpus[] is indexed by hart id (tp). */
struct cpu {
  struct proc *proc; /* the process whose trap this hart handles, or 0 */
  int noff;          /* push_off nesting depth */
  int intena;        /* were S interrupts on before the first push_off? */
  uint64 next_tick;  /* time CSR value of this hart's next timer deadline */
  uint64 ticks;      /* timer ticks this hart took */
  uint64 scheduled;  /* times its scheduler started a process */
  int next;          /* procs[] index its scheduler looks at first: after the last it ran */
};

/* A process's state and oncpu are guarded by proc_lock; the rest belongs to
   the hart running it (oncpu), or to whoever holds proc_lock when none is. */
struct proc {
  struct trapframe tf;
  int pid;
  enum procstate state;
  int oncpu; /* a hart is in the kernel on its behalf: no other hart may take it */
  int hart;  /* the hart that ran it last, -1 before it first ran */
  char name[PROC_NAME_LEN];
  pagetable_t pagetable;
  uint64 heap;    /* user VA where the heap starts (page-aligned end of the program) */
  uint64 brk;     /* end of the heap: pages in [heap, brk) are mapped on first touch */
  uint64 ticks;   /* timer ticks while running */
  uint64 faults;  /* page faults taken (lazy heap allocation) */
  void *chan;     /* what it sleeps on: &ticks (with wake_at) or the console */
  uint64 wake_at; /* tick to wake at when sleeping on &ticks */
};
#define NPROC 8

/* spinlock.c */
void acquire(struct spinlock *lk);
void release(struct spinlock *lk);
int holding(struct spinlock *lk);
void push_off(void);
void pop_off(void);

/* printf.c */
void kprintf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));
void poweroff(uint32 code) __attribute__((noreturn));

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_intr(void);

/* console.c */
void console_putc(char c);
void console_write(const char *s, uint64 n);
void console_intr(char c);
int console_read(struct proc *p, char *dst, int n);

/* plic.c */
void plic_init(void);
void plic_inithart(void);
int plic_claim(void);
void plic_complete(int irq);

/* kalloc.c */
void kalloc_init(void);
void *kalloc(void);
void kfree(void *pa);
uint64 kfree_pages(void);

/* vm.c */
void kvm_init(void);
void kvm_switch(void);
pagetable_t uvm_create(void);
int uvm_map(pagetable_t pt, uint64 va, void *pa, int perm);
void *uvm_lookup(pagetable_t pt, uint64 va);
void uvm_unmap(pagetable_t pt, uint64 va, uint64 npages);
void uvm_free(pagetable_t pt);
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)

/* proc.c */
extern struct proc procs[NPROC];
extern struct spinlock proc_lock;
extern struct cpu cpus[NCPU];
extern int harts_online;
int cpuid(void);
struct cpu *mycpu(void);
struct proc *proc_spawn(const char *name, const uint8 *code, uint64 size);
void proc_start(struct proc *p);
struct proc *spawn_program(const char *name);
void proc_exit(struct proc *p, int status);
int proc_fault(struct proc *p, uint64 va);
int copyout(struct proc *p, uint64 dstva, const void *src, uint64 n);
int copyin(struct proc *p, void *dst, uint64 srcva, uint64 n);
void sleep_on(struct proc *p, void *chan);
void yield(struct proc *p);
void wakeup(void *chan);
void scheduler(void) __attribute__((noreturn));
void trap_return(struct proc *p) __attribute__((noreturn));

/* machine.c */
extern int harts_in_dtb;

/* trap.c */
extern uint64 ticks;
void trap_init(void);
void timer_init(void);
void intr_poll(void);

/* syscall.c */
void syscall(struct proc *p);

/* uvec.S */
void uservec(void);
void kernelvec(void);
void userret(struct trapframe *tf) __attribute__((noreturn));

#endif
