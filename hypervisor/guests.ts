/**
 * Several guests side by side under the hypervisor, time-sliced on the host
 * harts: each guest has its own RAM window, boot ROM page, shadow page pool,
 * devices (UART, virtio slots, RTC, CLINT, PLIC, syscon) and vCPUs (a
 * {@linkcode Hypervisor} each, with its own timer); the
 * {@linkcode GuestSwitcher} saves the running guest's registers on the host
 * harts, restores the next one's and hands it the hosts' traps, PMP, satp
 * and timers.
 *
 * vCPUs: guest i's vCPU j runs on host hart j, as with one guest, so the host
 * has as many harts as the guest with the most vCPUs, and a guest's vCPUs are
 * switched together (gang scheduling: its vCPUs spinning on each other's locks
 * always run in the same slice). The harts a guest with fewer vCPUs does not
 * use are parked while it runs: no interrupt enabled, in wfi, their timers
 * disarmed, so the machine's scheduler passes them by.
 *
 * Host RAM: [one ROM page per guest][the guests' shadow pools, in equal
 * shares][the RAM windows, each at its own offset, 2 MiB aligned]. The host
 * PMP lets host U-mode reach only the running guest's ROM page, pool (read)
 * and window, so one guest's wild access faults to the hypervisor instead of
 * reaching another's memory or page tables; guest DMA goes through the
 * guest's own bus, which is a view of its window only.
 *
 * Slices end on the host timer: a slice lasts {@linkcode GuestsConfig.slice}
 * mtime ticks (in virtual time: instructions, so a `clock: "virtual"` run
 * switches at the same instructions every time), a guest idle in wfi gives
 * the hart up early, and a guest that halts leaves the rotation. The policy
 * that picks the next guest is a function a script can replace.
 *
 * @module
 */

import { RAM_BASE } from "../core/bus.ts";
import type { ClockMode } from "../core/clock.ts";
import type { HaltReason } from "../core/events.ts";
import type { SnapshotConfig } from "../core/snapshot.ts";
import { MachineConfigError, MAX_HARTS } from "../devices/board.ts";
import { ClintReg } from "../devices/clint.ts";
import { Csr } from "../core/csr.ts";
import { Irq } from "../core/irq.ts";
import { type Halt, type MachineSoftware, VirtMachine } from "../devices/virt.ts";
import {
  DEFAULT_GUEST_OFFSET,
  Hypervisor,
  type HypervisorConfig,
  type HypervisorState,
} from "./hypervisor.ts";

const MiB = 1024 * 1024;
/** Default slice: 5 ms of mtime at 10 MHz. */
export const DEFAULT_SLICE = 50_000;
/** Console text kept per guest for `until` matching. */
const CONSOLE_TAIL = 8192;

/** One guest of several: the per-guest fields of the single-guest configuration. */
export type GuestConfig = Omit<HypervisorConfig, "clock" | "isa" | "jit" | "jitThreshold">;

/** Why the scheduler is choosing. */
export type ScheduleReason = "slice" | "idle" | "halt";

/** A guest as the scheduling policy sees it. */
export interface GuestStatus {
  /** Index in the configuration. */
  index: number;
  /** The guest halted (poweroff, failure, panic): it cannot be chosen. */
  ended: boolean;
  /** Idle in wfi with no interrupt pending: choosing it wastes the slice. */
  idle: boolean;
  /** Guest instructions it retired so far. */
  instructions: number;
}

/** What a scheduling policy is told when a slice ends. */
export interface ScheduleInfo {
  /** The guest that ran. */
  current: number;
  /** The slice ran out, the guest went idle, or it halted. */
  reason: ScheduleReason;
  /** Every guest, by index. */
  guests: readonly GuestStatus[];
}

/** Picks the index of the guest to run next (a guest that has not ended). */
export type SchedulePolicy = (info: ScheduleInfo) => number;

/** Configuration of a machine with several guests. */
export interface GuestsConfig {
  /** The guests, at least one. */
  guests: readonly GuestConfig[];
  /** How mtime advances (default `host`). */
  clock?: ClockMode;
  /** The host hart's (and every guest's) ISA. */
  isa?: string;
  /** Compile hot code: wasm where it can, else JavaScript (or `"js"`, `"wasm"`; false: off). */
  jit?: boolean | "js" | "wasm";
  /** Interpreter visits of an address before a block is compiled there. */
  jitThreshold?: number;
  /** Receives the console of the guest in focus ({@linkcode GuestSwitcher.focus}). */
  console?: (byte: number) => void;
  /** Slice length in mtime ticks (10 MHz; default {@linkcode DEFAULT_SLICE}). */
  slice?: number;
  /** Chooses the next guest (default {@linkcode roundRobin}). */
  schedule?: SchedulePolicy;
  /** End the run when `all` guests have halted (default) or at the `first` halt. */
  end?: "all" | "first";
}

