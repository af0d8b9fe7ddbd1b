/**
 * The instruction definitions of core/insns.ts as the interpreter runs them:
 * its hot loop (core/interp.ts) is generated from them, and with a pc hook on
 * every instruction the hart executes each one through `#executeOne` (ALU ops,
 * branches and load results generated from the templates) instead, and the
 * ISA programs must still pass.
 * tests/translate_test.ts covers the same templates inlined into blocks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createMachine } from "../hypervisor/machine.ts";
import { buildGuests } from "../scripts/build-guests.ts";
import {
  compileAluStep,
  compileAtomicStep,
  expand,
  INSN_BY_OP,
  INSNS,
  Kind,
} from "../core/insns.ts";
import { WasmJit } from "../core/wasm-jit.ts";
import { TLB_SIZE } from "../core/mmu.ts";
import { COLD_OPS, compileRunLoop, HOT_OPERANDS } from "../core/interp.ts";
import { Amo, Op, OP_COUNT } from "../core/decode.ts";
import { FP_INSNS, fpInsn } from "../core/fpinsns.ts";
import { hostTest, missing } from "../scripts/host-tools.ts";

const ISA = new URL("../guests/isa/build/", import.meta.url).pathname;

await buildGuests();

Deno.test("insns: every integer and atomic op but the system ones has exactly one definition", () => {
  assert.equal(new Set(INSNS.map((d) => d.op)).size, INSNS.length);
  const atomics: number[] = [Op.AMO_W, Op.AMO_D];
  for (let op = Op.ADDI; op <= Op.NOP; op++) {
    assert.ok(INSN_BY_OP[op], `op ${op} has no definition`);
  }
  for (const op of atomics) assert.equal(INSN_BY_OP[op]?.kind, Kind.ATOMIC, `op ${op}`);
  for (let op = Op.FENCE_I; op < OP_COUNT; op++) {
    if (!atomics.includes(op)) assert.equal(INSN_BY_OP[op], undefined);
  }
  for (const d of INSNS) {
    const accesses = d.kind === Kind.LOAD || d.kind === Kind.STORE || d.kind === Kind.ATOMIC;
    assert.equal(d.size !== 0, accesses, `op ${d.op}`);
  }
});

Deno.test("insns: an atomic's template is specialised on its funct5, every one a different source", () => {
  for (const op of [Op.AMO_W, Op.AMO_D]) {
    const d = INSN_BY_OP[op]!;
    const sources = Object.values(Amo).map((f5) => expand(d, f5, HOT_OPERANDS));
    assert.equal(new Set(sources).size, sources.length);
    assert.throws(() => expand(d, "imm", HOT_OPERANDS), /funct5/);
  }
});

/** Ops wasm blocks leave to the interpreter, with the reason (a wasm block ends before them). */
const INTERPRETER_ONLY = new Map<number, string>();

Deno.test("insns: every op has a wasm form that compiles to a valid wasm block, or a reason it has none", () => {
  const jit = new WasmJit(65536, 1);
  for (const d of INSNS) {
    if (INSN_BY_OP[d.op]!.wasm === undefined) {
      assert.ok(INTERPRETER_ONLY.has(d.op), `op ${d.op} has no wasm form and no reason`);
      continue;
    }
    assert.ok(!INTERPRETER_ONLY.has(d.op), `op ${d.op} has a wasm form: drop its reason`);
    const imms = d.kind === Kind.ATOMIC ? Object.values(Amo) : [-5, 7, 40];
    for (const imm of imms) {
      // rd = x1, rs1 = x2, rs2 = x3, a 4-byte instruction.
      const p = d.op | 1 << 8 | 2 << 13 | 3 << 18 | 0x800000;
      assert.doesNotThrow(() => jit.compile([[{ p, imm, delta: 0 }]]), `op ${d.op} imm ${imm}`);
    }
  }
});

Deno.test("insns: every ALU op's wasm form computes what its template computes", () => {
  const jit = new WasmJit(65536, 1);
  const { xl, xh } = jit.hart(0);
  const step = compileAluStep();
  const jl = new Int32Array(32), jh = new Int32Array(32);
  const edges = [0, 1, -1, 0x7fffffff, -0x80000000, 31, 32, 63, 0x12345678, -0x789abcdf];
  let seed = 1;
  const random = () => (seed = Math.imul(seed, 1103515245) + 12345 | 0) ^ (seed >>> 15);
  const word = (i: number) => i < edges.length * 2 ? edges[i % edges.length] : random();
  for (const d of INSNS) {
    if (d.kind !== Kind.ALU || d.op === Op.NOP) continue;
    for (let i = 0; i < 64; i++) {
      // Immediates are 12-bit (lui's 20-bit, shifted), shift amounts 0..63 or 0..31 for words.
      const imm = d.op === Op.LUI ? (word(i) & ~0xfff) : (word(i + 3) << 20) >> 20;
      const shamt = [Op.SLLI, Op.SRLI, Op.SRAI].includes(d.op as never)
        ? imm & 63
        : [Op.SLLIW, Op.SRLIW, Op.SRAIW].includes(d.op as never)
        ? imm & 31
        : imm;
      xl[2] = jl[2] = word(i), xh[2] = jh[2] = word(i + 7);
      xl[3] = jl[3] = word(i + 11), xh[3] = jh[3] = word(i + 5);
      const p = d.op | 1 << 8 | 2 << 13 | 3 << 18 | 0x800000;
      const { fns: [f] } = jit.compile([[{ p, imm: shamt, delta: 0 }]]);
      const pc = 0x8000_1000;
      f(pc, 100, xl.byteOffset, 0, 0, 0, 0);
      step(jl, jh, d.op, 1, 2, 3, shamt, pc);
      assert.deepEqual([xl[1], xh[1]], [jl[1], jh[1]], `op ${d.op} imm ${shamt} case ${i}`);
    }
  }
});

