/**
 * Exit dispatch (the seed's exchandlers.c): every host trap taken while the
 * guest runs in host U-mode lands here, is classified, and is either completed
 * on the guest's behalf (CSR access, mret, MMIO, shadow fill, ...) or turned
 * into a trap of the guest's own (injected into virtual M or S-mode).
 *
 * @module
 */

import { Cause } from "../core/csr.ts";
import { Op } from "../core/decode.ts";
import type { ExitKind } from "../core/events.ts";
import type { Hart } from "../core/hart.ts";
import { out, toNumber } from "../core/int64.ts";
import { Access, type AccessKind } from "../core/mmu.ts";
import { decodeBits, GuestFault, type GuestInstruction, MemoryEmulator } from "./emulate.ts";
import type { Guest } from "./guest.ts";
import type { SbiFirmware } from "./sbi.ts";
import type { GuestTimer } from "./timer.ts";
import type { GuestException } from "./vcpu.ts";
import { Fill, type GuestMemory } from "./vmem.ts";

const IRQ_MTI = 7;

/** Host page-fault causes by access kind. */
const PAGE_FAULT_KIND: ReadonlyMap<number, AccessKind> = new Map([
  [Cause.FETCH_PAGE_FAULT, Access.FETCH],
  [Cause.LOAD_PAGE_FAULT, Access.LOAD],
  [Cause.STORE_PAGE_FAULT, Access.STORE],
]);

/** The guest's illegal-instruction exception for `insn` (tval = its bits, as on the host). */
function illegal(insn: GuestInstruction): GuestFault {
  return new GuestFault(Cause.ILLEGAL_INSTRUCTION, insn.bits);
}

/** What the dispatcher needs from the hypervisor. */
export interface ExitContext {
  /** Injects a guest exception at `pc` (the instruction that raised it). */
  injectException(cause: number, tval: number, pc: number): void;
  /** Called when the guest changed its translation context (privilege, satp, MPRV...). */
  contextChanged(): void;
  /** Called for host traps that should never happen (a hypervisor bug): stops the run. */
  invariantFailed(message: string): void;
  /** Called when the guest stopped itself for good (a hang nothing can end): stops the run. */
  guestHung(message: string): void;
}

/** Classifies and handles exits. */
export class ExitHandler {
  readonly #emulator: MemoryEmulator;
  /** Reused record for Vcpu.onException. */
  readonly #exception: GuestException = { cause: 0, tval: 0, pc: 0, from: 3, handled: false };
  /** Reused record for the instruction an illegal-instruction exit reports. */
  readonly #insn: GuestInstruction = { packed: 0, imm: 0, length: 0, bits: 0 };

  constructor(
    readonly hart: Hart,
    readonly guest: Guest,
    readonly memory: GuestMemory,
    readonly timer: GuestTimer,
    readonly ctx: ExitContext,
    /** The built-in SBI firmware (`firmware: "builtin"`), or null when the guest brings its own. */
    readonly firmware: SbiFirmware | null = null,
  ) {
    this.#emulator = new MemoryEmulator(hart, guest);
  }

