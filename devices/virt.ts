/**
 * The `virt` machine: 1 to 8 harts, RAM, the board's devices (devices/board.ts),
 * the boot ROM, and the run loop that interleaves the harts with time and devices.
 *
 * Several harts take turns on one JavaScript thread, as QEMU's single-threaded
 * TCG runs its vCPUs round-robin: hart 0, 1, ... each for a slice of
 * {@linkcode SLICE} instructions (cut short by wfi), in a fixed order. The
 * virtual clock follows the sum of their instructions, so a `clock: "virtual"`
 * run repeats instruction for instruction.
 *
 * @module
 */

import { Bus } from "../core/bus.ts";
import { Clock, type ClockMode, type ClockState } from "../core/clock.ts";
import type { ElfImage } from "../core/elf.ts";
import { EventBus, type HaltReason } from "../core/events.ts";
import { Hart, type HartState, StopReason } from "../core/hart.ts";
import { dtbIsaString } from "../core/fpu.ts";
import { WasmJit } from "../core/wasm-jit.ts";
import {
  checkSnapshotConfig,
  decodeSnapshot,
  encodeSnapshot,
  type SnapshotConfig,
  SnapshotError,
} from "../core/snapshot.ts";
import type { BlockBackend } from "./block.ts";
import {
  type BootImages,
  configDisks,
  type DiskSlot,
  imagesSnapshotConfig,
  loadBoot,
  MachineConfigError,
  MAX_HARTS,
  tohostExitCode,
  VirtDevices,
  type VirtDevicesState,
} from "./board.ts";
import { BOOT_ROM_BASE, BOOT_ROM_SIZE, BootRom } from "./bootrom.ts";
import type { Clint } from "./clint.ts";
import type { Plic } from "./plic.ts";
import type { GoldfishRtc } from "./rtc.ts";
import type { Uart16550 } from "./uart.ts";

export { type DiskSlot, type ImageFile, MachineConfigError, MAX_HARTS } from "./board.ts";

/**
 * Machine-mode software written in TypeScript that runs the hart instead of
 * firmware in RAM: the hypervisor. It owns the hart's traps (Hart.onTrap) and
 * gets a turn between instruction batches.
 */
export interface MachineSoftware {
  /** Called between instruction batches: poll devices, deliver interrupts. */
  poll(): void;
  /** The earliest mtime at which the software needs to run again (Infinity: none). */
  nextDeadline(): number;
  /**
   * Guest instructions the software completed by emulation (the hypervisor's
   * CSR accesses, mret, MMIO...): the guest retired them, so they count in
   * {@linkcode VirtMachine.guestInstructions} and in virtual time.
   */
  readonly emulated?: number;
  /**
   * Settings a snapshot must be restored onto, merged into the machine's
   * (see {@linkcode VirtMachine.snapshotConfig}). Software without the three
   * snapshot methods makes the machine refuse to save.
   */
  snapshotConfig?(): SnapshotConfig;
  /** The software's state for a snapshot (JSON, plus Uint8Array/bigint). */
  saveState?(): unknown;
  /** Restores {@linkcode saveState}'s state (after the hart, clock and RAM were restored). */
  loadState?(state: unknown): void;
}

/** What {@linkcode VirtMachine.saveSnapshot} stores besides RAM. */
export interface VirtMachineState {
  /** Hart 0. */
  hart: HartState;
  /** Harts 1.. (absent with one hart). */
  moreHarts?: HartState[];
  /** The scheduler: the hart whose turn it is and what is left of its slice (absent with one hart). */
  turn?: [number, number];
  /** mtime. */
  clock: ClockState;
  /** The board's devices. */
  devices: VirtDevicesState;
  /** The machine-mode software's (hypervisor's) state, or null. */
  software: unknown;
  /** The halt that ended the run, if any. */
  halted: Halt | null;
  /** The console tail `until` matches against. */
  consoleTail: string;
  /** Console bytes output so far. */
  consoleTotal: number;
}

/** The translator's choice: `true` (wasm where possible, else JavaScript), `"wasm"`, `"js"`, `false` (off). */
export type JitOption = boolean | "js" | "wasm";

