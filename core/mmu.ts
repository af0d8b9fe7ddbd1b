/**
 * Address translation: Sv39 page-table walks with hardware A/D updates, PMP,
 * and the software TLB the interpreter's fast paths read.
 *
 * The TLB maps a 4 KiB virtual page to the byte offset of its RAM page, one
 * direct-mapped table per (privilege, access kind). Only RAM pages whose whole
 * 4 KiB have the same PMP outcome are cached; MMIO always takes the slow path.
 * Entries are valid only for the translation context they were filled in:
 * everything is flushed on satp, sfence.vma, SUM/MXR/MPRV/MPP changes and PMP
 * writes (the spec requires sfence.vma after PTE changes, so flushing there is
 * exactly enough).
 *
 * Addresses are JS numbers: virtual addresses are the signed value of the 64-bit
 * address (Sv39 needs |va| < 2^38), physical addresses are non-negative.
 *
 * @module
 */

import type { Bus } from "./bus.ts";

/** Access kinds, as indices into the per-privilege TLB tables. */
export const Access = { FETCH: 0, LOAD: 1, STORE: 2 } as const;

/** Access kind. */
export type AccessKind = 0 | 1 | 2;

/** Result codes of {@linkcode Mmu.translate} (physical addresses are >= 0... except bare ones). */
export const PAGE_FAULT = -1;
/** The walk or the access hit a physical address the PMP or the bus refuses. */
export const ACCESS_FAULT = -2;

/** Number of entries of each direct-mapped TLB table. */
export const TLB_SIZE = 512;
const TLB_MASK = TLB_SIZE - 1;

const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;
const PMP_R = 1, PMP_W = 2, PMP_X = 4, PMP_L = 0x80;
const TWO30 = 1 << 30;
const SV39_LIMIT = 2 ** 38;

/** Number of PMP entries (as QEMU 7.2's virt cpu). */
export const PMP_COUNT = 16;

/** Saved state of an {@linkcode Mmu} (plain JSON). */
export interface MmuState {
  /** satp.MODE. */
  satpMode: number;
  /** satp.PPN. */
  satpPpn: number;
  /** mstatus.SUM. */
  sum: boolean;
  /** mstatus.MXR. */
  mxr: boolean;
  /** pmpcfg bytes. */
  pmpcfg: number[];
  /** pmpaddr low words. */
  pmpaddrLo: number[];
  /** pmpaddr high words. */
  pmpaddrHi: number[];
  /** {@linkcode Mmu.pmpGeneration}. */
  pmpGeneration: number;
}

/** The translation state and the TLB of one hart. */
export class Mmu {
  /** TLB tags: page base address per slot, NaN when empty. Index: priv * 3 + kind. */
  readonly tags: Float64Array[] = [];
  /** TLB data: RAM byte offset of the page per slot. */
  readonly offsets: Int32Array[] = [];
  /** satp.MODE: 0 = Bare, 8 = Sv39. */
  satpMode = 0;
  /** satp.PPN as a number. */
  satpPpn = 0;
  /** mstatus.SUM. */
  sum = false;
  /** mstatus.MXR. */
  mxr = false;
  /** pmpcfg bytes. */
  readonly pmpcfg: Uint8Array = new Uint8Array(PMP_COUNT);
  /** pmpaddr values, low 32 bits (54 bits in all: more than a double holds exactly). */
  readonly pmpaddrLo: Uint32Array = new Uint32Array(PMP_COUNT);
  /** pmpaddr values, bits 32..53. */
  readonly pmpaddrHi: Uint32Array = new Uint32Array(PMP_COUNT);
  #pmpLo = new Float64Array(PMP_COUNT);
  #pmpHi = new Float64Array(PMP_COUNT);
  #pmpActive = false;

