/**
 * The debug trigger module (Sdtrig) as QEMU 7.2 has it (target/riscv/debug.c
 * in v7.2.0, measured against qemu-system-riscv64 7.2): two triggers, each an
 * address match of type 2 (mcontrol) or 6 (mcontrol6) on execute, load and
 * store, for the modes in its M/S/U bits, whose only action is a breakpoint
 * exception (cause 3, tval 0) before the instruction or access.
 *
 * The state is plain data beside the CSRs; the hart asks {@linkcode
 * Triggers.armed} before it looks further, so unarmed triggers cost nothing
 * on its paths. Under the hypervisor the guest's vCPU has a module of its own
 * (its virtual trigger CSRs), mirrored into the host hart's for the guest's
 * current mode.
 *
 * @module
 */

import { Csr } from "./csr.ts";
import { out, toNumber } from "./int64.ts";

/** QEMU 7.2's RV_MAX_TRIGGERS. */
const TRIGGER_COUNT = 2;

/** tdata1 bits of an address-match trigger (types 2 and 6 share them). */
const Mcontrol = {
  LOAD: 1 << 0,
  STORE: 1 << 1,
  EXECUTE: 1 << 2,
  U: 1 << 3,
  S: 1 << 4,
  M: 1 << 6,
} as const;

/** tdata1's type field (bits 63:60) is the high word's top nibble. */
const TYPE_SHIFT = 28;
const TYPE_MCONTROL = 2;
const TYPE_MCONTROL6 = 6;
/** tinfo: the types every trigger supports (2 and 6). */
const TINFO = (1 << TYPE_MCONTROL) | (1 << TYPE_MCONTROL6);
const MODES = Mcontrol.U | Mcontrol.S | Mcontrol.M;
const RWX = Mcontrol.LOAD | Mcontrol.STORE | Mcontrol.EXECUTE;
/** mcontrol6's VS and VU bits (23, 24): kept as written, never matched (no H extension). */
const MCONTROL6_VSVU = 3 << 23;

/**
 * Per type: the size field's bits in tdata1's low word, and how a size code
 * is read from them. QEMU keeps the field only for the codes it supports
 * (0 any, 1, 2, 3, 5); any other code drops the whole field.
 */
const SIZE_FIELD: Readonly<Record<number, { mask: number; code: (lo: number) => number }>> = {
  // mcontrol: sizelo in bits 17:16, sizehi in bits 22:21.
  [TYPE_MCONTROL]: {
    mask: (3 << 16) | (3 << 21),
    code: (lo) => ((lo >>> 16) & 3) | (((lo >>> 21) & 3) << 2),
  },
  // mcontrol6: size in bits 19:16.
  [TYPE_MCONTROL6]: { mask: 15 << 16, code: (lo) => (lo >>> 16) & 15 },
};
const SUPPORTED_SIZE_CODES: ReadonlySet<number> = new Set([0, 1, 2, 3, 5]);

/**
 * Bytes a load/store trigger watches from tdata2 for a size code: QEMU 7.2
 * passes the code itself as the watchpoint's length (so code 3, "4 bytes",
 * watches 3 and code 5, "8 bytes", watches 5), and 8 bytes for "any size".
 */
function watchLength(code: number): number {
  return code === 0 ? 8 : code;
}

/** Saved state of a {@linkcode Triggers} (plain JSON). */
export interface TriggersState {
  /** tselect. */
  select: number;
  /** tdata1 of each trigger as [low, high]. */
  tdata1: number[][];
  /** tdata2 of each trigger as [low, high]. */
  tdata2: number[][];
}

/** One hart's trigger CSRs (tselect, tdata1..3, tinfo) and their matching rules. */
export class Triggers {
  /** Called after a write that may change what fires (the hart re-arms its checks). */
  onChange: () => void = () => {};
  /** True if any trigger can fire: the hart's one check before it looks further. */
  armed = false;
  #select = 0;
  readonly #tdata1Lo = new Int32Array(TRIGGER_COUNT);
  readonly #tdata1Hi = new Int32Array(TRIGGER_COUNT);
  readonly #tdata2Lo = new Int32Array(TRIGGER_COUNT);
  readonly #tdata2Hi = new Int32Array(TRIGGER_COUNT);

