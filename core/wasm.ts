/**
 * WebAssembly opcodes, shared by the instruction definitions (core/insns.ts,
 * each op's wasm form) and the encoder that emits them (core/wasm-jit.ts).
 *
 * @module
 */

/** The opcodes the blocks use (WebAssembly core spec, section 5.4). */
export const W = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  ret: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  f64Load: 0x2b,
  f64Store: 0x39,
  i64Load8s: 0x30,
  i64Load8u: 0x31,
  i64Load16s: 0x32,
  i64Load16u: 0x33,
  i64Load32s: 0x34,
  i64Load32u: 0x35,
  i32Store: 0x36,
  i64Store: 0x37,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32GtS: 0x4a,
  i32GeS: 0x4e,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  f64Eq: 0x61,
  f64Ne: 0x62,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32DivU: 0x6e,
  i32RemS: 0x6f,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32s: 0xac,
  i64ExtendI32u: 0xad,
  i64TruncF64s: 0xb0,
  f64ConvertI32s: 0xb7,
  f64ConvertI64s: 0xb9,
} as const;
/** Value types (and the empty block type) as wasm encodes them. */
export const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, VOID = 0x40;

// ---------------------------------------------------------------- the encoder

/** Bytes of one slab that {@linkcode room} cuts buffers from. */
const SLAB = 256 * 1024;
let slab = new ArrayBuffer(SLAB), slabUsed = 0;

/**
 * A buffer of `n` bytes, cut from a shared slab: a block's encoding makes a
 * dozen short-lived buffers, and a view of an existing ArrayBuffer costs V8
 * much less than an ArrayBuffer of its own (a backing store to allocate and
 * free, and to account for in each GC). A slab lives as long as one of its
 * views does.
 */
function room(n: number): Uint8Array<ArrayBuffer> {
  if (n > SLAB / 8) return new Uint8Array(n);
  if (slabUsed + n > SLAB) slab = new ArrayBuffer(SLAB), slabUsed = 0;
  const view = new Uint8Array(slab, slabUsed, n);
  slabUsed += n;
  return view;
}

/**
 * A growable byte buffer with the encodings wasm uses, written in place: each
 * method makes room once for what it writes, then stores into the array.
 */
export class Bytes {
  /** The bytes written so far are `buf[0 .. len)`; the rest is room to grow into. */
  buf: Uint8Array<ArrayBuffer>;
  /** Bytes written. */
  len = 0;

