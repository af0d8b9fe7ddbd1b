/**
 * The machine-mode hypervisor (the seed's hypervisor.c and hypenterleave.S):
 * initialisation, the entry from every host trap, trap injection into the
 * guest, and delivery of the guest's virtual interrupts.
 *
 * Data flow: guest instruction traps in host U-mode -> Hart.onTrap -> exit
 * dispatch (exits.ts) -> virtual CSRs / shadow fill / device emulation ->
 * pending virtual interrupts delivered -> host satp set for the guest's
 * context -> back to the guest.
 *
 * Host memory layout: [RAM base: boot ROM page][page pool for shadow tables]
 * [guest window: guest RAM at RAM base + offset]. Host PMP lets host U-mode
 * touch only the window, the ROM page (read/execute) and the pool (read, for
 * the host MMU's walks), so even a wrong shadow entry cannot leak host memory.
 *
 * @module
 */

import { RAM_BASE } from "../core/bus.ts";
import type { ClockMode } from "../core/clock.ts";
import { Csr, Mstatus } from "../core/csr.ts";
import { out } from "../core/int64.ts";
import type { ExitEvent, ExitKind, HaltReason, Priv } from "../core/events.ts";
import type { Hart } from "../core/hart.ts";
import type { BlockBackend } from "../devices/block.ts";
import {
  type BootImages,
  configDisks,
  type DiskSlot,
  imagesSnapshotConfig,
  MachineConfigError,
  tohostExitCode,
  type VirtDevicesState,
} from "../devices/board.ts";
import type { CsrFileState } from "../core/csrfile.ts";
import type { SnapshotConfig } from "../core/snapshot.ts";
import { BOOT_ROM_BASE } from "../devices/bootrom.ts";
import { type MachineSoftware, VirtMachine } from "../devices/virt.ts";
import { ExitHandler } from "./exits.ts";
import { Guest } from "./guest.ts";
import { PageAllocator } from "./pagealloc.ts";
import { SbiFirmware } from "./sbi.ts";
import { GuestTimer } from "./timer.ts";
import { GuestMemory, type GuestMemoryState } from "./vmem.ts";
import { formatReport } from "./panic.ts";

/** Default host offset of guest RAM, as the seed's `src/vmem.h`. */
export const DEFAULT_GUEST_OFFSET = 0x500_0000;
const MiB = 1024 * 1024;
/** Guest traps in a row with no guest instruction retired that count as a double fault. */
const DOUBLE_FAULT_LIMIT = 1000;
/** Exits in a row with no guest instruction retired or emulated that mean the hypervisor is stuck. */
const STUCK_LIMIT = 100_000;
/** Exits remembered for diagnostics. */
const EXIT_HISTORY = 32;
/** The TM bit of mcounteren/scounteren. */
const COUNTER_TM = 1 << 1;

/** Configuration of a machine that runs a guest under the hypervisor. */
export interface HypervisorConfig extends BootImages {
  /** Guest RAM size in bytes (default 128 MiB). */
  memory?: number;
  /** Host physical offset of guest RAM from RAM base (default 0x500_0000). */
  guestOffset?: number;
  /** A guest disk where QEMU puts its first `-drive` (the highest free slot), before `disks`. */
  disk?: BlockBackend;
  /** Guest disks, each in a chosen virtio-mmio slot or in the highest free one. */
  disks?: readonly DiskSlot[];
  /** How mtime advances (default `host`). */
  clock?: ClockMode;
  /** vCPUs, 1 to 8 (default 1): vCPU i runs on host hart i of a machine with as many. */
  smp?: number;
  /** The guest RTC's time at start-up in ms since the Unix epoch (default: the host's time). */
  rtcBase?: number;
  /** The guest hart's ISA: `rv64imafdc`/`rv64gc` (default: F and D) or `rv64imac`. */
  isa?: string;
  /** Compile hot code (the guest's, run in host U-mode): wasm where it can, else JavaScript (or `"js"`, `"wasm"`); default on. */
  jit?: boolean | "js" | "wasm";
  /**
   * Interpreter visits of an address before a block is compiled there
   * (1..65534; default 500 with wasm blocks, 5,000 with JavaScript blocks).
   */
  jitThreshold?: number;
  /** Receives the guest's console output. */
  console?: (byte: number) => void;
  /**
   * Limit of the shadow page-table pool in 4 KiB pages (default: all host RAM
   * between the ROM page and the window). Small pools force reclaims; at least 4.
   */
  shadowPages?: number;
  /**
   * Who answers the guest's SBI calls: `guest` (default) runs the guest's own
   * firmware (`bios`, e.g. OpenSBI) in virtual M-mode from the boot ROM;
   * `builtin` makes the hypervisor the firmware (hypervisor/sbi.ts): no bios,
   * the kernel starts in virtual S-mode at 0x8020_0000 (or its ELF load address).
   */
  firmware?: "guest" | "builtin";
}