  /**
   * Injects a guest exception, unless the vCPU's script hook (Vcpu.onException)
   * rewrites it or completes the instruction itself.
   */
  #inject(cause: number, tval: number, pc: number): void {
    const hook = this.guest.vcpu.onException;
    if (hook !== null) {
      const e = this.#exception;
      e.cause = cause, e.tval = tval, e.pc = pc, e.from = this.guest.vcpu.priv, e.handled = false;
      hook(e);
      if (e.handled) return;
      cause = e.cause, tval = e.tval;
    }
    // With the built-in firmware an SBI call goes to it, not to guest M-mode (scripts' hooks
    // above still see it first, as they would before a guest's own firmware).
    if (cause === Cause.ECALL_S && this.firmware !== null) return this.firmware.ecall(pc);
    this.ctx.injectException(cause, tval, pc);
  }

  /** Handles one host trap; returns its class. The hart's pc is the guest pc of the trap. */
  handle(cause: number, interrupt: boolean, tval: number, pc: number): ExitKind {
    if (interrupt) {
      if (cause === IRQ_MTI) {
        this.#syncTimer();
        return "timer";
      }
      // The host PLIC has no sources wired to the guest: guest devices are virtual.
      this.ctx.invariantFailed(`unexpected host interrupt ${cause}`);
      return "external-interrupt";
    }
    try {
      const kind = PAGE_FAULT_KIND.get(cause);
      if (kind !== undefined) return this.#pageFault(kind, tval, pc);
      switch (cause) {
        case Cause.ILLEGAL_INSTRUCTION:
          return this.#privileged(decodeBits(tval, this.#insn), pc);
        case Cause.ECALL_U: {
          // ecall from virtual U, S or M: causes 8, 9, 11 (the guest's privilege, not the host's).
          const vcause = Cause.ECALL_U + this.guest.vcpu.priv;
          this.#inject(vcause, 0, pc);
          return this.firmware !== null && vcause === Cause.ECALL_S ? "sbi" : "ecall";
        }
        case Cause.BREAKPOINT:
          this.#inject(Cause.BREAKPOINT, 0, pc);
          return "breakpoint";
        case Cause.MISALIGNED_LOAD:
        case Cause.MISALIGNED_STORE:
          // Only LR/SC/AMOs trap misaligned; the guest sees the same trap it would bare.
          this.#inject(cause, tval, pc);
          return "misaligned";
        default:
          // Access faults cannot happen: shadow tables only map what host PMP allows.
          this.ctx.invariantFailed(
            `host trap ${cause} at guest pc 0x${pc.toString(16)}, tval 0x${tval.toString(16)}`,
          );
          return "guest-access-fault";
      }
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      this.#inject(e.cause, e.tval, pc);
      if (e.cause === Cause.BREAKPOINT) return "breakpoint"; // a guest trigger on an emulated access
      return e.cause === Cause.ILLEGAL_INSTRUCTION ? "illegal-instruction" : "guest-page-fault";
    }
  }

  #pageFault(kind: AccessKind, va: number, pc: number): ExitKind {
    const csr = this.guest.vcpu.csr;
    const priv = kind === Access.FETCH ? csr.priv : csr.dataPriv;
    switch (this.memory.fill(va, kind, priv)) {
      case Fill.MAPPED:
        return "shadow-fill";
      case Fill.GUEST_FAULT: {
        const cause = this.memory.faultCause;
        this.#inject(cause, va, pc);
        return cause === 1 || cause === 5 || cause === 7
          ? "guest-access-fault"
          : "guest-page-fault";
      }
    }
    // Emulate the load or store: a guest device, MPRV, or a page with finer PMP rules.
    const insn = this.#emulator.fetch(pc);
    if (!this.#emulator.execute(insn, priv)) {
      // AMOs and LR/SC on devices: as on the `virt` board, an access fault.
      throw new GuestFault(kind === Access.LOAD ? Cause.LOAD_ACCESS : Cause.STORE_ACCESS, va);
    }
    this.#complete(pc, insn);
    if (csr.priv === 3 && csr.dataPriv !== 3) return "mprv";
    this.#syncTimer(); // the access may have reprogrammed the guest timer, or found it due
    return "mmio";
  }

  /**
   * Brings the guest's MTIP up to date and re-arms the host timer. A sync that
   * finds the deadline passed disarms the host timer, so no host timer exit
   * will follow: the built-in firmware must turn that MTIP into the kernel's
   * STIP here, whichever exit found it (a device access between the deadline
   * and the host interrupt left Linux idle in wfi forever).
   */
  #syncTimer(): void {
    this.timer.sync();
    this.firmware?.timerInterrupt();
  }

  /** An instruction that is illegal in host U-mode: privileged for the guest, or truly illegal. */
  #privileged(insn: GuestInstruction, pc: number): ExitKind {
    const vcpu = this.guest.vcpu, csr = vcpu.csr;
    const op = insn.packed & 0xff;
    switch (op) {
      case Op.CSRRW:
      case Op.CSRRS:
      case Op.CSRRC:
      case Op.CSRRWI:
      case Op.CSRRSI:
      case Op.CSRRCI:
        return this.#csr(insn, pc);
      case Op.MRET:
      case Op.SRET: {
        const target = op === Op.MRET ? csr.mret() : csr.sret();
        if (Number.isNaN(target)) throw illegal(insn);
        vcpu.emulated++;
        this.hart.pc = target;
        this.ctx.contextChanged();
        return op === Op.MRET ? "mret" : "sret";
      }
      case Op.WFI:
        if (csr.wfiTraps()) throw illegal(insn);
        this.#complete(pc, insn);
        // Idle the host hart until something is pending for the guest.
        if (!csr.interruptPending) this.hart.waiting = true;
        // With every interrupt disabled in mie nothing can ever wake it (one hart, no NMI);
        // with several vCPUs the others run on, as bare harts parked in wfi do.
        if (csr.mie === 0 && this.guest.vcpus.length === 1) {
          this.ctx.guestHung(`guest hang: wfi at pc 0x${pc.toString(16)} with mie = 0`);
        }
        return "wfi";
      case Op.SFENCE_VMA: {
        if (csr.sfenceTraps()) throw illegal(insn);
        const rs1 = (insn.packed >> 13) & 31;
        if (rs1 === 0) this.memory.flush();
        else this.memory.fenceAddress(this.hart.xh[rs1] * 4294967296 + (this.hart.xl[rs1] >>> 0));
        this.#complete(pc, insn);
        this.ctx.contextChanged();
        return "sfence.vma";
      }
      default:
        throw illegal(insn);
    }
  }

  #csr(insn: GuestInstruction, pc: number): ExitKind {
    const csr = this.guest.vcpu.csr;
    const p = insn.packed, op = p & 0xff;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, num = insn.imm;
    const immForm = op >= Op.CSRRWI;
    const kind = immForm ? op - 3 : op; // CSRRW / CSRRS / CSRRC
    const writes = kind === Op.CSRRW || rs1 !== 0;
    if (!csr.accessible(num, writes)) throw illegal(insn);
    let oldLo = 0, oldHi = 0;
    if (kind !== Op.CSRRW || rd !== 0) {
      if (!csr.read(num)) throw illegal(insn);
      oldLo = out[0], oldHi = out[1];
    }
    if (writes) {
      const srcLo = immForm ? rs1 : this.hart.xl[rs1], srcHi = immForm ? 0 : this.hart.xh[rs1];
      const ok = kind === Op.CSRRW
        ? csr.write(num, srcLo, srcHi)
        : csr.modify(num, kind === Op.CSRRS, srcLo, srcHi, oldLo, oldHi);
      if (!ok) throw illegal(insn);
    }
    if (rd !== 0) this.hart.xl[rd] = oldLo, this.hart.xh[rd] = oldHi;
    this.#complete(pc, insn);
    if (writes) this.ctx.contextChanged();
    // The `csr` topic shows the guest's CSR instructions, as it does for a bare hart.
    if (this.guest.vcpu.events.wants("csr")) {
      this.guest.vcpu.events.emit("csr", {
        csr: num,
        write: writes,
        pc,
        value: toNumber(oldLo, oldHi),
        hartId: this.guest.vcpu.csr.hartId,
      });
    }
    return writes ? "csr-write" : "csr-read";
  }

  /** The emulated instruction retires: count it and step past it. */
  #complete(pc: number, insn: GuestInstruction): void {
    this.guest.vcpu.emulated++;
    this.hart.pc = pc + insn.length;
  }
}
