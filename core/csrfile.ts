/**
 * The privileged state of a hart: privilege level and CSRs with their WARL
 * rules, trap entry, mret/sret and interrupt selection (privileged spec 1.12).
 *
 * It is separate from the interpreter so that the same rules serve twice: the
 * emulated host hart uses one, and the hypervisor gives each guest vCPU one
 * (the guest's virtual CSRs), so a guest sees exactly the hart it would see
 * bare.
 *
 * Values are int32 pairs; 64-bit results are returned through {@linkcode out}.
 *
 * @module
 */

import {
  Csr,
  MIDELEG_WRITABLE,
  MIE_WRITABLE,
  MIP_WRITABLE,
  Mstatus,
  MSTATUS_HI_FIXED,
  MSTATUS_WRITABLE,
  PLAIN_CSRS,
  S_INTERRUPTS,
  SSTATUS_MASK,
} from "./csr.ts";
import type { Priv } from "./events.ts";
import { out, toNumber } from "./int64.ts";
import { type Mmu, type MmuState, PMP_COUNT } from "./mmu.ts";
import { Triggers, type TriggersState } from "./triggers.ts";

const TWO32 = 4294967296;
const MIP_SEIP = 1 << 9;

/** misa: MXL = 64, extensions A, C, I, M, S, U. */
const MISA_LO = (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20);
const MISA_HI = 0x80000000 | 0;
/** misa bits D (3) and F (5), present when the hart has the FPU. */
const MISA_FD = (1 << 3) | (1 << 5);
/** mstatus.SD (bit 63, the high word's sign): FS = Dirty (XS and VS are always Off here). */
const SD_HI = 0x80000000 | 0;

/** Interrupt priority order of privileged spec 3.1.9: MEI, MSI, MTI, SEI, SSI, STI. */
const INTERRUPT_PRIORITY = [11, 3, 7, 9, 1, 5];

/** Where counters and time come from. */
export interface CounterSource {
  /** Instructions retired so far. */
  retired(): number;
  /** mtime in ticks. */
  time(): number;
}

/** Saved state of a {@linkcode CsrFile} (plain JSON). */
export interface CsrFileState {
  /** Privilege level. */
  priv: Priv;
  /** mstatus low word. */
  mstatus: number;
  /** mie. */
  mie: number;
  /** Software-written mip bits. */
  mipSw: number;
  /** Hardware-driven mip bits (the interrupt lines' levels when saved). */
  mipHw: number;
  /** Non-zero plain CSRs as [number, low word, high word]. */
  csrs: [number, number, number][];
  /** mtvec (lo, hi). */
  mtvec: number[];
  /** stvec (lo, hi). */
  stvec: number[];
  /** satp (lo, hi). */
  satp: number[];
  /** minstret - retired (lo, hi). */
  instretOffset: number[];
  /** mcycle - retired (lo, hi). */
  cycleOffset: number[];
  /** fcsr (frm and the accrued FP flags). */
  fcsr: number;
  /** The MMU's translation state. */
  mmu: MmuState;
  /** The debug triggers. */
  triggers: TriggersState;
}

