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
 * Split along its concerns, as TinyEMU keeps a narrow riscv_cpu.h in front of
 * a private CPU state: this file holds the public surface, the run loop glue,
 * the decode cache, traps and interrupts, the rare instructions and snapshots;
 * core/hart-memory.ts the slow load/store paths and atomics,
 * core/hart-debug.ts breakpoints, watchpoints and triggers, core/hart-csr.ts
 * the CSR instructions. Each helper gets what it needs of the hart's private
 * state through a narrow host object made here; none of it is public.
 *
 * @module
 */

import type { Bus } from "./bus.ts";
import type { Clock } from "./clock.ts";
import { CsrFile, type CsrFileState } from "./csrfile.ts";
import { Cause } from "./csr.ts";
import { decodeAt, type Decoded, Op } from "./decode.ts";
import type { EventBus, Priv, TrapEvent } from "./events.ts";
import { DEFAULT_ISA, Fpu, isaHasFD } from "./fpu.ts";
import { csrInstruction, type CsrInstructionHost } from "./hart-csr.ts";
import { type DebugHost, DebugUnit, type WatchHit, type Watchpoint } from "./hart-debug.ts";
import { HartMemory } from "./hart-memory.ts";
import { ACCESS_SIZE, compileAluStep, compileBranchTest, compileLoadResult } from "./insns.ts";
import { compileRunLoop, type LoopHost } from "./interp.ts";
import { out as r64 } from "./int64.ts";
import type { InterruptTarget } from "./irq.ts";
import { Access, type AccessKind, Mmu } from "./mmu.ts";
import { Translator } from "./translate.ts";
import type { WasmHart } from "./wasm-jit.ts";

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

export type { WatchHit, Watchpoint } from "./hart-debug.ts";

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
  /** Traps taken since reset (`--stats` counts them per hart). */
  trapsTaken: number;
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
  /** Compile them to wasm instead: registers, TLB and translator from core/wasm-jit.ts. */
  wasm?: WasmHart;
  /**
   * Interpreter visits of an address before a block is compiled there
   * (1..65534; default 500 with wasm blocks, 5,000 with JavaScript blocks).
   */
  jitThreshold?: number;
}

