/**
 * Built-in SBI firmware (`firmware: "builtin"`): the hypervisor itself is the
 * guest's machine-mode firmware, as in RVirt. The kernel starts directly in
 * virtual S-mode with the machine state OpenSBI would have left, and its
 * `ecall`s from virtual S-mode are answered here instead of being injected
 * into guest M-mode code (there is none).
 *
 * References are to the RISC-V SBI specification v2.0: chapter 3 (binary
 * encoding: a7 = extension, a6 = function, a0 = error, a1 = value), 4 (base),
 * 5 (legacy), 6 (TIME), 7 (IPI), 8 (RFENCE), 9 (HSM), 10 (SRST), 11 (PMU),
 * 12 (DBCN).
 *
 * State: none of its own. The supervisor timer deadline is kept in the guest
 * CLINT's mtimecmp (as OpenSBI keeps it in the hardware comparator) and the
 * pending STIP/SSIP bits in the vCPU's software-written mip bits, so snapshots
 * of the guest's devices and CSRs already carry everything.
 *
 * @module
 */

import { Csr } from "../core/csr.ts";
import type { HaltReason } from "../core/events.ts";
import type { Hart } from "../core/hart.ts";
import { out } from "../core/int64.ts";
import { Irq } from "../core/irq.ts";
import { ClintReg } from "../devices/clint.ts";
import type { Guest } from "./guest.ts";
import type { GuestTimer } from "./timer.ts";
import type { GuestMemory } from "./vmem.ts";

/** SBI error codes (SBI 2.0 chapter 3, table 1). */
export const SbiError = {
  SUCCESS: 0,
  FAILED: -1,
  NOT_SUPPORTED: -2,
  INVALID_PARAM: -3,
  DENIED: -4,
  INVALID_ADDRESS: -5,
  ALREADY_AVAILABLE: -6,
} as const;

/** Extension IDs answered here (a7). Legacy extensions are 0x00..0x08 (chapter 5). */
export const SbiExt = {
  LEGACY_SET_TIMER: 0x00,
  LEGACY_CONSOLE_PUTCHAR: 0x01,
  LEGACY_CONSOLE_GETCHAR: 0x02,
  LEGACY_CLEAR_IPI: 0x03,
  LEGACY_SEND_IPI: 0x04,
  LEGACY_REMOTE_FENCE_I: 0x05,
  LEGACY_REMOTE_SFENCE_VMA: 0x06,
  LEGACY_REMOTE_SFENCE_VMA_ASID: 0x07,
  LEGACY_SHUTDOWN: 0x08,
  BASE: 0x10,
  TIME: 0x54494d45,
  IPI: 0x735049,
  RFENCE: 0x52464e43,
  HSM: 0x48534d,
  SRST: 0x53525354,
  PMU: 0x504d55,
  DBCN: 0x4442434e,
} as const;

/** The SBI specification version reported by get_spec_version: 2.0 (major << 24 | minor). */
export const SBI_SPEC_VERSION = 2 << 24;
/**
 * get_impl_id of rvisor's built-in firmware: "rvis" in ASCII. The SBI spec's
 * registry (chapter 4.9) assigns 0..11 (BBL, OpenSBI, Xvisor, KVM, RustSBI,
 * Diosix, Coffer, Xen, PolarFire HSS, coreboot, oreboot, bhyve); rvisor has no
 * registered id, so it uses a value far from the registry's small numbers.
 */
export const SBI_IMPL_ID = 0x72766973;
/** get_impl_version: rvisor 0.1, encoded major << 16 | minor as OpenSBI does. */
export const SBI_IMPL_VERSION = 0x0000_0001;

/**
 * medeleg that OpenSBI 1.1 sets (its banner's "Boot HART MEDELEG"): misaligned
 * fetch, breakpoint, ecall from U, and the three page faults go straight to S-mode.
 */
export const OPENSBI_MEDELEG = 0xb109;
/** mideleg that OpenSBI 1.1 sets: the supervisor software, timer and external interrupts. */
export const OPENSBI_MIDELEG = 0x222;

