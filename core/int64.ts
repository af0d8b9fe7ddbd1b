/**
 * 64-bit integer arithmetic on int32 pairs (lo, hi), the register representation
 * of the hart (see scripts/bench-regs.ts for why: no heap allocation per value).
 *
 * Results are written into {@linkcode out}: `out[0]` = lo, `out[1]` = hi (and
 * `out[2]`, `out[3]` for the high half of a 128-bit product).
 *
 * @module
 */

/** Scratch output of the functions in this module. */
export const out = new Int32Array(4);

const TWO32 = 4294967296;

/** The signed 64-bit value of a pair as a JS number (exact when |v| < 2^53). */
export function toNumber(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}

/** The unsigned 64-bit value of a pair as a JS number (exact below 2^53). */
export function toUnsignedNumber(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/** The signed 64-bit value of a pair as a BigInt (for tests and cold paths). */
export function toBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

/** The unsigned little-endian value of `size` bytes at `off` (for cold paths). */
export function readLittleEndian(bytes: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i]);
  return v;
}

/** Splits a BigInt (taken modulo 2^64) into `out[0]`, `out[1]`. */
export function fromBigInt(v: bigint): void {
  out[0] = Number(BigInt.asIntN(32, v));
  out[1] = Number(BigInt.asIntN(32, v >> 32n));
}

/** Formats a pair as 16 hex digits. */
export function hex64(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
}

/**
 * 64 x 64 -> 128-bit multiply. Writes the low 64 bits to out[0..1] and the high
 * 64 bits to out[2..3]. `aSigned`/`bSigned` select mulh / mulhsu / mulhu.
 */
export function mul128(
  al: number,
  ah: number,
  bl: number,
  bh: number,
  aSigned: boolean,
  bSigned: boolean,
): void {
  // Schoolbook on 16-bit limbs: every partial product fits in 32 bits and the
  // column sums stay below 2^53, so doubles are exact. A column's low 16 bits are
  // taken with `& 0xffff` (ToInt32 is exact modulo 2^32 on integers): `%` on a
  // double is a call to fmod, and Linux's divisions by constants make this hot.
  const a0 = al & 0xffff, a1 = al >>> 16, a2 = ah & 0xffff, a3 = ah >>> 16;
  const b0 = bl & 0xffff, b1 = bl >>> 16, b2 = bh & 0xffff, b3 = bh >>> 16;
  let c = a0 * b0;
  const r0 = c & 0xffff;
  c = Math.floor(c / 65536) + a1 * b0 + a0 * b1;
  const r1 = c & 0xffff;
  c = Math.floor(c / 65536) + a2 * b0 + a1 * b1 + a0 * b2;
  const r2 = c & 0xffff;
  c = Math.floor(c / 65536) + a3 * b0 + a2 * b1 + a1 * b2 + a0 * b3;
  const r3 = c & 0xffff;
  c = Math.floor(c / 65536) + a3 * b1 + a2 * b2 + a1 * b3;
  const r4 = c & 0xffff;
  c = Math.floor(c / 65536) + a3 * b2 + a2 * b3;
  const r5 = c & 0xffff;
  c = Math.floor(c / 65536) + a3 * b3;
  const r6 = c & 0xffff;
  const r7 = Math.floor(c / 65536) & 0xffff;
  out[0] = r0 | r1 << 16;
  out[1] = r2 | r3 << 16;
  let hl = r4 | r5 << 16;
  let hh = r6 | r7 << 16;
  // Signed corrections: a negative operand contributes -2^64 * other operand.
  if (aSigned && ah < 0) {
    const s = (hl >>> 0) - (bl >>> 0);
    hh = (hh - bh - (s < 0 ? 1 : 0)) | 0;
    hl = s | 0;
  }
  if (bSigned && bh < 0) {
    const s = (hl >>> 0) - (al >>> 0);
    hh = (hh - ah - (s < 0 ? 1 : 0)) | 0;
    hl = s | 0;
  }
  out[2] = hl;
  out[3] = hh;
}

/**
 * 64-bit division as RISC-V defines it (div/divu/rem/remu): division by zero
 * gives all ones (quotient) or the dividend (remainder); the signed overflow
 * case MIN / -1 gives MIN and remainder 0. Writes the result to out[0..1].
 */
export function div64(
  al: number,
  ah: number,
  bl: number,
  bh: number,
  signed: boolean,
  remainder: boolean,
): void {
  if (bl === 0 && bh === 0) {
    if (remainder) out[0] = al, out[1] = ah;
    else out[0] = -1, out[1] = -1;
    return;
  }
  // Fast path: both operands are exact as doubles.
  const a = signed ? toNumber(al, ah) : toUnsignedNumber(al, ah);
  const b = signed ? toNumber(bl, bh) : toUnsignedNumber(bl, bh);
  if (Math.abs(a) <= Number.MAX_SAFE_INTEGER && Math.abs(b) <= Number.MAX_SAFE_INTEGER) {
    const q = Math.trunc(a / b);
    // a / b in doubles may round up across an integer; fix with the exact remainder.
    let qq = q;
    let r = a - qq * b;
    if (r !== 0 && Math.sign(r) !== Math.sign(a)) {
      qq -= Math.sign(a) * Math.sign(b);
      r = a - qq * b;
    } else if (Math.abs(r) >= Math.abs(b)) {
      qq += Math.sign(a) * Math.sign(b);
      r = a - qq * b;
    }
    const v = remainder ? r : qq;
    out[0] = v | 0;
    out[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  const A = signed ? toBigInt(al, ah) : BigInt.asUintN(64, toBigInt(al, ah));
  const B = signed ? toBigInt(bl, bh) : BigInt.asUintN(64, toBigInt(bl, bh));
  if (signed && B === -1n && A === -(1n << 63n)) {
    if (remainder) out[0] = 0, out[1] = 0;
    else out[0] = al, out[1] = ah;
    return;
  }
  fromBigInt(remainder ? A % B : A / B);
}

/** 32-bit division as RISC-V defines it (divw family); returns the 32-bit result. */
export function div32(a: number, b: number, signed: boolean, remainder: boolean): number {
  if (b === 0) return remainder ? a | 0 : -1;
  if (signed) {
    if (a === -2147483648 && b === -1) return remainder ? 0 : a;
    return remainder ? (a % b) | 0 : (a / b) | 0;
  }
  const ua = a >>> 0, ub = b >>> 0;
  return remainder ? (ua % ub) | 0 : Math.floor(ua / ub) | 0;
}
