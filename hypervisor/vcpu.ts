/**
 * The guest's virtual hart (the seed's guestprivilege.c and virtcsr.c): its
 * virtual privilege mode and CSRs, and its own MMU view of guest-physical
 * memory.
 *
 * The CSRs are a {@linkcode CsrFile}, the same class the emulated host hart
 * uses, so every WARL rule, delegation and trap-entry detail is the one a bare
 * guest sees. The guest's registers are not here: the guest runs on the host
 * hart (in host U-mode) and its x registers are the host hart's.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import { CsrFile } from "../core/csrfile.ts";
import type { EventBus, Priv } from "../core/events.ts";
import type { InterruptTarget } from "../core/irq.ts";
import { Mmu } from "../core/mmu.ts";

/**
 * An exception about to be injected into the guest, as a script hook sees it
 * ({@linkcode Vcpu.onException}). The hook may change `cause` and `tval` (the
 * guest then takes that exception instead, with its own delegation rules), or
 * set `handled` to complete the instruction itself: it must then set the
 * guest's pc (the host hart's) and whatever registers the instruction changes,
 * as for `TrapEvent.handled` on a bare hart.
 */
export interface GuestException {
  /** Exception cause the guest would see (8/9/11 for ecall from virtual U/S/M). */
  cause: number;
  /** The tval it would see. */
  tval: number;
  /** Guest pc of the instruction that raised it. */
  pc: number;
  /** Virtual privilege it is raised from. */
  from: Priv;
  /** Set by the hook: the hypervisor neither injects it nor touches pc. */
  handled: boolean;
}

/** One guest vCPU. */
export class Vcpu implements InterruptTarget {
  /** The guest's translation (its satp, PMP) over guest-physical memory. */
  readonly mmu: Mmu;
  /** Virtual privilege mode and CSRs. */
  readonly csr: CsrFile;
  /** Guest instructions the hypervisor completed by emulation (they count as retired). */
  emulated = 0;
  /**
   * A script's hook on every exception the hypervisor is about to inject into
   * the guest (ecalls included: the place to implement an SBI extension in
   * TypeScript). Null, the default, costs one check per injected exception.
   */
  onException: ((e: GuestException) => void) | null = null;

  /**
   * @param guestBus guest-physical address space (guest RAM window and guest devices).
   * @param events where interrupt-line changes are published.
   * @param hostRetired instructions the guest retired natively on the host hart.
   * @param time mtime.
   */
  constructor(
    guestBus: Bus,
    readonly events: EventBus,
    hostRetired: () => number,
    time: () => number,
  ) {
    this.mmu = new Mmu(guestBus);
    this.csr = new CsrFile(this.mmu, {
      retired: () => hostRetired() + this.emulated,
      time,
    });
    this.csr.reset();
  }

  /** Virtual privilege mode. */
  get priv(): Priv {
    return this.csr.priv;
  }

  /** Guest CLINT and PLIC drive the vCPU's mip lines. */
  setInterruptLevel(bit: number, level: boolean): void {
    const old = this.csr.mipHw;
    this.csr.mipHw = level ? old | (1 << bit) : old & ~(1 << bit);
    if (old !== this.csr.mipHw && this.events.wants("irq")) {
      this.events.emit("irq", { controller: "vcpu", line: bit, level, hartId: this.csr.hartId });
    }
  }
}
