/*
 * S-mode trap handling: system calls, page faults, the timer tick and the
 * UART interrupt.
 *
 * Every trap from a process arrives in usertrap (via uservec). After
 * handling it, the kernel resumes the same process if it can still run,
 * or lets the scheduler pick one. A timer tick always goes through the
 * scheduler: that is the preemption. Input goes through it too, so that
 * the woken shell answers at once instead of after the ticker's slice.
 *
 * Every hart has its own timer and ticks on its own; hart 0's ticks are
 * also the system's clock (`ticks`, uptime, sleep), as in xv6.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

#define SBI_EXT_TIME 0x54494D45
#define TICK (TIMEBASE_HZ / HZ)

uint64 ticks; /* hart 0's timer ticks since boot; only hart 0 writes it */

static void sbi_set_timer(uint64 deadline) {
  register uint64 a0 asm("a0") = deadline;
  register uint64 a6 asm("a6") = 0;
  register uint64 a7 asm("a7") = SBI_EXT_TIME;
  asm volatile("ecall" : "+r"(a0) : "r"(a6), "r"(a7) : "a1", "memory");
}

void trap_init(void) {
  csr_write(stvec, kernelvec);
  csr_set(sie, IRQ_STIP | IRQ_SEIP);
}

void timer_init(void) {
  struct cpu *c = mycpu();
  c->next_tick = csr_read(time) + TICK;
  sbi_set_timer(c->next_tick);
}

/* A tick: count it, ask for the next one (which also clears the pending S
   timer interrupt), and on hart 0 wake sleepers whose time has come.
   Deadlines advance by exactly one tick so that ticks do not drift, unless
   the kernel fell behind (a long stop in a debugger, say). */
static void clock_intr(void) {
  struct cpu *c = mycpu();
  c->ticks++;
  c->next_tick += TICK;
  uint64 now = csr_read(time);
  if (c->next_tick <= now) c->next_tick = now + TICK;
  sbi_set_timer(c->next_tick);
  if (cpuid() == 0) {
    ticks++;
    wakeup(&ticks);
  }
}

static void external_intr(void) {
  int irq = plic_claim();
  if (irq == UART0_IRQ) uart_intr();
  if (irq) plic_complete(irq);
}

/* Handles pending interrupts while the kernel idles (scheduler). */
void intr_poll(void) {
  uint64 pending = csr_read(sip);
  if (pending & IRQ_STIP) clock_intr();
  if (pending & IRQ_SEIP) external_intr();
}

void usertrap(struct trapframe *tf) {
  struct proc *p = mycpu()->proc;
  csr_write(stvec, kernelvec);
  tf->epc = csr_read(sepc);
  uint64 cause = csr_read(scause);

  if (cause == CAUSE_ECALL_U) {
    syscall(p);
  } else if (cause == CAUSE_IRQ_S_TIMER) {
    p->ticks++;
    yield(p);
    clock_intr();
  } else if (cause == CAUSE_IRQ_S_EXTERNAL) {
    yield(p);
    external_intr();
  } else if ((cause == CAUSE_LOAD_PAGE_FAULT || cause == CAUSE_STORE_PAGE_FAULT) &&
             proc_fault(p, csr_read(stval)) == 0) {
    /* the heap page is there now: retry the access */
  } else {
    kprintf("tinyos: pid %d (%s) killed: scause 0x%lx sepc 0x%lx stval 0x%lx\n", p->pid,
            p->name, cause, tf->epc, csr_read(stval));
    proc_exit(p, -1);
  }

  trap_return(p);
}

void kerneltrap(void) {
  panic("trap in the kernel: scause 0x%lx sepc 0x%lx stval 0x%lx", csr_read(scause),
        csr_read(sepc), csr_read(stval));
}
