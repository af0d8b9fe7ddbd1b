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
import type { Hart } from "../core/hart.ts";
import { out } from "../core/int64.ts";
import type { Mmu } from "../core/mmu.ts";
import type { BlockBackend } from "../devices/block.ts";
import type { BootImages, DiskSlot } from "../devices/board.ts";
import { type RunOptions, type RunResult, VirtMachine } from "../devices/virt.ts";
import { type AddressRange, compileFilter, type HookFilter, type HookHandle } from "./hooks.ts";
import { createHypervisorMachine, type Hypervisor } from "./hypervisor.ts";
import { csrIndex, peekTranslate, REG_NAMES, regIndex, type RegName } from "./inspect.ts";
import type { GuestException } from "./vcpu.ts";

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
  /** A disk where QEMU puts its first `-drive` (the highest free virtio-mmio slot). */
  disk?: BlockBackend;
  /** Disks, each in a chosen virtio-mmio slot (0..7) or in the highest free one. */
  disks?: readonly DiskSlot[];
  /** `host` (wall clock, default) or `virtual` (instruction count: reproducible runs). */
  clock?: ClockMode;
  /** The RTC's time at start-up in ms since the Unix epoch (default: the host's time). */
  rtcBase?: number;
  /** Compile hot guest code to JavaScript functions (core/translate.ts); default off. */
  translate?: boolean;
  /** Receives every console byte (the streams of {@linkcode Machine} are the other way). */
  console?: (byte: number) => void;
}

/** An SBI call as an ecall hook sees it (SBI calling convention: a7 = EID, a6 = FID). */
export interface SbiCall {
  /** Extension id (a7, low 32 bits, unsigned). */
  eid: number;
  /** Function id (a6, low 32 bits, unsigned). */
  fid: number;
  /** a0..a5. */
  args: bigint[];
  /** Guest privilege the ecall came from (1 = S for SBI calls). */
  from: Priv;
  /** Guest pc of the ecall. */
  pc: number;
}

/** What an ecall hook returns to complete the call: a0 = error, a1 = value. */
export interface SbiResult {
  /** SBI error code (0 = success, -2 = not supported...). */
  error: bigint | number;
  /** Return value. */
  value?: bigint | number;
}

/** A watchpoint hit as a watch hook sees it. */
export interface WatchHit {
  /** Virtual address of the access. */
  addr: number;
  /** Access size in bytes. */
  size: number;
  /** True for stores. */
  write: boolean;
  /** pc of the accessing instruction. */
  pc: number;
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
  /** Instructions the host hart retired. */
  readonly retired: number;
  /** Hypervisor exits by kind (empty when bare). */
  readonly exitCounts: ReadonlyMap<ExitKind, number>;
  /** Traps injected into the guest by cause key ("exc 13", "irq 5"; empty when bare). */
  readonly guestTraps: ReadonlyMap<string, number>;
}

const MAX_PC_RANGE = 65536;
const ECALL_CAUSES: readonly number[] = [Cause.ECALL_U, Cause.ECALL_S, Cause.ECALL_M];

interface ExceptionHook {
  fn: (e: GuestException, machine: Machine) => void;
  causes: ReadonlySet<number> | null;
}

/** The scripting facade of a machine; create one with {@linkcode createMachine}. */
export class Machine {
  /** The underlying `virt` machine (host view: bus, hart, devices, raw event bus). */
  readonly vm: VirtMachine;
  /** The hypervisor, or null when the guest runs bare. */
  readonly hypervisor: Hypervisor | null;
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
  #stdin: WritableStream<Uint8Array | string> | null = null;

  /**
   * Wraps an existing machine (boot.ts does this for `--script`); a machine made
   * by `createHypervisorMachine` is recognised by its `hypervisor` property.
   */
  constructor(vm: VirtMachine) {
    this.vm = vm;
    this.hypervisor = (vm as { hypervisor?: Hypervisor }).hypervisor ?? null;
    this.events = vm.events;
  }

  /** `hypervisor` when the guest runs under the hypervisor, else `bare`. */
  get mode(): "bare" | "hypervisor" {
    return this.hypervisor ? "hypervisor" : "bare";
  }

  // ------------------------------------------------------------ run control

  /**
   * Runs until a halt, `until` appears in new console output, `maxInstructions`
   * host instructions, `timeoutMs`, a {@linkcode pause}, or a pc/watch hook that
   * asks to stop. The result's `stop` says which.
   */
  run(options: RunOptions = {}): Promise<RunResult> {
    this.#lastRun = options;
    return this.vm.run(options);
  }