/** Configuration of a `virt` machine. */
export interface VirtConfig extends BootImages {
  /** RAM size in bytes (default 128 MiB). */
  memory?: number;
  /**
   * A disk where QEMU puts its first `-drive` (the highest free virtio-mmio
   * slot); it comes before {@linkcode disks}.
   */
  disk?: BlockBackend;
  /** Disks, each in a chosen virtio-mmio slot or in the highest free one. */
  disks?: readonly DiskSlot[];
  /** How mtime advances (default `host`). */
  clock?: ClockMode;
  /**
   * The RTC's time at start-up in ms since the Unix epoch (default: the host's
   * time). The guest reads it, and Linux seeds its randomness (ASLR, hash
   * seeds) partly from it, so a fixed base with `clock: "virtual"` makes a
   * run reproducible instruction for instruction, as QEMU's `-rtc base=`.
   */
  rtcBase?: number;
  /** Receives every byte the guest writes to the UART. */
  console?: (byte: number) => void;
  /**
   * The hart's ISA: `rv64imafdc` / `rv64gc` (default, as QEMU's `virt` CPU: F and D) or
   * `rv64imac` (misa, mstatus.FS and the DTB's riscv,isa follow).
   */
  isa?: string;
  /** Number of harts, 1 to {@linkcode MAX_HARTS} (default 1), as QEMU's `-smp N`. */
  smp?: number;
  /**
   * Compile hot guest code (the block translator, core/translate.ts); default
   * on (`true`): to WebAssembly (core/wasm-jit.ts) where the platform has it
   * and RAM fits a wasm memory, else to JavaScript ({@linkcode VirtMachine.jitNote}
   * says why). `"wasm"`: WebAssembly or a config error; `"js"`: JavaScript;
   * `false`: the interpreter alone.
   */
  jit?: JitOption;
  /**
   * Interpreter visits of an address before a block is compiled there
   * (1..65534; default 500 with wasm blocks, 5,000 with JavaScript blocks).
   */
  jitThreshold?: number;
}

/** How a run ended. */
export interface RunResult {
  /**
   * `halt` (guest poweroff/fail/reset/tohost), `until` (console text seen), `limit`, `timeout`,
   * `pause` ({@linkcode VirtMachine.pause}), `breakpoint` / `watchpoint` (a hart breakpoint or
   * watchpoint whose handler asked to stop).
   */
  stop: "halt" | "until" | "limit" | "timeout" | "pause" | "breakpoint" | "watchpoint";
  /** For halts: why. */
  reason?: HaltReason;
  /** For halts: the one-line detail (`guest poweroff`, or the panic that stopped the guest). */
  message?: string;
  /** Suggested process exit code: 0 for poweroff / tohost pass. */
  exitCode: number;
  /**
   * Guest instructions retired in this run: the hart's, plus (under the
   * hypervisor) those the hypervisor emulated. Virtual time follows this count.
   */
  guestInstructions: number;
  /**
   * Instructions the host harts (all of them) retired in this run: under the hypervisor the
   * guest's native ones only (emulated ones are exits); bare, the same as
   * {@linkcode guestInstructions}.
   */
  hostInstructions: number;
  /** Wall-clock milliseconds of this run. */
  wallMs: number;
}

/** Why a machine stopped for good. */
export interface Halt {
  /** What stopped it. */
  reason: HaltReason;
  /** The guest's code (failure code, HTIF value) or 1 for errors. */
  code: number;
  /** One line of detail: `guest poweroff`, `guest reported failure 3`, a hypervisor panic's cause. */
  message: string;
}

/** Options of {@linkcode VirtMachine.run}. */
export interface RunOptions {
  /** Stop after this many instructions. */
  maxInstructions?: number;
  /** Stop after this much wall-clock time (ms). */
  timeoutMs?: number;
  /** Stop as soon as the console output contains this text. */
  until?: string;
}

