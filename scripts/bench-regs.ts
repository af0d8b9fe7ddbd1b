/**
 * Micro-benchmark behind rvisor's register representation (DESIGN.md,
 * "Performance rules"): one small RV64-like workload, a bytecode loop of 64-bit
 * add/addi/xor/shift/compare over a 32-entry register file, interpreted four
 * ways with the registers held as
 *
 *   (a) BigInt values in a plain array,
 *   (b) a BigInt64Array,
 *   (c) int32 hi/lo halves in two Int32Arrays (what core/hart.ts does),
 *   (d) a Float64Array of doubles (not exact above 2^53: shown for reference).
 *
 * Prints operations per second for each and the ratio to (c), and checks that
 * (a), (b) and (c) end with the same registers. Runs in a few seconds:
 * `deno run -A scripts/bench-regs.ts [--ms 400]`. Not a test: nothing is asserted
 * about speed.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Opcodes of the toy bytecode (a subset of RV64I's integer operations). */
const ADD = 0, ADDI = 1, XOR = 2, SLLI = 3, SRLI = 4, SLTU = 5;

/** One instruction: opcode, rd, rs1, and rs2 or an immediate / shift amount. */
type Insn = [op: number, rd: number, rs1: number, rs2OrImm: number];

/**
 * The loop body: a hash-like mix that keeps values spread over all 64 bits
 * (so the halves and carries matter) and includes an unsigned compare.
 */
const PROGRAM: Insn[] = [
  [ADD, 5, 5, 6],
  [XOR, 7, 7, 5],
  [SLLI, 8, 7, 13],
  [XOR, 7, 7, 8],
  [SRLI, 8, 7, 7],
  [XOR, 7, 7, 8],
  [SLLI, 8, 7, 17],
  [XOR, 7, 7, 8],
  [ADDI, 6, 6, -1377],
  [SLTU, 9, 7, 5],
  [ADD, 10, 10, 9],
  [ADD, 11, 11, 7],
  [SRLI, 12, 11, 33],
  [XOR, 13, 13, 12],
  [ADDI, 14, 14, 1],
  [SLTU, 15, 6, 14],
];

/** The program flattened to 4 int32s per instruction, as a decode cache would hold it. */
const CODE = Int32Array.from(PROGRAM.flat());

/** Initial register values (64-bit patterns), shared by every representation. */
function initialRegs(): bigint[] {
  const r: bigint[] = [];
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 32; i++) {
    x = BigInt.asUintN(64, x * 0xbf58476d1ce4e5b9n + 0x94d049bb133111ebn);
    r.push(i === 0 ? 0n : x);
  }
  return r;
}

/** One representation: builds its register file and runs the program `passes` times. */
interface Variant {
  /** Label in the table. */
  name: string;
  /** Runs the loop body `passes` times on this variant's registers. */
  run(passes: number): void;
  /** Final registers as unsigned 64-bit values, to compare the variants. */
  regs(): bigint[];
}

/** (a) BigInt in a plain array: every result is a new heap value and needs asUintN. */
function bigintArray(): Variant {
  const x = initialRegs();
  // Immediates and shift amounts converted once, as a decoder would.
  const big = PROGRAM.map(([, , , v]) => BigInt(v));
  return {
    name: "(a) BigInt in Array",
    run(passes) {
      const n = CODE.length;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i += 4) {
          const rd = CODE[i + 1], rs1 = CODE[i + 2], v = CODE[i + 3];
          switch (CODE[i]) {
            case ADD:
              x[rd] = BigInt.asUintN(64, x[rs1] + x[v]);
              break;
            case ADDI:
              x[rd] = BigInt.asUintN(64, x[rs1] + big[i >> 2]);
              break;
            case XOR:
              x[rd] = x[rs1] ^ x[v];
              break;
            case SLLI:
              x[rd] = BigInt.asUintN(64, x[rs1] << big[i >> 2]);
              break;
            case SRLI:
              x[rd] = x[rs1] >> big[i >> 2];
              break;
            case SLTU:
              x[rd] = x[rs1] < x[v] ? 1n : 0n;
              break;
          }
        }
      }
    },
    regs: () => [...x],
  };
}

