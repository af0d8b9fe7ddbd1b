/**
 * Interrupt wiring between devices, interrupt controllers and the hart.
 *
 * @module
 */

/** Bit numbers of the machine interrupt-pending register (mip). */
export const Irq = {
  /** Supervisor software interrupt. */
  SSIP: 1,
  /** Machine software interrupt (CLINT msip). */
  MSIP: 3,
  /** Supervisor timer interrupt. */
  STIP: 5,
  /** Machine timer interrupt (CLINT mtimecmp). */
  MTIP: 7,
  /** Supervisor external interrupt (PLIC context 1). */
  SEIP: 9,
  /** Machine external interrupt (PLIC context 0). */
  MEIP: 11,
} as const;

/** Something with mip lines that hardware drives: the hart. */
export interface InterruptTarget {
  /** Sets the hardware level of mip bit `bit` (one of {@linkcode Irq}). */
  setInterruptLevel(bit: number, level: boolean): void;
}

/** One interrupt line from a device into an interrupt controller. */
export interface IrqLine {
  /**
   * Signals the line's level. Devices signal at every point where QEMU's model
   * of them updates its interrupt output, and a controller may act on each
   * signal (QEMU's PLIC pends a source on every high one), not only on changes.
   */
  set(level: boolean): void;
}