  /** @param capacity initial room in bytes. */
  constructor(capacity = 64) {
    this.buf = room(capacity);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n > this.buf.length) {
      const bigger = room(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
  }

  /** One byte. */
  byte(b: number): this {
    if (this.len === this.buf.length) this.reserve(1);
    this.buf[this.len++] = b;
    return this;
  }

  /** Unsigned LEB128 of a safe integer. */
  uleb(v: number): this {
    this.reserve(10);
    const buf = this.buf;
    let len = this.len;
    if (v < 0x1_0000_0000) {
      while (v >= 0x80) {
        buf[len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[len++] = v;
    } else {
      do {
        let b = v % 128;
        v = Math.floor(v / 128);
        if (v !== 0) b |= 0x80;
        buf[len++] = b;
      } while (v !== 0);
    }
    this.len = len;
    return this;
  }

  /** Signed LEB128 of an integer-valued double (i32 and i64 constants: a safe integer or -2^63). */
  sleb(v: number): this {
    this.reserve(10);
    const buf = this.buf;
    let len = this.len;
    if ((v | 0) === v) {
      for (;;) {
        const b = v & 0x7f;
        v >>= 7;
        if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
          buf[len++] = b;
          break;
        }
        buf[len++] = b | 0x80;
      }
    } else {
      for (;;) {
        const b = ((v % 128) + 128) % 128;
        v = Math.floor(v / 128);
        const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
        buf[len++] = done ? b : b | 0x80;
        if (done) break;
      }
    }
    this.len = len;
    return this;
  }

  /** The bytes of `other`. */
  append(other: Bytes): this {
    return this.bytes(other.buf, other.len);
  }

  /** The first `n` bytes of `src`. */
  bytes(src: Uint8Array, n: number = src.length): this {
    this.reserve(n);
    if (n > 16) this.buf.set(n === src.length ? src : src.subarray(0, n), this.len);
    else for (let i = 0; i < n; i++) this.buf[this.len + i] = src[i];
    this.len += n;
    return this;
  }

  /** A length-prefixed string (names; ASCII). */
  name(s: string): this {
    this.uleb(s.length);
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
    return this;
  }

  /** `other` prefixed with its length in bytes (sections, function bodies). */
  sized(other: Bytes): this {
    return this.uleb(other.len).append(other);
  }

  /**
   * Starts something prefixed with its size in bytes, written in place after
   * this call and closed by {@linkcode close} with what this returns.
   */
  open(): number {
    return this.byte(0).len;
  }

  /** Writes the size of what was written since {@linkcode open} returned `at` before it. */
  close(at: number): this {
    const size = this.len - at;
    if (size < 0x80) {
      this.buf[at - 1] = size;
      return this;
    }
    // The size takes more than the one byte held for it: move the contents up.
    let k = 1;
    while (size >= 2 ** (7 * k)) k++;
    this.reserve(k - 1);
    const buf = this.buf;
    buf.copyWithin(at + k - 1, at, this.len);
    this.len += k - 1;
    for (let i = 0, v = size; i < k; i++, v >>>= 7) {
      buf[at - 1 + i] = i < k - 1 ? (v & 0x7f) | 0x80 : v;
    }
    return this;
  }
}

/** A function body under construction. */
export class Body extends Bytes {
  /** Opcodes and other single bytes, up to five. */
  op(...ops: number[]): this;
  // Fixed parameters, not a rest array: this is the encoder's most frequent call.
  op(a?: number, b?: number, c?: number, d?: number, e?: number): this {
    if (arguments.length > 5) throw new RangeError("wasm encoder: op() takes at most 5 bytes");
    if (a === undefined) return this;
    this.reserve(5);
    const buf = this.buf;
    buf[this.len++] = a;
    if (b === undefined) return this;
    buf[this.len++] = b;
    if (c === undefined) return this;
    buf[this.len++] = c;
    if (d === undefined) return this;
    buf[this.len++] = d;
    if (e !== undefined) buf[this.len++] = e;
    return this;
  }
  /** i32.const `v`. */
  i32(v: number): this {
    return this.byte(W.i32Const).sleb(v);
  }
  /** i64.const `v` (a safe integer, or -2^63). */
  i64(v: number): this {
    return this.byte(W.i64Const).sleb(v);
  }
  /** local.get `l`. */
  get(l: number): this {
    return this.byte(W.localGet).uleb(l);
  }
  /** local.set `l`. */
  set(l: number): this {
    return this.byte(W.localSet).uleb(l);
  }
  /** local.tee `l`. */
  tee(l: number): this {
    return this.byte(W.localTee).uleb(l);
  }
  /** A memory access with alignment hint `align` (log2) and a constant offset. */
  mem(op: number, align: number, offset: number): this {
    return this.byte(op).byte(align).uleb(offset);
  }
  /** A branch `op` (br, br_if) to label `depth`. */
  br(op: number, depth: number): this {
    return this.byte(op).uleb(depth);
  }
  /** call `f`. */
  call(f: number): this {
    return this.byte(W.call).uleb(f);
  }
}

/**
 * One function of a module: its type index, extra locals (by type) and body
 * (prologue, code, epilogue), or its code-section entry encoded once by
 * {@linkcode preEncode}.
 */
export interface WasmFunction {
  /** Index of its type in the module's types. */
  type: number;
  /** The type of each local after the parameters. */
  locals: number[];
  /** The body's instructions, in parts written one after the other (without the final `end`). */
  body: Bytes[];
  /** The name it is exported under, if it is. */
  export?: string;
  /** The code-section entry (size, locals, body, end), which `locals` and `body` are then ignored for. */
  code?: Uint8Array;
}

/** Writes a function's code-section entry: its size, its locals (a run of one type each), its body and end. */
function encodeFunction(out: Bytes, fn: WasmFunction): void {
  if (fn.code !== undefined) {
    out.bytes(fn.code);
    return;
  }
  const at = out.open();
  const locals = fn.locals;
  let runs = 0;
  for (let i = 0; i < locals.length; i++) if (i === 0 || locals[i] !== locals[i - 1]) runs++;
  out.uleb(runs);
  for (let i = 0; i < locals.length;) {
    let j = i + 1;
    while (j < locals.length && locals[j] === locals[i]) j++;
    out.uleb(j - i).byte(locals[i]);
    i = j;
  }
  for (const part of fn.body) out.append(part);
  out.byte(W.end).close(at);
}

/** The function with its code-section entry encoded now, once, for every module it goes into. */
export function preEncode(fn: WasmFunction): WasmFunction {
  const out = new Bytes(256);
  encodeFunction(out, fn);
  return { ...fn, code: out.buf.slice(0, out.len) };
}

/** The header, type and import sections, by types (and with a table or not): the same for every block. */
const PREFIXES = new WeakMap<readonly (readonly [number[], number[]])[], Uint8Array[]>();

function prefix(types: readonly (readonly [number[], number[]])[], table: boolean): Uint8Array {
  let both = PREFIXES.get(types);
  if (both === undefined) PREFIXES.set(types, both = []);
  const t = table ? 1 : 0;
  if (both[t] === undefined) {
    const out = new Body(256).op(0x00, 0x61, 0x73, 0x6d).op(0x01, 0x00, 0x00, 0x00);
    let at = out.byte(1).open();
    out.uleb(types.length);
    for (const [p, r] of types) {
      out.byte(0x60).uleb(p.length);
      for (const ty of p) out.byte(ty);
      out.uleb(r.length);
      for (const ty of r) out.byte(ty);
    }
    out.close(at);
    at = out.byte(2).open();
    out.uleb(table ? 2 : 1).name("e").name("m").byte(0x02).byte(0x00).byte(0x00); // memory, min 0
    if (table) out.name("e").name("t").byte(0x01).byte(0x70).byte(0x00).byte(0x00); // funcref table, min 0
    both[t] = out.close(at).buf.slice(0, out.len);
  }
  return both[t];
}

/** The encoder's output buffer, reused by every module (a module's bytes are copied out of it). */
const OUT = new Bytes(16384);

/** Encodes a module importing memory `e.m` (and table `e.t` of functions) with the given function types and functions. */
export function encodeModule(
  types: [number[], number[]][],
  fns: WasmFunction[],
  table = false,
): Uint8Array<ArrayBuffer> {
  const out = OUT;
  out.len = 0;
  out.bytes(prefix(types, table));
  let at = out.byte(3).open();
  out.uleb(fns.length);
  for (const fn of fns) out.uleb(fn.type);
  out.close(at);
  at = out.byte(7).open();
  let exports = 0;
  for (const fn of fns) if (fn.export !== undefined) exports++;
  out.uleb(exports);
  for (let i = 0; i < fns.length; i++) {
    const name = fns[i].export;
    if (name !== undefined) out.name(name).byte(0x00).uleb(i);
  }
  out.close(at);
  at = out.byte(10).open();
  out.uleb(fns.length);
  for (const fn of fns) encodeFunction(out, fn);
  out.close(at);
  const wire = room(out.len);
  wire.set(out.buf.subarray(0, out.len));
  return wire;
}
