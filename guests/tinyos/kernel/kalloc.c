/*
 * Physical page allocator: every 4 KiB page between the end of the kernel
 * image and PHYSTOP, kept on a free list threaded through the free pages
 * themselves. Pages come out zeroed, so a process never sees what an
 * earlier owner left (and fresh page tables are empty). One lock guards the
 * list: any hart may allocate.
 */
#include "defs.h"
#include "memlayout.h"

extern char end[]; /* first address after the kernel image (kernel.ld) */

struct run {
  struct run *next;
};

static struct spinlock kmem_lock = SPINLOCK("kmem");
static struct run *freelist;
static uint64 nfree;

/* Frees every page, without the lock: hart 0 runs it before the other harts
   start, and 32768 lock round trips (each a few CSR accesses, which trap
   under a hypervisor) would be most of the boot's work. */
void kalloc_init(void) {
  for (uint64 pa = PGROUNDUP((uint64)end); pa + PGSIZE <= PHYSTOP; pa += PGSIZE) {
    struct run *r = (struct run *)pa;
    r->next = freelist;
    freelist = r;
    nfree++;
  }
}

void *kalloc(void) {
  acquire(&kmem_lock);
  struct run *r = freelist;
  if (r) {
    freelist = r->next;
    nfree--;
  }
  release(&kmem_lock);
  if (r) memset(r, 0, PGSIZE);
  return r;
}

void kfree(void *pa) {
  if ((uint64)pa % PGSIZE || (uint64)pa < (uint64)end || (uint64)pa >= PHYSTOP)
    panic("kfree 0x%lx", (uint64)pa);
  struct run *r = pa;
  acquire(&kmem_lock);
  r->next = freelist;
  freelist = r;
  nfree++;
  release(&kmem_lock);
}

uint64 kfree_pages(void) { return nfree; /* an aligned load: no lock needed for a glance */ }
