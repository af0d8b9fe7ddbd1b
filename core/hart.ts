/**
 * The emulated host hart: RV64IMAC + Zicsr + Zifencei with M, S and U modes
 * (privileged spec 1.12) and Sv39.
 *
 * Data flow: fetch (decode cache per RAM page, filled through the MMU) ->
 * dispatch on the decoded op -> registers (int32 pairs) and memory (software
 * TLB fast path, MMU + bus slow path) -> traps (exceptions throw a sentinel that
 * the run loop catches; interrupts are checked between instruction batches).
 *
 * The hot loop is generated from the instruction definitions (core/interp.ts);
 * `run` calls it, and it keeps everything that changes rarely in locals and
 * comes back to `run` (interrupts, stops, watchpoint hits) whenever a slow path
 * may have changed the translation context, the privilege, or the decode cache.
 *
 * @module
 */

import { type Bus, combineSplitLoad } from "./bus.ts";
import type { Clock } from "./clock.ts";
import { CsrFile, type CsrFileState } from "./csrfile.ts";
import { Cause } from "./csr.ts";
import { Amo, decodeAt, type Decoded, Op } from "./decode.ts";
import type { EventBus, Priv, TrapEvent } from "./events.ts";
import { DEFAULT_ISA, Fpu, isaHasFD } from "./fpu.ts";
import {
  ACCESS_SIZE,
  compileAluStep,
  compileAtomicStep,
  compileBranchTest,
  compileLoadResult,
} from "./insns.ts";
import { compileRunLoop, type LoopHost } from "./interp.ts";
import { out as r64, readLittleEndian, toBigInt, toNumber } from "./int64.ts";
import type { InterruptTarget } from "./irq.ts";
import { Access, ACCESS_FAULT, type AccessKind, Mmu, PAGE_FAULT, TLB_SIZE } from "./mmu.ts";
import { Translator } from "./translate.ts";

const TWO32 = 4294967296;
const PAGE = 4096;

/** Thrown (a single shared object, never an Error) to unwind from a faulting access. */
const TRAP = { trap: true };

/** Why `run` returned before its budget was used. */
export const StopReason = {
  /** The budget ran out. */
  BUDGET: 0,
  /** The hart executed wfi with no interrupt pending. */
  WFI: 1,
  /** `requestStop()` was called (a device halted the machine, a hook paused it). */
  REQUESTED: 2,
  /** A breakpoint: pc is at it, and the instruction there has not run. */
  BREAKPOINT: 3,
  /** A watchpoint: the access that hit it has completed. */
  WATCHPOINT: 4,
} as const;

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

/** Page offsets of the fetch cache and of TLB pages are 12 bits. */
function pageBase(va: number): number {
  return va - (va & 0xfff);
}

/** Saved state of a {@linkcode Hart} (plain JSON). */
export interface HartState {
  /** Low halves of x0..x31. */
  xl: number[];
  /** High halves of x0..x31. */
  xh: number[];
  /** pc. */
  pc: number;
  /** Instructions retired (virtual time derives from it). */
  retired: number;
  /** Waiting in wfi. */
  waiting: boolean;
  /** LR reservation: address (-1: none), low and high word of the loaded value. */
  reservation: number[];
  /** f0..f31 as (low, high) words; all zero without F/D. */
  f: number[];
  /** CSRs and MMU state. */
  csr: CsrFileState;
}

/** Options of a {@linkcode Hart}. */
export interface HartOptions {
  /** ISA string: `rv64imafdc` (default), `rv64gc` or `rv64imac` (core/fpu.ts ISA_STRINGS). */
  isa?: string;
  /** mhartid (default 0): the hart's number on its machine. */
  hartId?: number;
  /** Compile hot blocks to JavaScript (core/translate.ts); on by default. */
  jit?: boolean;
  /** Interpreter visits of an address before a block is compiled there (1..65534; default 5,000). */
  jitThreshold?: number;
}

/** The emulated RV64 hart. */
export class Hart implements InterruptTarget {
  /** Low halves of x0..x31. */
  readonly xl: Int32Array = new Int32Array(32);
  /** High halves of x0..x31. */
  readonly xh: Int32Array = new Int32Array(32);
  /**
   * pc and the retired-instruction count live in a Float64Array: a double
   * stored in a plain field is boxed on every write, and the slow paths write
   * them often (each exit under the hypervisor).
   */
  readonly #numbers = new Float64Array(2);

  /** Program counter (signed value of the 64-bit pc; exact below 2^53). */
  get pc(): number {
    return this.#numbers[0];
  }
  set pc(value: number) {
    this.#numbers[0] = value;
  }
  /** Instructions retired since reset (minstret without the guest's writes). */
  get retired(): number {
    return this.#numbers[1];
  }
  set retired(value: number) {
    this.#numbers[1] = value;
  }
  /** Current privilege level. */
  get priv(): Priv {
    return this.csr.priv;
  }

  /** Traps taken since reset: with `retired`, a measure of work that grows even in a trap loop. */
  trapsTaken = 0;
  /** True while the hart waits in wfi. */
  waiting = false;
  /** The MMU and TLB. */
  readonly mmu: Mmu;
  /** Source of mtime for the time CSR (set by the machine). */
  clock: Clock | null = null;
  /** mhartid: this hart's number on its machine. */
  readonly hartId: number;
  /**
   * The harts sharing this hart's RAM, itself included (the machine sets it):
   * a store to a page with decoded code drops that page's decoded
   * instructions and blocks on all of them, so every hart sees new code
   * without a fence.i of its own, and DMA breaks any hart's LR reservation.
   */
  #peers: readonly Hart[] = [this];

