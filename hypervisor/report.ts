/**
 * Run reports: a sampler that records, while a machine runs, guest MIPS,
 * hypervisor exits by kind, the guest pcs that trap most, CSR and device
 * exits, shadow page-table pages and the hypervisor's share of the time; and
 * {@linkcode ReportData}, the one JSON shape those figures are handed out in
 * (`--report FILE.json`, `Machine.report()`; devices/host/report.ts renders it
 * as an HTML page).
 *
 * Cost: nothing until a sampler is created. A sampler reads the counters the
 * machine keeps anyway (instructions, `Hypervisor.exitCounts`, the shadow
 * page pool) at each sample, and listens on the event bus only for what no
 * counter has: the pc and kind of each exit (`exit`), the CSR of CSR exits
 * (`csr`) and the device of MMIO exits (`mmio`); it times the first
 * {@linkcode TIME_FIRST} exits and then one in {@linkcode TIME_EVERY}, from
 * the `trap` event to the `exit` event. A bare machine has no exits: the
 * sampler then counts the guest's own traps by pc and cause.
 *
 * @module
 */

import { CSR_NAMES } from "../core/csr.ts";
import type { CsrEvent, ExitEvent, ExitKind, MmioEvent, TrapEvent } from "../core/events.ts";
import { causeName } from "../core/names.ts";
import { hex } from "./inspect.ts";
import type { Hypervisor } from "./hypervisor.ts";
import type { Machine } from "./machine.ts";
import { statsLines, TrapCounter } from "./stats.ts";

/** The version of {@linkcode ReportData}'s shape; it changes when a field changes meaning. */
export const REPORT_VERSION = 1;

/**
 * A run report: everything `--report FILE.json` writes and `Machine.report()`
 * returns. Counts are for the recording (from the sampler's start to the
 * report), not since reset; times are host wall-clock milliseconds of running
 * (time between runs is not counted).
 */
export interface ReportData {
  /** {@linkcode REPORT_VERSION}: the shape of this object. */
  version: typeof REPORT_VERSION;
  /** Always `rvisor`. */
  generator: "rvisor";
  /** When the report was made (ISO 8601, UTC). */
  created: string;
  /** `hypervisor`: the guest ran under the hypervisor; `bare`: directly on the hart. */
  mode: "bare" | "hypervisor";
  /**
   * The run's configuration, name -> value as text: the machine's own
   * description (what a snapshot checks: RAM, images with their fingerprints,
   * devices, hypervisor settings), the clock mode and the translator; the CLI
   * adds its command line and image paths.
   */
  config: Record<string, string>;
  /** Totals of the recording. */
  summary: ReportSummary;
  /** The time series, one entry per sample in every array. */
  series: ReportSeries;
  /**
   * The guest pcs with the most exits (bare: the most traps of the guest's
   * own), most first, at most {@linkcode TOP_PCS}.
   */
  topPcs: ReportPc[];
  /** CSR exits by CSR, most first; null bare (CSR instructions do not exit). */
  csrs: ReportAccesses[] | null;
  /** MMIO exits by guest device, most first; null bare (device accesses do not exit). */
  devices: ReportAccesses[] | null;
  /** The shadow page tables (every vCPU's together); null bare. */
  shadow: ReportShadow | null;
  /** Each vCPU's part of the summary's figures, by vCPU index (one entry for one vCPU); null bare. */
  vcpus: ReportVcpu[] | null;
  /** Host time in the hypervisor and in the guest; null bare. */
  privilege: ReportPrivilege | null;
  /** The `--stats` table's lines as the CLI prints them at exit. */
  stats: string[];
  /** Plain-language remarks, e.g. why a bare run has no exit figures. */
  notes: string[];
}

