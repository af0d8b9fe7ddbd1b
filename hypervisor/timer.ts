/**
 * Timer emulation (the seed's timer.c): the guest's CLINT mtimecmp drives the
 * host's. While the guest's timer is not yet due, the host CLINT is set to fire
 * at the guest's deadline; when it fires (a host timer interrupt, an exit), the
 * guest CLINT raises the guest's MTIP and the host timer is disarmed until the
 * guest programs a new deadline, so a pending guest timer never storms the host.
 *
 * @module
 */

import { type Clint, ClintReg } from "../devices/clint.ts";

/** Couples vCPU `hart`'s guest CLINT timer to host hart `hart`'s (vCPU i runs on host hart i). */
export class GuestTimer {
  #armed = NaN;
  readonly #mtimecmp: number;

  constructor(readonly host: Clint, readonly guest: Clint, readonly hart: number = 0) {
    this.#mtimecmp = ClintReg.MTIMECMP_LO + hart * ClintReg.MTIMECMP_STRIDE;
  }

  /**
   * The deadline the host timer is armed for (NaN: never armed), for a
   * snapshot: re-arming the host CLINT after a restore would re-evaluate MTIP
   * at a moment the saved run did not, so the value is restored instead.
   */
  saveState(): number {
    return this.#armed;
  }

  /** Restores {@linkcode saveState}'s value. */
  loadState(armed: number): void {
    this.#armed = armed;
  }

  /** Brings the guest's MTIP up to date and re-arms the host timer for the next deadline. */
  sync(): void {
    this.guest.update();
    const deadline = this.guest.deadlineOf(this.hart);
    const due = deadline <= this.host.clock.now();
    this.#arm(due ? Infinity : deadline);
  }

  /** {@linkcode sync}, re-arming even an unchanged deadline: another guest's was on the host CLINT. */
  rearm(): void {
    this.#armed = NaN;
    this.sync();
  }

  #arm(deadline: number): void {
    if (deadline === this.#armed) return; // sync runs after every device access: usually a no-op
    this.#armed = deadline;
    const lo = Number.isFinite(deadline) ? deadline % 4294967296 : 0xffffffff;
    const hi = Number.isFinite(deadline) ? Math.floor(deadline / 4294967296) : 0xffffffff;
    // High word first to all ones, so that no transient value fires early.
    this.host.write(this.#mtimecmp + 4, 4, 0xffffffff);
    this.host.write(this.#mtimecmp, 4, lo);
    this.host.write(this.#mtimecmp + 4, 4, hi);
  }
}
