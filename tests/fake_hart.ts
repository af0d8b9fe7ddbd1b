/**
 * A stand-in for the hart in device tests: it remembers the last level each
 * device drove on each mip bit.
 *
 * @module
 */

/** A hart that remembers the last level of each mip bit. */
export class FakeHart {
  /** Last level by mip bit. */
  readonly levels = new Map<number, boolean>();
  /** The device drives `bit` to `level`. */
  setInterruptLevel(bit: number, level: boolean): void {
    this.levels.set(bit, level);
  }
  /** The last level of `bit` (low if never driven). */
  level(bit: number): boolean {
    return this.levels.get(bit) ?? false;
  }
}
