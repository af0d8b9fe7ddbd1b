/**
 * Probe for issue 11's question: do WebAssembly blocks beat the JavaScript
 * blocks of core/translate.ts? It measures the two tiers on the same work.
 *
 * It runs guests/bench/build/cpu.elf on the machine (interpreter) into its main
 * loop, then replays the next `--insns` instructions from that state with
 * blocks only, on one of two tiers with the same block paths (the
 * translator's, compiled at their first visit) and the same run-loop shape as
 * core/interp.ts's (a page's block array, entered while the budget covers it):
 *
 *   js    core/translate.ts's JavaScript blocks: registers as int32 halves,
 *         RAM and the data TLB in typed arrays;
 *   wasm  core/wasm-jit.ts's blocks (`--jit wasm`): the same paths as wasm,
 *         native i64 registers in locals loaded from and written back to the
 *         halves, RAM, registers and TLB in one WebAssembly.Memory, every load
 *         and store through a TLB check in wasm.
 *
 * It checks that both end with the same registers, pc, RAM and count, prints
 * MIPS of the first replay (which compiles) and of the best later one, and the
 * cost of encoding, compiling and instantiating one module of N blocks for
 * several N (a Linux boot compiles 14-40 k blocks).
 *
 * ```sh
 * deno run -A scripts/wasm-probe.ts                 # both tiers in turn, then module costs
 * deno run -A scripts/wasm-probe.ts --tier wasm     # one tier (to pair whole processes of each)
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Access, TLB_SIZE } from "../core/mmu.ts";
import { type PathInsn, Translator } from "../core/translate.ts";
import { WasmJit } from "../core/wasm-jit.ts";
import { VirtMachine } from "../devices/virt.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PAGE = 4096;
const TLB_MASK = TLB_SIZE - 1;
/** Guest RAM the replay keeps (cpu.elf's code, data and stack are in its first 100 KB). */
const REPLAY_RAM = 1 << 20;
const RAM_PA = 0x8000_0000;
/** M-mode's TLB tables (core/mmu.ts: index priv * 3 + access kind). */
const M_LOAD = 3 * 3 + Access.LOAD, M_STORE = 3 * 3 + Access.STORE;

// ---------------------------------------------------------------- the replay

/** The state the replay starts from: cpu.elf's registers, pc and RAM after the warm-up. */
interface Start {
  xl: Int32Array;
  xh: Int32Array;
  pc: number;
  ram: Uint8Array;
}

async function startState(warmup: number): Promise<Start> {
  const m = new VirtMachine({
    kernel: { name: "cpu.elf", bytes: Deno.readFileSync(`${ROOT}guests/bench/build/cpu.elf`) },
    isa: "rv64imac",
    clock: "virtual",
    memory: 16 << 20,
    console: () => {},
    jit: false,
  });
  await m.run({ maxInstructions: warmup });
  return {
    xl: m.hart.xl.slice(),
    xh: m.hart.xh.slice(),
    pc: m.hart.pc,
    ram: m.bus.ram.slice(0, REPLAY_RAM),
  };
}

/** What a replay did. */
interface Replay {
  instructions: number;
  ms: number;
  compileMs: number;
  blocks: number;
  pc: number;
  xl: Int32Array;
  xh: Int32Array;
  ram: Uint8Array;
  lengths: Map<number, number>;
}

/** A tier: replays `insns` instructions from the start state, keeping its compiled blocks across calls. */
type Tier = (insns: number) => Replay;

/** What a tier runs on: its translator, registers, RAM (1 MiB) and M-mode's data TLB. */
interface TierState {
  jit: Translator;
  xl: Int32Array;
  xh: Int32Array;
  ram: Uint8Array;
  tags: Float64Array[];
  offsets: Int32Array[];
}

/**
 * A tier: replays from the start state with blocks only, entered as
 * core/interp.ts enters them, keeping its compiled blocks across calls.
 */
