/**
 * CLINT of the `virt` machine, as QEMU 7.2's ACLINT pair (MSWI at +0x0, MTIMER
 * at +0x4000) presents it for `-smp N`: `msip` of hart i at 4i, its `mtimecmp`
 * at 0x4000 + 8i, and the one `mtime` at 0xbff8. The registers of a hart the
 * machine does not have read as zero and ignore writes, as QEMU's (which logs
 * "invalid hartid" and goes on).
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

/** Register offsets from the CLINT base (hart 0's; hart i's msip and mtimecmp follow at the strides). */
export const ClintReg = {
  /** Machine software interrupt pending, bit 0. */
  MSIP: 0x0,
  /** Bytes between two harts' msip registers. */
  MSIP_STRIDE: 4,
  /** mtimecmp, low half. */
  MTIMECMP_LO: 0x4000,
  /** mtimecmp, high half. */
  MTIMECMP_HI: 0x4004,
  /** Bytes between two harts' mtimecmp registers. */
  MTIMECMP_STRIDE: 8,
  /** mtime, low half. */
  MTIME_LO: 0xbff8,
  /** mtime, high half. */
  MTIME_HI: 0xbffc,
} as const;

const TWO_POW_32 = 0x1_0000_0000;
/** mtimecmp values whose high half reaches this are at or above 2^53: mtime never gets there. */
const UNREACHABLE_HI = 0x20_0000;

/** Saved registers of one hart's part of a {@linkcode Clint}. */
export interface ClintHartState {
  /** msip bit 0. */
  msip: boolean;
  /** mtimecmp low half. */
  cmpLo: number;
  /** mtimecmp high half. */
  cmpHi: number;
  /** The MTIP level the CLINT drives. */
  mtip: boolean;
}

/**
 * Saved state of a {@linkcode Clint}: hart 0's registers, as a one-hart
 * CLINT saved them before there were more (so those snapshots still load),
 * and the other harts' after them.
 */
export interface ClintState extends ClintHartState {
  /** Harts 1 and up, by hart id; absent with one hart. */
  otherHarts?: ClintHartState[];
}

/** The core-local interruptor: software interrupt and machine timer of every hart. */
export class Clint implements MmioDevice {
  /** Device name used in events and the DTB. */
  readonly name = "clint";
  readonly #msip: boolean[];
  // The ACLINT spec leaves mtimecmp unknown at reset and QEMU starts it at 0 but
  // only evaluates it on writes. Our update() evaluates continuously, so reset
  // to "never" to keep MTIP low until the guest programs a deadline.
  readonly #cmpHi: Uint32Array;
  readonly #cmpLo: Uint32Array;
  readonly #mtip: boolean[];
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
  /** With {@linkcode qemuTimer}: per hart, the nanosecond ({@linkcode Clock.nanos}) its armed timer fires. */
  readonly #fireNs: number[];
  /**
   * Called after a write of mtimecmp or mtime. With the virtual clock the
   * machine runs the hart in batches that end at the timer deadline known at
   * their start; a new deadline must end the batch so the next one is cut to it.
   */
  onTimerWrite: (() => void) | null = null;

  /**
   * @param harts receive MSIP and MTIP levels, by hart id.
   * @param clock the source of mtime; guest writes to mtime move it.
   */
  constructor(readonly harts: readonly InterruptTarget[], readonly clock: Clock) {
    const n = harts.length;
    this.#msip = new Array(n).fill(false);
    this.#cmpHi = new Uint32Array(n).fill(0xffff_ffff);
    this.#cmpLo = new Uint32Array(n).fill(0xffff_ffff);
    this.#mtip = new Array(n).fill(false);
    this.#fireNs = new Array(n).fill(Infinity);
    for (const hart of harts) {
      hart.setInterruptLevel(Irq.MSIP, false);
      hart.setInterruptLevel(Irq.MTIP, false);
    }
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

  /** The hart whose msip is at `offset`, or -1 (another register, or a hart this machine lacks). */
  #msipHart(offset: number): number {
    const hart = (offset - ClintReg.MSIP) >>> 2;
    return offset < ClintReg.MTIMECMP_LO && hart < this.harts.length ? hart : -1;
  }