/** Privilege level and CSRs of one (real or virtual) hart. */
export class CsrFile {
  /** Current privilege level. */
  priv: Priv = 3;
  /** mstatus, low word (the high word is fixed: UXL = SXL = 64). */
  mstatus = 0;
  /** mie. */
  mie = 0;
  /** mip bits written by software (SSIP, STIP, SEIP). */
  mipSw = 0;
  /** mip bits driven by hardware (CLINT, PLIC). */
  mipHw = 0;
  /** Effective privilege of loads and stores (MPRV applied). */
  dataPriv: Priv = 3;
  /**
   * F and D are present: misa shows them, mstatus.FS is writable, fflags/frm/
   * fcsr exist. Without them FS is read-only zero, so every FP instruction
   * and FP CSR access is illegal.
   */
  fpu = false;
  /** fcsr: accrued flags in bits 4:0, frm in bits 7:5 (unprivileged spec 11.2). */
  fcsr = 0;
  /**
   * QEMU 7.2's choices where the spec leaves a choice or QEMU follows an
   * older one, so that firmware probing CSRs runs the same instructions on
   * both (the default, as guests written for QEMU expect it): pmpaddr16..63
   * and (m)hpmcounter19..31 are illegal (QEMU has priv 1.11's 16 PMP CSRs and
   * 16 HPM counters); mhpmcounter3..18, mhpmevent3..31, mcountinhibit and all
   * 64 bits of mcounteren/scounteren keep what is written (the counters do not
   * count). Off: priv 1.12's reading (all 64 pmpaddr and 29 counters, read-only
   * zero; 32-bit counter-enable registers), which scripts/lockstep-trace.ts
   * --no-quirks compares with QEMU.
   */
  qemuQuirks = true;
  /** mhartid: this hart's number on its machine (read-only to software; reset keeps it). */
  hartId = 0;
  /** Called after anything that changes translation, privilege or interrupt state. */
  onChange: () => void = () => {};
  /** The debug trigger CSRs (tselect, tdata1..3, tinfo) and their matching rules. */
  readonly triggers: Triggers = new Triggers();
  readonly #lo = new Int32Array(4096);
  readonly #hi = new Int32Array(4096);
  readonly #mtvec = [0, 0];
  readonly #stvec = [0, 0];
  readonly #satp = [0, 0];
  /** minstret - retired and mcycle - retired, exact 64-bit pairs (lo, hi). */
  readonly #instretOffset = [0, 0];
  readonly #cycleOffset = [0, 0];

  /**
   * @param mmu translation state that satp, mstatus and the PMP CSRs control.
   * @param counters the instruction count and mtime behind the counter CSRs.
   */
  constructor(readonly mmu: Mmu, readonly counters: CounterSource) {}

  /** Reset values: M-mode, everything zero. */
  reset(): void {
    this.#lo.fill(0);
    this.#hi.fill(0);
    this.#lo[Csr.mhartid] = this.hartId;
    this.priv = 3;
    this.mstatus = 0;
    this.fcsr = 0;
    this.mie = 0;
    this.mipSw = 0;
    this.#mtvec.fill(0);
    this.#stvec.fill(0);
    this.#satp.fill(0);
    this.#instretOffset.fill(0);
    this.#cycleOffset.fill(0);
    this.mmu.satpMode = 0;
    this.mmu.satpPpn = 0;
    this.mmu.sum = this.mmu.mxr = false;
    for (let i = 0; i < PMP_COUNT; i++) {
      this.mmu.pmpcfg[i] = 0;
      this.mmu.pmpaddrLo[i] = 0;
      this.mmu.pmpaddrHi[i] = 0;
    }
    this.mmu.setPmpcfg(0, 0); // recompute PMP ranges and flush
    this.triggers.reset();
    this.#updateDataPriv();
  }

