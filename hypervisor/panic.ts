/**
 * Diagnostics (the seed's panic.c, print.c and stacktrace.c): a report of the
 * guest's state for hangs, double faults and hypervisor invariant failures:
 * registers, virtual mode and CSRs, the last exits, and a stack trace with
 * symbols when the guest's ELF has them.
 *
 * @module
 */

import { Csr, CSR_NAMES } from "../core/csr.ts";
import { hex64, out } from "../core/int64.ts";
import { Access } from "../core/mmu.ts";
import type { Hypervisor } from "./hypervisor.ts";
import { REG_NAMES } from "../core/names.ts";

/** CSRs worth showing in a report. */
const REPORT_CSRS = [
  Csr.mstatus,
  Csr.mepc,
  Csr.mcause,
  Csr.mtval,
  Csr.mtvec,
  Csr.medeleg,
  Csr.mideleg,
  Csr.mie,
  Csr.mip,
  Csr.sepc,
  Csr.scause,
  Csr.stval,
  Csr.stvec,
  Csr.satp,
];

const MODE_NAMES = ["U", "S", "?", "M"];
/** Frames followed at most in the stack trace. */
const MAX_FRAMES = 16;
/** How far above sp a leaf function's saved frame pointer may be (Linux bounds it by the stack). */
const MAX_LEAF_FRAME = 1 << 20;

/** Formats the diagnostic report for `hv` with a headline `reason`. */
export function formatReport(hv: Hypervisor, reason: string): string {
  const hart = hv.registers, vcpu = hv.guest.vcpu;
  const lines = [`rvisor hypervisor${hv.label ? ` (${hv.label})` : ""}: ${reason}`];
  const pc = hart.pc;
  lines.push(`guest pc 0x${pc.toString(16)}${sym(hv, pc)}, virtual mode ${MODE_NAMES[vcpu.priv]}`);
  for (let i = 0; i < 32; i += 4) {
    lines.push(
      [0, 1, 2, 3].map((j) =>
        `${REG_NAMES[i + j].padStart(4)} ${hex64(hart.xl[i + j], hart.xh[i + j])}`
      )
        .join("  "),
    );
  }
  const csrs = REPORT_CSRS.map((c) => {
    vcpu.csr.read(c);
    return `${CSR_NAMES.get(c)!.padStart(8)} ${hex64(out[0], out[1])}`;
  });
  for (let i = 0; i < csrs.length; i += 3) lines.push(csrs.slice(i, i + 3).join("  "));
  lines.push("last exits (oldest first):");
  for (const e of hv.recentExits) {
    lines.push(
      `  ${e.kind.padEnd(20)} pc 0x${e.pc.toString(16)}${sym(hv, e.pc)} ` +
        `tval 0x${e.tval.toString(16)} (${MODE_NAMES[e.vpriv]})`,
    );
  }
  lines.push("stack trace (frame pointers, best effort):", ...stackTrace(hv));
  return lines.join("\n");
}

/** " <symbol+off>" for a guest address when an image has symbols, else "". */
function sym(hv: Hypervisor, addr: number): string {
  const images = hv.guest.layout.images;
  const name = images.kernel?.symbolize(addr) ?? images.bios?.symbolize(addr) ?? null;
  return name === null ? "" : ` <${name}>`;
}

/**
 * Walks the guest's frame-pointer chain (s0): with -fno-omit-frame-pointer, the
 * saved ra is at fp-8 and the caller's fp at fp-16. Reads go through the guest's
 * own translation, so a bad pointer ends the walk instead of reading elsewhere.
 */
function stackTrace(hv: Hypervisor): string[] {
  const hart = hv.registers;
  const frames = [`  #0 0x${hart.pc.toString(16)}${sym(hv, hart.pc)}`];
  const ra = hart.xh[1] * 4294967296 + (hart.xl[1] >>> 0);
  frames.push(`  #1 0x${ra.toString(16)}${sym(hv, ra)} (ra)`);
  let fp = hart.xh[8] * 4294967296 + (hart.xl[8] >>> 0);
  // gcc's leaf functions save only the caller's fp, at fp-8 where others keep
  // ra (ra stays in its register): a stack address there, not code, means the
  // walk goes on from the caller's frame (as Linux's walk_stackframe).
  const sp = hart.xh[2] * 4294967296 + (hart.xl[2] >>> 0);
  const leafSaved = readGuest(hv, fp - 8);
  if (
    leafSaved !== null && leafSaved % 8 === 0 && leafSaved > fp &&
    leafSaved - sp <= MAX_LEAF_FRAME
  ) {
    fp = leafSaved;
  }
  for (let i = 2; i < MAX_FRAMES && fp !== 0 && fp % 8 === 0; i++) {
    const savedRa = readGuest(hv, fp - 8), savedFp = readGuest(hv, fp - 16);
    if (savedRa === null || savedFp === null || savedRa === 0) break;
    frames.push(`  #${i} 0x${savedRa.toString(16)}${sym(hv, savedRa)}`);
    if (savedFp <= fp) break; // stacks grow down: callers' frames are higher
    fp = savedFp;
  }
  return frames;
}

/** A doubleword of guest memory at guest virtual `va`, or null if it is not readable RAM. */
function readGuest(hv: Hypervisor, va: number): number | null {
  const vcpu = hv.guest.vcpu;
  const gpa = vcpu.mmu.translate(va, Access.LOAD, vcpu.csr.dataPriv, false);
  const off = gpa < 0 ? -1 : hv.guest.bus.ramOffset(gpa, 8);
  if (off < 0 || off % 4 !== 0) return null;
  const ram32 = hv.guest.bus.ram32;
  return ram32[(off >> 2) + 1] * 4294967296 + (ram32[off >> 2] >>> 0);
}