/**
 * The hart runs this many instructions between device updates (fewer up to a
 * virtual-clock deadline, so timer interrupts still come at their exact
 * instruction). 32,768 rather than 4,096: a Linux boot under the hypervisor
 * took 0.89x the CPU time and 0.79x the wall time (paired runs), and 65,536
 * gained nothing more. With the host clock it bounds a timer interrupt's
 * latency: about 1 ms of interpreted code, a tenth of that translated.
 */
const BATCH = 32768;
/** With several harts, each runs this many instructions (or up to wfi) before the next one's turn. */
export const SLICE = 4096;
/** Yield to the JS event loop this often (ms) so that input and timers get through. */
const YIELD_MS = 50;
const MiB = 1024 * 1024;

/** Exit code for a run that ended with the guest reporting failure code 0. */
const FAIL_WITHOUT_CODE = 1;

/** The `virt` machine. */
export class VirtMachine {
  /** Typed event bus of this machine. */
  readonly events: EventBus = new EventBus();
  /** Physical bus with RAM and devices. */
  readonly bus: Bus;
  /** Hart 0: the boot hart, and the only one of a single-hart machine. */
  readonly hart: Hart;
  /** Every hart, by hart id (mhartid). */
  readonly harts: readonly Hart[];
  /** Machine time. */
  readonly clock: Clock;
  /** The board's devices. */
  readonly devices: VirtDevices;
  /** Core-local interruptor. */
  readonly clint: Clint;
  /** Platform-level interrupt controller. */
  readonly plic: Plic;
  /** Goldfish RTC. */
  readonly rtc: GoldfishRtc;
  /** The UART the console is connected to (the guest's, once a hypervisor runs one). */
  uart: Uart16550;
  /** Boot ROM (reset vector). */
  readonly rom: BootRom;
  /** The DTB given to the firmware or kernel, and where it is. */
  readonly dtb: { address: number; bytes: Uint8Array };
  /** Parsed ELF images by role, for symbols (tohost, stack traces). */
  readonly images: { bios?: ElfImage; kernel?: ElfImage };
  /** The halt that ended the run, if any. */
  halted: Halt | null = null;
  /** Console output so far (for `until` matching; capped). */
  #consoleTail = "";
  /** Console bytes ever emitted, so `until` can tell new output from old. */
  #consoleTotal = 0;
  #tohost = -1;
  readonly #consoleOut: ((byte: number) => void) | undefined;
  #software: MachineSoftware | null = null;
  /** The `until` text runs wait for, and the console byte count its window starts at. */
  #untilWindow: { text: string; start: number } | null = null;
  /** Set by pause(): the current (or next) run returns at an instruction boundary. */
  #pauseRequested = false;
  /** With several harts: whose turn it is, and the instructions left of its slice. */
  #turn = 0;
  #lastHart: Hart;
  #sliceLeft = SLICE;

  /** What runs hot code: wasm blocks, JavaScript blocks or the interpreter alone (`off`). */
  readonly jitTier: "wasm" | "js" | "off";
  /** Why the default translator runs JavaScript blocks instead of wasm, when it does. */
  readonly jitNote: string | undefined = undefined;

