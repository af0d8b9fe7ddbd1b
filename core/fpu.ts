/**
 * The F and D extensions (unprivileged spec chapters 11 and 12): 32 f
 * registers of 64 bits, the OP-FP and fused multiply-add instructions, NaN
 * boxing, rounding modes and flags. Loads and stores are the hart's (they
 * share its memory paths); it moves bits in and out through {@linkcode Fpu.fw}.
 *
 * The f registers are one 256-byte buffer seen two ways: `fd` (Float64Array)
 * to read doubles as numbers, `fw` (Int32Array, low word at 2i, high at 2i+1)
 * for bits. Moves, sign injection, loads, stores and every NaN result go
 * through `fw`, never through a JS number, because engines may canonicalise
 * NaN payloads when a NaN passes through a number value.
 *
 * Arithmetic: in round-to-nearest-even, JS doubles give correctly rounded
 * binary64 +, -, *, / and sqrt, and `Math.fround` of the double result is the
 * correctly rounded binary32 result for these five (binary64 has more than
 * 2p + 2 bits for p = 24, so the double rounding is innocuous). The fast
 * paths use that when the flags can be derived exactly and cheaply (inexact
 * by an exact error term: TwoSum, Dekker's product, or a back-multiplication
 * that is exact in binary64; no fast path ever produces a tiny, infinite or
 * NaN result). Everything else (other rounding modes, underflow, overflow,
 * NaN operands, FMA whose product is not exact) goes to the exact BigInt
 * soft-float of core/softfloat.ts.
 *
 * @module
 */

import { Mstatus } from "./csr.ts";
import type { CsrFile } from "./csrfile.ts";
import { compileFpStep } from "./fpinsns.ts";
import * as soft from "./softfloat.ts";
import { F32, F64, Flag, Rm } from "./softfloat.ts";

/** The ISA strings a machine accepts, and whether they include F and D. */
export const ISA_STRINGS: Readonly<Record<string, boolean>> = {
  rv64imac: false,
  rv64imafdc: true,
  rv64gc: true,
};

/**
 * The default ISA: QEMU 7.2's `virt` CPU has F and D, and guests built for it
 * (Linux userlands) use them, so the default is rv64imafdc (rv64gc).
 */
export const DEFAULT_ISA = "rv64imafdc";

/**
 * True if `isa` (one of {@linkcode ISA_STRINGS}) has F and D; throws for an
 * ISA string this hart cannot be.
 */
export function isaHasFD(isa: string): boolean {
  const v = ISA_STRINGS[isa.toLowerCase()];
  if (v === undefined) {
    throw new Error(`unsupported ISA '${isa}' (one of ${Object.keys(ISA_STRINGS).join(", ")})`);
  }
  return v;
}

/** The devicetree `riscv,isa` string of a hart with or without F/D (QEMU 7.2's spelling). */
export function dtbIsaString(fd: boolean): string {
  return fd ? "rv64imafdc_zicsr_zifencei" : "rv64imac_zicsr_zifencei";
}

const MIN_NORMAL_S = 1.1754943508222875e-38; // 2^-126
const MAX_S = 3.4028234663852886e38;
const MIN_NORMAL_D = 2.2250738585072014e-308; // 2^-1022
/** Dekker's product is exact when both factors are below this (no overflow in the split). */
const DEKKER_MAX = 2 ** 995;
/** ... and the product is above this (its error term is not below the subnormal quantum). */
const DEKKER_MIN = 2 ** -969;
const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
const TWO32 = 4294967296;
const CANONICAL_S = 0x7fc00000;
const CANONICAL_D_HI = 0x7ff80000;

/** Scratch for binary32 <-> number conversions (only non-NaN values pass through it). */
const cvt = new ArrayBuffer(8);
const cvtF32 = new Float32Array(cvt);
const cvtI32 = new Int32Array(cvt);