function tier(s: Start, t: TierState): Tier {
  const { jit, xl, xh, ram } = t;
  const ram16 = new Uint16Array(ram.buffer, ram.byteOffset, REPLAY_RAM / 2);
  const ram32 = new Int32Array(ram.buffer, ram.byteOffset, REPLAY_RAM / 4);
  const ltags = t.tags[M_LOAD], stags = t.tags[M_STORE];
  const loffs = t.offsets[M_LOAD], soffs = t.offsets[M_STORE];
  ltags.fill(NaN), stags.fill(NaN);
  for (let o = 0; o < REPLAY_RAM; o += PAGE) {
    const slot = ((RAM_PA + o) >>> 12) & TLB_MASK;
    ltags[slot] = stags[slot] = RAM_PA + o;
    loffs[slot] = soffs[slot] = o;
  }
  jit.threshold = 1;
  const decoded = new Int32Array(PAGE); // always empty: the translator decodes from RAM
  const NO_RESERVATION = new Float64Array([-1, 0, 0]); // cpu.elf runs no LR/SC
  return (insns) => {
    xl.set(s.xl), xh.set(s.xh), ram.set(s.ram);
    const lengths = new Map<number, number>();
    const compiled = jit.stats.compiled, compileMs = jit.stats.compileMs;
    let pc = s.pc, n = 0;
    const t0 = performance.now();
    while (n < insns) {
      const o = pc & 0xfff, fRam = pc - RAM_PA - o;
      if (fRam < 0 || fRam >= REPLAY_RAM) break;
      const blocks = jit.page(fRam >> 12);
      const b = blocks.blocks[o >> 1] ?? jit.visit(blocks, o, fRam, ram16, decoded);
      if (b === undefined || b.length > insns - n) break;
      lengths.set(pc, b.length);
      const to = b.fn(
        xl,
        xh,
        pc,
        insns - n,
        ram,
        ram16,
        ram32,
        ltags,
        loffs,
        stags,
        soffs,
        jit.io,
        NO_RESERVATION,
      );
      const k = jit.io[0];
      if (k === 0) break;
      pc = to, n += k;
    }
    return {
      instructions: n,
      ms: performance.now() - t0,
      compileMs: jit.stats.compileMs - compileMs,
      blocks: jit.stats.compiled - compiled,
      pc,
      xl: xl.slice(),
      xh: xh.slice(),
      ram: ram.slice(),
      lengths,
    };
  };
}

/** The js tier: core/translate.ts's JavaScript blocks. */
function jsTier(s: Start): Tier {
  const tlb = () => Array.from({ length: 12 }, () => new Float64Array(TLB_SIZE));
  return tier(s, {
    jit: new Translator(),
    xl: new Int32Array(32),
    xh: new Int32Array(32),
    ram: new Uint8Array(REPLAY_RAM),
    tags: tlb(),
    offsets: Array.from({ length: 12 }, () => new Int32Array(TLB_SIZE)),
  });
}

/** The wasm tier: core/wasm-jit.ts's blocks; `paths` receives every path it compiles. */
function wasmTier(s: Start, paths: PathInsn[][] = []): Tier {
  const wasm = new WasmJit(REPLAY_RAM, 1);
  const h = wasm.hart(0);
  return tier(s, {
    jit: new Translator((insns) => (paths.push([...insns]), h.codegen(insns))),
    xl: h.xl,
    xh: h.xh,
    ram: new Uint8Array(wasm.memory.buffer, wasm.ramAt, REPLAY_RAM),
    tags: h.tlb.tags,
    offsets: h.tlb.offsets,
  });
}

/** Throws unless the two replays ended in the same state with the same blocks. */
function compare(a: Replay, b: Replay): void {
  const diff: string[] = [];
  if (a.instructions !== b.instructions) diff.push(`count ${a.instructions} / ${b.instructions}`);
  if (a.pc !== b.pc) diff.push(`pc ${a.pc.toString(16)} / ${b.pc.toString(16)}`);
  for (let r = 0; r < 32; r++) {
    if (a.xl[r] !== b.xl[r] || a.xh[r] !== b.xh[r]) diff.push(`x${r}`);
  }
  if (a.ram.some((v, i) => v !== b.ram[i])) diff.push("RAM");
  for (const [pc, len] of a.lengths) {
    const other = b.lengths.get(pc);
    if (other !== undefined && other !== len) {
      diff.push(`block ${pc.toString(16)} ${len} / ${other}`);
    }
  }
  if (diff.length !== 0) throw new Error(`wasm-probe: the tiers differ: ${diff.join(", ")}`);
}

