/**
 * The machine as scripts see it: one facade over a bare `virt` machine or one
 * whose guest runs under the hypervisor, in the style of Unicorn's and QEMU
 * plugins' hook APIs.
 *
 * - Run control: run until a console string, a halt, N instructions or a
 *   timeout; pause (from a hook or another task) and resume; step one guest
 *   instruction.
 * - State always shows the guest's view: registers, pc, CSRs and privilege
 *   (under the hypervisor: the vCPU's virtual ones), guest virtual memory
 *   (translated through the guest's own page table, without side effects) and
 *   guest-physical memory. {@linkcode Machine.host} shows the host's side.
 * - Hooks on every event-bus topic with filters, pc hooks (hart breakpoints),
 *   memory watch hooks (watchpoints), exception hooks that can rewrite or
 *   complete a guest exception, and SBI-call hooks built on them.
 *
 * Cost: nothing is subscribed until a hook is added, and removing the last
 * hook of a kind removes its listener (or breakpoint, watchpoint, vCPU hook),
 * so an unhooked machine runs at full speed.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import type { ClockMode } from "../core/clock.ts";
import { Cause } from "../core/csr.ts";
import type { ElfImage } from "../core/elf.ts";
import type { EventBus, EventMap, ExitKind, Priv, Topic, TrapEvent } from "../core/events.ts";
import type { Hart, WatchHit } from "../core/hart.ts";
import { out } from "../core/int64.ts";
import type { Mmu } from "../core/mmu.ts";
import type { BlockBackend } from "../devices/block.ts";
import { type BootImages, type DiskSlot, MachineConfigError } from "../devices/board.ts";
import {
  type Halt,
  MAX_HARTS,
  type RunOptions,
  type RunResult,
  VirtMachine,
} from "../devices/virt.ts";
import { tinyosElf } from "../guests/tinyos/image.ts";
import {
  checkBytes,
  checkFields,
  checkImage,
  checkInteger,
  checkLimit,
  checkObject,
  checkOneOf,
  checkOneOrMany,
  checkRange,
  checkType,
  checkValue,
  fail,
} from "./args.ts";
import {
  type AddressRange,
  compileFilter,
  type HookFilter,
  type HookHandle,
  machineTopics,
  TOPICS,
} from "./hooks.ts";
import { createHypervisorMachine, type Hypervisor } from "./hypervisor.ts";
import {
  createGuestsMachine,
  type GuestConfig,
  type GuestSwitcher,
  type SchedulePolicy,
} from "./guests.ts";
import {
  type CoreCsrName,
  csrIndex,
  peekTranslate,
  REG_NAMES,
  regIndex,
  type RegName,
} from "./inspect.ts";
import type { GuestException } from "./vcpu.ts";
import { type ReportData, RunSampler, type SamplerOptions } from "./report.ts";

/** Configuration of {@linkcode createMachine}: a plain object, every field optional. */
export interface MachineConfig extends BootImages {
  /** Guest RAM in bytes (default 128 MiB). */
  memory?: number;
  /** Run the guest under the machine-mode hypervisor (default true) or bare on the hart. */
  hypervisor?: boolean;
  /** Under the hypervisor: host offset of guest RAM (default 0x500_0000, a multiple of 2 MiB). */
  guestOffset?: number;
  /** Under the hypervisor: limit of the shadow page-table pool in 4 KiB pages. */
  shadowPages?: number;
  /**
   * Under the hypervisor: who answers the guest's SBI calls, its `bios` in
   * virtual M-mode (`guest`, the default) or the hypervisor itself (`builtin`).
   */
  firmware?: "guest" | "builtin";
  /** A disk where QEMU puts its first `-drive` (the highest free virtio-mmio slot). */
  disk?: BlockBackend;
  /** Disks, each in a chosen virtio-mmio slot (0..7) or in the highest free one. */
  disks?: readonly DiskSlot[];
  /** `host` (wall clock, default) or `virtual` (instruction count: reproducible runs). */
  clock?: ClockMode;
  /** The RTC's time at start-up in ms since the Unix epoch (default: the host's time). */
  rtcBase?: number;
  /** Harts, 1 to 8 (default 1), as QEMU's `-smp N`; under the hypervisor, the guest's vCPUs (vCPU i on hart i). */
  smp?: number;
  /**
   * Compile hot guest code (the block translator); default true: to
   * WebAssembly (core/wasm-jit.ts) where it can, else to JavaScript
   * (core/translate.ts). `"wasm"` or `"js"` picks one; false interprets.
   * Results are the same either way.
   */
  jit?: boolean | "js" | "wasm";
  /**
   * Interpreter visits of an address before a block is compiled there (1..65534,
   * default 500 with wasm blocks and 5,000 with JavaScript blocks; 8x that once
   * 4,096 blocks were compiled); 1 translates everything that runs.
   */
  jitThreshold?: number;
  /** Receives every console byte (the streams of {@linkcode Machine} are the other way). */
  console?: (byte: number) => void;
  /** The hart's (and guest's) ISA: `rv64imafdc`/`rv64gc` (default, as QEMU's `virt`) or `rv64imac`. */
  isa?: string;
  /**
   * Several guests under the hypervisor, time-sliced (hypervisor/guests.ts):
   * each entry takes the per-guest fields (kernel, bios, memory, disks,
   * console, smp: its vCPUs...), which then cannot be given at the top level.
   * Each guest is in {@linkcode Machine.guests}; the machine's console is the
   * focused one's. The host has as many harts as the guest with the most vCPUs.
   */
  guests?: readonly GuestConfig[];
  /** With `guests`: slice length in mtime ticks (10 MHz; default 50,000 = 5 ms). */
  slice?: number;
  /** With `guests`: the policy that picks the next guest (default round robin). */
  schedule?: SchedulePolicy;
  /** With `guests`: end the run when `all` guests halted (default) or at the `first` halt. */
  end?: "all" | "first";
}

/** One of several guests ({@linkcode MachineConfig.guests}): its console, state and hypervisor. */
export class MachineGuest {
  constructor(
    /** Its index in the configuration. */
    readonly index: number,
    readonly machine: Machine,
    readonly switcher: GuestSwitcher,
  ) {}

  /** Its hypervisor (its vCPU, devices, shadow tables, exit statistics). */
  get hypervisor(): Hypervisor {
    return this.switcher.hypervisors[this.index];
  }

  /** The last few KiB of its console output. */
  get consoleText(): string {
    return this.switcher.consoleText(this.index);
  }

  /** How it ended, or null while it runs. */
  get halted(): Halt | null {
    return this.switcher.ended[this.index];
  }