  /**
   * Everything a snapshot needs: privilege, CSR values (only the non-zero
   * plain CSRs, not the 2 x 4096-entry arrays), counter offsets, and the MMU's
   * translation state that satp, mstatus and the PMP CSRs control.
   */
  saveState(): CsrFileState {
    const csrs: [number, number, number][] = [];
    for (let i = 0; i < 4096; i++) {
      if (this.#lo[i] !== 0 || this.#hi[i] !== 0) csrs.push([i, this.#lo[i], this.#hi[i]]);
    }
    return {
      priv: this.priv,
      mstatus: this.mstatus,
      mie: this.mie,
      mipSw: this.mipSw,
      mipHw: this.mipHw,
      csrs,
      mtvec: [...this.#mtvec],
      stvec: [...this.#stvec],
      satp: [...this.#satp],
      instretOffset: [...this.#instretOffset],
      cycleOffset: [...this.#cycleOffset],
      fcsr: this.fcsr,
      mmu: this.mmu.saveState(),
      triggers: this.triggers.saveState(),
    };
  }

  /**
   * Restores {@linkcode saveState}'s state as is (no WARL legalisation: it was
   * legal when saved) and tells the owner through onChange.
   */
  loadState(state: CsrFileState): void {
    this.#lo.fill(0);
    this.#hi.fill(0);
    for (const [i, lo, hi] of state.csrs) this.#lo[i] = lo, this.#hi[i] = hi;
    this.priv = state.priv;
    this.mstatus = state.mstatus;
    this.mie = state.mie;
    this.mipSw = state.mipSw;
    this.mipHw = state.mipHw;
    const copy = (to: number[], from: number[]) => (to[0] = from[0], to[1] = from[1]);
    copy(this.#mtvec, state.mtvec);
    copy(this.#stvec, state.stvec);
    copy(this.#satp, state.satp);
    copy(this.#instretOffset, state.instretOffset);
    copy(this.#cycleOffset, state.cycleOffset);
    this.fcsr = state.fcsr;
    this.mmu.loadState(state.mmu);
    this.triggers.loadState(state.triggers);
    this.#updateDataPriv();
  }

  /** mip as software reads it. */
  get mip(): number {
    return this.mipHw | this.mipSw;
  }

  /** True if an interrupt is pending and enabled in mie, whatever the global enables (wfi). */
  get interruptPending(): boolean {
    return (this.mip & this.mie) !== 0;
  }

  /** A 64-bit CSR as a number (epc, tvec, ...). */
  pair(csr: number): number {
    return toNumber(this.#lo[csr], this.#hi[csr]);
  }

  // ----------------------------------------------------------- interrupts

  /**
   * The interrupt to take now (its cause number), or -1: pending, enabled in
   * mie, and globally enabled for the mode it goes to (privileged spec 3.1.9).
   */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return -1;
    const mideleg = this.#lo[Csr.mideleg];
    const mEnabled = this.priv < 3 || (this.mstatus & Mstatus.MIE) !== 0;
    const sEnabled = this.priv < 1 || (this.priv === 1 && (this.mstatus & Mstatus.SIE) !== 0);
    let candidates = 0;
    if (mEnabled) candidates |= pending & ~mideleg;
    if (sEnabled) candidates |= pending & mideleg;
    if (candidates === 0) return -1;
    for (const bit of INTERRUPT_PRIORITY) if (candidates & (1 << bit)) return bit;
    return -1;
  }

  // ---------------------------------------------------------------- traps

  /** The mode a trap with this cause goes to, by delegation (3.1.8). */
  trapTarget(cause: number, interrupt: boolean): Priv {
    const deleg = this.priv <= 1 &&
      ((interrupt ? this.#lo[Csr.mideleg] : this.#lo[Csr.medeleg]) & (1 << cause)) !== 0;
    return deleg ? 1 : 3;
  }

  /**
   * Trap entry (3.1.6.1, 4.1.1): saves pc/cause/tval in the target mode's CSRs,
   * stacks the interrupt enable, switches privilege. Returns the new pc.
   */
  enterTrap(cause: number, interrupt: boolean, tval: number, pc: number): number {
    const from = this.priv;
    const to = this.trapTarget(cause, interrupt);
    const causeHi = interrupt ? 0x80000000 | 0 : 0;
    const ms = this.mstatus;
    let vector: number[];
    if (to === 1) {
      this.#writeNumber(Csr.sepc, pc);
      this.#lo[Csr.scause] = cause, this.#hi[Csr.scause] = causeHi;
      this.#writeNumber(Csr.stval, tval);
      this.mstatus = (ms & ~(Mstatus.SPP | Mstatus.SPIE | Mstatus.SIE)) |
        (from === 1 ? Mstatus.SPP : 0) | ((ms & Mstatus.SIE) ? Mstatus.SPIE : 0);
      vector = this.#stvec;
    } else {
      this.#writeNumber(Csr.mepc, pc);
      this.#lo[Csr.mcause] = cause, this.#hi[Csr.mcause] = causeHi;
      this.#writeNumber(Csr.mtval, tval);
      this.mstatus = (ms & ~(Mstatus.MPP | Mstatus.MPIE | Mstatus.MIE)) | (from << 11) |
        ((ms & Mstatus.MIE) ? Mstatus.MPIE : 0);
      vector = this.#mtvec;
    }
    this.priv = to;
    this.#updateDataPriv();
    const base = toNumber(vector[0] & ~3, vector[1]);
    return interrupt && (vector[0] & 3) === 1 ? base + 4 * cause : base;
  }

  /**
   * mret (3.3.2): returns the new pc, or NaN if mret is illegal here. QEMU 7.2
   * also refuses to leave M-mode while no PMP entry would let the lower mode run.
   */
  mret(): number {
    const ms = this.mstatus;
    const mpp = ((ms >> 11) & 3) as Priv;
    if (this.priv < 3 || (mpp !== 3 && !this.mmu.pmpActive)) return NaN;
    let next = (ms & ~(Mstatus.MIE | Mstatus.MPP)) | Mstatus.MPIE |
      ((ms & Mstatus.MPIE) ? Mstatus.MIE : 0);
    if (mpp !== 3) next &= ~Mstatus.MPRV; // 1.12: leaving M-mode clears MPRV
    this.mstatus = next;
    this.priv = mpp;
    this.#updateDataPriv();
    return this.pair(Csr.mepc);
  }

  /** sret (3.3.2, TSR in 3.1.6.5): returns the new pc, or NaN if sret is illegal here. */
  sret(): number {
    const ms = this.mstatus;
    if (this.priv < 1 || (this.priv === 1 && (ms & Mstatus.TSR))) return NaN;
    const spp: Priv = ms & Mstatus.SPP ? 1 : 0;
    this.mstatus = (ms & ~(Mstatus.SIE | Mstatus.SPP | Mstatus.MPRV)) | Mstatus.SPIE |
      ((ms & Mstatus.SPIE) ? Mstatus.SIE : 0);
    this.priv = spp;
    this.#updateDataPriv();
    return this.pair(Csr.sepc);
  }

  /** True if wfi raises illegal instruction here (U-mode always, S-mode with TW). */
  wfiTraps(): boolean {
    return this.priv === 0 || (this.priv === 1 && (this.mstatus & Mstatus.TW) !== 0);
  }

  /** True if sfence.vma raises illegal instruction here (U-mode, S-mode with TVM). */
  sfenceTraps(): boolean {
    return this.priv === 0 || (this.priv === 1 && (this.mstatus & Mstatus.TVM) !== 0);
  }

  // ----------------------------------------------------------------- CSRs

  /** Privilege and read-only checks of 2.1, counter enables (3.1.11) and TVM. */
  accessible(csr: number, write: boolean): boolean {
    if (((csr >> 8) & 3) > this.priv) return false;
    if (write && (csr >> 10) === 3) return false;
    if (csr === Csr.satp && this.priv === 1 && (this.mstatus & Mstatus.TVM)) return false;
    if (csr >= 0xc00 && csr < 0xc20 && this.priv < 3) {
      const bit = 1 << (csr & 31);
      if ((this.#lo[Csr.mcounteren] & bit) === 0) return false;
      if (this.priv === 0 && (this.#lo[Csr.scounteren] & bit) === 0) return false;
    }
    return true;
  }

  /** Reads `csr` into out[0..1]; returns false if it does not exist. */
  read(csr: number): boolean {
    let lo = 0, hi = 0;
    switch (csr) {
      case Csr.mstatus:
        lo = this.mstatus, hi = MSTATUS_HI_FIXED | this.#sd();
        break;
      case Csr.sstatus:
        lo = this.mstatus & SSTATUS_MASK, hi = 2 | this.#sd(); // UXL = 64
        break;
      case Csr.misa:
        lo = this.fpu ? MISA_LO | MISA_FD : MISA_LO, hi = MISA_HI;
        break;
      case Csr.fflags:
      case Csr.frm:
      case Csr.fcsr:
        // Absent without F, illegal with FS = Off (privileged spec 3.1.6.6).
        if (!this.fpu || (this.mstatus & Mstatus.FS) === 0) return false;
        lo = csr === Csr.fflags
          ? this.fcsr & 0x1f
          : csr === Csr.frm
          ? (this.fcsr >>> 5) & 7
          : this.fcsr & 0xff;
        break;
      case Csr.mie:
        lo = this.mie;
        break;
      case Csr.sie:
        lo = this.mie & this.#lo[Csr.mideleg];
        break;
      case Csr.mip:
        lo = this.mip;
        break;
      case Csr.sip:
        lo = this.mip & this.#lo[Csr.mideleg];
        break;
      case Csr.mtvec:
        lo = this.#mtvec[0], hi = this.#mtvec[1];
        break;
      case Csr.stvec:
        lo = this.#stvec[0], hi = this.#stvec[1];
        break;
      case Csr.satp:
        lo = this.#satp[0], hi = this.#satp[1];
        break;
      case Csr.cycle:
      case Csr.mcycle:
      case Csr.instret:
      case Csr.minstret: {
        // One cycle per instruction: mcycle and minstret differ only by what was written.
        const off = csr === Csr.cycle || csr === Csr.mcycle
          ? this.#cycleOffset
          : this.#instretOffset;
        const retired = this.counters.retired();
        const s = (retired >>> 0) + (off[0] >>> 0);
        lo = s | 0;
        hi = (Math.floor(retired / TWO32) + off[1] + (s > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case Csr.time: {
        const v = this.counters.time();
        lo = v | 0, hi = Math.floor(v / TWO32) | 0;
        break;
      }
      default: {
        if (csr >= Csr.pmpcfg0 && csr < Csr.pmpcfg0 + 4) {
          if (csr & 1) return false; // odd pmpcfg registers do not exist on RV64
          const base = (csr - Csr.pmpcfg0) * 4;
          const c = this.mmu.pmpcfg;
          lo = c[base] | c[base + 1] << 8 | c[base + 2] << 16 | c[base + 3] << 24;
          hi = c[base + 4] | c[base + 5] << 8 | c[base + 6] << 16 | c[base + 7] << 24;
          break;
        }
        if (csr >= Csr.pmpaddr0 && csr < Csr.pmpaddr0 + 64) {
          const i = csr - Csr.pmpaddr0;
          if (i < PMP_COUNT) lo = this.mmu.pmpaddrLo[i] | 0, hi = this.mmu.pmpaddrHi[i] | 0;
          else if (this.qemuQuirks) return false;
          break;
        }
        if (isZeroCounter(csr)) {
          if (!this.qemuQuirks) break;
          const store = qemuCounterStore(csr);
          if (store < 0) return false;
          lo = this.#lo[store], hi = this.#hi[store];
          break;
        }
        if (Triggers.has(csr)) {
          this.triggers.read(csr);
          lo = out[0], hi = out[1];
          break;
        }
        if (!PLAIN_CSRS.has(csr)) return false;
        lo = this.#lo[csr], hi = this.#hi[csr];
      }
    }
    out[0] = lo, out[1] = hi;
    return true;
  }

  /**
   * The write of csrrs/csrrc: `old | bits` or `old & ~bits`. For mip, "old" holds
   * the software-writable SEIP bit, not the value read, which ORs in the PLIC's
   * line (privileged spec 3.1.9): otherwise setting STIP while an S-mode external
   * interrupt is pending would latch SEIP in software for good.
   */
  modify(
    csr: number,
    set: boolean,
    bitsLo: number,
    bitsHi: number,
    oldLo: number,
    oldHi: number,
  ): boolean {
    if (csr === Csr.mip) oldLo = (oldLo & ~MIP_SEIP) | (this.mipSw & MIP_SEIP);
    return set
      ? this.write(csr, oldLo | bitsLo, oldHi | bitsHi)
      : this.write(csr, oldLo & ~bitsLo, oldHi & ~bitsHi);
  }

  /** Writes `csr` with WARL legalisation; returns false if it does not exist. */
  write(csr: number, lo: number, hi: number): boolean {
    switch (csr) {
      case Csr.mstatus: {
        const mask = this.fpu ? MSTATUS_WRITABLE | Mstatus.FS : MSTATUS_WRITABLE;
        this.#setMstatus((this.mstatus & ~mask) | (lo & mask));
        return true;
      }
      case Csr.sstatus: {
        const mask = Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.SUM | Mstatus.MXR |
          (this.fpu ? Mstatus.FS : 0);
        this.#setMstatus((this.mstatus & ~mask) | (lo & mask));
        return true;
      }
      case Csr.misa:
        return true; // WARL: the extension set is fixed
      case Csr.fflags:
      case Csr.frm:
      case Csr.fcsr: {
        if (!this.fpu || (this.mstatus & Mstatus.FS) === 0) return false;
        const f = this.fcsr;
        this.fcsr = csr === Csr.fflags
          ? (f & ~0x1f) | (lo & 0x1f)
          : csr === Csr.frm
          ? (f & 0x1f) | ((lo & 7) << 5)
          : lo & 0xff;
        this.mstatus |= Mstatus.FS; // writing fcsr dirties the FP state
        return true;
      }
      case Csr.mie:
        this.mie = lo & MIE_WRITABLE;
        break;
      case Csr.sie: {
        const mask = this.#lo[Csr.mideleg] & S_INTERRUPTS;
        this.mie = (this.mie & ~mask) | (lo & mask);
        break;
      }
      case Csr.mip:
        this.mipSw = lo & MIP_WRITABLE;
        break;
      case Csr.sip: {
        const mask = this.#lo[Csr.mideleg] & (1 << 1); // only SSIP is writable through sip
        this.mipSw = (this.mipSw & ~mask) | (lo & mask);
        break;
      }
      case Csr.mtvec:
      case Csr.stvec:
        // Modes 2 and 3 are reserved; QEMU 7.2 ignores such writes, and so do we.
        if ((lo & 3) < 2) {
          const v = csr === Csr.mtvec ? this.#mtvec : this.#stvec;
          v[0] = lo, v[1] = hi;
        }
        return true;
      case Csr.satp: {
        const mode = hi >>> 28;
        if (mode !== 0 && mode !== 8) return true; // unsupported modes: the write is ignored
        this.#satp[0] = lo, this.#satp[1] = hi;
        this.mmu.satpMode = mode;
        this.mmu.satpPpn = (lo >>> 0) + (hi & 0xfff) * TWO32;
        this.mmu.flush();
        break;
      }
      case Csr.mcycle:
      case Csr.minstret: {
        // offset = value - (retired + 1): the csr instruction itself retires after the write.
        const off = csr === Csr.mcycle ? this.#cycleOffset : this.#instretOffset;
        const r = this.counters.retired() + 1;
        const rLo = r >>> 0, rHi = Math.floor(r / TWO32);
        off[0] = ((lo >>> 0) - rLo) | 0;
        off[1] = (hi - rHi - ((lo >>> 0) < rLo ? 1 : 0)) | 0;
        return true;
      }
      case Csr.mideleg:
        this.#lo[csr] = lo & MIDELEG_WRITABLE;
        break;
      default: {
        if (csr >= Csr.pmpcfg0 && csr < Csr.pmpcfg0 + 4) {
          if (csr & 1) return false;
          const base = (csr - Csr.pmpcfg0) * 4;
          for (let i = 0; i < 8; i++) {
            const byte = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
            this.mmu.setPmpcfg(base + i, byte);
          }
          return true;
        }
        if (csr >= Csr.pmpaddr0 && csr < Csr.pmpaddr0 + 64) {
          const i = csr - Csr.pmpaddr0;
          if (i < PMP_COUNT) this.mmu.setPmpaddr(i, lo >>> 0, hi >>> 0);
          else if (this.qemuQuirks) return false;
          return true;
        }
        if (isZeroCounter(csr)) {
          if (!this.qemuQuirks) return true;
          const store = qemuCounterStore(csr);
          if (store < 0) return false;
          this.#lo[store] = lo, this.#hi[store] = hi;
          return true;
        }
        if (Triggers.has(csr)) {
          this.triggers.write(csr, lo, hi);
          return true;
        }
        const mask = PLAIN_CSRS.get(csr);
        if (mask === undefined) return false;
        if (this.qemuQuirks && QEMU_FULL_WIDTH.has(csr)) {
          this.#lo[csr] = lo, this.#hi[csr] = hi;
          return true;
        }
        this.#lo[csr] = (this.#lo[csr] & ~mask[0]) | (lo & mask[0]);
        this.#hi[csr] = (this.#hi[csr] & ~mask[1]) | (hi & mask[1]);
        return true;
      }
    }
    this.onChange();
    return true;
  }

  /** The SD bit for the high word of mstatus/sstatus: set when FS = Dirty. */
  #sd(): number {
    return (this.mstatus & Mstatus.FS) === Mstatus.FS ? SD_HI : 0;
  }

  #setMstatus(value: number): void {
    // MPP = 2 is reserved: keep the old MPP (WARL).
    if (((value >> 11) & 3) === 2) value = (value & ~Mstatus.MPP) | (this.mstatus & Mstatus.MPP);
    const changed = value ^ this.mstatus;
    this.mstatus = value;
    if (changed & (Mstatus.SUM | Mstatus.MXR | Mstatus.MPRV | Mstatus.MPP)) {
      this.mmu.sum = (value & Mstatus.SUM) !== 0;
      this.mmu.mxr = (value & Mstatus.MXR) !== 0;
      this.mmu.flush();
    }
    this.#updateDataPriv();
  }

  #writeNumber(csr: number, v: number): void {
    this.#lo[csr] = v | 0;
    this.#hi[csr] = Math.floor(v / TWO32) | 0;
  }

  #updateDataPriv(): void {
    const ms = this.mstatus;
    // MPP never holds the reserved value 2 (#setMstatus keeps it legal).
    this.dataPriv = (this.priv === 3 && (ms & Mstatus.MPRV) ? (ms >> 11) & 3 : this.priv) as Priv;
    this.onChange();
  }
}

/** CSRs QEMU 7.2 keeps whole where rvisor keeps some bits or none ({@linkcode CsrFile.qemuQuirks}). */
const QEMU_FULL_WIDTH: ReadonlySet<number> = new Set([
  Csr.mcountinhibit,
  Csr.mcounteren,
  Csr.scounteren,
]);

/** QEMU 7.2's implemented HPM counters: 3..18 (its pmu-num=16). */
const QEMU_LAST_HPM = 18;

/**
 * With {@linkcode CsrFile.qemuQuirks}: where HPM counter or event `csr` keeps
 * its value (hpmcounterN reads mhpmcounterN), or -1 where QEMU 7.2 has no
 * such CSR.
 */
function qemuCounterStore(csr: number): number {
  const i = csr & 0x1f;
  if (csr >> 5 === 0x320 >> 5) return csr;
  return i > QEMU_LAST_HPM ? -1 : 0xb00 + i;
}

/** hpmcounter3..31, mhpmcounter3..31 and mhpmevent3..31: present, read as zero, writes ignored. */
function isZeroCounter(csr: number): boolean {
  const i = csr & 0x1f;
  return i >= 3 && (csr >> 5 === 0xc00 >> 5 || csr >> 5 === 0xb00 >> 5 || csr >> 5 === 0x320 >> 5);
}