/** Extensions probe_extension reports as available (chapter 4.8). */
const AVAILABLE: ReadonlySet<number> = new Set([
  SbiExt.LEGACY_SET_TIMER,
  SbiExt.LEGACY_CONSOLE_PUTCHAR,
  SbiExt.LEGACY_CONSOLE_GETCHAR,
  SbiExt.LEGACY_CLEAR_IPI,
  SbiExt.LEGACY_SEND_IPI,
  SbiExt.LEGACY_REMOTE_FENCE_I,
  SbiExt.LEGACY_REMOTE_SFENCE_VMA,
  SbiExt.LEGACY_REMOTE_SFENCE_VMA_ASID,
  SbiExt.LEGACY_SHUTDOWN,
  SbiExt.BASE,
  SbiExt.TIME,
  SbiExt.IPI,
  SbiExt.RFENCE,
  SbiExt.HSM,
  SbiExt.SRST,
  SbiExt.DBCN,
]);

const UART_RBR = 0, UART_LCR = 3, UART_LSR = 5;
const LCR_DLAB = 0x80, LSR_DR = 0x01;
const A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17;
const TWO32 = 4294967296;

/** What the firmware needs from the hypervisor. */
export interface SbiHost {
  /** The host hart: the guest's registers and pc. */
  hart: Hart;
  /** The guest machine. */
  guest: Guest;
  /** Shadow paging, flushed by the RFENCE calls. */
  memory: GuestMemory;
  /** The guest timer coupling to the host CLINT. */
  timer: GuestTimer;
  /** Stops the machine (SRST). */
  halt(reason: HaltReason, code: number): void;
  /** The guest changed translation context (after a fence or a redirected trap). */
  contextChanged(): void;
  /** A trap the firmware cannot handle: stops the run with the diagnostic report. */
  fatal(message: string): void;
  /** The firmware of every vCPU of the guest, by hart id (this one's included). */
  vcpus(): readonly SbiFirmware[];
  /**
   * HSM hart_start: vCPU `hartId`, stopped, starts at `pc` in S-mode with
   * a1 = `opaque` (its low and high halves: any 64-bit value).
   */
  start(hartId: number, pc: number, opaque: readonly [number, number]): void;
  /** HSM hart_stop: this vCPU stops (its host hart sleeps until a hart_start). */
  stop(): void;
}

/** HSM states (chapter 9): the ones a vCPU here can be in. */
const HartState = { STARTED: 0, STOPPED: 1 } as const;

/** The built-in SBI implementation for one vCPU of a guest (each vCPU has its own). */
export class SbiFirmware {
  /** SBI calls answered, by extension id (for statistics and tests). */
  readonly calls: Map<number, number> = new Map();
  /** Guest exceptions redirected to virtual S-mode as OpenSBI's sbi_trap_redirect does. */
  redirected = 0;
  readonly #hart: Hart;
  readonly #guest: Guest;
  readonly #consoleEvent: { device: string; bytes: Uint8Array };
  /** HSM state: the boot vCPU starts, the others wait for hart_start. */
  state: number;

  /** Wires the firmware to the parts of the hypervisor it acts on (`host`). */
  constructor(readonly host: SbiHost) {
    this.#hart = host.hart;
    this.#guest = host.guest;
    this.state = host.guest.vcpu.csr.hartId === 0 ? HartState.STARTED : HartState.STOPPED;
    this.#consoleEvent = { device: host.guest.devices.uart.name, bytes: new Uint8Array(1) };
  }