  /** The hart whose mtimecmp half is at `offset`, or -1. */
  #cmpHart(offset: number): number {
    if (offset < ClintReg.MTIMECMP_LO || offset >= ClintReg.MTIME_LO) return -1;
    const hart = (offset - ClintReg.MTIMECMP_LO) >>> 3;
    return hart < this.harts.length ? hart : -1;
  }

  /** Reads a register (4 bytes: the rules refuse others and split 8). */
  read(offset: number, _size: DeviceAccessSize): number {
    if (offset === ClintReg.MTIME_LO) return this.clock.now() % TWO_POW_32;
    if (offset === ClintReg.MTIME_HI) return Math.floor(this.clock.now() / TWO_POW_32);
    const msip = this.#msipHart(offset);
    if (msip >= 0) return this.#msip[msip] ? 1 : 0;
    const cmp = this.#cmpHart(offset);
    if (cmp < 0) return 0;
    return offset & 4 ? this.#cmpHi[cmp] : this.#cmpLo[cmp];
  }

  /** Writes a register (4 bytes, as read). */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    value >>>= 0;
    const msip = this.#msipHart(offset);
    if (msip >= 0) {
      this.#msip[msip] = (value & 1) !== 0;
      this.harts[msip].setInterruptLevel(Irq.MSIP, this.#msip[msip]);
      return;
    }
    const cmp = this.#cmpHart(offset);
    if (cmp >= 0) {
      if (offset & 4) this.#cmpHi[cmp] = value;
      else this.#cmpLo[cmp] = value;
      if (this.qemuTimer) return this.#armQemuTimer(cmp);
      // Re-evaluated at once, as QEMU does.
      this.#setMtip(cmp, this.clock.now() >= this.#deadline(cmp));
    } else if (offset === ClintReg.MTIME_LO || offset === ClintReg.MTIME_HI) {
      const now = this.clock.now();
      const lo = now % TWO_POW_32;
      this.clock.set(offset === ClintReg.MTIME_LO ? now - lo + value : value * TWO_POW_32 + lo);
      // A new mtime re-evaluates every hart's MTIP at once, as QEMU does (and
      // QEMU's timers re-arm from the new mtime).
      if (!this.qemuTimer) this.update();
      else for (let hart = 0; hart < this.harts.length; hart++) this.#armQemuTimer(hart);
    } else {
      return;
    }
    this.onTimerWrite?.();
  }

  /** msip, mtimecmp and the MTIP level of each hart for a snapshot (mtime is the clock's). */
  saveState(): ClintState {
    const [hart0, ...others] = this.harts.map((_, i): ClintHartState => ({
      msip: this.#msip[i],
      cmpLo: this.#cmpLo[i],
      cmpHi: this.#cmpHi[i],
      mtip: this.#mtip[i],
    }));
    return others.length === 0 ? hart0 : { ...hart0, otherHarts: others };
  }

  /**
   * Restores {@linkcode saveState}'s state. The harts' mip lines are restored
   * with the harts, so nothing is driven here (that would emit irq events).
   */
  loadState(state: ClintState): void {
    const { otherHarts, ...hart0 } = state;
    const harts = [hart0, ...otherHarts ?? []];
    if (harts.length !== this.harts.length) {
      throw new RangeError(
        `CLINT of ${harts.length} harts in the saved state, ${this.harts.length} here`,
      );
    }
    harts.forEach((h, i) => {
      this.#msip[i] = h.msip;
      this.#cmpLo[i] = h.cmpLo;
      this.#cmpHi[i] = h.cmpHi;
      this.#mtip[i] = h.mtip;
    });
  }

  /** mtimecmp of `hart` in ticks, or Infinity at or above 2^53 (mtime never gets there). */
  #deadline(hart: number): number {
    const hi = this.#cmpHi[hart];
    return hi >= UNREACHABLE_HI ? Infinity : hi * TWO_POW_32 + this.#cmpLo[hart];
  }

  /** mtimecmp of `hart` in ticks, or Infinity if mtime can never reach it. */
  deadlineOf(hart: number): number {
    return this.#deadline(hart);
  }

  /** QEMU 7.2's riscv_aclint_mtimer_write_timecmp ({@linkcode qemuTimer}). */
  #armQemuTimer(hart: number): void {
    const ticks = this.clock.now();
    const cmp = this.#deadline(hart);
    if (cmp <= ticks) {
      this.#setMtip(hart, true); // an armed timer stays armed, as in QEMU
      return;
    }
    this.#setMtip(hart, false);
    this.#fireNs[hart] = this.clock.nanos() + (cmp - ticks) * (1e9 / TIMEBASE_HZ);
  }

  #setMtip(hart: number, level: boolean): void {
    if (level === this.#mtip[hart]) return;
    this.#mtip[hart] = level;
    this.harts[hart].setInterruptLevel(Irq.MTIP, level);
  }

  /** Recomputes every hart's MTIP = (mtime >= mtimecmp); the machine loop calls it as time passes. */
  update(): void {
    if (this.qemuTimer) {
      const ns = this.clock.nanos();
      for (let hart = 0; hart < this.harts.length; hart++) {
        if (ns >= this.#fireNs[hart]) {
          this.#fireNs[hart] = Infinity;
          this.#setMtip(hart, true);
        }
      }
      return;
    }
    const now = this.clock.now();
    for (let hart = 0; hart < this.harts.length; hart++) {
      this.#setMtip(hart, now >= this.#deadline(hart));
    }
  }

  /**
   * The mtime at which the next hart's MTIP rises: the earliest mtimecmp
   * still ahead of mtime; when none is (one hart: its mtimecmp, possibly in
   * the past), the earliest of them, or Infinity if every mtimecmp is beyond
   * any mtime a JS number can reach. Lets an idle machine skip time to its
   * next timer interrupt, and ends instruction batches there: a hart whose
   * timer is already due (firmware leaves mtimecmp behind with MTIE off
   * until the next deadline) must not hide another hart's.
   */
  nextDeadline(): number {
    if (this.harts.length === 1) return this.#deadline(0);
    const now = this.clock.now();
    let ahead = Infinity, earliest = Infinity;
    for (let hart = 0; hart < this.harts.length; hart++) {
      const deadline = this.#deadline(hart);
      earliest = Math.min(earliest, deadline);
      if (deadline > now) ahead = Math.min(ahead, deadline);
    }
    return ahead < Infinity ? ahead : earliest;
  }
}