  constructor() {
    this.reset();
  }

  /** Reset: tselect 0, both triggers type 2 with nothing enabled, tdata2 0. */
  reset(): void {
    this.#select = 0;
    this.#tdata1Lo.fill(0);
    this.#tdata1Hi.fill(TYPE_MCONTROL << TYPE_SHIFT);
    this.#tdata2Lo.fill(0);
    this.#tdata2Hi.fill(0);
    this.#changed();
  }

  /** The plain-data state for a snapshot. */
  saveState(): TriggersState {
    const pairs = (lo: Int32Array, hi: Int32Array) => [...lo].map((l, i) => [l, hi[i]]);
    return {
      select: this.#select,
      tdata1: pairs(this.#tdata1Lo, this.#tdata1Hi),
      tdata2: pairs(this.#tdata2Lo, this.#tdata2Hi),
    };
  }

  /** Restores {@linkcode saveState}'s state. */
  loadState(state: TriggersState): void {
    this.#select = state.select;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      [this.#tdata1Lo[i], this.#tdata1Hi[i]] = state.tdata1[i];
      [this.#tdata2Lo[i], this.#tdata2Hi[i]] = state.tdata2[i];
    }
    this.#changed();
  }

  /** True if `csr` is one of the trigger CSRs QEMU 7.2 has (tselect, tdata1..3, tinfo). */
  static has(csr: number): boolean {
    return csr >= Csr.tselect && csr <= Csr.tinfo;
  }

  /** Reads trigger CSR `csr` into out[0..1]. */
  read(csr: number): void {
    const i = this.#select;
    let lo = 0, hi = 0;
    if (csr === Csr.tselect) lo = i;
    else if (csr === Csr.tdata1) lo = this.#tdata1Lo[i], hi = this.#tdata1Hi[i];
    else if (csr === Csr.tdata2) lo = this.#tdata2Lo[i], hi = this.#tdata2Hi[i];
    else if (csr === Csr.tinfo) lo = TINFO;
    out[0] = lo, out[1] = hi; // tdata3 of types 2 and 6 reads 0 and ignores writes
  }

  /** Writes trigger CSR `csr` with QEMU 7.2's legalisation. */
  write(csr: number, lo: number, hi: number): void {
    if (csr === Csr.tselect) {
      if (hi === 0 && (lo >>> 0) < TRIGGER_COUNT) this.#select = lo;
      return;
    }
    const i = this.#select;
    if (csr === Csr.tdata2) {
      // Only types 2 and 6 exist here (other types are never written), and both take an address.
      this.#tdata2Lo[i] = lo, this.#tdata2Hi[i] = hi;
      this.#changed();
      return;
    }
    if (csr !== Csr.tdata1) return;
    // The written type decides: QEMU ignores writes of types it does not implement.
    const type = hi >>> TYPE_SHIFT;
    const size = SIZE_FIELD[type];
    if (size === undefined) return;
    const keep = MODES | RWX | (type === TYPE_MCONTROL6 ? MCONTROL6_VSVU : 0) |
      (SUPPORTED_SIZE_CODES.has(size.code(lo)) ? size.mask : 0);
    // dmode, action, chain, match, timing, select and hit read as zero (action 0 = breakpoint).
    this.#tdata1Lo[i] = lo & keep;
    this.#tdata1Hi[i] = type << TYPE_SHIFT;
    this.#changed();
  }

  /** Sets trigger `i` directly (no CSR legalisation); notifies only when something changed. */
  #setRaw(i: number, tdata1Lo: number, tdata1Hi: number, tdata2Lo: number, tdata2Hi: number): void {
    if (
      this.#tdata1Lo[i] === tdata1Lo && this.#tdata1Hi[i] === tdata1Hi &&
      this.#tdata2Lo[i] === tdata2Lo && this.#tdata2Hi[i] === tdata2Hi
    ) return;
    this.#tdata1Lo[i] = tdata1Lo, this.#tdata1Hi[i] = tdata1Hi;
    this.#tdata2Lo[i] = tdata2Lo, this.#tdata2Hi[i] = tdata2Hi;
    this.#changed();
  }

  /**
   * Makes these triggers stand in for `from`'s while `from`'s hart runs in
   * mode `priv` here in mode `as`: each of `from`'s triggers that fires in
   * `priv` fires here in `as`, the others in `idle`, a mode this hart never
   * runs in, so that they stay armed in place and a switch of `priv` re-arms
   * nothing (no decode-cache or TLB flush). The hypervisor mirrors the guest's
   * virtual triggers (the guest's mode) into the host hart's (host U-mode,
   * where the guest runs at its own virtual addresses; idle: host S-mode).
   */
  mirror(from: Triggers, priv: number, as: number, idle: number): void {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const c = from.#tdata1Lo[i];
      const mode = (c & MODES) === 0 ? 0 : this.#modeMatches(c, priv) ? 8 << as : 8 << idle;
      const lo = (c & ~(MODES | MCONTROL6_VSVU)) | mode;
      this.#setRaw(i, lo, from.#tdata1Hi[i], from.#tdata2Lo[i], from.#tdata2Hi[i]);
    }
  }

