/*
 * Physical page allocator: every 4 KiB page between the end of the kernel
 * image and PHYSTOP, kept on a free list threaded through the free pages
 * themselves. Pages come out zeroed, so a process never sees what an
 * earlier owner left (and fresh page tables are empty).
 */
#include "defs.h"
#include "memlayout.h"

extern char end[]; /* first address after the kernel image (kernel.ld) */

struct run {
  struct run *next;
};

static struct run *freelist;
static uint64 nfree;

void kalloc_init(void) {
  for (uint64 pa = PGROUNDUP((uint64)end); pa + PGSIZE <= PHYSTOP; pa += PGSIZE) kfree((void *)pa);
}

void *kalloc(void) {
  struct run *r = freelist;
  if (!r) return 0;
  freelist = r->next;
  nfree--;
  memset(r, 0, PGSIZE);
  return r;
}

void kfree(void *pa) {
  if ((uint64)pa % PGSIZE || (uint64)pa < (uint64)end || (uint64)pa >= PHYSTOP)
    panic("kfree 0x%lx", (uint64)pa);
  struct run *r = pa;
  r->next = freelist;
  freelist = r;
  nfree++;
}

uint64 kfree_pages(void) { return nfree; }
