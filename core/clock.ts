/**
 * Machine time (`mtime`, the CLINT's 10 MHz counter, and the `time` CSR).
 *
 * Two modes:
 * - `host`: follows the host's monotonic clock, for interactive runs.
 * - `virtual`: derived from the guest's retired-instruction count (under the
 *   hypervisor, the instructions it emulates count too, so that a guest sees
 *   the same time bare and under it), so runs are fully reproducible. As
 *   QEMU's `-icount shift=0`, one instruction is 1 ns, so the 10 MHz timer
 *   ticks every 100 instructions. Idle time (wfi) is skipped by
 *   jumping the clock to the next timer deadline.
 *
 * @module
 */

/** How machine time advances. */
export type ClockMode = "host" | "virtual";

/** Timer frequency of the `virt` machine (timebase-frequency in the DTB). */
export const TIMEBASE_HZ = 10_000_000;

/** Instructions per tick in virtual mode (1 ns per instruction, 100 ns per tick). */
export const INSTRUCTIONS_PER_TICK = 100;

/** Saved state of a {@linkcode Clock}. */
export interface ClockState {
  /** The mode it ran in (informational: restoring into the other mode is allowed). */
  mode: ClockMode;
  /** mtime when saved. */
  now: number;
}

/** The source of `mtime`. */
export class Clock {
  #offset = 0;
  readonly #start = performance.now();

  /**
   * @param mode host wall clock or instruction-count based.
   * @param instret returns the number of instructions the guest retired so far.
   */
  constructor(readonly mode: ClockMode, readonly instret: () => number) {}

  /** Current mtime in ticks of {@linkcode TIMEBASE_HZ}. */
  now(): number {
    if (this.mode === "virtual") {
      return this.#offset + Math.floor(this.instret() / INSTRUCTIONS_PER_TICK);
    }
    return this.#offset + Math.floor((performance.now() - this.#start) * (TIMEBASE_HZ / 1000));
  }

  /**
   * Nanoseconds of machine time, as QEMU's virtual clock counts them: in
   * virtual mode one per instruction (so ticks = floor(ns / 100)) plus the
   * time skipped or set; in host mode from the wall clock.
   */
  nanos(): number {
    if (this.mode === "virtual") return this.#offset * INSTRUCTIONS_PER_TICK + this.instret();
    return this.#offset * (1e9 / TIMEBASE_HZ) + (performance.now() - this.#start) * 1e6;
  }

  /** Sets mtime to `ticks` (a guest write to mtime). */
  set(ticks: number): void {
    this.#offset += ticks - this.now();
  }

  /**
   * The clock's state for a snapshot: mtime now. Saved as a value rather than
   * the offset so that it restores onto either mode (a host-clock snapshot can
   * continue deterministically in virtual mode).
   */
  saveState(): ClockState {
    return { mode: this.mode, now: this.now() };
  }

  /**
   * Restores mtime so that `now()` continues exactly from the saved value.
   * The instruction count must already be restored: virtual time derives from it.
   */
  loadState(state: ClockState): void {
    this.set(state.now);
  }

  /**
   * In virtual mode, the instructions still to retire before `now()` reaches
   * `ticks` (0 if it has): the machine runs the hart no further at a time, so
   * that a timer interrupt comes at the same instruction count however the
   * run is cut into batches. Infinity in host mode.
   */
  instructionsUntil(ticks: number): number {
    if (this.mode !== "virtual") return Infinity;
    return Math.max(0, (ticks - this.#offset) * INSTRUCTIONS_PER_TICK - this.instret());
  }

  /**
   * Skips idle time so that `now()` is at least `ticks`; used when the hart
   * waits for an interrupt. Returns false in host mode, where the caller must
   * wait for real time to pass instead.
   */
  skipTo(ticks: number): boolean {
    if (this.mode !== "virtual") return false;
    const now = this.now();
    if (ticks > now) this.#offset += ticks - now;
    return true;
  }
}
