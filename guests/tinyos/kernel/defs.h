/*
 * Kernel-wide declarations: the process structure and every function one
 * kernel file offers another, grouped by the file that defines it.
 */
#ifndef TINYOS_DEFS_H
#define TINYOS_DEFS_H

#include "../lib/lib.h"
#include "../lib/syscall.h"

typedef uint64 *pagetable_t; /* 512 PTEs */

/* A process's user registers, saved by uservec (uvec.S) on every trap from
   U-mode and restored by userret. x[i] is register xi (x[0] is unused);
   the offsets are part of uvec.S's contract. */
struct trapframe {
  uint64 x[32];
  uint64 epc; /* user pc to resume at */
};
#define REG_SP 2
#define REG_A0 10
#define REG_A7 17

struct proc {
  struct trapframe tf;
  int pid;
  enum procstate state;
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
void console_intr(char c);
int console_read(char *dst, int n);
extern char console_chan; /* sleep channel of processes waiting for a line */

/* plic.c */
void plic_init(void);
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
extern struct proc *current;
struct proc *proc_spawn(const char *name, const uint8 *code, uint64 size);
void proc_exit(struct proc *p, int status);
int proc_fault(struct proc *p, uint64 va);
int copyout(struct proc *p, uint64 dstva, const void *src, uint64 n);
int copyin(struct proc *p, void *dst, uint64 srcva, uint64 n);
void sleep_on(struct proc *p, void *chan);
void wakeup(void *chan);
void scheduler(void) __attribute__((noreturn));
void return_to_user(struct proc *p) __attribute__((noreturn));

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
