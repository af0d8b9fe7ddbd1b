/**
 * rvisor's benchmark suite (`deno task bench`). Every figure is measured in
 * this run, next to the baseline it is compared with (DESIGN.md: speed claims
 * are ratios from one run, never timed tests):
 *
 * - interpreter: MIPS on guests/bench/build/cpu.elf, best of 3 runs after one
 *   warm-up, in this process, with the virtual clock (deterministic count);
 * - translator: cpu.elf with the block translator (core/translate.ts) off and
 *   on, interleaved rounds after one warm-up of each, best of each kept; the
 *   on/off MIPS ratio, the share of instructions run translated and the
 *   compile time; both runs must retire the same instructions;
 * - QEMU (when installed): the same ELF, best of 3 wall times including QEMU's
 *   start-up, which is measured separately on a trivial guest so that the ratio
 *   can be given net of it; one extra `-icount shift=0` run gives QEMU's exact
 *   instruction count of the benchmark loop, which must equal ours;
 * - event bus: MIPS with no subscriber vs one subscriber on topics the workload
 *   (almost) never publishes, to show that an idle topic costs nothing measurable;
 * - registers: the representation micro-benchmark of scripts/bench-regs.ts;
 * - boot: reset to U-Boot's "Hit any key to stop autoboot" under OpenSBI
 *   fw_jump (Debian's opensbi + u-boot-qemu), on rvisor and on QEMU;
 * - hypervisor: the overhead of the machine-mode hypervisor (hypervisor/) over
 *   bare rvisor on the same workload, wall time hypervisor/bare, on
 *   cpu_user.elf (cpu.c with main() in U-mode: a CPU-bound user program) and on
 *   the boot to U-Boot above; with the exits by kind, exits per second and the
 *   time spent in the hypervisor's exit handler. Bare and hypervisor runs are
 *   interleaved (alternating which goes first) after one warm-up of each, and
 *   the best of each is kept, so that load from other processes hurts both
 *   alike. Virtual clock, so the instruction and exit counts are reproducible.
 * - report sampler: the cost of recording a run report (`--report`,
 *   hypervisor/report.ts) under the hypervisor: Linux's first 300 M
 *   instructions under the hypervisor with OpenSBI and the translator (without
 *   the Linux images, the boot to U-Boot; with `--quick`, cpu_user.elf for 1 M
 *   instructions) without a sampler, with one, and with one that a `--web`
 *   browser watches (its new samples every 500 ms and its tables every 2 s
 *   taken and made JSON, as devices/host/web.ts does), interleaved as above,
 *   compared by process CPU time (less moved by other processes than wall
 *   time; both are shown); all must retire the same instructions. The exit
 *   handler is not timed in these runs.
 * - firmware: the same boot to U-Boot under the hypervisor with OpenSBI in
 *   virtual M-mode vs the hypervisor's built-in SBI firmware (`--firmware
 *   builtin`, hypervisor/sbi.ts): instructions, exits and wall time of each,
 *   interleaved as above.
 * - hypervisor, translator: the same cpu_user.elf comparison with the block
 *   translator on (the default machine), MIPS bare and under the hypervisor.
 * - linux: Debian's kernel and busybox (scripts/fetch-linux.ts; fetched into
 *   its cache on first use) from reset to the shell prompt: bare, under the
 *   hypervisor with OpenSBI, and with the built-in firmware, each with the
 *   interpreter alone and with the block translator (its on/off ratio, blocks
 *   compiled, compile time, evictions): instructions, exits and wall time of
 *   one cold run each (a boot is ~1e9 instructions,
 *   so the JIT's warm-up is noise), and QEMU's wall time to the same prompt
 *   (best of 3, start-up included) on the same images; then the peak RSS
 *   (VmHWM) of the bare boot with the translator and without, each in a fresh
 *   `deno run` of this script (`--linux-rss on|off|js`), so neither inherits the
 *   other's heap.
 * - tiers: cpu.elf bare and cpu_user.elf under the hypervisor with the
 *   interpreter, JavaScript blocks and wasm blocks (the default), interleaved
 *   rounds after one warm-up of each, best of each kept, the same count each;
 *   with the Linux rows, the bare boot's peak RSS with JavaScript blocks too
 *   (`--linux-rss js`; the Linux rows' translator is the default, wasm).
 * - linux --smp 2: the same boot to the shell with two harts, bare with the
 *   translator (one run, paired with one more single-hart run right before it,
 *   both after the rows above: what a second hart costs), under the hypervisor
 *   with OpenSBI (two vCPUs; a configuration the machine refuses is shown as
 *   skipped, with its refusal), and QEMU `-smp 2` to the same prompt (best of 3,
 *   start-up included).
 *
 * Usage: `deno run -A scripts/bench.ts [--quick] [--no-linux] [--json FILE]`. `--quick` runs
 * cpu.elf and cpu_user.elf for 1 M instructions only and skips QEMU and the
 * boots (a smoke run); `--no-linux` skips the Linux boots. `--linux-rss on|off|js`
 * is the RSS measurement's child: one bare Linux boot, then `{ rss, wallMs }`
 * as JSON.
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import type { Topic } from "../core/events.ts";
import { MachineConfigError, type RunResult, VirtMachine } from "../devices/virt.ts";
import { createHypervisorMachine, type Hypervisor } from "../hypervisor/hypervisor.ts";
import { RunSampler } from "../hypervisor/report.ts";
import {
  STATS_PERIOD_MS as WEB_STATS_PERIOD_MS,
  TABLES_EVERY as WEB_TABLES_EVERY,
} from "../devices/host/web.ts";
import { createMachine, Machine } from "../hypervisor/machine.ts";
import { benchRegs } from "./bench-regs.ts";
import {
  exists,
  hasCommand,
  OPENSBI_FW_JUMP as OPENSBI,
  QEMU,
  QEMU_CPU,
  QEMU_CPU_FD,
  UBOOT_SMODE as UBOOT,
  V8_FLAGS,
} from "./host-tools.ts";
import { buildGuests } from "./build-guests.ts";
import {
  cachedLinux,
  FetchError,
  fetchLinux,
  INIT_MARKER,
  type LinuxImages,
  REPRODUCIBLE_RTC_BASE,
} from "./fetch-linux.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CPU_ELF = `${ROOT}guests/bench/build/cpu.elf`;
const CPU_USER_ELF = `${ROOT}guests/bench/build/cpu_user.elf`;
const SMOKE_ELF = `${ROOT}guests/isa/build/smoke.elf`;
const UBOOT_MARK = "Hit any key to stop autoboot";
/** The Linux boots: what tests/linux_test.ts boots, to busybox's prompt after /init's marker. */
const LINUX_APPEND = "console=ttyS0 earlycon=sbi no4lvl panic=-1";
const LINUX_ISA = "rv64imafdc";
const LINUX_MEMORY = 256 * 1024 * 1024;
const LINUX_PROMPT = "# ";
/** QEMU runs of the Linux boot (best kept). */
const LINUX_QEMU_ROUNDS = 3;
/** Harts of the SMP Linux rows (issue 12: QEMU's `-smp 2`). */
const LINUX_SMP = 2;

/** Instruction budget of every cpu.elf run with `--quick`. */
const QUICK_INSTRUCTIONS = 1_000_000;
/** Instruction budget of each event-bus run: long enough to be stable, short enough for 20 runs. */
const EVENT_INSTRUCTIONS = 15_000_000;
/** Rounds of the event-bus comparison: best of 5, as other processes share the host. */
const EVENT_ROUNDS = 5;
/** Interleaved translator off/on rounds on cpu.elf. */
const TRANSLATOR_ROUNDS = 3;
/** Interleaved bare/hypervisor rounds on cpu_user.elf (~1.5 s a run). */
const HV_CPU_ROUNDS = 4;
/** Interleaved bare/hypervisor rounds of the boot to U-Boot (~0.6 s a run). */
const HV_BOOT_ROUNDS = 5;
/** Interleaved rounds without the report sampler, with it, and with it watched live. */
const SAMPLER_ROUNDS = 5;
/** Linux instructions the sampler's cost is measured on (~7 s of CPU a run under the hypervisor). */
const SAMPLER_LINUX_INSTRUCTIONS = 300_000_000;
/** The sampler must cost less than this (on / off wall time). */
const SAMPLER_TARGET = 1.02;
/** Interleaved OpenSBI/builtin-firmware rounds of the boot to U-Boot under the hypervisor. */
const FIRMWARE_ROUNDS = 3;
/** Exit kinds shown in the table (all of them are in the JSON report). */
const TOP_EXITS = 5;

/** One timed rvisor run of a program. */
export interface InterpreterFigure {
  /** Million instructions per second of the best run. */
  mips: number;
  /** Instructions retired in the best run. */
  instructions: number;
  /** Wall time of the best run (ms). */
  wallMs: number;
  /** How the best run ended (`halt` when the guest finished, `limit` with --quick). */
  stop: RunResult["stop"];
  /** The guest's exit code (0: checksum right), when it finished. */
  exitCode?: number;
  /** The loop's instruction count the guest printed ("cpu: minstret N"), when it finished. */
  guestMinstret?: number;
}