/**
 * Where one of several guests lives in host RAM and where its output and halt
 * go (hypervisor/guests.ts lays guests out); a single guest's place is the
 * whole host RAM above the ROM page and the machine's own console and halt.
 */
export interface GuestPlace {
  /** Host page holding the guest's boot ROM. */
  romPage: number;
  /** The guest's shadow page pool: [poolBase, poolEnd). */
  poolBase: number;
  /** End of the pool. */
  poolEnd: number;
  /** Host physical address of guest-physical RAM base. */
  windowBase: number;
  /** Guest console output. */
  console: (byte: number) => void;
  /** The guest halted (poweroff, fail, reset, HTIF, a panic). */
  halt: (reason: HaltReason, code: number, message?: string) => void;
  /** How reports name the guest (`guest 1`). */
  label?: string;
}

/** A guest's integer registers and pc (the host hart's, or saved while another guest runs). */
export interface GuestRegisters {
  /** Low halves of x0..x31. */
  readonly xl: ArrayLike<number>;
  /** High halves. */
  readonly xh: ArrayLike<number>;
  /** pc. */
  readonly pc: number;
}

/** One remembered exit, for diagnostics. */
export interface ExitRecord {
  /** Exit class. */
  kind: ExitKind;
  /** Guest pc. */
  pc: number;
  /** Host mtval. */
  tval: number;
  /** Virtual mode. */
  vpriv: Priv;
}

/** Shadow page-table figures ({@linkcode Hypervisor.shadowStats}), summed over a guest's vCPUs. */
export interface ShadowStats {
  /** Pages in the pools. */
  capacity: number;
  /** Pages in use. */
  used: number;
  /** Leaf entries written (shadow fills). */
  fills: number;
  /** Times a pool was emptied: the guest flushed everything, or the pool ran dry. */
  resets: number;
  /** Of those resets, the times the pool ran dry. */
  reclaims: number;
}

/** Saved state of one vCPU's hypervisor (see {@linkcode Hypervisor.saveState}). */
export interface VcpuState {
  /** The vCPU's CSRs and MMU state. */
  vcpu: CsrFileState;
  /** Guest instructions completed by emulation. */
  emulated: number;
  /** Shadow paging. */
  memory: GuestMemoryState;
  /** The host timer deadline armed for the vCPU (NaN: none yet). */
  timerArmed: number;
  /** Double-fault and no-progress watchdog counters. */
  progress: number[];
  /** Exit counts by kind. */
  exitCounts: [ExitKind, number][];
  /** The last exits. */
  recentExits: ExitRecord[];
  /** Injected guest traps by cause. */
  guestTraps: [string, number][];
  /** Host instructions retired while other guests ran (absent: 0). */
  retiredOffset?: number;
  /** Stopped by the built-in firmware's HSM (absent: running). */
  stopped?: boolean;
  /** The built-in firmware's HSM state, redirected traps and calls by extension (absent: none). */
  firmware?: [number, number, [number, number][]];
  /** The panic report, if one stopped the run. */
  panicReport: string | null;
  /** Whether that panic was the guest's fault. */
  panicIsGuestFault: boolean;
}

/** Saved state of a {@linkcode Hypervisor}: vCPU 0's, the guest's board, and the other vCPUs'. */
export interface HypervisorState extends VcpuState {
  /** The guest's board. */
  devices: VirtDevicesState;
  /** vCPUs 1.. (absent with one vCPU). */
  moreVcpus?: VcpuState[];
}

/**
 * The hypervisor of one guest: owns the host hart's traps while that guest
 * runs (several guests each have one, switched by hypervisor/guests.ts).
 */