  /** Runs on after a pause or a stopping hook, with `options` or the last run's. */
  resume(options: RunOptions = this.#lastRun): Promise<RunResult> {
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
   */
  async step(): Promise<number> {
    const vm = this.vm, hart = vm.hart, hv = this.hypervisor;
    if (vm.halted) return hart.pc;
    if (hart.waiting) {
      await vm.run({ maxInstructions: 1 });
      return hart.pc;
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
    return hart.pc;
  }

  /** The halt that ended the machine, or null while it can run. */
  get halted(): { reason: string; code: number } | null {
    return this.vm.halted;
  }

  /** Process exit code reflecting the halt (0 for poweroff). */
  get exitCode(): number {
    return this.vm.exitCode;
  }

  // ---------------------------------------------------------------- console

  /** Sends bytes or text to the guest's console (its UART receive line). */
  send(input: Uint8Array | string): void {
    this.vm.input(input);
  }

  /** The last few KiB of console output, as text. */
  get consoleText(): string {
    return this.vm.consoleText;
  }

  /**
   * Console output as a byte stream, from the moment this property is first
   * read (it subscribes then). Chunks are delivered when the run loop yields
   * (about every 50 ms of running, and when a run returns).
   */
  get stdout(): ReadableStream<Uint8Array> {
    if (this.#stdout) return this.#stdout;
    let pending: number[] = [];
    let controller: ReadableStreamDefaultController<Uint8Array>;
    let off: (() => void) | null = null;
    this.#stdout = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        off = this.events.on("console", (e) => {
          if (pending.length === 0) {
            queueMicrotask(() => {
              const chunk = Uint8Array.from(pending);
              pending = [];
              controller.enqueue(chunk);
            });
          }
          for (const b of e.bytes) pending.push(b);
        });
      },
      cancel: () => off?.(),
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
    this.vm.hart.setReg(regIndex(reg), BigInt(value));
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
    this.vm.hart.pc = value;
  }

  /** The guest's privilege mode (under the hypervisor: its virtual one). 3 = M, 1 = S, 0 = U. */
  get priv(): Priv {
    return this.hypervisor ? this.hypervisor.guest.vcpu.priv : this.vm.hart.priv;
  }

  /** Reads a guest CSR (name or number; virtual under the hypervisor); null if it does not exist. */
  readCsr(csr: number | string): bigint | null {
    const num = csrIndex(csr);
    if (!this.hypervisor) return this.vm.hart.readCsr(num);
    if (!this.hypervisor.guest.vcpu.csr.read(num)) return null;
    return (BigInt(out[1]) << 32n) | BigInt(out[0] >>> 0);
  }

