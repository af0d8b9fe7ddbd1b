/**
 * Guest memory virtualization (the seed's vmem.c): which shadow root the host
 * runs on, and filling it on host page faults.
 *
 * A host page fault at guest virtual address `va` is resolved in two steps:
 * 1. guest VA -> guest PA by the guest's own translation (its satp, SUM, MXR,
 *    PMP) at the guest's effective privilege; the walk sets A/D in the guest's
 *    PTEs as hardware would. A guest fault here is the guest's to handle.
 * 2. guest PA -> host PA by the window offset, only for guest RAM (and the boot
 *    ROM page). Guest device pages are never mapped: their accesses keep
 *    faulting and are emulated.
 *
 * Shadow permissions follow the guest PTE: writable only once the guest's D bit
 * is set (so the first write traps and sets it, as RVirt does), executable
 * never for user pages in a supervisor root, nothing but execute in virtual
 * M-mode with MPRV (data accesses are emulated through the MPP translation).
 *
 * @module
 */

import { RAM_BASE } from "../core/bus.ts";
import type { Hart } from "../core/hart.ts";
import { Csr } from "../core/csr.ts";
import { Access, ACCESS_FAULT, type AccessKind, PAGE_FAULT } from "../core/mmu.ts";
import type { Guest } from "./guest.ts";
import { ShadowPageTables, ShadowPerm, type ShadowState } from "./shadow.ts";
import type { PageAllocator } from "./pagealloc.ts";

const PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_D = 128;
const SATP_SV39 = 8 << 28;
const MIB2 = 2 * 1024 * 1024, GIB = 1024 * 1024 * 1024;

/** Result of {@linkcode GuestMemory.fill}. */
export const Fill = {
  /** A shadow entry was written: re-execute the instruction. */
  MAPPED: 0,
  /** The guest's own translation faulted: inject `faultCause`. */
  GUEST_FAULT: 1,
  /** The address is a guest device (or needs per-access checks): emulate the access. */
  EMULATE: 2,
} as const;

/** Saved state of {@linkcode GuestMemory}. */
export interface GuestMemoryState {
  /** Key of the root host satp points at. */
  currentKey: string;
  /** Guest PMP generation the shadow tables were built for. */
  pmpGeneration: number;
  /** The shadow tables. */
  shadow: ShadowState;
  /** Regions (by index) whose shadow came from guest 2 MiB and 1 GiB pages. */
  superpageRegions: { mega: number[]; giga: number[] };
  /** Reclaims so far (absent in snapshots made before it was counted). */
  reclaims?: number;
}

/** The shadow page tables of one guest and the host satp that selects them. */
export class GuestMemory {
  /** The shadow tables. */
  readonly shadow: ShadowPageTables;
  /** For GUEST_FAULT results: the guest exception cause. */
  faultCause = 0;
  /**
   * Times the page pool ran dry and every shadow table was dropped to make
   * room (the pool's `resets` also count the guest's own flushes).
   */
  reclaims = 0;
  #currentKey = "";
  #pmpGeneration = -1;
  /**
   * The 2 MiB and 1 GiB guest virtual regions (by index: va / size, floored)
   * that hold shadow entries made from guest superpages: a fence of one
   * address there must drop the whole region, as the guest's leaf covers it.
   */
  readonly #megaRegions = new Set<number>();
  readonly #gigaRegions = new Set<number>();

  constructor(readonly hart: Hart, readonly guest: Guest, pages: PageAllocator) {
    this.shadow = new ShadowPageTables(hart.bus, pages);
  }

  /**
   * The translation context the guest is in. Roots are cached per context, so
   * everything that changes translation results must be part of the key.
   */
  rootKey(): string {
    const c = this.guest.vcpu.csr, mmu = this.guest.vcpu.mmu;
    if (c.priv === 3) return c.dataPriv === 3 ? "M" : "M+MPRV";
    if (mmu.satpMode === 0) return `bare:${c.priv}`;
    const sum = c.priv === 1 && mmu.sum ? 1 : 0;
    return `sv39:${c.priv}:${mmu.satpPpn}:${sum}:${mmu.mxr ? 1 : 0}`;
  }