  /** Guest instructions it retired (natively and by emulation). */
  get instructions(): number {
    return this.switcher.instructions(this.index);
  }

  /** Types bytes or text on its UART. */
  send(input: Uint8Array | string): void {
    if (typeof input !== "string" && !(input instanceof Uint8Array)) {
      fail(`guests[${this.index}].send`, "input", "a string or a Uint8Array", input);
    }
    const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
    this.hypervisor.guest.devices.uart.pushInput(bytes);
  }

  /**
   * Runs the whole machine (every guest) as {@linkcode Machine.run}, with
   * `until` looked for in this guest's console output from now on.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const where = `guests[${this.index}].run`;
    checkRunOptions(where, options);
    const { until, ...rest } = options;
    if (until === undefined) return this.machine.run(rest);
    const start = this.switcher.consoleBytes(this.index);
    let seen = false;
    const check = () => {
      const fresh = this.switcher.consoleBytes(this.index) - start;
      const tail = this.consoleText;
      return fresh > 0 &&
        tail.includes(until, Math.max(0, tail.length - fresh - until.length + 1));
    };
    const off = this.switcher.onConsole((i) => {
      if (i !== this.index || seen || !check()) return;
      seen = true;
      this.machine.pause();
    });
    try {
      const r = await this.machine.run(rest);
      return seen && r.stop === "pause" ? { ...r, stop: "until" } : r;
    } finally {
      off();
    }
  }
}

/**
 * An SBI call (an ecall from S-mode) as an ecall hook sees it (SBI calling
 * convention: a7 = EID, a6 = FID).
 */
export interface SbiCall {
  /** Extension id (a7, low 32 bits, unsigned). */
  eid: number;
  /** Function id (a6, low 32 bits, unsigned). */
  fid: number;
  /** a0..a5. */
  args: bigint[];
  /** Guest privilege the ecall came from (always 1 = S: SBI calls come from S-mode). */
  from: Priv;
  /** Guest pc of the ecall. */
  pc: number;
}

/**
 * A system call (an ecall from U-mode) as a system-call hook sees it, in the
 * Linux/xv6 convention: a7 = number, a0..a5 = arguments, a0 = result.
 */
export interface SystemCall {
  /** The call number (a7, as a signed 64-bit value). */
  number: bigint;
  /** a0..a5. */
  args: bigint[];
  /** Guest pc of the ecall. */
  pc: number;
}

/** A guest ELF symbol, as {@linkcode Machine.symbols} lists them. */
export interface GuestSymbol {
  /** Symbol name. */
  name: string;
  /** Its value: a guest virtual address (signed, as the ELF's). */
  address: number;
  /** st_size in bytes (0 for labels and symbols without a size). */
  size: number;
  /** The image it comes from. */
  image: "kernel" | "bios";
}

/** What an ecall hook returns to complete the call: a0 = error, a1 = value. */
export interface SbiResult {
  /** SBI error code (0 = success, -2 = not supported...). */
  error: bigint | number;
  /** Return value. */
  value?: bigint | number;
}

/** A hook on a topic: gets the event (valid only during the call) and the machine. */
export type Hook<K extends Topic> = (event: EventMap[K], machine: Machine) => void;

/** The host's side of the machine (under the hypervisor, the hypervisor's view). */
export interface HostView {
  /** The host hart (registers, host CSRs, breakpoints). */
  readonly hart: Hart;
  /** Host privilege: U while the guest runs under the hypervisor. */
  readonly priv: Priv;
  /** A host CSR (under the hypervisor: e.g. satp = the shadow root, mstatus with MPP = U). */
  readCsr(csr: number | string): bigint | null;
  /**
   * Instructions the host hart retired: under the hypervisor, the guest's
   * native ones only ({@linkcode Machine.guestInstructions} adds the emulated).
   */
  readonly retired: number;
  /** Hypervisor exits by kind, every vCPU's (empty when bare). */
  readonly exitCounts: ReadonlyMap<ExitKind, number>;
  /** Traps injected into the guest (any vCPU) by cause key ("exc 13", "irq 5"; empty when bare). */
  readonly guestTraps: ReadonlyMap<string, number>;
}

const MAX_PC_RANGE = 65536;
const RUN_FIELDS: readonly (keyof RunOptions)[] = ["until", "maxInstructions", "timeoutMs"];
const ARG_REGS = [10, 11, 12, 13, 14, 15];

interface ExceptionHook {
  fn: (e: GuestException, machine: Machine) => void;
  causes: ReadonlySet<number> | null;
}

/** The scripting facade of a machine; create one with {@linkcode createMachine}. */
export class Machine {
  /** The underlying `virt` machine (host view: bus, hart, devices, raw event bus). */
  readonly vm: VirtMachine;
  /**
   * Each guest of a machine made with {@linkcode MachineConfig.guests}
   * (empty otherwise).
   */
  readonly guests: readonly MachineGuest[];
  /** The time-slicing of several guests, or null for one guest. */
  readonly switcher: GuestSwitcher | null;
  /** The event bus hooks attach to. */
  readonly events: EventBus;
  #lastRun: RunOptions = {};
  readonly #pcHooks = new Map<number, Set<(m: Machine) => boolean | void>>();
  #watchHooks: {
    w: { addr: number; length: number; read: boolean; write: boolean };
    fn: (hit: WatchHit, m: Machine) => boolean | void;
  }[] = [];
  #exceptionHooks: ExceptionHook[] = [];
  #bareTrapOff: (() => void) | null = null;
  #injecting = false;
  readonly #exception: GuestException = { cause: 0, tval: 0, pc: 0, from: 3, handled: false };
  #stdout: ReadableStream<Uint8Array> | null = null;
  /** Delivers pending console bytes to a subscribed {@linkcode stdout} and lets its reader run. */
  #flushStdout: (() => Promise<unknown>) | null = null;
  #stdin: WritableStream<Uint8Array | string> | null = null;
  #sampler: RunSampler | null = null;

  /**
   * Wraps an existing machine (boot.ts does this for `--script`); a machine made
   * by `createHypervisorMachine` is recognised by its `hypervisor` property.
   */
  constructor(vm: VirtMachine) {
    this.vm = vm;
    this.switcher = (vm as { guests?: GuestSwitcher }).guests ?? null;
    const switcher = this.switcher;
    this.guests = switcher
      ? switcher.hypervisors.map((_, i) => new MachineGuest(i, this, switcher))
      : [];
    this.events = vm.events;
  }