/** The default policy: the next guest in index order that is not idle, else the next that has not ended. */
export function roundRobin(info: ScheduleInfo): number {
  const n = info.guests.length;
  for (const wantBusy of [true, false]) {
    for (let k = 1; k <= n; k++) {
      const g = info.guests[(info.current + k) % n];
      if (!g.ended && !(wantBusy && g.idle)) return g.index;
    }
  }
  return info.current;
}

/** Where {@linkcode placeGuests} put a guest in host RAM. */
export interface GuestPlacement {
  /** Offset of its RAM window from host RAM base. */
  offset: number;
  /** Its RAM size. */
  memory: number;
  /** Its boot ROM page (host physical). */
  romPage: number;
  /** Its shadow pool [poolBase, poolEnd) (host physical). */
  poolBase: number;
  /** End of the pool. */
  poolEnd: number;
}

/** A guest's share of the host hart while another runs: its registers. */
interface HartContext {
  xl: number[];
  xh: number[];
  f: number[];
  pc: number;
  fcsr: number;
  waiting: boolean;
}

/** Saved state of a {@linkcode GuestSwitcher}. */
export interface GuestSwitcherState {
  /** The running guest. */
  current: number;
  /** The guest in focus. */
  focus: number;
  /** mtime at which the slice ends. */
  sliceEnd: number;
  /** Each guest's hypervisor. */
  guests: HypervisorState[];
  /** Saved registers of each guest not running, by vCPU (null: running, or not started). */
  contexts: (HartContext[] | null)[];
  /** Whether each guest has started. */
  entered: boolean[];
  /** Host harts' retired counts when each guest last stopped running, by vCPU. */
  outMarks: number[][];
  /** How each guest ended. */
  ended: (Halt | null)[];
  /** Each guest's console tail and byte count. */
  consoles: [string, number][];
  /** Slices each guest was given. */
  slices: number[];
}

function zeroContext(pc = 0): HartContext {
  return {
    xl: new Array(32).fill(0),
    xh: new Array(32).fill(0),
    f: new Array(64).fill(0),
    pc,
    fcsr: 0,
    waiting: false,
  };
}

/** Time-slices several guests' hypervisors on the host harts. */
export class GuestSwitcher implements MachineSoftware {
  /** Each guest's hypervisor, by index. */
  readonly hypervisors: readonly Hypervisor[];
  /** The policy that picks the next guest; a script may replace it. */
  policy: SchedulePolicy;
  /** Slice length in mtime ticks. */
  readonly slice: number;
  /** How each guest ended (null: still running). */
  readonly ended: (Halt | null)[];
  /** Slices each guest was given. */
  readonly slices: number[];
  #current = 0;
  #focus = 0;
  #sliceEnd = 0;
  readonly #contexts: (HartContext[] | null)[];
  readonly #entered: boolean[];
  readonly #outMarks: number[][];
  readonly #tails: string[];
  readonly #totals: number[];
  readonly #watchers: ((i: number) => void)[] = [];

