/**
 * The hart's debugger side: breakpoints, watchpoints and the debug triggers
 * (core/triggers.ts) as the run loop meets them. Breakpoints and execute
 * triggers are decoded as Op.BREAKPOINT, and blocks are not entered on their
 * pages; watched and load/store-triggered pages stay out of the TLB, so their
 * accesses take the slow path (core/hart-memory.ts), which checks them here.
 * The hart (core/hart.ts) holds one privately and delegates its public
 * breakpoint and watchpoint methods to it.
 *
 * @module
 */

import type { Bus } from "./bus.ts";
import type { CsrFile } from "./csrfile.ts";
import { Cause } from "./csr.ts";
import { pageBase } from "./hart-memory.ts";
import { readLittleEndian } from "./int64.ts";
import type { Mmu } from "./mmu.ts";

const PAGE = 4096;

/** A watched range of virtual addresses. */
export interface Watchpoint {
  /** First virtual address. */
  addr: number;
  /** Length in bytes. */
  length: number;
  /** Fire on loads. */
  read: boolean;
  /** Fire on stores (and AMOs). */
  write: boolean;
}

/** An access that touched a watchpoint, reported once its instruction completed. */
export interface WatchHit {
  /** Virtual address of the access. */
  addr: number;
  /** Access size in bytes (an access crossing a page is reported byte by byte). */
  size: number;
  /** True for stores and AMOs. */
  write: boolean;
  /** pc of the accessing instruction. */
  pc: number;
  /**
   * The bytes' value (little-endian, unsigned) before the access; null for a
   * store to a device, whose registers cannot be read without side effects.
   */
  old: bigint | null;
  /** The value after the access: what a store left, or what a load read (then equal to `old`). */
  value: bigint;
}

/** What the debug unit reaches of its hart. */
export interface DebugHost {
  /** The MMU (watched pages, flushes). */
  readonly mmu: Mmu;
  /** The bus (RAM bytes a watchpoint reports). */
  readonly bus: Bus;
  /** CSRs (privilege, triggers). */
  readonly csr: CsrFile;
  /** pc now. */
  pc(): number;
  /** Instructions retired now. */
  retired(): number;
  /** Drops every decoded instruction, so that breakpoints are decoded in. */
  flushDecodeCache(): void;
  /** Raises an exception: throws the trap sentinel. */
  raise(cause: number, tval: number): never;
  /** Makes the run loop come back to the hart before the next instruction. */
  resync(): void;
  /** Ends the run at the next instruction boundary: at a breakpoint, or after a watchpoint hit. */
  stop(breakpoint: boolean): void;
}

/** Breakpoints, watchpoints and debug triggers of one hart. */
export class DebugUnit {
  /** The breakpoints set. */
  readonly breakpoints = new Set<number>();
  /** The watchpoints set (replaced, never changed in place). */
  watchpoints: Watchpoint[] = [];
  /** Hits of the current instruction, reported when it completes (dropped if it traps). */
  watchHits: { hit: WatchHit; ram: number }[] = [];
  /** Addresses of the armed execute triggers: decoded as breakpoints, like `breakpoints`. */
  triggerPcs = new Set<number>();
  /** Virtual pages with breakpoints or execute triggers, and how many: blocks are not entered there. */
  readonly noBlockPages = new Map<number, number>();
  /** Watched ranges of the armed load/store triggers. */
  #triggerRanges: [number, number][] = [];
  /** Whether any load/store trigger is armed. */
  triggerAccess = false;
  /**
   * Where and when a breakpoint last stopped the hart or was reported: a run
   * that resumes there runs the instruction. Any other arrival at a breakpoint
   * is one, also at the start of a run (a run that ended on its budget there
   * has not reported it).
   */
  #reportedPc = NaN;
  #reportedRetired = -1;
  /**
   * Decides what a breakpoint does: return true to stop the run there
   * (StopReason.BREAKPOINT), false to go on (the handler may set pc to redirect).
   * Without a handler every breakpoint stops.
   */
  onBreakpoint: ((pc: number) => boolean) | null = null;
  /**
   * Called after the instruction whose access touched a watchpoint completed
   * (pc is the next instruction's); return true to stop the run there.
   * Without a handler every hit stops.
   */
  onWatchpoint: ((hit: WatchHit) => boolean) | null = null;
  readonly #h: DebugHost;

  constructor(h: DebugHost) {
    this.#h = h;
  }

  /** Adds a breakpoint at virtual address `pc` (it fires even for code decoded before). */
  addBreakpoint(pc: number): void {
    if (!this.breakpoints.has(pc)) this.breakpoints.add(pc), this.#countNoBlockPage(pc, 1);
    this.#h.flushDecodeCache();
  }

  /** Removes the breakpoint at `pc`; blocks run again on its page once it has no other. */
  removeBreakpoint(pc: number): void {
    if (this.breakpoints.delete(pc)) this.#countNoBlockPage(pc, -1), this.#h.flushDecodeCache();
  }

