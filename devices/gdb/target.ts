/**
 * What the GDB stub debugs: a {@linkcode DebugTarget} gives it registers,
 * CSRs, the privilege level, memory (virtual as the program sees it, or
 * physical) and single-stepping. {@linkcode BareTarget} is the emulated hart
 * itself; the hypervisor supplies a target that shows its guest's view
 * (hypervisor/gdb.ts).
 *
 * @module
 */

import type { Bus } from "../../core/bus.ts";
import { Csr } from "../../core/csr.ts";
import type { CsrFile } from "../../core/csrfile.ts";
import { StopReason } from "../../core/hart.ts";
import type { Hart } from "../../core/hart.ts";
import { out } from "../../core/int64.ts";
import type { Mmu } from "../../core/mmu.ts";
import type { VirtMachine } from "../virt.ts";

/** gdb's register number of pc (x0..x31 are 0..31). */
export const PC_REGNUM = 32;
/** gdb's register number of CSR 0 (riscv-tdep.h: RISCV_FIRST_CSR_REGNUM). */
export const CSR_REGNUM_BASE = 65;
/** gdb's register number of the privilege pseudo-register (RISCV_PRIV_REGNUM). */
export const PRIV_REGNUM: number = CSR_REGNUM_BASE + 4096;

/** The machine state a debugger reads and changes, and how it steps. */
export interface DebugTarget {
  /** The machine whose run loop the stub drives (continue runs it). */
  readonly machine: VirtMachine;
  /** The hart gdb's register, CSR and step requests go to now (the selected thread). */
  readonly hart: Hart;
  /**
   * Every hart the program runs on, by hart id (gdb's threads 1..N): breakpoints and
   * watchpoints are set on all of them. Under the hypervisor, the host harts of the guest's vCPUs.
   */
  readonly harts: readonly Hart[];
  /** Makes `harts[index]` the {@linkcode hart} (gdb's `Hg`). */
  selectHart(index: number): void;
  /** Short description for `monitor info`. */
  readonly description: string;
  /** The CSRs the target exposes, by number (the target description lists them). */
  readonly csrNumbers: readonly number[];
  /** Reads CSR `num` without side effects; null if it does not exist. */
  readCsr(num: number): bigint | null;
  /** Writes CSR `num` as M-mode software would; false if it does not exist. */
  writeCsr(num: number, value: bigint): boolean;
  /** The privilege level the program runs at (0 U, 1 S, 3 M). */
  priv(): number;
  /** Physical address of virtual `va` as the program sees it now; null if unmapped. */
  translate(va: number): number | null;
  /** Reads physical memory (RAM and the boot ROM); null if any byte is elsewhere. */
  readPhysical(pa: number, length: number): Uint8Array | null;
  /** Writes physical RAM; false if any byte is not RAM. */
  writePhysical(pa: number, bytes: Uint8Array): boolean;
  /**
   * Executes one instruction of the program (a trap taken instead counts as
   * the step, as on QEMU); returns the hart's {@linkcode StopReason}.
   */
  step(): number;
}

/** Names of CSRs for the target description (gdb shows them by these names). */
export function csrName(num: number): string {
  const known = CSR_NAMES.get(num);
  if (known !== undefined) return known;
  if (num >= 0x3a0 && num <= 0x3af) return `pmpcfg${num - 0x3a0}`;
  if (num >= 0x3b0 && num <= 0x3ef) return `pmpaddr${num - 0x3b0}`;
  if (num >= 0xb03 && num <= 0xb1f) return `mhpmcounter${num - 0xb00}`;
  if (num >= 0xc03 && num <= 0xc1f) return `hpmcounter${num - 0xc00}`;
  if (num >= 0x323 && num <= 0x33f) return `mhpmevent${num - 0x320}`;
  return `csr${num.toString(16)}`;
}

const CSR_NAMES = new Map<number, string>(
  Object.entries(Csr).map(([name, num]) => [num as number, name]),
);

/** The CSR numbers a CsrFile answers reads for (probed once: reads have no side effects). */
export function existingCsrs(csr: CsrFile): number[] {
  const nums: number[] = [];
  for (let n = 0; n < 4096; n++) if (csr.read(n)) nums.push(n);
  return nums;
}

/** Reads CSR `num` of `csr` as a BigInt; null if absent. */
export function readCsrFile(csr: CsrFile, num: number): bigint | null {
  if (!csr.read(num)) return null;
  return (BigInt(out[1]) << 32n) | BigInt(out[0] >>> 0);
}

/** Writes CSR `num` of `csr` from a BigInt; false if absent. */
export function writeCsrFile(csr: CsrFile, num: number, value: bigint): boolean {
  return csr.write(num, Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n)));
}

/**
 * Translates `va` as a debugger should: as the program at privilege `priv`
 * would see it, but without the side effects of a real walk (no A/D bits set,
 * no TLB fill) and without permission checks, like QEMU's debug translation.
 * Sv39 only (the hart's only paging mode).
 */