/** cpu.elf with the block translator off and on, measured in the same run. */
export interface TranslatorFigure {
  /** Best run with the translator off (the interpreter). */
  off: InterpreterFigure;
  /** Best run with the translator on. */
  on: InterpreterFigure & {
    /** Share of the instructions retired inside translated blocks. */
    translatedShare: number;
    /** Blocks compiled. */
    blocks: number;
    /** Time spent compiling them (ms). */
    compileMs: number;
  };
  /** MIPS on / MIPS off. */
  ratio: number;
  /** Interleaved rounds (after one warm-up run of each). */
  rounds: number;
}

/** QEMU's figures for the same ELF. */
export interface QemuFigure {
  /** Best wall time of `qemu-system-riscv64 ... -kernel cpu.elf` including start-up (ms). */
  wallMs: number;
  /** Best wall time of the same command on the trivial smoke.elf (ms): QEMU's start-up. */
  startupMs: number;
  /** The loop's instruction count printed by cpu.elf under `-icount shift=0`. */
  icountMinstret?: number;
  /** QEMU's exit code of the timed runs (0: checksum right). */
  exitCode: number;
}

/** MIPS of one event-bus configuration. */
export interface EventFigure {
  /** Which subscriber was attached (`none` for the baseline). */
  subscriber: string;
  /** Best MIPS over the rounds. */
  mips: number;
  /** MIPS relative to `none`. */
  ratio: number;
  /** Events the subscriber received (shows whether the workload hit the topic). */
  events: number;
  /** Instructions per run. */
  instructions: number;
}

/** Boot-to-U-Boot figures. */
export interface BootFigure {
  /** rvisor wall time from reset to the autoboot message (ms). */
  wallMs: number;
  /** Instructions rvisor retired until then. */
  instructions: number;
  /** The same on QEMU (process start to the message on its stdout), when installed. */
  qemuMs?: number;
}

/** One timed run of a workload, bare or under the hypervisor. */
export interface HypervisorRun {
  /** Wall time (ms). */
  wallMs: number;
  /**
   * Guest instructions: retired by the hart, plus (under the hypervisor) those
   * the hypervisor emulated (CSR accesses, mret, MMIO...).
   */
  instructions: number;
  /** Of `instructions`, emulated by the hypervisor (0 bare). */
  emulated: number;
  /** `instructions` per microsecond. */
  mips: number;
  /** How the run ended (`halt`: the guest finished, `until`: prompt seen, `limit`: --quick). */
  stop: RunResult["stop"];
  /** Exit code, for `halt`. */
  exitCode?: number;
  /** With the block translator: what it did (all harts together). */
  translator?: { compiled: number; compileMs: number; evictions: number; share: number };
  /** With several harts: the instructions each retired, by hart id. */
  harts?: number[];
}

/** The hypervisor's side of a bare/hypervisor comparison. */
export interface HypervisorExits {
  /** Exits in the best hypervisor run. */
  exits: number;
  /** Exits per second of that run's wall time. */
  exitsPerSecond: number;
  /** Exits by kind, most frequent first. */
  byKind: { kind: string; count: number }[];
  /** Wall time spent in the hypervisor's exit handler (Hart.onTrap) in that run (ms). */
  handlerMs: number;
  /** Guest traps the hypervisor injected, by virtual cause ("exc 2"). */
  guestTraps: { trap: string; count: number }[];
}

/** One workload under the hypervisor without the report sampler, with it, and watched live. */
export interface SamplerFigure {
  /** What ran. */
  workload: string;
  /** The best run without a sampler. */
  off: HypervisorRun;
  /** The best run with one, and what it recorded. */
  on: HypervisorRun & { samples: number; exits: number };
  /** Wall time on / off. */
  ratio: number;
  /**
   * Process CPU time on / off, each the least of its rounds: less moved than
   * wall time by other processes on the host, and the figure held to `target`.
   */
  cpuRatio: number;
  /** The sampler read as the web console reads it for a browser (`--web`), against off. */
  live: { wallMs: number; ratio: number; cpuRatio: number; polls: number; pollMs: number };
  /** The most it may cost. */
  target: number;
  /** Interleaved rounds (after one warm-up run of each). */
  rounds: number;
}

/** One workload bare and under the hypervisor, measured in the same run. */
export interface HypervisorFigure {
  /** What ran. */
  workload: string;
  /** The best bare run. */
  bare: HypervisorRun;
  /** The best hypervisor run. */
  hypervisor: HypervisorRun & HypervisorExits;
  /** Wall time of the best hypervisor run / best bare run. */
  ratio: number;
  /** The target the issue sets for `ratio`. */
  target: number;
  /** Interleaved rounds (each after one warm-up run of both). */
  rounds: number;
}

/** Everything one benchmark run measured (written by `--json`). */
export interface BenchReport {
  /** Run with `--quick`. */
  quick: boolean;
  /** Deno and V8 versions, for comparing reports. */
  runtime: { deno: string; v8: string };
  /** rvisor on cpu.elf. */
  interpreter: InterpreterFigure;
  /** cpu.elf with the translator off and on. */
  translator: TranslatorFigure;
  /** QEMU on cpu.elf, or why it was skipped. */
  qemu: QemuFigure | { skipped: string };
  /** Event bus subscribers vs none. */
  events: EventFigure[];
  /** Register representations (ops/s, ratio to int32 pairs). */
  registers: { name: string; opsPerSecond: number; ratio: number; exact: boolean }[];
  /** Boot to U-Boot, or why it was skipped. */
  boot: BootFigure | { skipped: string };
  /** cpu_user.elf bare vs under the hypervisor. */
  hypervisorCpu: HypervisorFigure;
  /** The same with the block translator on. */
  hypervisorCpuTranslated: HypervisorFigure;
  /** Boot to U-Boot bare vs under the hypervisor, or why it was skipped. */
  hypervisorBoot: HypervisorFigure | { skipped: string };
  /** Boot to U-Boot under the hypervisor, OpenSBI vs built-in firmware, or why it was skipped. */
  firmware: FirmwareFigure | { skipped: string };
  /** The report sampler's cost. */
  sampler: SamplerFigure;
  /** Linux to the shell, or why it was skipped. */
  linux: LinuxFigure | { skipped: string };
  /** tinyos and Linux booting at once vs one after another, or why it was skipped. */
  guests: GuestsFigure | { skipped: string };
  /** Linux to the shell with `--smp 2`, or why it was skipped. */
  linuxSmp: LinuxSmpFigure | { skipped: string };
  /** The translator's tiers side by side. */
  tiers: TiersFigure;
}

/** One workload with the interpreter, JavaScript blocks and wasm blocks (best of each). */
export interface TierFigure {
  /** What ran, and how (`cpu.elf`, `cpu_user.elf (hypervisor)`). */
  workload: string;
  interpreter: HypervisorRun;
  js: HypervisorRun;
  wasm: HypervisorRun;
  /** Interleaved rounds after one warm-up of each. */
  rounds: number;
}

/** The tiers on the CPU-bound programs, and the Linux boot's peak RSS with JavaScript blocks. */
export interface TiersFigure {
  cpu: TierFigure;
  cpuUser: TierFigure;
  /** Peak RSS (bytes) of the bare Linux boot with JavaScript blocks, or why it was skipped. */
  linuxRssJs: number | { skipped: string };
}

/**
 * Two guests booting at once under the hypervisor (hypervisor/guests.ts):
 * tinyos to its prompt and Linux (built-in firmware) to its shell, side by
 * side, against the same two boots one after another; clock virtual,
 * translator on.
 */
export interface GuestsFigure {
  /** Wall time until both were at their prompts. */
  togetherMs: number;
  /** tinyos alone to its prompt plus Linux alone to its shell. */
  sequentialMs: number;
  /** Guest instructions of the side-by-side run, both guests. */
  instructions: number;
  /** Slices the switcher gave tinyos and Linux. */
  slices: number[];
}

/** Debian's Linux from reset to the busybox prompt with several harts, on rvisor and on QEMU. */
export interface LinuxSmpFigure {
  /** Kernel release booted. */
  release: string;
  /** Harts (QEMU's `-smp`). */
  smp: number;
  /** Bare with OpenSBI fw_jump and the block translator, `smp` harts. */
  bare: HypervisorRun;
  /** The same with one hart, run right before `bare` (the pair for `ratio`). */
  single: HypervisorRun;
  /** Wall time `bare` / `single`: what the other harts cost. */
  ratio: number;
  /** Under the hypervisor with OpenSBI and the translator, or the machine's refusal. */
  hypervisor: (HypervisorRun & HypervisorExits) | { skipped: string };
  /** QEMU's best wall time with `-smp` to the same prompt (start-up included), when installed. */
  qemuMs?: number;
  /** QEMU's single-hart time of the Linux rows, when measured, for its own SMP cost. */
  qemuSingleMs?: number;
}

