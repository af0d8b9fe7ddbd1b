/**
 * The hart's slow memory paths: translation with its faults, loads and stores
 * that miss the TLB fast path (any alignment, RAM or MMIO, crossing pages,
 * split on devices as QEMU 7.2 splits them), atomics after their checks
 * (alignment, translation, triggers, watchpoints, RAM), and the bits of the
 * instruction at pc for mtval. The hart (core/hart.ts) holds one privately;
 * the generated run loop (core/interp.ts) calls it through the hart.
 *
 * @module
 */

import { type Bus, combineSplitLoad } from "./bus.ts";
import type { CsrFile } from "./csrfile.ts";
import { Cause } from "./csr.ts";
import { Amo, Op } from "./decode.ts";
import type { DebugUnit } from "./hart-debug.ts";
import { compileAtomicStep } from "./insns.ts";
import { toBigInt } from "./int64.ts";
import { Access, ACCESS_FAULT, type AccessKind, type Mmu, PAGE_FAULT, TLB_SIZE } from "./mmu.ts";

const TWO32 = 4294967296;
const PAGE = 4096;

/** Page offsets of the fetch cache and of TLB pages are 12 bits. */
export function pageBase(va: number): number {
  return va - (va & 0xfff);
}

/** What the slow paths reach of their hart. */
export interface MemoryHost {
  /** The MMU and TLB. */
  readonly mmu: Mmu;
  /** The physical bus. */
  readonly bus: Bus;
  /** CSRs (privilege, data privilege). */
  readonly csr: CsrFile;
  /** Low halves of x0..x31. */
  readonly xl: Int32Array;
  /** High halves of x0..x31. */
  readonly xh: Int32Array;
  /** The LR reservation: RAM byte offset (or -1), the low and high word LR read. */
  readonly res: Float64Array;
  /** Watchpoints and triggers the accesses are checked against. */
  readonly debug: DebugUnit;
  /** Raises an exception: throws the trap sentinel. */
  raise(cause: number, tval: number): never;
  /** Makes the run loop come back to the hart before the next instruction. */
  resync(): void;
  /** Drops a RAM page's decoded instructions and blocks on every hart (it is being written). */
  dropDecodedPage(ramPage: number): void;
}

/** The slow paths of one hart's memory accesses. */
export class HartMemory {
  /** Load results from slow paths: low word returned, high word here. */
  loadHi = 0;
  readonly #h: MemoryHost;

  constructor(h: MemoryHost) {
    this.#h = h;
  }

