/**
 * The wasm encoder of core/wasm.ts: LEB128 at its edges against a reference
 * written with BigInt, modules that V8 validates and runs, local declarations
 * run-length encoded, sizes patched in place when they take several bytes,
 * pre-encoded functions, and every op's block in one module.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Amo } from "../core/decode.ts";
import { INSNS, Kind } from "../core/insns.ts";
import {
  Body,
  Bytes,
  encodeModule,
  F64,
  I32,
  I64,
  preEncode,
  W,
  type WasmFunction,
} from "../core/wasm.ts";
import { WasmJit } from "../core/wasm-jit.ts";

/** LEB128 by the book, on BigInt: unsigned, or signed two's complement. */
function referenceLeb(v: bigint, signed: boolean): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(BigInt.asUintN(7, v));
    v >>= 7n;
    const done = signed
      ? (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)
      : v === 0n;
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const written = (b: Bytes) => [...b.buf.subarray(0, b.len)];

const SIGNED_EDGES = [
  0,
  1,
  -1,
  63,
  64,
  -64,
  -65,
  127,
  128,
  -128,
  -129,
  8191,
  8192,
  -8193,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  -(2 ** 63),
];
const UNSIGNED_EDGES = [
  0,
  1,
  63,
  64,
  127,
  128,
  16383,
  16384,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
];

Deno.test("wasm encoder: unsigned and signed LEB128 at their edges are the reference's bytes", () => {
  for (const v of UNSIGNED_EDGES) {
    assert.deepEqual(written(new Bytes().uleb(v)), referenceLeb(BigInt(v), false), `uleb ${v}`);
  }
  for (const v of SIGNED_EDGES) {
    assert.deepEqual(written(new Bytes().sleb(v)), referenceLeb(BigInt(v), true), `sleb ${v}`);
  }
  // Many in one buffer: each write makes its own room as the buffer grows.
  const all = new Bytes(1);
  const expected: number[] = [];
  for (let i = 0; i < 50; i++) {
    for (const v of SIGNED_EDGES) all.sleb(v), expected.push(...referenceLeb(BigInt(v), true));
  }
  assert.deepEqual(written(all), expected);
});

/** A module of one exported function "f" of type () -> `result`. */
function single(result: number, locals: number[], body: Body): Uint8Array {
  return encodeModule([[[], [result]]], [{ type: 0, locals, body: [body], export: "f" }]);
}

function run(wire: Uint8Array): unknown {
  assert.ok(WebAssembly.validate(wire as BufferSource), "the module validates");
  const mod = new WebAssembly.Module(wire as BufferSource);
  const memory = new WebAssembly.Memory({ initial: 1 });
  return (new WebAssembly.Instance(mod, { e: { m: memory } }).exports.f as () => unknown)();
}

Deno.test("wasm encoder: i32 and i64 constants at the LEB edges come back from a compiled module", () => {
  for (const v of SIGNED_EDGES) {
    assert.equal(run(single(I64, [], new Body().i64(v))), BigInt(v), `i64.const ${v}`);
    if ((v | 0) === v) assert.equal(run(single(I32, [], new Body().i32(v))), v, `i32.const ${v}`);
  }
});

/** The code section's first function: its local declarations as [count, type] runs, and its body size. */
function firstFunction(wire: Uint8Array): { runs: [number, number][]; size: number } {
  let at = 8;
  const leb = () => {
    let v = 0, shift = 0, b;
    do b = wire[at++], v += (b & 0x7f) * 2 ** shift, shift += 7; while (b & 0x80);
    return v;
  };
  for (;;) {
    const id = wire[at++], size = leb(), end = at + size;
    if (id !== 10) {
      at = end;
      continue;
    }
    leb(); // function count
    const bodySize = leb(), bodyEnd = at + bodySize;
    const runs: [number, number][] = [];
    for (let n = leb(); n > 0; n--) runs.push([leb(), wire[at++]]);
    assert.equal(end, wire.length, "the code section is the last and its size is right");
    assert.ok(bodyEnd <= end);
    return { runs, size: bodySize };
  }
}

