/**
 * Exact IEEE 754-2008 binary32/binary64 arithmetic on bit patterns, as the
 * RISC-V F and D extensions specify it (unprivileged spec chapters 11-12):
 * five rounding modes, the five exception flags, tininess detected after
 * rounding, and the canonical NaN for every generated NaN (RISC-V does not
 * propagate NaN payloads, 11.3).
 *
 * This is the slow path of the FPU (core/fpu.ts): values are unpacked to an
 * exact `significand * 2^exponent` with BigInt significands, the operation is
 * computed exactly (or with a sticky bit below enough guard bits), and one
 * rounding step ({@linkcode roundPack}) produces the result and the flags. It
 * is written for obvious correctness, not speed; the FPU uses JS doubles
 * where they are provably exact.
 *
 * Bit patterns are BigInts holding the unsigned encoding (32 or 64 bits).
 * Flags raised by an operation are ORed into {@linkcode sf}.flags.
 *
 * @module
 */

/** Rounding modes, encoded as in the rm field and frm (unprivileged spec 11.2, table 11.1). */
export const Rm = {
  /** Round to nearest, ties to even. */
  RNE: 0,
  /** Round towards zero. */
  RTZ: 1,
  /** Round down (towards -infinity). */
  RDN: 2,
  /** Round up (towards +infinity). */
  RUP: 3,
  /** Round to nearest, ties to max magnitude. */
  RMM: 4,
} as const;

/** Accrued exception flags, as in fflags (unprivileged spec 11.2, table 11.2). */
export const Flag = {
  /** Inexact. */
  NX: 1,
  /** Underflow. */
  UF: 2,
  /** Overflow. */
  OF: 4,
  /** Divide by zero. */
  DZ: 8,
  /** Invalid operation. */
  NV: 16,
} as const;

/** Mutable state shared by the operations: the flags they raise accumulate here. */
export const sf = { flags: 0 };

/** A binary floating-point format. */
export interface Format {
  /** Total width in bits (32 or 64). */
  width: number;
  /** Precision in bits, the implicit bit included (24 or 53). */
  p: number;
  /** Exponent of the smallest normal number (-126 or -1022). */
  emin: number;
  /** Exponent of the largest finite number (127 or 1023). */
  emax: number;
}

/** binary32 (F). */
export const F32: Format = { width: 32, p: 24, emin: -126, emax: 127 };
/** binary64 (D). */
export const F64: Format = { width: 64, p: 53, emin: -1022, emax: 1023 };

/** Canonical NaN of single precision (unprivileged spec 11.3). */
export const CANONICAL_NAN_32 = 0x7fc00000n;
/** Canonical NaN of double precision (unprivileged spec 12.3). */
export const CANONICAL_NAN_64 = 0x7ff8000000000000n;

const C_ZERO = 0, C_FINITE = 1, C_INF = 2, C_QNAN = 3, C_SNAN = 4;

/** An unpacked operand: class, sign and (for finite non-zero values) sig * 2^exp. */
interface Unpacked {
  cls: number;
  sign: number;
  sig: bigint;
  exp: number;
}

function fracBits(f: Format): number {
  return f.p - 1;
}

function bias(f: Format): number {
  return f.emax;
}

/** Unpacks the encoding `bits` of format `f`. */
function unpack(f: Format, bits: bigint): Unpacked {
  const fb = BigInt(fracBits(f));
  const expField = Number((bits >> fb) & BigInt((1 << (f.width - f.p)) - 1));
  const frac = bits & ((1n << fb) - 1n);
  const sign = Number(bits >> BigInt(f.width - 1)) & 1;
  const maxExp = 2 * f.emax + 1;
  if (expField === maxExp) {
    if (frac === 0n) return { cls: C_INF, sign, sig: 0n, exp: 0 };
    // The quiet bit is the most significant fraction bit (IEEE 754-2008 6.2.1).
    return { cls: (frac >> (fb - 1n)) & 1n ? C_QNAN : C_SNAN, sign, sig: 0n, exp: 0 };
  }
  if (expField === 0) {
    if (frac === 0n) return { cls: C_ZERO, sign, sig: 0n, exp: 0 };
    return { cls: C_FINITE, sign, sig: frac, exp: f.emin - fracBits(f) };
  }
  return {
    cls: C_FINITE,
    sign,
    sig: frac | (1n << fb),
    exp: expField - bias(f) - fracBits(f),
  };
}

function isNaNClass(c: number): boolean {
  return c >= C_QNAN;
}