  /** True if at least one PMP entry is active (QEMU refuses mret/sret to S/U otherwise). */
  get pmpActive(): boolean {
    return this.#pmpActive;
  }
  /**
   * Flags (low PTE byte) of the leaf of the last successful Sv39 walk, or all of
   * R, W, X, A, D for untranslated accesses: shadow paging copies them.
   */
  leafFlags = 0;
  /** Level of the leaf of the last successful walk: 0 (4 KiB), 1 (2 MiB) or 2 (1 GiB). */
  leafLevel = 0;
  /** Bumped whenever the PMP configuration changes (shadow page tables depend on it). */
  pmpGeneration = 0;
  /**
   * Virtual page bases with watchpoints: never entered into the TLB, so every
   * access to them takes the slow path where watchpoints are checked.
   */
  readonly watchedPages: Set<number> = new Set();
  /** Called whenever cached translations are dropped (the hart drops its page pointers). */
  onFlush: (() => void) | null = null;

  /**
   * @param tlb the TLB's tables in given memory (core/wasm-jit.ts: where wasm blocks read
   *   them), 4 x 3 of each, {@linkcode TLB_SIZE} entries.
   */
  constructor(readonly bus: Bus, tlb?: { tags: Float64Array[]; offsets: Int32Array[] }) {
    if (tlb !== undefined && (tlb.tags.length !== 4 * 3 || tlb.offsets.length !== 4 * 3)) {
      throw new RangeError(`Mmu: ${tlb.tags.length} TLB tables given, ${4 * 3} needed`);
    }
    for (let i = 0; i < 4 * 3; i++) {
      this.tags.push((tlb?.tags[i] ?? new Float64Array(TLB_SIZE)).fill(NaN));
      this.offsets.push(tlb?.offsets[i] ?? new Int32Array(TLB_SIZE));
    }
  }

  /**
   * The translation state for a snapshot: satp fields, SUM/MXR and the PMP
   * registers. The TLB is a cache and is never saved.
   */
  saveState(): MmuState {
    return {
      satpMode: this.satpMode,
      satpPpn: this.satpPpn,
      sum: this.sum,
      mxr: this.mxr,
      pmpcfg: [...this.pmpcfg],
      pmpaddrLo: [...this.pmpaddrLo],
      pmpaddrHi: [...this.pmpaddrHi],
      pmpGeneration: this.pmpGeneration,
    };
  }

  /** Restores {@linkcode saveState}'s state; drops the TLB. */
  loadState(state: MmuState): void {
    this.satpMode = state.satpMode;
    this.satpPpn = state.satpPpn;
    this.sum = state.sum;
    this.mxr = state.mxr;
    // Assigned directly: setPmpcfg would refuse writes to entries locked in the current state.
    this.pmpcfg.set(state.pmpcfg);
    this.pmpaddrLo.set(state.pmpaddrLo);
    this.pmpaddrHi.set(state.pmpaddrHi);
    this.#recomputePmp();
    // Shadow page tables are keyed by the generation: restore it after the recompute bumped it.
    this.pmpGeneration = state.pmpGeneration;
  }

  /** Drops every cached translation. */
  flush(): void {
    for (const t of this.tags) t.fill(NaN);
    this.onFlush?.();
  }

  /** Drops the cached translations of the 4 KiB page of `va`, for every privilege and access. */
  flushPage(va: number): void {
    const slot = (va >>> 12) & TLB_MASK;
    for (const tags of this.tags) tags[slot] = NaN;
  }

  /** Drops cached store translations to the RAM page at byte offset `ramOff` (code pages). */
  dropStoreEntriesFor(ramOff: number): void {
    for (let p = 0; p < 4; p++) {
      const tags = this.tags[p * 3 + Access.STORE], offs = this.offsets[p * 3 + Access.STORE];
      for (let i = 0; i < TLB_SIZE; i++) if (offs[i] === ramOff) tags[i] = NaN;
    }
  }

