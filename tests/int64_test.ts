/** 64-bit arithmetic on int32 pairs against BigInt, on edge values and a seeded random sample. */

import assert from "node:assert/strict";
import { div32, div64, fromBigInt, mul128, out, toBigInt } from "../core/int64.ts";

const EDGES = [
  0n,
  1n,
  -1n,
  2n,
  -2n,
  0x7fffffffn,
  -0x80000000n,
  0xffffffffn,
  0x100000000n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 63n) - 1n,
  -(1n << 63n),
  0x123456789abcdef0n,
];

/** xorshift64*, so the sample is the same on every run. */
function* randoms(seed: bigint, count: number): Generator<bigint> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x ^= x >> 12n, x ^= BigInt.asUintN(64, x << 25n), x ^= x >> 27n;
    const v = BigInt.asIntN(64, x * 0x2545f4914f6cdd1dn);
    // Mix in small magnitudes too: division fast paths depend on them.
    yield i % 3 === 0 ? v >> BigInt(i % 60) : v;
  }
}

const values = [...EDGES, ...randoms(0x9e3779b97f4a7c15n, 300)];
const pair = (v: bigint): [number, number] => {
  fromBigInt(v);
  return [out[0], out[1]];
};

Deno.test("mul128 matches BigInt for mul, mulh, mulhsu, mulhu", () => {
  for (const a of values) {
    for (const b of values.slice(0, 60)) {
      const [al, ah] = pair(a), [bl, bh] = pair(b);
      const u = (v: bigint) => BigInt.asUintN(64, v);
      const cases: [boolean, boolean, bigint][] = [
        [true, true, a * b],
        [true, false, a * u(b)],
        [false, false, u(a) * u(b)],
      ];
      for (const [sa, sb, product] of cases) {
        mul128(al, ah, bl, bh, sa, sb);
        assert.equal(toBigInt(out[0], out[1]), BigInt.asIntN(64, product), `low ${a}*${b}`);
        assert.equal(toBigInt(out[2], out[3]), BigInt.asIntN(64, product >> 64n), `high ${a}*${b}`);
      }
    }
  }
});

Deno.test("div64 follows the RISC-V rules (div/divu/rem/remu)", () => {
  const u = (v: bigint) => BigInt.asUintN(64, v);
  for (const a of values) {
    for (const b of values.slice(0, 60)) {
      const [al, ah] = pair(a), [bl, bh] = pair(b);
      const expect = {
        div: b === 0n ? -1n : a === -(1n << 63n) && b === -1n ? a : a / b,
        rem: b === 0n ? a : a === -(1n << 63n) && b === -1n ? 0n : a % b,
        divu: b === 0n ? -1n : BigInt.asIntN(64, u(a) / u(b)),
        remu: b === 0n ? a : BigInt.asIntN(64, u(a) % u(b)),
      };
      for (
        const [name, signed, rem] of [["div", true, false], ["rem", true, true], [
          "divu",
          false,
          false,
        ], ["remu", false, true]] as const
      ) {
        div64(al, ah, bl, bh, signed, rem);
        assert.equal(toBigInt(out[0], out[1]), expect[name], `${name} ${a}, ${b}`);
      }
    }
  }
});

Deno.test("div32 follows the RISC-V rules (divw/divuw/remw/remuw)", () => {
  const w = [0, 1, -1, 7, -7, 0x7fffffff, -0x80000000, 0x12345678, -3];
  for (const a of w) {
    for (const b of w) {
      const A = BigInt(a), B = BigInt(b);
      const uA = BigInt.asUintN(32, A), uB = BigInt.asUintN(32, B);
      const s32 = (v: bigint) => Number(BigInt.asIntN(32, v));
      assert.equal(
        div32(a, b, true, false),
        b === 0 ? -1 : a === -0x80000000 && b === -1 ? a : s32(A / B),
      );
      assert.equal(
        div32(a, b, true, true),
        b === 0 ? a : a === -0x80000000 && b === -1 ? 0 : s32(A % B),
      );
      assert.equal(div32(a, b, false, false), b === 0 ? -1 : s32(uA / uB));
      assert.equal(div32(a, b, false, true), b === 0 ? a : s32(uA % uB));
    }
  }
});
