/**
 * F/D differential test against QEMU: generates operands (edge values:
 * signed zeros, subnormals, min/max normal, infinities, quiet and signalling
 * NaNs with payloads, improperly boxed singles, values near overflow and
 * underflow, rounding ties, cancellations, random bit patterns), runs every
 * F/D operation on them in every rounding mode on QEMU 7.2 and on rvisor,
 * and compares the result bits and fflags record by record.
 *
 * The guest is one bare-metal program: its data section holds records of
 * (operation, rounding mode, a, b, c); a loop sets frm (every instruction
 * uses the dynamic mode), loads the operands as raw bits (fld, so the
 * generator controls NaN boxing), clears fflags, jumps to the operation's
 * snippet, and prints the result's 64 bits and fflags in hex on the UART.
 *
 * Usage: deno run -A scripts/fp-diff.ts [--per 2000] [--seed 1] [--only fadd.s]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { VirtMachine } from "../devices/virt.ts";
import { missing, QEMU, QEMU_CPU_FD } from "./host-tools.ts";

const AS = "riscv64-unknown-elf-as";
const LD = "riscv64-unknown-elf-ld";

/** One F/D operation under test. */
export interface FpOp {
  /** Mnemonic. */
  name: string;
  /** Its instruction in the snippet: operands fa0-fa2 or a0, result fa3 or a1. */
  asm: string;
  /** Format of the floating-point operands (or the result, for int -> float). */
  fmt: "s" | "d";
  /** Operand kinds: f = float of fmt, x = integer, o = float of the other format. */
  args: string;
  /** True if the rounding mode matters (then it runs in all five). */
  rounds: boolean;
  /** True if the result is an integer register. */
  intResult: boolean;
}

function makeOps(): FpOp[] {
  const ops: FpOp[] = [];
  const add = (name: string, asm: string, fmt: "s" | "d", args: string, rounds: boolean) =>
    ops.push({ name, asm, fmt, args, rounds, intResult: asm.includes(" a1,") });
  for (const f of ["s", "d"] as const) {
    const o = f === "s" ? "d" : "s";
    for (const op of ["fadd", "fsub", "fmul", "fdiv"]) {
      add(`${op}.${f}`, `${op}.${f} fa3, fa0, fa1`, f, "ff", true);
    }
    add(`fsqrt.${f}`, `fsqrt.${f} fa3, fa0`, f, "f", true);
    for (const op of ["fmadd", "fmsub", "fnmsub", "fnmadd"]) {
      add(`${op}.${f}`, `${op}.${f} fa3, fa0, fa1, fa2`, f, "fff", true);
    }
    for (const op of ["fmin", "fmax", "fsgnj", "fsgnjn", "fsgnjx"]) {
      add(`${op}.${f}`, `${op}.${f} fa3, fa0, fa1`, f, "ff", false);
    }
    for (const op of ["feq", "flt", "fle"]) {
      add(`${op}.${f}`, `${op}.${f} a1, fa0, fa1`, f, "ff", false);
    }
    add(`fclass.${f}`, `fclass.${f} a1, fa0`, f, "f", false);
    for (const i of ["w", "wu", "l", "lu"]) {
      add(`fcvt.${i}.${f}`, `fcvt.${i}.${f} a1, fa0`, f, "f", true);
      add(`fcvt.${f}.${i}`, `fcvt.${f}.${i} fa3, a0`, f, "x", true);
    }
    add(`fcvt.${f}.${o}`, `fcvt.${f}.${o} fa3, fa0`, f, "o", true);
    const w = f === "s" ? "w" : "d";
    add(`fmv.x.${w}`, `fmv.x.${w} a1, fa0`, f, "f", false);
    add(`fmv.${w}.x`, `fmv.${w}.x fa3, a0`, f, "x", false);
  }
  return ops;
}

/** Every operation the test covers. */
export const FP_OPS: readonly FpOp[] = makeOps();