  /**
   * Translates `va` for an access of `kind` at effective privilege `priv`.
   * Returns the physical address, PAGE_FAULT or ACCESS_FAULT (access faults of
   * the walk itself). Sets A/D bits in the PTE as QEMU does. With `fill`, a RAM
   * page whose PMP outcome is uniform is entered into the TLB.
   */
  translate(va: number, kind: AccessKind, priv: number, fill: boolean): number {
    let pa: number;
    if (priv === 3 || this.satpMode === 0) {
      // Without translation the address is physical: at or above 2^63 (negative
      // here) it names no memory, and must not alias the PAGE_FAULT/ACCESS_FAULT
      // sentinels (a load from -1 was a page fault; found by scripts/decoder-diff.ts).
      if (va < 0) return ACCESS_FAULT;
      pa = va;
      this.leafFlags = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D; // no U: bare memory has no owner
      this.leafLevel = 0;
    } else {
      pa = this.#walk(va, kind, priv);
      if (pa < 0) return pa;
    }
    if (!this.pmpAllows(pa, 1, kind, priv)) return ACCESS_FAULT;
    if (fill) {
      const pageOff = this.bus.ramOffset(pa - (pa & 0xfff), 4096);
      const watched = this.watchedPages.size !== 0 && this.watchedPages.has(va - (va & 0xfff));
      if (pageOff >= 0 && !watched && this.pmpUniform(pa - (pa & 0xfff))) {
        const slot = (va >>> 12) & TLB_MASK;
        this.tags[priv * 3 + kind][slot] = va - (va & 0xfff);
        this.offsets[priv * 3 + kind][slot] = pageOff;
      }
    }
    return pa;
  }