  /** Privilege level and CSRs. */
  readonly csr: CsrFile;
  /**
   * The machine-mode software written in TypeScript (the hypervisor): when set,
   * it sees every trap before architectural trap entry and returns true if it
   * handled it (then it has set pc and whatever else the trap changes).
   */
  onTrap: ((cause: number, interrupt: boolean, tval: number, pc: number) => boolean) | null = null;
  /**
   * LR reservation: RAM byte offset (or -1) and the low and high word loaded
   * (for the SC compare); an array, as translated blocks run LR and SC on it too.
   */
  readonly #res = new Float64Array([-1, 0, 0]);
  #trapCause = 0;
  #trapTval = 0;
  /** An exception recorded by #trapNoThrow, not yet taken. */
  #trapPending = false;
  #stop = false;
  #stopReason: number = StopReason.BUDGET;
  readonly #breakpoints = new Set<number>();
  #watchpoints: Watchpoint[] = [];
  /** Hits of the current instruction, reported when it completes (dropped if it traps). */
  #watchHits: { hit: WatchHit; ram: number }[] = [];
  /** Addresses of the armed execute triggers: decoded as breakpoints, like #breakpoints. */
  #triggerPcs = new Set<number>();
  /** Virtual pages with breakpoints or execute triggers, and how many: blocks are not entered there. */
  readonly #noBlockPages = new Map<number, number>();
  /** Watched ranges of the armed load/store triggers, and whether there are any. */
  #triggerRanges: [number, number][] = [];
  #triggerAccess = false;
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
  /** Decode cache: one Int32Array(4096) per RAM page (packed op at even byte offsets, imm at +1). */
  readonly #decoded: (Int32Array | undefined)[] = [];
  readonly #scratch: Decoded = { packed: 0, imm: 0 };
  /** Set when the current fetch page pointers may be stale (decode cache dropped, TLB flush). */
  #resync = false;
  /** Reusable trap event (published only when someone listens). */
  readonly #trapEvent: TrapEvent = {
    cause: 0,
    interrupt: false,
    pc: 0,
    tval: 0,
    from: 3,
    to: 3,
    handled: false,
    hartId: 0,
  };
  /** Load results from slow paths: low word returned, high word here. */
  #loadHi = 0;
  /** What the generated run loop (core/interp.ts) reaches of this hart. */
  readonly #host: LoopHost;

  /** The F/D unit (present in every hart; usable only when the ISA has F and D). */
  readonly fpu: Fpu;
  /**
   * The block translator, or null when off. Pages with a breakpoint or an execute
   * trigger run without blocks (those need the interpreter's per-instruction checks).
   */
  readonly translator: Translator | null;

  /**
   * @param options.isa `rv64imafdc`/`rv64gc` (default) or `rv64imac`: F and D
   *   change misa, mstatus.FS writability and the legality of FP instructions.
   */
  constructor(readonly bus: Bus, readonly events: EventBus, options: HartOptions = {}) {
    this.mmu = new Mmu(bus);
    this.mmu.onFlush = () => this.#resync = true;
    this.csr = new CsrFile(this.mmu, {
      retired: () => this.retired,
      time: () => this.clock?.now() ?? 0,
    });
    this.csr.fpu = isaHasFD(options.isa ?? DEFAULT_ISA);
    this.hartId = options.hartId ?? 0;
    this.csr.hartId = this.hartId;
    this.#trapEvent.hartId = this.hartId;
    this.fpu = new Fpu(this.csr, this.xl, this.xh);
    this.translator = options.jit === false ? null : new Translator();
    if (this.translator !== null && options.jitThreshold !== undefined) {
      this.translator.threshold = options.jitThreshold;
    }
    this.csr.onChange = () => this.#resync = true;
    this.csr.triggers.onChange = () => this.#updateTriggers();
    bus.onRamWritten = (paddr, length) => this.invalidateCode(paddr, length);
    this.#host = {
      xl: this.xl,
      xh: this.xh,
      numbers: this.#numbers,
      bus,
      mmu: this.mmu,
      csr: this.csr,
      decoded: this.#decoded,
      scratch: this.#scratch,
      breakpoints: this.#breakpoints,
      triggerPcs: () => this.#triggerPcs,
      // Blocks skip the per-instruction breakpoint checks, so the pages of breakpoints and
      // execute triggers get none (noBlockPages). Watchpoints and load/store triggers need no
      // gate: their pages stay out of the data TLB, and a block leaves before any access that
      // misses it, so the interpreter's slow path makes (and checks) every watched access.
      jit: () => this.translator,
      noBlockPages: this.#noBlockPages,
      translate: (va, kind, priv, fill) => this.#translate(va, kind, priv, fill),
      decodedPage: (ramPage) => this.#decodedPage(ramPage),
      stepFromDevice: (pc, pa) => this.#stepFromDevice(pc, pa),
      stepCrossing: (pc, lo16) => this.#stepCrossing(pc, lo16),
      loadSlow: (va, size, priv) => this.#loadSlow(va, size, priv),
      loadHi: () => this.#loadHi,
      storeSlow: (va, size, lo, hi, priv) => this.#storeSlow(va, size, lo, hi, priv),
      resync: () => this.#resync,
      reservation: this.#res,
      rare: (p, imm, next) => {
        this.#executeRare(p, imm, next);
        if (this.#trapPending) return this.#trapPending = false, 3;
        if (this.#stopReason === StopReason.BREAKPOINT) return 0;
        return this.#resync || this.#stop ? 1 : 2;
      },
    };
    this.reset(0x1000);
  }

  /** Resets the hart: M-mode at `pc`, registers zero, CSRs at their reset values. */
  reset(pc: number): void {
    this.xl.fill(0);
    this.xh.fill(0);
    this.fpu.reset();
    this.pc = pc;
    this.csr.reset();
    this.#res[0] = -1;
    this.waiting = false;
    this.#decoded.length = 0;
    this.translator?.flush();
  }

  /** Asks a running `run` to return at the next instruction boundary. */
  requestStop(): void {
    this.#stop = true;
    this.#stopReason = StopReason.REQUESTED;
  }

  // ---------------------------------------------------- breakpoints and watchpoints

  /** Adds a breakpoint at virtual address `pc` (it fires even for code decoded before). */
  addBreakpoint(pc: number): void {
    if (!this.#breakpoints.has(pc)) this.#breakpoints.add(pc), this.#countNoBlockPage(pc, 1);
    this.flushDecodeCache();
  }

  /** Removes the breakpoint at `pc`; blocks run again on its page once it has no other. */
  removeBreakpoint(pc: number): void {
    if (this.#breakpoints.delete(pc)) this.#countNoBlockPage(pc, -1), this.flushDecodeCache();
  }

  /**
   * Counts a breakpoint or execute trigger in or out of its virtual page. The
   * gate is by virtual page, as breakpoints are: blocks are keyed physically,
   * but the run loop enters them from a virtual fetch page and a block never
   * leaves its page, so no block of a gated page runs, whatever maps it.
   */
  #countNoBlockPage(pc: number, by: number): void {
    const page = pc - (pc & 0xfff);
    const n = (this.#noBlockPages.get(page) ?? 0) + by;
    if (n === 0) this.#noBlockPages.delete(page);
    else this.#noBlockPages.set(page, n);
  }

  /** The breakpoints set. */
  get breakpoints(): ReadonlySet<number> {
    return this.#breakpoints;
  }

  /** Watches `[addr, addr + length)` (virtual) for loads and/or stores. */
  addWatchpoint(w: Watchpoint): void {
    this.#watchpoints = [...this.#watchpoints, { ...w }];
    this.#updateWatchedPages();
  }

  /** Removes watchpoints equal to `w`. */
  removeWatchpoint(w: Watchpoint): void {
    this.#watchpoints = this.#watchpoints.filter((x) =>
      !(x.addr === w.addr && x.length === w.length && x.read === w.read && x.write === w.write)
    );
    this.#updateWatchedPages();
  }

  /** The watchpoints set. */
  get watchpoints(): readonly Watchpoint[] {
    return this.#watchpoints;
  }

  #updateWatchedPages(): void {
    const pages = this.mmu.watchedPages;
    pages.clear();
    for (const w of this.#watchpoints) {
      for (let p = pageBase(w.addr); p < w.addr + w.length; p += PAGE) pages.add(p);
    }
    for (const [start, end] of this.#triggerRanges) {
      for (let p = pageBase(start); p < end; p += PAGE) pages.add(p);
    }
    this.mmu.flush();
  }

  /**
   * Re-arms the debug triggers after a trigger CSR changed: execute triggers
   * become breakpoints in the decode cache, load/store triggers keep their
   * pages out of the TLB so that accesses there take the slow path, which
   * checks them. Nothing armed leaves both paths as they were.
   */
  #updateTriggers(): void {
    const t = this.csr.triggers;
    const pcs = t.armed ? t.executeAddresses() : [];
    if (pcs.length !== this.#triggerPcs.size || pcs.some((pc) => !this.#triggerPcs.has(pc))) {
      for (const pc of this.#triggerPcs) this.#countNoBlockPage(pc, -1);
      this.#triggerPcs = new Set(pcs);
      for (const pc of this.#triggerPcs) this.#countNoBlockPage(pc, 1);
      this.flushDecodeCache();
    }
    const ranges = t.armed ? t.accessRanges() : [];
    if (ranges.join() !== this.#triggerRanges.join()) {
      this.#triggerRanges = ranges;
      this.#triggerAccess = ranges.length !== 0;
      this.#updateWatchedPages();
    }
  }

  /** A breakpoint exception (tval 0, as QEMU 7.2) if an execute trigger matches `pc`. */
  #executeTrigger(pc: number): void {
    if (this.#executeTriggerFires(pc)) this.#raise(Cause.BREAKPOINT, 0);
  }

  #executeTriggerFires(pc: number): boolean {
    return this.#triggerPcs.has(pc) && this.csr.triggers.matchExecute(pc, this.priv);
  }

  /** A breakpoint exception before the access if a load/store trigger matches it. */
  #accessTrigger(va: number, size: number, read: boolean, write: boolean): void {
    if (this.csr.triggers.matchAccess(va, size, read, write, this.priv)) {
      this.#raise(Cause.BREAKPOINT, 0);
    }
  }

  /** True if an access of `size` bytes at `va` touches a watchpoint of its kind. */
  #watched(va: number, size: number, write: boolean): boolean {
    for (const w of this.#watchpoints) {
      if (va + size > w.addr && va < w.addr + w.length && (write ? w.write : w.read)) return true;
    }
    return false;
  }

  /**
   * Checks an access to physical `pa` against the watchpoints before it is
   * made; a hit is queued, with the RAM bytes' old value, and the hot loop
   * left so that the hit is reported right after the instruction.
   */
  #watch(va: number, pa: number, size: number, write: boolean): WatchHit | null {
    if (!this.#watched(va, size, write)) return null;
    const ram = this.bus.ramOffset(pa, size);
    const old = ram >= 0 ? readLittleEndian(this.bus.ram, ram, size) : null;
    const hit = { addr: va, size, write, pc: this.pc, old, value: old ?? 0n };
    this.#watchHits.push({ hit, ram });
    this.#resync = true;
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
    this.#watchHits.push({ hit: { addr: va, size, write, pc: this.pc, old, value }, ram: -1 });
    this.#resync = true;
  }

  /** Reports the queued hits (their instruction completed); one that asks to stop ends the run. */
  #reportWatchHits(): void {
    const hits = this.#watchHits;
    this.#watchHits = [];
    for (const { hit, ram } of hits) {
      if (ram >= 0) hit.value = readLittleEndian(this.bus.ram, ram, hit.size);
      if (this.onWatchpoint === null || this.onWatchpoint(hit)) {
        this.#stop = true;
        this.#stopReason = StopReason.WATCHPOINT;
      }
    }
  }

  /** True if the breakpoint at `pc` stops the run (it was not reported at this arrival, and the handler says so). */
  #breakpointStops(pc: number): boolean {
    if (!this.#breakpoints.has(pc)) return false; // an alias of a breakpoint's physical page
    const n = this.retired;
    if (pc === this.#reportedPc && n === this.#reportedRetired) return false;
    if (this.onBreakpoint !== null && !this.onBreakpoint(pc)) return false;
    this.#reportedPc = pc;
    this.#reportedRetired = n;
    this.#stop = true;
    this.#stopReason = StopReason.BREAKPOINT;
    return true;
  }

  /**
   * Marks the breakpoint at pc as reported for this arrival (a debugger's step
   * showed it): the next run executes the instruction instead of stopping there.
   */
  breakpointReported(): void {
    this.#reportedPc = this.pc;
    this.#reportedRetired = this.retired;
  }

  // ---------------------------------------------------------------- registers

  /** Reads x`i` as a BigInt (signed). For tools and tests, not hot paths. */
  getReg(i: number): bigint {
    return (BigInt(this.xh[i]) << 32n) | BigInt(this.xl[i] >>> 0);
  }

  /** Writes x`i` (x0 stays zero). */
  setReg(i: number, value: bigint): void {
    if (i === 0) return;
    this.xl[i] = Number(BigInt.asIntN(32, value));
    this.xh[i] = Number(BigInt.asIntN(32, value >> 32n));
  }

  #setRegNumber(rd: number, v: number): void {
    if (rd === 0) return;
    this.xl[rd] = v | 0;
    this.xh[rd] = Math.floor(v / TWO32) | 0;
  }

  // --------------------------------------------------------------- interrupts

  /** Sets a hardware-driven mip bit (CLINT, PLIC). */
  setInterruptLevel(bit: number, level: boolean): void {
    const old = this.csr.mipHw;
    this.csr.mipHw = level ? old | (1 << bit) : old & ~(1 << bit);
    if (old !== this.csr.mipHw && this.events.wants("irq")) {
      this.events.emit("irq", { controller: "hart", line: bit, level, hartId: this.hartId });
    }
  }

  /** True if an interrupt is pending and enabled in mie, whatever the global enables (wfi wake-up). */
  get interruptPending(): boolean {
    return this.csr.interruptPending;
  }

  /** Takes the highest-priority interrupt that is pending and enabled; returns true if one was taken. */
  #checkInterrupts(): boolean {
    const cause = this.csr.pendingInterrupt();
    if (cause < 0) return false;
    this.waiting = false;
    this.#takeTrap(cause, true, 0, this.pc);
    return true;
  }

  // -------------------------------------------------------------------- traps

  /** Records an exception and unwinds to the run loop. */
  #raise(cause: number, tval: number): never {
    this.#trapCause = cause;
    this.#trapTval = tval;
    throw TRAP;
  }

  /**
   * Records an exception as #raise does, but returns instead of throwing: for
   * the instructions that trap on every hypervisor exit they cause (CSR
   * accesses, sfence.vma, xRET, wfi, ecall from host U-mode), where V8's
   * throw cost most of the exit. The caller returns at once; rare() then tells
   * the run loop, and #stepDecoded throws after all.
   */
  #trapNoThrow(cause: number, tval: number): void {
    this.#trapCause = cause;
    this.#trapTval = tval;
    this.#trapPending = true;
  }

  /** #trapNoThrow of illegal instruction, with mtval as #illegal gives it. */
  #illegalNoThrow(): void {
    this.#trapNoThrow(Cause.ILLEGAL_INSTRUCTION, this.#instructionBits(this.pc));
  }

  /**
   * Trap entry (privileged spec 3.1.6.1, 3.3.1, 4.1.1): chooses M or S by
   * delegation, saves pc/cause/tval, stacks the interrupt enables, jumps to the vector.
   */
  #takeTrap(cause: number, interrupt: boolean, tval: number, pc: number): void {
    this.trapsTaken++;
    if (this.events.wants("trap")) {
      const e = this.#trapEvent;
      e.cause = cause, e.interrupt = interrupt, e.pc = pc, e.tval = tval;
      e.from = this.priv, e.to = this.csr.trapTarget(cause, interrupt), e.handled = false;
      this.events.emit("trap", e);
      if (e.handled) return;
    }
    this.#res[0] = -1;
    if (this.onTrap !== null) {
      this.pc = pc;
      if (this.onTrap(cause, interrupt, tval, pc)) {
        this.#resync = true;
        return;
      }
    }
    this.pc = this.csr.enterTrap(cause, interrupt, tval, pc);
  }

  // ----------------------------------------------------------- memory (slow)

  /** Translates `va` or raises the right fault for `kind`. */
  #translate(va: number, kind: AccessKind, priv: number, fill: boolean): number {
    const pa = this.mmu.translate(va, kind, priv, fill);
    if (pa === PAGE_FAULT) {
      this.#raise(
        kind === Access.FETCH
          ? Cause.FETCH_PAGE_FAULT
          : kind === Access.LOAD
          ? Cause.LOAD_PAGE_FAULT
          : Cause.STORE_PAGE_FAULT,
        va,
      );
    }
    if (pa === ACCESS_FAULT || pa < 0) this.#accessFault(kind, va);
    return pa;
  }

  #accessFault(kind: AccessKind, va: number): never {
    this.#raise(
      kind === Access.FETCH
        ? Cause.FETCH_ACCESS
        : kind === Access.LOAD
        ? Cause.LOAD_ACCESS
        : Cause.STORE_ACCESS,
      va,
    );
  }

  /**
   * Loads `size` bytes at `va` through the MMU (any alignment, RAM or MMIO).
   * Returns the low 32 bits zero-extended by size; the high word is in #loadHi.
   */
  #loadSlow(va: number, size: number, priv: number): number {
    const pa = this.#translate(va, Access.LOAD, priv, true);
    if (this.#triggerAccess) this.#accessTrigger(va, size, true, false);
    const bus = this.bus;
    if ((va & 0xfff) + size > PAGE) { // crosses a page
      const pa2 = this.#translate(pageBase(va) + PAGE, Access.LOAD, priv, true);
      if (bus.ramOffset(pa, 1) < 0 || bus.ramOffset(pa2, 1) < 0) {
        return this.#loadSplit(va, size, priv);
      }
      // RAM on both pages: byte by byte gives the bytes QEMU's split gives.
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        const b = this.#loadSlow(va + i, 1, priv);
        if (i < 4) lo |= b << (8 * i);
        else hi |= b << (8 * (i - 4));
      }
      this.#loadHi = hi;
      return lo;
    }
    const off = bus.ramOffset(pa, size);
    if (off < 0 && (pa & (size - 1)) !== 0) return this.#loadSplit(va, size, priv);
    const hit = this.#watchpoints.length !== 0 ? this.#watch(va, pa, size, false) : null;
    if (off >= 0) {
      const ram = bus.ram;
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        if (i < 4) lo |= ram[off + i] << (8 * i);
        else hi |= ram[off + i] << (8 * (i - 4));
      }
      this.#loadHi = hi;
      return lo;
    }
    const rule = bus.deviceRule(pa, size);
    if (rule === null) this.#accessFault(Access.LOAD, va);
    this.#resync = true; // devices may raise interrupts
    const lo = bus.loadDevice(pa, size as 1 | 2 | 4 | 8, rule);
    this.#loadHi = bus.loadHi;
    if (hit !== null) hit.old = hit.value = BigInt.asUintN(8 * size, toBigInt(lo, this.#loadHi));
    return lo;
  }

  /**
   * A misaligned load that reaches a device, as QEMU 7.2 makes it: the two
   * aligned loads of its width around it, lower first (each may fault at its
   * own address), combined.
   */
  #loadSplit(va: number, size: number, priv: number): number {
    const shift = va & (size - 1), first = va - shift;
    const r1 = toBigInt(this.#loadSlow(first, size, priv), this.#loadHi);
    const r2 = toBigInt(this.#loadSlow(first + size, size, priv), this.#loadHi);
    const value = combineSplitLoad(r1, r2, shift, size);
    this.#loadHi = Number(value >> 32n) | 0;
    return Number(BigInt.asUintN(32, value)) | 0;
  }

  /** Stores the low `size` bytes of (lo, hi) at `va` through the MMU. */
  #storeSlow(va: number, size: number, lo: number, hi: number, priv: number): void {
    if ((va & 0xfff) + size > PAGE) {
      // Translate both pages before writing anything, so a fault leaves memory untouched.
      this.#translate(va, Access.STORE, priv, false);
      this.#translate(pageBase(va) + PAGE, Access.STORE, priv, false);
      if (this.#triggerAccess) this.#accessTrigger(va, size, false, true);
      for (let i = 0; i < size; i++) {
        const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
        this.#storeSlow(va + i, 1, b & 0xff, 0, priv);
      }
      return;
    }
    const pa = this.#translate(va, Access.STORE, priv, true);
    if (this.#triggerAccess) this.#accessTrigger(va, size, false, true);
    const bus = this.bus;
    const off = bus.ramOffset(pa, size);
    if (off < 0 && (pa & (size - 1)) !== 0) {
      // QEMU 7.2 stores a misaligned access to a device byte by byte, up to the first fault.
      for (let i = 0; i < size; i++) {
        const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
        this.#storeSlow(va + i, 1, b & 0xff, 0, priv);
      }
      return;
    }
    const hit = this.#watchpoints.length !== 0 ? this.#watch(va, pa, size, true) : null;
    if (off >= 0) {
      this.#dropDecodedPage(off >> 12);
      const ram = bus.ram;
      for (let i = 0; i < size; i++) {
        ram[off + i] = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
      }
      return;
    }
    const rule = bus.deviceRule(pa, size);
    if (rule === null) this.#accessFault(Access.STORE, va);
    this.#resync = true;
    if (hit !== null) hit.value = BigInt.asUintN(8 * size, toBigInt(lo, hi));
    bus.storeDevice(pa, size as 1 | 2 | 4 | 8, rule, lo, hi);
  }

  // ------------------------------------------------------------ decode cache

  /**
   * Drops decoded instructions of RAM written behind the harts' backs (DMA,
   * loaders, PTE A/D), on every peer, and breaks the LR reservations the
   * write overlaps: a device's store is another agent's.
   */
  invalidateCode(paddr: number, length: number): void {
    const first = Math.floor((paddr - this.bus.ramBase) / PAGE);
    const last = Math.floor((paddr - this.bus.ramBase + length - 1) / PAGE);
    for (let p = Math.max(0, first); p <= last; p++) this.#dropDecodedPage(p);
    const off = paddr - this.bus.ramBase;
    for (const h of this.#peers) {
      const r = h.#res[0];
      if (r >= 0 && r < off + length && r + 8 > off) h.#res[0] = -1;
    }
  }

  /**
   * Makes `harts` (this one among them) see each other's stores to code
   * (see {@linkcode invalidateCode}); the machine calls it once on each.
   */
  setPeers(harts: readonly Hart[]): void {
    this.#peers = harts;
  }

  /**
   * Gives up the LR reservation. The machine calls it when the hart's slice
   * ends and another hart runs: as harts take turns on one thread, a
   * reservation never sees another hart's store within a slice, and dropping
   * it at the switch makes every store by another hart (of any value) fail
   * the next SC, as the spec's reservation set requires, with no check on the
   * store paths. The spec lets an SC fail for any reason, and a constrained
   * LR/SC loop succeeds on its next try inside the new slice.
   */
  dropReservation(): void {
    this.#res[0] = -1;
  }

  #dropDecodedPage(ramPage: number): void {
    for (const h of this.#peers) {
      // Blocks outlive a breakpoint's flush of the decode cache, so they are dropped even without one.
      h.translator?.dropPage(ramPage);
      if (h.#decoded[ramPage] !== undefined) {
        h.#decoded[ramPage] = undefined;
        h.#resync = true;
      }
    }
  }

  /**
   * Drops every decoded instruction, so that breakpoints and execute triggers
   * are decoded in. Translated blocks stay: a write to their page dropped them
   * already (stores to a page with decoded code take the slow path, which drops
   * it, as does DMA).
   */
  flushDecodeCache(): void {
    this.#decoded.length = 0;
    this.#resync = true;
  }

  /** The decode cache of RAM page `ramPage`, created on first use. */
  #decodedPage(ramPage: number): Int32Array {
    let d = this.#decoded[ramPage];
    if (d === undefined) {
      d = new Int32Array(PAGE);
      this.#decoded[ramPage] = d;
      // Stores to a page with decoded code must take the slow path, which drops it, on every hart.
      for (const h of this.#peers) h.mmu.dropStoreEntriesFor(ramPage * PAGE);
    }
    return d;
  }

  // ------------------------------------------------------------- execution

  /**
   * Runs up to `budget` instructions. Returns a {@linkcode StopReason}; the
   * number executed is reflected in `retired`.
   */
  run(budget: number): number {
    // Traps count against the budget too, so a trap storm cannot keep run() from returning.
    let end = this.retired + budget;
    this.#stop = false;
    this.#stopReason = StopReason.BUDGET;
    let pc = this.pc;
    let n = this.retired;
    while (n < end) {
      if (this.#watchHits.length !== 0) {
        this.pc = pc, this.retired = n;
        this.#reportWatchHits();
        pc = this.pc;
      }
      if (this.#stop) break;
      this.pc = pc;
      this.retired = n; // trap entry, its hooks and the hypervisor read the count (and time)
      if (this.csr.interruptPending && this.#checkInterrupts()) {
        this.#resync = false;
        pc = this.pc;
        end--;
      }
      if (this.waiting) {
        if (!this.interruptPending) break;
        this.waiting = false; // wfi also ends on a pending interrupt that is globally disabled
      }
      this.#resync = false;
      // The generated loop (core/interp.ts) runs until a stop, a resync, the end or a trap.
      if (runLoop(this.#host, pc, n, end)) {
        // A faulting instruction does not retire; pc still points at it.
        this.#watchHits.length = 0; // nor are its accesses made
        end--;
        this.#takeTrap(this.#trapCause, false, this.#trapTval, this.pc);
      }
      pc = this.pc;
      n = this.retired; // a trap hook that completed the instruction counted it as retired
    }
    this.pc = pc;
    this.retired = n;
    if (this.#watchHits.length !== 0) this.#reportWatchHits();
    if (this.#stop) return this.#stopReason;
    if (this.waiting) return StopReason.WFI;
    // An execute trigger at the next pc fires now, so that a run (a step) never ends
    // on an instruction that will not run: QEMU checks before it enters a block, and
    // its traces never show such an instruction (scripts/lockstep-trace.ts).
    if (this.#triggerPcs.size !== 0 && this.#executeTriggerFires(pc)) {
      this.#takeTrap(Cause.BREAKPOINT, false, 0, pc);
    }
    return StopReason.BUDGET;
  }

  /**
   * Executes one instruction at `pc` fetched from a device (the boot ROM), in
   * 2-byte halves as QEMU 7.2 fetches them: a device that refuses 2-byte
   * reads makes it a fetch access fault.
   */
  #stepFromDevice(pc: number, pa: number): boolean {
    const bus = this.bus;
    if (bus.deviceRule(pa, 2) === null) this.#accessFault(Access.FETCH, pc);
    const lo16 = bus.readDevice(pa, 2);
    if ((lo16 & 3) !== 3) return this.#stepDecoded(pc, lo16, 0);
    if (bus.deviceRule(pa + 2, 2) === null) this.#accessFault(Access.FETCH, pc + 2);
    return this.#stepDecoded(pc, lo16, bus.readDevice(pa + 2, 2));
  }

  /** Executes a 32-bit instruction whose halves lie on two pages (never cached). */
  #stepCrossing(pc: number, lo16: number): boolean {
    const pa2 = this.#translate(pc + 2, Access.FETCH, this.priv, false);
    const off = this.bus.ramOffset(pa2, 2);
    if (off < 0) this.#accessFault(Access.FETCH, pc + 2);
    return this.#stepDecoded(pc, lo16, this.bus.ram16[off >> 1]);
  }

  /**
   * Decodes and executes one instruction outside the decode cache; false if a
   * breakpoint there stopped the run first.
   */
  #stepDecoded(pc: number, lo16: number, hi16: number): boolean {
    this.pc = pc;
    if (this.#breakpoints.size !== 0 && this.#breakpointStops(pc)) return false;
    if (this.pc !== pc) return true; // the breakpoint handler redirected execution
    if (this.#triggerPcs.size !== 0) this.#executeTrigger(pc);
    decodeAt(lo16, hi16, this.#scratch);
    const p = this.#scratch.packed, imm = this.#scratch.imm;
    const next = pc + ((p & 0x800000) !== 0 ? 4 : 2);
    this.#executeOne(p, imm, next);
    if (this.#trapPending) this.#trapPending = false, this.#raise(this.#trapCause, this.#trapTval);
    return true;
  }

  /** Executes one decoded instruction with all side effects (used off the hot path). */
  #executeOne(p: number, imm: number, next: number): void {
    const op = p & 0xff;
    if (op >= Op.NOP) {
      this.#executeRare(p, imm, next);
      return;
    }
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    const xl = this.xl, xh = this.xh;
    const pc = this.pc;
    const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0) + imm;
    switch (op) {
      case Op.JAL:
        this.#setRegNumber(rd, next);
        this.pc = pc + imm;
        return;
      case Op.JALR:
        this.#setRegNumber(rd, next);
        this.pc = va - (va & 1);
        return;
      case Op.AUIPC:
        this.#setRegNumber(rd, pc + imm);
        this.pc = next;
        return;
    }
    if (op >= Op.LB && op <= Op.LWU) {
      const v = this.#loadSlow(va, ACCESS_SIZE[op], this.csr.dataPriv);
      loadResult(xl, xh, op, rd, v, this.#loadHi);
      this.pc = next;
      return;
    }
    if (op >= Op.SB && op <= Op.SD) {
      this.#storeSlow(va, ACCESS_SIZE[op], xl[rs2], xh[rs2], this.csr.dataPriv);
      this.pc = next;
      return;
    }
    if (op >= Op.BEQ && op <= Op.BGEU) {
      const taken = branchTest(op, xl[rs1], xh[rs1], xl[rs2], xh[rs2]);
      this.pc = taken ? pc + imm : next;
      return;
    }
    // Register-only ALU ops: the instruction templates (core/insns.ts) compiled to one step.
    aluStep(xl, xh, op, rd, rs1, rs2, imm, pc);
    this.pc = next;
  }

  // ------------------------------------------------------------ rare ops

  /** Ops kept out of the hot switch: system, CSR, atomics, FP; the rest through #executeOne. */
  #executeRare(p: number, imm: number, next: number): void {
    const op = p & 0xff;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    const xl = this.xl, xh = this.xh;
    switch (op) {
      case Op.NOP: // reached only outside the decode cache (page-crossing or ROM fetches)
        break;
      case Op.FENCE_I:
        // Nothing to drop: stores, AMOs and DMA drop the decoded code (and blocks) of the page
        // they write as they happen, as QEMU's TCG does. Linux runs fence.i on every new
        // executable mapping; flushing here re-created each page's decode cache (a 16 KiB array
        // and a scan of the store TLB) tens of thousands of times per boot.
        break;
      case Op.ECALL:
        return this.#trapNoThrow(Cause.ECALL_U + this.priv, 0);
      case Op.EBREAK:
        this.#raise(Cause.BREAKPOINT, 0); // QEMU 7.2 leaves mtval 0 (the spec also allows the pc)
        break;
      case Op.MRET:
      case Op.SRET: {
        const target = op === Op.MRET ? this.csr.mret() : this.csr.sret();
        if (Number.isNaN(target)) return this.#illegalNoThrow();
        this.pc = target;
        return;
      }
      case Op.WFI:
        if (this.csr.wfiTraps()) return this.#illegalNoThrow();
        this.pc = next;
        if (!this.interruptPending) this.waiting = true, this.#resync = true;
        return;
      case Op.SFENCE_VMA:
        if (this.csr.sfenceTraps()) return this.#illegalNoThrow();
        this.mmu.flush();
        break;
      case Op.CSRRW:
      case Op.CSRRS:
      case Op.CSRRC:
      case Op.CSRRWI:
      case Op.CSRRSI:
      case Op.CSRRCI:
        if (!this.#csrInstruction(op, rd, rs1, imm)) return; // trapped
        break;
      case Op.AMO_W:
      case Op.AMO_D:
        this.#atomic(op, imm, rd, rs1, rs2);
        break;
      case Op.BREAKPOINT: {
        const pc = this.pc;
        if (this.#breakpointStops(pc) || this.pc !== pc) return; // stopped, or redirected
        // A debugger's breakpoint stops first; the trigger fires when the run resumes.
        this.#executeTrigger(pc);
        // Run the real instruction, decoded again from memory.
        const bits = this.#instructionBits(pc);
        decodeAt(bits & 0xffff, bits >>> 16, this.#scratch);
        const q = this.#scratch.packed;
        this.#executeOne(q, this.#scratch.imm, pc + ((q & 0x800000) !== 0 ? 4 : 2));
        return;
      }
      case Op.ILLEGAL:
        this.#raise(Cause.ILLEGAL_INSTRUCTION, imm >>> 0); // QEMU 7.2: mtval = the bits
        break;
      case Op.FP:
        if (!this.fpu.execute(imm, rd, rs1, rs2)) this.#illegal();
        break;
      case Op.FLW:
      case Op.FLD: {
        if (!this.fpu.usable()) this.#illegal();
        const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0) + imm;
        const lo = this.#loadSlow(va, op === Op.FLD ? 8 : 4, this.csr.dataPriv);
        this.fpu.load(rd, lo, this.#loadHi, op === Op.FLD);
        break;
      }
      case Op.FSW:
      case Op.FSD: {
        // fsw stores the low 32 bits as they are, boxed or not (12.2).
        if (!this.fpu.usable()) this.#illegal();
        const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0) + imm;
        const fw = this.fpu.fw;
        this.#storeSlow(va, op === Op.FSD ? 8 : 4, fw[2 * rs2], fw[2 * rs2 + 1], this.csr.dataPriv);
        break;
      }
      default:
        this.#executeOne(p, imm, next);
        return;
    }
    this.pc = next;
  }

  /**
   * Raises illegal instruction for the instruction at pc. mtval gets its bits
   * (QEMU 7.2's choice; the spec also allows 0), read again from memory since
   * the decode cache does not keep them.
   */
  #illegal(): never {
    this.#raise(Cause.ILLEGAL_INSTRUCTION, this.#instructionBits(this.pc));
  }

  #instructionBits(pc: number): number {
    const t = this.priv * 3 + Access.FETCH;
    const half = (va: number) => {
      // The instruction was just fetched, so its page is usually in the fetch TLB (no walk:
      // under the hypervisor every exit of a CSR access or sfence.vma comes here).
      const page = va - (va & 0xfff), slot = (va >>> 12) & (TLB_SIZE - 1);
      if (this.mmu.tags[t][slot] === page) {
        return this.bus.ram16[(this.mmu.offsets[t][slot] + (va & 0xfff)) >> 1];
      }
      const pa = this.mmu.translate(va, Access.FETCH, this.priv, false);
      return pa >= 0 && this.bus.isMapped(pa, 2)
        ? (this.bus.ramOffset(pa, 2) >= 0
          ? this.bus.ram16[this.bus.ramOffset(pa, 2) >> 1]
          : this.bus.readDevice(pa, 2))
        : 0;
    };
    const lo = half(pc);
    return (lo & 3) === 3 ? ((half(pc + 2) << 16) | lo) >>> 0 : lo;
  }

  // ------------------------------------------------------------- atomics

  /**
   * A extension: LR/SC and AMOs on RAM (MMIO atomics are access faults). An
   * AMO is atomic across harts without more: harts take turns on one thread,
   * and each instruction runs whole within its hart's turn.
   */
  #atomic(op: number, f5: number, rd: number, rs1: number, rs2: number): void {
    const xl = this.xl, xh = this.xh;
    const size = op === Op.AMO_D ? 8 : 4;
    const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0);
    const isLoad = f5 === Amo.LR;
    // Alignment from the register's low word: va is rounded above 2^53, the low bits are not.
    if ((xl[rs1] & (size - 1)) !== 0) {
      this.#raise(isLoad ? Cause.MISALIGNED_LOAD : Cause.MISALIGNED_STORE, va);
    }
    const kind = isLoad ? Access.LOAD : Access.STORE;
    // Entered into the TLB as other accesses are, so that translated blocks run the next ones.
    const pa = this.#translate(va, kind, this.csr.dataPriv, true);
    // QEMU: an AMO hits load and store triggers, LR load triggers, SC store triggers.
    if (this.#triggerAccess) this.#accessTrigger(va, size, f5 !== Amo.SC, !isLoad);
    if (this.#watchpoints.length !== 0) this.#watch(va, pa, size, !isLoad);
    const off = this.bus.ramOffset(pa, size);
    if (off < 0) this.#accessFault(kind, va);
    // As a store: a page just entered into the store TLB must hold no decoded code.
    if (!isLoad) this.#dropDecodedPage(off >> 12);
    atomicStep(this.xl, this.xh, op, f5, rd, rs2, this.bus.ram32, off, this.#res);
  }

  // ---------------------------------------------------------------- CSRs

  /** A CSR instruction; false if it trapped for an inaccessible CSR (#trapNoThrow). */
  #csrInstruction(op: number, rd: number, rs1: number, csr: number): boolean {
    const immForm = op >= Op.CSRRWI;
    const srcLo = immForm ? rs1 : this.xl[rs1];
    const srcHi = immForm ? 0 : this.xh[rs1];
    const kind = immForm ? op - 3 : op; // CSRRW / CSRRS / CSRRC
    const writes = kind === Op.CSRRW || rs1 !== 0;
    const reads = kind !== Op.CSRRW || rd !== 0;
    if (!this.csr.accessible(csr, writes)) return this.#illegalNoThrow(), false;
    let oldLo = 0, oldHi = 0;
    if (reads || kind !== Op.CSRRW) {
      if (!this.csr.read(csr)) this.#illegal();
      oldLo = r64[0], oldHi = r64[1];
    }
    if (writes) {
      const ok = kind === Op.CSRRW
        ? this.csr.write(csr, srcLo, srcHi)
        : this.csr.modify(csr, kind === Op.CSRRS, srcLo, srcHi, oldLo, oldHi);
      if (!ok) this.#illegal();
      this.#resync = true; // the write may change translation, interrupts or privilege state
    }
    if (rd !== 0) this.xl[rd] = oldLo, this.xh[rd] = oldHi;
    if (this.events.wants("csr")) {
      const value = toNumber(oldLo, oldHi);
      this.events.emit("csr", { csr, write: writes, pc: this.pc, value, hartId: this.hartId });
    }
    return true;
  }

  // ---------------------------------------------------------- inspection

  /** Reads a CSR as a BigInt without side effects or privilege checks (tools, tests); null if absent. */
  readCsr(csr: number): bigint | null {
    if (!this.csr.read(csr)) return null;
    return (BigInt(r64[1]) << 32n) | BigInt(r64[0] >>> 0);
  }

  /** Writes a CSR as the hart would from M-mode (tools, tests); false if absent. */
  writeCsr(csr: number, value: bigint): boolean {
    const lo = Number(BigInt.asIntN(32, value)), hi = Number(BigInt.asIntN(32, value >> 32n));
    const ok = this.csr.write(csr, lo, hi);
    this.#resync = true;
    return ok;
  }

  /** Injects an exception as if the current instruction raised it (hooks, fault injection). */
  injectException(cause: number, tval: number): void {
    this.#takeTrap(cause, false, tval, this.pc);
  }

  // ------------------------------------------------------------ snapshots

  /**
   * The architectural state for a snapshot: x and f registers, pc, instruction count,
   * wfi, the LR reservation, CSRs and MMU state. Breakpoints, watchpoints and
   * hooks belong to whoever set them; the TLB and decode cache are caches.
   */
  saveState(): HartState {
    const res = this.#res;
    return {
      xl: [...this.xl],
      xh: [...this.xh],
      pc: this.pc,
      retired: this.retired,
      waiting: this.waiting,
      reservation: [res[0] < 0 ? -1 : res[0] + this.bus.ramBase, res[1], res[2]],
      f: [...this.fpu.fw],
      csr: this.csr.saveState(),
    };
  }

  /** Restores {@linkcode saveState}'s state and drops the TLB and every decoded instruction. */
  loadState(state: HartState): void {
    this.xl.set(state.xl);
    this.xh.set(state.xh);
    this.pc = state.pc;
    this.retired = state.retired;
    this.waiting = state.waiting;
    const [addr, lo, hi] = state.reservation;
    this.#res.set([addr < 0 ? -1 : addr - this.bus.ramBase, lo, hi]);
    this.fpu.fw.set(state.f);
    this.csr.loadState(state.csr);
    this.mmu.flush();
    this.flushDecodeCache();
    this.translator?.flush(); // RAM is restored without notifying the hart
  }

  /** Translates a virtual address for a load as the hart would now, without side effects on the TLB; null on fault. */
  translateForDebug(va: number, kind: AccessKind = Access.LOAD): number | null {
    const pa = this.mmu.translate(
      va,
      kind,
      kind === Access.FETCH ? this.priv : this.csr.dataPriv,
      false,
    );
    return pa < 0 ? null : pa;
  }
}

/** The cold path's register-only ALU ops, branches and loads, generated from the instruction definitions. */
const aluStep = compileAluStep();
const branchTest = compileBranchTest();
const loadResult = compileLoadResult();
/** LR, SC and AMOs on RAM, from the same definitions as the translator's. */
const atomicStep = compileAtomicStep();
/** The interpreter's hot loop, generated from the same definitions. */
const runLoop = compileRunLoop(TRAP);