/** The canonical NaN of `f`. */
export function canonicalNaN(f: Format): bigint {
  return f.width === 32 ? CANONICAL_NAN_32 : CANONICAL_NAN_64;
}

function signBit(f: Format, sign: number): bigint {
  return sign ? 1n << BigInt(f.width - 1) : 0n;
}

function infinity(f: Format, sign: number): bigint {
  return signBit(f, sign) | (BigInt(2 * f.emax + 1) << BigInt(fracBits(f)));
}

function maxFinite(f: Format, sign: number): bigint {
  return signBit(f, sign) |
    ((BigInt(2 * f.emax) << BigInt(fracBits(f))) | ((1n << BigInt(fracBits(f))) - 1n));
}

function zero(f: Format, sign: number): bigint {
  return signBit(f, sign);
}

/** Number of significant bits of `x` (> 0). */
export function bitLength(x: bigint): number {
  if (x < 0x20000000000000n) {
    const n = Number(x);
    const hi = Math.floor(n / 4294967296);
    return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(n);
  }
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

/** Set by {@linkcode roundShift}: whether the last rounding discarded non-zero bits. */
let lastInexact = false;

/**
 * Rounds `sig / 2^shift` to an integer in mode `rm` (the value's sign is
 * `sign`: directed modes depend on it). A negative shift multiplies exactly.
 */
function roundShift(sig: bigint, shift: number, sign: number, rm: number): bigint {
  if (shift <= 0) {
    lastInexact = false;
    return shift === 0 ? sig : sig << BigInt(-shift);
  }
  const s = BigInt(shift);
  let q = sig >> s;
  const rem = sig - (q << s);
  if (rem === 0n) {
    lastInexact = false;
    return q;
  }
  lastInexact = true;
  const half = 1n << (s - 1n);
  switch (rm) {
    case Rm.RNE:
      if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
      break;
    case Rm.RDN:
      if (sign) q++;
      break;
    case Rm.RUP:
      if (!sign) q++;
      break;
    case Rm.RMM:
      if (rem >= half) q++;
      break;
  }
  return q;
}

/**
 * Rounds the exact non-zero value `(-1)^sign * sig * 2^exp` to format `f` in
 * mode `rm`, raising NX/UF/OF. Callers whose value is not exact append a
 * sticky bit below at least two guard bits (so it never reaches the result).
 *
 * Underflow follows the RISC-V choice (11.2: "tininess is detected after
 * rounding"): the value is tiny if rounding it to `p` bits with an unbounded
 * exponent gives a magnitude below 2^emin; UF is raised when a tiny result is
 * also inexact.
 */
export function roundPack(f: Format, sign: number, sig: bigint, exp: number, rm: number): bigint {
  const len = bitLength(sig);
  const e = exp + len - 1; // exponent of the leading bit
  const p = f.p;
  if (e < f.emin) {
    // Tininess after rounding: round to p bits at the unbounded exponent e.
    const r = roundShift(sig, len - p, sign, rm);
    const tiny = (r >= (1n << BigInt(p)) ? e + 1 : e) < f.emin;
    // The result: rounded at the subnormal quantum 2^(emin - p + 1). Its
    // integer is the encoding itself (a carry into 2^(p-1) is the smallest normal).
    const q = roundShift(sig, f.emin - p + 1 - exp, sign, rm);
    if (lastInexact) sf.flags |= tiny ? Flag.NX | Flag.UF : Flag.NX;
    return signBit(f, sign) | q;
  }
  let m = roundShift(sig, len - p, sign, rm);
  if (lastInexact) sf.flags |= Flag.NX;
  let ee = e;
  if (m >= (1n << BigInt(p))) m >>= 1n, ee++; // carried to 2^p: exact halving
  if (ee > f.emax) {
    sf.flags |= Flag.OF | Flag.NX;
    const toInf = rm === Rm.RNE || rm === Rm.RMM || (rm === Rm.RDN && sign === 1) ||
      (rm === Rm.RUP && sign === 0);
    return toInf ? infinity(f, sign) : maxFinite(f, sign);
  }
  return signBit(f, sign) | (BigInt(ee + bias(f)) << BigInt(fracBits(f))) |
    (m - (1n << BigInt(p - 1)));
}

/** Result of an operation with a NaN operand: the canonical NaN, NV if any was signalling. */
function nanResult(f: Format, ...xs: Unpacked[]): bigint {
  for (const x of xs) if (x.cls === C_SNAN) sf.flags |= Flag.NV;
  return canonicalNaN(f);
}

function invalid(f: Format): bigint {
  sf.flags |= Flag.NV;
  return canonicalNaN(f);
}

/** Sign of an exact zero sum of operands with opposite signs (IEEE 754-2008 6.3). */
function zeroSumSign(rm: number): number {
  return rm === Rm.RDN ? 1 : 0;
}

/** Exact sum of two finite non-zero values, rounded once. */
function addFinite(f: Format, a: Unpacked, b: Unpacked, rm: number): bigint {
  const e = Math.min(a.exp, b.exp);
  const va = a.sig << BigInt(a.exp - e), vb = b.sig << BigInt(b.exp - e);
  const s = (a.sign ? -va : va) + (b.sign ? -vb : vb);
  if (s === 0n) return zero(f, zeroSumSign(rm));
  return s < 0n ? roundPack(f, 1, -s, e, rm) : roundPack(f, 0, s, e, rm);
}

/** a + b (a - b when `negB`). */
export function add(f: Format, aBits: bigint, bBits: bigint, rm: number, negB = false): bigint {
  const a = unpack(f, aBits), b = unpack(f, bBits);
  if (negB) b.sign ^= 1;
  if (isNaNClass(a.cls) || isNaNClass(b.cls)) return nanResult(f, a, b);
  if (a.cls === C_INF) {
    if (b.cls === C_INF && a.sign !== b.sign) return invalid(f); // inf - inf
    return infinity(f, a.sign);
  }
  if (b.cls === C_INF) return infinity(f, b.sign);
  if (a.cls === C_ZERO && b.cls === C_ZERO) {
    return zero(f, a.sign === b.sign ? a.sign : zeroSumSign(rm));
  }
  if (a.cls === C_ZERO) return roundPack(f, b.sign, b.sig, b.exp, rm); // exact
  if (b.cls === C_ZERO) return roundPack(f, a.sign, a.sig, a.exp, rm);
  return addFinite(f, a, b, rm);
}

/** a * b. */
export function mul(f: Format, aBits: bigint, bBits: bigint, rm: number): bigint {
  const a = unpack(f, aBits), b = unpack(f, bBits);
  if (isNaNClass(a.cls) || isNaNClass(b.cls)) return nanResult(f, a, b);
  const sign = a.sign ^ b.sign;
  if (a.cls === C_INF || b.cls === C_INF) {
    if (a.cls === C_ZERO || b.cls === C_ZERO) return invalid(f); // 0 * inf
    return infinity(f, sign);
  }
  if (a.cls === C_ZERO || b.cls === C_ZERO) return zero(f, sign);
  return roundPack(f, sign, a.sig * b.sig, a.exp + b.exp, rm);
}

/** a / b. */
export function div(f: Format, aBits: bigint, bBits: bigint, rm: number): bigint {
  const a = unpack(f, aBits), b = unpack(f, bBits);
  if (isNaNClass(a.cls) || isNaNClass(b.cls)) return nanResult(f, a, b);
  const sign = a.sign ^ b.sign;
  if (a.cls === C_INF) return b.cls === C_INF ? invalid(f) : infinity(f, sign);
  if (b.cls === C_INF) return zero(f, sign);
  if (b.cls === C_ZERO) {
    if (a.cls === C_ZERO) return invalid(f); // 0 / 0
    sf.flags |= Flag.DZ;
    return infinity(f, sign);
  }
  if (a.cls === C_ZERO) return zero(f, sign);
  // Enough quotient bits that rounding never depends on more than the sticky bit.
  const k = f.p + 3 + bitLength(b.sig);
  const n = a.sig << BigInt(k);
  const q = n / b.sig;
  const sticky = n - q * b.sig !== 0n ? 1n : 0n;
  return roundPack(f, sign, (q << 1n) | sticky, a.exp - b.exp - k - 1, rm);
}

/** Integer square root (floor) of n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  const len = bitLength(n);
  // A double estimate, then Newton's iteration. The estimate may be below the
  // root, but every Newton step lands at or above it (AM-GM), and from there
  // the iterates decrease to it: one unconditional step, then while decreasing.
  let x: bigint;
  if (len < 1000) x = BigInt(Math.ceil(Math.sqrt(Number(n)))) + 1n;
  else x = 1n << BigInt((len >> 1) + 1);
  x = (x + n / x) >> 1n;
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** sqrt(a). */
export function sqrt(f: Format, aBits: bigint, rm: number): bigint {
  const a = unpack(f, aBits);
  if (isNaNClass(a.cls)) return nanResult(f, a);
  if (a.cls === C_ZERO) return zero(f, a.sign); // sqrt(-0) = -0
  if (a.sign) return invalid(f);
  if (a.cls === C_INF) return infinity(f, 0);
  let sig = a.sig, exp = a.exp;
  if (exp & 1) sig <<= 1n, exp--;
  const k = f.p + 2;
  const n = sig << BigInt(2 * k);
  const r = isqrt(n);
  const sticky = n - r * r !== 0n ? 1n : 0n;
  return roundPack(f, 0, (r << 1n) | sticky, exp / 2 - k - 1, rm);
}

/**
 * Fused multiply-add `±(a * b) ± c` with a single rounding (unprivileged spec
 * 11.6): `negProd` negates the product, `negC` the addend, so fmadd = (f, f),
 * fmsub = (f, t), fnmsub = (t, f), fnmadd = (t, t).
 */
export function fma(
  f: Format,
  aBits: bigint,
  bBits: bigint,
  cBits: bigint,
  rm: number,
  negProd: boolean,
  negC: boolean,
): bigint {
  const a = unpack(f, aBits), b = unpack(f, bBits), c = unpack(f, cBits);
  // 11.6: inf * 0 is invalid even when the addend is a quiet NaN.
  const infTimesZero = (a.cls === C_INF && b.cls === C_ZERO) ||
    (a.cls === C_ZERO && b.cls === C_INF);
  if (infTimesZero) {
    nanResult(f, c);
    return invalid(f);
  }
  if (isNaNClass(a.cls) || isNaNClass(b.cls) || isNaNClass(c.cls)) return nanResult(f, a, b, c);
  const ps = a.sign ^ b.sign ^ (negProd ? 1 : 0);
  const cs = c.sign ^ (negC ? 1 : 0);
  if (a.cls === C_INF || b.cls === C_INF) {
    if (c.cls === C_INF && cs !== ps) return invalid(f);
    return infinity(f, ps);
  }
  if (c.cls === C_INF) return infinity(f, cs);
  const prodZero = a.cls === C_ZERO || b.cls === C_ZERO;
  if (prodZero) {
    if (c.cls === C_ZERO) return zero(f, ps === cs ? ps : zeroSumSign(rm));
    return roundPack(f, cs, c.sig, c.exp, rm); // exact
  }
  const prod: Unpacked = { cls: C_FINITE, sign: ps, sig: a.sig * b.sig, exp: a.exp + b.exp };
  if (c.cls === C_ZERO) return roundPack(f, ps, prod.sig, prod.exp, rm);
  return addFinite(f, prod, { cls: C_FINITE, sign: cs, sig: c.sig, exp: c.exp }, rm);
}

/** Converts `aBits` of format `from` to format `to` (fcvt.s.d / fcvt.d.s). */
export function convert(from: Format, to: Format, aBits: bigint, rm: number): bigint {
  const a = unpack(from, aBits);
  if (isNaNClass(a.cls)) return nanResult(to, a);
  if (a.cls === C_INF) return infinity(to, a.sign);
  if (a.cls === C_ZERO) return zero(to, a.sign);
  return roundPack(to, a.sign, a.sig, a.exp, rm);
}

/**
 * Converts to an integer of `width` bits (32 or 64), signed or not, by the
 * table of unprivileged spec 11.7 (table 11.4): NaN and +inf give the largest
 * value, -inf the smallest; any rounded result out of range is clipped and
 * raises NV (and then not NX). Returns the value as a BigInt (in range).
 */
export function toInt(
  f: Format,
  aBits: bigint,
  rm: number,
  width: number,
  signed: boolean,
): bigint {
  const a = unpack(f, aBits);
  const max = signed ? (1n << BigInt(width - 1)) - 1n : (1n << BigInt(width)) - 1n;
  const min = signed ? -(1n << BigInt(width - 1)) : 0n;
  if (isNaNClass(a.cls)) {
    sf.flags |= Flag.NV;
    return max;
  }
  if (a.cls === C_INF) {
    sf.flags |= Flag.NV;
    return a.sign ? min : max;
  }
  if (a.cls === C_ZERO) return 0n;
  let r = roundShift(a.sig, -a.exp, a.sign, rm);
  if (a.sign) r = -r;
  if (r > max || r < min) {
    sf.flags |= Flag.NV;
    return r > max ? max : min;
  }
  if (lastInexact) sf.flags |= Flag.NX;
  return r;
}

/** Converts the integer `v` to format `f` (fcvt.s.w etc.). */
export function fromInt(f: Format, v: bigint, rm: number): bigint {
  if (v === 0n) return 0n;
  return v < 0n ? roundPack(f, 1, -v, 0, rm) : roundPack(f, 0, v, 0, rm);
}