Deno.test("wasm encoder: locals are declared one run per type and each holds its own value", () => {
  // 300 locals in runs of 1 to 60 of each type; each set to its index, then summed as f64.
  const types: number[] = [];
  const lengths = [1, 60, 2, 37, 1, 1, 50, 3, 45, 100];
  lengths.forEach((n, i) => types.push(...Array(n).fill([I32, I64, F64][i % 3])));
  const b = new Body();
  types.forEach((ty, l) => {
    if (ty === I32) b.i32(l);
    else if (ty === I64) b.i64(l);
    else b.i64(l).op(W.f64ConvertI64s);
    b.set(l);
  });
  b.op(0x44).bytes(new Uint8Array(8)); // f64.const 0
  types.forEach((ty, l) => {
    b.get(l);
    if (ty === I32) b.op(W.f64ConvertI32s);
    if (ty === I64) b.op(W.f64ConvertI64s);
    b.op(0xa0); // f64.add
  });
  const wire = single(F64, types, b);
  assert.deepEqual(firstFunction(wire).runs, lengths.map((n, i) => [n, [I32, I64, F64][i % 3]]));
  assert.equal(run(wire), (types.length * (types.length - 1)) / 2);
});

Deno.test("wasm encoder: sizes that take two and three LEB bytes are patched in place", () => {
  for (const drops of [10, 100, 20_000]) {
    const b = new Body().i64(0);
    for (let i = 0; i < drops; i++) b.i64(i).op(W.drop);
    const wire = single(I64, [], b);
    // No local declarations (one byte), the body, its end.
    assert.equal(firstFunction(wire).size, 1 + b.len + 1);
    assert.equal(run(wire), 0n, `${drops} drops`);
  }
});

Deno.test("wasm encoder: a pre-encoded function makes the same module bytes as its source", () => {
  const body = new Body().get(0).get(1).op(W.i64Add).set(2).get(2);
  const fn: WasmFunction = { type: 0, locals: [I64, I32, I32], body: [body], export: "f" };
  const other: WasmFunction = { type: 0, locals: [], body: [new Body().get(0)], export: "g" };
  const types: [number[], number[]][] = [[[I64, I64], [I64]]];
  const plain = encodeModule(types, [fn, other]);
  assert.deepEqual(encodeModule(types, [preEncode(fn), other]), plain);
  // A module's bytes are its own: encoding the next one does not change them.
  const copy = plain.slice();
  encodeModule(types, [other]);
  assert.deepEqual(plain, copy);
  const mod = new WebAssembly.Module(plain);
  const f = new WebAssembly.Instance(mod, { e: { m: new WebAssembly.Memory({ initial: 1 }) } })
    .exports
    .f as (a: bigint, b: bigint) => bigint;
  assert.equal(f(40n, 2n), 42n);
});

Deno.test("wasm encoder: op() writes up to five bytes and refuses more", () => {
  assert.deepEqual(written(new Body().op()), []);
  assert.deepEqual(written(new Body().op(1, 2, 3, 4, 5)), [1, 2, 3, 4, 5]);
  assert.deepEqual(written(new Body().op(...[7, 8])), [7, 8]);
  assert.throws(() => new Body().op(1, 2, 3, 4, 5, 6), RangeError);
});

Deno.test("wasm encoder: every op's block in one module (helpers first) computes what it does alone", () => {
  const jit = new WasmJit(65536, 1);
  const { xl, xh } = jit.hart(0);
  const paths = INSNS.filter((d) => d.wasm !== undefined).flatMap((d) => {
    const p = d.op | 1 << 8 | 2 << 13 | 3 << 18 | 0x800000;
    const imms = d.kind === Kind.ATOMIC ? Object.values(Amo) : [-2048, 0, 31, 63, 64, 2047];
    return imms.map((imm) => [{ p, imm, delta: 0 }]);
  });
  const { fns } = jit.compile(paths);
  assert.equal(fns.length, paths.length);
  const pc = 0x8000_1000;
  const x1 = (f: (typeof fns)[number]) => {
    xl.fill(0x1234_5678), xh.fill(-0x789a_bcdf), xl[3] = 13;
    return [f(pc, 100, xl.byteOffset, 0, 0, 0, 0), xl[1], xh[1]];
  };
  paths.forEach((path, i) => {
    if (INSNS.find((d) => d.op === (path[0].p & 0xff))!.kind !== Kind.ALU) return;
    const alone = jit.compile([path]).fns[0];
    assert.deepEqual(x1(fns[i]), x1(alone), `op ${path[0].p & 0xff} imm ${path[0].imm}`);
  });
});