/** Totals of a recording. */
export interface ReportSummary {
  /** Wall-clock ms the machine ran while recorded. */
  wallMs: number;
  /** Guest instructions retired (under the hypervisor: native and emulated). */
  guestInstructions: number;
  /** Instructions the host harts retired (bare: the same as guestInstructions). */
  hostInstructions: number;
  /** guestInstructions / wallMs, in millions per second. */
  mips: number;
  /** Hypervisor exits (every vCPU's); null bare. */
  exits: number | null;
  /** Hypervisor exits by kind (`Hypervisor.exitCounts`' kinds), most first; empty bare. */
  exitsByKind: Record<string, number>;
  /** Traps the host hart took (under the hypervisor: one per exit). */
  traps: number;
  /** Samples in {@linkcode ReportSeries}. */
  samples: number;
  /** Wall-clock ms between samples while running (it doubles when samples are thinned out). */
  intervalMs: number;
}

/**
 * Time series, column by column: index i of every array is sample i. The
 * first sample is taken when recording starts; interval values at index i are
 * for the time since sample i - 1 (0 at index 0).
 */
export interface ReportSeries {
  /** Wall-clock ms of running since recording started. */
  wallMs: number[];
  /** Guest instructions since recording started: virtual time with `clock: "virtual"`. */
  guestInstructions: number[];
  /** The machine's mtime (10 MHz ticks) at the sample. */
  mtime: number[];
  /** Guest MIPS over the interval. */
  mips: number[];
  /** Exits of each kind during the interval, by kind; empty bare. */
  exits: Record<string, number[]>;
  /** Estimated share (0..1) of the interval's wall time spent handling exits; empty bare. */
  hypervisorShare: number[];
  /** Shadow page-table pages in use at the sample; empty bare. */
  shadowPages: number[];
  /** Shadow pool reclaims since recording started; empty bare. */
  reclaims: number[];
}

/** A guest pc that trapped, with what it trapped for. */
export interface ReportPc {
  /** The guest virtual pc, as unsigned 64-bit hex (`0xffffffff80201234`). */
  pc: string;
  /** `symbol+0xoffset` from the guest's ELF images, or null. */
  symbol: string | null;
  /** Exits (bare: traps) at this pc. */
  count: number;
  /** By cause, most first: the exit kind (`csr-read`), bare the trap cause's name. */
  causes: { cause: string; count: number }[];
}

/** Exits of one CSR or device. */
export interface ReportAccesses {
  /** CSR name (`satp`; hex for unnamed numbers) or device name (`uart`). */
  name: string;
  /** Exits that read it (CSR instructions that do not write it). */
  reads: number;
  /** Exits that wrote it. */
  writes: number;
}

/** The shadow page tables of the hypervisor. */
export interface ReportShadow {
  /** Pages in the pool. */
  capacity: number;
  /** Pages in use at the end. */
  inUse: number;
  /** Most pages in use at any sample. */
  peakInUse: number;
  /** Leaf entries written (shadow fills). */
  fills: number;
  /** Times every table was dropped because the guest flushed (sfence.vma of all, PMP change). */
  flushes: number;
  /** Times every table was dropped because the pool ran dry. */
  reclaims: number;
}

/** One vCPU's figures in a recording. */
export interface ReportVcpu {
  /** Its index: its mhartid, and the host hart it runs on. */
  vcpu: number;
  /** Guest instructions it retired (native and emulated). */
  guestInstructions: number;
  /** Its hypervisor exits. */
  exits: number;
  /** Its exits by kind, most first. */
  exitsByKind: Record<string, number>;
  /** Leaf entries written into its own shadow tables. */
  shadowFills: number;
}

/** Where the host's time went: the hypervisor's exit handlers or the guest's code. */
export interface ReportPrivilege {
  /**
   * Estimated ms in the hypervisor (host M-mode): the timed exits' time, and
   * the others' at the mean of those timed after the first {@linkcode TIME_FIRST}.
   */
  hypervisorMs: number;
  /** The rest of the running time: the guest's code (host U-mode) and the run loop. */
  guestMs: number;
  /** hypervisorMs / wall time. */
  hypervisorShare: number;
  /** Exits timed for the estimate (the first {@linkcode TIME_FIRST}, then one in {@linkcode TIME_EVERY}). */
  timedExits: number;
  /** Exits by the guest's virtual mode at the exit. */
  exitsByGuestMode: { M: number; S: number; U: number };
}

/**
 * The samples recorded since a live viewer's last look: what
 * {@linkcode RunSampler.samplesSince} returns (the web console's `series`
 * message).
 */