  constructor(readonly config: VirtConfig = {}) {
    const memory = config.memory ?? 128 * MiB;
    if (!Number.isInteger(memory) || memory < MiB || memory % 4096 !== 0) {
      throw new MachineConfigError(
        `memory size ${memory} must be a multiple of 4 KiB, at least 1 MiB`,
      );
    }
    const smp = config.smp ?? 1;
    if (!Number.isInteger(smp) || smp < 1 || smp > MAX_HARTS) {
      throw new MachineConfigError(`smp ${smp}: the number of harts must be 1 to ${MAX_HARTS}`);
    }
    // wasm blocks reach RAM, registers and TLBs in one WebAssembly.Memory.
    let wasm: WasmJit | null = null;
    const jit = config.jit ?? true;
    if (jit === "wasm" || jit === true) {
      try {
        if (typeof WebAssembly !== "object") {
          throw new Error("wasm blocks: this platform has no WebAssembly");
        }
        wasm = new WasmJit(memory, smp);
      } catch (e) {
        if (jit === "wasm") throw new MachineConfigError((e as Error).message);
        this.jitNote = (e as Error).message;
      }
    }
    this.jitTier = jit === false ? "off" : wasm !== null ? "wasm" : "js";
    this.bus = new Bus(memory, this.events, undefined, wasm?.ramBacking);
    const harts: Hart[] = [];
    for (let id = 0; id < smp; id++) {
      harts.push(
        new Hart(this.bus, this.events, {
          isa: config.isa,
          jit: config.jit !== false,
          wasm: wasm?.hart(id),
          jitThreshold: config.jitThreshold,
          hartId: id,
        }),
      );
    }
    this.harts = harts;
    this.hart = this.#lastHart = harts[0];
    for (const h of harts) h.setPeers(harts);
    this.clock = new Clock(config.clock ?? "host", () => this.guestInstructions);
    for (const h of harts) h.clock = this.clock;
    this.#consoleOut = config.console;
    this.devices = new VirtDevices({
      bus: this.bus,
      cpus: harts,
      clock: this.clock,
      events: this.events,
      console: (b) => this.emitConsole(b),
      halt: (reason, code) => this.halt(reason, code),
      disks: configDisks(config),
      rtcBase: config.rtcBase,
    });
    ({ clint: this.clint, plic: this.plic, uart: this.uart, rtc: this.rtc } = this.devices);
    if (this.clock.mode === "virtual") {
      this.clint.onTimerWrite = this.rtc.onAlarmWrite = () => this.#stopHarts();
    }
    const layout = loadBoot(this.bus, config, dtbIsaString(this.hart.csr.fpu), { harts: smp });
    this.images = layout.images;
    this.#tohost = layout.tohost;
    this.dtb = { address: layout.dtbAddress, bytes: layout.dtb };
    this.rom = new BootRom(layout.start, layout.dtbAddress, layout.kernelEntry);
    this.bus.map(BOOT_ROM_BASE, BOOT_ROM_SIZE, this.rom);
    for (const h of harts) h.reset(BOOT_ROM_BASE);
  }

  /** The mtime tick of the next timer or RTC alarm, the hypervisor's software timers included. */
  #nextDeadline(): number {
    return Math.min(this.devices.nextDeadline(), this.#software?.nextDeadline() ?? Infinity);
  }