  constructor(
    readonly machine: VirtMachine,
    configs: readonly GuestConfig[],
    placed: readonly GuestPlacement[],
    options: { slice?: number; schedule?: SchedulePolicy; end?: "all" | "first" },
    consoles: ((byte: number) => void)[],
  ) {
    const n = configs.length;
    this.slice = options.slice ?? DEFAULT_SLICE;
    this.policy = options.schedule ?? roundRobin;
    this.ended = new Array(n).fill(null);
    this.slices = new Array(n).fill(0);
    this.#contexts = new Array(n).fill(null);
    this.#entered = new Array(n).fill(false);
    this.#outMarks = configs.map((c) => new Array(c.smp ?? 1).fill(0));
    this.#tails = new Array(n).fill("");
    this.#totals = new Array(n).fill(0);
    const end = options.end ?? "all";
    this.hypervisors = configs.map((config, i) => {
      const p = placed[i];
      return new Hypervisor(machine, { ...config, memory: p.memory }, p.offset, {
        romPage: p.romPage,
        poolBase: p.poolBase,
        poolEnd: p.poolEnd,
        windowBase: RAM_BASE + p.offset,
        console: (b) => {
          consoles[i](b);
          this.#record(i, b);
          if (i === this.#focus) machine.emitConsole(b);
        },
        halt: (reason, code, message) => this.#halt(i, reason, code, message, end),
        label: `guest ${i}`,
      });
    });
    machine.attach(this, this.hypervisors[0].guest.devices.uart);
    this.#start(0);
  }

  /** The guest running on the host harts now. */
  get current(): number {
    return this.#current;
  }

  /** The running guest's hypervisor. */
  get active(): Hypervisor {
    return this.hypervisors[this.#current];
  }

  /** The guest whose console the machine's console shows and types into. */
  get focused(): number {
    return this.#focus;
  }

  /** Connects the machine's console (output, input, `until`) to guest `index`. */
  focus(index: number): void {
    this.#check(index);
    this.#focus = index;
    this.machine.uart = this.hypervisors[index].guest.devices.uart;
  }

  /** The last few KiB of guest `index`'s console output. */
  consoleText(index: number): string {
    return this.#tails[this.#check(index)];
  }

  /** Console bytes guest `index` has output so far. */
  consoleBytes(index: number): number {
    return this.#totals[this.#check(index)];
  }

  /** Calls `fn(index)` after every console byte of every guest; returns the unsubscribe. */
  onConsole(fn: (index: number) => void): () => void {
    this.#watchers.push(fn);
    return () => {
      const k = this.#watchers.indexOf(fn);
      if (k >= 0) this.#watchers.splice(k, 1);
    };
  }

  /** Guest instructions guest `index` retired (natively and by emulation), all its vCPUs'. */
  instructions(index: number): number {
    const hv = this.hypervisors[this.#check(index)];
    if (!this.#entered[index]) return 0;
    let n = hv.emulated;
    for (const v of hv.vcpus) n += this.vcpuRetired(index, v.vcpuIndex);
    return n;
  }

  /** Instructions vCPU `vcpu` of guest `index` retired natively on its host hart. */
  vcpuRetired(index: number, vcpu: number): number {
    const v = this.hypervisors[this.#check(index)].vcpus[vcpu];
    if (!this.#entered[index] || v === undefined) return 0;
    const out = index === this.#current ? v.hart.retired : this.#outMarks[index][vcpu];
    return out - v.retiredOffset;
  }

  /** Guest instructions the hypervisors completed by emulation, all guests together. */
  get emulated(): number {
    let n = 0;
    for (const hv of this.hypervisors) n += hv.emulated;
    return n;
  }

  #check(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.hypervisors.length) {
      throw new RangeError(`guest ${index}: no such guest (0..${this.hypervisors.length - 1})`);
    }
    return index;
  }

  #record(i: number, b: number): void {
    let tail = this.#tails[i] + String.fromCharCode(b);
    if (tail.length > CONSOLE_TAIL) tail = tail.slice(-CONSOLE_TAIL / 2);
    this.#tails[i] = tail;
    this.#totals[i]++;
    for (const fn of this.#watchers) fn(i);
  }

  #halt(
    i: number,
    reason: HaltReason,
    code: number,
    message: string | undefined,
    end: "all" | "first",
  ): void {
    if (this.ended[i]) return;
    const line = message ??
      (reason === "fail" ? `guest reported failure ${code}` : `guest ${reason}`);
    this.ended[i] = { reason, code, message: line };
    if (i === this.#current) { for (const v of this.hypervisors[i].vcpus) v.hart.requestStop(); }
    if (end === "first") return this.machine.halt(reason, code, `guest ${i}: ${line}`);
    if (this.ended.some((e) => e === null)) return;
    // All ended: the machine's halt is the first failing guest's, else the last one's.
    const failed = this.ended.findIndex((e) => e!.reason === "error" || e!.reason === "fail");
    const k = failed >= 0 ? failed : i;
    const h = this.ended[k]!;
    this.machine.halt(
      h.reason,
      h.code,
      this.ended.map((e, j) => `guest ${j}: ${e!.message}`).join("; "),
    );
  }

  /**
   * True if guest `i` can use the harts: not ended, and some vCPU of it
   * neither stopped nor idle in wfi without a pending interrupt. Under the
   * built-in firmware a passed timer deadline (MTIP) counts: it becomes the
   * kernel's STIP only once the guest runs ({@linkcode Hypervisor.activate}),
   * and a kernel idle until its next tick must be given the harts for it.
   */
  #busy(i: number): boolean {
    if (this.ended[i]) return false;
    const hv = this.hypervisors[i];
    let updated = false;
    for (const v of hv.vcpus) {
      if (v.stopped) continue;
      const waiting = i === this.#current
        ? v.hart.waiting
        : this.#contexts[i]?.[v.vcpuIndex].waiting ?? false;
      if (!waiting) return true;
      if (!updated) hv.guest.devices.clint.update(), updated = true;
      const csr = v.guest.vcpu.csr;
      if (csr.interruptPending || (v.firmware && (csr.mipHw & (1 << Irq.MTIP)) !== 0)) return true;
    }
    return false;
  }

  /** Between instruction batches: the running guest's turn, then the end of its slice. */
  poll(): void {
    const i = this.#current;
    if (!this.ended[i]) this.hypervisors[i].poll();
    if (this.machine.halted) return;
    const reason: ScheduleReason | null = this.ended[i]
      ? "halt"
      : this.machine.clock.now() >= this.#sliceEnd
      ? "slice"
      : this.hypervisors[i].vcpus.every((v) => v.hart.waiting) && !this.#busy(i) &&
          this.hypervisors.some((_, j) => j !== i && this.#busy(j))
      ? "idle"
      : null;
    if (reason !== null) this.#schedule(reason);
  }

  #schedule(reason: ScheduleReason): void {
    const guests = this.hypervisors.map((_, index) => ({
      index,
      ended: this.ended[index] !== null,
      idle: !this.ended[index] && !this.#busy(index),
      instructions: this.instructions(index),
    }));
    const next = this.policy({ current: this.#current, reason, guests });
    if (!Number.isInteger(next) || next < 0 || next >= guests.length || guests[next].ended) {
      throw new Error(
        `schedule policy chose ${next}: not a guest that can run ` +
          `(${guests.filter((g) => !g.ended).map((g) => g.index).join(", ")})`,
      );
    }
    this.#switchTo(next);
  }

  #switchTo(next: number): void {
    const cur = this.#current;
    if (next !== cur) {
      const harts = this.machine.harts;
      this.#contexts[cur] = this.hypervisors[cur].vcpus.map((v, j) => {
        v.suspend();
        const hart = harts[j];
        const c = {
          xl: [...hart.xl],
          xh: [...hart.xh],
          f: [...hart.fpu.fw],
          pc: hart.pc,
          fcsr: hart.csr.fcsr,
          waiting: hart.waiting,
        };
        this.#outMarks[cur][j] = hart.retired;
        v.savedRegisters = c;
        return c;
      });
      this.#current = next;
      if (!this.#entered[next]) return this.#start(next);
      const contexts = this.#contexts[next]!;
      this.#contexts[next] = null;
      for (const v of this.hypervisors[next].vcpus) {
        this.#load(v.vcpuIndex, contexts[v.vcpuIndex]);
        v.retiredOffset += v.hart.retired - this.#outMarks[next][v.vcpuIndex];
        v.activate();
      }
      this.#park();
    }
    this.#newSlice();
  }

  #load(j: number, c: HartContext): void {
    const hart = this.machine.harts[j];
    this.hypervisors[this.#current].vcpus[j].savedRegisters = null;
    hart.xl.set(c.xl);
    hart.xh.set(c.xh);
    hart.fpu.fw.set(c.f);
    hart.csr.fcsr = c.fcsr;
    hart.pc = c.pc;
    hart.waiting = c.waiting;
  }

  /**
   * The host harts beyond the running guest's vCPUs sleep: no interrupt
   * enabled and in wfi (the machine's scheduler passes them by), their
   * timers disarmed (so they move no idle skip of virtual time), their
   * registers zeroed (nothing of the guest that ran there stays on them).
   */
  #park(): void {
    const clint = this.machine.clint;
    for (const hart of this.machine.harts.slice(this.hypervisors[this.#current].vcpus.length)) {
      hart.csr.write(Csr.mie, 0, 0);
      hart.waiting = true;
      hart.xl.fill(0), hart.xh.fill(0), hart.fpu.fw.fill(0);
      const mtimecmp = ClintReg.MTIMECMP_LO + hart.hartId * ClintReg.MTIMECMP_STRIDE;
      clint.write(mtimecmp + 4, 4, 0xffffffff);
      clint.write(mtimecmp, 4, 0xffffffff);
    }
  }

  /** Guest `i`'s first slice: zeroed registers, its counts starting now, its reset vector. */
  #start(i: number): void {
    this.#current = i;
    this.#entered[i] = true;
    for (const v of this.hypervisors[i].vcpus) {
      this.#load(v.vcpuIndex, zeroContext());
      v.retiredOffset = v.hart.retired;
      v.enter();
    }
    this.#park();
    this.#newSlice();
  }

  #newSlice(): void {
    this.#sliceEnd = this.machine.clock.now() + this.slice;
    this.slices[this.#current]++;
  }

  /**
   * The end of the slice (when another guest could take over) and the
   * timers of guests idle meanwhile: the machine's virtual time stops there,
   * so a slice ends at the same instruction in every run. A deadline already
   * passed is left out: its guest is busy (and poll switched to it) or has
   * that interrupt masked, and skipping "to" it would leave the idle machine
   * where it is, never reaching the running guest's own next deadline. The
   * running guest's RTC alarm counts too (its timer is the host CLINT's).
   */
  nextDeadline(): number {
    const now = this.machine.clock.now();
    const current = this.#current;
    let next = this.ended[current] ? Infinity : this.hypervisors[current].nextDeadline();
    this.hypervisors.forEach((hv, j) => {
      if (j === this.#current || this.ended[j]) return;
      const timer = hv.guest.devices.clint.nextDeadline();
      if (this.#sliceEnd > now) next = Math.min(next, this.#sliceEnd);
      if (timer > now) next = Math.min(next, timer);
    });
    return next;
  }

  /** Snapshot settings: every guest's, under `guest N: `. */
  snapshotConfig(): SnapshotConfig {
    const config: SnapshotConfig = { guests: String(this.hypervisors.length) };
    this.hypervisors.forEach((hv, i) => {
      for (const [key, value] of Object.entries(hv.snapshotConfig())) {
        if (key !== "hypervisor") config[`guest ${i}: ${key}`] = value;
      }
    });
    return config;
  }

  /** Every guest's hypervisor, the registers of those not running, and the schedule. */
  saveState(): GuestSwitcherState {
    return {
      current: this.#current,
      focus: this.#focus,
      sliceEnd: this.#sliceEnd,
      guests: this.hypervisors.map((hv) => hv.saveState()),
      contexts: this.#contexts.map((c) => c && structuredClone(c)),
      entered: [...this.#entered],
      outMarks: this.#outMarks.map((m) => [...m]),
      ended: this.ended.map((h) => h && { ...h }),
      consoles: this.#tails.map((t, i) => [t, this.#totals[i]]),
      slices: [...this.slices],
    };
  }

  /** Restores {@linkcode saveState}'s state (the machine restored the hart: the running guest's). */
  loadState(saved: unknown): void {
    const s = saved as GuestSwitcherState;
    if (!Array.isArray(s?.guests) || s.guests.length !== this.hypervisors.length) {
      throw new Error("damaged state section: guest count differs");
    }
    this.hypervisors.forEach((hv, i) => hv.loadState(s.guests[i]));
    this.#current = s.current;
    this.#sliceEnd = s.sliceEnd;
    s.contexts.forEach((c, i) => {
      this.#contexts[i] = c;
      for (const v of this.hypervisors[i].vcpus) v.savedRegisters = c?.[v.vcpuIndex] ?? null;
    });
    s.entered.forEach((e, i) => this.#entered[i] = e);
    s.outMarks.forEach((m, i) => this.#outMarks[i] = [...m]);
    s.ended.forEach((h, i) => this.ended[i] = h);
    s.consoles.forEach(([t, n], i) => (this.#tails[i] = t, this.#totals[i] = n));
    s.slices.forEach((n, i) => this.slices[i] = n);
    for (const v of this.hypervisors[this.#current].vcpus) v.takeTraps();
    this.focus(s.focus);
  }
}

/** Where each guest goes in host RAM, checked; and the host RAM size. */
export function placeGuests(
  configs: readonly GuestConfig[],
): { placed: GuestPlacement[]; ram: number } {
  const n = configs.length;
  if (n === 0) throw new MachineConfigError("guests: at least one guest is needed");
  const windows: { offset: number; end: number }[] = [];
  for (let i = 0; i < n; i++) {
    const c = configs[i];
    const memory = c.memory ?? 128 * MiB;
    if (!Number.isInteger(memory) || memory < MiB || memory % 4096 !== 0) {
      throw new MachineConfigError(
        `guest ${i}: memory size ${memory} must be a multiple of 4 KiB, at least 1 MiB`,
      );
    }
    const prev = windows[i - 1];
    const offset = c.guestOffset ??
      (prev ? Math.ceil(prev.end / (2 * MiB)) * 2 * MiB : DEFAULT_GUEST_OFFSET);
    if (!Number.isInteger(offset) || offset < 2 * MiB || offset % (2 * MiB) !== 0) {
      throw new MachineConfigError(
        `guest ${i}: guest offset 0x${offset.toString(16)} must be a multiple of 2 MiB, ` +
          `at least 2 MiB`,
      );
    }
    const w = { offset, end: offset + memory };
    windows.forEach((o, j) => {
      if (w.offset < o.end && o.offset < w.end) {
        throw new MachineConfigError(
          `guest ${i}: RAM window 0x${w.offset.toString(16)}..0x${w.end.toString(16)} ` +
            `overlaps guest ${j}'s 0x${o.offset.toString(16)}..0x${o.end.toString(16)} ` +
            `(offsets from host RAM base)`,
        );
      }
    });
    if (c.smp !== undefined && !(Number.isInteger(c.smp) && c.smp >= 1 && c.smp <= MAX_HARTS)) {
      throw new MachineConfigError(
        `guest ${i}: smp ${c.smp}: the number of vCPUs must be 1 to ${MAX_HARTS}`,
      );
    }
    if (c.shadowPages !== undefined && !(c.shadowPages >= 4)) {
      throw new MachineConfigError(
        `guest ${i}: shadow pool of ${c.shadowPages} pages: at least 4 are needed`,
      );
    }
    windows.push(w);
  }
  // The pools share the pages between the ROM pages and the lowest window.
  const poolStart = n * 4096;
  const lowest = Math.min(...windows.map((w) => w.offset));
  const share = Math.floor((lowest - poolStart) / n / 4096) * 4096;
  if (share < 4 * 4096) {
    const i = windows.findIndex((w) => w.offset === lowest);
    throw new MachineConfigError(
      `guest ${i}: RAM window at offset 0x${lowest.toString(16)} leaves under 4 shadow pages ` +
        `per guest below it; raise its guest offset`,
    );
  }
  const placed = windows.map((w, i) => ({
    offset: w.offset,
    memory: w.end - w.offset,
    romPage: RAM_BASE + i * 4096,
    poolBase: RAM_BASE + poolStart + i * share,
    poolEnd: RAM_BASE + poolStart + (i + 1) * share,
  }));
  return { placed, ram: Math.max(...windows.map((w) => w.end)) };
}

/**
 * A `virt` machine whose harts time-slice `config`'s guests under the
 * hypervisor: as many harts as the guest with the most vCPUs.
 */
export function createGuestsMachine(
  config: GuestsConfig,
): VirtMachine & { hypervisor: Hypervisor; guests: GuestSwitcher } {
  const { placed, ram } = placeGuests(config.guests);
  config.guests.forEach((g, i) => {
    if (g.firmware === "builtin" && (g.bios || !g.kernel)) {
      throw new MachineConfigError(
        g.bios
          ? `guest ${i}: builtin firmware: no bios can be given (${g.bios.name})`
          : `guest ${i}: builtin firmware: a kernel is needed`,
      );
    }
  });
  if (config.slice !== undefined && !(Number.isInteger(config.slice) && config.slice > 0)) {
    throw new MachineConfigError(`slice ${config.slice}: a positive number of mtime ticks`);
  }
  const machine = new VirtMachine({
    smp: Math.max(...config.guests.map((g) => g.smp ?? 1)),
    isa: config.isa,
    jit: config.jit,
    jitThreshold: config.jitThreshold,
    memory: ram,
    clock: config.clock,
    console: config.console,
  });
  const consoles = config.guests.map((g) => g.console ?? (() => {}));
  const switcher = new GuestSwitcher(machine, config.guests, placed, config, consoles);
  Object.defineProperty(machine, "hypervisor", { get: () => switcher.active });
  return Object.assign(machine, { guests: switcher }) as VirtMachine & {
    hypervisor: Hypervisor;
    guests: GuestSwitcher;
  };
}
