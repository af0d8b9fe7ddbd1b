/**
 * The hypervisor's page allocator (the seed's pagealloc.c): 4 KiB pages of host
 * RAM below the guest window, for shadow page tables. Pages come back zeroed.
 * There is no per-page free: shadow tables are dropped all at once (sfence.vma,
 * or reclaim when the pool runs dry), so a bump pointer is exactly enough.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";

/** Saved state of a {@linkcode PageAllocator}. */
export interface PageAllocatorState {
  /** Next free page. */
  next: number;
  /** Pages handed out since the last reset. */
  used: number;
  /** Times the pool was emptied. */
  resets: number;
}

/** Bump allocator over `[base, end)` of host physical memory. */
export class PageAllocator {
  #next: number;
  /** Pages handed out since the last reset, for statistics. */
  used = 0;
  /** Times the pool was emptied and refilled. */
  resets = 0;

  /**
   * @param bus host bus whose RAM holds the pool.
   * @param base first host physical address of the pool (4 KiB aligned).
   * @param end end of the pool.
   */
  constructor(readonly bus: Bus, readonly base: number, readonly end: number) {
    if (base % 4096 !== 0 || end % 4096 !== 0 || end <= base) {
      throw new RangeError(`bad page pool 0x${base.toString(16)}..0x${end.toString(16)}`);
    }
    this.#next = base;
  }

  /** Total pages in the pool. */
  get capacity(): number {
    return (this.end - this.base) / 4096;
  }

  /** A zeroed page's host physical address, or -1 when the pool is empty. */
  alloc(): number {
    if (this.#next >= this.end) return -1;
    const page = this.#next;
    this.#next += 4096;
    this.used++;
    const off = this.bus.ramOffset(page, 4096);
    this.bus.ram.fill(0, off, off + 4096);
    return page;
  }

  /** The bump pointer and counters, for a snapshot (the pages are in RAM). */
  saveState(): PageAllocatorState {
    return { next: this.#next, used: this.used, resets: this.resets };
  }

  /** Restores {@linkcode saveState}'s state. */
  loadState(state: PageAllocatorState): void {
    if (state.next < this.base || state.next > this.end) {
      throw new RangeError(
        `saved page pool pointer 0x${state.next.toString(16)} is outside the pool`,
      );
    }
    this.#next = state.next;
    this.used = state.used;
    this.resets = state.resets;
  }

  /** Returns every page to the pool. */
  reset(): void {
    this.#next = this.base;
    this.used = 0;
    this.resets++;
  }
}