export interface LiveSeries {
  /**
   * Changes when the recording is thinned (past 2,048 samples every other
   * one goes): the viewer's columns no longer line up and `start` is 0.
   */
  epoch: number;
  /** Index of `series`' first sample in the recording. */
  start: number;
  /** Samples in the recording: the index to ask from next time. */
  samples: number;
  /** Wall-clock ms between samples while running. */
  intervalMs: number;
  /**
   * The samples from `start` on, as {@linkcode ReportData.series} has them;
   * `exits` has every kind seen in the recording, and hypervisorShare uses
   * the mean exit time so far (the final report's may differ a little).
   */
  series: ReportSeries;
}

/** The tables of a report that a live viewer refreshes now and then. */
export interface LiveTables {
  /** As {@linkcode ReportData.topPcs}. */
  topPcs: ReportPc[];
  /** As {@linkcode ReportData.csrs}. */
  csrs: ReportAccesses[] | null;
  /** As {@linkcode ReportData.devices}. */
  devices: ReportAccesses[] | null;
}

/** Options of {@linkcode RunSampler}. */
export interface SamplerOptions {
  /** Wall-clock ms between samples while the machine runs (default 100, at least 10). */
  intervalMs?: number;
}

/** Pcs listed in {@linkcode ReportData.topPcs}. */
export const TOP_PCS = 30;
/**
 * One exit in this many is timed for the hypervisor's share: a
 * performance.now() costs up to ~0.4 us on a busy host, as much as the rest
 * of the sampler's work on several exits.
 */
export const TIME_EVERY = 64;
/** The first exits (V8 still compiling the hypervisor: the slow ones) are all timed. */
export const TIME_FIRST = 1024;
const DEFAULT_INTERVAL_MS = 100;
const MIN_INTERVAL_MS = 10;
/** Past this many samples every other one is dropped and the interval doubles. */
const MAX_SAMPLES = 2048;
/** Exit kinds are numbered below this in a pc's key (there are 18). */
const KIND_SLOTS = 32;

/**
 * Counts by number key in an open-addressing table on typed arrays: a Map
 * with keys past the small-integer range costs ~130 ns an update, which at
 * 100,000 exits a second alone would be over 1% of the run.
 */
class KeyCounter {
  #keys = new Float64Array(1024);
  #counts = new Float64Array(1024);
  #used = new Uint8Array(1024);
  /** 32 - log2(table size): a multiplicative hash's good bits are its high ones. */
  #shift = 22;
  #size = 0;

  /** Adds one to `key`'s count. */
  add(key: number): void {
    const i = this.#slot(key);
    if (this.#used[i] === 0) {
      this.#used[i] = 1, this.#keys[i] = key;
      if (++this.#size * 2 > this.#used.length) return this.#grow(key);
    }
    this.#counts[i]++;
  }

  /** Every key with its count. */
  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.#used.length; i++) {
      if (this.#used[i] !== 0) yield [this.#keys[i], this.#counts[i]];
    }
  }

  /** `key`'s slot, or the free slot where it goes. */
  #slot(key: number): number {
    const mask = this.#used.length - 1, keys = this.#keys, used = this.#used;
    let i = Math.imul(key | 0, 0x9e3779b1) >>> this.#shift;
    while (used[i] !== 0 && keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  /** Doubles the table, then counts `key` (just added to the old one with count 0). */
  #grow(key: number): void {
    const old = [...this.entries()];
    const n = this.#used.length * 2;
    this.#keys = new Float64Array(n), this.#counts = new Float64Array(n);
    this.#used = new Uint8Array(n);
    this.#shift--;
    for (const [k, count] of old) {
      const i = this.#slot(k);
      this.#used[i] = 1, this.#keys[i] = k, this.#counts[i] = count;
    }
    this.#counts[this.#slot(key)]++;
  }
}

/**
 * One sample: cumulative counters only, so that dropping samples keeps the
 * others right. The machine's counters count from the recording's start
 * (`exits` too, by kind): {@linkcode RunSampler.rebase} moves that start
 * across a jump.
 */
