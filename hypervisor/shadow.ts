/**
 * Shadow page tables (the seed's vmem.c): real Sv39 tables in host RAM that the
 * host MMU walks while the guest runs in host U-mode. Each maps guest virtual
 * pages straight to host physical pages of the guest window, with the
 * permissions the guest's own translation allows. They are filled lazily, one
 * 4 KiB page per host page fault. A guest sfence.vma of one address removes
 * that page's shadow from every root; one of all addresses drops them all.
 *
 * One root per translation context (virtual mode, guest satp, SUM, MXR, MPRV),
 * cached by key, so switching between guest user and kernel costs no refill.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import type { PageAllocator, PageAllocatorState } from "./pagealloc.ts";

/** Permission bits of a shadow leaf (the Sv39 PTE R, W and X bits). */
export const ShadowPerm = { R: 2, W: 4, X: 8 } as const;

const PTE_V = 1, PTE_U = 16, PTE_A = 64, PTE_D = 128;
const TWO30 = 1 << 30;

/** Saved state of {@linkcode ShadowPageTables}. */
export interface ShadowState {
  /** Root table address by translation-context key. */
  roots: [string, number][];
  /** Leaf entries written so far. */
  fills: number;
  /** The page pool. */
  pages: PageAllocatorState;
}

/** The shadow tables of one guest. */
export class ShadowPageTables {
  readonly #roots = new Map<string, number>();
  /** Leaf entries written since creation, for statistics. */
  fills = 0;

  constructor(readonly bus: Bus, readonly pages: PageAllocator) {}

  /** Number of cached roots. */
  get rootCount(): number {
    return this.#roots.size;
  }

  /** The root table for `key`, allocated on first use; -1 if the pool is empty. */
  root(key: string): number {
    let root = this.#roots.get(key);
    if (root === undefined) {
      root = this.pages.alloc();
      if (root < 0) return -1;
      this.#roots.set(key, root);
    }
    return root;
  }

  /**
   * Maps the 4 KiB page of `va` to host page `hpa` with `perms` (ShadowPerm bits)
   * in the table at `root`, accessible from host U-mode. False if out of pages.
   */
  map(root: number, va: number, hpa: number, perms: number): boolean {
    const ram32 = this.bus.ram32;
    let table = root;
    for (let level = 2; level > 0; level--) {
      const vpn = level === 2 ? Math.floor(va / TWO30) & 0x1ff : (va >>> 21) & 0x1ff;
      const w = this.#word(table + vpn * 8);
      const lo = ram32[w];
      if ((lo & PTE_V) === 0) {
        const next = this.pages.alloc();
        if (next < 0) return false;
        this.#setPte(w, next, PTE_V);
        table = next;
      } else {
        table = ((lo >>> 10) + (ram32[w + 1] & 0x3fffff) * 4194304) * 4096;
      }
    }
    const w = this.#word(table + ((va >>> 12) & 0x1ff) * 8);
    // A and D preset: the host MMU then never writes to shadow tables.
    this.#setPte(w, hpa, PTE_V | PTE_U | PTE_A | PTE_D | perms);
    this.fills++;
    return true;
  }

  /**
   * The cached roots by context key, for a snapshot. The tables themselves
   * are host RAM, which the snapshot holds anyway, so keeping the roots (rather
   * than dropping the tables as the cache they are) costs nothing and restores
   * exactly the same host page faults, and so the same run.
   */
  saveState(): ShadowState {
    return { roots: [...this.#roots], fills: this.fills, pages: this.pages.saveState() };
  }

  /** Restores {@linkcode saveState}'s state. */
  loadState(state: ShadowState): void {
    this.#roots.clear();
    for (const [key, root] of state.roots) this.#roots.set(key, root);
    this.fills = state.fills;
    this.pages.loadState(state.pages);
  }

  /**
   * Removes the shadow of guest virtual `va` from every root: with `level` 0
   * the 4 KiB leaf, with 1 or 2 the whole 2 MiB or 1 GiB region around it
   * (its table pages stay allocated until the next {@linkcode clear}).
   */
  unmap(va: number, level: 0 | 1 | 2): void {
    const ram32 = this.bus.ram32;
    for (const root of this.#roots.values()) {
      let table = root;
      for (let l = 2; l >= level; l--) {
        const vpn = l === 2 ? Math.floor(va / TWO30) & 0x1ff : (va >>> (12 + 9 * l)) & 0x1ff;
        const w = this.#word(table + vpn * 8);
        if ((ram32[w] & PTE_V) === 0) break;
        if (l === level) {
          ram32[w] = 0, ram32[w + 1] = 0;
          break;
        }
        table = ((ram32[w] >>> 10) + (ram32[w + 1] & 0x3fffff) * 4194304) * 4096;
      }
    }
  }

  /** Drops every shadow table (guest sfence.vma, or reclaim). */
  clear(): void {
    this.#roots.clear();
    this.pages.reset();
  }

  #word(hpa: number): number {
    return this.bus.ramOffset(hpa, 8) >> 2;
  }

  #setPte(w: number, hpa: number, flags: number): void {
    const ppn = Math.floor(hpa / 4096);
    this.bus.ram32[w] = flags | ((ppn & 0x3fffff) << 10);
    this.bus.ram32[w + 1] = Math.floor(ppn / 4194304);
  }
}
