/**
 * Debugger-style inspection helpers for the script facade (hypervisor/machine.ts):
 * register and CSR names, and a page-table walk that has no side effects.
 *
 * The MMU's own walk sets PTE A/D bits and may fill the TLB, as hardware does;
 * a script that merely looks at memory must not change what the guest later
 * sees, so {@linkcode peekTranslate} walks the guest's Sv39 table read-only and
 * without permission checks (as a debugger would).
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import { Csr, CSR_NAMES } from "../core/csr.ts";
import type { Mmu } from "../core/mmu.ts";
import { REG_NAMES } from "../core/names.ts";
import { describe, fail } from "./args.ts";

export { causeName, REG_NAMES } from "../core/names.ts";

/** A register given by number (0..31), ABI name (`a0`, `fp`) or `xN`. */
export type RegName = number | string;

/** Resolves a register name or number to 0..31; throws RangeError for anything else. */
export function regIndex(reg: RegName): number {
  if (typeof reg === "number") {
    if (Number.isInteger(reg) && reg >= 0 && reg < 32) return reg;
  } else if (typeof reg === "string") {
    const name = reg.trim().toLowerCase();
    if (name === "fp") return 8;
    const abi = REG_NAMES.indexOf(name);
    if (abi >= 0) return abi;
    const m = /^x(\d{1,2})$/.exec(name);
    if (m && Number(m[1]) < 32) return Number(m[1]);
  }
  const message = `no register ${describe(reg)} (use 0..31, x0..x31 or an ABI name)`;
  throw typeof reg === "number" || typeof reg === "string"
    ? new RangeError(message)
    : new TypeError(message);
}

const CSR_BY_NAME: ReadonlyMap<string, number> = new Map(
  [...CSR_NAMES].map(([num, name]) => [name, num]),
);

/** Resolves a CSR name (`satp`) or number (0x180); throws RangeError for an unknown name. */
export function csrIndex(csr: number | string): number {
  if (typeof csr === "number") {
    if (Number.isInteger(csr) && csr >= 0 && csr < 4096) return csr;
  } else if (typeof csr === "string") {
    const num = CSR_BY_NAME.get(csr.trim().toLowerCase());
    if (num !== undefined) return num;
  }
  const message = `no CSR ${describe(csr)} (use a name such as satp or a number below 0x1000)`;
  throw typeof csr === "number" || typeof csr === "string"
    ? new RangeError(message)
    : new TypeError(message);
}

/**
 * CSRs every rvisor hart (and guest vCPU) has, whatever its ISA and quirks:
 * `Machine.readCsr` returns a bigint, never null, for these names.
 */
export const CORE_CSRS = [
  "sstatus",
  "sie",
  "stvec",
  "scounteren",
  "sscratch",
  "sepc",
  "scause",
  "stval",
  "sip",
  "satp",
  "mstatus",
  "misa",
  "medeleg",
  "mideleg",
  "mie",
  "mtvec",
  "mcounteren",
  "mscratch",
  "mepc",
  "mcause",
  "mtval",
  "mip",
  "mvendorid",
  "marchid",
  "mimpid",
  "mhartid",
  "cycle",
  "time",
  "instret",
  "mcycle",
  "minstret",
] as const;

/** A name from {@linkcode CORE_CSRS}. */
export type CoreCsrName = typeof CORE_CSRS[number];

/** CSR number of `satp` (re-exported for the facade's translation context). */
export const SATP = Csr.satp;

const TWO30 = 1 << 30;
const SV39_LIMIT = 2 ** 38;
const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8;

/**
 * Translates virtual address `va` through `mmu`'s current page table (its satp
 * fields) over `bus`, read-only: no A/D updates, no TLB fill, no permission or
 * PMP checks. `bare` (M-mode, or satp off) maps va to itself. Returns the
 * physical address, or null if the table has no valid mapping.
 */
export function peekTranslate(bus: Bus, mmu: Mmu, va: number, bare: boolean): number | null {
  if (bare || mmu.satpMode === 0) return va;
  if (va < -SV39_LIMIT || va >= SV39_LIMIT) return null;
  let table = mmu.satpPpn * 4096;
  for (let level = 2; level >= 0; level--) {
    const vpn = level === 2 ? Math.floor(va / TWO30) & 0x1ff : (va >>> (12 + 9 * level)) & 0x1ff;
    const off = bus.ramOffset(table + vpn * 8, 8);
    if (off < 0) return null;
    const lo = bus.ram32[off >> 2], hi = bus.ram32[(off >> 2) + 1];
    if ((lo & PTE_V) === 0 || ((lo & PTE_R) === 0 && (lo & PTE_W) !== 0)) return null;
    const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
    if ((lo & (PTE_R | PTE_X)) === 0) {
      table = ppn * 4096;
      continue;
    }
    const span = (level === 0 ? 1 : level === 1 ? 512 : 262144) * 4096;
    return ppn * 4096 + (((va % span) + span) % span);
  }
  return null;
}

/** "M", "S" or "U" for a privilege level. */
export function privName(priv: number): string {
  return priv === 3 ? "M" : priv === 1 ? "S" : priv === 0 ? "U" : String(priv);
}

/** `0x` and the unsigned 64-bit hex form of a register or address (negative numbers wrap). */
export function hex(value: number | bigint): string {
  if (typeof value !== "bigint" && !Number.isFinite(value)) {
    fail("hex", "value", "a finite number or a bigint", value, typeof value === "number");
  }
  const v = typeof value === "bigint" ? value : BigInt(Math.trunc(value));
  return "0x" + BigInt.asUintN(64, v).toString(16);
}
