/**
 * The Zicsr instructions (csrrw, csrrs, csrrc and their immediate forms) of
 * the hart: access checks, read-modify-write through core/csrfile.ts, and the
 * `csr` event. Split out of core/hart.ts, which calls it off the hot loop.
 *
 * @module
 */

import type { CsrFile } from "./csrfile.ts";
import { Op } from "./decode.ts";
import type { EventBus } from "./events.ts";
import { out as r64, toNumber } from "./int64.ts";

/** What a CSR instruction reaches of its hart. */
export interface CsrInstructionHost {
  /** CSRs. */
  readonly csr: CsrFile;
  /** Low halves of x0..x31. */
  readonly xl: Int32Array;
  /** High halves of x0..x31. */
  readonly xh: Int32Array;
  /** The event bus (`csr` topic). */
  readonly events: EventBus;
  /** mhartid. */
  readonly hartId: number;
  /** pc now. */
  pc(): number;
  /** Raises illegal instruction: throws the trap sentinel. */
  illegal(): never;
  /** Records illegal instruction without throwing (the hart's trap-without-throw path). */
  illegalNoThrow(): void;
  /** Makes the run loop come back to the hart before the next instruction. */
  resync(): void;
}

/** A CSR instruction; false if it trapped for an inaccessible CSR (#trapNoThrow). */
export function csrInstruction(
  h: CsrInstructionHost,
  op: number,
  rd: number,
  rs1: number,
  csr: number,
): boolean {
  const immForm = op >= Op.CSRRWI;
  const srcLo = immForm ? rs1 : h.xl[rs1];
  const srcHi = immForm ? 0 : h.xh[rs1];
  const kind = immForm ? op - 3 : op; // CSRRW / CSRRS / CSRRC
  const writes = kind === Op.CSRRW || rs1 !== 0;
  const reads = kind !== Op.CSRRW || rd !== 0;
  if (!h.csr.accessible(csr, writes)) return h.illegalNoThrow(), false;
  let oldLo = 0, oldHi = 0;
  if (reads || kind !== Op.CSRRW) {
    if (!h.csr.read(csr)) h.illegal();
    oldLo = r64[0], oldHi = r64[1];
  }
  if (writes) {
    const ok = kind === Op.CSRRW
      ? h.csr.write(csr, srcLo, srcHi)
      : h.csr.modify(csr, kind === Op.CSRRS, srcLo, srcHi, oldLo, oldHi);
    if (!ok) h.illegal();
    h.resync(); // the write may change translation, interrupts or privilege state
  }
  if (rd !== 0) h.xl[rd] = oldLo, h.xh[rd] = oldHi;
  if (h.events.wants("csr")) {
    const value = toNumber(oldLo, oldHi);
    h.events.emit("csr", { csr, write: writes, pc: h.pc(), value, hartId: h.hartId });
  }
  return true;
}
