/*
 * The S-mode kernel's entry (from sstart, start.S), on every hart.
 *
 * Hart 0 sets up memory, paging, traps and devices, then releases the
 * other harts (started) and waits until the harts the device tree lists
 * are online, or a moment has passed: tinyos also runs on the harts that
 * arrive, if the tree cannot be read. Then it starts the two user programs
 * and, like every other hart, hands itself to the scheduler for good.
 *
 * Each other hart waits for `started`, then turns on paging with the
 * kernel's page table, takes traps and its own PLIC context and timer, and
 * enters its scheduler.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

/* The user programs, built as flat binaries and included by programs.S. */
extern const uint8 sh_start[], sh_end[], ticker_start[], ticker_end[];

static volatile int started; /* set by hart 0 once the kernel is ready for the others */

/* This hart is ready to schedule: one more online. */
static void hart_online(void) { __atomic_fetch_add(&harts_online, 1, __ATOMIC_RELEASE); }

/* Until the device tree's harts (those tinyos uses: up to NCPU) are online,
   or 100 ms have passed. */
static void wait_for_harts(void) {
  int expected = harts_in_dtb > 0 && harts_in_dtb < NCPU ? harts_in_dtb : NCPU;
  uint64 deadline = csr_read(time) + TIMEBASE_HZ / 10;
  while (__atomic_load_n(&harts_online, __ATOMIC_ACQUIRE) < expected &&
         csr_read(time) < deadline) {
  }
}

void kmain(void) {
  if (cpuid() != 0) {
    while (!started) {
    }
    __sync_synchronize(); /* what hart 0 wrote before `started` is visible after it */
    kvm_switch();
    trap_init();
    plic_inithart();
    timer_init();
    hart_online();
    scheduler();
  }
  kprintf("tinyos: S-mode kernel, Sv39\n");
  kalloc_init();
  kvm_init();
  kprintf("tinyos: paging on (kernel identity-mapped, 2 MiB pages), %lu KiB free\n",
          kfree_pages() * PGSIZE / 1024);
  trap_init();
  uart_init();
  plic_init();
  plic_inithart();
  timer_init();
  kprintf("tinyos: timer at %d Hz, UART input through the PLIC\n", HZ);
  hart_online();
  __sync_synchronize(); /* everything above before `started` */
  started = 1;
  wait_for_harts();
  if (harts_online > 1) kprintf("tinyos: %d harts online\n", harts_online);
  struct proc *sh = proc_spawn("sh", sh_start, sh_end - sh_start);
  struct proc *ticker = proc_spawn("ticker", ticker_start, ticker_end - ticker_start);
  if (!sh || !ticker) panic("kmain: out of memory");
  kprintf("tinyos: started %s (pid %d) and %s (pid %d) in U-mode\n", sh->name, sh->pid,
          ticker->name, ticker->pid);
  proc_start(sh);
  proc_start(ticker);
  scheduler();
}
