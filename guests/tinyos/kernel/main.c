/*
 * The S-mode kernel's entry (from sstart, start.S): set up memory, paging,
 * traps and devices, start the two user programs, and hand the hart to the
 * scheduler for good.
 */
#include "defs.h"
#include "memlayout.h"

/* The user programs, built as flat binaries and included by programs.S. */
extern const uint8 sh_start[], sh_end[], ticker_start[], ticker_end[];

void kmain(void) {
  kprintf("tinyos: S-mode kernel, Sv39\n");
  kalloc_init();
  kvm_init();
  kprintf("tinyos: paging on (kernel identity-mapped, 2 MiB pages), %lu KiB free\n",
          kfree_pages() * PGSIZE / 1024);
  trap_init();
  uart_init();
  plic_init();
  timer_init();
  kprintf("tinyos: timer at %d Hz, UART input through the PLIC\n", HZ);
  struct proc *sh = proc_spawn("sh", sh_start, sh_end - sh_start);
  struct proc *ticker = proc_spawn("ticker", ticker_start, ticker_end - ticker_start);
  kprintf("tinyos: started %s (pid %d) and %s (pid %d) in U-mode\n", sh->name, sh->pid,
          ticker->name, ticker->pid);
  scheduler();
}