interface Sample {
  wallMs: number;
  guest: number;
  host: number;
  mtime: number;
  exits: ReadonlyMap<ExitKind, number> | null;
  timedMs: number;
  timedExits: number;
  seenExits: number;
  shadowPages: number;
  reclaims: number;
  fills: number;
  resets: number;
}

/**
 * Records a machine's run for a report. Created by `Machine.startReport()`
 * (and boot.ts for `--report` and `--web`); samples are taken every
 * `intervalMs` of wall time between {@linkcode resume} and {@linkcode pause},
 * which bracket each run, so an idle process is neither sampled nor kept
 * alive. A live viewer reads it with {@linkcode samplesSince} and
 * {@linkcode tables}.
 */
export class RunSampler {
  /** The trap counts of the `--stats` table (boot.ts prints them from here too). */
  readonly traps: TrapCounter;
  readonly #m: Machine;
  readonly #offs: (() => void)[] = [];
  readonly #samples: Sample[] = [];
  #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Running ms banked by pauses, and when the current run resumed (NaN: paused). */
  #runningMs = 0;
  #resumedAt = NaN;
  #startGuest: number;
  #startHost: number;
  #startExits: Map<ExitKind, number>;
  /** Each vCPU's counters when recording started. */
  #startVcpus: VcpuCounters[];
  #startFills = 0;
  #startResets = 0;
  #startReclaims = 0;
  /**
   * Exits by pc * KIND_SLOTS + the kind's index in #kinds; bare, traps by
   * pc * 2 * KIND_SLOTS + (interrupt ? KIND_SLOTS : 0) + cause.
   */
  readonly #pcs = new KeyCounter();
  readonly #kinds: ExitKind[] = [];
  #lastKind: ExitKind | null = null;
  #lastKindId = 0;
  /** CSR exits: key csr * 2 + write. */
  readonly #csrs = new KeyCounter();
  readonly #devices = new Map<string, [number, number]>();
  readonly #byMode = [0, 0, 0, 0];
  #inExit = false;
  #exitStart = 0;
  #seenExits = 0;
  #timedMs = 0;
  #timedExits = 0;
  /** The timed exits past the first TIME_FIRST: they stand for the untimed ones. */
  #lateMs = 0;
  #lateExits = 0;
  #peakShadow = 0;
  #removed = false;
  /** Counts the thinnings, for {@linkcode LiveSeries.epoch}. */
  #epoch = 0;
  /** The machine's configuration: its image fingerprints cost ~0.1 s for a Linux Image. */
  #config: Record<string, string> | null = null;

