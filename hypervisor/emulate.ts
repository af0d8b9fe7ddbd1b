/**
 * Emulation of guest instructions that cannot run natively in host U-mode:
 * CSR instructions on the virtual CSRs, and loads and stores that reach guest
 * devices (MMIO) or that virtual M-mode makes through MPRV.
 *
 * Guest faults found while emulating are thrown as {@linkcode GuestFault} and
 * injected by the exit handler, exactly as the instruction would have trapped.
 * The guest's debug triggers and the debugger's watchpoints see these accesses
 * as they see the guest's native ones (the host hart checks those).
 *
 * @module
 */

import { combineSplitLoad } from "../core/bus.ts";
import { Cause } from "../core/csr.ts";
import { decodeAt, type Decoded, Op } from "../core/decode.ts";
import type { Hart } from "../core/hart.ts";
import { out, readLittleEndian, toBigInt } from "../core/int64.ts";
import { Access, ACCESS_FAULT, type AccessKind, PAGE_FAULT } from "../core/mmu.ts";
import type { Guest } from "./guest.ts";
import { peekTranslate } from "./inspect.ts";

const TWO32 = 4294967296;

/** A guest exception found during emulation. */
export class GuestFault {
  constructor(readonly cause: number, readonly tval: number) {}
}

/** A decoded guest instruction and its length. */
export interface GuestInstruction extends Decoded {
  /** 2 or 4. */
  length: number;
  /** The raw instruction bits (16 or 32), for mtval. */
  bits: number;
}

/** Load/store ops: size in bytes, and whether a load sign-extends. */
const MEMORY_OPS: ReadonlyMap<number, { size: number; signed: boolean; store: boolean }> = new Map([
  [Op.LB, { size: 1, signed: true, store: false }],
  [Op.LH, { size: 2, signed: true, store: false }],
  [Op.LW, { size: 4, signed: true, store: false }],
  [Op.LD, { size: 8, signed: true, store: false }],
  [Op.LBU, { size: 1, signed: false, store: false }],
  [Op.LHU, { size: 2, signed: false, store: false }],
  [Op.LWU, { size: 4, signed: false, store: false }],
  [Op.SB, { size: 1, signed: false, store: true }],
  [Op.SH, { size: 2, signed: false, store: true }],
  [Op.SW, { size: 4, signed: false, store: true }],
  [Op.SD, { size: 8, signed: false, store: true }],
]);

/**
 * Decodes raw instruction bits as reported in host mtval (illegal instruction),
 * into `into` if given (exits reuse one record instead of allocating one each).
 */
export function decodeBits(
  bits: number,
  into: GuestInstruction = { packed: 0, imm: 0, length: 0, bits: 0 },
): GuestInstruction {
  into.bits = bits >>> 0;
  into.length = decodeAt(bits & 0xffff, (bits >>> 16) & 0xffff, into);
  return into;
}

/** Emulates guest loads and stores against the guest's translation and devices. */
export class MemoryEmulator {
  /** The record {@linkcode fetch} decodes into (valid until the next fetch). */
  readonly #insn: GuestInstruction = { packed: 0, imm: 0, length: 0, bits: 0 };

  constructor(readonly hart: Hart, readonly guest: Guest) {}

  /**
   * Fetches and decodes the guest instruction at `pc` (its page is mapped: it
   * was executing); the record is reused by the next fetch.
   */
  fetch(pc: number): GuestInstruction {
    const lo = this.#hostHalf(pc);
    const hi = (lo & 3) === 3 ? this.#hostHalf(pc + 2) : 0;
    return decodeBits(((hi << 16) | lo) >>> 0, this.#insn);
  }

  #hostHalf(va: number): number {
    const pa = this.hart.translateForDebug(va, Access.FETCH);
    const off = pa === null ? -1 : this.hart.bus.ramOffset(pa, 2);
    if (off < 0) throw new GuestFault(Cause.FETCH_ACCESS, va);
    return this.hart.bus.ram16[off >> 1];
  }

  /**
   * Performs the load or store `insn` at guest privilege `priv`; returns false
   * if it is not a plain load or store (AMOs to devices are access faults).
   */
  execute(insn: GuestInstruction, priv: number): boolean {
    const op = insn.packed & 0xff;
    const info = MEMORY_OPS.get(op);
    if (info === undefined) return false;
    const xl = this.hart.xl, xh = this.hart.xh;
    const rd = (insn.packed >> 8) & 31, rs1 = (insn.packed >> 13) & 31;
    const rs2 = (insn.packed >> 18) & 31;
    const va = xh[rs1] * TWO32 + (xl[rs1] >>> 0) + insn.imm;
    // Watch hooks see emulated accesses as they see the hart's own (values as unsigned bytes).
    const watched = this.hart.watchpoints.length !== 0;
    if (info.store) {
      const old = watched ? this.#peek(va, info.size, priv) : null;
      this.#store(va, info.size, xl[rs2], xh[rs2], priv);
      if (watched) {
        const value = BigInt.asUintN(8 * info.size, toBigInt(xl[rs2], xh[rs2]));
        this.hart.watchAccess(va, info.size, true, old, value);
      }
      return true;
    }
    let lo = this.#load(va, info.size, priv);
    let hi = out[1];
    if (watched) {
      const value = BigInt.asUintN(8 * info.size, toBigInt(lo, hi));
      this.hart.watchAccess(va, info.size, false, value, value);
    }
    if (info.size < 8) {
      const shift = 32 - 8 * info.size;
      if (info.size < 4) {
        lo = info.signed ? (lo << shift) >> shift : lo & ((1 << (8 * info.size)) - 1);
      }
      hi = info.signed ? lo >> 31 : 0;
    }
    if (rd !== 0) xl[rd] = lo, xh[rd] = hi;
    return true;
  }

