/*
 * The physical address map of QEMU's `virt` machine (as far as tinyos uses
 * it) and tinyos's own virtual layout.
 *
 * Physical: the kernel image is loaded at 0x8000_0000 (QEMU's -bios none
 * -kernel, and rvisor, start it there in M-mode); everything after the image
 * up to PHYSTOP is free memory for page tables and user pages. tinyos does not
 * parse the device tree: it assumes 128 MiB of RAM (-m 128M, rvisor's default).
 *
 * Virtual (Sv39): the kernel maps RAM and the devices at their physical
 * addresses (identity mapping), so kernel pointers are physical addresses.
 * User programs live in the second gigabyte, [USERBASE, USERTOP): code from
 * USERBASE, then the heap (grown by sbrk), a guard page, and one stack page
 * ending at USERTOP. A whole root-table slot for users keeps their mappings
 * apart from the kernel's, which every process's page table shares.
 */
#ifndef TINYOS_MEMLAYOUT_H
#define TINYOS_MEMLAYOUT_H

#define PGSIZE 4096UL
#define MEGAPAGE (2UL * 1024 * 1024)
#define PGROUNDUP(a) (((a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define PGROUNDDOWN(a) ((a) & ~(PGSIZE - 1))

/* syscon (sifive_test): write 0x5555 to power off with success. */
#define SYSCON 0x100000UL
#define SYSCON_POWEROFF 0x5555
#define SYSCON_FAIL 0x3333 /* (code << 16) | 0x3333: power off, exit code `code` */

/* Harts tinyos runs on: hart ids 0 .. NCPU-1 (QEMU's -smp allows 8 on virt
   too); a hart with a higher id parks in start.S. Plain numbers, since
   start.S includes this file. */
#define NCPU 8
#define MSTACK_SIZE 4096  /* per hart: M-mode boot and trap stack */
#define KSTACK_SIZE 16384 /* per hart: the S-mode kernel's stack */

/* CLINT: each hart's machine timer deadline. mtime itself (0x200_bff8,
   counting at TIMEBASE_HZ, see syscall.h) is read through the time CSR. */
#define CLINT_MTIMECMP(hart) (0x2004000UL + 8 * (hart))

/* PLIC: QEMU numbers two contexts per hart, M then S, so hart h's S-mode
   context is 2h+1, with its enable bits and threshold/claim registers in
   arrays indexed by context. */
#define PLIC 0x0c000000UL
#define PLIC_SIZE 0x400000UL /* the part tinyos maps: priorities .. the contexts of 8 harts */
#define PLIC_PRIORITY(irq) (PLIC + 4 * (irq))
#define PLIC_SCONTEXT(hart) (2 * (hart) + 1)
#define PLIC_SENABLE(hart) (PLIC + 0x2000 + 0x80 * PLIC_SCONTEXT(hart))
#define PLIC_STHRESHOLD(hart) (PLIC + 0x200000 + 0x1000 * PLIC_SCONTEXT(hart))
#define PLIC_SCLAIM(hart) (PLIC_STHRESHOLD(hart) + 4)

/* 16550 UART0, PLIC source 10. */
#define UART0 0x10000000UL
#define UART0_IRQ 10

#define KERNBASE 0x80000000UL
#define PHYSTOP (KERNBASE + 128UL * 1024 * 1024)

#define USERBASE 0x40000000UL
#define USERTOP 0x80000000UL
#define USERSTACK (USERTOP - PGSIZE)
#define USERHEAPMAX (USERSTACK - PGSIZE) /* one unmapped guard page below the stack */

#endif