  /** Starts listening on `m`'s event bus and takes the first sample. */
  constructor(m: Machine, options: SamplerOptions = {}) {
    const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (typeof interval !== "number" || !(interval >= MIN_INTERVAL_MS)) {
      throw new RangeError(
        `report interval ${interval} ms: at least ${MIN_INTERVAL_MS} ms between samples`,
      );
    }
    this.#m = m;
    this.#intervalMs = interval;
    const hv = m.hypervisor;
    this.#startGuest = m.vm.guestInstructions;
    this.#startHost = m.vm.hostInstructions;
    this.#startExits = new Map(hv?.exitCounts ?? []);
    this.#startVcpus = hv ? vcpuCounters(hv) : [];
    if (hv) {
      const shadow = hv.shadowStats;
      this.#startFills = shadow.fills;
      this.#startResets = shadow.resets;
      this.#startReclaims = shadow.reclaims;
    }
    this.traps = new TrapCounter(m.events);
    const ev = m.events;
    if (hv) {
      this.#offs.push(
        ev.on("trap", () => this.#onTrap()),
        ev.on("exit", (e) => this.#onExit(e)),
        ev.on("csr", (e) => this.#onCsr(e)),
        ev.on("mmio", (e) => this.#onMmio(e)),
      );
    } else {
      this.#offs.push(ev.on("trap", (e) => this.#onBareTrap(e)));
    }
    this.sample();
  }

  #onTrap(): void {
    this.#inExit = true;
    const n = this.#seenExits;
    if (n < TIME_FIRST || (n & (TIME_EVERY - 1)) === 0) this.#exitStart = performance.now();
  }

  #onExit(e: ExitEvent): void {
    const n = this.#seenExits;
    if (n < TIME_FIRST || (n & (TIME_EVERY - 1)) === 0) {
      const ms = performance.now() - this.#exitStart;
      this.#timedMs += ms;
      this.#timedExits++;
      if (n >= TIME_FIRST) this.#lateMs += ms, this.#lateExits++;
    }
    this.#seenExits++;
    this.#inExit = false;
    this.#byMode[e.vpriv]++;
    if (e.kind !== this.#lastKind) {
      const id = this.#kinds.indexOf(e.kind);
      this.#lastKindId = id >= 0 ? id : this.#kinds.push(e.kind) - 1;
      this.#lastKind = e.kind;
    }
    this.#pcs.add(e.pc * KIND_SLOTS + this.#lastKindId);
  }

  #onCsr(e: CsrEvent): void {
    if (!this.#inExit) return; // a CSR the guest may use natively (fcsr): no exit
    const key = e.csr * 2 + (e.write ? 1 : 0);
    this.#csrs.add(key);
  }

  #onMmio(e: MmioEvent): void {
    if (!this.#inExit) return;
    let n = this.#devices.get(e.device);
    if (n === undefined) this.#devices.set(e.device, n = [0, 0]);
    n[e.write ? 1 : 0]++;
  }

  #onBareTrap(e: TrapEvent): void {
    const key = e.pc * KIND_SLOTS * 2 + (e.interrupt ? KIND_SLOTS : 0) + (e.cause & 31);
    this.#pcs.add(key);
  }

  /** Wall-clock ms of running recorded so far. */
  get runningMs(): number {
    const now = performance.now();
    return this.#runningMs + (Number.isNaN(this.#resumedAt) ? 0 : now - this.#resumedAt);
  }