  /** The Sv39 walk of privileged spec 1.12 section 4.3.2, with A/D set by "hardware". */
  #walk(va: number, kind: AccessKind, priv: number): number {
    if (va < -SV39_LIMIT || va >= SV39_LIMIT) return PAGE_FAULT; // not sign-extended from bit 38
    const ram32 = this.bus.ram32;
    let table = this.satpPpn * 4096;
    for (let level = 2; level >= 0; level--) {
      const vpn = level === 2 ? Math.floor(va / TWO30) & 0x1ff : (va >>> (12 + 9 * level)) & 0x1ff;
      const pteAddr = table + vpn * 8;
      // The walk's own accesses are S-mode loads for PMP purposes.
      const off = this.bus.ramOffset(pteAddr, 8);
      if (off < 0 || !this.pmpAllows(pteAddr, 8, Access.LOAD, 1)) return ACCESS_FAULT;
      let lo = ram32[off >> 2];
      const hi = ram32[(off >> 2) + 1];
      if ((lo & PTE_V) === 0 || ((lo & PTE_R) === 0 && (lo & PTE_W) !== 0)) return PAGE_FAULT;
      const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
      if ((lo & (PTE_R | PTE_X)) === 0) { // pointer to the next level
        if ((lo & (PTE_A | PTE_D | PTE_U)) !== 0) return PAGE_FAULT; // reserved for non-leaf PTEs
        table = ppn * 4096;
        continue;
      }
      if ((hi >>> 22) !== 0) return PAGE_FAULT; // bits 63:54 are reserved (no Svpbmt/Svnapot)
      if (priv === 0 ? (lo & PTE_U) === 0 : (lo & PTE_U) !== 0 && (kind === 0 || !this.sum)) {
        return PAGE_FAULT;
      }
      const allowed = kind === Access.FETCH
        ? (lo & PTE_X) !== 0
        : kind === Access.LOAD
        ? (lo & PTE_R) !== 0 || (this.mxr && (lo & PTE_X) !== 0)
        : (lo & PTE_W) !== 0;
      if (!allowed) return PAGE_FAULT;
      const superSpan = level === 0 ? 1 : level === 1 ? 512 : 262144; // pages per leaf
      if (ppn % superSpan !== 0) return PAGE_FAULT; // misaligned superpage
      const want = PTE_A | (kind === Access.STORE ? PTE_D : 0);
      if ((lo & want) !== want) {
        lo |= want;
        ram32[off >> 2] = lo;
        this.bus.onRamWritten?.(pteAddr, 8);
      }
      const pageOffsetMask = superSpan * 4096 - 1; // below 2^31, so & is exact
      this.leafFlags = lo & 0xff;
      this.leafLevel = level;
      return ppn * 4096 + (va & pageOffsetMask);
    }
    return PAGE_FAULT;
  }

  /** Writes pmpcfg byte `i` (ignored when the entry is locked). */
  setPmpcfg(i: number, value: number): void {
    if (this.pmpcfg[i] & PMP_L) return;
    this.pmpcfg[i] = value & 0x9f; // bits 5-6 are reserved, read as zero
    this.#recomputePmp();
  }

  /** Writes pmpaddr `i` (ignored when locked, or when entry i+1 is a locked TOR). */
  setPmpaddr(i: number, lo: number, hi: number): void {
    if (this.pmpcfg[i] & PMP_L) return;
    const next = i + 1 < PMP_COUNT ? this.pmpcfg[i + 1] : 0;
    if ((next & PMP_L) && ((next >> 3) & 3) === 1) return;
    this.pmpaddrLo[i] = lo;
    this.pmpaddrHi[i] = hi & 0x3fffff;
    this.#recomputePmp();
  }

  #recomputePmp(): void {
    this.#pmpActive = false;
    for (let i = 0; i < PMP_COUNT; i++) {
      const mode = (this.pmpcfg[i] >> 3) & 3;
      const aLo = this.pmpaddrLo[i], aHi = this.pmpaddrHi[i];
      // Byte address of pmpaddr (x4): below 2^56, and exact once the low bits are cleared.
      const byteAddr = (l: number, h: number) => (h * 4294967296 + l) * 4;
      let lo = 0, hi = 0;
      if (mode === 1) { // TOR
        lo = i === 0 ? 0 : byteAddr(this.pmpaddrLo[i - 1], this.pmpaddrHi[i - 1]);
        hi = byteAddr(aLo, aHi);
      } else if (mode === 2) { // NA4
        lo = byteAddr(aLo, aHi);
        hi = lo + 4;
      } else if (mode === 3) { // NAPOT: trailing ones encode the size
        let ones = 0;
        while (ones < 32 && ((aLo >>> ones) & 1) === 1) ones++;
        if (ones === 32) { while (ones < 54 && ((aHi >>> (ones - 32)) & 1) === 1) ones++; }
        const size = 2 ** (ones + 3);
        const base = byteAddr(aLo, aHi);
        lo = base - (base % size);
        hi = lo + size;
      }
      this.#pmpLo[i] = lo;
      this.#pmpHi[i] = hi;
      if (mode !== 0) this.#pmpActive = true;
    }
    this.pmpGeneration++;
    this.flush();
  }

  /**
   * PMP check of privileged spec 3.7.1: the lowest-numbered entry that matches
   * any byte decides, and must cover the whole access. With no active entry,
   * S and U accesses fail (the spec's rule when entries are implemented; QEMU 7.2).
   */
  pmpAllows(pa: number, size: number, kind: AccessKind, priv: number): boolean {
    if (!this.#pmpActive) return priv === 3;
    const need = kind === Access.FETCH ? PMP_X : kind === Access.LOAD ? PMP_R : PMP_W;
    for (let i = 0; i < PMP_COUNT; i++) {
      const cfg = this.pmpcfg[i];
      if ((cfg & 0x18) === 0) continue;
      const lo = this.#pmpLo[i], hi = this.#pmpHi[i];
      if (pa + size <= lo || pa >= hi) continue;
      if (pa < lo || pa + size > hi) return false; // partial match fails
      if (priv === 3 && (cfg & PMP_L) === 0) return true;
      return (cfg & need) !== 0;
    }
    return priv === 3;
  }

  /** True if no PMP entry boundary falls inside the 4 KiB page at `base`. */
  pmpUniform(base: number): boolean {
    if (!this.#pmpActive) return true;
    for (let i = 0; i < PMP_COUNT; i++) {
      if ((this.pmpcfg[i] & 0x18) === 0) continue;
      const lo = this.#pmpLo[i], hi = this.#pmpHi[i];
      if ((lo > base && lo < base + 4096) || (hi > base && hi < base + 4096)) return false;
    }
    return true;
  }
}