/** (b) BigInt64Array: stores wrap to 64 bits for free, but loads still allocate BigInts. */
function bigint64Array(): Variant {
  const x = BigInt64Array.from(initialRegs().map((v) => BigInt.asIntN(64, v)));
  const big = PROGRAM.map(([, , , v]) => BigInt(v));
  return {
    name: "(b) BigInt64Array",
    run(passes) {
      const n = CODE.length;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i += 4) {
          const rd = CODE[i + 1], rs1 = CODE[i + 2], v = CODE[i + 3];
          switch (CODE[i]) {
            case ADD:
              x[rd] = x[rs1] + x[v];
              break;
            case ADDI:
              x[rd] = x[rs1] + big[i >> 2];
              break;
            case XOR:
              x[rd] = x[rs1] ^ x[v];
              break;
            case SLLI:
              x[rd] = x[rs1] << big[i >> 2];
              break;
            case SRLI:
              x[rd] = BigInt.asUintN(64, x[rs1]) >> big[i >> 2];
              break;
            case SLTU:
              x[rd] = BigInt.asUintN(64, x[rs1]) < BigInt.asUintN(64, x[v]) ? 1n : 0n;
              break;
          }
        }
      }
    },
    regs: () => [...x].map((v) => BigInt.asUintN(64, v)),
  };
}

/** (c) int32 hi/lo pairs: all small integers (Smis), no allocation; carries by hand. */
function int32Pairs(): Variant {
  const init = initialRegs();
  const xl = Int32Array.from(init.map((v) => Number(BigInt.asIntN(32, v))));
  const xh = Int32Array.from(init.map((v) => Number(BigInt.asIntN(32, v >> 32n))));
  return {
    name: "(c) int32 hi/lo pairs",
    run(passes) {
      const n = CODE.length;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i += 4) {
          const rd = CODE[i + 1], rs1 = CODE[i + 2], v = CODE[i + 3];
          switch (CODE[i]) {
            case ADD: {
              const s = (xl[rs1] >>> 0) + (xl[v] >>> 0);
              xh[rd] = (xh[rs1] + xh[v] + (s > 0xffffffff ? 1 : 0)) | 0;
              xl[rd] = s | 0;
              break;
            }
            case ADDI: {
              const s = (xl[rs1] >>> 0) + (v >>> 0);
              xh[rd] = (xh[rs1] + (v >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
              xl[rd] = s | 0;
              break;
            }
            case XOR:
              xl[rd] = xl[rs1] ^ xl[v];
              xh[rd] = xh[rs1] ^ xh[v];
              break;
            case SLLI: { // 0 < v < 64; JS shifts take the count mod 32, hence the two cases
              const lo = xl[rs1], hi = xh[rs1];
              if (v < 32) {
                xh[rd] = (hi << v) | (lo >>> (32 - v));
                xl[rd] = lo << v;
              } else {
                xh[rd] = lo << (v - 32);
                xl[rd] = 0;
              }
              break;
            }
            case SRLI: {
              const lo = xl[rs1], hi = xh[rs1];
              if (v < 32) {
                xl[rd] = (lo >>> v) | (hi << (32 - v));
                xh[rd] = hi >>> v;
              } else {
                xl[rd] = hi >>> (v - 32);
                xh[rd] = 0;
              }
              break;
            }
            case SLTU: {
              const ah = xh[rs1] >>> 0, bh = xh[v] >>> 0;
              xl[rd] = ah < bh || (ah === bh && (xl[rs1] >>> 0) < (xl[v] >>> 0)) ? 1 : 0;
              xh[rd] = 0;
              break;
            }
          }
        }
      }
    },
    regs: () => [...xl].map((lo, i) => (BigInt(xh[i] >>> 0) << 32n) | BigInt(lo >>> 0)),
  };
}