  /** The machine runs from now on: sample every interval. */
  resume(): void {
    if (this.#timer !== null) return;
    this.#resumedAt = performance.now();
    this.#timer = setInterval(() => this.sample(), this.#intervalMs);
  }

  /** The machine stopped: take a sample and stop the timer. */
  pause(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#runningMs += performance.now() - this.#resumedAt;
    this.#resumedAt = NaN;
    this.sample();
  }

  /** Stops sampling and listening for good (the report stays available). */
  remove(): void {
    this.pause();
    this.#removed = true;
    for (const off of this.#offs.splice(0)) off();
    this.traps.remove();
  }

  /**
   * Runs `jump`, which makes the machine's counters jump (a snapshot load, a
   * reset to the start-up state), and moves the recording's start by the jump
   * of each counter, so that the counts go on from where they were: no
   * interval shows negative (or huge) MIPS or exits. The web console and
   * `Machine.loadSnapshot` call it; if `jump` throws, nothing moves.
   */
  rebase(jump: () => void): void {
    const hv = this.#m.hypervisor, vm = this.#m.vm;
    const guest = vm.guestInstructions, host = vm.hostInstructions;
    const exits = new Map(hv?.exitCounts ?? []);
    const vcpus = hv ? vcpuCounters(hv) : [];
    const shadow = hv?.shadowStats;
    jump();
    this.#startGuest += vm.guestInstructions - guest;
    this.#startHost += vm.hostInstructions - host;
    if (!hv) return;
    moveStart(this.#startExits, exits, hv.exitCounts);
    vcpuCounters(hv).forEach((now, i) => {
      const start = this.#startVcpus[i], before = vcpus[i];
      start.guest += now.guest - before.guest;
      start.fills += now.fills - before.fills;
      moveStart(start.exits, before.exits, now.exits);
    });
    const after = hv.shadowStats;
    this.#startFills += after.fills - shadow!.fills;
    this.#startResets += after.resets - shadow!.resets;
    this.#startReclaims += after.reclaims - shadow!.reclaims;
  }

  /** Records the counters now (nothing once removed: the recording is over). */
  sample(): void {
    if (this.#removed) return;
    const m = this.#m, hv = m.hypervisor;
    const last = this.#samples[this.#samples.length - 1];
    const wallMs = this.runningMs, guest = m.vm.guestInstructions - this.#startGuest;
    if (last !== undefined && last.wallMs === wallMs && last.guest === guest) return; // nothing ran
    const shadow = hv?.shadowStats;
    const pages = shadow?.used ?? 0;
    this.#peakShadow = Math.max(this.#peakShadow, pages);
    this.#samples.push({
      wallMs,
      guest,
      host: m.vm.hostInstructions - this.#startHost,
      mtime: m.vm.clock.now(),
      exits: hv ? exitsSince(hv.exitCounts, this.#startExits) : null,
      timedMs: this.#timedMs,
      timedExits: this.#timedExits,
      seenExits: this.#seenExits,
      shadowPages: pages,
      reclaims: shadow ? shadow.reclaims - this.#startReclaims : 0,
      fills: shadow ? shadow.fills - this.#startFills : 0,
      resets: shadow ? shadow.resets - this.#startResets : 0,
    });
    if (this.#samples.length > MAX_SAMPLES) this.#thin();
  }

  /** Keeps the first sample and every other one after it, and samples half as often. */
  #thin(): void {
    const s = this.#samples;
    const kept = s.filter((_, i) => i === 0 || i % 2 === 0 || i === s.length - 1);
    s.splice(0, s.length, ...kept);
    this.#intervalMs *= 2;
    this.#epoch++;
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = setInterval(() => this.sample(), this.#intervalMs);
    }
  }

  /**
   * The report of the recording so far (a sample is taken first). `stats`
   * replaces the `--stats` lines the sampler would make (the CLI passes the
   * ones it printed); `config` adds to the machine's configuration.
   */
  report(extra: { stats?: string[]; config?: Record<string, string> } = {}): ReportData {
    this.sample();
    const m = this.#m, hv = m.hypervisor, vm = m.vm;
    const s = this.#samples, last = s[s.length - 1];
    const wallMs = last.wallMs;
    const exitsByKind = hv ? this.#exitDelta(last.exits!, NO_EXITS) : {};
    const totalExits = hv ? sumValues(exitsByKind) : null;
    const meanExitMs = this.#meanExitMs();
    const notes: string[] = [];
    if (!hv) {
      notes.push(
        "bare run: the guest runs directly on the hart, so nothing exits to a hypervisor: " +
          "there are no exit, CSR, device, shadow page-table or privilege figures; the pcs " +
          "listed are those of the guest's own traps",
      );
    } else if (totalExits === 0) notes.push("no hypervisor exits were recorded");
    if (s.length < 3) notes.push(`only ${s.length} samples: the run was short`);
    const software = (hv ? hv.config : vm.config) as {
      bios?: { name: string };
      kernel?: { name: string };
    };
    this.#config ??= vm.snapshotConfig();
    const config: Record<string, string> = {
      ...this.#config,
      clock: vm.clock.mode,
      translator: vm.hart.translator ? "on" : "off",
      ...(software.bios ? { "bios file": software.bios.name } : {}),
      ...(software.kernel ? { "kernel file": software.kernel.name } : {}),
      ...extra.config,
    };
    const guestInstructions = last.guest;
    return {
      version: REPORT_VERSION,
      generator: "rvisor",
      created: new Date().toISOString(),
      mode: hv ? "hypervisor" : "bare",
      config,
      summary: {
        wallMs,
        guestInstructions,
        hostInstructions: last.host,
        mips: wallMs > 0 ? guestInstructions / wallMs / 1000 : 0,
        exits: totalExits,
        exitsByKind,
        traps: this.traps.total,
        samples: s.length,
        intervalMs: this.#intervalMs,
      },
      series: this.#series(meanExitMs, 0),
      ...this.tables(),
      shadow: hv
        ? {
          capacity: hv.shadowStats.capacity,
          inUse: last.shadowPages,
          peakInUse: this.#peakShadow,
          fills: last.fills,
          flushes: last.resets - last.reclaims,
          reclaims: last.reclaims,
        }
        : null,
      vcpus: hv ? this.#vcpus(hv) : null,
      privilege: hv ? this.#privilege(wallMs, meanExitMs) : null,
      stats: extra.stats ?? statsLines(vm, hv, this.traps, wallMs),
      notes,
    };
  }

  /**
   * The samples from index `since` on, for a viewer that has the ones before
   * it from a call that returned `epoch`; from 0 if the recording was thinned
   * since (or `since` is past its end). Takes no sample and no fingerprint:
   * cheap enough to poll while the guest runs.
   */
  samplesSince(since: number, epoch: number = this.#epoch): LiveSeries {
    const n = this.#samples.length;
    const start = epoch === this.#epoch && since >= 0 && since <= n ? since : 0;
    return {
      epoch: this.#epoch,
      start,
      samples: n,
      intervalMs: this.#intervalMs,
      series: this.#series(this.#meanExitMs(), start),
    };
  }

  /** The top pcs, CSR and device tables of the recording so far (symbols looked up now). */
  tables(): LiveTables {
    const hv = this.#m.hypervisor;
    return {
      topPcs: this.#topPcs(),
      csrs: hv ? this.#csrTable() : null,
      devices: hv
        ? [...this.#devices].map(([name, [reads, writes]]) => ({ name, reads, writes }))
          .sort(byTotal)
        : null,
    };
  }

  /** What an untimed exit is taken to cost: the mean of the timed ones among them. */
  #meanExitMs(): number {
    return this.#lateExits > 0
      ? this.#lateMs / this.#lateExits
      : this.#timedExits > 0
      ? this.#timedMs / this.#timedExits
      : 0;
  }

  #exitDelta(
    now: ReadonlyMap<ExitKind, number>,
    before: ReadonlyMap<ExitKind, number>,
  ): Record<string, number> {
    const out: [string, number][] = [];
    for (const [kind, n] of now) {
      const d = n - (before.get(kind) ?? 0);
      if (d > 0) out.push([kind, d]);
    }
    return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
  }

  /** The series of the samples from index `from` on. */
  #series(meanExitMs: number, from: number): ReportSeries {
    const all = this.#samples, hv = this.#m.hypervisor;
    // A column from `from` on; f gets each sample's index in the recording (intervals need the one before).
    const col = (f: (x: Sample, i: number) => number) => {
      const out: number[] = [];
      for (let i = from; i < all.length; i++) out.push(f(all[i], i));
      return out;
    };
    const series: ReportSeries = {
      wallMs: col((x) => x.wallMs),
      guestInstructions: col((x) => x.guest),
      mtime: col((x) => x.mtime),
      mips: col((x, i) => {
        const dt = i === 0 ? 0 : x.wallMs - all[i - 1].wallMs;
        return dt > 0 ? (x.guest - all[i - 1].guest) / dt / 1000 : 0;
      }),
      exits: {},
      hypervisorShare: [],
      shadowPages: hv ? col((x) => x.shadowPages) : [],
      reclaims: hv ? col((x) => x.reclaims) : [],
    };
    if (!hv) return series;
    const kinds = Object.keys(this.#exitDelta(all[all.length - 1].exits!, NO_EXITS));
    for (const kind of kinds as ExitKind[]) {
      series.exits[kind] = col((x, i) =>
        (x.exits!.get(kind) ?? 0) - ((i === 0 ? NO_EXITS : all[i - 1].exits!).get(kind) ?? 0)
      );
    }
    series.hypervisorShare = col((x, i) => {
      if (i === 0) return 0;
      const p = all[i - 1], dt = x.wallMs - p.wallMs;
      // Untimed exits at the whole run's mean: an interval's few timed exits can hold one
      // slow outlier (a GC pause), which would otherwise stand for 63 others.
      const untimed = x.seenExits - p.seenExits - (x.timedExits - p.timedExits);
      const ms = x.timedMs - p.timedMs + untimed * meanExitMs;
      return dt > 0 ? Math.min(1, ms / dt) : 0;
    });
    return series;
  }

  #topPcs(): ReportPc[] {
    const bare = this.#m.hypervisor === null;
    const slots = bare ? KIND_SLOTS * 2 : KIND_SLOTS;
    const byPc = new Map<number, { cause: string; count: number }[]>();
    for (const [key, count] of this.#pcs.entries()) {
      const pc = Math.floor(key / slots), id = key - pc * slots;
      const cause = bare ? causeName(id & (KIND_SLOTS - 1), id >= KIND_SLOTS) : this.#kinds[id];
      let causes = byPc.get(pc);
      if (causes === undefined) byPc.set(pc, causes = []);
      causes.push({ cause, count });
    }
    return [...byPc].map(([pc, causes]) => ({
      pc: hex(pc),
      symbol: this.#m.symbolize(pc),
      count: sumValues(causes.map((c) => c.count)),
      causes: causes.sort((a, b) => b.count - a.count),
    })).sort((a, b) => b.count - a.count).slice(0, TOP_PCS);
  }

  #csrTable(): ReportAccesses[] {
    const rows = new Map<number, ReportAccesses>();
    for (const [key, n] of this.#csrs.entries()) {
      const csr = key >> 1;
      let row = rows.get(csr);
      if (row === undefined) {
        rows.set(csr, row = { name: CSR_NAMES.get(csr) ?? hex(csr), reads: 0, writes: 0 });
      }
      if (key & 1) row.writes += n;
      else row.reads += n;
    }
    return [...rows.values()].sort(byTotal);
  }