  /**
   * The hypervisor, or null when the guest runs bare. With several guests:
   * the running guest's (in a hook, the guest that caused the event; between
   * runs, the one that ran last), so the guest-state accessors below show it.
   */
  get hypervisor(): Hypervisor | null {
    return (this.vm as { hypervisor?: Hypervisor }).hypervisor ?? null;
  }

  /** With several guests: connects the machine's console (stdout, send, `until`) to guest `index`. */
  focus(index: number): void {
    if (!this.switcher) throw new Error("Machine.focus: this machine has one guest");
    checkInteger("Machine.focus", "index", index, 0, this.guests.length - 1);
    this.switcher.focus(index);
  }

  /** The event-bus topics {@linkcode hook} accepts here (exit and guestTrap only under the hypervisor). */
  get topics(): readonly Topic[] {
    return machineTopics(this.hypervisor !== null);
  }

  /** `hypervisor` when the guest runs under the hypervisor, else `bare`. */
  get mode(): "bare" | "hypervisor" {
    return this.hypervisor ? "hypervisor" : "bare";
  }

  // ------------------------------------------------------------ run control

  /**
   * Runs until a halt, `until` appears in the console output, `maxInstructions`
   * host instructions, `timeoutMs`, a {@linkcode pause}, or a pc/watch hook that
   * asks to stop. The result's `stop` says which. The `until` text is looked
   * for from the first run that asked for it, so a loop of
   * `run({ until: "$ " })` around stopping hooks ends at the prompt even when
   * a hook stopped a run after the prompt was printed. When stops coincide:
   * halt, then pause/breakpoint/watchpoint, then `until` (reported by the
   * next run, at once), then `limit`/`timeout`. Output the guest printed is
   * in {@linkcode stdout} before the returned promise resolves.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    checkRunOptions("Machine.run", options);
    this.#lastRun = options;
    const sampler = this.#sampler;
    sampler?.resume();
    try {
      const result = await this.vm.run(options);
      await this.#flushStdout?.();
      return result;
    } finally {
      sampler?.pause();
    }
  }

  /** Runs on after a pause or a stopping hook, with `options` or the last run's. */
  resume(options: RunOptions = this.#lastRun): Promise<RunResult> {
    checkRunOptions("Machine.resume", options);
    return this.run(options);
  }

  /**
   * Stops the current run (it returns `stop: "pause"`) at the next instruction
   * boundary; from a hook, the instruction being handled completes first. With
   * no run going on, the next run returns at once.
   */
  pause(): void {
    this.vm.pause();
  }

  /**
   * Executes one guest instruction (or takes one trap into a guest handler,
   * pc then being the handler's first instruction) and returns the new pc.
   * Under the hypervisor, exits that neither retire nor inject (shadow fills,
   * timer syncs) are run through. A hart idle in wfi waits for its interrupt.
   *
   * With several harts, a step is the next instruction of the machine's
   * round-robin schedule (a run of one instruction), on whichever hart's turn
   * it is; pc and the registers here stay hart 0's.
   *
   * As gdb reports a breakpoint that `stepi` lands on, the pc hooks of the
   * instruction step() arrives at fire (before it executes; a hook that sets
   * pc redirects, and step returns that pc); the instruction a step or run
   * starts from does not fire them again. Watch hooks fire as in a run.
   */
  async step(): Promise<number> {
    const vm = this.vm, hart = vm.hart, hv = this.hypervisor;
    if (vm.halted) return hart.pc;
    // Several harts: the next instruction of the machine's schedule, whichever hart's turn it is.
    if (hart.waiting || vm.harts.length > 1) {
      await vm.run({ maxInstructions: 1 });
      return this.#arrive();
    }
    const progress = () =>
      hv ? hart.retired + hv.guest.vcpu.emulated + sum(hv.guestTraps) : hart.retired + trapsTaken;
    let trapsTaken = 0;
    const off = hv ? null : this.events.on("trap", () => trapsTaken++);
    try {
      const before = progress();
      for (let i = 0; i < 10_000 && progress() === before && !vm.halted; i++) {
        hart.run(1);
        vm.devices.update();
        hv?.poll();
      }
    } finally {
      off?.();
    }
    return this.#arrive();
  }

