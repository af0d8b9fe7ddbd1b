/**
 * Generated programs on rvisor and QEMU: assembles programs from
 * scripts/progen.ts (many seeds per program, to keep gcc and QEMU start-up
 * cheap), runs each on both machines and compares the per-seed digests; a seed
 * that disagrees is run again alone in full mode (every register, the data
 * checksum and the trap log) to show what differs, and is appended with its
 * program text to the regression file tests/progen_regressions.json (the
 * text, not only the seed: a later generator gives the seed another program).
 *
 * Usage (nightly-style): deno run -A scripts/progen-diff.ts [--seeds 100000]
 *   [--first 1] [--per 1000] [--no-record]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { VirtMachine } from "../devices/virt.ts";
import { type Body, generateBody, generateProgram } from "./progen.ts";
import { QEMU, QEMU_CPU } from "./host-tools.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const AS = "riscv64-unknown-elf-as";
const LD = "riscv64-unknown-elf-ld";
/** The regression file: the seeds that ever disagreed, each with the body it had then. */
export const REGRESSION_FILE = `${ROOT}tests/progen_regressions.json`;

/** A seed that disagreed, with the program body it gave then. */
export interface RegressionCase extends Body {
  /** The seed (its body's labels carry it). */
  seed: number;
  /** When and how it was found. */
  note: string;
}

/**
 * Assembles the program for `seeds` into `dir` (with `bodies` for the seeds
 * they hold, generated bodies for the rest); returns the ELF path.
 */
export async function buildProgram(
  seeds: readonly number[],
  dir: string,
  full = false,
  bodies?: ReadonlyMap<number, Body>,
): Promise<string> {
  const base = `${dir}/p${seeds[0]}-${seeds.length}${full ? "-full" : ""}`;
  await Deno.writeTextFile(`${base}.S`, generateProgram(seeds, { full, bodies }));
  // as + ld rather than the gcc driver: no preprocessor pass over ~100k lines.
  const steps = [
    [AS, "-march=rv64imac_zicsr_zifencei", "-mabi=lp64", "-o", `${base}.o`, `${base}.S`],
    [
      LD,
      "--no-warn-rwx-segments",
      `-T${ROOT}guests/common/link.ld`,
      "-o",
      `${base}.elf`,
      `${base}.o`,
    ],
  ];
  for (const [cmd, ...args] of steps) {
    const r = await new Deno.Command(cmd, { args }).output();
    if (!r.success) {
      const err = new TextDecoder().decode(r.stderr).slice(0, 2000);
      throw new Error(`${cmd} ${base}.S:\n${err}`);
    }
  }
  return `${base}.elf`;
}