const TWO32 = 2 ** 32, TWO64 = 2 ** 64;

/** (d) doubles: fast arithmetic, but only 53 bits of mantissa, so results drift. */
function float64(): Variant {
  const x = Float64Array.from(initialRegs().map(Number));
  return {
    name: "(d) Float64Array (inexact)",
    run(passes) {
      const n = CODE.length;
      for (let p = 0; p < passes; p++) {
        for (let i = 0; i < n; i += 4) {
          const rd = CODE[i + 1], rs1 = CODE[i + 2], v = CODE[i + 3];
          switch (CODE[i]) {
            case ADD:
              x[rd] = (x[rs1] + x[v]) % TWO64;
              break;
            case ADDI:
              x[rd] = (x[rs1] + v + TWO64) % TWO64;
              break;
            case XOR: { // bitwise operators are 32-bit in JS: split each value in halves
              const a = x[rs1], b = x[v];
              const ah = Math.floor(a / TWO32), bh = Math.floor(b / TWO32);
              x[rd] = ((ah ^ bh) >>> 0) * TWO32 + (((a - ah * TWO32) ^ (b - bh * TWO32)) >>> 0);
              break;
            }
            case SLLI:
              x[rd] = (x[rs1] * 2 ** v) % TWO64;
              break;
            case SRLI:
              x[rd] = Math.floor(x[rs1] / 2 ** v);
              break;
            case SLTU:
              x[rd] = x[rs1] < x[v] ? 1 : 0;
              break;
          }
        }
      }
    },
    regs: () => [...x].map((v) => BigInt.asUintN(64, BigInt(Math.floor(v)))),
  };
}

/** Measured speed of one variant. */
export interface RegsResult {
  /** Variant label. */
  name: string;
  /** Interpreted bytecode operations per second. */
  opsPerSecond: number;
  /** True if its final registers equal those of (c). */
  exact: boolean;
}

/**
 * Runs each variant for about `ms` milliseconds (after a warm-up of a quarter of
 * that, so that V8 has optimised it) and returns its speed; then replays a fixed
 * number of passes on fresh registers to check each against (c).
 */
export function benchRegs(ms = 400): RegsResult[] {
  const variants = [bigintArray, bigint64Array, int32Pairs, float64];
  const ops = CODE.length / 4;
  const passesPerCall = 1000;
  const timed = variants.map((make) => {
    const v = make();
    const warmEnd = performance.now() + ms / 4;
    while (performance.now() < warmEnd) v.run(passesPerCall);
    const t0 = performance.now();
    let timedCalls = 0;
    while (performance.now() - t0 < ms) v.run(passesPerCall), timedCalls++;
    const elapsed = performance.now() - t0;
    return {
      name: v.name,
      opsPerSecond: (timedCalls * passesPerCall * ops) / (elapsed / 1000),
    };
  });
  // Exactness: replay a fixed number of passes on fresh register files.
  const reference = int32Pairs();
  reference.run(10_000);
  const want = reference.regs().join();
  return timed.map((t, i) => {
    const v = variants[i]();
    v.run(10_000);
    return { name: t.name, opsPerSecond: t.opsPerSecond, exact: v.regs().join() === want };
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { ms: { type: "string", default: "400" } } });
  const results = benchRegs(Number(values.ms));
  const base = results.find((r) => r.name.startsWith("(c)"))!.opsPerSecond;
  console.log("register representation       Mops/s   vs (c)  exact");
  for (const r of results) {
    console.log(
      `${r.name.padEnd(28)} ${(r.opsPerSecond / 1e6).toFixed(1).padStart(7)}  ${
        (r.opsPerSecond / base).toFixed(2).padStart(6)
      }x  ${r.exact ? "yes" : "no"}`,
    );
  }
}