  /** Fires the pc hooks where a step arrived (their stop requests do not matter: stepping stops). */
  #arrive(): number {
    const pc = this.vm.hart.pc;
    if (!this.vm.halted && this.#pcHooks.has(pc)) {
      this.#onBreakpoint(pc);
      // The hooks have seen this arrival: the next step or run executes the instruction.
      if (this.vm.hart.pc === pc) this.vm.hart.breakpointReported();
    }
    return this.vm.hart.pc;
  }

  /** The halt that ended the machine (with its one-line message), or null while it can run. */
  get halted(): Halt | null {
    return this.vm.halted;
  }

  /** Process exit code reflecting the halt (0 for poweroff). */
  get exitCode(): number {
    return this.vm.exitCode;
  }

  /**
   * The whole machine (guest and, under the hypervisor, the host side) as
   * snapshot bytes; call it between runs. devices/host/snapshot.ts writes them
   * to a file.
   */
  saveSnapshot(): Uint8Array {
    return this.vm.saveSnapshot();
  }

  /**
   * Restores {@linkcode saveSnapshot}'s bytes into this machine, which must be
   * configured as the saved one was (kernel, memory, hypervisor or bare...);
   * otherwise throws a one-line SnapshotError starting with `source` and the
   * machine is left as it was. In the virtual clock mode the run then goes on
   * exactly as the saved machine's would. A report being recorded goes on
   * counting from where it was ({@linkcode RunSampler.rebase}).
   */
  loadSnapshot(bytes: Uint8Array, source = "snapshot"): void {
    const load = () => this.vm.restore(bytes, source);
    if (this.#sampler) this.#sampler.rebase(load);
    else load();
  }

  // ----------------------------------------------------------------- report

  /**
   * Starts recording a run report ({@linkcode report}): from now on, while
   * {@linkcode run} runs, samples every `intervalMs` (default 100) of wall
   * time, and exits by pc, CSR and device. Costs nothing before it is called;
   * `remove()` stops the recording (the report stays available).
   */
  startReport(options: SamplerOptions = {}): HookHandle {
    const o = checkObject("Machine.startReport", "options", options);
    checkFields("Machine.startReport", "options", o, ["intervalMs"]);
    if (options.intervalMs !== undefined) {
      checkInteger("Machine.startReport", "options.intervalMs", options.intervalMs, 10);
    }
    this.#sampler?.remove();
    const sampler = this.#sampler = new RunSampler(this, options);
    return handle(() => sampler.remove());
  }

  /**
   * The run report recorded since {@linkcode startReport}: configuration,
   * totals, time series, top trapping pcs with symbols, CSR and device exits,
   * shadow page tables, the hypervisor's share of the time and the `--stats`
   * lines (see {@linkcode ReportData}; `writeReportFile` in
   * devices/host/report.ts writes it as JSON or an HTML page).
   */
  report(): ReportData {
    if (this.#sampler === null) {
      throw new Error("Machine.report: nothing recorded: call startReport() before running");
    }
    return this.#sampler.report();
  }

  // ---------------------------------------------------------------- console

  /** Sends bytes or text to the guest's console (its UART receive line). */
  send(input: Uint8Array | string): void {
    if (typeof input !== "string" && !(input instanceof Uint8Array)) {
      fail("Machine.send", "input", "a string or a Uint8Array", input);
    }
    this.vm.input(input);
  }

  /** The last few KiB of console output, as text. */
  get consoleText(): string {
    return this.vm.consoleText;
  }

  /**
   * Console output as a byte stream, from the moment this property is first
   * read (it subscribes then). Chunks are delivered when the run loop yields
   * (about every 50 ms of running), and everything printed is delivered before
   * a run's promise resolves. The stream closes when the guest halts.
   */
  get stdout(): ReadableStream<Uint8Array> {
    if (this.#stdout) return this.#stdout;
    let pending: number[] = [];
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const offs: (() => void)[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const chunk = Uint8Array.from(pending);
      pending = [];
      controller.enqueue(chunk);
    };
    const close = () => {
      flush();
      for (const off of offs.splice(0)) off();
      this.#flushStdout = null;
      controller.close();
    };
    this.#stdout = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        if (this.vm.halted) return close();
        offs.push(
          this.events.on("console", (e) => {
            if (pending.length === 0) queueMicrotask(flush);
            for (const b of e.bytes) pending.push(b);
          }),
          this.events.on("halt", close),
        );
        // A macrotask lets a reader's chain of promise reactions take in the last chunks.
        this.#flushStdout = () => (flush(), new Promise((resolve) => setTimeout(resolve, 0)));
      },
      cancel: () => {
        for (const off of offs.splice(0)) off();
        this.#flushStdout = null;
      },
    });
    return this.#stdout;
  }

  /** Console input as a writable stream of bytes or text (e.g. pipe Deno.stdin.readable to it). */
  get stdin(): WritableStream<Uint8Array | string> {
    this.#stdin ??= new WritableStream<Uint8Array | string>({ write: (c) => this.vm.input(c) });
    return this.#stdin;
  }

  // ------------------------------------------------------------ guest state

  /** Guest register x`reg` (number, `xN` or ABI name) as a signed 64-bit BigInt. */
  getReg(reg: RegName): bigint {
    return this.vm.hart.getReg(regIndex(reg));
  }

  /** Writes guest register x`reg` (x0 stays zero); numbers must be safe integers. */
  setReg(reg: RegName, value: bigint | number): void {
    const i = regIndex(reg);
    this.vm.hart.setReg(i, BigInt(checkValue("Machine.setReg", "value", value)));
  }

  /** All 32 guest registers by ABI name (`zero`, `ra`, ... `t6`). */
  regs(): Record<string, bigint> {
    return Object.fromEntries(REG_NAMES.map((name, i) => [name, this.vm.hart.getReg(i)]));
  }

  /**
   * The guest pc. Reliable between runs and inside pc, trap, exception and ecall
   * hooks; setting it there redirects execution (in a pc hook: the instruction at
   * the old pc is not executed).
   */
  get pc(): number {
    return this.vm.hart.pc;
  }
  set pc(value: number) {
    this.vm.hart.pc = checkInteger("Machine.pc", "the new pc", value);
  }

  /** The guest's privilege mode (under the hypervisor: its virtual one). 3 = M, 1 = S, 0 = U. */
  get priv(): Priv {
    return this.hypervisor ? this.hypervisor.guest.vcpu.priv : this.vm.hart.priv;
  }

  #readCsr(csr: number | string): bigint | null {
    const num = csrIndex(csr);
    if (!this.hypervisor) return this.vm.hart.readCsr(num);
    if (!this.hypervisor.guest.vcpu.csr.read(num)) return null;
    return (BigInt(out[1]) << 32n) | BigInt(out[0] >>> 0);
  }

  /** Writes a guest CSR as guest M-mode would (WARL rules apply); false if it does not exist. */
  writeCsr(csr: number | string, value: bigint | number): boolean {
    const num = csrIndex(csr), v = BigInt(checkValue("Machine.writeCsr", "value", value));
    if (!this.hypervisor) return this.vm.hart.writeCsr(num, v);
    const lo = Number(BigInt.asIntN(32, v)), hi = Number(BigInt.asIntN(32, v >> 32n));
    const ok = this.hypervisor.guest.vcpu.csr.write(num, lo, hi);
    this.hypervisor.guestCsrsChanged(); // satp, mstatus, PMP or counter enables may have changed
    return ok;
  }

  /** Guest-physical address space (under the hypervisor: the guest's bus over its RAM window). */
  get #guestBus(): Bus {
    return this.hypervisor ? this.hypervisor.guest.bus : this.vm.bus;
  }

  get #guestMmu(): Mmu {
    return this.hypervisor ? this.hypervisor.guest.vcpu.mmu : this.vm.hart.mmu;
  }

  /**
   * Translates a guest virtual address for a data access as the guest would now
   * (its satp, its effective data privilege), read-only: no A/D bits set, no TLB
   * filled, no permission checks. Null if the guest's table maps nothing there.
   */
  translate(va: number): number | null {
    checkInteger("Machine.translate", "va", va);
    const csr = this.hypervisor ? this.hypervisor.guest.vcpu.csr : this.vm.hart.csr;
    return peekTranslate(this.#guestBus, this.#guestMmu, va, csr.dataPriv === 3);
  }

  /** Reads a guest CSR that every rvisor hart has (see {@linkcode CORE_CSRS}). */
  readCsr(csr: CoreCsrName): bigint;
  /** Reads a guest CSR (name or number; virtual under the hypervisor); null if it does not exist. */
  readCsr(csr: number | string): bigint | null;
  readCsr(csr: number | string): bigint | null {
    return this.#readCsr(csr);
  }

  /** Reads guest-physical RAM; throws RangeError outside RAM. */
  readPhysical(pa: number, length: number): Uint8Array {
    checkInteger("Machine.readPhysical", "pa", pa, 0);
    checkInteger("Machine.readPhysical", "length", length, 0);
    const bus = this.#guestBus;
    const off = bus.ramOffset(pa, Math.max(1, length));
    if (off < 0) throw new RangeError(`0x${pa.toString(16)}+${length} is not guest RAM`);
    return bus.ram.slice(off, off + length);
  }

  /** Writes guest-physical RAM (decoded code there is dropped); throws RangeError outside RAM. */
  writePhysical(pa: number, bytes: Uint8Array): void {
    checkInteger("Machine.writePhysical", "pa", pa, 0);
    checkBytes("Machine.writePhysical", "bytes", bytes);
    const bus = this.#guestBus;
    if (bus.ramOffset(pa, Math.max(1, bytes.length)) < 0) {
      throw new RangeError(`0x${pa.toString(16)}+${bytes.length} is not guest RAM`);
    }
    bus.loadBytes(pa, bytes);
  }

  /** Reads guest virtual memory through the guest's page table; RangeError if unmapped. */
  readVirtual(va: number, length: number): Uint8Array {
    checkInteger("Machine.readVirtual", "va", va);
    checkInteger("Machine.readVirtual", "length", length, 0);
    const result = new Uint8Array(length);
    this.#eachPage(va, length, (pa, at, n) => result.set(this.readPhysical(pa, n), at));
    return result;
  }

  /** Writes guest virtual memory through the guest's page table; RangeError if unmapped. */
  writeVirtual(va: number, bytes: Uint8Array): void {
    checkInteger("Machine.writeVirtual", "va", va);
    checkBytes("Machine.writeVirtual", "bytes", bytes);
    this.#eachPage(va, bytes.length, (pa, at, n) => {
      this.writePhysical(pa, bytes.subarray(at, at + n));
    });
  }

  /** Reads a byte from guest virtual memory; RangeError if unmapped. */
  readU8(va: number): number {
    return this.readVirtual(va, 1)[0];
  }

  /** Reads a little-endian 16-bit value from guest virtual memory. */
  readU16(va: number): number {
    return view(this.readVirtual(va, 2)).getUint16(0, true);
  }

  /** Reads a little-endian 32-bit value (unsigned) from guest virtual memory. */
  readU32(va: number): number {
    return view(this.readVirtual(va, 4)).getUint32(0, true);
  }

  /** Reads a little-endian 64-bit value from guest virtual memory. */
  readU64(va: number): bigint {
    checkInteger("Machine.readU64", "va", va);
    return view(this.readVirtual(va, 8)).getBigUint64(0, true);
  }

  /** Reads a byte of guest-physical RAM; RangeError outside RAM. */
  readPhysicalU8(pa: number): number {
    return this.readPhysical(pa, 1)[0];
  }

  /** Reads a little-endian 16-bit value from guest-physical RAM. */
  readPhysicalU16(pa: number): number {
    return view(this.readPhysical(pa, 2)).getUint16(0, true);
  }

  /** Reads a little-endian 32-bit value (unsigned) from guest-physical RAM. */
  readPhysicalU32(pa: number): number {
    return view(this.readPhysical(pa, 4)).getUint32(0, true);
  }

  /** Reads a little-endian 64-bit value from guest-physical RAM. */
  readPhysicalU64(pa: number): bigint {
    return view(this.readPhysical(pa, 8)).getBigUint64(0, true);
  }

  /** Reads a NUL-terminated string (Latin-1, at most `max` bytes) from guest virtual memory. */
  readString(va: number, max = 256): string {
    checkInteger("Machine.readString", "va", va);
    checkInteger("Machine.readString", "max", max, 0);
    let s = "";
    for (let i = 0; i < max; i++) {
      const b = this.readVirtual(va + i, 1)[0];
      if (b === 0) break;
      s += String.fromCharCode(b);
    }
    return s;
  }

  #eachPage(va: number, length: number, fn: (pa: number, at: number, n: number) => void): void {
    for (let at = 0; at < length;) {
      const v = va + at;
      const n = Math.min(length - at, 4096 - (v & 0xfff));
      const pa = this.translate(v);
      if (pa === null) throw new RangeError(`guest virtual 0x${v.toString(16)} is not mapped`);
      fn(pa, at, n);
      at += n;
    }
  }

  /** The guest's ELF images (symbols), kernel and firmware. */
  get images(): { bios?: ElfImage; kernel?: ElfImage } {
    return this.hypervisor ? this.hypervisor.guest.layout.images : this.vm.images;
  }

  /** Address of a symbol of the guest's kernel (or firmware) ELF; RangeError if absent. */
  symbol(name: string): number {
    checkType("Machine.symbol", "name", name, "string");
    const { kernel, bios } = this.images;
    const addr = kernel?.symbols.get(name) ?? bios?.symbols.get(name);
    if (addr === undefined) throw new RangeError(`no symbol ${name} in the guest's images`);
    return addr;
  }

  /** Every symbol of the guest's kernel and firmware ELFs, by address. */
  symbols(): GuestSymbol[] {
    const list: GuestSymbol[] = [];
    for (const image of ["kernel", "bios"] as const) {
      const elf = this.images[image];
      for (const [name, address] of elf?.symbols ?? []) {
        list.push({ name, address, size: elf!.symbolSizes.get(name) ?? 0, image });
      }
    }
    return list.sort((a, b) => a.address - b.address);
  }

  /**
   * `name+0x10` for the nearest kernel (else firmware) symbol at or below a
   * guest virtual address, or null: for pcs, return addresses, tvals.
   */
  symbolize(addr: number): string | null {
    const { kernel, bios } = this.images;
    return kernel?.symbolize(addr) ?? bios?.symbolize(addr) ?? null;
  }

  /**
   * Guest instructions retired since reset: under the hypervisor, those run
   * natively on the host hart plus those the hypervisor emulated (CSR
   * accesses, mret, MMIO...); virtual time follows this count.
   * {@linkcode HostView.retired} counts the host hart's alone.
   */
  get guestInstructions(): number {
    return this.vm.guestInstructions;
  }

  /** The host's side: host hart, host CSRs and privilege, exit statistics. */
  get host(): HostView {
    const hart = this.vm.hart, hv = this.hypervisor;
    return {
      hart,
      priv: hart.priv,
      readCsr: (csr) => hart.readCsr(csrIndex(csr)),
      retired: hart.retired,
      exitCounts: hv?.exitCounts ?? new Map(),
      guestTraps: hv?.guestTraps ?? new Map(),
    };
  }

  // ------------------------------------------------------------------ hooks

  /**
   * Calls `fn` for every event of `topic` that passes `filter` (see
   * {@linkcode HookFilter}). Topics: trap (host hart traps: the guest's own
   * when bare, the hypervisor's exits' causes under it; a hook may set
   * `handled` and must then set pc), exit, guestTrap (a trap injected into the
   * guest, after entry), csr (guest CSR instructions, after they completed), mmio, irq,
   * console, halt. For trap hooks pc is the trapping instruction's. A bare
   * machine refuses exit and guestTrap, which only the hypervisor publishes.
   */
  hook<K extends Topic>(topic: K, fn: Hook<K>, filter?: HookFilter): HookHandle {
    if (TOPICS.includes(topic) && !this.topics.includes(topic)) {
      throw new RangeError(
        `Machine.hook: topic '${topic}' is published by the hypervisor, and this machine runs ` +
          "its guest bare (createMachine({ hypervisor: false })): the hook would never fire",
      );
    }
    checkOneOf("Machine.hook", "topic", topic, TOPICS);
    checkType("Machine.hook", "fn", fn, "function");
    if (filter !== undefined) checkObject("Machine.hook", "filter", filter);
    const match = compileFilter(topic, filter);
    const hart = this.vm.hart;
    const listener = topic === "trap"
      ? (e: EventMap[K]) => {
        if (match !== null && !match(e)) return;
        hart.pc = (e as TrapEvent).pc; // the hot loop keeps pc in a local: show the trap's
        fn(e, this);
      }
      : match === null
      ? (e: EventMap[K]) => fn(e, this)
      : (e: EventMap[K]) => {
        if (match(e)) fn(e, this);
      };
    return handle(this.events.on(topic, listener));
  }

  /**
   * Calls `fn` before the guest executes the instruction at `addr` (or at any
   * 2-byte-aligned address of a range), whether or not that code ran before.
   * `fn` may read and write state; setting pc redirects execution; returning
   * true stops the run (`stop: "breakpoint"`, pc at the hooked instruction).
   */
  hookPc(addr: AddressRange, fn: (machine: Machine) => boolean | void): HookHandle {
    const [lo, hi] = checkRange("Machine.hookPc", "addr", addr);
    checkType("Machine.hookPc", "fn", fn, "function");
    if (hi - lo > MAX_PC_RANGE) {
      throw new RangeError(`pc hook range of ${hi - lo} bytes: at most ${MAX_PC_RANGE}`);
    }
    const hart = this.vm.hart;
    const pcs: number[] = [];
    for (let pc = lo + (lo & 1); pc < hi; pc += 2) pcs.push(pc);
    for (const pc of pcs) {
      let set = this.#pcHooks.get(pc);
      if (!set) this.#pcHooks.set(pc, set = new Set()), hart.addBreakpoint(pc);
      set.add(fn);
    }
    hart.onBreakpoint = (pc) => this.#onBreakpoint(pc);
    return handle(() => {
      for (const pc of pcs) {
        const set = this.#pcHooks.get(pc);
        if (!set?.delete(fn) || set.size !== 0) continue;
        this.#pcHooks.delete(pc);
        hart.removeBreakpoint(pc);
      }
      if (this.#pcHooks.size === 0) hart.onBreakpoint = null;
    });
  }

  #onBreakpoint(pc: number): boolean {
    const set = this.#pcHooks.get(pc);
    if (!set) return true; // someone else's breakpoint on the hart: its default is to stop
    let stop = false;
    for (const fn of [...set]) {
      if (fn(this) === true) stop = true;
      if (this.vm.hart.pc !== pc) break; // redirected: the other hooks' instruction did not come
    }
    return stop;
  }

  /**
   * Calls `fn` after each guest access to `[addr, addr + length)` (virtual) of
   * the kinds asked for (default: writes) completed, as gdb reports a
   * watchpoint: the hit has the value before and after (`old`, `value`; for a
   * load, the value read), memory already holds the new value, and pc is the
   * next instruction's. Under the hypervisor this includes the accesses it
   * emulates (devices, MPRV). Returning true stops the run there
   * (`stop: "watchpoint"`).
   */
  watch(
    addr: number,
    length: number,
    fn: (hit: WatchHit, machine: Machine) => boolean | void,
    kinds: { read?: boolean; write?: boolean } = { write: true },
  ): HookHandle {
    checkInteger("Machine.watch", "addr", addr);
    checkInteger("Machine.watch", "length", length, 1);
    checkType("Machine.watch", "fn", fn, "function");
    checkFields("Machine.watch", "kinds", checkObject("Machine.watch", "kinds", kinds), [
      "read",
      "write",
    ]);
    for (const k of ["read", "write"] as const) {
      if (kinds[k] !== undefined) checkType("Machine.watch", `kinds.${k}`, kinds[k], "boolean");
    }
    if (!kinds.read && !kinds.write) {
      fail("Machine.watch", "kinds", "{ read: true } and/or { write: true }", kinds, true);
    }
    const hart = this.vm.hart;
    const w = { addr, length, read: kinds.read ?? false, write: kinds.write ?? false };
    const entry = { w, fn };
    this.#watchHooks = [...this.#watchHooks, entry];
    hart.addWatchpoint(w);
    hart.onWatchpoint = (hit) => {
      let stop = false;
      for (const h of this.#watchHooks) {
        const x = h.w, a = hit.addr;
        if (a + hit.size <= x.addr || a >= x.addr + x.length || !(hit.write ? x.write : x.read)) {
          continue;
        }
        if (h.fn(hit, this) === true) stop = true;
      }
      return stop;
    };
    return handle(() => {
      this.#watchHooks = this.#watchHooks.filter((h) => h !== entry);
      hart.removeWatchpoint(w); // removes equal ones too: put the others back
      for (const h of this.#watchHooks) {
        if (h.w.addr === w.addr && h.w.length === w.length && h.w.read === w.read) {
          if (h.w.write === w.write) hart.addWatchpoint(h.w);
        }
      }
      if (this.#watchHooks.length === 0) hart.onWatchpoint = null;
    });
  }

  /**
   * Calls `fn` before the guest takes an exception (bare: before the hart's
   * trap entry; under the hypervisor: before the hypervisor injects it), for
   * the causes given (default: all). `fn` may change `cause`/`tval` (the guest
   * takes that exception instead, by its own delegation) or set `handled` after
   * completing the instruction itself (set pc, e.g. `machine.pc = e.pc + 4` to
   * skip it).
   */
  hookException(
    fn: (e: GuestException, machine: Machine) => void,
    causes?: number | readonly number[],
  ): HookHandle {
    checkType("Machine.hookException", "fn", fn, "function");
    const entry: ExceptionHook = {
      fn,
      causes: causes === undefined
        ? null
        : new Set(checkNumbers("Machine.hookException", "causes", causes)),
    };
    this.#exceptionHooks = [...this.#exceptionHooks, entry];
    this.#updateExceptionDispatch();
    return handle(() => {
      this.#exceptionHooks = this.#exceptionHooks.filter((h) => h !== entry);
      this.#updateExceptionDispatch();
    });
  }

  /**
   * Implements SBI calls (ecalls from guest S-mode) in TypeScript: `fn` sees
   * each one whose extension id (a7) is in `eids` (default: all) and returns
   * a result to complete it (a0 = error, a1 = value, pc past the ecall) or
   * undefined to let the guest's firmware (or the built-in one) take it.
   * System calls from U-mode go to {@linkcode hookSyscall}.
   */
  hookEcall(
    fn: (call: SbiCall, machine: Machine) => SbiResult | undefined | void,
    eids?: number | readonly number[],
  ): HookHandle {
    checkType("Machine.hookEcall", "fn", fn, "function");
    const wanted = eids === undefined
      ? null
      : new Set(checkNumbers("Machine.hookEcall", "eids", eids));
    return this.hookException((e, m) => {
      const hart = m.vm.hart;
      const eid = hart.xl[17] >>> 0;
      if (wanted !== null && !wanted.has(eid)) return;
      const args = ARG_REGS.map((r) => hart.getReg(r));
      const r = fn({ eid, fid: hart.xl[16] >>> 0, args, from: e.from, pc: e.pc }, m);
      if (r === undefined) return;
      hart.setReg(10, BigInt(r.error));
      hart.setReg(11, BigInt(r.value ?? 0));
      m.#completeEcall(e);
    }, Cause.ECALL_S);
  }

  /**
   * Sees guest system calls (ecalls from U-mode) whose number (a7) is in
   * `numbers` (default: all). `fn` returns a result to complete the call in
   * TypeScript (a0 = result, pc past the ecall: the kernel never sees it) or
   * undefined to let the guest's kernel handle it, as for a trace.
   */
  hookSyscall(
    fn: (call: SystemCall, machine: Machine) => bigint | number | undefined | void,
    numbers?: number | bigint | readonly (number | bigint)[],
  ): HookHandle {
    checkType("Machine.hookSyscall", "fn", fn, "function");
    const wanted = numbers === undefined ? null : new Set(
      checkOneOrMany(
        "Machine.hookSyscall",
        "numbers",
        numbers,
        (w, n, x) => typeof x === "bigint" ? x : BigInt(checkInteger(w, n, x, 0)),
      ),
    );
    return this.hookException((e, m) => {
      const hart = m.vm.hart;
      const number = hart.getReg(17);
      if (wanted !== null && !wanted.has(number)) return;
      const r = fn({ number, args: ARG_REGS.map((i) => hart.getReg(i)), pc: e.pc }, m);
      if (r === undefined) return;
      hart.setReg(10, BigInt(r));
      m.#completeEcall(e);
    }, Cause.ECALL_U);
  }

  /**
   * An ecall a hook answered retires: pc past it, and counted as a guest
   * instruction in both modes (virtual time and the counters must agree).
   */
  #completeEcall(e: GuestException): void {
    const hart = this.vm.hart;
    hart.pc = e.pc + 4;
    if (this.hypervisor) this.hypervisor.guest.vcpu.emulated++;
    else hart.retired++;
    e.handled = true;
  }

  /** Installs (or removes) the one dispatcher that feeds exception hooks. */
  #updateExceptionDispatch(): void {
    const active = this.#exceptionHooks.length !== 0;
    if (this.hypervisor) {
      const hvs = this.switcher?.hypervisors ?? [this.hypervisor];
      for (const hv of hvs) {
        hv.guest.vcpu.onException = active ? (e) => this.#dispatchException(e) : null;
      }
      return;
    }
    if (active && this.#bareTrapOff === null) {
      this.#bareTrapOff = this.events.on("trap", (t) => this.#bareTrap(t));
    } else if (!active && this.#bareTrapOff !== null) {
      this.#bareTrapOff();
      this.#bareTrapOff = null;
    }
  }

  #dispatchException(e: GuestException): void {
    for (const h of this.#exceptionHooks) {
      if (h.causes !== null && !h.causes.has(e.cause)) continue;
      h.fn(e, this);
      if (e.handled) return;
    }
  }

  /** Bare: the hart's trap event plays the part of the hypervisor's injection point. */
  #bareTrap(t: TrapEvent): void {
    if (t.interrupt || this.#injecting) return;
    const hart = this.vm.hart;
    hart.pc = t.pc;
    const e = this.#exception;
    e.cause = t.cause, e.tval = t.tval, e.pc = t.pc, e.from = t.from, e.handled = false;
    this.#dispatchException(e);
    if (e.handled) {
      t.handled = true;
      return;
    }
    if (e.cause === t.cause && e.tval === t.tval) return;
    // Rewritten: take the new exception instead (the hart re-publishes it; do not hook it twice).
    this.#injecting = true;
    try {
      hart.pc = t.pc;
      hart.injectException(e.cause, e.tval);
    } finally {
      this.#injecting = false;
    }
    t.handled = true;
  }
}