  /** Each vCPU's figures since recording started. */
  #vcpus(hv: Hypervisor): ReportVcpu[] {
    return vcpuCounters(hv).map((now, i) => {
      const start = this.#startVcpus[i];
      const exitsByKind = this.#exitDelta(now.exits, start.exits);
      return {
        vcpu: i,
        guestInstructions: now.guest - start.guest,
        exits: sumValues(exitsByKind),
        exitsByKind,
        shadowFills: now.fills - start.fills,
      };
    });
  }

  #privilege(wallMs: number, meanExitMs: number): ReportPrivilege {
    const untimed = this.#seenExits - this.#timedExits;
    const hypervisorMs = Math.min(wallMs, this.#timedMs + untimed * meanExitMs);
    const [U, S, , M] = this.#byMode;
    return {
      hypervisorMs,
      guestMs: wallMs - hypervisorMs,
      hypervisorShare: wallMs > 0 ? hypervisorMs / wallMs : 0,
      timedExits: this.#timedExits,
      exitsByGuestMode: { M, S, U },
    };
  }
}

/** A vCPU's cumulative counters. */
interface VcpuCounters {
  guest: number;
  exits: Map<ExitKind, number>;
  fills: number;
}

const NO_EXITS: ReadonlyMap<ExitKind, number> = new Map();