  /**
   * Puts the vCPU in the state OpenSBI 1.1's fw_jump leaves at the jump to the
   * next stage (sbi_hart_switch_mode), and returns the kernel's entry pc:
   * delegation as OpenSBI's, counters enabled, one PMP entry open over all
   * memory (nothing of the firmware's needs protecting), the timer comparator
   * cleared, then an mret from M with MPP = S, MPIE = 0, so the guest arrives
   * in S-mode with a0 = hart id, a1 = DTB, stvec = entry, sie = satp = 0.
   * A vCPU started by hart_start gets there the same way, at `entry` with a1 = `opaque`.
   */
  boot(
    entry: number = this.#guest.layout.kernelEntry,
    opaque: readonly [number, number] = [
      this.#guest.layout.dtbAddress | 0,
      Math.floor(this.#guest.layout.dtbAddress / TWO32),
    ],
  ): number {
    const csr = this.#guest.vcpu.csr;
    csr.write(Csr.pmpaddr0, -1, 0x003fffff); // NAPOT over the whole 56-bit space
    csr.write(Csr.pmpcfg0, 0x1f, 0); // A = NAPOT, R, W, X
    csr.write(Csr.medeleg, OPENSBI_MEDELEG, 0);
    csr.write(Csr.mideleg, OPENSBI_MIDELEG, 0);
    csr.write(Csr.mcounteren, 7, 0); // cycle, time, instret (OpenSBI: mstatus_init)
    csr.write(Csr.scounteren, 7, 0); // OpenSBI 1.1 also lets U-mode read them
    this.#setComparator(-1, -1); // aclint_mtimer warm init: "clear" = never
    csr.read(Csr.misa);
    const fpu = (out[0] & ((1 << 3) | (1 << 5))) !== 0; // D or F
    // MPP = S, MPIE = 0; FS = initial when there is an FPU (OpenSBI's mstatus_init).
    csr.write(Csr.mstatus, (1 << 11) | (fpu ? 1 << 13 : 0), 0);
    csr.write(Csr.stvec, entry | 0, Math.floor(entry / TWO32));
    csr.write(Csr.mepc, entry | 0, Math.floor(entry / TWO32));
    const pc = csr.mret();
    const h = this.#hart;
    h.xl.fill(0), h.xh.fill(0);
    h.xl[A0] = csr.hartId;
    h.xl[A1] = opaque[0], h.xh[A1] = opaque[1];
    this.state = HartState.STARTED;
    return pc;
  }

  /**
   * An `ecall` from virtual S-mode at `pc`: answers the call in a7/a6/a0..a5
   * and completes the instruction (pc + 4), with no trap into the guest.
   */
  ecall(pc: number): void {
    const h = this.#hart;
    const eid = h.xh[A7] === 0 ? h.xl[A7] >>> 0 : -1;
    this.calls.set(eid, (this.calls.get(eid) ?? 0) + 1);
    this.#guest.vcpu.emulated++;
    h.pc = pc + 4;
    if (eid >= 0 && eid <= SbiExt.LEGACY_SHUTDOWN) {
      this.#legacy(eid);
      return;
    }
    const fid = h.xh[A6] === 0 ? h.xl[A6] >>> 0 : -1;
    switch (eid) {
      case SbiExt.BASE:
        return this.#base(fid);
      case SbiExt.TIME:
        if (fid !== 0) return this.#ret(SbiError.NOT_SUPPORTED);
        this.#setTimer(h.xl[A0], h.xh[A0]);
        return this.#ret(SbiError.SUCCESS);
      case SbiExt.IPI:
        if (fid !== 0) return this.#ret(SbiError.NOT_SUPPORTED);
        return this.#harts((f) => f.#guest.vcpu.csr.mipSw |= 1 << Irq.SSIP);
      case SbiExt.RFENCE:
        return this.#rfence(fid);
      case SbiExt.HSM:
        return this.#hsm(fid);
      case SbiExt.SRST:
        return this.#srst(fid);
      case SbiExt.DBCN:
        return this.#dbcn(fid);
      default:
        // PMU (chapter 11) included: no counters to offer, so the extension is absent and
        // Linux falls back to its legacy perf driver on cycle/instret.
        return this.#ret(SbiError.NOT_SUPPORTED);
    }
  }

  /**
   * After a host timer exit: the guest CLINT's MTIP means the supervisor
   * deadline passed. As OpenSBI's timer handler does, raise STIP for the
   * kernel and push the comparator to "never" until the next set_timer.
   */
  timerInterrupt(): void {
    const csr = this.#guest.vcpu.csr;
    if ((csr.mipHw & (1 << Irq.MTIP)) === 0) return;
    csr.mipSw |= 1 << Irq.STIP;
    this.#setComparator(-1, -1);
    this.host.timer.sync();
  }

  /**
   * Trap entry for the guest (instead of CsrFile.enterTrap): a trap the
   * guest's delegation sends to virtual M-mode would reach OpenSBI, which
   * emulates nothing more than we already do in hardware-like fashion (CSR
   * reads, misaligned loads and stores) and redirects every other exception
   * from S or U to S-mode (sbi_trap_redirect). With no M-mode code, only
   * interrupts for M-mode or traps from M itself are errors: they stop the
   * run with the diagnostic report. Returns the new pc.
   */
  enterTrap(cause: number, interrupt: boolean, tval: number, pc: number): number {
    const csr = this.#guest.vcpu.csr;
    if (csr.trapTarget(cause, interrupt) === 1) return csr.enterTrap(cause, interrupt, tval, pc);
    if (interrupt || csr.priv === 3) {
      this.host.fatal(
        `builtin firmware: ${interrupt ? "interrupt" : "exception"} ${cause} ` +
          `(tval 0x${tval.toString(16)}) at pc 0x${pc.toString(16)} would enter guest M-mode, ` +
          `which has no code with --firmware builtin`,
      );
      return pc;
    }
    // Delegate this one exception for the moment of the trap: the S-mode CSRs
    // (sepc, scause, stval, SPP, SPIE) are set exactly as sbi_trap_redirect sets them.
    csr.read(Csr.medeleg);
    const lo = out[0], hi = out[1];
    csr.write(Csr.medeleg, lo | (1 << cause), hi);
    const target = csr.enterTrap(cause, false, tval, pc);
    csr.write(Csr.medeleg, lo, hi);
    this.redirected++;
    return target;
  }

  // ------------------------------------------------------------ extensions

  /** Base extension (chapter 4). */
  #base(fid: number): void {
    const csr = this.#guest.vcpu.csr;
    const h = this.#hart;
    switch (fid) {
      case 0:
        return this.#ret(SbiError.SUCCESS, SBI_SPEC_VERSION);
      case 1:
        return this.#ret(SbiError.SUCCESS, SBI_IMPL_ID);
      case 2:
        return this.#ret(SbiError.SUCCESS, SBI_IMPL_VERSION);
      case 3: {
        const id = h.xh[A0] === 0 ? h.xl[A0] >>> 0 : -1;
        return this.#ret(SbiError.SUCCESS, AVAILABLE.has(id) ? 1 : 0);
      }
      case 4:
      case 5:
      case 6: {
        // The machine's own ID CSRs, which S-mode cannot read itself (4.5-4.7).
        csr.read([Csr.mvendorid, Csr.marchid, Csr.mimpid][fid - 4]);
        return this.#retPair(SbiError.SUCCESS, out[0], out[1]);
      }
      default:
        return this.#ret(SbiError.NOT_SUPPORTED);
    }
  }