export class Hypervisor implements MachineSoftware {
  /** The guest machine. */
  readonly guest: Guest;
  /** Shadow paging. */
  readonly memory: GuestMemory;
  /** This vCPU's exit counts by class ({@linkcode exitCounts}: the guest's). */
  readonly vcpuExitCounts: Map<ExitKind, number> = new Map();
  /** This vCPU's last exits, oldest first (records are reused by later exits: copy one to keep it). */
  readonly recentExits: ExitRecord[] = [];
  /** Guest traps this vCPU injected, by virtual cause ("irq 7", "exc 8"; {@linkcode guestTraps}: the guest's). */
  readonly vcpuGuestTraps: Map<string, number> = new Map();
  /** The built-in SBI firmware (config `firmware: "builtin"`), or null. */
  readonly firmware: SbiFirmware | null;
  readonly #hart: Hart;
  readonly #exits: ExitHandler;
  readonly #timer: GuestTimer;
  readonly #exitEvent: ExitEvent = {
    kind: "timer",
    cause: 0,
    interrupt: false,
    pc: 0,
    tval: 0,
    vpriv: 3,
  };
  #trapsWithoutProgress = 0;
  #retiredAtLastTrap = -1;
  #exitsWithoutProgress = 0;
  #progressMark = -1;
  readonly #place: GuestPlace;
  /** Which vCPU of the guest this hypervisor runs (on host hart `vcpuIndex`). */
  readonly vcpuIndex: number;
  /**
   * The hypervisors of all the guest's vCPUs, by index (shared by them all):
   * the first is the machine's, the others are reached through it.
   */
  readonly vcpus: Hypervisor[];
  /** A stopped vCPU (builtin firmware's HSM): its host hart sleeps with no interrupt enabled. */
  stopped = false;
  /**
   * Host instructions retired while other guests ran: this guest's own count
   * (its minstret, virtual time aside) is the host's minus these.
   */
  retiredOffset = 0;
  /** The guest's registers while another guest has the host hart (null: they are the hart's). */
  savedRegisters: GuestRegisters | null = null;

  /**
   * Without `place`, the one guest takes all host RAM above the ROM page and
   * the pool, and starts at once; with it, the guest starts at its first
   * {@linkcode enter}. With `first`, this is vCPU `index` of `first`'s guest
   * (made by `first`'s constructor for config `smp`).
   */
  constructor(
    readonly machine: VirtMachine,
    readonly config: HypervisorConfig,
    readonly guestOffset: number,
    place?: GuestPlace,
    first?: Hypervisor,
    index: number = 0,
  ) {
    this.vcpuIndex = index;
    const hart = this.#hart = machine.harts[index];
    const bus = machine.bus;
    const windowBase = RAM_BASE + guestOffset;
    const guestMemory = config.memory ?? bus.ramSize - guestOffset;
    const smp = config.smp ?? 1;
    this.vcpus = first?.vcpus ?? [];
    this.vcpus.push(this);
    this.#place = (first ? first.#place : place) ?? {
      romPage: RAM_BASE,
      poolBase: RAM_BASE + 4096,
      poolEnd: windowBase,
      windowBase,
      console: (b) => machine.emitConsole(b),
      halt: (reason, code, message) => machine.halt(reason, code, message),
    };
    const { romPage, halt } = this.#place;
    this.guest = first ? first.guest.forVcpu(index) : new Guest({
      hostBus: bus,
      windowBase,
      memory: guestMemory,
      romPage,
      clock: machine.clock,
      events: machine.events,
      hostRetired: (i) => machine.harts[i].retired - this.vcpus[i].retiredOffset,
      vcpus: smp,
      console: this.#place.console,
      halt: (reason, code) => halt(reason, code),
      disks: configDisks(config),
      rtcBase: config.rtcBase,
      builtinFirmware: config.firmware === "builtin",
      fpu: hart.csr.fpu,
    }, config);
    // Each vCPU has its own shadow tables (its own satp and mode, flushed by its own
    // sfence.vma as on hardware) in its share of the pool.
    const pool = Math.min(
      this.#place.poolEnd - this.#place.poolBase,
      (config.shadowPages ?? Infinity) * 4096,
    );
    const share = Math.floor(pool / smp / 4096) * 4096;
    const poolBase = this.#place.poolBase + index * share;
    const pages = new PageAllocator(bus, poolBase, smp === 1 ? poolBase + pool : poolBase + share);
    this.memory = new GuestMemory(hart, this.guest, pages);
    this.#timer = new GuestTimer(machine.clint, this.guest.devices.clint, index);
    this.firmware = config.firmware === "builtin"
      ? new SbiFirmware({
        hart,
        guest: this.guest,
        memory: this.memory,
        timer: this.#timer,
        halt: (reason, code) => halt(reason, code),
        contextChanged: () => this.memory.switchRoot(),
        fatal: (message) => this.#panic(message, true),
        vcpus: () => this.vcpus.map((v) => v.firmware!),
        start: (i, pc, opaque) => this.vcpus[i].#start(pc, opaque),
        stop: () => this.#stop(),
      })
      : null;
    this.#exits = new ExitHandler(hart, this.guest, this.memory, this.#timer, {
      injectException: (cause, tval, pc) => this.#inject(cause, false, tval, pc),
      contextChanged: () => this.memory.switchRoot(),
      invariantFailed: (message) => this.#panic(message, false),
      guestHung: (message) => this.#panic(message, true),
    }, this.firmware);
    this.guest.vcpu.csr.triggers.onChange = () => this.#syncTriggers();
    if (first) return;
    // A new alarm ends the batch, as a host mtimecmp write does, so the next is cut to it.
    if (machine.clock.mode === "virtual") {
      this.guest.devices.rtc.onAlarmWrite = () => {
        for (const h of machine.harts) h.requestStop();
      };
    }
    for (let i = 1; i < smp; i++) new Hypervisor(machine, config, guestOffset, place, this, i);
    if (place) return;
    for (const v of this.vcpus) v.enter();
    machine.attach(this, this.guest.devices.uart);
  }

  /** Host physical end of the guest's RAM window. */
  get windowEnd(): number {
    return this.guest.windowBase + this.guest.bus.ramSize;
  }

  /**
   * Host M-mode set-up, then "mret" into host U-mode at the guest's reset
   * vector: PMP confines host U-mode, timer interrupts enabled, every trap
   * comes here.
   */
  enter(): void {
    const csr = this.#hart.csr;
    // The hypervisor runs in host M-mode; another guest may have had the hart in U-mode.
    csr.priv = 3;
    this.#confine();
    csr.write(Csr.mie, 1 << 7, 0); // MTIE: the guest timer arrives as a host timer interrupt
    // Counters trap (so the guest's counter-enable rules apply), but `time`, the same mtime
    // for host and guest, is read natively whenever the guest may read it (#syncTime).
    csr.write(Csr.mcounteren, 0, 0);
    csr.write(Csr.scounteren, COUNTER_TM, 0);
    csr.write(Csr.mstatus, 0, 0); // MPP = U
    // The guest's own firmware starts at the boot ROM in virtual M-mode (every vCPU, as
    // QEMU starts every hart); the built-in one sets up virtual M-mode and the kernel's
    // registers itself and starts the boot vCPU in virtual S-mode (so only once the
    // guest's registers are on the hart), the others stopped until HSM's hart_start.
    if (this.firmware && this.vcpuIndex > 0) {
      this.takeTraps(); // already here: a restored snapshot may have it started
      this.#stop();
      return;
    }
    const start = this.firmware ? this.firmware.boot() : BOOT_ROM_BASE;
    csr.write(Csr.mepc, start | 0, Math.floor(start / 4294967296));
    this.#hart.pc = csr.mret();
    this.activate();
  }

  /**
   * HSM hart_start of this stopped vCPU: the built-in firmware's state for
   * the kernel (as at boot) with a0 = hart id, a1 = `opaque`, at `pc` in
   * virtual S-mode; its host hart runs again with the host timer enabled.
   */
  #start(pc: number, opaque: readonly [number, number]): void {
    this.stopped = false;
    const csr = this.#hart.csr;
    csr.priv = 3;
    this.#confine();
    csr.write(Csr.mie, 1 << 7, 0);
    csr.write(Csr.mcounteren, 0, 0);
    csr.write(Csr.mstatus, 0, 0); // MPP = U
    const start = this.firmware!.boot(pc, opaque);
    csr.write(Csr.mepc, start | 0, Math.floor(start / 4294967296));
    this.#hart.pc = csr.mret();
    this.#hart.waiting = false;
    this.activate();
  }

  /**
   * Stops this vCPU (HSM hart_stop, or a secondary vCPU at boot under the
   * built-in firmware): no host interrupt is enabled, so its host hart waits
   * until {@linkcode #start}; the run loop's turn passes to the others.
   */
  #stop(): void {
    this.stopped = true;
    this.#hart.csr.write(Csr.mie, 0, 0);
    this.#hart.waiting = true;
    this.#hart.requestStop();
  }

  /**
   * Makes the host hart this guest's again (the guest's registers and pc are
   * already on it): host PMP confines host U-mode to this guest's pages, its
   * traps come here, host satp selects its shadow root, the host timer
   * carries its deadline (and interrupts, unless the vCPU is stopped), and its
   * FP state and triggers are the host's.
   */
  activate(): void {
    this.#confine();
    this.#hart.csr.write(Csr.mie, this.stopped ? 0 : 1 << 7, 0);
    this.takeTraps();
    this.memory.reselect();
    this.#timer.rearm();
    // A deadline that passed while another guest ran: the rearm disarmed the host timer,
    // so no timer exit will turn it into the kernel's STIP (Linux idle until then).
    this.firmware?.timerInterrupt();
    this.#fsToHost();
    this.#syncTriggers();
    this.#syncTime();
    this.#deliverInterrupts();
  }

  /**
   * Routes the host hart's traps here. A restored snapshot needs only this:
   * the host CSRs (PMP, satp, mstatus) and timer coupling come back as saved.
   */
  takeTraps(): void {
    this.#hart.onTrap = (cause, interrupt, tval, pc) => this.#onTrap(cause, interrupt, tval, pc);
  }

  /** Before another guest takes the host hart: the FP state the guest dirtied natively becomes its own. */
  suspend(): void {
    this.#fsFromHost();
  }

  /**
   * Host PMP for host U-mode: the guest's ROM page (read/execute), its shadow
   * pool (read, for the host MMU's walks) and its RAM window; nothing else,
   * so neither a wrong shadow entry nor another guest's can reach memory
   * outside the guest's own (TOR pairs: an Off entry opens each range).
   */
  #confine(): void {
    const csr = this.#hart.csr, p = this.#place;
    const R = 1, W = 2, X = 4;
    const ranges: [number, number, number][] = [
      [p.romPage, p.romPage + 4096, R | X],
      [this.memory.shadow.pages.base, this.memory.shadow.pages.end, R],
      [this.guest.windowBase, this.windowEnd, R | W | X],
    ];
    const cfg = [0, 0]; // pmpcfg0's low and high words: one byte per entry
    ranges.forEach(([lo, hi, perms], k) => {
      for (const [i, addr] of [[2 * k, lo], [2 * k + 1, hi]]) {
        csr.write(Csr.pmpaddr0 + i, (addr / 4) | 0, Math.floor(addr / 4 / 4294967296));
      }
      const entry = 2 * k + 1;
      cfg[entry >> 2] |= (0x08 | perms) << (8 * (entry & 3)); // A = TOR
    });
    csr.write(Csr.pmpcfg0, cfg[0], cfg[1]);
  }

  /** The entry from every host trap (hypenterleave): handle, deliver interrupts, resume. */
  #onTrap(cause: number, interrupt: boolean, tval: number, pc: number): boolean {
    this.#fsFromHost();
    const vpriv = this.guest.vcpu.priv;
    const kind = this.#exits.handle(cause, interrupt, tval, pc);
    this.vcpuExitCounts.set(kind, (this.vcpuExitCounts.get(kind) ?? 0) + 1);
    // The oldest record is reused: no allocation per exit.
    const r = this.recentExits.length >= EXIT_HISTORY
      ? this.recentExits.shift()!
      : { kind, pc, tval, vpriv };
    r.kind = kind, r.pc = pc, r.tval = tval, r.vpriv = vpriv;
    this.recentExits.push(r);
    if (this.machine.events.wants("exit")) {
      const e = this.#exitEvent;
      e.kind = kind, e.cause = cause, e.interrupt = interrupt, e.pc = pc, e.tval = tval;
      e.vpriv = vpriv;
      this.machine.events.emit("exit", e);
    }
    // A wfi that returned at once (an interrupt pending, as OpenSBI's harts waiting for HSM
    // keep msip) spins in a wait loop, exiting each time: the other vCPUs run instead.
    if (kind === "wfi" && !this.#hart.waiting && this.vcpus.length > 1) this.machine.yieldTurn();
    this.#deliverInterrupts();
    const progress = this.#hart.retired + this.guest.vcpu.emulated;
    this.#exitsWithoutProgress = progress === this.#progressMark
      ? this.#exitsWithoutProgress + 1
      : 0;
    this.#progressMark = progress;
    if (this.#exitsWithoutProgress > STUCK_LIMIT) {
      this.#panic(
        `no guest progress in ${STUCK_LIMIT} exits (last: ${kind} at pc 0x${pc.toString(16)})`,
        false,
      );
    }
    this.#fsToHost();
    this.#syncTriggers();
    this.#syncTime();
    return true;
  }

  /**
   * The guest's FP registers and fcsr are the host hart's (the guest runs FP code
   * natively), so mstatus.FS is shared too: the host's FS is the guest's while it
   * runs (FS = Off then traps as illegal and is injected), and a host FS turned
   * Dirty by guest FP instructions makes the guest's Dirty.
   */
  #fsFromHost(): void {
    const host = this.#hart.csr, guest = this.guest.vcpu.csr;
    if (host.fpu) guest.mstatus = (guest.mstatus & ~Mstatus.FS) | (host.mstatus & Mstatus.FS);
  }

  #fsToHost(): void {
    const host = this.#hart.csr, guest = this.guest.vcpu.csr;
    if (host.fpu) host.mstatus = (host.mstatus & ~Mstatus.FS) | (guest.mstatus & Mstatus.FS);
  }

  /**
   * The guest's debug triggers are the host hart's, for host U-mode (where
   * every guest mode runs, at the guest's own virtual addresses): each guest
   * trigger that fires in the guest's current mode is armed on the host, so
   * the host raises the breakpoint exception on the guest's own fetch or
   * access and the exit injects it; the others wait armed for host S-mode,
   * which never runs. Called after every exit, when the guest's mode may have
   * changed; nothing to do while neither side has one armed.
   */
  #syncTriggers(): void {
    const guest = this.guest.vcpu.csr, host = this.#hart.csr.triggers;
    if (guest.triggers.armed || host.armed) host.mirror(guest.triggers, guest.priv, 0, 1);
  }

  /**
   * Lets host U-mode read `time` natively exactly when the guest, in its
   * current virtual mode, may read it (its mcounteren/scounteren TM bits): the
   * guest's time is the host's mtime, so the read needs no exit (Linux reads
   * it tens of thousands of times a boot); otherwise the read traps and the
   * guest gets its illegal instruction as before. Called after every exit and
   * batch, when the guest's mode or enables may have changed.
   */
  #syncTime(): void {
    const tm = this.guest.vcpu.csr.accessible(Csr.time, false) ? COUNTER_TM : 0;
    this.#hart.csr.read(Csr.mcounteren);
    if (out[0] !== tm) this.#hart.csr.write(Csr.mcounteren, tm, 0);
  }

  /**
   * After the guest's CSRs were changed from outside an exit (a script, the
   * debugger): selects the shadow root and the host counter enables for the
   * guest's new context before it runs again.
   */
  guestCsrsChanged(): void {
    this.memory.switchRoot();
    this.#syncTime();
  }

  /**
   * Between instruction batches: device time, then pending virtual interrupts.
   * An HTIF guest's `tohost` is guest-physical: its store lands in the window
   * natively, so it is polled here as the bare machine polls its own.
   */
  poll(): void {
    this.guest.devices.rtc.update();
    for (const v of this.vcpus) {
      v.#deliverInterrupts();
      v.#syncTriggers();
      v.#syncTime();
    }
    const code = tohostExitCode(this.guest.bus, this.guest.layout.tohost);
    if (code >= 0) this.#place.halt("htif", code);
  }

  /**
   * Snapshot settings: hypervisor on, the guest window, the guest's images and
   * disk. The host RAM size (offset + guest RAM) is the machine's.
   */
  snapshotConfig(): SnapshotConfig {
    return {
      hypervisor: "on",
      "guest offset": `0x${this.guestOffset.toString(16)}`,
      ...(this.firmware ? { "guest firmware": "builtin" } : {}),
      "guest RAM size": `${this.guest.bus.ramSize} bytes`,
      "shadow page pool": `${this.memory.shadow.pages.capacity} pages`,
      ...imagesSnapshotConfig(this.config, "guest "),
      ...this.guest.devices.snapshotConfig("guest "),
    };
  }

  /**
   * The hypervisor's state for a snapshot: the guest's devices, and for each
   * vCPU its CSRs and emulated count, shadow paging (root keys and its page
   * pool: the tables are in host RAM), timer coupling, HSM state, progress
   * watchdogs and statistics. The host harts are the machine's to save.
   */
  saveState(): HypervisorState {
    return {
      ...this.#saveVcpu(),
      devices: this.guest.devices.saveState(),
      ...(this.vcpus.length > 1
        ? { moreVcpus: this.vcpus.slice(1).map((v) => v.#saveVcpu()) }
        : {}),
    };
  }

  #saveVcpu(): VcpuState {
    const f = this.firmware;
    return {
      vcpu: this.guest.vcpu.csr.saveState(),
      emulated: this.guest.vcpu.emulated,
      memory: this.memory.saveState(),
      timerArmed: this.#timer.saveState(),
      progress: [
        this.#trapsWithoutProgress,
        this.#retiredAtLastTrap,
        this.#exitsWithoutProgress,
        this.#progressMark,
      ],
      exitCounts: [...this.vcpuExitCounts],
      recentExits: this.recentExits.map((e) => ({ ...e })),
      guestTraps: [...this.vcpuGuestTraps],
      retiredOffset: this.retiredOffset,
      stopped: this.stopped,
      ...(f ? { firmware: [f.state, f.redirected, [...f.calls]] as VcpuState["firmware"] } : {}),
      panicReport: this.panicReport,
      panicIsGuestFault: this.panicIsGuestFault,
    };
  }

  /** Restores {@linkcode saveState}'s state (the machine restores the host harts and RAM). */
  loadState(saved: unknown): void {
    const state = saved as HypervisorState;
    if ((state.moreVcpus?.length ?? 0) !== this.vcpus.length - 1) {
      throw new Error(
        `damaged state section: ${1 + (state.moreVcpus?.length ?? 0)} vCPUs saved, ` +
          `${this.vcpus.length} here`,
      );
    }
    // Virtual time counts emulated instructions: keep mtime where the machine restored it.
    const now = this.machine.clock.now();
    this.#loadVcpu(state);
    state.moreVcpus?.forEach((s, i) => this.vcpus[i + 1].#loadVcpu(s));
    this.machine.clock.set(now);
    this.guest.devices.loadState(state.devices);
  }

  #loadVcpu(state: VcpuState): void {
    this.guest.vcpu.csr.loadState(state.vcpu);
    this.guest.vcpu.emulated = state.emulated;
    this.memory.loadState(state.memory);
    this.#timer.loadState(state.timerArmed);
    [
      this.#trapsWithoutProgress,
      this.#retiredAtLastTrap,
      this.#exitsWithoutProgress,
      this.#progressMark,
    ] = state.progress;
    this.vcpuExitCounts.clear();
    for (const [kind, n] of state.exitCounts) this.vcpuExitCounts.set(kind, n);
    this.recentExits.length = 0;
    this.recentExits.push(...state.recentExits);
    this.vcpuGuestTraps.clear();
    for (const [key, n] of state.guestTraps) this.vcpuGuestTraps.set(key, n);
    this.retiredOffset = state.retiredOffset ?? 0;
    this.stopped = state.stopped ?? false;
    const f = this.firmware;
    if (f && state.firmware) {
      [f.state, f.redirected] = state.firmware;
      f.calls.clear();
      for (const [ext, n] of state.firmware[2]) f.calls.set(ext, n);
    }
    this.panicReport = state.panicReport;
    this.panicIsGuestFault = state.panicIsGuestFault;
  }

  /** Guest instructions completed by emulation (all the guest's vCPUs'). */
  get emulated(): number {
    if (this.vcpus.length === 1) return this.guest.vcpu.emulated;
    let n = 0;
    for (const v of this.vcpus) n += v.guest.vcpu.emulated;
    return n;
  }

  /**
   * The guest's exit counts by class, every vCPU's together (each one's:
   * `vcpus[i].vcpuExitCounts`). With one vCPU the live map; with several, a
   * sum made at each read, so that an exit costs one count either way.
   */
  get exitCounts(): ReadonlyMap<ExitKind, number> {
    return this.vcpus.length === 1
      ? this.vcpuExitCounts
      : sumCounts(this.vcpus.map((v) => v.vcpuExitCounts));
  }

  /** Guest traps injected into any of the guest's vCPUs, by virtual cause (as {@linkcode exitCounts}). */
  get guestTraps(): ReadonlyMap<string, number> {
    return this.vcpus.length === 1
      ? this.vcpuGuestTraps
      : sumCounts(this.vcpus.map((v) => v.vcpuGuestTraps));
  }

  /** The shadow page tables of every vCPU together (each one's: `vcpus[i].memory`). */
  get shadowStats(): ShadowStats {
    const t = { capacity: 0, used: 0, fills: 0, resets: 0, reclaims: 0 };
    for (const { memory: m } of this.vcpus) {
      t.capacity += m.shadow.pages.capacity, t.used += m.shadow.pages.used;
      t.fills += m.shadow.fills, t.resets += m.shadow.pages.resets, t.reclaims += m.reclaims;
    }
    return t;
  }

  /** The guest's RTC alarm: the host CLINT carries the guest's timer deadline. */
  nextDeadline(): number {
    return this.guest.devices.alarmDeadline();
  }

  /** Takes the guest's highest-priority deliverable interrupt, if any, in its virtual mode. */
  #deliverInterrupts(): void {
    const csr = this.guest.vcpu.csr;
    if (!csr.interruptPending || this.stopped) return;
    this.#hart.waiting = false; // wfi ends on any pending interrupt, enabled globally or not
    const cause = csr.pendingInterrupt();
    if (cause >= 0) this.#inject(cause, true, 0, this.#hart.pc);
  }

  /** Trap entry into the guest (virtual M or S by the guest's delegation). */
  #inject(cause: number, interrupt: boolean, tval: number, pc: number): void {
    const csr = this.guest.vcpu.csr;
    const from = csr.priv;
    const retired = this.#hart.retired;
    if (!interrupt) {
      this.#trapsWithoutProgress = retired === this.#retiredAtLastTrap
        ? this.#trapsWithoutProgress + 1
        : 0;
      this.#retiredAtLastTrap = retired;
      if (this.#trapsWithoutProgress > DOUBLE_FAULT_LIMIT) {
        this.#panic(
          `guest double fault: exception ${cause} (tval 0x${tval.toString(16)}) ` +
            `repeats at pc 0x${pc.toString(16)} without progress`,
          true,
        );
        return;
      }
    }
    this.#hart.pc = this.firmware
      ? this.firmware.enterTrap(cause, interrupt, tval, pc)
      : csr.enterTrap(cause, interrupt, tval, pc);
    const key = `${interrupt ? "irq" : "exc"} ${cause}`;
    this.vcpuGuestTraps.set(key, (this.vcpuGuestTraps.get(key) ?? 0) + 1);
    if (this.machine.events.wants("guestTrap")) {
      this.machine.events.emit("guestTrap", { cause, interrupt, pc, tval, from, to: csr.priv });
    }
    this.memory.switchRoot();
  }

  /**
   * Stops the run with a diagnostic report: the guest crashed itself
   * (`guestFault`: a double fault) or a hypervisor invariant failed (a bug).
   */
  #panic(message: string, guestFault: boolean): void {
    this.panicReport = formatReport(this, message);
    this.panicIsGuestFault = guestFault;
    this.#hart.requestStop();
    this.#place.halt("error", 1, message);
  }

  /** The report of the panic that stopped the run, if one did. */
  panicReport: string | null = null;
  /** True if that panic was the guest's own crash (double fault) rather than a hypervisor failure. */
  panicIsGuestFault = false;

  /** A diagnostic report of the guest's state now (registers, CSRs, recent exits, stack). */
  report(reason = "guest state"): string {
    return formatReport(this, reason);
  }

  /** The host hart the guest runs on. */
  get hart(): Hart {
    return this.#hart;
  }

  /** The guest's registers and pc, wherever they are now. */
  get registers(): GuestRegisters {
    return this.savedRegisters ?? this.#hart;
  }

  /** How reports name the guest and vCPU ("guest 1, vCPU 2"; "" for a machine's only guest and vCPU). */
  get label(): string {
    const vcpu = this.vcpus.length > 1 ? `vCPU ${this.vcpuIndex}` : "";
    return [this.#place.label ?? "", vcpu].filter((s) => s).join(", ");
  }

  /** True if virtual M-mode makes its loads and stores through MPRV right now. */
  get mprv(): boolean {
    const c = this.guest.vcpu.csr;
    return c.priv === 3 && (c.mstatus & Mstatus.MPRV) !== 0 && c.dataPriv !== 3;
  }
}