  /** The current root's key, the PMP generation it was built for, and the shadow tables. */
  saveState(): GuestMemoryState {
    return {
      currentKey: this.#currentKey,
      pmpGeneration: this.#pmpGeneration,
      shadow: this.shadow.saveState(),
      superpageRegions: { mega: [...this.#megaRegions], giga: [...this.#gigaRegions] },
      reclaims: this.reclaims,
    };
  }

  /** Restores {@linkcode saveState}'s state (host satp is restored with the hart). */
  loadState(state: GuestMemoryState): void {
    this.#currentKey = state.currentKey;
    this.#pmpGeneration = state.pmpGeneration;
    this.reclaims = state.reclaims ?? 0;
    this.shadow.loadState(state.shadow);
    this.#megaRegions.clear();
    this.#gigaRegions.clear();
    for (const r of state.superpageRegions.mega) this.#megaRegions.add(r);
    for (const r of state.superpageRegions.giga) this.#gigaRegions.add(r);
  }

  /** Points host satp at the root for the guest's current context. */
  switchRoot(): void {
    const mmu = this.guest.vcpu.mmu;
    if (mmu.pmpGeneration !== this.#pmpGeneration) { // guest PMP changed: permissions did too
      this.#pmpGeneration = mmu.pmpGeneration;
      this.flush();
    }
    const key = this.rootKey();
    if (key === this.#currentKey) return;
    let root = this.shadow.root(key);
    if (root < 0) { // pool exhausted: reclaim everything and start over
      this.reclaims++;
      this.shadow.clear();
      root = this.shadow.root(key);
    }
    this.#currentKey = key;
    const ppn = root / 4096;
    this.hart.csr.write(Csr.satp, ppn | 0, SATP_SV39 | Math.floor(ppn / 4294967296));
  }

  /**
   * Points host satp at the root for the guest's current context even if it
   * was already selected: another guest's root was on the host meanwhile.
   */
  reselect(): void {
    this.#currentKey = "";
    this.switchRoot();
  }

  /** Drops all shadow tables (guest sfence.vma, PMP change) and re-selects the root. */
  flush(): void {
    this.shadow.clear();
    this.#megaRegions.clear();
    this.#gigaRegions.clear();
    this.#currentKey = "";
    this.hart.mmu.flush();
  }

  /**
   * A guest `sfence.vma` of one address (rs1 != x0): the guest changed the
   * leaf PTE of `va` (privileged spec 4.2.1; non-leaf changes need rs1 = x0),
   * so only what the shadow holds for that leaf goes, in every root, instead
   * of every table: Linux fences single pages tens of thousands of times a boot.
   */
  fenceAddress(va: number): void {
    const level = this.#gigaRegions.has(Math.floor(va / GIB))
      ? 2
      : this.#megaRegions.has(Math.floor(va / MIB2))
      ? 1
      : 0;
    this.shadow.unmap(va, level);
    if (level === 0) this.hart.mmu.flushPage(va);
    else this.hart.mmu.flush();
  }

  /**
   * Resolves a host page fault at guest virtual `va` for an access of `kind` at
   * guest privilege `priv` (MPRV applied for data).
   */
  fill(va: number, kind: AccessKind, priv: number): number {
    const vcpu = this.guest.vcpu;
    if (kind !== Access.FETCH && vcpu.csr.priv === 3 && priv !== 3) return Fill.EMULATE; // MPRV
    const gpa = vcpu.mmu.translate(va, kind, priv, false);
    const leafLevel = vcpu.mmu.leafLevel;
    if (gpa === PAGE_FAULT) {
      this.faultCause = kind === Access.FETCH ? 12 : kind === Access.LOAD ? 13 : 15;
      return Fill.GUEST_FAULT;
    }
    if (gpa === ACCESS_FAULT) return this.#accessFault(kind);
    const page = gpa - (gpa & 0xfff);
    let hpa: number, perms: number;
    if (this.guest.isRamPage(page)) {
      if (!vcpu.mmu.pmpUniform(page)) {
        return kind === Access.FETCH ? this.#accessFault(kind) : Fill.EMULATE;
      }
      hpa = page - RAM_BASE + this.guest.windowBase;
      perms = this.#permissions(vcpu.mmu.leafFlags, priv) & this.#pmpPermissions(page, priv);
    } else if (this.guest.isRomPage(page) && kind !== Access.STORE) {
      // Read/execute at most, and only what the guest's PTE and PMP allow:
      // a read-only mapping must not make the ROM executable, nor the reverse.
      if (!vcpu.mmu.pmpUniform(page)) return this.#accessFault(kind);
      hpa = this.guest.romPage;
      perms = (ShadowPerm.R | ShadowPerm.X) & this.#permissions(vcpu.mmu.leafFlags, priv) &
        this.#pmpPermissions(page, priv);
    } else if (kind !== Access.FETCH && this.guest.bus.findRegion(gpa) !== null) {
      return Fill.EMULATE;
    } else {
      return this.#accessFault(kind);
    }
    if (this.#currentKey === "M+MPRV") perms &= ShadowPerm.X;
    if (leafLevel === 1) this.#megaRegions.add(Math.floor(va / MIB2));
    else if (leafLevel === 2) this.#gigaRegions.add(Math.floor(va / GIB));
    if (!this.shadow.map(this.#root(), va, hpa, perms)) {
      this.reclaims++;
      this.flush();
      this.switchRoot();
      this.shadow.map(this.#root(), va, hpa, perms);
    }
    return Fill.MAPPED;
  }

  #root(): number {
    return this.shadow.root(this.#currentKey);
  }

  #accessFault(kind: AccessKind): number {
    this.faultCause = kind === Access.FETCH ? 1 : kind === Access.LOAD ? 5 : 7;
    return Fill.GUEST_FAULT;
  }

  /** What the guest's PMP allows on the whole (PMP-uniform) page at `gpa`, as shadow bits. */
  #pmpPermissions(gpa: number, priv: number): number {
    const mmu = this.guest.vcpu.mmu;
    return (mmu.pmpAllows(gpa, 4096, Access.LOAD, priv) ? ShadowPerm.R : 0) |
      (mmu.pmpAllows(gpa, 4096, Access.STORE, priv) ? ShadowPerm.W : 0) |
      (mmu.pmpAllows(gpa, 4096, Access.FETCH, priv) ? ShadowPerm.X : 0);
  }

  /** Shadow R/W/X from the guest leaf flags (the walk already checked this access). */
  #permissions(flags: number, priv: number): number {
    const mxr = this.guest.vcpu.mmu.mxr;
    let perms = 0;
    if ((flags & PTE_R) || (mxr && (flags & PTE_X))) perms |= ShadowPerm.R;
    if ((flags & PTE_W) && (flags & PTE_D)) perms |= ShadowPerm.W;
    // Supervisor code never executes user pages (4.3.1), even with SUM.
    if ((flags & PTE_X) && !(priv === 1 && (flags & PTE_U))) perms |= ShadowPerm.X;
    return perms;
  }
}