Deno.test("insns: LR, SC and every AMO in wasm do what their templates do, reservation included", () => {
  const jit = new WasmJit(65536, 1);
  const { xl, xh, res, tlb } = jit.hart(0);
  const ram32 = new Int32Array(jit.memory.buffer, jit.ramAt, 16384);
  const step = compileAtomicStep();
  const jl = new Int32Array(32), jh = new Int32Array(32), jram = new Int32Array(16384);
  const jres = new Float64Array([-1, 0, 0]);
  res.set(jres);
  // One data page at va 0x8000_3000, RAM offset 0x2000, in the load and the store TLB.
  const va = 0x8000_3000, slot = (va / 4096) & (TLB_SIZE - 1);
  const [lt, st] = [tlb.tags[0], tlb.tags[1]], [lo, so] = [tlb.offsets[0], tlb.offsets[1]];
  lt[slot] = st[slot] = va, lo[slot] = so[slot] = 0x2000;
  let seed = 7;
  const random = () => (seed = Math.imul(seed, 1103515245) + 12345 | 0) ^ (seed >>> 15);
  const f5s = Object.values(Amo);
  for (const op of [Op.AMO_W, Op.AMO_D]) {
    for (let i = 0; i < 400; i++) {
      // Runs of LR then SC succeed; an AMO or a new value between them makes SC fail.
      const f5 = i % 3 === 0
        ? Amo.LR
        : i % 3 === 1 && i % 5 !== 0
        ? Amo.SC
        : f5s[(random() >>> 0) % f5s.length];
      const off = 8 * (random() & 7);
      if (i % 7 === 0) ram32[(0x2000 + off) >> 2] = jram[(0x2000 + off) >> 2] = random();
      const small = i % 2 === 0 ? (random() & 0xff) - 128 : random();
      xl[2] = jl[2] = (va + off) | 0, xh[2] = jh[2] = 0;
      xl[3] = jl[3] = small, xh[3] = jh[3] = i % 4 === 0 ? small >> 31 : random();
      const p = op | 1 << 8 | 2 << 13 | 3 << 18 | 0x800000;
      const { fns: [f] } = jit.compile([[{ p, imm: f5, delta: 0 }]]);
      const next = f(
        va,
        100,
        xl.byteOffset,
        lt.byteOffset,
        lo.byteOffset,
        st.byteOffset,
        so.byteOffset,
      );
      assert.equal(next, va + 4, `op ${op} funct5 ${f5} left the block`);
      step(jl, jh, op, f5, 1, 3, jram, 0x2000 + off, jres);
      const what = `op ${op} funct5 ${f5} case ${i}`;
      assert.deepEqual([xl[1], xh[1]], [jl[1], jh[1]], what);
      assert.deepEqual([...ram32.subarray(0x800, 0x810)], [...jram.subarray(0x800, 0x810)], what);
      assert.deepEqual([...res], [...jres], what);
    }
  }
  // A misaligned address or a TLB miss leaves the block before the atomic, nothing changed.
  for (const [addr, why] of [[va + 2, "misaligned"], [va + 4096, "a TLB miss"]] as const) {
    xl[2] = addr | 0, xl[1] = 123, xh[1] = 0;
    const before = [...ram32.subarray(0x800, 0x810)];
    const p = Op.AMO_W | 1 << 8 | 2 << 13 | 3 << 18 | 0x800000;
    const { fns: [f] } = jit.compile([[{ p, imm: Amo.ADD, delta: 0 }]]);
    assert.equal(
      f(va, 100, xl.byteOffset, lt.byteOffset, lo.byteOffset, st.byteOffset, so.byteOffset),
      va,
      why,
    );
    assert.equal(xl[1], 123, why);
    assert.deepEqual([...ram32.subarray(0x800, 0x810)], before, why);
  }
});