/** Checks run options (scripts may pass anything). */
function checkRunOptions(where: string, options: unknown): void {
  const o = checkObject(where, "options", options);
  checkFields(where, "options", o, RUN_FIELDS);
  if (o.until !== undefined && checkType(where, "options.until", o.until, "string") === "") {
    fail(where, "options.until", "a non-empty string", o.until, true);
  }
  if (o.maxInstructions !== undefined) {
    checkLimit(where, "options.maxInstructions", o.maxInstructions);
  }
  if (o.timeoutMs !== undefined) checkLimit(where, "options.timeoutMs", o.timeoutMs);
}

/** One non-negative integer or a list of them (trap causes, SBI extension ids). */
function checkNumbers(where: string, name: string, v: unknown): number[] {
  return checkOneOrMany(where, name, v, (w, n, x) => checkInteger(w, n, x, 0));
}

/** `v` as a {@linkcode BlockBackend}: read, write and flush functions and a size. */
function checkBlockBackend(w: string, n: string, v: unknown): void {
  const o = checkObject(w, n, v);
  for (const f of ["read", "write", "flush"]) checkType(w, `${n}.${f}`, o[f], "function");
  checkInteger(w, `${n}.size`, o.size, 0);
}

/** Checks of createMachine's config fields, one per field {@linkcode MachineConfig} has. */
const CONFIG_CHECKS: Record<string, (where: string, name: string, v: unknown) => void> = {
  bios: checkImage,
  kernel: checkImage,
  initrd: checkImage,
  append: (w, n, v) => checkType(w, n, v, "string"),
  loads: (w, n, v) => {
    if (!Array.isArray(v)) fail(w, n, "an array of { file, address }", v);
    v.forEach((load, i) => {
      const o = checkObject(w, `${n}[${i}]`, load);
      checkFields(w, `${n}[${i}]`, o, ["file", "address"]);
      checkImage(w, `${n}[${i}].file`, o.file);
      checkInteger(w, `${n}[${i}].address`, o.address, 0);
    });
  },
  memory: (w, n, v) => checkInteger(w, n, v, 1),
  hypervisor: (w, n, v) => checkType(w, n, v, "boolean"),
  guestOffset: (w, n, v) => checkInteger(w, n, v, 0),
  shadowPages: (w, n, v) => checkInteger(w, n, v, 1),
  disk: checkBlockBackend,
  disks: (w, n, v) => {
    if (!Array.isArray(v)) fail(w, n, "an array of { backend, slot?, name? }", v);
    v.forEach((disk, i) => {
      const o = checkObject(w, `${n}[${i}]`, disk);
      checkFields(w, `${n}[${i}]`, o, ["backend", "slot", "name"]);
      checkBlockBackend(w, `${n}[${i}].backend`, o.backend);
      if (o.slot !== undefined) checkInteger(w, `${n}[${i}].slot`, o.slot, 0, 7);
      if (o.name !== undefined) checkType(w, `${n}[${i}].name`, o.name, "string");
    });
  },
  clock: (w, n, v) => checkOneOf(w, n, v, ["host", "virtual"]),
  rtcBase: (w, n, v) => checkInteger(w, n, v),
  console: (w, n, v) => checkType(w, n, v, "function"),
  isa: (w, n, v) => checkType(w, n, v, "string"),
  firmware: (w, n, v) => checkOneOf(w, n, v, ["guest", "builtin"]),
  smp: (w, n, v) => checkInteger(w, n, v, 1, MAX_HARTS),
  jit: (w, n, v) => v === "wasm" || v === "js" || checkType(w, n, v, "boolean"),
  jitThreshold: (w, n, v) => checkInteger(w, n, v, 1, 65534),
  guests: (w, n, v) => {
    if (!Array.isArray(v) || v.length === 0) fail(w, n, "a non-empty array of guest configs", v);
    v.forEach((g, i) => {
      const o = checkObject(w, `${n}[${i}]`, g);
      checkFields(w, `${n}[${i}]`, o, GUEST_FIELDS);
      for (const [key, value] of Object.entries(o)) {
        if (value !== undefined) CONFIG_CHECKS[key](w, `${n}[${i}].${key}`, value);
      }
    });
  },
  slice: (w, n, v) => checkInteger(w, n, v, 1),
  schedule: (w, n, v) => checkType(w, n, v, "function"),
  end: (w, n, v) => checkOneOf(w, n, v, ["all", "first"]),
};

