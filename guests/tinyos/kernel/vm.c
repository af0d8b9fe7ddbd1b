/*
 * Sv39 page tables.
 *
 * Sv39 translates a 39-bit virtual address through three levels of 512
 * 8-byte entries (PTEs); each level consumes 9 bits of the address. A PTE
 * with R, W or X set is a leaf: at level 0 it maps a 4 KiB page, at level 1
 * a 2 MiB megapage.
 *
 * The kernel page table maps the devices and all of RAM at their physical
 * addresses (2 MiB megapages where possible). A process's page table starts
 * as a copy of the kernel's root table, so it shares the kernel's lower-level
 * tables, plus the process's own tables in the user slot (memlayout.h).
 * The kernel can thus run on any process's page table, and a trap needs no
 * page-table switch.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

#define PTE_V (1 << 0)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define PTE_LEAF (PTE_R | PTE_W | PTE_X)
#define PX(level, va) (((va) >> (12 + 9 * (level))) & 0x1ff)
#define PA2PTE(pa) (((uint64)(pa) >> 12) << 10)
#define PTE2PA(pte) (((pte) >> 10) << 12)

static pagetable_t kernel_pagetable;

/* The PTE for va at `level` (0: 4 KiB, 1: 2 MiB), allocating the tables on
   the way if `alloc`; 0 if a table is missing (or out of memory). */
static uint64 *walk(pagetable_t pt, uint64 va, int level, int alloc) {
  for (int l = 2; l > level; l--) {
    uint64 *pte = &pt[PX(l, va)];
    if (*pte & PTE_V) {
      if (*pte & PTE_LEAF) return 0; /* inside a megapage: no table below */
      pt = (pagetable_t)PTE2PA(*pte);
    } else {
      if (!alloc || !(pt = kalloc())) return 0;
      *pte = PA2PTE(pt) | PTE_V;
    }
  }
  return &pt[PX(level, va)];
}

/* Maps [va, va+size) to [pa, pa+size) with megapages where both addresses
   are 2 MiB-aligned. A and D are set up front: the spec lets hardware fault
   on clear A/D bits instead of setting them, and tinyos does not track them. */
static int map_range(pagetable_t pt, uint64 va, uint64 pa, uint64 size, int perm) {
  while (size) {
    int level = ((va | pa) % MEGAPAGE == 0 && size >= MEGAPAGE) ? 1 : 0;
    uint64 step = level ? MEGAPAGE : PGSIZE;
    uint64 *pte = walk(pt, va, level, 1);
    if (!pte) return -1;
    if (*pte & PTE_V) panic("remap 0x%lx", va);
    *pte = PA2PTE(pa) | perm | PTE_V | PTE_A | PTE_D;
    va += step, pa += step, size -= step;
  }
  return 0;
}

/* Builds the kernel page table and turns on paging. RAM is mapped RWX as a
   whole: tinyos keeps it simple rather than protect its own text. */
void kvm_init(void) {
  kernel_pagetable = kalloc();
  if (map_range(kernel_pagetable, SYSCON, SYSCON, PGSIZE, PTE_R | PTE_W) ||
      map_range(kernel_pagetable, PLIC, PLIC, PLIC_SIZE, PTE_R | PTE_W) ||
      map_range(kernel_pagetable, UART0, UART0, PGSIZE, PTE_R | PTE_W) ||
      map_range(kernel_pagetable, KERNBASE, KERNBASE, PHYSTOP - KERNBASE, PTE_LEAF))
    panic("kvm_init: out of memory");
  kvm_switch();
}

void kvm_switch(void) {
  csr_write(satp, MAKE_SATP(kernel_pagetable));
  sfence_vma();
}

pagetable_t uvm_create(void) {
  pagetable_t pt = kalloc();
  if (!pt) return 0;
  for (int i = 0; i < 512; i++)
    if (i != PX(2, USERBASE)) pt[i] = kernel_pagetable[i];
  return pt;
}

/* Maps one user page (perm gets U). The caller does sfence.vma if the page
   table is live: the hart may have cached the old, invalid entry. */
int uvm_map(pagetable_t pt, uint64 va, void *pa, int perm) {
  return map_range(pt, va, (uint64)pa, PGSIZE, perm | PTE_U);
}

/* The physical page behind user address va, or 0 if not mapped. */
void *uvm_lookup(pagetable_t pt, uint64 va) {
  if (va < USERBASE || va >= USERTOP) return 0;
  uint64 *pte = walk(pt, va, 0, 0);
  if (!pte || !(*pte & PTE_V) || !(*pte & PTE_U)) return 0;
  return (void *)(PTE2PA(*pte) + va % PGSIZE);
}

/* Unmaps and frees the mapped pages among npages from va, then flushes the
   TLB, which may still hold the old translations. */
void uvm_unmap(pagetable_t pt, uint64 va, uint64 npages) {
  for (uint64 i = 0; i < npages; i++, va += PGSIZE) {
    uint64 *pte = walk(pt, va, 0, 0);
    if (pte && (*pte & PTE_V)) {
      kfree((void *)PTE2PA(*pte));
      *pte = 0;
    }
  }
  sfence_vma();
}

/* Frees a page-table subtree: the pages its leaves map and the tables. */
static void free_tree(pagetable_t pt) {
  for (int i = 0; i < 512; i++) {
    uint64 pte = pt[i];
    if (!(pte & PTE_V)) continue;
    if (pte & PTE_LEAF) kfree((void *)PTE2PA(pte));
    else free_tree((pagetable_t)PTE2PA(pte));
  }
  kfree(pt);
}

/* Frees a process's page table and memory; the kernel tables it shares stay.
   The caller must not be running on it (kvm_switch first). */
void uvm_free(pagetable_t pt) {
  uint64 user = pt[PX(2, USERBASE)];
  if (user & PTE_V) free_tree((pagetable_t)PTE2PA(user));
  kfree(pt);
}
