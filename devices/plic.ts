/**
 * SiFive PLIC as QEMU 7.2's `virt` machine configures it for `-smp N` without
 * AIA: 96 sources (source 0 reserved), 7 priority levels, and two contexts per
 * hart, 2i driving hart i's MEIP and 2i+1 its SEIP. The enable, threshold and
 * claim registers of contexts beyond the last read as zero and ignore writes,
 * as QEMU's.
 *
 * Pending follows QEMU 7.2's hw/intc/sifive_plic.c rather than the PLIC spec's
 * gateway, because guests written for QEMU depend on it: every time a device
 * signals its line (sifive_plic_irq_request), the source's pending bit takes
 * the signalled level, even while the source is claimed; a claim clears it;
 * completing a claim only ends the claim and never re-pends a line that is
 * still high. So a device that keeps its line high without signalling again
 * interrupts once per signal, not once per completion.
 *
 * @module
 */

import type { AccessRule, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import type { EventBus } from "../core/events.ts";
import { type InterruptTarget, Irq, type IrqLine } from "../core/irq.ts";

/** Physical base address of the PLIC on `virt`. */
export const PLIC_BASE = 0x0c00_0000;
/** Size of the PLIC's address range. */
export const PLIC_SIZE = 0x60_0000;
/** Number of interrupt sources including the reserved source 0. */
export const PLIC_NUM_SOURCES = 96;
/** Highest priority; priority and threshold registers hold 0..7 (3 bits, WARL). */
export const PLIC_MAX_PRIORITY = 7;

/** Register block offsets from the PLIC base. */
export const PlicReg = {
  /** Source priorities, one word per source. */
  PRIORITY: 0x0,
  /** Pending bits, 32 sources per word, read-only. */
  PENDING: 0x1000,
  /** Enable bits of context 0; later contexts follow every ENABLE_STRIDE bytes. */
  ENABLE: 0x2000,
  /** Bytes between the enable blocks of two contexts. */
  ENABLE_STRIDE: 0x80,
  /** Threshold of context 0; the claim/complete word follows it at +4. */
  CONTEXT: 0x20_0000,
  /** Bytes between the threshold registers of two contexts. */
  CONTEXT_STRIDE: 0x1000,
} as const;

const WORDS = PLIC_NUM_SOURCES / 32;
/** The interrupt of its hart that each of a hart's contexts drives ("MS" in QEMU's hart config). */
const CONTEXT_IRQ = [Irq.MEIP, Irq.SEIP] as const;

/** Saved state of a {@linkcode Plic} (plain JSON). */
export interface PlicState {
  /** Priority per source. */
  priority: number[];
  /** The level each line was last signalled at, 32 sources per word (for `irq` events). */
  level: number[];
  /** Pending bits. */
  pending: number[];
  /** Claimed (in service) bits. */
  claimed: number[];
  /** Enable words, per context (two contexts per hart). */
  enable: number[];
  /** Threshold per context. */
  threshold: number[];
  /** The level each context drives. */
  output: boolean[];
}

/** Platform-level interrupt controller: routes device lines to each hart's MEIP and SEIP. */
export class Plic implements MmioDevice {
  /** Device name used in events and the DTB. */
  readonly name = "plic";
  readonly #priority = new Uint32Array(PLIC_NUM_SOURCES);
  readonly #level = new Uint32Array(WORDS);
  readonly #pending = new Uint32Array(WORDS);
  readonly #claimed = new Uint32Array(WORDS);
  readonly #contexts: number;
  readonly #enable: Uint32Array;
  readonly #threshold: Uint32Array;
  readonly #output: boolean[];
  readonly #lines: (IrqLine | undefined)[] = [];

  /**
   * @param harts by hart id: hart i receives MEIP (context 2i) and SEIP (context 2i+1).
   * @param events where source level changes are published on the `irq` topic.
   */
  constructor(readonly harts: readonly InterruptTarget[], readonly events: EventBus) {
    this.#contexts = harts.length * CONTEXT_IRQ.length;
    this.#enable = new Uint32Array(WORDS * this.#contexts);
    this.#threshold = new Uint32Array(this.#contexts);
    this.#output = new Array(this.#contexts).fill(false);
    for (const hart of harts) for (const bit of CONTEXT_IRQ) hart.setInterruptLevel(bit, false);
  }

  /** The interrupt line of `source` (1..95), for the device wired to it. */
  line(source: number): IrqLine {
    if (!Number.isInteger(source) || source < 1 || source >= PLIC_NUM_SOURCES) {
      throw new RangeError(`PLIC source ${source} is not in 1..${PLIC_NUM_SOURCES - 1}`);
    }
    return this.#lines[source] ??= { set: (level) => this.#signal(source, level) };
  }

  /** sifive_plic_irq_request: a device signals `level` on `source`'s line. */
  #signal(source: number, level: boolean): void {
    const word = source >>> 5;
    const bit = 1 << (source & 31);
    const changed = ((this.#level[word] & bit) !== 0) !== level;
    if (level) {
      this.#level[word] |= bit;
      this.#pending[word] |= bit;
    } else {
      this.#level[word] &= ~bit;
      this.#pending[word] &= ~bit;
    }
    // A high signal matters even when the line already was high: it pends the source again.
    if ((changed || level) && this.events.wants("irq")) {
      this.events.emit("irq", { controller: "plic", line: source, level });
    }
    this.#update();
  }

  /** Priorities, line levels, pending, claimed, enables, thresholds and outputs, for a snapshot. */
  saveState(): PlicState {
    return {
      priority: [...this.#priority],
      level: [...this.#level],
      pending: [...this.#pending],
      claimed: [...this.#claimed],
      enable: [...this.#enable],
      threshold: [...this.#threshold],
      output: [...this.#output],
    };
  }

  /** Restores {@linkcode saveState}'s state without driving the harts (their mip is restored with them). */
  loadState(state: PlicState): void {
    if (state.threshold.length !== this.#contexts) {
      throw new RangeError(
        `PLIC of ${state.threshold.length} contexts in the saved state, ${this.#contexts} here`,
      );
    }
    this.#priority.set(state.priority);
    this.#level.set(state.level);
    this.#pending.set(state.pending);
    this.#claimed.set(state.claimed);
    this.#enable.set(state.enable);
    this.#threshold.set(state.threshold);
    for (let i = 0; i < this.#contexts; i++) this.#output[i] = state.output[i];
  }

  /** QEMU 7.2's sifive_plic: 4-byte accesses anywhere in its aperture. */
  readonly rules: readonly AccessRule[] = [
    { offset: 0, size: PLIC_SIZE, minWidth: 4, maxWidth: 4, implWidth: 4 },
  ];

  /** Reads a register (4 bytes: the rules refuse others). */
  read(offset: number, _size: DeviceAccessSize): number {
    if (offset < PLIC_NUM_SOURCES * 4) return this.#priority[offset >>> 2];
    if (offset >= PlicReg.PENDING && offset < PlicReg.PENDING + WORDS * 4) {
      return this.#pending[(offset - PlicReg.PENDING) >>> 2];
    }
    const enable = this.#enableIndex(offset);
    if (enable >= 0) return this.#enable[enable];
    const context = this.#contextOf(offset);
    if (context >= 0) {
      const reg = offset & (PlicReg.CONTEXT_STRIDE - 1);
      if (reg === 0) return this.#threshold[context];
      if (reg === 4) return this.#claim(context);
    }
    return 0;
  }

  /** Writes a register (4 bytes: the rules refuse others); read-only ones ignore it. */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    value >>>= 0;
    if (offset < PLIC_NUM_SOURCES * 4) {
      // QEMU makes the priority bits WARL by dropping the unsupported high bits.
      this.#priority[offset >>> 2] = value % (PLIC_MAX_PRIORITY + 1);
      this.#update();
      return;
    }
    const enable = this.#enableIndex(offset);
    if (enable >= 0) {
      this.#enable[enable] = value;
      this.#update();
      return;
    }
    const context = this.#contextOf(offset);
    if (context < 0) return;
    const reg = offset & (PlicReg.CONTEXT_STRIDE - 1);
    if (reg === 0) {
      this.#threshold[context] = value % (PLIC_MAX_PRIORITY + 1);
      this.#update();
    } else if (reg === 4 && value < PLIC_NUM_SOURCES) {
      this.#complete(value);
    }
  }

  /** Index into #enable for an enable-word offset, or -1. */
  #enableIndex(offset: number): number {
    const rel = offset - PlicReg.ENABLE;
    if (rel < 0 || rel >= this.#contexts * PlicReg.ENABLE_STRIDE) return -1;
    const word = (rel & (PlicReg.ENABLE_STRIDE - 1)) >>> 2;
    if (word >= WORDS) return -1;
    return Math.floor(rel / PlicReg.ENABLE_STRIDE) * WORDS + word;
  }

  /** Context number for an offset in the threshold/claim area, or -1. */
  #contextOf(offset: number): number {
    const rel = offset - PlicReg.CONTEXT;
    if (rel < 0 || rel >= this.#contexts * PlicReg.CONTEXT_STRIDE) return -1;
    return Math.floor(rel / PlicReg.CONTEXT_STRIDE);
  }

  /** The best pending, enabled, unclaimed source above the context's threshold, or 0. */
  #best(context: number): number {
    let best = 0;
    let bestPriority = this.#threshold[context];
    for (let w = 0; w < WORDS; w++) {
      const candidates = this.#pending[w] & ~this.#claimed[w] & this.#enable[context * WORDS + w];
      if (candidates === 0) continue;
      for (let b = 0; b < 32; b++) {
        if ((candidates & (1 << b)) === 0) continue;
        const source = (w << 5) | b;
        // Strictly greater: on equal priority the lower source number wins.
        if (this.#priority[source] > bestPriority) {
          best = source;
          bestPriority = this.#priority[source];
        }
      }
    }
    return best;
  }

  #claim(context: number): number {
    const source = this.#best(context);
    if (source !== 0) {
      const word = source >>> 5;
      const bit = 1 << (source & 31);
      this.#pending[word] &= ~bit;
      this.#claimed[word] |= bit;
    }
    this.#update();
    return source;
  }

  #complete(source: number): void {
    const word = source >>> 5;
    const bit = 1 << (source & 31);
    // QEMU completes any source number below num_sources, whatever the context's enables,
    // and leaves pending alone: only a new signal from the device pends the source again.
    this.#claimed[word] &= ~bit;
    this.#update();
  }

  /** Drives each hart's MEIP/SEIP from its contexts' best candidates. */
  #update(): void {
    for (let context = 0; context < this.#contexts; context++) {
      const level = this.#best(context) !== 0;
      if (level !== this.#output[context]) {
        this.#output[context] = level;
        this.harts[context >>> 1].setInterruptLevel(CONTEXT_IRQ[context & 1], level);
      }
    }
  }
}
