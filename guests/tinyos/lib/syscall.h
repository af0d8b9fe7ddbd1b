/*
 * The system call interface between user programs and the kernel: call
 * numbers and the structures that calls fill in. Shared by both sides so
 * that they cannot disagree.
 *
 * A user program puts the call number in a7 and up to three arguments in
 * a0..a2, then executes ecall; the result comes back in a0 (-1 on error).
 * This header is also included by user/usys.S, hence the __ASSEMBLER__ guard.
 */
#ifndef TINYOS_SYSCALL_H
#define TINYOS_SYSCALL_H

#define SYS_write 1    /* write(fd, buf, n): console output; returns n */
#define SYS_read 2     /* read(fd, buf, n): one console line; blocks until there is one */
#define SYS_getpid 3   /* getpid() */
#define SYS_sleep 4    /* sleep(ticks): 0 just gives up the CPU */
#define SYS_exit 5     /* exit(status): does not return */
#define SYS_uptime 6   /* uptime(struct uptime *) */
#define SYS_ps 7       /* ps(struct procinfo *, max): returns the number filled */
#define SYS_sbrk 8     /* sbrk(delta): grows/shrinks the heap; returns the old end */
#define SYS_meminfo 9  /* meminfo(struct meminfo *) */
#define SYS_poweroff 10 /* poweroff(): ends the machine (exit code 0) */
#define SYS_spawn 11   /* spawn(name): starts a built-in program (spin); returns its pid */
#define SYS_harts 12   /* harts(struct hartinfo *, max): returns the number of harts online */

/* Timer interrupts per second, and the rate of the time CSR (mtime). */
#define HZ 100
#define TIMEBASE_HZ 10000000UL

#ifndef __ASSEMBLER__
#include "types.h"

struct uptime {
  uint64 ticks; /* timer interrupts since boot */
  uint64 time;  /* the time CSR: TIMEBASE_HZ units since reset */
};

#define PROC_NAME_LEN 16

enum procstate { UNUSED, RUNNABLE, RUNNING, SLEEPING };

struct procinfo {
  int pid;
  int state;    /* enum procstate */
  uint64 ticks; /* timer ticks during which it was running */
  int hart;     /* the hart that ran it last, -1 before it first ran */
  char name[PROC_NAME_LEN];
};

/* What each hart online did since boot (harts() fills one per hart, by id). */
struct hartinfo {
  uint64 ticks;     /* its own timer's ticks */
  uint64 scheduled; /* times its scheduler started a process */
};

struct meminfo {
  uint64 free_pages; /* free physical pages in the kernel's allocator */
  uint64 faults;     /* page faults the calling process has taken */
};
#endif

#endif