/** The emulated RV64 hart. */
export class Hart implements InterruptTarget {
  /** Low halves of x0..x31. */
  readonly xl: Int32Array;
  /** High halves of x0..x31. */
  readonly xh: Int32Array;
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
  readonly #res: Float64Array;
  #trapCause = 0;
  #trapTval = 0;
  /** An exception recorded by #trapNoThrow, not yet taken. */
  #trapPending = false;
  #stop = false;
  #stopReason: number = StopReason.BUDGET;
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
  /** What the generated run loop (core/interp.ts) reaches of this hart. */
  readonly #host: LoopHost;
  /** What the helpers (debug unit, slow paths, CSR instructions) reach of this hart. */
  readonly #core: DebugHost & CsrInstructionHost;
  /** Breakpoints, watchpoints and triggers (core/hart-debug.ts). */
  readonly #debug: DebugUnit;
  /** The slow memory paths and atomics (core/hart-memory.ts). */
  readonly #memory: HartMemory;

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
    this.xl = options.wasm?.xl ?? new Int32Array(32);
    this.xh = options.wasm?.xh ?? new Int32Array(32);
    this.#res = options.wasm?.res ?? new Float64Array([-1, 0, 0]);
    this.mmu = new Mmu(bus, options.wasm?.tlb);
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
    this.translator = options.jit === false ? null : options.wasm?.translator ?? new Translator();
    if (this.translator !== null && options.jitThreshold !== undefined) {
      this.translator.threshold = options.jitThreshold;
    }
    this.#core = {
      mmu: this.mmu,
      bus,
      csr: this.csr,
      xl: this.xl,
      xh: this.xh,
      events,
      hartId: this.hartId,
      pc: () => this.pc,
      retired: () => this.retired,
      flushDecodeCache: () => this.flushDecodeCache(),
      raise: (cause, tval) => this.#raise(cause, tval),
      illegal: () => this.#illegal(),
      illegalNoThrow: () => this.#illegalNoThrow(),
      resync: () => void (this.#resync = true),
      stop: (breakpoint) => {
        this.#stop = true;
        this.#stopReason = breakpoint ? StopReason.BREAKPOINT : StopReason.WATCHPOINT;
      },
    };
    this.#debug = new DebugUnit(this.#core);
    this.#memory = new HartMemory({
      ...this.#core,
      res: this.#res,
      debug: this.#debug,
      dropDecodedPage: (ramPage) => this.#dropDecodedPage(ramPage),
    });
    this.csr.onChange = () => this.#resync = true;
    this.csr.triggers.onChange = () => this.#debug.updateTriggers();
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
      breakpoints: this.#debug.breakpoints,
      triggerPcs: () => this.#debug.triggerPcs,
      // Blocks skip the per-instruction breakpoint checks, so the pages of breakpoints and
      // execute triggers get none (noBlockPages). Watchpoints and load/store triggers need no
      // gate: their pages stay out of the data TLB, and a block leaves before any access that
      // misses it, so the interpreter's slow path makes (and checks) every watched access.
      jit: () => this.translator,
      noBlockPages: this.#debug.noBlockPages,
      translate: (va, kind, priv, fill) => this.#memory.translate(va, kind, priv, fill),
      decodedPage: (ramPage) => this.#decodedPage(ramPage),
      stepFromDevice: (pc, pa) => this.#stepFromDevice(pc, pa),
      stepCrossing: (pc, lo16) => this.#stepCrossing(pc, lo16),
      loadSlow: (va, size, priv) => this.#memory.loadSlow(va, size, priv),
      loadHi: () => this.#memory.loadHi,
      storeSlow: (va, size, lo, hi, priv) => this.#memory.storeSlow(va, size, lo, hi, priv),
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
    this.#debug.addBreakpoint(pc);
  }

  /** Removes the breakpoint at `pc`; blocks run again on its page once it has no other. */
  removeBreakpoint(pc: number): void {
    this.#debug.removeBreakpoint(pc);
  }

  /** The breakpoints set. */
  get breakpoints(): ReadonlySet<number> {
    return this.#debug.breakpoints;
  }

  /** Watches `[addr, addr + length)` (virtual) for loads and/or stores. */
  addWatchpoint(w: Watchpoint): void {
    this.#debug.addWatchpoint(w);
  }

  /** Removes watchpoints equal to `w`. */
  removeWatchpoint(w: Watchpoint): void {
    this.#debug.removeWatchpoint(w);
  }

  /** The watchpoints set. */
  get watchpoints(): readonly Watchpoint[] {
    return this.#debug.watchpoints;
  }

  /**
   * Reports to the watchpoints an access that machine-mode software made for
   * the code on the hart (the hypervisor emulating a guest's device or MPRV
   * access), at pc, as if the hart had made it; reported when the run loop
   * next gets control, which for a trap handler is right after it.
   */
  watchAccess(va: number, size: number, write: boolean, old: bigint | null, value: bigint): void {
    this.#debug.watchAccess(va, size, write, old, value);
  }

  /**
   * Marks the breakpoint at pc as reported for this arrival (a debugger's step
   * showed it): the next run executes the instruction instead of stopping there.
   */
  breakpointReported(): void {
    this.#debug.breakpointReported();
  }

  /**
   * Decides what a breakpoint does: return true to stop the run there
   * (StopReason.BREAKPOINT), false to go on (the handler may set pc to redirect).
   * Without a handler every breakpoint stops.
   */
  get onBreakpoint(): ((pc: number) => boolean) | null {
    return this.#debug.onBreakpoint;
  }
  set onBreakpoint(fn: ((pc: number) => boolean) | null) {
    this.#debug.onBreakpoint = fn;
  }

  /**
   * Called after the instruction whose access touched a watchpoint completed
   * (pc is the next instruction's); return true to stop the run there.
   * Without a handler every hit stops.
   */
  get onWatchpoint(): ((hit: WatchHit) => boolean) | null {
    return this.#debug.onWatchpoint;
  }
  set onWatchpoint(fn: ((hit: WatchHit) => boolean) | null) {
    this.#debug.onWatchpoint = fn;
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
    this.#trapNoThrow(Cause.ILLEGAL_INSTRUCTION, this.#memory.instructionBits(this.pc));
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
      if (this.#debug.watchHits.length !== 0) {
        this.pc = pc, this.retired = n;
        this.#debug.reportWatchHits();
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
        this.#debug.watchHits.length = 0; // nor are its accesses made
        end--;
        this.#takeTrap(this.#trapCause, false, this.#trapTval, this.pc);
      }
      pc = this.pc;
      n = this.retired; // a trap hook that completed the instruction counted it as retired
    }
    this.pc = pc;
    this.retired = n;
    if (this.#debug.watchHits.length !== 0) this.#debug.reportWatchHits();
    if (this.#stop) return this.#stopReason;
    if (this.waiting) return StopReason.WFI;
    // An execute trigger at the next pc fires now, so that a run (a step) never ends
    // on an instruction that will not run: QEMU checks before it enters a block, and
    // its traces never show such an instruction (scripts/lockstep-trace.ts).
    if (this.#debug.triggerPcs.size !== 0 && this.#debug.executeTriggerFires(pc)) {
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
    if (bus.deviceRule(pa, 2) === null) this.#memory.accessFault(Access.FETCH, pc);
    const lo16 = bus.readDevice(pa, 2);
    if ((lo16 & 3) !== 3) return this.#stepDecoded(pc, lo16, 0);
    if (bus.deviceRule(pa + 2, 2) === null) this.#memory.accessFault(Access.FETCH, pc + 2);
    return this.#stepDecoded(pc, lo16, bus.readDevice(pa + 2, 2));
  }

  /** Executes a 32-bit instruction whose halves lie on two pages (never cached). */
  #stepCrossing(pc: number, lo16: number): boolean {
    const pa2 = this.#memory.translate(pc + 2, Access.FETCH, this.priv, false);
    const off = this.bus.ramOffset(pa2, 2);
    if (off < 0) this.#memory.accessFault(Access.FETCH, pc + 2);
    return this.#stepDecoded(pc, lo16, this.bus.ram16[off >> 1]);
  }

  /**
   * Decodes and executes one instruction outside the decode cache; false if a
   * breakpoint there stopped the run first.
   */
  #stepDecoded(pc: number, lo16: number, hi16: number): boolean {
    this.pc = pc;
    if (this.#debug.breakpoints.size !== 0 && this.#debug.breakpointStops(pc)) return false;
    if (this.pc !== pc) return true; // the breakpoint handler redirected execution
    if (this.#debug.triggerPcs.size !== 0) this.#debug.executeTrigger(pc);
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
      const v = this.#memory.loadSlow(va, ACCESS_SIZE[op], this.csr.dataPriv);
      loadResult(xl, xh, op, rd, v, this.#memory.loadHi);
      this.pc = next;
      return;
    }
    if (op >= Op.SB && op <= Op.SD) {
      this.#memory.storeSlow(va, ACCESS_SIZE[op], xl[rs2], xh[rs2], this.csr.dataPriv);
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
        if (!csrInstruction(this.#core, op, rd, rs1, imm)) return; // trapped
        break;
      case Op.AMO_W:
      case Op.AMO_D:
        this.#memory.atomic(op, imm, rd, rs1, rs2);
        break;
      case Op.BREAKPOINT: {
        const pc = this.pc;
        if (this.#debug.breakpointStops(pc) || this.pc !== pc) return; // stopped, or redirected
        // A debugger's breakpoint stops first; the trigger fires when the run resumes.
        this.#debug.executeTrigger(pc);
        // Run the real instruction, decoded again from memory.
        const bits = this.#memory.instructionBits(pc);
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
        const lo = this.#memory.loadSlow(va, op === Op.FLD ? 8 : 4, this.csr.dataPriv);
        this.fpu.load(rd, lo, this.#memory.loadHi, op === Op.FLD);
        break;
      }
      case Op.FSW:
      case Op.FSD: {
        // fsw stores the low 32 bits as they are, boxed or not (12.2).
        if (!this.fpu.usable()) this.#illegal();
        const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0) + imm;
        const fw = this.fpu.fw;
        this.#memory.storeSlow(
          va,
          op === Op.FSD ? 8 : 4,
          fw[2 * rs2],
          fw[2 * rs2 + 1],
          this.csr.dataPriv,
        );
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
    this.#raise(Cause.ILLEGAL_INSTRUCTION, this.#memory.instructionBits(this.pc));
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
   * traps taken, wfi, the LR reservation, CSRs and MMU state. Breakpoints, watchpoints and
   * hooks belong to whoever set them; the TLB and decode cache are caches.
   */
  saveState(): HartState {
    const res = this.#res;
    return {
      xl: [...this.xl],
      xh: [...this.xh],
      pc: this.pc,
      retired: this.retired,
      trapsTaken: this.trapsTaken,
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
    this.trapsTaken = state.trapsTaken;
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
/** The interpreter's hot loop, generated from the same definitions. */
const runLoop = compileRunLoop(TRAP);