/** Debian's Linux from reset to the busybox prompt, three ways on rvisor and on QEMU. */
export interface LinuxFigure {
  /** Kernel release booted. */
  release: string;
  /** Bare, OpenSBI fw_jump in M-mode. */
  bare: HypervisorRun;
  /** Under the hypervisor, OpenSBI in virtual M-mode. */
  opensbi: HypervisorRun & HypervisorExits;
  /** Under the hypervisor with the built-in SBI firmware. */
  builtin: HypervisorRun & HypervisorExits;
  /** `bare` with the block translator. */
  bareTranslated: HypervisorRun;
  /** `opensbi` with the block translator. */
  opensbiTranslated: HypervisorRun & HypervisorExits;
  /** `builtin` with the block translator. */
  builtinTranslated: HypervisorRun & HypervisorExits;
  /** QEMU's best wall time to the same prompt (start-up included), when installed. */
  qemuMs?: number;
  /** Peak resident memory (VmHWM, bytes) of the bare boot in a process of its own. */
  rss: { translator: number; interpreter: number };
}

/** The boot to U-Boot under the hypervisor with OpenSBI vs with the built-in SBI firmware. */
export interface FirmwareFigure {
  /** Best run with OpenSBI fw_jump in virtual M-mode. */
  opensbi: HypervisorRun & HypervisorExits;
  /** Best run with `firmware: "builtin"` (U-Boot started in virtual S-mode). */
  builtin: HypervisorRun & HypervisorExits;
  /** Wall time builtin / OpenSBI. */
  ratio: number;
  /** Interleaved rounds (each after one warm-up run of both). */
  rounds: number;
}

function image(path: string): { name: string; bytes: Uint8Array } {
  return { name: path, bytes: Deno.readFileSync(path) };
}

/** Runs cpu.elf once on a fresh machine; `setup` may subscribe to its events. */
async function runCpu(
  maxInstructions: number | undefined,
  setup?: (m: VirtMachine) => void,
  jit = false,
): Promise<{ result: RunResult; console: string; machine: VirtMachine }> {
  let out = "";
  const m = new VirtMachine({
    kernel: image(CPU_ELF),
    isa: "rv64imac", // QEMU_CPU's
    clock: "virtual",
    console: (b) => out += String.fromCharCode(b),
    jit,
  });
  setup?.(m);
  const result = await m.run({ maxInstructions, timeoutMs: 300_000 });
  return { result, console: out, machine: m };
}

function cpuFigure(run: { result: RunResult; console: string }): InterpreterFigure {
  const r = run.result;
  return {
    mips: mipsOf(r),
    instructions: r.guestInstructions,
    wallMs: r.wallMs,
    stop: r.stop,
    exitCode: r.stop === "halt" ? r.exitCode : undefined,
    guestMinstret: parseMinstret(run.console),
  };
}

/** cpu.elf with the translator off and on: one warm-up of each, then interleaved rounds. */
export async function benchTranslator(
  maxInstructions: number | undefined,
  rounds: number,
): Promise<TranslatorFigure> {
  await runCpu(maxInstructions, undefined, false);
  await runCpu(maxInstructions, undefined, true);
  type Run = Awaited<ReturnType<typeof runCpu>>;
  let off: Run | undefined, on: Run | undefined;
  for (let i = 0; i < rounds; i++) {
    for (const jit of i % 2 === 0 ? [false, true] : [true, false]) {
      const run = await runCpu(maxInstructions, undefined, jit);
      const best = jit ? on : off;
      if (!best || mipsOf(run.result) > mipsOf(best.result)) {
        if (jit) on = run;
        else off = run;
      }
    }
  }
  if (on!.result.guestInstructions !== off!.result.guestInstructions) {
    throw new Error(
      `translator: cpu.elf retired ${on!.result.guestInstructions} instructions on, ` +
        `${off!.result.guestInstructions} off`,
    );
  }
  const stats = on!.machine.hart.translator!.stats;
  const onFigure = {
    ...cpuFigure(on!),
    translatedShare: stats.translatedInstructions / on!.machine.hart.retired,
    blocks: stats.compiled,
    compileMs: stats.compileMs,
  };
  const offFigure = cpuFigure(off!);
  return { off: offFigure, on: onFigure, ratio: onFigure.mips / offFigure.mips, rounds };
}

function mipsOf(r: RunResult): number {
  return r.guestInstructions / r.wallMs / 1000;
}