/** A deterministic PRNG (mulberry32) returning 32-bit unsigned integers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const BOX = 0xffffffff00000000n;

/** Edge values of binary32 (bit patterns). */
const EDGE_S = [
  0x00000000,
  0x80000000,
  0x00000001,
  0x80000001,
  0x007fffff,
  0x807fffff,
  0x00800000,
  0x80800000,
  0x00800001,
  0x7f7fffff,
  0xff7fffff,
  0x7f7ffffe,
  0x3f800000,
  0xbf800000,
  0x3f800001,
  0x3f7fffff,
  0x7f800000,
  0xff800000,
  0x7fc00000,
  0xffc00000,
  0x7fc12345,
  0x7f800001,
  0xff800001,
  0x7fbfffff,
  0x40000000,
  0x3f000000,
  0x33800000,
  0x34000000,
  0x4b800000,
  0x4b7fffff,
  0x4f000000,
  0xcf000000,
  0x4f800000,
  0x5f000000,
  0xdf000000,
  0x5f800000,
  0x00400000,
  0x0c000000,
  0x72000000,
  0x1f800000,
].map((x) => BigInt(x >>> 0));

/** Edge values of binary64. */
const EDGE_D = [
  0x0000000000000000n,
  0x8000000000000000n,
  0x0000000000000001n,
  0x8000000000000001n,
  0x000fffffffffffffn,
  0x800fffffffffffffn,
  0x0010000000000000n,
  0x8010000000000000n,
  0x0010000000000001n,
  0x7fefffffffffffffn,
  0xffefffffffffffffn,
  0x7feffffffffffffen,
  0x3ff0000000000000n,
  0xbff0000000000000n,
  0x3ff0000000000001n,
  0x3fefffffffffffffn,
  0x7ff0000000000000n,
  0xfff0000000000000n,
  0x7ff8000000000000n,
  0xfff8000000000000n,
  0x7ff8000000012345n,
  0x7ff0000000000001n,
  0xfff0000000000001n,
  0x7ff7ffffffffffffn,
  0x4000000000000000n,
  0x3fe0000000000000n,
  0x3ca0000000000000n,
  0x3cb0000000000000n,
  0x4330000000000000n,
  0x432fffffffffffffn,
  0x41e0000000000000n,
  0xc1e0000000000000n,
  0x41f0000000000000n,
  0x43e0000000000000n,
  0xc3e0000000000000n,
  0x43f0000000000000n,
  0x0008000000000000n,
  0x3810000000000000n,
  0x380fffffffffffffn,
  0x47efffffe0000000n,
  0x47f0000000000000n,
  0x36a0000000000000n,
  0x369fffffffffffffn,
  0x7fe0000000000000n,
];

/** Edge integers for int -> float conversions. */
const EDGE_X = [
  0n,
  1n,
  -1n,
  2n,
  3n,
  0x7fffffffn,
  -0x80000000n,
  0xffffffffn,
  0x80000000n,
  0x1000001n,
  0x1000003n,
  0xffffffn,
  0x20000000000001n,
  0x20000000000003n,
  0x1fffffffffffffn,
  0x7fffffffffffffffn,
  -0x8000000000000000n,
  0xffffffffffffffffn,
  0x8000000000000001n,
  0x7ffffffffffffe00n,
  0x7ffffffffffffdffn,
  0x100000001n,
  -0x1000001n,
].map((v) => BigInt.asUintN(64, v));