/** Counts by key added up over `maps`. */
function sumCounts<K>(maps: readonly ReadonlyMap<K, number>[]): Map<K, number> {
  const total = new Map<K, number>();
  for (const m of maps) for (const [k, n] of m) total.set(k, (total.get(k) ?? 0) + n);
  return total;
}

/** A `virt` machine whose hart runs `config`'s guest under the hypervisor. */
export function createHypervisorMachine(
  config: HypervisorConfig,
): VirtMachine & { hypervisor: Hypervisor } {
  const offset = config.guestOffset ?? DEFAULT_GUEST_OFFSET;
  const memory = config.memory ?? 128 * MiB;
  if (!Number.isInteger(offset) || offset < 2 * MiB || offset % (2 * MiB) !== 0) {
    throw new MachineConfigError(
      `guest offset 0x${offset.toString(16)} must be a multiple of 2 MiB, at least 2 MiB ` +
        `(it holds the hypervisor's shadow page tables)`,
    );
  }
  if (config.shadowPages !== undefined && !(config.shadowPages >= 4)) {
    throw new MachineConfigError(
      `shadow pool of ${config.shadowPages} pages: at least 4 are needed (a root and one path)`,
    );
  }
  if (config.firmware === "builtin" && (config.bios || !config.kernel)) {
    throw new MachineConfigError(
      config.bios
        ? `builtin firmware: no bios can be given (${config.bios.name}); the hypervisor is the firmware`
        : "builtin firmware: a kernel is needed (the hypervisor starts it in S-mode)",
    );
  }
  const machine = new VirtMachine({
    smp: config.smp,
    isa: config.isa,
    jit: config.jit,
    jitThreshold: config.jitThreshold,
    memory: offset + memory,
    clock: config.clock,
    console: config.console,
  });
  const hypervisor = new Hypervisor(machine, config, offset);
  return Object.assign(machine, { hypervisor });
}