  /** Writes a guest CSR as guest M-mode would (WARL rules apply); false if it does not exist. */
  writeCsr(csr: number | string, value: bigint | number): boolean {
    const num = csrIndex(csr), v = BigInt(value);
    if (!this.hypervisor) return this.vm.hart.writeCsr(num, v);
    const lo = Number(BigInt.asIntN(32, v)), hi = Number(BigInt.asIntN(32, v >> 32n));
    const ok = this.hypervisor.guest.vcpu.csr.write(num, lo, hi);
    this.hypervisor.memory.switchRoot(); // satp, mstatus or PMP may change the translation
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
    const csr = this.hypervisor ? this.hypervisor.guest.vcpu.csr : this.vm.hart.csr;
    return peekTranslate(this.#guestBus, this.#guestMmu, va, csr.dataPriv === 3);
  }

  /** Reads guest-physical RAM; throws RangeError outside RAM. */
  readPhysical(pa: number, length: number): Uint8Array {
    const bus = this.#guestBus;
    const off = bus.ramOffset(pa, Math.max(1, length));
    if (off < 0) throw new RangeError(`0x${pa.toString(16)}+${length} is not guest RAM`);
    return bus.ram.slice(off, off + length);
  }

  /** Writes guest-physical RAM (decoded code there is dropped); throws RangeError outside RAM. */
  writePhysical(pa: number, bytes: Uint8Array): void {
    const bus = this.#guestBus;
    if (bus.ramOffset(pa, Math.max(1, bytes.length)) < 0) {
      throw new RangeError(`0x${pa.toString(16)}+${bytes.length} is not guest RAM`);
    }
    bus.loadBytes(pa, bytes);
  }

  /** Reads guest virtual memory through the guest's page table; RangeError if unmapped. */
  readVirtual(va: number, length: number): Uint8Array {
    const result = new Uint8Array(length);
    this.#eachPage(va, length, (pa, at, n) => result.set(this.readPhysical(pa, n), at));
    return result;
  }

  /** Writes guest virtual memory through the guest's page table; RangeError if unmapped. */
  writeVirtual(va: number, bytes: Uint8Array): void {
    this.#eachPage(va, bytes.length, (pa, at, n) => {
      this.writePhysical(pa, bytes.subarray(at, at + n));
    });
  }

  /** Reads a little-endian 64-bit value from guest virtual memory. */
  readU64(va: number): bigint {
    return new DataView(this.readVirtual(va, 8).buffer).getBigUint64(0, true);
  }

  /** Reads a NUL-terminated string (Latin-1, at most `max` bytes) from guest virtual memory. */
  readString(va: number, max = 256): string {
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
    const { kernel, bios } = this.images;
    const addr = kernel?.symbols.get(name) ?? bios?.symbols.get(name);
    if (addr === undefined) throw new RangeError(`no symbol ${name} in the guest's images`);
    return addr;
  }

  /** Guest instructions retired (under the hypervisor: native plus emulated). */
  get instructions(): number {
    return this.vm.hart.retired + (this.hypervisor?.guest.vcpu.emulated ?? 0);
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
   * console, halt. For trap hooks pc is the trapping instruction's.
   */
  hook<K extends Topic>(topic: K, fn: Hook<K>, filter?: HookFilter): HookHandle {
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
    const [lo, hi] = typeof addr === "number" ? [addr, addr + 1] : addr;
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
   * the kinds asked for (default: writes); returning true stops the run after
   * that instruction (`stop: "watchpoint"`).
   */
  watch(
    addr: number,
    length: number,
    fn: (hit: WatchHit, machine: Machine) => boolean | void,
    kinds: { read?: boolean; write?: boolean } = { write: true },
  ): HookHandle {
    const hart = this.vm.hart;
    const w = { addr, length, read: kinds.read ?? false, write: kinds.write ?? false };
    const entry = { w, fn };
    this.#watchHooks = [...this.#watchHooks, entry];
    hart.addWatchpoint(w);
    hart.onWatchpoint = (a, size, write, pc) => {
      let stop = false;
      for (const h of this.#watchHooks) {
        const x = h.w;
        if (a + size <= x.addr || a >= x.addr + x.length || !(write ? x.write : x.read)) continue;
        if (h.fn({ addr: a, size, write, pc }, this) === true) stop = true;
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
    const entry: ExceptionHook = {
      fn,
      causes: causes === undefined ? null : new Set(typeof causes === "number" ? [causes] : causes),
    };
    this.#exceptionHooks = [...this.#exceptionHooks, entry];
    this.#updateExceptionDispatch();
    return handle(() => {
      this.#exceptionHooks = this.#exceptionHooks.filter((h) => h !== entry);
      this.#updateExceptionDispatch();
    });
  }

  /**
   * Implements guest ecalls (SBI calls from S-mode, system calls...) in
   * TypeScript: `fn` sees each ecall whose extension id (a7) is in `eids`
   * (default: all) and returns a result to complete it (a0 = error, a1 =
   * value, pc past the ecall) or undefined to let the guest's own handler
   * (firmware or kernel) take it.
   */
  hookEcall(
    fn: (call: SbiCall, machine: Machine) => SbiResult | undefined | void,
    eids?: number | readonly number[],
  ): HookHandle {
    const wanted = eids === undefined ? null : new Set(typeof eids === "number" ? [eids] : eids);
    return this.hookException((e, m) => {
      const hart = m.vm.hart;
      const eid = hart.xl[17] >>> 0;
      if (wanted !== null && !wanted.has(eid)) return;
      const args = [10, 11, 12, 13, 14, 15].map((r) => hart.getReg(r));
      const r = fn({ eid, fid: hart.xl[16] >>> 0, args, from: e.from, pc: e.pc }, m);
      if (r === undefined) return;
      hart.setReg(10, BigInt(r.error));
      hart.setReg(11, BigInt(r.value ?? 0));
      hart.pc = e.pc + 4;
      if (m.hypervisor) m.hypervisor.guest.vcpu.emulated++; // the ecall retired
      e.handled = true;
    }, ECALL_CAUSES);
  }

  /** Installs (or removes) the one dispatcher that feeds exception hooks. */
  #updateExceptionDispatch(): void {
    const active = this.#exceptionHooks.length !== 0;
    if (this.hypervisor) {
      this.hypervisor.guest.vcpu.onException = active ? (e) => this.#dispatchException(e) : null;
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

function sum(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
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

/**
 * Creates a machine from a plain config object: bare (`hypervisor: false`) or
 * with the guest under the hypervisor (the default). The machine is at its
 * reset vector; add hooks, then {@linkcode Machine.run}.
 */
export function createMachine(config: MachineConfig = {}): Machine {
  const { hypervisor = true, guestOffset, shadowPages, ...common } = config;
  const vm = hypervisor
    ? createHypervisorMachine({ ...common, guestOffset, shadowPages })
    : new VirtMachine(common);
  return new Machine(vm);
}