/** Console lines of `elf` on QEMU (icount: instruction-exact time, as rvisor's virtual clock). */
export async function runQemu(elf: string): Promise<string[]> {
  const child = new Deno.Command(QEMU, {
    args: [
      ...["-M", "virt", "-m", "128M", "-nographic", "-bios", "none"],
      ...["-icount", "shift=0,sleep=off", "-cpu", QEMU_CPU, "-kernel", elf],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const out = await child.output();
  clearTimeout(timer);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.length > 0);
}

/** How rvisor runs the programs: the block translator (default on) and its hot threshold. */
export interface RvisorJit {
  /** The block translator on (default) or off. */
  jit?: boolean;
  /** Visits before a block is compiled (1: every block that runs). */
  jitThreshold?: number;
}

/** Console lines of `elf` on rvisor (bare hart, virtual clock); a crash becomes an error line. */
export async function runRvisor(elf: string, jit: RvisorJit = {}): Promise<string[]> {
  const chars: string[] = [];
  try {
    const m = new VirtMachine({
      kernel: { name: "progen.elf", bytes: await Deno.readFile(elf) },
      isa: "rv64imac", // QEMU_CPU's, whatever the machine's default (the programs read misa)
      clock: "virtual",
      console: (b) => chars.push(String.fromCharCode(b)),
      ...jit,
    });
    const r = await m.run({ maxInstructions: 500_000_000 });
    if (r.stop !== "halt") chars.push(`\nrvisor: stopped (${r.stop})`);
  } catch (e) {
    // Keep the lines so far: the seeds before the crash still compare.
    chars.push(`\nrvisor: ${(e as Error).name}: ${(e as Error).message}`);
  }
  return chars.join("").split("\n").filter((l) => l.length > 0);
}

/** A seed whose results differ, with the full reports of both machines. */
export interface SeedMismatch {
  /** The seed. */
  seed: number;
  /** QEMU's full-mode report of the seed alone (empty when not explained). */
  qemu: string;
  /** rvisor's full-mode report, or its crash message. */
  rvisor: string;
  /** The fields that differ (full mode), as "qemu-field | rvisor-field". */
  detail: string[];
}

/**
 * Runs `seeds` as one program on both machines; returns the seeds that
 * disagree (the first 20 explained by a full-mode run alone). `elf` is the
 * program if already built; `bodies` as for {@linkcode buildProgram}.
 */
export async function diffSeeds(
  seeds: readonly number[],
  dir: string,
  elf?: Promise<string>,
  bodies?: ReadonlyMap<number, Body>,
  jit: RvisorJit = {},
): Promise<SeedMismatch[]> {
  const path = await (elf ?? buildProgram(seeds, dir, false, bodies));
  const [q, r] = await Promise.all([runQemu(path), runRvisor(path, jit)]);
  if (q.length !== seeds.length) {
    throw new Error(`QEMU printed ${q.length} lines for ${seeds.length} seeds: ${q.at(-1)}`);
  }
  const bad: number[] = [];
  for (let i = 0; i < seeds.length; i++) if (q[i] !== r[i]) bad.push(seeds[i]);
  const out: SeedMismatch[] = [];
  for (const seed of bad.slice(0, 20)) out.push(await explainSeed(seed, dir, bodies, jit));
  // The rest (e.g. every seed after an rvisor crash) are listed without detail.
  const crash = r.find((l) => l.startsWith("rvisor:")) ?? "";
  for (const seed of bad.slice(20)) out.push({ seed, qemu: "", rvisor: crash, detail: [] });
  return out;
}

/** Runs one seed alone in full mode on both machines and lists the differing fields. */
export async function explainSeed(
  seed: number,
  dir: string,
  bodies?: ReadonlyMap<number, Body>,
  jit: RvisorJit = {},
): Promise<SeedMismatch> {
  const elf = await buildProgram([seed], dir, true, bodies);
  const [[q = ""], [r = ""]] = await Promise.all([runQemu(elf), runRvisor(elf, jit)]);
  const qf = q.split(" "), rf = r.split(" ");
  const detail: string[] = [];
  for (let i = 0; i < Math.max(qf.length, rf.length); i++) {
    if (qf[i] !== rf[i]) detail.push(`${qf[i] ?? "-"} | ${rf[i] ?? "-"}`);
  }
  return { seed, qemu: q, rvisor: r, detail };
}

/** The cases of the regression file `file`. */
export function regressionCases(file = REGRESSION_FILE): RegressionCase[] {
  return JSON.parse(Deno.readTextFileSync(file));
}

/** Appends seeds that disagreed, with the bodies the generator gives them now, to `file` (once each). */
export function recordSeeds(seeds: readonly number[], note: string, file = REGRESSION_FILE): void {
  const cases = regressionCases(file);
  const known = new Set(cases.map((c) => c.seed));
  const fresh = seeds.filter((s) => !known.has(s));
  if (fresh.length === 0) return;
  cases.push(...fresh.map((seed) => ({ seed, note, ...generateBody(seed) })));
  Deno.writeTextFileSync(file, JSON.stringify(cases, null, 1) + "\n");
}

/**
 * Splits `seeds` into programs of `per` seeds and diffs them in order; the
 * next program is assembled while the current one runs. `bodies` as for
 * {@linkcode buildProgram}.
 */
export async function diffMany(
  seeds: readonly number[],
  per: number,
  dir: string,
  onProgram?: (done: number, mismatches: number) => void,
  bodies?: ReadonlyMap<number, Body>,
  jit: RvisorJit = {},
): Promise<SeedMismatch[]> {
  const all: SeedMismatch[] = [];
  const parts: number[][] = [];
  for (let i = 0; i < seeds.length; i += per) parts.push(seeds.slice(i, i + per));
  let next = parts.length ? buildProgram(parts[0], dir, false, bodies) : null;
  let done = 0;
  for (let i = 0; i < parts.length; i++) {
    const elf = next!;
    next = i + 1 < parts.length ? buildProgram(parts[i + 1], dir, false, bodies) : null;
    // Keep a failed prefetch from being an unhandled rejection before its turn.
    next?.catch(() => {});
    all.push(...await diffSeeds(parts[i], dir, elf, bodies, jit));
    done += parts[i].length;
    onProgram?.(done, all.length);
  }
  return all;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string", default: "100000" },
      first: { type: "string", default: "1" },
      per: { type: "string", default: "1000" },
      "no-record": { type: "boolean" },
    },
  });
  const first = Number(values.first), n = Number(values.seeds);
  const seeds = Array.from({ length: n }, (_, i) => first + i);
  const dir = await Deno.makeTempDir({ prefix: "progen-" });
  const t0 = performance.now();
  const bad = await diffMany(seeds, Number(values.per), dir, (done, m) => {
    console.error(`  ${done}/${n} seeds, ${m} disagree`);
  });
  console.log(
    `progen: ${n} seeds (${first}..${first + n - 1}) compared with QEMU, ${bad.length} disagree, ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const b of bad.slice(0, 20)) console.log(`  seed ${b.seed}: ${b.detail.join(", ")}`);
  // Record the seeds that disagree alone too (not every seed after a crash).
  const confirmed = bad.filter((b) => b.detail.length > 0).map((b) => b.seed);
  if (confirmed.length && !values["no-record"]) {
    recordSeeds(confirmed, `disagreed ${new Date().toISOString().slice(0, 10)}`);
    console.log(`recorded in ${REGRESSION_FILE}`);
  }
  await Deno.remove(dir, { recursive: true });
  Deno.exit(bad.length ? 1 : 0);
}