/** The fields a guest entry of {@linkcode MachineConfig.guests} takes (not given at the top level then). */
const GUEST_FIELDS = [
  "bios",
  "kernel",
  "initrd",
  "append",
  "loads",
  "memory",
  "guestOffset",
  "shadowPages",
  "disk",
  "disks",
  "rtcBase",
  "console",
  "firmware",
  "smp",
];
/** The fields that only a machine with several guests takes. */
const SWITCH_FIELDS = ["slice", "schedule", "end"];

function sum(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

function handle(remove: () => void): HookHandle {
  let active = true;
  return {
    remove() {
      if (!active) return;
      active = false;
      remove();
    },
    get active() {
      return active;
    },
  };
}

/** tinyos assumes QEMU's default 128 MiB of RAM (it does not read the device tree). */
const TINYOS_MEMORY = 128 * 1024 * 1024;

/**
 * Creates a machine from a plain config object: bare (`hypervisor: false`) or
 * with the guest under the hypervisor (the default). Without `kernel` and
 * `bios` it boots tinyos, the default guest embedded in rvisor (as boot.ts
 * does). The machine is at its reset vector; add hooks, then
 * {@linkcode Machine.run}.
 */
export function createMachine(config: MachineConfig = {}): Machine {
  const o = checkObject("createMachine", "config", config);
  checkFields("createMachine", "config", o, Object.keys(CONFIG_CHECKS));
  for (const [key, value] of Object.entries(o)) {
    if (value !== undefined) CONFIG_CHECKS[key]("createMachine", `config.${key}`, value);
  }
  if (config.guests !== undefined) return createGuests(config);
  for (const key of SWITCH_FIELDS) {
    if (key in o && o[key] !== undefined) {
      throw new MachineConfigError(`createMachine: config.${key} needs config.guests`);
    }
  }
  const { hypervisor = true, guestOffset, shadowPages, ...common } = config;
  withDefaultGuest(common, "");
  const vm = hypervisor
    ? createHypervisorMachine({ ...common, guestOffset, shadowPages })
    : new VirtMachine(common);
  return new Machine(vm);
}

/** Without kernel and bios, a guest is tinyos (which needs 128 MiB). */
function withDefaultGuest(c: BootImages & { memory?: number }, who: string): void {
  if (c.kernel !== undefined || c.bios !== undefined) return;
  if ((c.memory ?? TINYOS_MEMORY) < TINYOS_MEMORY) {
    throw new MachineConfigError(
      `${who}memory ${c.memory}: the default guest (tinyos) needs at least 128 MiB; ` +
        "give a kernel, or more memory",
    );
  }
  c.kernel = { name: "tinyos.elf (embedded)", bytes: tinyosElf() };
}

/** createMachine's form with several guests. */
function createGuests(config: MachineConfig): Machine {
  for (const key of [...GUEST_FIELDS, "hypervisor"]) {
    // The top-level console is the focused guest's.
    if (key !== "console" && (config as Record<string, unknown>)[key] !== undefined) {
      throw new MachineConfigError(
        key === "hypervisor"
          ? "createMachine: several guests run under the hypervisor; config.hypervisor cannot be given"
          : `createMachine: config.${key}: with config.guests, give it in each guest entry`,
      );
    }
  }
  const guests = config.guests!.map((g, i) => {
    const c = { ...g };
    withDefaultGuest(c, `guest ${i}: `);
    return c;
  });
  return new Machine(createGuestsMachine({ ...config, guests }));
}