/** Operand generator for one format. */
class Operands {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = rng(seed);
  }

  #u32(): bigint {
    return BigInt(this.#next());
  }

  #u64(): bigint {
    return (this.#u32() << 32n) | this.#u32();
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[this.#next() % xs.length];
  }

  /** A value of format `fmt` (raw bits; singles NaN-boxed, rarely not). */
  float(fmt: "s" | "d", near?: bigint): bigint {
    const r = this.#next() % 100;
    let v: bigint;
    const expBits = fmt === "s" ? 8 : 11, frac = fmt === "s" ? 23 : 52;
    const width = fmt === "s" ? 32 : 64;
    if (r < 20) v = this.#pick(fmt === "s" ? EDGE_S : EDGE_D);
    else if (r < 45) v = fmt === "s" ? this.#u32() : this.#u64();
    else if (r < 70 && near !== undefined) {
      // Near another operand: cancellation, ties and exact results.
      const delta = BigInt(this.#next() % 8) - 4n;
      const shift = BigInt(this.#next() % (frac + 2));
      v = near + (this.#next() & 1 ? delta : delta << shift);
      if (this.#next() & 1) v ^= 1n << BigInt(width - 1);
    } else {
      // Random significand, exponent biased to the extremes and to 1.0.
      const bias = (1 << (expBits - 1)) - 1;
      const pick = this.#next() % 4;
      const e = pick === 0
        ? this.#next() % 8
        : pick === 1
        ? (1 << expBits) - 2 - (this.#next() % 8)
        : pick === 2
        ? bias - 30 + (this.#next() % 60)
        : this.#next() % (1 << expBits);
      let m = fmt === "s" ? this.#u32() & 0x7fffffn : this.#u64() & ((1n << 52n) - 1n);
      if (this.#next() % 4 === 0) m &= ~((1n << BigInt(this.#next() % frac)) - 1n); // short significands
      v = (BigInt(this.#next() & 1) << BigInt(width - 1)) | (BigInt(e) << BigInt(frac)) | m;
    }
    v = BigInt.asUintN(width, v);
    if (fmt === "s") return this.#next() % 50 === 0 ? v : v | BOX; // 2%: improperly boxed
    return v;
  }

  /** A 64-bit integer operand (unsigned bits). */
  int(): bigint {
    const r = this.#next() % 100;
    if (r < 25) return this.#pick(EDGE_X);
    const bits = 1 + this.#next() % 64;
    let v = this.#u64() & ((1n << BigInt(bits)) - 1n);
    if (this.#next() & 1) v = BigInt.asUintN(64, -v);
    return v;
  }
}

/** A test record: operation index, rounding mode, three operands (raw 64-bit). */
export interface FpRecord {
  op: number;
  rm: number;
  a: bigint;
  b: bigint;
  c: bigint;
}

/** Double of a binary64 bit pattern, and back (for the FMA cancellation operands). */
function f64(bits: bigint): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, bits, true);
  return dv.getFloat64(0, true);
}
function bitsOf64(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  return dv.getBigUint64(0, true);
}
function f32(bits: bigint): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, Number(bits & 0xffffffffn), true);
  return dv.getFloat32(0, true);
}
function bitsOf32(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return BigInt(dv.getUint32(0, true));
}

/**
 * `per` records for every (operation, rounding mode) pair (operations that do
 * not round get `per` records in RNE only), deterministic in `seed`.
 */
export function generateRecords(per: number, seed = 1, only?: string): FpRecord[] {
  const records: FpRecord[] = [];
  FP_OPS.forEach((op, i) => {
    if (only !== undefined && op.name !== only) return;
    for (let rm = 0; rm < (op.rounds ? 5 : 1); rm++) {
      const g = new Operands(seed * 1000003 + i * 7919 + rm * 104729);
      for (let k = 0; k < per; k++) {
        const other = op.fmt === "s" ? "d" : "s";
        let a = op.args[0] === "x" ? g.int() : g.float(op.args[0] === "o" ? other : op.fmt);
        const b = op.args.length > 1 ? g.float(op.fmt, a) : 0n;
        let c = op.args.length > 2 ? g.float(op.fmt, a) : 0n;
        if (op.args.length > 2 && k % 4 === 1) {
          // c = -(a*b) rounded: the FMA's exact error term decides the result. Not for a NaN
          // product: JavaScript does not keep NaN payloads (V8 keeps or drops them by tier), so
          // the records would differ from run to run.
          const p = op.fmt === "d" ? -(f64(a) * f64(b)) : -Math.fround(f32(a) * f32(b));
          if (!Number.isNaN(p)) c = op.fmt === "d" ? bitsOf64(p) : bitsOf32(p) | BOX;
        }
        if (op.name.startsWith("fmv.") && op.args === "x") a = g.int() ^ (g.int() << 7n);
        records.push({ op: i, rm, a, b, c: BigInt.asUintN(64, c) });
      }
    }
  });
  return records;
}

/** The guest program (assembly) for `records` stored in `dataFile`. */
export function programSource(dataFile: string, count: number): string {
  const lines = [
    "  .option norvc",
    "  .section .text.init",
    "  .globl _start",
    "_start:",
    "  li t0, 1 << 13",
    "  csrs mstatus, t0 # FS = initial",
    "  la s0, records",
    `  li s1, ${count}`,
    "  li s2, 0x10000000 # UART",
    "  la s3, optable",
    "loop:",
    "  beqz s1, finish",
    "  ld t0, 0(s0)",
    "  ld t1, 8(s0)",
    "  csrw frm, t1",
    "  fld fa0, 16(s0)",
    "  fld fa1, 24(s0)",
    "  fld fa2, 32(s0)",
    "  ld a0, 16(s0)",
    "  fmv.d.x fa3, zero",
    "  li a1, 0",
    "  csrw fflags, zero",
    "  slli t0, t0, 3",
    "  add t0, t0, s3",
    "  ld t0, 0(t0)",
    "  jr t0",
    "done_f:",
    "  fmv.x.d a1, fa3",
    "done_x:",
    "  csrr a2, fflags",
    "  li t3, 60",
    "hex64:",
    "  srl t4, a1, t3",
    "  call putnibble",
    "  addi t3, t3, -4",
    "  bgez t3, hex64",
    "  srli t4, a2, 4",
    "  call putnibble",
    "  mv t4, a2",
    "  call putnibble",
    "  li t4, 10",
    "  call putc",
    "  addi s0, s0, 40",
    "  addi s1, s1, -1",
    "  j loop",
    "putnibble:",
    "  andi t4, t4, 15",
    "  addi t4, t4, 48",
    "  li t5, 58",
    "  blt t4, t5, putc",
    "  addi t4, t4, 39",
    "putc:",
    "  lbu t5, 5(s2)",
    "  andi t5, t5, 0x20",
    "  beqz t5, putc",
    "  sb t4, 0(s2)",
    "  ret",
    "finish:",
    "  li t0, 0x100000",
    "  li t1, 0x5555",
    "  sw t1, 0(t0)",
    "1: j 1b",
  ];
  FP_OPS.forEach((op, i) => {
    lines.push(`op${i}: # ${op.name}`, `  ${op.asm}`, `  j ${op.intResult ? "done_x" : "done_f"}`);
  });
  lines.push("  .section .rodata", "  .align 3", "optable:");
  FP_OPS.forEach((_, i) => lines.push(`  .dword op${i}`));
  lines.push("  .section .data", "  .align 3", "records:", `  .incbin "${dataFile}"`, "");
  return lines.join("\n");
}

/** Builds the ELF for `records` in `dir`; returns its path. */
export async function buildFpProgram(records: readonly FpRecord[], dir: string): Promise<string> {
  const data = new DataView(new ArrayBuffer(records.length * 40));
  records.forEach((r, i) => {
    data.setBigUint64(i * 40, BigInt(r.op), true);
    data.setBigUint64(i * 40 + 8, BigInt(r.rm), true);
    data.setBigUint64(i * 40 + 16, r.a, true);
    data.setBigUint64(i * 40 + 24, r.b, true);
    data.setBigUint64(i * 40 + 32, r.c, true);
  });
  await Deno.writeFile(`${dir}/records.bin`, new Uint8Array(data.buffer));
  await Deno.writeTextFile(`${dir}/fp.S`, programSource(`${dir}/records.bin`, records.length));
  await Deno.writeTextFile(
    `${dir}/fp.ld`,
    "ENTRY(_start)\nSECTIONS {\n . = 0x80000000;\n .text : { *(.text.init) *(.text) }\n" +
      " .rodata : { *(.rodata) }\n .data : { *(.data) }\n}\n",
  );
  const steps = [
    [AS, "-march=rv64imafdc_zicsr", "-mabi=lp64d", "-o", `${dir}/fp.o`, `${dir}/fp.S`],
    [LD, "-T", `${dir}/fp.ld`, "-o", `${dir}/fp.elf`, `${dir}/fp.o`],
  ];
  for (const [cmd, ...args] of steps) {
    const r = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
    if (!r.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return `${dir}/fp.elf`;
}

/** Runs the program on QEMU; returns its result lines. */
export async function runOnQemu(elf: string): Promise<string[]> {
  const r = await new Deno.Command(QEMU, {
    args: [
      "-M",
      "virt",
      "-m",
      "128M",
      "-nographic",
      "-bios",
      "none",
      "-cpu",
      QEMU_CPU_FD,
      "-kernel",
      elf,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`QEMU exited ${r.code}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).split(/\r?\n/).filter((l) => l.length > 0);
}

/** Runs the program on rvisor (bare, rv64imafdc); returns its result lines. */
export async function runOnRvisor(
  elf: string,
): Promise<{ lines: string[]; instructions: number; ms: number }> {
  const chunks: number[] = [];
  const m = new VirtMachine({
    isa: "rv64imafdc",
    kernel: { name: "fp.elf", bytes: await Deno.readFile(elf) },
    clock: "virtual",
    console: (b) => chunks.push(b),
  });
  const r = await m.run({ maxInstructions: 2_000_000_000 });
  if (r.stop !== "halt" || r.reason !== "poweroff") {
    throw new Error(`rvisor: stop=${r.stop} reason=${r.reason} pc=0x${m.hart.pc.toString(16)}`);
  }
  const text = new TextDecoder().decode(new Uint8Array(chunks));
  return {
    lines: text.split(/\r?\n/).filter((l) => l.length > 0),
    instructions: r.guestInstructions,
    ms: r.wallMs,
  };
}

/** One disagreement. */
export interface FpMismatch {
  /** The record. */
  record: FpRecord;
  /** Operation name. */
  op: string;
  /** QEMU's line (result bits, fflags). */
  qemu: string;
  /** rvisor's line. */
  rvisor: string;
}

/** Compares the two outputs record by record. */
export function compareResults(
  records: readonly FpRecord[],
  qemu: readonly string[],
  rvisor: readonly string[],
): FpMismatch[] {
  if (qemu.length !== records.length || rvisor.length !== records.length) {
    throw new Error(
      `record counts differ: ${records.length} records, QEMU ${qemu.length}, rvisor ${rvisor.length}`,
    );
  }
  const out: FpMismatch[] = [];
  records.forEach((record, i) => {
    if (qemu[i] !== rvisor[i]) {
      out.push({ record, op: FP_OPS[record.op].name, qemu: qemu[i], rvisor: rvisor[i] });
    }
  });
  return out;
}

/** A mismatch as one readable line. */
export function describeMismatch(m: FpMismatch): string {
  const h = (v: bigint) => "0x" + v.toString(16).padStart(16, "0");
  const fmt = (line: string) => `${line.slice(0, 16)} flags ${line.slice(16)}`;
  return `${m.op} rm=${m.record.rm} a=${h(m.record.a)} b=${h(m.record.b)} c=${h(m.record.c)}: ` +
    `QEMU ${fmt(m.qemu)}, rvisor ${fmt(m.rvisor)}`;
}

/** Why the comparison cannot run here: the assembler, linker or QEMU missing (empty: all there). */
export function missingTools(): string[] {
  return missing(AS, LD, QEMU);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      per: { type: "string", default: "2000" },
      seed: { type: "string", default: "1" },
      only: { type: "string" },
    },
  });
  const records = generateRecords(Number(values.per), Number(values.seed), values.only);
  const dir = await Deno.makeTempDir({ prefix: "rvisor-fp-" });
  try {
    const elf = await buildFpProgram(records, dir);
    const t0 = performance.now();
    const qemu = await runOnQemu(elf);
    const qemuMs = performance.now() - t0;
    const rv = await runOnRvisor(elf);
    const mismatches = compareResults(records, qemu, rv.lines);
    const perOp = new Map<string, [number, number]>();
    records.forEach((r, i) => {
      const name = FP_OPS[r.op].name;
      const e = perOp.get(name) ?? [0, 0];
      e[0]++;
      if (qemu[i] !== rv.lines[i]) e[1]++;
      perOp.set(name, e);
    });
    for (const [name, [n, bad]] of perOp) {
      console.log(
        `${name.padEnd(12)} ${String(n).padStart(7)} ${bad ? `${bad} MISMATCHES` : "ok"}`,
      );
    }
    console.log(
      `${records.length} records, ${FP_OPS.length} operations: ${mismatches.length} mismatches ` +
        `(QEMU ${qemuMs.toFixed(0)} ms; rvisor ${
          rv.ms.toFixed(0)
        } ms, ${rv.instructions} instructions)`,
    );
    for (const m of mismatches.slice(0, 40)) console.log(describeMismatch(m));
    if (mismatches.length > 0) Deno.exitCode = 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