function parseMinstret(text: string): number | undefined {
  const m = /cpu: minstret (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** rvisor on cpu.elf: one warm-up run, then the best of 3. */
export async function benchInterpreter(maxInstructions?: number): Promise<InterpreterFigure> {
  await runCpu(maxInstructions); // warm-up: lets V8 optimise the hart before timing
  let best: { result: RunResult; console: string } | undefined;
  for (let i = 0; i < 3; i++) {
    const run = await runCpu(maxInstructions);
    if (!best || mipsOf(run.result) > mipsOf(best.result)) best = run;
  }
  const r = best!.result;
  return {
    mips: mipsOf(r),
    instructions: r.guestInstructions,
    wallMs: r.wallMs,
    stop: r.stop,
    exitCode: r.stop === "halt" ? r.exitCode : undefined,
    guestMinstret: parseMinstret(best!.console),
  };
}

/**
 * MIPS with no subscriber vs a no-op subscriber on `halt` (published once, at
 * the end), `csr` (crt0 and cpu.elf run three CSR instructions) and `trap`
 * (never); the ratios are 1 within the noise of the host. The
 * configurations are interleaved round by round so that a change in machine
 * load affects all of them alike.
 */
export async function benchEvents(maxInstructions: number): Promise<EventFigure[]> {
  const topics: (Topic | "none")[] = ["none", "halt", "csr", "trap"];
  const best = new Map<string, number>();
  const counts = new Map<string, number>();
  for (let round = 0; round < EVENT_ROUNDS; round++) {
    for (const topic of topics) {
      let events = 0;
      const { result } = await runCpu(maxInstructions, (m) => {
        if (topic !== "none") m.events.on(topic, () => void events++);
      });
      best.set(topic, Math.max(best.get(topic) ?? 0, mipsOf(result)));
      counts.set(topic, events);
    }
  }
  const base = best.get("none")!;
  return topics.map((t) => ({
    subscriber: t,
    mips: best.get(t)!,
    ratio: best.get(t)! / base,
    events: counts.get(t)!,
    instructions: maxInstructions,
  }));
}

function qemuArgs(elf: string, icount: boolean): string[] {
  return [
    ...["-M", "virt", "-m", "128M", "-nographic", "-bios", "none", "-cpu", QEMU_CPU],
    ...(icount ? ["-icount", "shift=0"] : []),
    ...["-kernel", elf],
  ];
}

/** Runs QEMU on a bare ELF to completion; wall time includes process start-up. */
async function runQemu(
  elf: string,
  icount: boolean,
): Promise<{ ms: number; code: number; stdout: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(QEMU, {
    args: qemuArgs(elf, icount),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    ms: performance.now() - t0,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

/** QEMU on cpu.elf (best of 3), its start-up on smoke.elf (best of 3), and one icount run. */
export async function benchQemu(): Promise<QemuFigure> {
  let wallMs = Infinity, startupMs = Infinity, exitCode = 0;
  for (let i = 0; i < 3; i++) {
    const s = await runQemu(SMOKE_ELF, false);
    startupMs = Math.min(startupMs, s.ms);
    const r = await runQemu(CPU_ELF, false);
    wallMs = Math.min(wallMs, r.ms);
    exitCode ||= r.code;
  }
  const counted = await runQemu(CPU_ELF, true);
  return { wallMs, startupMs, exitCode, icountMinstret: parseMinstret(counted.stdout) };
}

/**
 * Spawns QEMU with `args` and returns the ms until its console has shown each
 * of `marks` in turn (undefined if it exits or `timeoutMs` passes first).
 */
async function qemuMsUntil(
  args: string[],
  marks: string[],
  timeoutMs: number,
): Promise<number | undefined> {
  const t0 = performance.now();
  const child = new Deno.Command(QEMU, {
    args: ["-M", "virt", "-nographic", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let text = "", ms: number | undefined, next = 0;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      let at;
      while (next < marks.length && (at = text.indexOf(marks[next])) >= 0) {
        text = text.slice(at + marks[next].length);
        next++;
      }
      if (next === marks.length) {
        ms = performance.now() - t0;
        break;
      }
      text = text.slice(-marks[next].length * 2); // keep only what a match can span
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
  }
  return ms;
}

/** QEMU's best time of `rounds` runs of `args` until `marks` (undefined: none got there). */
async function bestQemuMs(
  args: string[],
  marks: string[],
  rounds: number,
  timeoutMs: number,
): Promise<number | undefined> {
  let best: number | undefined;
  for (let i = 0; i < rounds; i++) {
    const ms = await qemuMsUntil(args, marks, timeoutMs);
    if (ms !== undefined) best = Math.min(best ?? Infinity, ms);
  }
  return best;
}

/** Boot from reset to U-Boot's autoboot message on rvisor (one cold run) and QEMU. */
export async function benchBoot(withQemu: boolean): Promise<BootFigure> {
  const m = new VirtMachine({
    bios: image(OPENSBI),
    kernel: image(UBOOT),
    isa: "rv64imac", // QEMU_CPU's
    clock: "virtual",
    jit: false, // the interpreter's figure
  });
  const r = await m.run({ until: UBOOT_MARK, timeoutMs: 300_000 });
  if (r.stop !== "until") throw new Error(`U-Boot did not reach its prompt: ${r.stop}`);
  // Best of 3, as for cpu.elf: process start-up is part of a boot.
  const qemuMs = withQemu
    ? await bestQemuMs(
      ["-m", "128M", "-cpu", QEMU_CPU, "-bios", OPENSBI, "-kernel", UBOOT],
      [UBOOT_MARK],
      3,
      30_000,
    )
    : undefined;
  return { wallMs: r.wallMs, instructions: r.guestInstructions, qemuMs };
}

/** What to run for a bare/hypervisor comparison. */
interface Workload {
  /** Boot images. */
  images: {
    kernel: { name: string; bytes: Uint8Array };
    bios?: { name: string; bytes: Uint8Array };
    initrd?: { name: string; bytes: Uint8Array };
    append?: string;
  };
  /** RAM (default 128 MiB) and ISA (default rv64imafdc). */
  memory?: number;
  isa?: string;
  /** Instruction budget (undefined: to the end). */
  maxInstructions?: number;
  /** Stop at this console text; a list: at the last of them, each seen after the one before. */
  until?: string | string[];
  /** Under the hypervisor: who answers SBI calls (default: the guest's bios). */
  firmware?: "guest" | "builtin";
  /** Run with the block translator, or one of its tiers (default: the interpreter alone). */
  jit?: boolean | "js" | "wasm";
  /** Harts (default 1). */
  smp?: number;
}

/**
 * One run of `w`, bare or under the hypervisor (then with its exit figures,
 * the exit handler timed unless `sampler` is given: then a report sampler
 * records the run (`report`), also read as `--web` reads it for a browser
 * (`live`), or nothing records it (`off`)).
 */
async function runWorkload(
  w: Workload,
  hypervisor: boolean,
  sampler?: SamplerMode,
): Promise<
  HypervisorRun & Partial<HypervisorExits> & {
    samples?: number;
    cpuMs?: number;
    polls?: number;
    pollMs?: number;
  }
> {
  const config = {
    ...w.images,
    memory: w.memory,
    isa: w.isa,
    clock: "virtual" as const,
    rtcBase: REPRODUCIBLE_RTC_BASE,
    console: () => {},
    jit: w.jit ?? false,
    smp: w.smp,
  };
  let hv: Hypervisor | undefined;
  let m: VirtMachine;
  let handlerMs = 0;
  if (hypervisor) {
    const hm = createHypervisorMachine({ ...config, firmware: w.firmware });
    hv = hm.hypervisor;
    m = hm;
    // Time the exit handler from outside (two performance.now() per exit:
    // ~0.1 us, well under the cost of an exit).
    const handler = m.hart.onTrap!;
    if (sampler === undefined) {
      m.hart.onTrap = (cause, interrupt, tval, pc) => {
        const t0 = performance.now();
        const handled = handler(cause, interrupt, tval, pc);
        handlerMs += performance.now() - t0;
        return handled;
      };
    }
  } else {
    m = new VirtMachine(config);
  }
  const recorder = sampler === "report" || sampler === "live"
    ? new RunSampler(new Machine(m))
    : undefined;
  recorder?.resume();
  // What the web console does for a watching browser: its new samples, now and then the tables.
  // Their own time is timed too: it is the part the interleaved CPU times cannot resolve.
  let polls = 0, pollMs = 0, next = 0, epoch = -1;
  const poll = sampler === "live"
    ? setInterval(() => {
      const t0 = performance.now();
      const live = recorder!.samplesSince(next, epoch);
      next = live.samples, epoch = live.epoch;
      JSON.stringify(live);
      if (++polls % WEB_TABLES_EVERY === 0) JSON.stringify(recorder!.tables());
      pollMs += performance.now() - t0;
    }, WEB_STATS_PERIOD_MS)
    : undefined;
  const cpu0 = process.cpuUsage();
  let r: RunResult | undefined;
  let instructions = 0, wallMs = 0;
  for (const until of Array.isArray(w.until) ? w.until : [w.until]) {
    r = await m.run({ maxInstructions: w.maxInstructions, until, timeoutMs: 300_000 });
    instructions += r.guestInstructions;
    wallMs += r.wallMs;
    if (r.stop !== "until") break;
  }
  const cpu = process.cpuUsage(cpu0);
  clearInterval(poll);
  recorder?.pause();
  const emulated = hv?.guest.vcpu.emulated ?? 0;
  const run: HypervisorRun & Partial<HypervisorExits> = {
    wallMs,
    instructions,
    emulated,
    mips: instructions / wallMs / 1000,
    stop: r!.stop,
    exitCode: r!.stop === "halt" ? r!.exitCode : undefined,
  };
  if (m.hart.translator) {
    // Each hart has its own translator.
    const stats = m.harts.map((h) => h.translator!.stats);
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
    run.translator = {
      compiled: sum((s) => s.compiled),
      compileMs: sum((s) => s.compileMs),
      evictions: sum((s) => s.evictions),
      share: sum((s) => s.translatedInstructions) / m.hostInstructions,
    };
  }
  if (m.harts.length > 1) run.harts = m.harts.map((h) => h.retired);
  if (hv) {
    const byKind = [...hv.exitCounts].map(([kind, count]) => ({ kind, count }))
      .sort((a, b) => b.count - a.count);
    const exits = byKind.reduce((n, e) => n + e.count, 0);
    Object.assign(run, {
      exits,
      exitsPerSecond: exits / (wallMs / 1000),
      byKind,
      handlerMs,
      guestTraps: [...hv.guestTraps].map(([trap, count]) => ({ trap, count }))
        .sort((a, b) => b.count - a.count),
    });
  }
  if (sampler === undefined) return run;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return { ...run, cpuMs, samples: recorder?.samplesSince(0).samples, polls, pollMs };
}

/** How {@linkcode runWorkload} records a run under the hypervisor. */
type SamplerMode = "off" | "report" | "live";

/**
 * `w` bare and under the hypervisor: one warm-up run of each (V8 compiles the
 * hart's and the hypervisor's paths), then `rounds` rounds of one run each,
 * alternating which goes first; the best (shortest) run of each is kept.
 */
export async function benchHypervisor(
  workload: string,
  w: Workload,
  rounds: number,
  target: number,
): Promise<HypervisorFigure> {
  await runWorkload(w, false);
  await runWorkload(w, true);
  let bare: HypervisorRun | undefined;
  let hyp: (HypervisorRun & Partial<HypervisorExits>) | undefined;
  for (let round = 0; round < rounds; round++) {
    for (const hypervisor of round % 2 === 0 ? [false, true] : [true, false]) {
      const r = await runWorkload(w, hypervisor);
      if (hypervisor) {
        if (!hyp || r.wallMs < hyp.wallMs) hyp = r;
      } else if (!bare || r.wallMs < bare.wallMs) {
        bare = r;
      }
    }
  }
  for (const [name, r] of [["bare", bare!], ["hypervisor", hyp!]] as const) {
    const ok = r.stop === "limit" || r.stop === "until" || (r.stop === "halt" && r.exitCode === 0);
    if (!ok) throw new Error(`${workload} ${name}: stopped with ${r.stop} (exit ${r.exitCode})`);
  }
  return {
    workload,
    bare: bare!,
    hypervisor: hyp as HypervisorRun & HypervisorExits,
    ratio: hyp!.wallMs / bare!.wallMs,
    target,
    rounds,
  };
}

/**
 * `w` (under the hypervisor if `hypervisor`) with the interpreter, JavaScript
 * blocks and wasm blocks: one warm-up of each, then `rounds` rounds, the order
 * turned by one each round; the best of each is kept. All must retire the same
 * instructions.
 */
export async function benchTiers(
  workload: string,
  w: Workload,
  hypervisor: boolean,
  rounds: number,
): Promise<TierFigure> {
  const tiers = [false, "js", "wasm"] as const;
  for (const jit of tiers) await runWorkload({ ...w, jit }, hypervisor);
  const best: (HypervisorRun | undefined)[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < tiers.length; k++) {
      const i = (k + round) % tiers.length;
      const r = await runWorkload({ ...w, jit: tiers[i] }, hypervisor);
      if (!(r.stop === "limit" || r.stop === "until" || (r.stop === "halt" && r.exitCode === 0))) {
        throw new Error(`tiers ${workload} (jit ${tiers[i]}): stopped with ${r.stop}`);
      }
      if (!best[i] || r.wallMs < best[i]!.wallMs) best[i] = r;
    }
  }
  const [interpreter, js, wasm] = best as HypervisorRun[];
  if (
    js.instructions !== interpreter.instructions || wasm.instructions !== interpreter.instructions
  ) {
    throw new Error(
      `tiers ${workload}: ${interpreter.instructions} instructions interpreted, ` +
        `${js.instructions} with JavaScript blocks, ${wasm.instructions} with wasm blocks`,
    );
  }
  return { workload, interpreter, js, wasm, rounds };
}

/**
 * `w` under the hypervisor without the report sampler, with it, and with it
 * watched live: one warm-up of each, then `rounds` rounds of one run each,
 * the order turned by one each round; the best of each is kept.
 */
export async function benchSampler(
  workload: string,
  w: Workload,
  rounds: number,
): Promise<SamplerFigure> {
  const modes: SamplerMode[] = ["off", "report", "live"];
  for (const mode of modes) await runWorkload(w, true, mode);
  const best: Awaited<ReturnType<typeof runWorkload>>[] = [];
  const cpuMs = modes.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < modes.length; k++) {
      const i = (round + k) % modes.length;
      const r = await runWorkload(w, true, modes[i]);
      if (!best[i] || r.wallMs < best[i].wallMs) best[i] = r;
      cpuMs[i] = Math.min(cpuMs[i], r.cpuMs!);
    }
  }
  const [off, on, live] = best;
  for (const [name, r] of [["with the sampler", on], ["watched live", live]] as const) {
    if (off.instructions !== r.instructions || off.stop !== r.stop) {
      throw new Error(
        `${workload}: ${name} ${r.instructions} instructions (${r.stop}), ` +
          `without ${off.instructions} (${off.stop})`,
      );
    }
  }
  return {
    workload,
    off,
    on: { ...on, samples: on.samples!, exits: on.exits! },
    ratio: on.wallMs / off.wallMs,
    cpuRatio: cpuMs[1] / cpuMs[0],
    live: {
      wallMs: live.wallMs,
      ratio: live.wallMs / off.wallMs,
      cpuRatio: cpuMs[2] / cpuMs[0],
      polls: live.polls!,
      pollMs: live.pollMs!,
    },
    target: SAMPLER_TARGET,
    rounds,
  };
}

/**
 * The boot to U-Boot under the hypervisor with OpenSBI and with the built-in
 * firmware: one warm-up of each, then `rounds` interleaved rounds, best of each.
 */
export async function benchFirmware(rounds: number): Promise<FirmwareFigure> {
  const kernel = image(UBOOT);
  const opensbi: Workload = { images: { bios: image(OPENSBI), kernel }, until: UBOOT_MARK };
  const builtin: Workload = { images: { kernel }, until: UBOOT_MARK, firmware: "builtin" };
  await runWorkload(opensbi, true);
  await runWorkload(builtin, true);
  const best: (HypervisorRun & Partial<HypervisorExits>)[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const r = await runWorkload(i === 0 ? opensbi : builtin, true);
      if (r.stop !== "until") throw new Error(`firmware boot ${i}: stopped with ${r.stop}`);
      if (!best[i] || r.wallMs < best[i].wallMs) best[i] = r;
    }
  }
  const [o, b] = best as (HypervisorRun & HypervisorExits)[];
  return { opensbi: o, builtin: b, ratio: b.wallMs / o.wallMs, rounds };
}

/** The Linux images from the cache, fetched if absent, or why there are none. */
async function linuxImages(): Promise<LinuxImages | string> {
  const cached = cachedLinux();
  if (cached) return cached;
  try {
    return await fetchLinux({ log: (line) => console.error(`bench: fetch-linux: ${line}`) });
  } catch (e) {
    if (e instanceof FetchError) return `no Linux images (${e.message})`;
    throw e;
  }
}

/** QEMU's RTC option for the same start-up time as rvisor's runs. */
const QEMU_RTC = `base=${new Date(REPRODUCIBLE_RTC_BASE).toISOString().slice(0, 19)}`;

/** Linux from reset to the shell bare, under the hypervisor two ways, and on QEMU. */
export async function benchLinux(
  images: LinuxImages,
  withQemu: boolean,
): Promise<LinuxFigure> {
  const withBios = linuxBare(images, false);
  const { kernel, initrd, append } = withBios.images;
  const builtinFw: Workload = {
    ...withBios,
    images: { kernel, initrd, append },
    firmware: "builtin",
  };
  const runs = [
    await runWorkload(withBios, false),
    await runWorkload(withBios, true),
    await runWorkload(builtinFw, true),
    await runWorkload({ ...withBios, jit: true }, false),
    await runWorkload({ ...withBios, jit: true }, true),
    await runWorkload({ ...builtinFw, jit: true }, true),
  ];
  for (const [i, r] of runs.entries()) {
    if (r.stop !== "until") throw new Error(`linux boot ${i}: stopped with ${r.stop}`);
  }
  const qemuMs = withQemu ? await linuxQemuMs(images, 1) : undefined;
  const [bare, opensbi, builtin, bareTranslated, opensbiTranslated, builtinTranslated] = runs as (
    & HypervisorRun
    & HypervisorExits
  )[];
  return {
    release: images.release,
    bare,
    opensbi,
    builtin,
    bareTranslated,
    opensbiTranslated,
    builtinTranslated,
    qemuMs,
    rss: { translator: await linuxRss(true), interpreter: await linuxRss(false) },
  };
}

/** QEMU's best time of the Linux boot to the shell on the same images with `smp` harts. */
async function linuxQemuMs(images: LinuxImages, smp: number): Promise<number | undefined> {
  return await bestQemuMs(
    [
      ...["-m", "256M", "-cpu", QEMU_CPU_FD, "-bios", OPENSBI, "-rtc", QEMU_RTC],
      ...(smp > 1 ? ["-smp", String(smp)] : []),
      ...["-kernel", images.kernel, "-initrd", images.initrd, "-append", LINUX_APPEND],
    ],
    [INIT_MARKER, LINUX_PROMPT],
    LINUX_QEMU_ROUNDS,
    120_000,
  );
}

/**
 * `w` under the hypervisor, or `{ skipped }` with the machine's own refusal
 * when it does not take `w`'s configuration, so that a row shows why it has
 * no figure instead of failing the whole bench.
 */
export async function hypervisorRunOrRefusal(
  w: Workload,
): Promise<(HypervisorRun & HypervisorExits) | { skipped: string }> {
  try {
    return await runWorkload(w, true) as HypervisorRun & HypervisorExits;
  } catch (e) {
    if (e instanceof MachineConfigError) return { skipped: e.message };
    throw e;
  }
}

/**
 * Linux to the shell with {@linkcode LINUX_SMP} harts: bare with the
 * translator (paired with one single-hart run just before it), under the
 * hypervisor with OpenSBI, and on QEMU with `-smp`; `qemuSingleMs` is the Linux
 * rows' QEMU time, passed on for the table.
 */
export async function benchLinuxSmp(
  images: LinuxImages,
  withQemu: boolean,
  qemuSingleMs?: number,
): Promise<LinuxSmpFigure> {
  const w: Workload = { ...linuxBare(images, true), smp: LINUX_SMP };
  const single = await runWorkload({ ...w, smp: 1 }, false);
  const bare = await runWorkload(w, false);
  const hypervisor = await hypervisorRunOrRefusal(w);
  const runs: [string, HypervisorRun | { skipped: string }][] = [
    ["1 hart", single],
    [`${LINUX_SMP} harts`, bare],
    ["hypervisor", hypervisor],
  ];
  for (const [name, r] of runs) {
    if ("stop" in r && r.stop !== "until") {
      throw new Error(`linux --smp boot (${name}): stopped with ${r.stop}`);
    }
  }
  return {
    release: images.release,
    smp: LINUX_SMP,
    bare,
    single,
    ratio: bare.wallMs / single.wallMs,
    hypervisor,
    qemuMs: withQemu ? await linuxQemuMs(images, LINUX_SMP) : undefined,
    qemuSingleMs,
  };
}

/** The bare Linux boot to the shell (OpenSBI), as `benchLinux` runs it. */
function linuxBare(images: LinuxImages, jit: boolean | "js"): Workload {
  return {
    memory: LINUX_MEMORY,
    isa: LINUX_ISA,
    until: [INIT_MARKER, LINUX_PROMPT],
    images: {
      bios: image(OPENSBI),
      kernel: image(images.kernel),
      initrd: image(images.initrd),
      append: LINUX_APPEND,
    },
    jit,
  };
}

/** This process's peak resident memory in bytes (Linux: VmHWM of /proc/self/status). */
function peakRss(): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
  if (kb === undefined) throw new Error("no VmHWM in /proc/self/status");
  return Number(kb) * 1024;
}

/**
 * Peak RSS of the bare Linux boot with the translator on (its default tier),
 * off or with JavaScript blocks (`"js"`), measured in a child `deno run` of
 * this script (`--linux-rss on|off|js`) that boots and prints it, with the V8
 * flags rvisor runs with ({@linkcode V8_FLAGS}).
 */
async function linuxRss(jit: boolean | "js"): Promise<number> {
  const how = jit === "js" ? "js" : jit ? "on" : "off";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      new URL(import.meta.url).pathname,
      "--linux-rss",
      how,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `linux RSS run (jit ${how}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(text).rss;
}

/**
 * The sampler's cost on the longest workload at hand: Linux's first 300 M
 * instructions (cached images only, not with --no-linux), else the boot to
 * U-Boot, else cpu_user.elf; `quick`: 1 M instructions of cpu_user.elf.
 */
async function samplerFigure(
  quick: boolean,
  haveUboot: boolean,
  withLinux: boolean,
): Promise<SamplerFigure> {
  const images = quick || !withLinux || !exists(OPENSBI) ? null : cachedLinux();
  if (images) {
    return await benchSampler(
      `linux, first ${SAMPLER_LINUX_INSTRUCTIONS / 1e6} M instructions`,
      { ...linuxBare(images, true), until: undefined, maxInstructions: SAMPLER_LINUX_INSTRUCTIONS },
      SAMPLER_ROUNDS,
    );
  }
  return !quick && haveUboot
    ? await benchSampler(
      "boot to U-Boot",
      { images: { bios: image(OPENSBI), kernel: image(UBOOT) }, until: UBOOT_MARK },
      SAMPLER_ROUNDS,
    )
    : await benchSampler(
      "cpu_user.elf",
      {
        images: { kernel: image(CPU_USER_ELF) },
        maxInstructions: quick ? QUICK_INSTRUCTIONS : undefined,
      },
      quick ? 1 : SAMPLER_ROUNDS,
    );
}

/** Runs `m` until guest `i` (or the single guest, i < 0) printed each of `marks` in turn. */
async function runToMarks(m: Machine, i: number, marks: readonly string[]): Promise<void> {
  for (const until of marks) {
    const r = i < 0
      ? await m.run({ until, maxInstructions: 5e9 })
      : await m.guests[i].run({ until, maxInstructions: 5e9 });
    if (r.stop !== "until") throw new Error(`guests bench: no '${until}' (stopped: ${r.stop})`);
  }
}

/** tinyos and Linux to their prompts side by side, then one after another. */
export async function benchGuests(images: LinuxImages): Promise<GuestsFigure> {
  const linux = {
    kernel: image(images.kernel),
    initrd: image(images.initrd),
    append: LINUX_APPEND,
    memory: LINUX_MEMORY,
    firmware: "builtin" as const,
    rtcBase: REPRODUCIBLE_RTC_BASE,
  };
  const tinyos = { rtcBase: REPRODUCIBLE_RTC_BASE };
  const common = { clock: "virtual" as const, jit: true, isa: LINUX_ISA };
  const linuxMarks = [INIT_MARKER, LINUX_PROMPT];
  let t0 = performance.now();
  const both = createMachine({ ...common, guests: [tinyos, linux] });
  await runToMarks(both, 1, linuxMarks);
  if (!both.guests[0].consoleText.includes("$ ")) await runToMarks(both, 0, ["$ "]);
  const togetherMs = performance.now() - t0;
  t0 = performance.now();
  await runToMarks(createMachine({ ...common, ...tinyos }), -1, ["$ "]);
  await runToMarks(createMachine({ ...common, ...linux }), -1, linuxMarks);
  return {
    togetherMs,
    sequentialMs: performance.now() - t0,
    instructions: both.guestInstructions,
    slices: [...both.switcher!.slices],
  };
}

/** Runs the whole suite; `quick` keeps it to a few seconds (1 M instructions, no QEMU, no boot). */
export async function runBench(quick: boolean, withLinux = true): Promise<BenchReport> {
  await buildGuests();
  const budget = quick ? QUICK_INSTRUCTIONS : undefined;
  const interpreter = await benchInterpreter(budget);
  const translator = await benchTranslator(budget, quick ? 1 : TRANSLATOR_ROUNDS);
  const haveQemu = !quick && hasCommand(QEMU);
  const qemu = quick
    ? { skipped: "--quick" }
    : haveQemu
    ? await benchQemu()
    : { skipped: `${QEMU} not installed` };
  const events = await benchEvents(quick ? QUICK_INSTRUCTIONS : EVENT_INSTRUCTIONS);
  const regs = benchRegs(quick ? 20 : 400);
  const base = regs.find((r) => r.name.startsWith("(c)"))!.opsPerSecond;
  const registers = regs.map((r) => ({ ...r, ratio: r.opsPerSecond / base }));
  const haveUboot = exists(OPENSBI) && exists(UBOOT);
  const boot = quick
    ? { skipped: "--quick" }
    : haveUboot
    ? await benchBoot(haveQemu)
    : { skipped: "Debian's opensbi / u-boot-qemu not installed" };
  const hypervisorCpu = await benchHypervisor(
    "cpu_user.elf",
    { images: { kernel: image(CPU_USER_ELF) }, maxInstructions: budget },
    quick ? 1 : HV_CPU_ROUNDS,
    1.1,
  );
  const hypervisorCpuTranslated = await benchHypervisor(
    "cpu_user.elf, translator",
    { images: { kernel: image(CPU_USER_ELF) }, maxInstructions: budget, jit: true },
    quick ? 1 : HV_CPU_ROUNDS,
    1.1,
  );
  const hypervisorBoot = quick ? { skipped: "--quick" } : haveUboot
    ? await benchHypervisor(
      "boot to U-Boot",
      { images: { bios: image(OPENSBI), kernel: image(UBOOT) }, until: UBOOT_MARK },
      HV_BOOT_ROUNDS,
      2,
    )
    : { skipped: "Debian's opensbi / u-boot-qemu not installed" };
  const firmware = quick
    ? { skipped: "--quick" }
    : haveUboot
    ? await benchFirmware(FIRMWARE_ROUNDS)
    : { skipped: "Debian's opensbi / u-boot-qemu not installed" };
  const sampler = await samplerFigure(quick, haveUboot, withLinux);
  let linux: LinuxFigure | { skipped: string } = { skipped: quick ? "--quick" : "--no-linux" };
  let linuxSmp: LinuxSmpFigure | { skipped: string } = linux;
  if (!quick && withLinux) {
    const images = exists(OPENSBI) ? await linuxImages() : "Debian's opensbi not installed";
    if (typeof images === "string") {
      linux = linuxSmp = { skipped: images };
    } else {
      linux = await benchLinux(images, haveQemu);
      linuxSmp = await benchLinuxSmp(images, haveQemu, linux.qemuMs);
    }
  }
  const tiers: TiersFigure = {
    cpu: await benchTiers(
      "cpu.elf",
      { images: { kernel: image(CPU_ELF) }, isa: "rv64imac", maxInstructions: budget },
      false,
      quick ? 1 : TRANSLATOR_ROUNDS,
    ),
    cpuUser: await benchTiers(
      "cpu_user.elf (hypervisor)",
      { images: { kernel: image(CPU_USER_ELF) }, maxInstructions: budget },
      true,
      quick ? 1 : TRANSLATOR_ROUNDS,
    ),
    linuxRssJs: "skipped" in linux ? { skipped: linux.skipped } : await linuxRss("js"),
  };
  let guests: GuestsFigure | { skipped: string } = {
    skipped: quick ? "--quick" : "--no-linux",
  };
  if (!quick && withLinux) {
    const images = await linuxImages();
    guests = typeof images === "string" ? { skipped: images } : await benchGuests(images);
  }
  return {
    quick,
    runtime: { deno: Deno.version.deno, v8: Deno.version.v8 },
    interpreter,
    translator,
    qemu,
    events,
    registers,
    boot,
    hypervisorCpu,
    hypervisorCpuTranslated,
    hypervisorBoot,
    firmware,
    sampler,
    linux,
    guests,
    linuxSmp,
    tiers,
  };
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n.toFixed(0)} ms`;

/** The rows of one bare/hypervisor comparison: bare, hypervisor, ratio, exits. */
function hypervisorRows(
  rows: [string, string, string][],
  name: string,
  f: HypervisorFigure | { skipped: string },
): void {
  if ("skipped" in f) {
    rows.push([name, "skipped", f.skipped]);
    return;
  }
  const end = (r: HypervisorRun) =>
    r.stop === "halt" ? `exit ${r.exitCode}` : r.stop === "until" ? "prompt" : `stopped: ${r.stop}`;
  const b = f.bare, h = f.hypervisor;
  rows.push([
    `${name}: bare`,
    `${b.mips.toFixed(1)} MIPS`,
    `${int(b.instructions)} instructions in ${ms(b.wallMs)}; ${end(b)}`,
  ]);
  rows.push([
    `${name}: hypervisor`,
    `${h.mips.toFixed(1)} MIPS`,
    `${int(h.instructions)} instructions (${int(h.emulated)} emulated) in ${ms(h.wallMs)}; ` +
    end(h),
  ]);
  rows.push([
    `${name}: hypervisor / bare`,
    `${f.ratio.toFixed(2)}x`,
    `wall time, best of ${f.rounds} interleaved rounds after 1 warm-up each; ` +
    `target <= ${f.target}x${f.ratio <= f.target ? "" : " MISSED"}`,
  ]);
  const perExit = h.exits > 0 ? `, ${(h.handlerMs * 1000 / h.exits).toFixed(1)} us/exit` : "";
  rows.push([
    `${name}: exits`,
    `${int(h.exitsPerSecond)}/s`,
    `${int(h.exits)} exits, handler ${h.handlerMs.toFixed(1)} ms ` +
    `(${(100 * h.handlerMs / h.wallMs).toFixed(1)}% of the run${perExit}): ` +
    h.byKind.slice(0, TOP_EXITS).map((e) => `${e.kind} ${int(e.count)}`).join(", ") +
    (h.byKind.length > TOP_EXITS ? ", ..." : ""),
  ]);
}

/** The row of the report sampler's cost. */
function samplerRow(rows: [string, string, string][], f: SamplerFigure): void {
  rows.push([
    `report sampler ${f.workload}: on / off`,
    `${f.cpuRatio.toFixed(3)}x`,
    `process CPU time under the hypervisor (wall time ${f.ratio.toFixed(3)}x), best of ` +
    `${f.rounds} interleaved rounds after 1 warm-up each; ${int(f.on.instructions)} ` +
    `instructions, ${int(f.on.exits)} exits, ${f.on.samples} samples; ` +
    `target < ${f.target}x${f.cpuRatio < f.target ? "" : " MISSED"}`,
  ]);
  rows.push([
    `report sampler ${f.workload}: watched / off`,
    `${f.live.cpuRatio.toFixed(3)}x`,
    `process CPU time with a --web browser reading the samples every ` +
    `${WEB_STATS_PERIOD_MS} ms and the tables every ${WEB_STATS_PERIOD_MS * WEB_TABLES_EVERY} ms ` +
    `(${f.live.polls} reads taking ${f.live.pollMs.toFixed(1)} ms of ${int(f.live.wallMs)} ms; ` +
    `wall time ${f.live.ratio.toFixed(3)}x), interleaved with the rows ` +
    `above; target < ${f.target}x${f.live.cpuRatio < f.target ? "" : " MISSED"}`,
  ]);
}

/** The rows of the OpenSBI vs built-in firmware comparison. */
function firmwareRows(rows: [string, string, string][], f: FirmwareFigure | { skipped: string }) {
  const name = "firmware boot to U-Boot";
  if ("skipped" in f) {
    rows.push([name, "skipped", f.skipped]);
    return;
  }
  for (const [label, r] of [["OpenSBI", f.opensbi], ["builtin", f.builtin]] as const) {
    rows.push([
      `${name}: ${label}`,
      ms(r.wallMs),
      `${int(r.instructions)} instructions (${int(r.emulated)} emulated), ${int(r.exits)} exits: ` +
      r.byKind.slice(0, TOP_EXITS).map((e) => `${e.kind} ${int(e.count)}`).join(", ") +
      (r.byKind.length > TOP_EXITS ? ", ..." : ""),
    ]);
  }
  rows.push([
    `${name}: builtin / OpenSBI`,
    `${f.ratio.toFixed(2)}x`,
    `wall time, best of ${f.rounds} interleaved rounds after 1 warm-up each; exits ` +
    `${(f.builtin.exits / f.opensbi.exits).toFixed(2)}x`,
  ]);
}

/** The row of two guests booting at once. */
function guestsRows(rows: [string, string, string][], f: GuestsFigure | { skipped: string }) {
  const name = "two guests: tinyos + linux to shell";
  if ("skipped" in f) {
    rows.push([name, "skipped", f.skipped]);
    return;
  }
  rows.push([
    name,
    ms(f.togetherMs),
    `at once; one after another ${ms(f.sequentialMs)} ` +
    `(${(f.togetherMs / f.sequentialMs).toFixed(2)}x); ${int(f.instructions)} instructions, ` +
    `slices ${f.slices.map(int).join(" / ")}`,
  ]);
}

/** The rows of the Linux boots. */
function linuxRows(rows: [string, string, string][], f: LinuxFigure | { skipped: string }) {
  const name = "linux to shell";
  if ("skipped" in f) {
    rows.push([name, "skipped", f.skipped]);
    return;
  }
  const exits = (r: HypervisorRun & Partial<HypervisorExits>) =>
    r.exits === undefined ? "" : `, ${int(r.exits)} exits (${int(r.exitsPerSecond!)}/s): ` +
      r.byKind!.slice(0, TOP_EXITS).map((e) => `${e.kind} ${int(e.count)}`).join(", ");
  for (
    const [label, r] of [
      ["bare", f.bare],
      ["hypervisor + OpenSBI", f.opensbi],
      ["hypervisor + builtin", f.builtin],
      ["bare, translator", f.bareTranslated],
      ["hypervisor + OpenSBI, translator", f.opensbiTranslated],
      ["hypervisor + builtin, translator", f.builtinTranslated],
    ] as const
  ) {
    const t = r.translator;
    rows.push([
      `${name}: ${label}`,
      ms(r.wallMs),
      `${int(r.instructions)} instructions (${int(r.emulated)} emulated), ` +
      `${r.mips.toFixed(1)} MIPS${exits(r)}` +
      (t === undefined ? "" : `; ${(t.share * 100).toFixed(1)} % translated, ` +
        `${int(t.compiled)} blocks in ${ms(t.compileMs)}, ${int(t.evictions)} pages evicted`),
    ]);
  }
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  rows.push([
    `${name}: translator on / off`,
    ratio(f.bareTranslated.wallMs, f.bare.wallMs),
    `wall time bare; under the hypervisor + OpenSBI ` +
    `${ratio(f.opensbiTranslated.wallMs, f.opensbi.wallMs)}, + builtin ` +
    `${ratio(f.builtinTranslated.wallMs, f.builtin.wallMs)}; one cold run each (the hypervisor ` +
    "boots reuse the functions the bare one compiled: core/translate.ts shares them)",
  ]);
  rows.push([
    `${name}: hypervisor / bare`,
    ratio(f.opensbi.wallMs, f.bare.wallMs),
    `wall time with OpenSBI; builtin / OpenSBI ${ratio(f.builtin.wallMs, f.opensbi.wallMs)}, ` +
    `exits ${ratio(f.builtin.exits, f.opensbi.exits)}; one cold run each, ${f.release}`,
  ]);
  if (f.qemuMs !== undefined) {
    rows.push([
      `${name}: qemu`,
      ms(f.qemuMs),
      `best of ${LINUX_QEMU_ROUNDS} incl. start-up (same images, rv64imafdc); ` +
      `rvisor bare ${ratio(f.bare.wallMs, f.qemuMs)}, hypervisor ` +
      `${ratio(f.opensbi.wallMs, f.qemuMs)} (goal <= 3x with a block translator), ` +
      `builtin ${ratio(f.builtin.wallMs, f.qemuMs)}`,
    ]);
    rows.push([
      `${name}: qemu, translator`,
      ms(f.qemuMs),
      `the same QEMU runs; rvisor with the translator: bare ` +
      `${ratio(f.bareTranslated.wallMs, f.qemuMs)}, hypervisor ` +
      `${ratio(f.opensbiTranslated.wallMs, f.qemuMs)} (goal <= 3x), ` +
      `builtin ${ratio(f.builtinTranslated.wallMs, f.qemuMs)}`,
    ]);
  }
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  const rss = f.rss.translator / f.rss.interpreter;
  rows.push([
    `${name}: peak RSS, translator`,
    mb(f.rss.translator),
    `interpreter ${mb(f.rss.interpreter)}: ${rss.toFixed(2)}x (goal <= 1.5x${
      rss <= 1.5 ? "" : " MISSED"
    }); bare + OpenSBI, VmHWM of one process each, with rvisor's V8 flags`,
  ]);
}

/** The rows of the translator's tiers (separate from the translator and Linux rows above). */
function tiersRows(rows: [string, string, string][], r: BenchReport): void {
  for (const f of [r.tiers.cpu, r.tiers.cpuUser]) {
    const { interpreter: i, js, wasm } = f;
    const share = (x: HypervisorRun) =>
      `${((x.translator?.share ?? 0) * 100).toFixed(1)} % translated`;
    rows.push([
      `tiers ${f.workload}: interpreter`,
      `${i.mips.toFixed(1)} MIPS`,
      `${int(i.instructions)} instructions in ${ms(i.wallMs)}, best of ${f.rounds} interleaved ` +
      "with JS and wasm blocks, after 1 warm-up of each",
    ]);
    rows.push([
      `tiers ${f.workload}: JS blocks`,
      `${js.mips.toFixed(1)} MIPS`,
      `${(js.mips / i.mips).toFixed(2)}x the interpreter; ${share(js)}`,
    ]);
    rows.push([
      `tiers ${f.workload}: wasm blocks`,
      `${wasm.mips.toFixed(1)} MIPS`,
      `${(wasm.mips / i.mips).toFixed(2)}x the interpreter, ${(wasm.mips / js.mips).toFixed(2)}x ` +
      `JS blocks; ${share(wasm)}; target >= 300 MIPS`,
    ]);
  }
  const rss = r.tiers.linuxRssJs;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  if (typeof rss !== "number" || "skipped" in r.linux) {
    rows.push([
      "tiers linux to shell: peak RSS, JS blocks",
      "skipped",
      typeof rss === "number" ? "" : rss.skipped,
    ]);
    return;
  }
  const { interpreter, translator } = r.linux.rss;
  rows.push([
    "tiers linux to shell: peak RSS, JS blocks",
    mb(rss),
    `${(rss / interpreter).toFixed(2)}x the interpreter's ${mb(interpreter)}; wasm blocks (the ` +
    `default) ${mb(translator)}, ${(translator / interpreter).toFixed(2)}x; bare + OpenSBI`,
  ]);
}

/** The rows of the SMP Linux boots. */
function linuxSmpRows(
  rows: [string, string, string][],
  f: LinuxSmpFigure | { skipped: string },
): void {
  if ("skipped" in f) {
    rows.push([`linux --smp ${LINUX_SMP} to shell`, "skipped", f.skipped]);
    return;
  }
  const name = `linux --smp ${f.smp} to shell`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const detail = (r: HypervisorRun & Partial<HypervisorExits>) =>
    `${int(r.instructions)} instructions (${int(r.emulated)} emulated` +
    (r.harts === undefined ? "" : `; ${r.harts.map((n, i) => `hart ${i} ${int(n)}`).join(", ")}`) +
    `), ${r.mips.toFixed(1)} MIPS` +
    (r.exits === undefined ? "" : `, ${int(r.exits)} exits (${int(r.exitsPerSecond!)}/s): ` +
      r.byKind!.slice(0, TOP_EXITS).map((e) => `${e.kind} ${int(e.count)}`).join(", ")) +
    (r.translator === undefined ? "" : `; ${(r.translator.share * 100).toFixed(1)} % translated`);
  rows.push([`${name}: bare, translator`, ms(f.bare.wallMs), detail(f.bare)]);
  rows.push([
    `${name}: ${f.smp} harts / 1`,
    ratio(f.bare.wallMs, f.single.wallMs),
    `wall time bare with the translator; 1 hart ${ms(f.single.wallMs)}, ` +
    `${int(f.single.instructions)} instructions, run right before (both after the rows above, ` +
    "reusing the functions they compiled)",
  ]);
  const h = f.hypervisor;
  if ("skipped" in h) {
    rows.push([`${name}: hypervisor + OpenSBI, translator`, "skipped", h.skipped]);
  } else {
    rows.push([`${name}: hypervisor + OpenSBI, translator`, ms(h.wallMs), detail(h)]);
    rows.push([
      `${name}: hypervisor / bare`,
      ratio(h.wallMs, f.bare.wallMs),
      "wall time, one run each",
    ]);
  }
  if (f.qemuMs !== undefined) {
    rows.push([
      `${name}: qemu -smp ${f.smp}`,
      ms(f.qemuMs),
      `best of ${LINUX_QEMU_ROUNDS} incl. start-up (same images, rv64imafdc); rvisor bare ` +
      ratio(f.bare.wallMs, f.qemuMs) +
      ("skipped" in h ? "" : `, hypervisor ${ratio(h.wallMs, f.qemuMs)}`) +
      (f.qemuSingleMs === undefined
        ? ""
        : `; qemu -smp ${f.smp} / 1 ${ratio(f.qemuMs, f.qemuSingleMs)}`),
    ]);
  }
}

/** Renders the report as a plain aligned table (benchmark | figure | detail). */
export function formatTable(r: BenchReport): string {
  const rows: [string, string, string][] = [];
  const i = r.interpreter;
  rows.push([
    "interpreter cpu.elf",
    `${i.mips.toFixed(1)} MIPS`,
    `${int(i.instructions)} instructions in ${ms(i.wallMs)}, best of 3 after 1 warm-up; ` +
    (i.stop === "halt" ? `exit ${i.exitCode}` : `stopped: ${i.stop}`),
  ]);
  const t = r.translator;
  rows.push([
    "translator cpu.elf: off",
    `${t.off.mips.toFixed(1)} MIPS`,
    `${int(t.off.instructions)} instructions in ${ms(t.off.wallMs)}, best of ${t.rounds} ` +
    "interleaved with on, after 1 warm-up",
  ]);
  rows.push([
    "translator cpu.elf: on",
    `${t.on.mips.toFixed(1)} MIPS`,
    `${int(t.on.instructions)} instructions in ${ms(t.on.wallMs)}; ` +
    `${(t.on.translatedShare * 100).toFixed(1)} % translated, ${int(t.on.blocks)} blocks ` +
    `compiled in ${ms(t.on.compileMs)}`,
  ]);
  rows.push(["translator cpu.elf: on / off", `${t.ratio.toFixed(2)}x`, "MIPS ratio, same run"]);
  if ("skipped" in r.qemu) {
    rows.push(["qemu cpu.elf", "skipped", r.qemu.skipped]);
  } else {
    const q = r.qemu;
    const net = q.wallMs - q.startupMs;
    const count = q.icountMinstret === undefined
      ? "no count"
      : `icount loop ${int(q.icountMinstret)}` +
        (i.guestMinstret === undefined
          ? ""
          : i.guestMinstret === q.icountMinstret
          ? " (= rvisor)"
          : ` (rvisor ${int(i.guestMinstret)})`);
    rows.push([
      "qemu cpu.elf",
      ms(q.wallMs),
      `best of 3 incl. start-up ${ms(q.startupMs)} (smoke.elf); exit ${q.exitCode}; ${count}`,
    ]);
    rows.push([
      "rvisor / qemu time",
      `${(i.wallMs / q.wallMs).toFixed(1)}x`,
      net > 1
        ? `${(i.wallMs / net).toFixed(0)}x net of QEMU start-up (${ms(net)})`
        : "QEMU's run is within its start-up noise",
    ]);
  }
  for (const e of r.events) {
    rows.push([
      `event bus: ${e.subscriber === "none" ? "no subscriber" : `on ${e.subscriber}`}`,
      `${e.mips.toFixed(1)} MIPS`,
      e.subscriber === "none"
        ? `best of ${EVENT_ROUNDS}, interleaved rounds of ${int(r.events[0].instructions)}`
        : `${e.ratio.toFixed(3)}x of no subscriber; ${int(e.events)} events`,
    ]);
  }
  for (const g of r.registers) {
    rows.push([
      `registers ${g.name}`,
      `${(g.opsPerSecond / 1e6).toFixed(1)} Mops/s`,
      `${g.ratio.toFixed(2)}x of (c)${g.exact ? "" : "; wrong results"}`,
    ]);
  }
  if ("skipped" in r.boot) {
    rows.push(["boot to U-Boot", "skipped", r.boot.skipped]);
  } else {
    const b = r.boot;
    rows.push([
      "boot to U-Boot",
      ms(b.wallMs),
      `${int(b.instructions)} instructions (OpenSBI fw_jump + U-Boot S-mode, one cold run)`,
    ]);
    if (b.qemuMs !== undefined) {
      rows.push([
        "boot to U-Boot on qemu",
        ms(b.qemuMs),
        `best of 3 incl. start-up; rvisor ${(b.wallMs / b.qemuMs).toFixed(1)}x`,
      ]);
    }
  }
  hypervisorRows(rows, "hypervisor cpu_user.elf", r.hypervisorCpu);
  hypervisorRows(rows, "hypervisor cpu_user.elf, translator", r.hypervisorCpuTranslated);
  hypervisorRows(rows, "hypervisor boot to U-Boot", r.hypervisorBoot);
  firmwareRows(rows, r.firmware);
  samplerRow(rows, r.sampler);
  linuxRows(rows, r.linux);
  guestsRows(rows, r.guests);
  linuxSmpRows(rows, r.linuxSmp);
  tiersRows(rows, r);
  const header: [string, string, string] = ["benchmark", "figure", "detail"];
  const w0 = Math.max(...[header, ...rows].map((x) => x[0].length));
  const w1 = Math.max(...[header, ...rows].map((x) => x[1].length));
  return [header, ...rows]
    .map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`)
    .join("\n");
}

/** `--help`: the options (the module comment says what each row measures). */
const USAGE = `Usage: deno task bench [--quick] [--no-linux] [--json FILE]

  --quick       cpu.elf and cpu_user.elf for 1 M instructions only; no QEMU, no boots (a smoke run)
  --no-linux    skip the Linux boots
  --json FILE   also write the figures as JSON to FILE
  --linux-rss on|off|js
                (internal) one bare Linux boot in this process, then its peak RSS as JSON
  -h, --help    this text

Every figure is a ratio against a baseline measured in the same run (see scripts/bench.ts).`;

if (import.meta.main) {
  const options = {
    quick: { type: "boolean" },
    "no-linux": { type: "boolean" },
    json: { type: "string" },
    "linux-rss": { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let values;
  try {
    ({ values } = parseArgs({ options }));
  } catch (e) {
    console.error(`bench: ${(e as Error).message} (deno task bench --help lists the options)`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (values["linux-rss"] !== undefined) {
    // A child of linuxRss: one boot, then this process's peak RSS.
    const how = values["linux-rss"];
    if (how !== "on" && how !== "off" && how !== "js") {
      console.error(`bench: --linux-rss ${how}: must be on, off or js`);
      Deno.exit(2);
    }
    const images = cachedLinux();
    if (!images) throw new Error("--linux-rss: no Linux images in the cache");
    const r = await runWorkload(linuxBare(images, how === "js" ? "js" : how === "on"), false);
    if (r.stop !== "until") throw new Error(`--linux-rss: the boot stopped with ${r.stop}`);
    console.log(JSON.stringify({ rss: peakRss(), wallMs: r.wallMs }));
    Deno.exit(0);
  }
  try {
    const report = await runBench(values.quick ?? false, !values["no-linux"]);
    console.log(formatTable(report));
    if (values.json) Deno.writeTextFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