for (const name of ["alu", "branch", "muldiv", "compressed", "loadstore", "atomic"]) {
  Deno.test(`insns: ${name}.elf passes with every instruction on the cold path`, async () => {
    const m = createMachine({
      kernel: { name, bytes: Deno.readFileSync(`${ISA}${name}.elf`) },
      clock: "virtual",
      hypervisor: false,
    });
    let hooked = 0;
    m.hookPc([0x8000_0000, 0x8001_0000], () => void hooked++);
    const r = await m.run({ maxInstructions: 5_000_000 });
    assert.equal(r.stop, "halt");
    assert.equal(r.reason, "poweroff", `case ${r.exitCode} failed`);
    assert.ok(hooked > 200, `only ${hooked} instructions hooked`);
  });
}

Deno.test("insns: the interpreter's hot loop is the definitions' templates, but for the cold ops", () => {
  const src = compileRunLoop({}).toString();
  for (const d of INSNS) {
    const hot = !COLD_OPS.has(d.op);
    assert.equal(src.includes(`case ${d.op}:`), hot, `op ${d.op}`);
    if (hot) assert.ok(src.includes(expand(d, "imm", HOT_OPERANDS)), `op ${d.op}'s template`);
  }
  // Only ops without a definition are left to the hart's own cases.
  for (let op = Op.NOP + 1; op < OP_COUNT; op++) assert.ok(!src.includes(`case ${op}:`));
});

const OBJDUMP = "riscv64-unknown-elf-objdump";

/** GNU objdump's mnemonic of each 32-bit encoding ("" where it knows none). */
async function objdumpNames(encodings: readonly number[]): Promise<string[]> {
  const bin = await Deno.makeTempFile({ suffix: ".bin" });
  try {
    const bytes = new Uint8Array(encodings.length * 4);
    const v = new DataView(bytes.buffer);
    encodings.forEach((e, i) => v.setUint32(4 * i, e >>> 0, true));
    await Deno.writeFile(bin, bytes);
    const args = ["-D", "-b", "binary", "-m", "riscv:rv64", bin];
    const out = await new Deno.Command(OBJDUMP, { args, stdout: "piped" }).output();
    const names = new TextDecoder().decode(out.stdout).split("\n")
      .map((l) => /^\s*[0-9a-f]+:\s+[0-9a-f]{8}\s+(\S+)/.exec(l)?.[1])
      .filter((n) => n !== undefined);
    assert.equal(names.length, encodings.length);
    return names.map((n) => n === ".4byte" ? "" : n);
  } finally {
    await Deno.remove(bin);
  }
}

Deno.test("insns: each F/D definition is one instruction, no encoding matches two", () => {
  assert.equal(new Set(FP_INSNS.map((d) => d.name)).size, FP_INSNS.length);
  for (const d of FP_INSNS) {
    assert.equal(d.match & d.mask, d.match, d.name);
    for (const e of FP_INSNS) {
      if (e !== d) assert.notEqual(d.match & e.mask, e.match, `${d.name} is also ${e.name}`);
    }
  }
});

Deno.test(hostTest(
  "insns: the F/D definitions decode every OP-FP and fused multiply-add encoding as GNU objdump does",
  missing(OBJDUMP),
  async () => {
    // Every funct7/fmt, rs2 and funct3, with rd = 2, rs1 = 3 (rs3 = 5 for the fused ones).
    const encodings: number[] = [];
    for (const opcode of [0x43, 0x47, 0x4b, 0x4f, 0x53]) {
      for (let f7 = 0; f7 < (opcode === 0x53 ? 128 : 4); f7++) {
        for (let rs2 = 0; rs2 < 32; rs2++) {
          for (let f3 = 0; f3 < 8; f3++) {
            const hi = opcode === 0x53 ? f7 << 25 : 5 << 27 | f7 << 25;
            encodings.push(hi | rs2 << 20 | 3 << 15 | f3 << 12 | 2 << 7 | opcode);
          }
        }
      }
    }
    const names = await objdumpNames(encodings);
    // objdump's aliases for sign injection with rs1 = rs2.
    const alias: Record<string, string> = { fmv: "fsgnj", fneg: "fsgnjn", fabs: "fsgnjx" };
    let checked = 0;
    encodings.forEach((enc, i) => {
      const f3 = (enc >>> 12) & 7;
      const ours = fpInsn(enc)?.name ?? "";
      const [op, fmt] = names[i].split(/\.(?=[sd]$)/);
      const theirs = fmt !== undefined && alias[op] ? `${alias[op]}.${fmt}` : names[i];
      // Known differences, both within the spec: objdump takes the reserved static rounding
      // modes 5 and 6, and gives the exact conversions to double no rounding mode but 0.
      if (ours === "" && theirs !== "" && (f3 === 5 || f3 === 6)) return;
      if (/^fcvt\.d\.(s|w|wu)$/.test(ours) && theirs === "" && f3 !== 0) return;
      assert.equal(ours, theirs, `encoding 0x${(enc >>> 0).toString(16)}`);
      if (ours !== "") checked++;
    });
    // Every definition was met, with each of its free rs2 and rounding-mode fields.
    assert.ok(checked > 3000, `${checked}`);
    assert.deepEqual(
      new Set(encodings.map((e) => fpInsn(e)?.name).filter((n) => n !== undefined)),
      new Set(FP_INSNS.map((d) => d.name)),
    );
  },
));
