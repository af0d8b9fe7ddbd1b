/* What user programs can call: the system calls (usys.S) and printf. */
#ifndef TINYOS_USER_H
#define TINYOS_USER_H

#include "../lib/lib.h"
#include "../lib/syscall.h"

int64 write(int fd, const void *buf, uint64 n);
int64 read(int fd, void *buf, uint64 n);
int getpid(void);
int sleep(uint64 ticks);
void exit(int status) __attribute__((noreturn));
int uptime(struct uptime *u);
int ps(struct procinfo *buf, int max);
void *sbrk(int64 delta);
int meminfo(struct meminfo *m);
void poweroff(void) __attribute__((noreturn));
int spawn(const char *name);
int harts(struct hartinfo *buf, int max);

void printf(const char *fmt, ...);

#endif