export function debugTranslate(mmu: Mmu, priv: number, va: number): number | null {
  if (priv === 3 || mmu.satpMode === 0) return va;
  const LIMIT = 2 ** 38;
  if (va < -LIMIT || va >= LIMIT) return null;
  const bus = mmu.bus;
  let table = mmu.satpPpn * 4096;
  const uva = va < 0 ? va + 2 ** 64 : va;
  for (let level = 2; level >= 0; level--) {
    const vpn = Math.floor(uva / 2 ** (12 + 9 * level)) % 512;
    const off = bus.ramOffset(table + vpn * 8, 8);
    if (off < 0) return null;
    const lo = bus.ram32[off >> 2], hi = bus.ram32[(off >> 2) + 1];
    if ((lo & 1) === 0) return null; // not valid
    const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
    if ((lo & 0xa) === 0) { // R = X = 0: pointer to the next level
      table = ppn * 4096;
      continue;
    }
    const span = 2 ** (12 + 9 * level);
    return ppn * 4096 + (uva % span);
  }
  return null;
}

/** Reads `length` bytes of physical memory from RAM or the boot ROM ("mrom"); null elsewhere. */
export function readBus(bus: Bus, pa: number, length: number): Uint8Array | null {
  const off = bus.ramOffset(pa, Math.max(1, length));
  if (off >= 0) return bus.ram.slice(off, off + length);
  // Device registers can have read side effects (a UART's receive FIFO): only the ROM is read.
  const region = bus.findRegion(pa);
  if (region === null || region.device.name !== "mrom") return null;
  if (pa + length > region.base + region.size) return null;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = region.device.read(pa + i - region.base, 1);
  return bytes;
}

/** Writes RAM through the bus loader so that decoded code there is dropped; false if not RAM. */
export function writeBus(bus: Bus, pa: number, bytes: Uint8Array): boolean {
  if (bus.ramOffset(pa, Math.max(1, bytes.length)) < 0) return false;
  bus.loadBytes(pa, bytes);
  return true;
}

/**
 * A hart waiting in wfi cannot step until an interrupt is pending: with the
 * virtual clock, jump time to the next timer deadline as the machine's idle
 * loop does. False if it is still waiting (host clock: real time must pass).
 */
export function wakeForStep(machine: VirtMachine, hart: Hart = machine.hart): boolean {
  if (!hart.waiting || hart.interruptPending) return true;
  const next = machine.clint.nextDeadline();
  if (Number.isFinite(next)) machine.clock.skipTo(next);
  machine.devices.update();
  return hart.interruptPending;
}

/** The emulated hart as the program on it sees itself (rvisor --no-hypervisor). */
export class BareTarget implements DebugTarget {
  /** Every hart of the machine. */
  readonly harts: readonly Hart[];
  #selected = 0;
  /** CSRs present on the hart. */
  readonly csrNumbers: readonly number[];
  /** For `monitor info`. */
  readonly description = "rvisor bare hart (RV64IMAC, M/S/U)";

  /** Debugs `machine`'s hart directly. */
  constructor(readonly machine: VirtMachine) {
    this.harts = machine.harts;
    this.csrNumbers = existingCsrs(this.hart.csr);
  }

  /** The selected hart (hart 0 until gdb selects another thread). */
  get hart(): Hart {
    return this.harts[this.#selected];
  }

  /** Selects the hart registers, CSRs and steps go to. */
  selectHart(index: number): void {
    this.#selected = index;
  }

  /** Reads a CSR of the hart. */
  readCsr(num: number): bigint | null {
    return this.hart.readCsr(num);
  }

  /** Writes a CSR of the hart. */
  writeCsr(num: number, value: bigint): boolean {
    return this.hart.writeCsr(num, value);
  }

  /** The hart's privilege level. */
  priv(): number {
    return this.hart.priv;
  }

  /** Through the hart's satp, at its current privilege. */
  translate(va: number): number | null {
    return debugTranslate(this.hart.mmu, this.hart.priv, va);
  }

  /** The machine's physical memory. */
  readPhysical(pa: number, length: number): Uint8Array | null {
    return readBus(this.machine.bus, pa, length);
  }

  /** The machine's RAM. */
  writePhysical(pa: number, bytes: Uint8Array): boolean {
    return writeBus(this.machine.bus, pa, bytes);
  }

  /**
   * One `hart.run(1)` (which resumes over a breakpoint at pc and takes a
   * pending interrupt or a fault as the step), then the devices catch up as
   * the machine's run loop would between batches.
   */
  step(): number {
    if (!wakeForStep(this.machine, this.hart)) return StopReason.WFI;
    const reason = this.hart.run(1);
    this.machine.devices.update();
    return reason;
  }
}