/** Exits by kind from `start` to `now`. */
function exitsSince(
  now: ReadonlyMap<ExitKind, number>,
  start: ReadonlyMap<ExitKind, number>,
): Map<ExitKind, number> {
  const out = new Map<ExitKind, number>();
  for (const [kind, n] of now) out.set(kind, n - (start.get(kind) ?? 0));
  return out;
}

/** Moves `start` by each kind's jump from `before` to `after`. */
function moveStart(
  start: Map<ExitKind, number>,
  before: ReadonlyMap<ExitKind, number>,
  after: ReadonlyMap<ExitKind, number>,
): void {
  for (const kind of new Set([...before.keys(), ...after.keys()])) {
    start.set(kind, (start.get(kind) ?? 0) + (after.get(kind) ?? 0) - (before.get(kind) ?? 0));
  }
}

/** Each of `hv`'s vCPUs' counters now. */
function vcpuCounters(hv: Hypervisor): VcpuCounters[] {
  return hv.vcpus.map((v) => ({
    guest: v.hart.retired - v.retiredOffset + v.guest.vcpu.emulated,
    exits: new Map(v.vcpuExitCounts),
    fills: v.memory.shadow.fills,
  }));
}

function sumValues(v: Record<string, number> | number[]): number {
  let n = 0;
  for (const x of Object.values(v)) n += x;
  return n;
}

function byTotal(a: ReportAccesses, b: ReportAccesses): number {
  return b.reads + b.writes - (a.reads + a.writes);
}
