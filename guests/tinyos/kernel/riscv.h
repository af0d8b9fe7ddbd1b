/*
 * RISC-V privileged-architecture helpers: CSR access and the bits tinyos
 * uses, named as in the privileged specification.
 */
#ifndef TINYOS_RISCV_H
#define TINYOS_RISCV_H

#include "../lib/types.h"

#define csr_read(csr) ({ uint64 v_; asm volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" : : "r"((uint64)(v)))
#define csr_set(csr, v) asm volatile("csrs " #csr ", %0" : : "r"((uint64)(v)))
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" : : "r"((uint64)(v)))

/* mstatus / sstatus */
#define MSTATUS_MPP_MASK (3UL << 11)
#define MSTATUS_MPP_S (1UL << 11)
#define SSTATUS_SIE (1UL << 1) /* S interrupts enabled */
#define SSTATUS_SPP (1UL << 8) /* privilege before the trap: 1 = S, 0 = U */

/* Interrupt bits of mip/mie (sip/sie use the S ones). */
#define IRQ_SSIP (1UL << 1)
#define IRQ_STIP (1UL << 5)
#define IRQ_MTIP (1UL << 7)
#define IRQ_SEIP (1UL << 9)

/* mcause / scause: the top bit marks interrupts. */
#define CAUSE_INTERRUPT (1UL << 63)
#define CAUSE_IRQ_S_TIMER (CAUSE_INTERRUPT | 5)
#define CAUSE_IRQ_M_TIMER (CAUSE_INTERRUPT | 7)
#define CAUSE_IRQ_S_EXTERNAL (CAUSE_INTERRUPT | 9)
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_STORE_PAGE_FAULT 15

/* mcounteren: let S-mode read the time CSR (rdtime) without trapping to M. */
#define COUNTEREN_TM (1UL << 1)

/* PMP configuration byte: read/write/execute, address matching mode NAPOT. */
#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_NAPOT 0x18

/* satp: Sv39 mode and the root page table's physical page number. */
#define SATP_SV39 (8UL << 60)
#define MAKE_SATP(pagetable) (SATP_SV39 | ((uint64)(pagetable) >> 12))

static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero" ::: "memory"); }
static inline void wfi(void) { asm volatile("wfi"); }

#endif