  /**
   * Counts a breakpoint or execute trigger in or out of its virtual page. The
   * gate is by virtual page, as breakpoints are: blocks are keyed physically,
   * but the run loop enters them from a virtual fetch page and a block never
   * leaves its page, so no block of a gated page runs, whatever maps it.
   */
  #countNoBlockPage(pc: number, by: number): void {
    const page = pc - (pc & 0xfff);
    const n = (this.noBlockPages.get(page) ?? 0) + by;
    if (n === 0) this.noBlockPages.delete(page);
    else this.noBlockPages.set(page, n);
  }

  /** Watches `[addr, addr + length)` (virtual) for loads and/or stores. */
  addWatchpoint(w: Watchpoint): void {
    this.watchpoints = [...this.watchpoints, { ...w }];
    this.#updateWatchedPages();
  }

  /** Removes watchpoints equal to `w`. */
  removeWatchpoint(w: Watchpoint): void {
    this.watchpoints = this.watchpoints.filter((x) =>
      !(x.addr === w.addr && x.length === w.length && x.read === w.read && x.write === w.write)
    );
    this.#updateWatchedPages();
  }

  #updateWatchedPages(): void {
    const pages = this.#h.mmu.watchedPages;
    pages.clear();
    for (const w of this.watchpoints) {
      for (let p = pageBase(w.addr); p < w.addr + w.length; p += PAGE) pages.add(p);
    }
    for (const [start, end] of this.#triggerRanges) {
      for (let p = pageBase(start); p < end; p += PAGE) pages.add(p);
    }
    this.#h.mmu.flush();
  }

  /**
   * Re-arms the debug triggers after a trigger CSR changed: execute triggers
   * become breakpoints in the decode cache, load/store triggers keep their
   * pages out of the TLB so that accesses there take the slow path, which
   * checks them. Nothing armed leaves both paths as they were.
   */
  updateTriggers(): void {
    const t = this.#h.csr.triggers;
    const pcs = t.armed ? t.executeAddresses() : [];
    if (pcs.length !== this.triggerPcs.size || pcs.some((pc) => !this.triggerPcs.has(pc))) {
      for (const pc of this.triggerPcs) this.#countNoBlockPage(pc, -1);
      this.triggerPcs = new Set(pcs);
      for (const pc of this.triggerPcs) this.#countNoBlockPage(pc, 1);
      this.#h.flushDecodeCache();
    }
    const ranges = t.armed ? t.accessRanges() : [];
    if (ranges.join() !== this.#triggerRanges.join()) {
      this.#triggerRanges = ranges;
      this.triggerAccess = ranges.length !== 0;
      this.#updateWatchedPages();
    }
  }

  /** A breakpoint exception (tval 0, as QEMU 7.2) if an execute trigger matches `pc`. */
  executeTrigger(pc: number): void {
    if (this.executeTriggerFires(pc)) this.#h.raise(Cause.BREAKPOINT, 0);
  }

  /** True if an armed execute trigger matches `pc` at the current privilege. */
  executeTriggerFires(pc: number): boolean {
    return this.triggerPcs.has(pc) && this.#h.csr.triggers.matchExecute(pc, this.#h.csr.priv);
  }

  /** A breakpoint exception before the access if a load/store trigger matches it. */
  accessTrigger(va: number, size: number, read: boolean, write: boolean): void {
    if (this.#h.csr.triggers.matchAccess(va, size, read, write, this.#h.csr.priv)) {
      this.#h.raise(Cause.BREAKPOINT, 0);
    }
  }

  /** True if an access of `size` bytes at `va` touches a watchpoint of its kind. */
  #watched(va: number, size: number, write: boolean): boolean {
    for (const w of this.watchpoints) {
      if (va + size > w.addr && va < w.addr + w.length && (write ? w.write : w.read)) return true;
    }
    return false;
  }

  /**
   * Checks an access to physical `pa` against the watchpoints before it is
   * made; a hit is queued, with the RAM bytes' old value, and the hot loop
   * left so that the hit is reported right after the instruction.
   */
  watch(va: number, pa: number, size: number, write: boolean): WatchHit | null {
    if (!this.#watched(va, size, write)) return null;
    const ram = this.#h.bus.ramOffset(pa, size);
    const old = ram >= 0 ? readLittleEndian(this.#h.bus.ram, ram, size) : null;
    const hit = { addr: va, size, write, pc: this.#h.pc(), old, value: old ?? 0n };
    this.watchHits.push({ hit, ram });
    this.#h.resync();
    return hit;
  }

  /**
   * Reports to the watchpoints an access that machine-mode software made for
   * the code on the hart (the hypervisor emulating a guest's device or MPRV
   * access), at pc, as if the hart had made it; reported when the run loop
   * next gets control, which for a trap handler is right after it.
   */
  watchAccess(va: number, size: number, write: boolean, old: bigint | null, value: bigint): void {
    if (!this.#watched(va, size, write)) return;
    this.watchHits.push({ hit: { addr: va, size, write, pc: this.#h.pc(), old, value }, ram: -1 });
    this.#h.resync();
  }

  /** Reports the queued hits (their instruction completed); one that asks to stop ends the run. */
  reportWatchHits(): void {
    const hits = this.watchHits;
    this.watchHits = [];
    for (const { hit, ram } of hits) {
      if (ram >= 0) hit.value = readLittleEndian(this.#h.bus.ram, ram, hit.size);
      if (this.onWatchpoint === null || this.onWatchpoint(hit)) {
        this.#h.stop(false);
      }
    }
  }

  /** True if the breakpoint at `pc` stops the run (it was not reported at this arrival, and the handler says so). */
  breakpointStops(pc: number): boolean {
    if (!this.breakpoints.has(pc)) return false; // an alias of a breakpoint's physical page
    const n = this.#h.retired();
    if (pc === this.#reportedPc && n === this.#reportedRetired) return false;
    if (this.onBreakpoint !== null && !this.onBreakpoint(pc)) return false;
    this.#reportedPc = pc;
    this.#reportedRetired = n;
    this.#h.stop(true);
    return true;
  }

  /**
   * Marks the breakpoint at pc as reported for this arrival (a debugger's step
   * showed it): the next run executes the instruction instead of stopping there.
   */
  breakpointReported(): void {
    this.#reportedPc = this.#h.pc();
    this.#reportedRetired = this.#h.retired();
  }
}