  /** The address trigger `i` compares with. */
  #address(i: number): number {
    return toNumber(this.#tdata2Lo[i], this.#tdata2Hi[i]);
  }

  /** Addresses of the triggers enabled for execution in some mode (breakpoints to plant). */
  executeAddresses(): number[] {
    const a: number[] = [];
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if (this.#enabled(i) && (this.#tdata1Lo[i] & Mcontrol.EXECUTE)) a.push(this.#address(i));
    }
    return a;
  }

  /** [start, end) of each trigger enabled for loads or stores in some mode (pages to watch). */
  accessRanges(): [number, number][] {
    const r: [number, number][] = [];
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if (this.#enabled(i) && (this.#tdata1Lo[i] & (Mcontrol.LOAD | Mcontrol.STORE))) {
        const start = this.#address(i);
        r.push([start, start + this.#length(i)]);
      }
    }
    return r;
  }

  /** True if an execute trigger fires for the instruction at `pc` in mode `priv`. */
  matchExecute(pc: number, priv: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const c = this.#tdata1Lo[i];
      if ((c & Mcontrol.EXECUTE) && this.#modeMatches(c, priv) && this.#address(i) === pc) {
        return true;
      }
    }
    return false;
  }

  /**
   * True if a load (`read`) or store (`write`) trigger fires for an access of
   * `size` bytes at `va` in mode `priv` (an AMO is both): the access overlaps
   * the trigger's watched bytes. QEMU compares with the hart's privilege, not
   * the MPRV-effective one.
   */
  matchAccess(va: number, size: number, read: boolean, write: boolean, priv: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const c = this.#tdata1Lo[i];
      const kinds = (read ? Mcontrol.LOAD : 0) | (write ? Mcontrol.STORE : 0);
      if ((c & kinds) === 0 || !this.#modeMatches(c, priv)) continue;
      const start = this.#address(i);
      if (va < start + this.#length(i) && start < va + size) return true;
    }
    return false;
  }

  /** Mode bit of `priv` in tdata1's low word `c` (U bit 3, S bit 4, M bit 6: 8 << priv). */
  #modeMatches(c: number, priv: number): boolean {
    return ((c >>> 3) & (1 << priv)) !== 0;
  }

  #enabled(i: number): boolean {
    const c = this.#tdata1Lo[i];
    return (c & MODES) !== 0 && (c & RWX) !== 0;
  }

  #length(i: number): number {
    return watchLength(SIZE_FIELD[this.#tdata1Hi[i] >>> TYPE_SHIFT].code(this.#tdata1Lo[i]));
  }

  #changed(): void {
    let armed = false;
    for (let i = 0; i < TRIGGER_COUNT; i++) armed ||= this.#enabled(i);
    this.armed = armed;
    this.onChange();
  }
}