  /** Translates `va` or raises the right fault for `kind`. */
  translate(va: number, kind: AccessKind, priv: number, fill: boolean): number {
    const pa = this.#h.mmu.translate(va, kind, priv, fill);
    if (pa === PAGE_FAULT) {
      this.#h.raise(
        kind === Access.FETCH
          ? Cause.FETCH_PAGE_FAULT
          : kind === Access.LOAD
          ? Cause.LOAD_PAGE_FAULT
          : Cause.STORE_PAGE_FAULT,
        va,
      );
    }
    if (pa === ACCESS_FAULT || pa < 0) this.accessFault(kind, va);
    return pa;
  }

  /** Raises the access fault of an access of `kind` at `va`. */
  accessFault(kind: AccessKind, va: number): never {
    this.#h.raise(
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
   * Returns the low 32 bits zero-extended by size; the high word is in loadHi.
   */
  loadSlow(va: number, size: number, priv: number): number {
    const hitOff = this.#tlbHit(va, size, Access.LOAD, priv);
    if (hitOff >= 0) {
      const ram = this.#h.bus.ram;
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        if (i < 4) lo |= ram[hitOff + i] << (8 * i);
        else hi |= ram[hitOff + i] << (8 * (i - 4));
      }
      this.loadHi = hi;
      return lo;
    }
    const pa = this.translate(va, Access.LOAD, priv, true);
    if (this.#h.debug.triggerAccess) this.#h.debug.accessTrigger(va, size, true, false);
    const bus = this.#h.bus;
    if ((va & 0xfff) + size > PAGE) { // crosses a page
      const pa2 = this.translate(pageBase(va) + PAGE, Access.LOAD, priv, true);
      if (bus.ramOffset(pa, 1) < 0 || bus.ramOffset(pa2, 1) < 0) {
        return this.#loadSplit(va, size, priv);
      }
      // RAM on both pages: byte by byte gives the bytes QEMU's split gives.
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        const b = this.loadSlow(va + i, 1, priv);
        if (i < 4) lo |= b << (8 * i);
        else hi |= b << (8 * (i - 4));
      }
      this.loadHi = hi;
      return lo;
    }
    const off = bus.ramOffset(pa, size);
    if (off < 0 && (pa & (size - 1)) !== 0) return this.#loadSplit(va, size, priv);
    const hit = this.#h.debug.watchpoints.length !== 0
      ? this.#h.debug.watch(va, pa, size, false)
      : null;
    if (off >= 0) {
      const ram = bus.ram;
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        if (i < 4) lo |= ram[off + i] << (8 * i);
        else hi |= ram[off + i] << (8 * (i - 4));
      }
      this.loadHi = hi;
      return lo;
    }
    const rule = bus.deviceRule(pa, size);
    if (rule === null) this.accessFault(Access.LOAD, va);
    this.#h.resync(); // devices may raise interrupts
    const lo = bus.loadDevice(pa, size as 1 | 2 | 4 | 8, rule);
    this.loadHi = bus.loadHi;
    if (hit !== null) hit.old = hit.value = BigInt.asUintN(8 * size, toBigInt(lo, this.loadHi));
    return lo;
  }

  /**
   * A misaligned load that reaches a device, as QEMU 7.2 makes it: the two
   * aligned loads of its width around it, lower first (each may fault at its
   * own address), combined.
   */
  #loadSplit(va: number, size: number, priv: number): number {
    const shift = va & (size - 1), first = va - shift;
    const r1 = toBigInt(this.loadSlow(first, size, priv), this.loadHi);
    const r2 = toBigInt(this.loadSlow(first + size, size, priv), this.loadHi);
    const value = combineSplitLoad(r1, r2, shift, size);
    this.loadHi = Number(value >> 32n) | 0;
    return Number(BigInt.asUintN(32, value)) | 0;
  }

  /**
   * The RAM offset of a `size`-byte access at `va` that the TLB maps (a
   * misaligned one: the hot paths make the aligned ones), or -1 to take the
   * full slow path. An entry exists only for RAM pages this access may use,
   * with A/D set, no watchpoint and (for stores) no decoded code, so the bytes
   * can be moved at once: Linux probes misaligned word copies at boot, and
   * each walked the page table again (7.4 M walks of a TLB-resident page).
   */
  #tlbHit(va: number, size: number, kind: AccessKind, priv: number): number {
    const po = va & 0xfff;
    if (po + size > PAGE || this.#h.debug.triggerAccess) return -1;
    const slot = (va >>> 12) & (TLB_SIZE - 1), t = priv * 3 + kind, mmu = this.#h.mmu;
    return mmu.tags[t][slot] === va - po ? mmu.offsets[t][slot] + po : -1;
  }

  /** Stores the low `size` bytes of (lo, hi) at `va` through the MMU. */
  storeSlow(va: number, size: number, lo: number, hi: number, priv: number): void {
    const hitOff = this.#tlbHit(va, size, Access.STORE, priv);
    if (hitOff >= 0) {
      const ram = this.#h.bus.ram;
      for (let i = 0; i < size; i++) {
        ram[hitOff + i] = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
      }
      return;
    }
    if ((va & 0xfff) + size > PAGE) {
      // Translate both pages before writing anything, so a fault leaves memory untouched.
      this.translate(va, Access.STORE, priv, false);
      this.translate(pageBase(va) + PAGE, Access.STORE, priv, false);
      if (this.#h.debug.triggerAccess) this.#h.debug.accessTrigger(va, size, false, true);
      for (let i = 0; i < size; i++) {
        const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
        this.storeSlow(va + i, 1, b & 0xff, 0, priv);
      }
      return;
    }
    const pa = this.translate(va, Access.STORE, priv, true);
    if (this.#h.debug.triggerAccess) this.#h.debug.accessTrigger(va, size, false, true);
    const bus = this.#h.bus;
    const off = bus.ramOffset(pa, size);
    if (off < 0 && (pa & (size - 1)) !== 0) {
      // QEMU 7.2 stores a misaligned access to a device byte by byte, up to the first fault.
      for (let i = 0; i < size; i++) {
        const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
        this.storeSlow(va + i, 1, b & 0xff, 0, priv);
      }
      return;
    }
    const hit = this.#h.debug.watchpoints.length !== 0
      ? this.#h.debug.watch(va, pa, size, true)
      : null;
    if (off >= 0) {
      this.#h.dropDecodedPage(off >> 12);
      const ram = bus.ram;
      for (let i = 0; i < size; i++) {
        ram[off + i] = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
      }
      return;
    }
    const rule = bus.deviceRule(pa, size);
    if (rule === null) this.accessFault(Access.STORE, va);
    this.#h.resync();
    if (hit !== null) hit.value = BigInt.asUintN(8 * size, toBigInt(lo, hi));
    bus.storeDevice(pa, size as 1 | 2 | 4 | 8, rule, lo, hi);
  }

  /** The bits of the instruction at `pc` (16 or 32), as illegal instruction's mtval; 0 if unreadable. */
  instructionBits(pc: number): number {
    const t = this.#h.csr.priv * 3 + Access.FETCH;
    const half = (va: number) => {
      // The instruction was just fetched, so its page is usually in the fetch TLB (no walk:
      // under the hypervisor every exit of a CSR access or sfence.vma comes here).
      const page = va - (va & 0xfff), slot = (va >>> 12) & (TLB_SIZE - 1);
      if (this.#h.mmu.tags[t][slot] === page) {
        return this.#h.bus.ram16[(this.#h.mmu.offsets[t][slot] + (va & 0xfff)) >> 1];
      }
      const pa = this.#h.mmu.translate(va, Access.FETCH, this.#h.csr.priv, false);
      return pa >= 0 && this.#h.bus.isMapped(pa, 2)
        ? (this.#h.bus.ramOffset(pa, 2) >= 0
          ? this.#h.bus.ram16[this.#h.bus.ramOffset(pa, 2) >> 1]
          : this.#h.bus.readDevice(pa, 2))
        : 0;
    };
    const lo = half(pc);
    return (lo & 3) === 3 ? ((half(pc + 2) << 16) | lo) >>> 0 : lo;
  }

  /**
   * A extension: LR/SC and AMOs on RAM (MMIO atomics are access faults). An
   * AMO is atomic across harts without more: harts take turns on one thread,
   * and each instruction runs whole within its hart's turn.
   */
  atomic(op: number, f5: number, rd: number, rs1: number, rs2: number): void {
    const xl = this.#h.xl, xh = this.#h.xh;
    const size = op === Op.AMO_D ? 8 : 4;
    const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0);
    const isLoad = f5 === Amo.LR;
    // Alignment from the register's low word: va is rounded above 2^53, the low bits are not.
    if ((xl[rs1] & (size - 1)) !== 0) {
      this.#h.raise(isLoad ? Cause.MISALIGNED_LOAD : Cause.MISALIGNED_STORE, va);
    }
    const kind = isLoad ? Access.LOAD : Access.STORE;
    // Entered into the TLB as other accesses are, so that translated blocks run the next ones.
    const pa = this.translate(va, kind, this.#h.csr.dataPriv, true);
    // QEMU: an AMO hits load and store triggers, LR load triggers, SC store triggers.
    if (this.#h.debug.triggerAccess) this.#h.debug.accessTrigger(va, size, f5 !== Amo.SC, !isLoad);
    if (this.#h.debug.watchpoints.length !== 0) this.#h.debug.watch(va, pa, size, !isLoad);
    const off = this.#h.bus.ramOffset(pa, size);
    if (off < 0) this.accessFault(kind, va);
    // As a store: a page just entered into the store TLB must hold no decoded code.
    if (!isLoad) this.#h.dropDecodedPage(off >> 12);
    atomicStep(this.#h.xl, this.#h.xh, op, f5, rd, rs2, this.#h.bus.ram32, off, this.#h.res);
  }
}

/** LR, SC and AMOs on RAM, from the same definitions as the translator's. */
const atomicStep = compileAtomicStep();