  /** Legacy extensions (chapter 5): the result is in a0 only. */
  #legacy(eid: number): void {
    const h = this.#hart;
    const csr = this.#guest.vcpu.csr;
    let result = 0;
    switch (eid) {
      case SbiExt.LEGACY_SET_TIMER:
        this.#setTimer(h.xl[A0], h.xh[A0]);
        break;
      case SbiExt.LEGACY_CONSOLE_PUTCHAR:
        this.#putchar(h.xl[A0] & 0xff);
        break;
      case SbiExt.LEGACY_CONSOLE_GETCHAR:
        result = this.#getchar();
        break;
      case SbiExt.LEGACY_CLEAR_IPI:
        csr.mipSw &= ~(1 << Irq.SSIP);
        break;
      case SbiExt.LEGACY_SEND_IPI:
        // a0 points to a hart mask in S-mode virtual memory, which is not read:
        // every vCPU gets the IPI (a spurious supervisor IPI is harmless to Linux).
        for (const f of this.host.vcpus()) f.#guest.vcpu.csr.mipSw |= 1 << Irq.SSIP;
        break;
      case SbiExt.LEGACY_REMOTE_FENCE_I:
        for (const f of this.host.vcpus()) f.#hart.flushDecodeCache();
        break;
      case SbiExt.LEGACY_REMOTE_SFENCE_VMA:
      case SbiExt.LEGACY_REMOTE_SFENCE_VMA_ASID:
        // As for the IPI, the mask is not read: flushing more harts than asked is allowed.
        for (const f of this.host.vcpus()) f.#sfenceVma();
        break;
      case SbiExt.LEGACY_SHUTDOWN:
        this.host.halt("poweroff", 0);
        break;
    }
    h.xl[A0] = result, h.xh[A0] = result < 0 ? -1 : 0;
  }

  /**
   * Calls the action for each vCPU's firmware the hart mask in a0/a1 selects
   * (chapter 3.1: hart_mask, hart_mask_base; base -1 = all harts); a mask
   * naming a hart id the guest does not have is invalid and acts on none.
   */
  #harts(action: (f: SbiFirmware) => void): void {
    const h = this.#hart, vcpus = this.host.vcpus();
    const all = h.xl[A1] === -1 && h.xh[A1] === -1;
    const selected: SbiFirmware[] = [];
    if (all) selected.push(...vcpus);
    else {
      const base = h.xh[A1] === 0 ? h.xl[A1] >>> 0 : Infinity;
      for (let bit = 0; bit < 64; bit++) {
        const set = bit < 32 ? (h.xl[A0] >>> bit) & 1 : (h.xh[A0] >>> (bit - 32)) & 1;
        if (!set) continue;
        const f = vcpus[base + bit];
        if (f === undefined) return this.#ret(SbiError.INVALID_PARAM);
        selected.push(f);
      }
    }
    for (const f of selected) action(f);
    this.#ret(SbiError.SUCCESS);
  }

  /** RFENCE (chapter 8): each selected vCPU does the fence itself, as its IPI handler would. */
  #rfence(fid: number): void {
    switch (fid) {
      case 0: // remote_fence_i: a host hart's decoded instructions are its vCPU's i-cache
        return this.#harts((f) => f.#hart.flushDecodeCache());
      case 1: // remote_sfence_vma
      case 2: // remote_sfence_vma_asid: a full flush covers any start/size/ASID (a2..a4)
        return this.#harts((f) => f.#sfenceVma());
      default: // the HFENCE calls need the H extension
        return this.#ret(SbiError.NOT_SUPPORTED);
    }
  }

  /** Hart state management (chapter 9): vCPUs started and stopped (no suspended states kept). */
  #hsm(fid: number): void {
    const h = this.#hart, vcpus = this.host.vcpus();
    const target = h.xh[A0] === 0 ? vcpus[h.xl[A0] >>> 0] : undefined;
    switch (fid) {
      case 0: { // hart_start(hartid, start_addr, opaque)
        if (target === undefined) return this.#ret(SbiError.INVALID_PARAM);
        if (target.state !== HartState.STOPPED) return this.#ret(SbiError.ALREADY_AVAILABLE);
        const pc = (h.xl[A1] >>> 0) + (h.xh[A1] >>> 0) * TWO32;
        if (!this.#guest.isRamPage(pc)) return this.#ret(SbiError.INVALID_ADDRESS);
        this.#ret(SbiError.SUCCESS);
        this.host.start(vcpus.indexOf(target), pc, [h.xl[A2], h.xh[A2]]);
        return;
      }
      case 1: // hart_stop: the last started hart could never be started again
        if (vcpus.every((f) => f === this || f.state === HartState.STOPPED)) {
          return this.#ret(SbiError.FAILED);
        }
        this.state = HartState.STOPPED;
        this.host.stop();
        return;
      case 2: // hart_get_status
        return target === undefined
          ? this.#ret(SbiError.INVALID_PARAM)
          : this.#ret(SbiError.SUCCESS, target.state);
      case 3: { // hart_suspend
        const type = h.xl[A0] >>> 0;
        if (h.xh[A0] !== 0 || (type >= 1 && type < 0x8000_0000)) {
          return this.#ret(SbiError.INVALID_PARAM);
        }
        if (type !== 0) return this.#ret(SbiError.NOT_SUPPORTED); // only retentive suspend
        // Default retentive suspend is a wfi (9.4): resume after the ecall on an interrupt.
        this.#ret(SbiError.SUCCESS);
        if (!this.#guest.vcpu.csr.interruptPending) h.waiting = true;
        return;
      }
      default:
        return this.#ret(SbiError.NOT_SUPPORTED);
    }
  }

  /**
   * System reset (chapter 10), as OpenSBI's sifive_test driver: shutdown
   * powers off, cold and warm reboot halt with reason reset; the reset reason
   * (none / system failure) is checked but, as there, does not change that.
   */
  #srst(fid: number): void {
    const h = this.#hart;
    if (fid !== 0) return this.#ret(SbiError.NOT_SUPPORTED);
    const type = h.xh[A0] === 0 ? h.xl[A0] >>> 0 : -1;
    const reason = h.xh[A1] === 0 ? h.xl[A1] >>> 0 : -1;
    const typeOk = type >= 0 && type <= 2;
    const reasonOk = reason === 0 || reason === 1;
    if (!typeOk || !reasonOk) {
      // Vendor ranges (0xf0000000..) exist in the spec but none is implemented here.
      const vendor = type >= 0xf000_0000 || reason >= 0xf000_0000;
      return this.#ret(vendor ? SbiError.NOT_SUPPORTED : SbiError.INVALID_PARAM);
    }
    this.#ret(SbiError.SUCCESS); // never seen by the guest: the machine stops
    this.host.halt(type === 0 ? "poweroff" : "reset", 0);
  }

  /** Debug console (chapter 12) on the guest UART's output and input. */
  #dbcn(fid: number): void {
    const h = this.#hart;
    if (fid === 2) { // console_write_byte
      this.#putchar(h.xl[A0] & 0xff);
      return this.#ret(SbiError.SUCCESS);
    }
    if (fid !== 0 && fid !== 1) return this.#ret(SbiError.NOT_SUPPORTED);
    // a0 = num_bytes, a1/a2 = the buffer's physical address, low and high XLEN bits.
    const n = h.xh[A0] === 0 ? h.xl[A0] >>> 0 : Infinity;
    const base = (h.xl[A1] >>> 0) + (h.xh[A1] >>> 0) * TWO32;
    const highOk = h.xl[A2] === 0 && h.xh[A2] === 0 && h.xh[A1] >>> 0 < 0x0020_0000;
    const view = highOk && n !== Infinity ? this.#guest.bus.dmaView(base, n, fid === 1) : null;
    if (view === null) return this.#ret(SbiError.INVALID_PARAM);
    if (fid === 0) {
      for (const b of view) this.#putchar(b);
      return this.#ret(SbiError.SUCCESS, n);
    }
    let got = 0;
    while (got < n) {
      const c = this.#getchar();
      if (c < 0) break;
      view[got++] = c;
    }
    this.#ret(SbiError.SUCCESS, got);
  }

  // --------------------------------------------------------------- helpers

  /** set_timer (chapter 6.1): clear STIP, program the comparator for the new deadline. */
  #setTimer(lo: number, hi: number): void {
    this.#guest.vcpu.csr.mipSw &= ~(1 << Irq.STIP);
    this.#setComparator(lo, hi);
    this.host.timer.sync(); // re-arms the host timer; raises MTIP now if already due
    this.timerInterrupt();
  }

  /** Writes this vCPU's guest CLINT mtimecmp, high word first to all ones so nothing fires early. */
  #setComparator(lo: number, hi: number): void {
    const clint = this.#guest.devices.clint;
    const at = ClintReg.MTIMECMP_LO + this.#guest.vcpu.csr.hartId * ClintReg.MTIMECMP_STRIDE;
    clint.write(at + 4, 4, 0xffffffff);
    clint.write(at, 4, lo >>> 0);
    clint.write(at + 4, 4, hi >>> 0);
  }

  #sfenceVma(): void {
    this.host.memory.flush();
    this.host.contextChanged();
  }

  /** One byte out through the UART's output path (console and `console` events). */
  #putchar(byte: number): void {
    const uart = this.#guest.devices.uart;
    uart.output(byte);
    if (uart.events.wants("console")) {
      this.#consoleEvent.bytes[0] = byte;
      uart.events.emit("console", this.#consoleEvent);
    }
  }

  /** One byte from the UART's receive FIFO, or -1 if none (or its divisor latch is open). */
  #getchar(): number {
    const uart = this.#guest.devices.uart;
    if (uart.read(UART_LCR, 1) & LCR_DLAB) return -1;
    if ((uart.read(UART_LSR, 1) & LSR_DR) === 0) return -1;
    return uart.read(UART_RBR, 1);
  }

  /** a0 = error, a1 = value (a non-negative number below 2^53, or a sign-extended int32). */
  #ret(error: number, value?: number): void {
    const h = this.#hart;
    h.xl[A0] = error, h.xh[A0] = error < 0 ? -1 : 0;
    if (value !== undefined) {
      h.xl[A1] = value | 0;
      h.xh[A1] = value < 0 ? -1 : Math.floor(value / TWO32);
    }
  }

  #retPair(error: number, lo: number, hi: number): void {
    this.#ret(error);
    this.#hart.xl[A1] = lo, this.#hart.xh[A1] = hi;
  }
}
