/**
 * The `sifive_test` finisher of QEMU's `virt` machine, which Linux drives through
 * its syscon-poweroff and syscon-reboot nodes and test programs use to report a
 * result.
 *
 * @module
 */

import type { AccessRule, DeviceAccessSize, MmioDevice } from "../core/bus.ts";
import type { HaltReason } from "../core/events.ts";

/** Physical base address of the test finisher on `virt`. */
export const SYSCON_BASE = 0x10_0000;
/** Size of the finisher's address range. */
export const SYSCON_SIZE = 0x1000;

/** Status values in the low 16 bits of a write to offset 0. */
export const FinisherStatus = {
  /** Failure; bits 31:16 carry the exit code. */
  FAIL: 0x3333,
  /** Success: power off. */
  PASS: 0x5555,
  /** Reset the machine. */
  RESET: 0x7777,
} as const;

/** Receives the machine's request to stop. */
export type HaltHandler = (reason: HaltReason, code: number) => void;

/** Test finisher: turns magic writes into poweroff, failure or reset requests. */
export class Syscon implements MmioDevice {
  /** Device name used in events and the DTB. */
  readonly name = "syscon";
  /** QEMU 7.2's sifive_test: 2- and 4-byte accesses anywhere in its page. */
  readonly rules: readonly AccessRule[] = [
    { offset: 0, size: SYSCON_SIZE, minWidth: 2, maxWidth: 4, implWidth: 4 },
  ];

  /** @param halt called for a recognised write; the board decides how to stop. */
  constructor(readonly halt: HaltHandler) {}

  /** The finisher has no readable state. */
  read(_offset: number, _size: DeviceAccessSize): number {
    return 0;
  }

  /** Acts on writes to offset 0 (2 or 4 bytes: the rules refuse others); QEMU ignores other values. */
  write(offset: number, _size: DeviceAccessSize, value: number): void {
    if (offset !== 0) return;
    const status = value & 0xffff;
    const code = (value >>> 16) & 0xffff;
    if (status === FinisherStatus.PASS) this.halt("poweroff", 0);
    else if (status === FinisherStatus.FAIL) this.halt("fail", code);
    else if (status === FinisherStatus.RESET) this.halt("reset", 0);
  }
}