  /**
   * The RAM bytes a store to `va` is about to overwrite, read without side
   * effects (null for a device, or an access crossing a page).
   */
  #peek(va: number, size: number, priv: number): bigint | null {
    if ((va & 0xfff) + size > 4096) return null;
    const bus = this.guest.bus;
    const gpa = peekTranslate(bus, this.guest.vcpu.mmu, va, priv === 3);
    const off = gpa === null ? -1 : bus.ramOffset(gpa, size);
    return off < 0 ? null : readLittleEndian(bus.ram, off, size);
  }

  /** Guest-physical address of `va` for `kind`, or a thrown guest fault. */
  #translate(va: number, kind: AccessKind, priv: number): number {
    const gpa = this.guest.vcpu.mmu.translate(va, kind, priv, false);
    if (gpa === PAGE_FAULT) {
      throw new GuestFault(
        kind === Access.LOAD ? Cause.LOAD_PAGE_FAULT : Cause.STORE_PAGE_FAULT,
        va,
      );
    }
    if (gpa === ACCESS_FAULT) this.#accessFault(kind, va);
    return gpa;
  }

  /**
   * The guest's breakpoint exception if one of its triggers matches the access
   * (in the guest's own mode, as the hart compares it: not the MPRV one).
   */
  #trigger(va: number, size: number, store: boolean): void {
    const vcpu = this.guest.vcpu, triggers = vcpu.csr.triggers;
    if (triggers.armed && triggers.matchAccess(va, size, !store, store, vcpu.priv)) {
      throw new GuestFault(Cause.BREAKPOINT, 0);
    }
  }

  #accessFault(kind: AccessKind, va: number): never {
    throw new GuestFault(kind === Access.LOAD ? Cause.LOAD_ACCESS : Cause.STORE_ACCESS, va);
  }

  /** Loads `size` bytes; returns the low word, the high word in out[1]. */
  #load(va: number, size: number, priv: number): number {
    const bus = this.guest.bus;
    const gpa = this.#translate(va, Access.LOAD, priv);
    if ((va & 0xfff) + size > 4096) { // crosses a page
      const gpa2 = this.#translate(va - (va & 0xfff) + 4096, Access.LOAD, priv);
      if (bus.ramOffset(gpa, 1) < 0 || bus.ramOffset(gpa2, 1) < 0) {
        return this.#loadSplit(va, size, priv);
      }
      // RAM on both pages: byte by byte gives the bytes QEMU's split gives.
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        const b = this.#load(va + i, 1, priv);
        if (i < 4) lo |= b << (8 * i);
        else hi |= b << (8 * (i - 4));
      }
      out[1] = hi;
      return lo;
    }
    if (!this.guest.vcpu.mmu.pmpAllows(gpa, size, Access.LOAD, priv)) {
      this.#accessFault(Access.LOAD, va);
    }
    this.#trigger(va, size, false);
    const off = bus.ramOffset(gpa, size);
    if (off >= 0) {
      let lo = 0, hi = 0;
      for (let i = 0; i < size; i++) {
        if (i < 4) lo |= bus.ram[off + i] << (8 * i);
        else hi |= bus.ram[off + i] << (8 * (i - 4));
      }
      out[1] = hi;
      return lo;
    }
    if ((gpa & (size - 1)) !== 0) return this.#loadSplit(va, size, priv);
    const rule = bus.deviceRule(gpa, size);
    if (rule === null) this.#accessFault(Access.LOAD, va);
    const lo = bus.loadDevice(gpa, size as 1 | 2 | 4 | 8, rule);
    out[1] = bus.loadHi;
    return lo;
  }

  /** A misaligned load that reaches a device, split as the hart splits it (QEMU 7.2's way). */
  #loadSplit(va: number, size: number, priv: number): number {
    const shift = va & (size - 1), first = va - shift;
    const r1 = toBigInt(this.#load(first, size, priv), out[1]);
    const r2 = toBigInt(this.#load(first + size, size, priv), out[1]);
    const value = combineSplitLoad(r1, r2, shift, size);
    out[1] = Number(value >> 32n) | 0;
    return Number(BigInt.asUintN(32, value)) | 0;
  }

  #store(va: number, size: number, lo: number, hi: number, priv: number): void {
    const bus = this.guest.bus;
    if ((va & 0xfff) + size > 4096) {
      // Both pages must be writable before anything is written.
      this.#translate(va, Access.STORE, priv);
      this.#translate(va - (va & 0xfff) + 4096, Access.STORE, priv);
      this.#trigger(va, size, true);
      this.#storeBytes(va, size, lo, hi, priv);
      return;
    }
    const gpa = this.#translate(va, Access.STORE, priv);
    if (!this.guest.vcpu.mmu.pmpAllows(gpa, size, Access.STORE, priv)) {
      this.#accessFault(Access.STORE, va);
    }
    this.#trigger(va, size, true);
    const off = bus.ramOffset(gpa, size);
    if (off >= 0) {
      for (let i = 0; i < size; i++) {
        bus.ram[off + i] = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
      }
      bus.onRamWritten?.(gpa, size);
      return;
    }
    // QEMU 7.2 stores a misaligned access to a device byte by byte, up to the first fault.
    if ((gpa & (size - 1)) !== 0) return this.#storeBytes(va, size, lo, hi, priv);
    const rule = bus.deviceRule(gpa, size);
    if (rule === null) this.#accessFault(Access.STORE, va);
    bus.storeDevice(gpa, size as 1 | 2 | 4 | 8, rule, lo, hi);
  }

  #storeBytes(va: number, size: number, lo: number, hi: number, priv: number): void {
    for (let i = 0; i < size; i++) {
      this.#store(va + i, 1, i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4)), 0, priv);
    }
  }
}
