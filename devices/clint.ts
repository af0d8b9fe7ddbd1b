/**
 * CLINT of the `virt` machine for one hart, as QEMU 7.2's ACLINT pair (MSWI at
 * +0x0, MTIMER at +0x4000) presents it: `msip`, `mtimecmp` and `mtime`.
 *
 * `mtimecmp` is a 64-bit register kept as two uint32 halves and compared
 * exactly against `mtime` (a JS integer below 2^53), so the all-ones value that
 * firmware writes to mean "never" really never fires.
 *
 * @module
 */

import type { AccessRule, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import { type Clock, TIMEBASE_HZ } from "../core/clock.ts";
import { type InterruptTarget, Irq } from "../core/irq.ts";

/** Physical base address of the CLINT on `virt`. */
export const CLINT_BASE = 0x0200_0000;
/** Size of the CLINT's address range. */
export const CLINT_SIZE = 0x1_0000;

/** Register offsets from the CLINT base (hart 0 only). */
export const ClintReg = {
  /** Machine software interrupt pending, bit 0. */
  MSIP: 0x0,
  /** mtimecmp, low half. */
  MTIMECMP_LO: 0x4000,
  /** mtimecmp, high half. */
  MTIMECMP_HI: 0x4004,
  /** mtime, low half. */
  MTIME_LO: 0xbff8,
  /** mtime, high half. */
  MTIME_HI: 0xbffc,
} as const;

const TWO_POW_32 = 0x1_0000_0000;
/** mtimecmp values whose high half reaches this are at or above 2^53: mtime never gets there. */
const UNREACHABLE_HI = 0x20_0000;

/** Saved state of a {@linkcode Clint}. */
export interface ClintState {
  /** msip bit 0. */
  msip: boolean;
  /** mtimecmp low half. */
  cmpLo: number;
  /** mtimecmp high half. */
  cmpHi: number;
  /** The MTIP level the CLINT drives. */
  mtip: boolean;
}

/** The core-local interruptor: software interrupt and machine timer of hart 0. */
export class Clint implements MmioDevice {
  /** Device name used in events and the DTB. */
  readonly name = "clint";
  #msip = false;
  // The ACLINT spec leaves mtimecmp unknown at reset and QEMU starts it at 0 but
  // only evaluates it on writes. Our update() evaluates continuously, so reset
  // to "never" to keep MTIP low until the guest programs a deadline.
  #cmpHi = 0xffff_ffff;
  #cmpLo = 0xffff_ffff;
  #mtip = false;
  /**
   * Time the timer the way QEMU 7.2's ACLINT does, for lockstep comparisons
   * (scripts/lockstep-trace.ts), instead of MTIP = (mtime >= mtimecmp): a
   * write of mtimecmp at or below mtime raises MTIP at once; a later value
   * lowers it and arms a one-shot timer for now + (mtimecmp - mtime) * 100 ns
   * (QEMU counts from the write's nanosecond, not from the tick boundary, so
   * it fires up to 99 instructions after mtime reaches mtimecmp). Only a write
   * lowers MTIP again. Not kept in snapshots.
   */
  qemuTimer = false;
  /** With {@linkcode qemuTimer}: the nanosecond ({@linkcode Clock.nanos}) the armed timer fires. */
  #fireNs = Infinity;
  /**
   * Called after a write of mtimecmp or mtime. With the virtual clock the
   * machine runs the hart in batches that end at the timer deadline known at
   * their start; a new deadline must end the batch so the next one is cut to it.
   */
  onTimerWrite: (() => void) | null = null;

  /**
   * @param hart receives MSIP and MTIP levels.
   * @param clock the source of mtime; guest writes to mtime move it.
   */
  constructor(readonly hart: InterruptTarget, readonly clock: Clock) {
    hart.setInterruptLevel(Irq.MSIP, false);
    hart.setInterruptLevel(Irq.MTIP, false);
  }

  /**
   * QEMU 7.2's two ACLINT regions: the MSWI (msip) takes 4-byte accesses, the
   * MTIMER (mtimecmp, mtime) 4 and 8; the last 16 KiB of the window are
   * unmapped. QEMU's MTIMER implements 8 bytes at once, which gives the same
   * registers as two 4-byte halves (both within one instruction).
   */
  readonly rules: readonly AccessRule[] = [
    { offset: ClintReg.MSIP, size: 0x4000, minWidth: 4, maxWidth: 4, implWidth: 4 },
    { offset: ClintReg.MTIMECMP_LO, size: 0x8000, minWidth: 4, maxWidth: 8, implWidth: 4 },
  ];

  /** Reads a register (4 bytes: the rules refuse others and split 8). */
  read(offset: number, _size: DeviceAccessSize): number {
    switch (offset) {
      case ClintReg.MSIP:
        return this.#msip ? 1 : 0;
      case ClintReg.MTIMECMP_LO:
        return this.#cmpLo;
      case ClintReg.MTIMECMP_HI:
        return this.#cmpHi;
      case ClintReg.MTIME_LO:
        return this.clock.now() % TWO_POW_32;
      case ClintReg.MTIME_HI:
        return Math.floor(this.clock.now() / TWO_POW_32);
      default:
        return 0;
    }
  }

  /** Writes a register (4 bytes, as read). */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    value >>>= 0;
    switch (offset) {
      case ClintReg.MSIP:
        this.#msip = (value & 1) !== 0;
        this.hart.setInterruptLevel(Irq.MSIP, this.#msip);
        return;
      case ClintReg.MTIMECMP_LO:
        this.#cmpLo = value;
        if (this.qemuTimer) return this.#armQemuTimer();
        break;
      case ClintReg.MTIMECMP_HI:
        this.#cmpHi = value;
        if (this.qemuTimer) return this.#armQemuTimer();
        break;
      case ClintReg.MTIME_LO: {
        const now = this.clock.now();
        this.clock.set(now - (now % TWO_POW_32) + value);
        break;
      }
      case ClintReg.MTIME_HI:
        this.clock.set(value * TWO_POW_32 + (this.clock.now() % TWO_POW_32));
        break;
      default:
        return;
    }
    // Both mtimecmp and mtime writes re-evaluate MTIP at once, as QEMU does (and
    // QEMU's timer re-arms from the new mtime).
    if (this.qemuTimer) this.#armQemuTimer();
    else this.update();
    this.onTimerWrite?.();
  }

  /** msip, mtimecmp and the MTIP level for a snapshot (mtime is the clock's). */
  saveState(): ClintState {
    return { msip: this.#msip, cmpLo: this.#cmpLo, cmpHi: this.#cmpHi, mtip: this.#mtip };
  }

  /**
   * Restores {@linkcode saveState}'s state. The hart's mip lines are restored
   * with the hart, so nothing is driven here (that would emit irq events).
   */
  loadState(state: ClintState): void {
    this.#msip = state.msip;
    this.#cmpLo = state.cmpLo;
    this.#cmpHi = state.cmpHi;
    this.#mtip = state.mtip;
  }

  /** QEMU 7.2's riscv_aclint_mtimer_write_timecmp ({@linkcode qemuTimer}). */
  #armQemuTimer(): void {
    const ticks = this.clock.now();
    const cmp = this.#cmpHi >= UNREACHABLE_HI ? Infinity : this.#cmpHi * TWO_POW_32 + this.#cmpLo;
    if (cmp <= ticks) {
      this.#setMtip(true); // an armed timer stays armed, as in QEMU
      return;
    }
    this.#setMtip(false);
    this.#fireNs = this.clock.nanos() + (cmp - ticks) * (1e9 / TIMEBASE_HZ);
  }

  #setMtip(level: boolean): void {
    if (level === this.#mtip) return;
    this.#mtip = level;
    this.hart.setInterruptLevel(Irq.MTIP, level);
  }

  /** Recomputes MTIP = (mtime >= mtimecmp); the machine loop calls it as time passes. */
  update(): void {
    if (this.qemuTimer) {
      if (this.clock.nanos() >= this.#fireNs) {
        this.#fireNs = Infinity;
        this.#setMtip(true);
      }
      return;
    }
    const now = this.clock.now();
    const nowHi = Math.floor(now / TWO_POW_32);
    const nowLo = now % TWO_POW_32;
    const due = nowHi > this.#cmpHi || (nowHi === this.#cmpHi && nowLo >= this.#cmpLo);
    this.#setMtip(due);
  }

  /**
   * The mtime value at which MTIP rises (possibly already in the past), or
   * Infinity if mtimecmp is beyond any mtime a JS number can reach; lets an idle
   * hart skip time to its next timer interrupt.
   */
  nextDeadline(): number {
    if (this.#cmpHi >= UNREACHABLE_HI) return Infinity;
    return this.#cmpHi * TWO_POW_32 + this.#cmpLo;
  }
}
