/**
 * The wasm encoder alone, on the blocks of a real run: what core/wasm-jit.ts
 * spends turning a block's path into module bytes (blockFunction, then
 * core/wasm.ts encodeModule), apart from V8's `new WebAssembly.Module` and
 * `new WebAssembly.Instance`, which it times separately.
 *
 * `--record FILE` boots Debian's Linux under the hypervisor with OpenSBI
 * (scripts/fetch-linux.ts's cached images) for `--insns` instructions at the
 * translator threshold `--threshold` and saves the path of every block it
 * compiled; without it, the script reads FILE and times, for `--rounds`
 * rounds, compiling every path with V8's module and instance replaced by
 * no-ops (the encoder), then once with them (the whole compile), then V8's
 * part alone on the same bytes: `new WebAssembly.Module` for each, then
 * `new WebAssembly.Instance`, then `WebAssembly.compile` of all at once (wall
 * and CPU time: it compiles on background threads).
 *
 * ```sh
 * deno run -A scripts/encoder-bench.ts --record /tmp/paths.json   # once (about 20 s)
 * deno run -A scripts/encoder-bench.ts /tmp/paths.json            # prints one JSON line
 * ```
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import type { PathInsn } from "../core/translate.ts";
import { WasmJit } from "../core/wasm-jit.ts";
import { createHypervisorMachine } from "../hypervisor/hypervisor.ts";
import { cachedLinux, REPRODUCIBLE_RTC_BASE } from "./fetch-linux.ts";
import { OPENSBI_FW_JUMP } from "./host-tools.ts";

const USAGE = "usage: encoder-bench.ts [--record] [--insns N] [--threshold N] [--rounds N] FILE";

/** Boots Linux and returns every compiled path as [p, imm, delta] triples. */
async function record(insns: number, threshold: number): Promise<number[][]> {
  const images = cachedLinux();
  if (images === null) {
    throw new Error("encoder-bench: no cached Linux (deno run -A scripts/fetch-linux.ts)");
  }
  const paths: number[][] = [];
  const compile = WasmJit.prototype.compile;
  WasmJit.prototype.compile = function (this: WasmJit, ps) {
    for (const path of ps) paths.push(path.flatMap(({ p, imm, delta }) => [p, imm, delta]));
    return compile.call(this, ps);
  };
  const img = (p: string) => ({ name: p, bytes: Deno.readFileSync(p) });
  const m = createHypervisorMachine({
    bios: img(OPENSBI_FW_JUMP),
    kernel: img(images.kernel),
    initrd: img(images.initrd),
    append: "console=ttyS0 earlycon=sbi no4lvl panic=-1",
    memory: 256 * 1024 * 1024,
    isa: "rv64imafdc",
    clock: "virtual",
    rtcBase: REPRODUCIBLE_RTC_BASE,
    console: () => {},
    jitThreshold: threshold,
  });
  await m.run({ maxInstructions: insns });
  WasmJit.prototype.compile = compile;
  return paths;
}

/** Milliseconds to compile every path once, each in its own module as the translator does. */
function compileAll(jit: WasmJit, paths: readonly PathInsn[][]): number {
  const t0 = performance.now();
  for (const path of paths) jit.compile([path]);
  return performance.now() - t0;
}

/** Times the encoder with V8's module and instance stubbed out, then the whole compile. */
async function time(paths: readonly PathInsn[][], rounds: number): Promise<Record<string, number>> {
  const jit = new WasmJit(256 * 1024 * 1024, 1);
  const { Module, Instance } = WebAssembly;
  let bytes = 0;
  const wasm = WebAssembly as unknown as Record<string, unknown>;
  wasm.Module = function (wire: Uint8Array) {
    bytes += wire.length;
  };
  wasm.Instance = function () {
    return { exports: {} };
  };
  const encode: number[] = [];
  for (let r = 0; r < rounds; r++) encode.push(compileAll(jit, paths));
  const wires: Uint8Array[] = [];
  wasm.Module = function (wire: Uint8Array) {
    wires.push(wire.slice());
  };
  compileAll(jit, paths);
  wasm.Module = Module;
  wasm.Instance = Instance;
  const whole = compileAll(jit, paths);
  encode.sort((a, b) => a - b);
  // V8's part apart, on the same bytes: modules compiled one by one, instantiated, and all
  // compiled at once with WebAssembly.compile (its background threads), wall and CPU time.
  const imports = { e: { m: jit.memory } };
  let t0 = performance.now(), cpu0 = process.cpuUsage();
  const modules = wires.map((w) => new WebAssembly.Module(w as BufferSource));
  const moduleMs = performance.now() - t0, moduleCpu = process.cpuUsage(cpu0);
  t0 = performance.now();
  for (const m of modules) new WebAssembly.Instance(m, imports);
  const instanceMs = performance.now() - t0;
  t0 = performance.now(), cpu0 = process.cpuUsage();
  await Promise.all(wires.map((w) => WebAssembly.compile(w as BufferSource)));
  const asyncMs = performance.now() - t0, asyncCpu = process.cpuUsage(cpu0);
  const cpuMs = (c: { user: number; system: number }) => Math.round((c.user + c.system) / 1000);
  const us = (ms: number) => +(ms * 1000 / paths.length).toFixed(2);
  return {
    blocks: paths.length,
    wasmBytesPerBlock: Math.round(bytes / rounds / paths.length),
    encodeMsMedian: Math.round(encode[rounds >> 1]),
    encodeMsMin: Math.round(encode[0]),
    encodeUsPerBlock: us(encode[rounds >> 1]),
    compileMs: Math.round(whole),
    compileUsPerBlock: us(whole),
    moduleMs: Math.round(moduleMs),
    moduleCpuMs: cpuMs(moduleCpu),
    instanceMs: Math.round(instanceMs),
    asyncCompileMs: Math.round(asyncMs),
    asyncCompileCpuMs: cpuMs(asyncCpu),
  };
}

/** A positive integer option, or a one-line error and exit 2. */
function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) fail(`--${name} ${text}: not a positive integer`);
  return n;
}

function fail(message: string): never {
  console.error(`encoder-bench: ${message}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        record: { type: "boolean", default: false },
        insns: { type: "string", default: "300000000" },
        threshold: { type: "string", default: "200" },
        rounds: { type: "string", default: "9" },
      },
      allowPositionals: true,
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) fail(USAGE);
  const file = positionals[0];
  if (values.record) {
    const paths = await record(count("insns", values.insns), count("threshold", values.threshold));
    Deno.writeTextFileSync(file, JSON.stringify(paths));
    console.log(`encoder-bench: ${paths.length} paths written to ${file}`);
  } else {
    let raw: number[][];
    try {
      raw = JSON.parse(Deno.readTextFileSync(file));
      if (!Array.isArray(raw) || raw.some((t) => !Array.isArray(t) || t.length % 3 !== 0)) {
        throw new Error("not a list of paths");
      }
    } catch (e) {
      fail(`${file}: ${(e as Error).message} (write it with --record)`);
    }
    const paths = raw.map((t) => {
      const path: PathInsn[] = [];
      for (let i = 0; i < t.length; i += 3) path.push({ p: t[i], imm: t[i + 1], delta: t[i + 2] });
      return path;
    });
    console.log(JSON.stringify(await time(paths, count("rounds", values.rounds))));
  }
}