/**
 * ms to encode, compile and instantiate `n` blocks (cpu.elf's paths, repeated)
 * as modules of `perModule` blocks each, and to call each function once.
 */
function moduleCost(paths: PathInsn[][], n: number, perModule: number): {
  ms: number;
  firstCallMs: number;
  bytes: number;
} {
  const wasm = new WasmJit(REPLAY_RAM, 1);
  const tlb = wasm.hart(0).tlb;
  let ms = 0, firstCallMs = 0, bytes = 0;
  for (let done = 0; done < n; done += perModule) {
    const chosen = Array.from({ length: perModule }, (_, i) => paths[(done + i) % paths.length]);
    const t0 = performance.now();
    const c = wasm.compile(chosen);
    const t1 = performance.now();
    // One call each at a pc whose page no TLB entry holds (V8 compiles a function at its first call).
    for (const f of c.fns) {
      const [lt, lo, st, so] = [
        tlb.tags[M_LOAD],
        tlb.offsets[M_LOAD],
        tlb.tags[M_STORE],
        tlb.offsets[M_STORE],
      ];
      f(0, 0, 0, lt.byteOffset, lo.byteOffset, st.byteOffset, so.byteOffset);
    }
    ms += t1 - t0, firstCallMs += performance.now() - t1, bytes += c.bytes;
  }
  return { ms, firstCallMs, bytes };
}

function line(name: string, r: Replay): string {
  const net = r.ms - r.compileMs;
  return `${name.padEnd(16)} ${(r.instructions / r.ms / 1000).toFixed(1).padStart(7)} MIPS` +
    ` (${(r.instructions / net / 1000).toFixed(1)} net of compiling)` +
    `  ${r.instructions} insns in ${r.ms.toFixed(0)} ms; ${r.blocks} blocks compiled in ` +
    `${r.compileMs.toFixed(1)} ms (${(r.compileMs / Math.max(1, r.blocks)).toFixed(3)} ms each)`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tier: { type: "string" },
      insns: { type: "string", default: "60000000" },
      warmup: { type: "string", default: "2000000" },
      rounds: { type: "string", default: "5" },
      costs: { type: "boolean", default: true },
    },
    allowNegative: true,
  });
  const insns = Number(values.insns),
    warmup = Number(values.warmup),
    rounds = Number(values.rounds);
  const s = await startState(warmup);
  const tiers = values.tier === undefined ? ["js", "wasm"] : [values.tier];
  const last = new Map<string, Replay>();
  const paths: PathInsn[][] = [];
  for (const name of tiers) {
    if (name !== "js" && name !== "wasm") throw new Error(`--tier ${name}: expected js or wasm`);
    const run = name === "js" ? jsTier(s) : wasmTier(s, paths);
    // The first replay compiles; the best later one is the steady state.
    const first = run(insns);
    console.log(line(`${name} first`, first));
    let best: Replay | undefined;
    for (let i = 1; i < rounds; i++) {
      const r = run(insns);
      if (best === undefined || r.ms < best.ms) best = r;
    }
    if (best !== undefined) console.log(line(`${name} best`, best));
    last.set(name, best ?? first);
  }
  const js = last.get("js"), wasm = last.get("wasm");
  if (js !== undefined && wasm !== undefined) {
    compare(js, wasm);
    console.log(
      `same state after ${js.instructions} instructions; wasm/js ${(js.ms / wasm.ms).toFixed(2)}x`,
    );
  }
  if (values.costs && paths.length !== 0) {
    const n = 4096;
    moduleCost(paths, n, 16); // warms the encoder up
    for (const k of [1, 16, 256, 4096]) {
      const c = moduleCost(paths, n, k);
      const per = (ms: number) => (ms / n).toFixed(3);
      console.log(
        `${n} blocks in modules of ${String(k).padStart(4)} (${
          (c.bytes / n).toFixed(0)
        } bytes a block),` +
          ` ms a block: encode, compile and instantiate ${per(c.ms)}, first call ${
            per(c.firstCallMs)
          }`,
      );
    }
  }
}
