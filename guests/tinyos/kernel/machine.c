/*
 * Machine mode: the little of tinyos that needs full privilege.
 *
 * mstart sets each hart up for an S-mode kernel, as firmware like OpenSBI
 * does, then drops to S-mode:
 *  - PMP: one entry that lets S and U access everything. Without any PMP
 *    entry, S/U accesses all fail (QEMU refuses even the mret).
 *  - Delegation: exceptions from S/U and the S-level interrupts go straight
 *    to the S-mode kernel (medeleg/mideleg); only the machine timer and the
 *    kernel's ecalls come here.
 *  - Timer: only M-mode can take the CLINT's timer interrupt. On each one,
 *    mtrap raises the S timer interrupt (mip.STIP) for the kernel instead.
 *    Every hart has its own deadline (mtimecmp) and so its own ticks.
 *    The kernel acknowledges it and sets the next deadline with an SBI
 *    set_timer call, which clears STIP.
 *
 * SBI: the kernel calls M-mode with ecall, a7 = extension id, a6 = function
 * id, arguments in a0.., like the RISC-V SBI specification. tinyos needs
 * only the TIME extension's set_timer; the UART and the syscon are
 * driven by the kernel directly.
 *
 * Hart 0 also counts the harts in the device tree, which the S-mode kernel
 * waits for before it starts the processes (main.c): the tree sits at the
 * top of RAM on QEMU, where the page allocator will soon overwrite it.
 */
#include "defs.h"
#include "memlayout.h"
#include "riscv.h"

#define SBI_EXT_TIME 0x54494D45 /* "TIME" */
#define SBI_TIME_SET_TIMER 0
#define SBI_SUCCESS 0
#define SBI_ERR_NOT_SUPPORTED -2

/* Exceptions handed to S-mode: misaligned/access faults (0-1, 4-7), illegal
   instruction (2), breakpoint (3), ecall from U (8) and the page faults
   (12, 13, 15). Not ecall from S (9): that is the SBI call. */
#define DELEGATED_EXCEPTIONS 0xb1ff

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_PROP 3
#define FDT_END 9

extern char mstacks[], mtrapvec[], sstart[];

int harts_in_dtb;

static uint32 be32(const uint8 *p) {
  return (uint32)p[0] << 24 | (uint32)p[1] << 16 | (uint32)p[2] << 8 | p[3];
}

/* The number of cpu@N nodes in the flattened device tree at dtb (0 without
   a valid one): its structure block is a stream of big-endian tokens, node
   names and properties padded to 4 bytes. */
static int count_cpus(uint64 dtb) {
  const uint8 *fdt = (const uint8 *)dtb;
  if (!dtb || be32(fdt) != FDT_MAGIC) return 0;
  const uint8 *p = fdt + be32(fdt + 8), *end = p + be32(fdt + 36);
  int n = 0;
  while (p < end) {
    uint32 token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      if (name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] == '@') n++;
      p += (strlen(name) + 4) & ~3UL;
    } else if (token == FDT_PROP) {
      p += 8 + ((be32(p) + 3) & ~3UL);
    } else if (token == FDT_END) {
      break;
    }
  }
  return n;
}

void mstart(uint64 hartid, uint64 dtb) {
  if (hartid == 0) {
    kprintf("\ntinyos: booting (M-mode), hart %lu, device tree at 0x%lx\n", hartid, dtb);
    harts_in_dtb = count_cpus(dtb);
  }

  csr_write(mtvec, mtrapvec);
  csr_write(mscratch, mstacks + (hartid + 1) * MSTACK_SIZE);

  /* NAPOT with all 54 address bits set covers the whole address space. */
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, PMP_NAPOT | PMP_R | PMP_W | PMP_X);

  csr_write(medeleg, DELEGATED_EXCEPTIONS);
  csr_write(mideleg, IRQ_SSIP | IRQ_STIP | IRQ_SEIP);

  /* No deadline until the kernel asks for one; then M timer interrupts. */
  *(volatile uint64 *)CLINT_MTIMECMP(hartid) = ~0UL;
  csr_set(mie, IRQ_MTIP);
  csr_write(mcounteren, COUNTEREN_TM); /* rdtime in S-mode without a trap */

  if (hartid == 0) kprintf("tinyos: PMP open to S/U, traps delegated, timer on; mret to S-mode\n");
  csr_write(satp, 0);
  csr_write(mstatus, (csr_read(mstatus) & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S);
  csr_write(mepc, sstart);
  asm volatile("mret");
  __builtin_unreachable();
}

static void set_timer(uint64 deadline) {
  *(volatile uint64 *)CLINT_MTIMECMP(csr_read(mhartid)) = deadline;
  csr_clear(mip, IRQ_STIP);
  csr_set(mie, IRQ_MTIP);
}

/* regs: the saved registers, xN at regs[N] (mvec.S). */
void mtrap(uint64 *regs) {
  uint64 cause = csr_read(mcause);
  if (cause == CAUSE_IRQ_M_TIMER) {
    /* Pass the tick on. The M timer stays pending until mtimecmp moves, so
       mask it until the kernel's next set_timer. */
    csr_set(mip, IRQ_STIP);
    csr_clear(mie, IRQ_MTIP);
    return;
  }
  if (cause == CAUSE_ECALL_S) {
    uint64 eid = regs[17], fid = regs[16];
    if (eid == SBI_EXT_TIME && fid == SBI_TIME_SET_TIMER) {
      set_timer(regs[10]);
      regs[10] = SBI_SUCCESS;
      regs[11] = 0;
    } else {
      regs[10] = (uint64)SBI_ERR_NOT_SUPPORTED;
    }
    csr_write(mepc, csr_read(mepc) + 4); /* resume after the ecall */
    return;
  }
  /* panic, not kprintf: tp, which the console lock needs, may hold a user value here. */
  panic("unexpected M-mode trap: mcause 0x%lx mepc 0x%lx mtval 0x%lx", cause, csr_read(mepc),
        csr_read(mtval));
}