  /** Makes the running hart's run return at the next instruction boundary (stale stops are reset by run). */
  #stopHarts(): void {
    for (const h of this.harts) h.requestStop();
  }

  /**
   * Ends the running hart's turn at its next instruction boundary: for
   * machine-mode software (the hypervisor) whose hart spins waiting on
   * another (a wfi that returns at once), so that the others run instead.
   */
  yieldTurn(): void {
    this.#sliceLeft = 0;
    this.#lastHart.requestStop();
  }

  /** The hart that ran last: the one a breakpoint, watchpoint or pause stopped. */
  get lastHart(): Hart {
    return this.#lastHart;
  }

  /** Instructions all harts retired since reset. */
  get hostInstructions(): number {
    const harts = this.harts;
    if (harts.length === 1) return harts[0].retired;
    let n = 0;
    for (const h of harts) n += h.retired;
    return n;
  }

  /**
   * Hands the hart to machine-mode software written in TypeScript (the
   * hypervisor): from now on it gets a turn between instruction batches.
   */
  attach(software: MachineSoftware, consoleUart: Uart16550): void {
    this.#software = software;
    this.uart = consoleUart;
  }

  /**
   * The settings a snapshot records and a restore checks: RAM size, boot
   * images, disk, and the machine-mode software's (hypervisor on/off, guest
   * offset, guest images and disk). The clock mode is not one of them: a
   * snapshot continues in whichever mode the restoring machine runs.
   */
  snapshotConfig(): SnapshotConfig {
    const mib = this.bus.ramSize / MiB;
    return {
      // First: with the hypervisor on, RAM size is the host's (guest RAM plus offset).
      hypervisor: this.#software ? "on" : "off",
      "RAM size": Number.isInteger(mib) ? `${mib} MiB` : `${this.bus.ramSize} bytes`,
      "F/D extensions": this.hart.csr.fpu ? "on" : "off",
      ...imagesSnapshotConfig(this.config),
      ...this.devices.snapshotConfig(),
      ...this.#software?.snapshotConfig?.(),
    };
  }

  /**
   * Saves the whole machine (hart, clock, devices, disk overlay, the
   * hypervisor, RAM, halt state and console tail) as one snapshot file's
   * bytes (core/snapshot.ts describes the format). Call it between runs, not
   * from a hook inside one. Restore with {@linkcode restore} on a machine
   * built from the same configuration.
   */
  saveSnapshot(): Uint8Array {
    const software = this.#software;
    if (software && !software.saveState) {
      throw new Error("the machine-mode software attached to this machine cannot be saved");
    }
    const state: VirtMachineState = {
      hart: this.hart.saveState(),
      ...(this.harts.length > 1
        ? {
          moreHarts: this.harts.slice(1).map((h) => h.saveState()),
          turn: [this.#turn, this.#sliceLeft] as [number, number],
        }
        : {}),
      clock: this.clock.saveState(),
      devices: this.devices.saveState(),
      software: software?.saveState?.() ?? null,
      halted: this.halted,
      consoleTail: this.#consoleTail,
      consoleTotal: this.#consoleTotal,
    };
    const info = {
      clock: this.clock.mode,
      retired: this.hostInstructions,
      halted: this.halted !== null,
    };
    return encodeSnapshot({ config: this.snapshotConfig(), info }, state, this.bus.ram);
  }

  /**
   * Restores a snapshot from {@linkcode saveSnapshot} into this machine, which
   * must have been created with the same configuration (RAM size, images,
   * disk, hypervisor mode and guest offset). Running on then behaves as the
   * saved machine would have: in the virtual clock mode, with the same input,
   * the console output is byte-identical.
   *
   * Throws {@linkcode SnapshotError} whose one-line message starts with
   * `source` (a file name) for a file that is not a snapshot, another format
   * version, a damaged file, or a different machine; the machine is then left
   * as it was.
   */
  restore(bytes: Uint8Array, source = "snapshot"): void {
    const snapshot = decodeSnapshot(bytes, source);
    checkSnapshotConfig(snapshot.header.config, this.snapshotConfig(), source);
    const state = snapshot.state as VirtMachineState;
    if (
      typeof state?.hart !== "object" || typeof state?.devices !== "object" ||
      (state.moreHarts?.length ?? 0) !== this.harts.length - 1
    ) {
      throw new SnapshotError(`${source}: damaged state section`);
    }
    snapshot.restoreRam(this.bus.ram);
    // The hart first: virtual time, and so the clock and the RTC, derive from its count.
    this.hart.loadState(state.hart);
    state.moreHarts?.forEach((s, i) => this.harts[i + 1].loadState(s));
    [this.#turn, this.#sliceLeft] = state.turn ?? [0, SLICE];
    this.clock.loadState(state.clock);
    this.devices.loadState(state.devices);
    if (this.#software) this.#software.loadState?.(state.software);
    const h = state.halted; // snapshots of format version 2 have no message
    this.halted = h && { ...h, message: h.message ?? haltMessage(h.reason, h.code) };
    this.#consoleTail = state.consoleTail;
    this.#consoleTotal = state.consoleTotal;
    this.#untilWindow = null;
  }

  /**
   * Instructions the guest retired since reset: the hart's, plus those the
   * machine-mode software (the hypervisor) completed by emulation. Bare, the
   * hart's count.
   */
  get guestInstructions(): number {
    return this.hostInstructions + (this.#software?.emulated ?? 0);
  }

  /** Delivers a byte of guest console output (UART transmit). */
  emitConsole(byte: number): void {
    this.#consoleOut?.(byte);
    this.#consoleTail += String.fromCharCode(byte);
    this.#consoleTotal++;
    if (this.#consoleTail.length > 8192) this.#consoleTail = this.#consoleTail.slice(-4096);
  }

  /** True if `text` ends within the console output emitted since byte count `start`. */
  #printedSince(start: number, text: string): boolean {
    const fresh = this.#consoleTotal - start;
    if (fresh === 0) return false;
    const tail = this.#consoleTail;
    return tail.includes(text, Math.max(0, tail.length - fresh - text.length + 1));
  }

  /** Console output seen so far (the last few KiB, as Latin-1 text). */
  get consoleText(): string {
    return this.#consoleTail;
  }

  /** Feeds bytes to the UART as if typed on its line. */
  input(bytes: Uint8Array | string): void {
    this.uart.pushInput(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }

  /**
   * Makes the current run (or the next, if none is running) return with stop
   * `pause` at the next instruction boundary. Safe from a hook inside the run
   * and from another task; run again to resume.
   */
  pause(): void {
    this.#pauseRequested = true;
    this.#stopHarts();
  }

  /**
   * Stops the machine for good (syscon, tohost, a hook, an error); `message`
   * (one line) says why when the reason alone does not.
   */
  halt(reason: HaltReason, code: number, message: string = haltMessage(reason, code)): void {
    if (this.halted) return;
    this.halted = { reason, code, message };
    this.#stopHarts();
    if (this.events.wants("halt")) {
      this.events.emit("halt", { reason, code: this.exitCode, message });
    }
  }

  /** Process exit code that reflects the halt: 0 for poweroff and HTIF pass. */
  get exitCode(): number {
    const h = this.halted;
    if (!h) return 0;
    if (h.reason === "fail" || h.reason === "htif") {
      return h.code || (h.reason === "fail" ? FAIL_WITHOUT_CODE : 0);
    }
    return h.reason === "error" ? (h.code || 1) : 0;
  }

  /** HTIF: a write of value v with bit 0 set to `tohost` ends the run with exit code v >> 1. */
  #checkTohost(): void {
    const code = tohostExitCode(this.bus, this.#tohost);
    if (code >= 0) this.halt("htif", code);
  }

  /**
   * Runs until a halt, the console shows `until`, or a limit. The `until`
   * window opens at the first run asking for that text and stays open across
   * runs that stop for other reasons, until the text is seen; a run for
   * another text opens a new window. When stops coincide, halt wins, then
   * pause/breakpoint/watchpoint, then `until` (a coinciding `until` is then
   * reported by the next run at once), then the instruction limit and timeout.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const until = options.until;
    if (until !== undefined && this.#untilWindow?.text !== until) {
      this.#untilWindow = { text: until, start: this.#consoleTotal };
    }
    let consoleStart = this.#untilWindow?.start ?? 0;
    const harts = this.harts, smp = harts.length > 1;
    /** Traps taken in batches that retired nothing: a guest stuck in a trap loop. */
    let stalledTraps = 0;
    /** Idle turns in a row whose next deadline had already passed (so no skip moved time). */
    let idleAtDeadline = 0;
    const startRetired = this.hostInstructions, startGuest = this.guestInstructions;
    const t0 = performance.now();
    const limit = options.maxInstructions ?? Infinity;
    const deadline = options.timeoutMs === undefined ? Infinity : t0 + options.timeoutMs;
    let lastYield = t0;
    const result = (stop: RunResult["stop"]): RunResult => ({
      stop,
      reason: this.halted?.reason,
      message: this.halted?.message,
      exitCode: this.exitCode,
      guestInstructions: this.guestInstructions - startGuest,
      hostInstructions: this.hostInstructions - startRetired,
      wallMs: performance.now() - t0,
    });
    const seen = () => {
      if (until === undefined) return false;
      if (!this.#printedSince(consoleStart, until)) {
        // The next look starts where this one ended: searching the whole tail after every
        // batch cost a Linux boot waiting for its prompt 2% of its time.
        consoleStart = this.#consoleTotal;
        if (this.#untilWindow !== null) this.#untilWindow.start = consoleStart;
        return false;
      }
      this.#untilWindow = null;
      return true;
    };
    if (!this.halted && !this.#pauseRequested && seen()) return result("until");
    while (true) {
      if (this.halted) return result("halt");
      if (this.#pauseRequested) {
        this.#pauseRequested = false;
        return result("pause");
      }
      // A trap loop retires nothing: its traps count toward the limit instead.
      const done = this.hostInstructions - startRetired + stalledTraps;
      if (done >= limit) return result("limit");
      const hart = smp ? this.#nextHart() : this.hart;
      const idle = hart === null;
      let stop: number = StopReason.WFI;
      if (hart !== null) {
        const retiredBefore = hart.retired, trapsBefore = hart.trapsTaken;
        // Virtual time: never past the next timer or RTC alarm deadline, so the interrupt comes at
        // its instruction.
        const toTimer = this.clock.instructionsUntil(
          this.#nextDeadline(),
        );
        const batch = smp ? this.#sliceLeft : BATCH;
        this.#lastHart = hart;
        stop = hart.run(Math.min(batch, limit - done, toTimer > 0 ? toTimer : batch));
        const traps = hart.trapsTaken - trapsBefore;
        if (hart.retired === retiredBefore) stalledTraps += traps;
        if (smp) this.#endTurn(hart, hart.retired - retiredBefore + traps);
      }
      this.devices.update();
      this.#software?.poll();
      if (this.#tohost >= 0) this.#checkTohost();
      if (this.halted) return result("halt");
      // A hook paused the run, or a breakpoint/watchpoint handler asked to stop: hand control back.
      if (
        this.#pauseRequested || stop === StopReason.BREAKPOINT || stop === StopReason.WATCHPOINT
      ) {
        this.#pauseRequested = false;
        return result(
          stop === StopReason.BREAKPOINT
            ? "breakpoint"
            : stop === StopReason.WATCHPOINT
            ? "watchpoint"
            : "pause",
        );
      }
      if (seen()) return result("until");
      const now = performance.now();
      if (now >= deadline) return result("timeout");
      if (smp ? idle : stop === StopReason.WFI && !this.hart.interruptPending) {
        // Idle: jump virtual time to the next timer deadline, or wait for real time/input.
        const next = this.#nextDeadline();
        // A passed deadline wakes a hart once (its interrupt comes through below); a second
        // idle turn at it is a deadline nothing takes (masked): wait, never spin unyielding.
        idleAtDeadline = next <= this.clock.now() ? idleAtDeadline + 1 : 0;
        if (idleAtDeadline > 1 || !(Number.isFinite(next) && this.clock.skipTo(next))) {
          await sleep(Math.min(1, Math.max(0, deadline - now)));
          lastYield = performance.now();
        }
        this.devices.update();
        this.#software?.poll();
        for (const h of harts) if (h.interruptPending) h.waiting = false;
        continue;
      }
      idleAtDeadline = 0;
      if (now - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  }

  /**
   * The hart whose turn it is (the scheduler's current one, or the next in
   * hart-id order that is not waiting in wfi without an interrupt pending),
   * or null when every hart waits.
   */
  #nextHart(): Hart | null {
    const harts = this.harts;
    for (let i = 0; i < harts.length; i++) {
      const h = harts[this.#turn];
      if (!h.waiting || h.interruptPending) return h;
      this.#turn = (this.#turn + 1) % harts.length;
      this.#sliceLeft = SLICE;
    }
    return null;
  }

  /**
   * Charges `used` instructions (and traps) to `hart`'s slice; when the slice
   * is spent or the hart waits in wfi, the next hart's turn begins, and the
   * hart gives up its LR reservation (see {@linkcode Hart.dropReservation}).
   */
  #endTurn(hart: Hart, used: number): void {
    this.#sliceLeft -= used;
    if (this.#sliceLeft > 0 && !hart.waiting) return;
    hart.dropReservation();
    this.#turn = (this.#turn + 1) % this.harts.length;
    this.#sliceLeft = SLICE;
  }
}

function haltMessage(reason: HaltReason, code: number): string {
  return reason === "fail" ? `guest reported failure ${code}` : `guest ${reason}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Lets the event loop run (input, timers, I/O) and resumes at once: a message
 * to a fresh channel is a macrotask without a timer's delay. `setTimeout(0)`
 * took about 2 ms in Deno, which every 50 ms of running cost a Linux boot 4%
 * of its wall time.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
    port2.close();
  });
}