/** The exact error `a * b - p` of `p = fl(a * b)` (Dekker), valid in the ranges above. */
function productError(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** True if `a * b` is exactly `p` (Dekker), or null if outside the ranges where that is decidable. */
function productExact(a: number, b: number, p: number): boolean | null {
  const ap = Math.abs(p);
  if (
    !(Math.abs(a) < DEKKER_MAX && Math.abs(b) < DEKKER_MAX && ap > DEKKER_MIN && ap < DEKKER_MAX)
  ) {
    return null;
  }
  return productError(a, b, p) === 0;
}

/** The rounding error of `s = fl(a + b)` (TwoSum): 0 if exact; NaN/inf if it overflowed. */
function sumError(a: number, b: number, s: number): number {
  const bp = s - a;
  const ap = s - bp;
  return (a - ap) + (b - bp);
}

/** Rounds the finite number `x` to an integer in mode `rm` (exact number arithmetic). */
function roundToInt(x: number, rm: number): number {
  if (!(Math.abs(x) < 4503599627370496)) return x; // >= 2^52: already an integer
  switch (rm) {
    case Rm.RTZ:
      return Math.trunc(x);
    case Rm.RDN:
      return Math.floor(x);
    case Rm.RUP:
      return Math.ceil(x);
    case Rm.RMM: {
      const t = Math.trunc(x);
      return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
    }
    default: {
      const fl = Math.floor(x);
      const d = x - fl; // exact below 2^52
      return d > 0.5 || (d === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
    }
  }
}

/** Ranges and saturation values of fcvt to integers (unprivileged spec 11.7, table 11.4). */
const INT_MIN = [-2147483648, 0, -9223372036854775808, 0];
/** One past the largest value (exclusive bound; 2^63 - 1 is not a double). */
const INT_END = [2147483648, 4294967296, 9223372036854775808, 18446744073709551616];

/** The F/D unit of one hart. */
export class Fpu {
  readonly #buf = new ArrayBuffer(256);
  /** f0..f31 as doubles: read arithmetic operands here; write only non-NaN numbers. */
  readonly fd: Float64Array = new Float64Array(this.#buf);
  /** f0..f31 as bits: `fw[2i]` low word, `fw[2i + 1]` high word. */
  readonly fw: Int32Array = new Int32Array(this.#buf);

  /**
   * @param csr the hart's CSRs: `fpu` enables the unit, mstatus.FS gates it and
   *   records dirtiness, `fcsr` holds frm and the accrued flags.
   * @param xl low words of the integer registers.
   * @param xh high words of the integer registers.
   */
  constructor(readonly csr: CsrFile, readonly xl: Int32Array, readonly xh: Int32Array) {}

  /** Clears the f registers (reset). */
  reset(): void {
    this.fw.fill(0);
  }

  /**
   * True if F/D instructions may execute: the extension is present and
   * mstatus.FS is not Off (privileged spec 3.1.6.6: with FS = Off any
   * instruction that touches FP state raises illegal instruction).
   */
  usable(): boolean {
    return this.csr.fpu && (this.csr.mstatus & Mstatus.FS) !== 0;
  }

  /** Marks the FP state dirty (FS = Dirty; SD follows on reads of mstatus). */
  dirty(): void {
    this.csr.mstatus |= Mstatus.FS;
  }

  /**
   * Writes a loaded value: flw NaN-boxes its 32 bits (12.2: the upper 32 bits
   * are all ones), fld writes all 64.
   */
  load(rd: number, lo: number, hi: number, double: boolean): void {
    this.fw[2 * rd] = lo;
    this.fw[2 * rd + 1] = double ? hi : -1;
    this.dirty();
  }

  // ---------------------------------------------------------- register views

  /**
   * The binary32 bits held in f`i`: a value that is not properly NaN-boxed
   * reads as the canonical NaN (unprivileged spec 12.2).
   */
  #sBits(i: number): number {
    return this.fw[2 * i + 1] === -1 ? this.fw[2 * i] : CANONICAL_S;
  }

  /** f`i` as a binary32 number (NaN for NaNs and improperly boxed values). */
  #s(i: number): number {
    if (this.fw[2 * i + 1] !== -1) return NaN;
    cvtI32[0] = this.fw[2 * i];
    return cvtF32[0];
  }

  /** Writes the binary32 value `x` (already representable), NaN-boxed; NaN as the canonical NaN. */
  #setS(rd: number, x: number): void {
    if (x !== x) {
      this.fw[2 * rd] = CANONICAL_S;
    } else {
      cvtF32[0] = x;
      this.fw[2 * rd] = cvtI32[0];
    }
    this.fw[2 * rd + 1] = -1;
  }

  /** Writes the double `x`; a NaN as the canonical NaN. */
  #setD(rd: number, x: number): void {
    if (x !== x) this.fw[2 * rd] = 0, this.fw[2 * rd + 1] = CANONICAL_D_HI;
    else this.fd[rd] = x;
  }

  #sBig(i: number): bigint {
    return BigInt(this.#sBits(i) >>> 0);
  }

  #dBig(i: number): bigint {
    return (BigInt(this.fw[2 * i + 1] >>> 0) << 32n) | BigInt(this.fw[2 * i] >>> 0);
  }

  #setBig(rd: number, bits: bigint, double: boolean): void {
    if (double) {
      this.fw[2 * rd] = Number(bits & 0xffffffffn) | 0;
      this.fw[2 * rd + 1] = Number(bits >> 32n) | 0;
    } else {
      this.fw[2 * rd] = Number(bits) | 0;
      this.fw[2 * rd + 1] = -1;
    }
  }

  /** Writes x`rd` (not x0) from its low and high words. */
  setX(rd: number, lo: number, hi: number): void {
    if (rd !== 0) this.xl[rd] = lo, this.xh[rd] = hi;
  }

  /** Writes the integer number `v` (exact, in [-2^63, 2^64)) to x`rd` as 64 bits. */
  #setXNumber(rd: number, v: number): void {
    const hi = Math.floor(v / TWO32);
    this.setX(rd, (v - hi * TWO32) | 0, hi | 0);
  }

  #flags(flags: number): void {
    if (flags !== 0) {
      this.csr.fcsr |= flags;
      this.csr.mstatus |= Mstatus.FS;
    }
  }

  /** The effective rounding mode, or -1 if illegal (rm 5/6, or frm invalid for dynamic rm). */
  rm(insn: number): number {
    let rm = (insn >>> 12) & 7;
    if (rm === 7) rm = (this.csr.fcsr >>> 5) & 7;
    return rm <= Rm.RMM ? rm : -1;
  }

  // ------------------------------------------------------------- execution

  /**
   * Executes an OP-FP or fused multiply-add instruction (`insn` is its 32-bit
   * encoding, the fields already decoded into rd/rs1/rs2), as its definition in
   * core/fpinsns.ts says. Returns false if it is illegal here: F/D absent,
   * FS = Off, the dynamic rounding mode with an invalid frm.
   */
  execute(insn: number, rd: number, rs1: number, rs2: number): boolean {
    return fpStep(this, insn, rd, rs1, rs2);
  }

  /** fadd, fsub, fmul, fdiv (`kind` 0..3) and fsqrt (11) in rounding mode `rm`. */
  arith(kind: number, double: boolean, rm: number, rd: number, rs1: number, rs2: number): void {
    if (double) this.#arithD(kind, rm, rd, rs1, rs2);
    else this.#arithS(kind, rm, rd, rs1, rs2);
  }

  #arithD(kind: number, rm: number, rd: number, rs1: number, rs2: number): void {
    const a = this.fd[rs1], b = this.fd[rs2];
    if (rm === Rm.RNE) {
      let r = 0, nx: boolean | null = null;
      switch (kind) {
        case 0:
        case 1: {
          const bb = kind === 0 ? b : -b;
          r = a + bb;
          const err = sumError(a, bb, r);
          // A sum whose exact value is below 2^emin is exact (no UF from addition).
          if (err === 0) nx = false;
          else if (err - err === 0) nx = true;
          break;
        }
        case 2:
          r = a * b;
          if (r !== 0) {
            const e = productExact(a, b, r);
            if (e !== null) nx = !e;
          } else if (a === 0 || b === 0) nx = false; // else it underflowed: soft-float
          break;
        case 3:
          r = a / b;
          if (b === 0 || b !== b) break;
          if (a === 0) nx = false;
          else {
            const p = r * b, e = productExact(r, b, p);
            if (e !== null) nx = !(e && p === a);
          }
          break;
        default:
          r = Math.sqrt(a);
          if (a === 0) nx = false;
          else if (a > 0) {
            const p = r * r, e = productExact(r, r, p);
            if (e !== null) nx = !(e && p === a);
          }
      }
      const m = Math.abs(r);
      if (nx !== null && ((m > MIN_NORMAL_D && m < Infinity) || (r === 0 && !nx))) {
        this.fd[rd] = r;
        if (nx) this.#flags(Flag.NX);
        return;
      }
    }
    soft.sf.flags = 0;
    const x = this.#dBig(rs1), y = this.#dBig(rs2);
    let r: bigint;
    switch (kind) {
      case 0:
        r = soft.add(F64, x, y, rm);
        break;
      case 1:
        r = soft.add(F64, x, y, rm, true);
        break;
      case 2:
        r = soft.mul(F64, x, y, rm);
        break;
      case 3:
        r = soft.div(F64, x, y, rm);
        break;
      default:
        r = soft.sqrt(F64, x, rm);
    }
    this.#setBig(rd, r, true);
    this.#flags(soft.sf.flags);
  }

  #arithS(kind: number, rm: number, rd: number, rs1: number, rs2: number): void {
    const a = this.#s(rs1), b = kind === 11 ? 0 : this.#s(rs2);
    if (rm === Rm.RNE && a === a && b === b) {
      let r = 0, nx = false;
      switch (kind) {
        case 0:
        case 1: {
          const bb = kind === 0 ? b : -b;
          const d = a + bb; // binary32 operands: no overflow in binary64
          r = Math.fround(d);
          nx = sumError(a, bb, d) !== 0 || r !== d;
          break;
        }
        case 2: {
          const d = a * b; // exact: 48 significant bits, far from binary64's limits
          r = Math.fround(d);
          nx = r !== d;
          break;
        }
        case 3:
          r = Math.fround(a / b);
          nx = b === 0 || r * b !== a; // r * b is exact in binary64
          break;
        default:
          r = Math.fround(Math.sqrt(a));
          nx = r * r !== a;
      }
      const m = Math.abs(r);
      if ((m > MIN_NORMAL_S && m <= MAX_S && !(kind === 3 && b === 0)) || (r === 0 && !nx)) {
        if (!(kind === 11 && a < 0)) {
          this.#setS(rd, r);
          if (nx) this.#flags(Flag.NX);
          return;
        }
      }
    }
    soft.sf.flags = 0;
    const x = this.#sBig(rs1), y = this.#sBig(rs2);
    let r: bigint;
    switch (kind) {
      case 0:
        r = soft.add(F32, x, y, rm);
        break;
      case 1:
        r = soft.add(F32, x, y, rm, true);
        break;
      case 2:
        r = soft.mul(F32, x, y, rm);
        break;
      case 3:
        r = soft.div(F32, x, y, rm);
        break;
      default:
        r = soft.sqrt(F32, x, rm);
    }
    this.#setBig(rd, r, false);
    this.#flags(soft.sf.flags);
  }

  /**
   * fmadd/fmsub/fnmsub/fnmadd (`kind` 0..3, 11.6): one rounding of
   * ±(rs1 * rs2) ± rs3.
   */
  fma(
    kind: number,
    double: boolean,
    rm: number,
    rd: number,
    rs1: number,
    rs2: number,
    rs3: number,
  ): void {
    const negProd = kind >= 2, negC = kind === 1 || kind === 3;
    if (rm === Rm.RNE) {
      // Fast when the product is exact: then the FMA is one correctly rounded addition.
      const a = double ? this.fd[rs1] : this.#s(rs1);
      const b = double ? this.fd[rs2] : this.#s(rs2);
      let c = double ? this.fd[rs3] : this.#s(rs3);
      let p = a * b;
      const exact = double ? (p === 0 ? a === 0 || b === 0 : productExact(a, b, p)) : p === p;
      if (exact === true && c === c && p - p === 0 && c - c === 0) {
        if (negProd) p = -p;
        if (negC) c = -c;
        const s = p + c;
        const err = sumError(p, c, s);
        const r = double ? s : Math.fround(s);
        const m = Math.abs(r);
        // binary32: take it only if the binary64 sum is exact (else double rounding).
        if (
          err === 0 && ((m > (double ? MIN_NORMAL_D : MIN_NORMAL_S) &&
            m <= (double ? Number.MAX_VALUE : MAX_S)) || (r === 0 && s === 0))
        ) {
          if (double) this.fd[rd] = r;
          else this.#setS(rd, r);
          if (r !== s) this.#flags(Flag.NX);
          return;
        }
      }
    }
    soft.sf.flags = 0;
    const r = double
      ? soft.fma(F64, this.#dBig(rs1), this.#dBig(rs2), this.#dBig(rs3), rm, negProd, negC)
      : soft.fma(F32, this.#sBig(rs1), this.#sBig(rs2), this.#sBig(rs3), rm, negProd, negC);
    this.#setBig(rd, r, double);
    this.#flags(soft.sf.flags);
  }

  /** fsgnj, fsgnjn, fsgnjx (`f3` 0..2; exact bit operations, 11.5). */
  signInject(f3: number, double: boolean, rd: number, rs1: number, rs2: number): void {
    const fw = this.fw;
    if (double) {
      const a = fw[2 * rs1 + 1], b = fw[2 * rs2 + 1];
      const sign = f3 === 0 ? b : f3 === 1 ? ~b : a ^ b;
      fw[2 * rd] = fw[2 * rs1];
      fw[2 * rd + 1] = (a & 0x7fffffff) | (sign & (0x80000000 | 0));
    } else {
      // Inputs are unboxed first (an improperly boxed operand is the canonical NaN).
      const a = this.#sBits(rs1), b = this.#sBits(rs2);
      const sign = f3 === 0 ? b : f3 === 1 ? ~b : a ^ b;
      fw[2 * rd] = (a & 0x7fffffff) | (sign & (0x80000000 | 0));
      fw[2 * rd + 1] = -1;
    }
  }

  /** True if f`i` holds a signalling NaN of the format. */
  #isSignalling(double: boolean, i: number): boolean {
    if (double) {
      const hi = this.fw[2 * i + 1], lo = this.fw[2 * i];
      return (hi & 0x7ff80000) === 0x7ff00000 && ((hi & 0x7ffff) | lo) !== 0;
    }
    const s = this.#sBits(i);
    return (s & 0x7fc00000) === 0x7f800000 && (s & 0x3fffff) !== 0;
  }

  /**
   * fmin/fmax (11.9, IEEE 754-201x minimumNumber/maximumNumber): -0 < +0; a
   * signalling NaN operand raises NV; one NaN gives the other operand; two
   * NaNs give the canonical NaN.
   */
  minMax(max: boolean, double: boolean, rd: number, rs1: number, rs2: number): void {
    const a = double ? this.fd[rs1] : this.#s(rs1), b = double ? this.fd[rs2] : this.#s(rs2);
    if (this.#isSignalling(double, rs1) || this.#isSignalling(double, rs2)) this.#flags(Flag.NV);
    let pick: number;
    if (a !== a && b !== b) {
      if (double) this.fw[2 * rd] = 0, this.fw[2 * rd + 1] = CANONICAL_D_HI;
      else this.fw[2 * rd] = CANONICAL_S, this.fw[2 * rd + 1] = -1;
      return;
    } else if (a !== a) pick = rs2;
    else if (b !== b) pick = rs1;
    else if (a === b) { // equal, or zeros of either sign: choose by sign
      const aNeg = double ? this.fw[2 * rs1 + 1] < 0 : this.#sBits(rs1) < 0;
      pick = aNeg === max ? rs2 : rs1;
    } else pick = (a < b) !== max ? rs1 : rs2;
    if (double) this.fw[2 * rd] = this.fw[2 * pick], this.fw[2 * rd + 1] = this.fw[2 * pick + 1];
    else this.fw[2 * rd] = this.#sBits(pick), this.fw[2 * rd + 1] = -1;
  }

  /** feq (quiet: NV only for sNaN), flt and fle (signalling: NV for any NaN); 11.8. */
  compare(f3: number, double: boolean, rd: number, rs1: number, rs2: number): void {
    const a = double ? this.fd[rs1] : this.#s(rs1), b = double ? this.fd[rs2] : this.#s(rs2);
    let r: boolean;
    if (a !== a || b !== b) {
      if (f3 !== 2 || this.#isSignalling(double, rs1) || this.#isSignalling(double, rs2)) {
        this.#flags(Flag.NV);
      }
      r = false;
    } else r = f3 === 2 ? a === b : f3 === 1 ? a < b : a <= b;
    this.setX(rd, r ? 1 : 0, 0);
  }

  /** fclass (11.9, table 11.5): a one-hot 10-bit mask. */
  classify(double: boolean, i: number): number {
    let neg: boolean, expAll: boolean, expZero: boolean, fracZero: boolean, quiet: boolean;
    if (double) {
      const hi = this.fw[2 * i + 1], lo = this.fw[2 * i];
      neg = hi < 0;
      const e = (hi >>> 20) & 0x7ff;
      expAll = e === 0x7ff, expZero = e === 0;
      fracZero = ((hi & 0xfffff) | lo) === 0;
      quiet = (hi & 0x80000) !== 0;
    } else {
      const s = this.#sBits(i);
      neg = s < 0;
      const e = (s >>> 23) & 0xff;
      expAll = e === 0xff, expZero = e === 0;
      fracZero = (s & 0x7fffff) === 0;
      quiet = (s & 0x400000) !== 0;
    }
    if (expAll) return fracZero ? (neg ? 1 << 0 : 1 << 7) : quiet ? 1 << 9 : 1 << 8;
    if (expZero) return fracZero ? (neg ? 1 << 3 : 1 << 4) : neg ? 1 << 2 : 1 << 5;
    return neg ? 1 << 1 : 1 << 6;
  }

  /** fcvt.s.d / fcvt.d.s. */
  convertFF(toDouble: boolean, rm: number, rd: number, rs1: number): void {
    if (toDouble) { // binary32 -> binary64 is exact; NaNs become canonical
      const x = this.#s(rs1);
      if (x === x) this.fd[rd] = x;
      else {
        if (this.#isSignalling(false, rs1)) this.#flags(Flag.NV);
        this.fw[2 * rd] = 0, this.fw[2 * rd + 1] = CANONICAL_D_HI;
      }
      return;
    }
    const x = this.fd[rs1];
    if (rm === Rm.RNE && x === x) {
      const r = Math.fround(x);
      const m = Math.abs(r);
      if ((m > MIN_NORMAL_S && m <= MAX_S) || (r === 0 && x === 0)) {
        this.#setS(rd, r);
        if (r !== x) this.#flags(Flag.NX);
        return;
      }
    }
    soft.sf.flags = 0;
    this.#setBig(rd, soft.convert(F64, F32, this.#dBig(rs1), rm), false);
    this.#flags(soft.sf.flags);
  }

  /**
   * fcvt.{w,wu,l,lu}.{s,d} (11.7, table 11.4): NaN gives the largest value,
   * out-of-range results saturate; both raise NV (and not NX). 32-bit results
   * are sign-extended on RV64, .wu too.
   */
  toInt(kind: number, double: boolean, rm: number, rd: number, rs1: number): void {
    const x = double ? this.fd[rs1] : this.#s(rs1);
    let r: number;
    let flags = 0;
    if (x !== x) {
      r = INT_END[kind] - 1;
      flags = Flag.NV;
    } else {
      r = roundToInt(x, rm);
      if (r >= INT_END[kind]) r = INT_END[kind] - 1, flags = Flag.NV;
      else if (r < INT_MIN[kind]) r = INT_MIN[kind], flags = Flag.NV;
      else if (r !== x) flags = Flag.NX;
    }
    if (kind < 2) {
      this.setX(rd, r | 0, (r | 0) >> 31);
    } else if (r === INT_END[kind] - 1) {
      // 2^63 - 1 and 2^64 - 1 are not doubles: write the saturation bits directly.
      this.setX(rd, -1, kind === 2 ? 0x7fffffff : -1);
    } else this.#setXNumber(rd, r);
    this.#flags(flags);
  }

  /** fcvt.{s,d}.{w,wu,l,lu}: exact when the integer fits the significand, else soft-float. */
  fromInt(kind: number, double: boolean, rm: number, rd: number, rs1: number): void {
    const lo = this.xl[rs1], hi = this.xh[rs1];
    let v: number;
    switch (kind) {
      case 0:
        v = lo;
        break;
      case 1:
        v = lo >>> 0;
        break;
      case 2:
        v = hi * TWO32 + (lo >>> 0);
        break;
      default:
        v = (hi >>> 0) * TWO32 + (lo >>> 0);
    }
    // v is exact only below 2^53 (else hi * 2^32 + lo already rounded), and the
    // conversion is exact for magnitudes up to 2^p.
    const exactV = kind < 2 ||
      (kind === 2 ? hi >= -0x200000 && hi < 0x200000 : (hi >>> 0) < 0x200000);
    if (exactV && Math.abs(v) <= (double ? 9007199254740992 : 16777216)) {
      if (double) this.fd[rd] = v;
      else this.#setS(rd, v);
      return;
    }
    let big: bigint;
    switch (kind) {
      case 0:
        big = BigInt(lo);
        break;
      case 1:
        big = BigInt(lo >>> 0);
        break;
      case 2:
        big = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
        break;
      default:
        big = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    soft.sf.flags = 0;
    this.#setBig(rd, soft.fromInt(double ? F64 : F32, big, rm), double);
    this.#flags(soft.sf.flags);
  }

  /** f0..f31 as [lo, hi] pairs (snapshots). */
  saveState(): number[] {
    return [...this.fw];
  }

  /** Restores {@linkcode saveState}'s registers. */
  loadState(words: number[]): void {
    this.fw.set(words);
  }
}

/** The F/D instructions' dispatch, generated from their definitions (core/fpinsns.ts). */
const fpStep = compileFpStep();
