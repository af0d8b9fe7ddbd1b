/* System call stubs: call number in a7, arguments already in a0..a2. */
#include "../lib/syscall.h"

#define SYSCALL(name) \
  .globl name; \
name: \
  li a7, SYS_##name; \
  ecall; \
  ret

  .text
SYSCALL(write)
SYSCALL(read)
SYSCALL(getpid)
SYSCALL(sleep)
SYSCALL(exit)
SYSCALL(uptime)
SYSCALL(ps)
SYSCALL(sbrk)
SYSCALL(meminfo)
SYSCALL(poweroff)
SYSCALL(spawn)
SYSCALL(harts)
