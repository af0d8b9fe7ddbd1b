/**
 * The interpreter's hot loop, generated once from a source skeleton and the
 * instruction definitions of core/insns.ts: its ALU, branch, jump, load and
 * store cases are the same templates the block translator (core/translate.ts)
 * inlines, so the two tiers cannot drift.
 *
 * The skeleton is what used to be the inner loop of `Hart.run`: fetch page
 * through the fetch TLB, decode cache, the translator's dispatch, then one
 * switch on the decoded op with the data TLB fast paths inline. Everything
 * rare (slow paths, system, CSR, atomic and FP instructions, M division and
 * high multiply) goes through {@linkcode LoopHost}'s methods, outside this
 * function: V8 deoptimises a large switch when it first meets a case it has no
 * feedback for, so rare cases must not be in it.
 *
 * The loop returns to the hart (which checks interrupts, stops and watchpoint
 * hits) whenever a slow path may have changed the translation context, the
 * privilege or the decode cache, and when a trap unwinds it.
 *
 * @module
 */

import type { Bus } from "./bus.ts";
import type { CsrFile } from "./csrfile.ts";
import { decodeAt, type Decoded, Op } from "./decode.ts";
import {
  expand,
  fromNumber,
  INSNS,
  Kind,
  loadAccess,
  type Operands,
  storeAccess,
  TEMPLATE_HELPERS,
} from "./insns.ts";
import { Access, type AccessKind, type Mmu, TLB_SIZE } from "./mmu.ts";
import type { Translator } from "./translate.ts";

/** What the generated loop needs of its hart: state it reads and slow paths it calls. */
export interface LoopHost {
  /** Low halves of x0..x31. */
  readonly xl: Int32Array;
  /** High halves of x0..x31. */
  readonly xh: Int32Array;
  /** pc and the retired count ([0], [1]), written back when the loop returns. */
  readonly numbers: Float64Array;
  /** The physical bus (RAM views). */
  readonly bus: Bus;
  /** The MMU (TLB arrays). */
  readonly mmu: Mmu;
  /** CSRs (privilege, data privilege). */
  readonly csr: CsrFile;
  /** The decode cache by RAM page. */
  readonly decoded: readonly (Int32Array | undefined)[];
  /** Decoder output buffer. */
  readonly scratch: Decoded;
  /** The debugger's breakpoints (decoded as Op.BREAKPOINT). */
  readonly breakpoints: ReadonlySet<number>;
  /** Addresses of armed execute triggers (decoded as Op.BREAKPOINT). */
  triggerPcs(): ReadonlySet<number>;
  /** The LR reservation (RAM byte offset or -1, the words LR read), which blocks' atomics use. */
  readonly reservation: Float64Array;
  /** The translator, or null when it is off. */
  jit(): Translator | null;
  /**
   * Virtual page bases holding a breakpoint or an armed execute trigger (with
   * their count): no block is entered there, so the interpreter checks each
   * instruction of the page; blocks elsewhere run on.
   */
  readonly noBlockPages: ReadonlyMap<number, number>;
  /** Translates `va` or raises the fault (throws the trap sentinel). */
  translate(va: number, kind: AccessKind, priv: number, fill: boolean): number;
  /** The decode cache of a RAM page, created on first use. */
  decodedPage(ramPage: number): Int32Array;
  /** One instruction fetched from a device; false if a breakpoint stopped the run first. */
  stepFromDevice(pc: number, pa: number): boolean;
  /** One instruction crossing a page; false if a breakpoint stopped the run first. */
  stepCrossing(pc: number, lo16: number): boolean;
  /** A load through the MMU and bus: the low word; the high word is then `loadHi()`. */
  loadSlow(va: number, size: number, priv: number): number;
  /** High word of the last `loadSlow`. */
  loadHi(): number;
  /** A store through the MMU and bus. */
  storeSlow(va: number, size: number, lo: number, hi: number, priv: number): void;
  /** True if the loop must return to the hart before the next instruction. */
  resync(): boolean;
  /**
   * Runs an op outside the hot switch (pc and count are in `numbers`): 0 if a
   * breakpoint stopped it before it ran, 1 if it ran and the loop must return,
   * 2 if it ran and the loop goes on, 3 if it trapped (without throwing the
   * sentinel, but to the same effect: pc is the trapping instruction's).
   */
  rare(p: number, imm: number, next: number): number;
}

/**
 * Runs instructions from `pc` with `n` retired until `end`, a stop or a
 * resync; leaves pc and the count in `host.numbers`. Returns true if a trap
 * (the sentinel `trap`) unwound it: pc is then the faulting instruction's.
 */
export type RunLoop = (host: LoopHost, pc: number, n: number, end: number) => boolean;

/**
 * Ops with a definition that stay out of the hot switch (the cold path runs
 * them from the same templates): theirs call helpers (128-bit multiply,
 * division) or need the slow path's checks (atomics: alignment, triggers,
 * watchpoints, device memory, decoded code), and they are rare in real code.
 */
export const COLD_OPS: ReadonlySet<number> = new Set<number>([
  Op.MULH,
  Op.MULHSU,
  Op.MULHU,
  Op.DIV,
  Op.DIVU,
  Op.REM,
  Op.REMU,
  Op.DIVW,
  Op.DIVUW,
  Op.REMW,
  Op.REMUW,
  Op.AMO_W,
  Op.AMO_D,
]);

const TLB_MASK = TLB_SIZE - 1;

/**
 * The instruction's address and the next one's in straight-line code (the
 * loop's pc is written back only where it leaves that or may throw), as
 * expressions rather than variables: V8 then computes them only in the cases
 * that read them, not for every instruction.
 */
const AT = "(fBase + o)", NEXT = "(fBase + o + 2 + ((p >> 22) & 2))";

/**
 * What the hot switch's templates operate on: the register file in place (rd of
 * an ALU op in the switch is never x0: the decoder makes those NOP).
 */
export const HOT_OPERANDS: Operands = {
  al: "xl[rs1]",
  ah: "xh[rs1]",
  bl: "xl[rs2]",
  bh: "xh[rs2]",
  dl: "xl[rd]",
  dh: "xh[rd]",
  pc: AT,
  next: NEXT,
};

/** The hot switch's cases, one per definition, from the templates. */
function hotCases(): string {
  const o = HOT_OPERANDS;
  const va = "const va = xh[rs1] * 4294967296 + (xl[rs1] >>> 0) + imm;";
  const dataTlb = (tags: string, size: number) =>
    "const po = va & 0xfff, slot = (va >>> 12) & " + TLB_MASK + ";" +
    ` if (${tags}[slot] === va - po && (po & ${size - 1}) === 0) {`;
  const link = `if (rd !== 0) ${fromNumber(NEXT).replaceAll("$dl", o.dl).replaceAll("$dh", o.dh)}`;
  const cases: string[] = [];
  // In op order, dense from 1, as a jump table wants them.
  for (const d of [...INSNS].sort((a, b) => a.op - b.op)) {
    if (COLD_OPS.has(d.op)) continue;
    let body: string;
    switch (d.kind) {
      case Kind.ALU:
        body = `${expand(d, "imm", o)} break;`;
        break;
      case Kind.BRANCH:
        body = `if (${expand(d, "imm", o)}) { pc = ${AT} + imm, n++; continue run; } break;`;
        break;
      case Kind.JUMP:
        // jalr's target is rs1 + imm with bit 0 cleared, read before the link writes rd.
        body = d.op === Op.JAL
          ? `${link} pc = ${expand(d, "imm", o)}; n++; continue run;`
          : `{ const t = xh[rs1] * 4294967296 + (xl[rs1] >>> 0) + imm; ${link} ` +
            "pc = t - (t & 1); n++; continue run; }";
        break;
      case Kind.LOAD:
        // After a slow path the loop head looks for a block: code a block left at a TLB miss
        // gets back into blocks at once.
        body = `{ ${va} ${dataTlb("ltags", d.size)}` +
          ` const a = loffs[slot] + po; ${loadAccess(d.size)}` +
          ` if (rd !== 0) { ${expand(d, "imm", o)} } } else {` +
          ` num[0] = pc = ${AT}; num[1] = n;` + // MMIO may read mtime
          ` const v = h.loadSlow(va, ${d.size}, csr.dataPriv), w = h.loadHi();` +
          ` const resync = h.resync(); if (rd !== 0) { ${expand(d, "imm", o)} }` +
          ` pc = ${NEXT}, n++; if (resync) break run; continue run; } break; }`;
        break;
      case Kind.STORE:
        body = `{ ${va} ${dataTlb("stags", d.size)}` +
          ` const a = soffs[slot] + po; ${storeAccess(d.size, "xl[rs2]", "xh[rs2]")} } else {` +
          ` num[0] = pc = ${AT}; num[1] = n;` +
          ` h.storeSlow(va, ${d.size}, xl[rs2], xh[rs2], csr.dataPriv);` +
          ` pc = ${NEXT}, n++; if (h.resync()) break run; continue run; } break; }`;
        break;
      default:
        throw new Error(`op ${d.op}: no interpreter case for kind ${d.kind}`);
    }
    cases.push(`case ${d.op}: ${body}`);
  }
  return cases.join("\n");
}

/**
 * The loop's source around the cases. The translator's dispatch block is the
 * one that was in `Hart.run` (core/translate.ts owns its contract).
 */
function loopSource(cases: string): string {
  return `return function runLoop(h, pc, n, end) {
  const xl = h.xl, xh = h.xh, num = h.numbers, bus = h.bus, csr = h.csr, mmu = h.mmu;
  const ram = bus.ram, ram32 = bus.ram32, ram16 = bus.ram16, decoded = h.decoded;
  const dataSlot = csr.dataPriv * 3;
  const ltags = mmu.tags[dataSlot + ${Access.LOAD}], loffs = mmu.offsets[dataSlot + ${Access.LOAD}];
  const stags = mmu.tags[dataSlot + ${Access.STORE}];
  const soffs = mmu.offsets[dataSlot + ${Access.STORE}];
  const fetchPriv = csr.priv;
  const ftags = mmu.tags[fetchPriv * 3 + ${Access.FETCH}];
  const foffs = mmu.offsets[fetchPriv * 3 + ${Access.FETCH}];
  const breakpoints = h.breakpoints, triggerPcs = h.triggerPcs();
  // Fetch page: virtual base, RAM offset and decode cache of the page pc is in.
  let fBase = NaN, fRam = 0;
  let dec = EMPTY_PAGE;
  const jit = h.jit(), noBlocks = h.noBlockPages, res = h.reservation;
  let blocks;
  try {
    run: while (n < end) {
      let o = pc - fBase;
      if (!(o >= 0 && o < ${PAGE})) {
        // New fetch page: the fetch TLB, else translate (may fault); then its decode cache.
        fBase = pc - (pc & 0xfff);
        const slot = (pc >>> 12) & ${TLB_MASK};
        if (ftags[slot] === fBase) {
          fRam = foffs[slot];
        } else {
          const pa = h.translate(pc, ${Access.FETCH}, fetchPriv, true);
          fRam = bus.ramOffset(pa - (pa & 0xfff), ${PAGE});
          if (fRam < 0) { // not RAM (boot ROM): one slow step
            fBase = NaN;
            num[1] = n;
            if (!h.stepFromDevice(pc, pa)) break run; // stopped at a breakpoint
            n++;
            pc = num[0];
            break run;
          }
        }
        dec = decoded[fRam >> 12] ?? h.decodedPage(fRam >> 12);
        if (jit !== null) {
          blocks = noBlocks.size !== 0 && noBlocks.has(fBase) ? undefined : jit.page(fRam >> 12);
        }
        o = pc - fBase;
      }
      if (blocks !== undefined) {
        // The translator's entry: a block at least one instruction long runs to its exit.
        // Visits below the translator's hot limit are counted here, without a call. Only
        // the loop head looks, where a block can usefully start: a control transfer's
        // target, a new page, the first instruction of a call, after a rare op or a slow
        // path, after a block. A block runs on past the instructions after those, so
        // looking (and counting) at each of them only made tails of blocks.
        let b = blocks.blocks[o >> 1];
        if (b === undefined) {
          const heat = blocks.heat, k = o >> 1, v = heat[k] + 1;
          if (v < jit.hotLimit) heat[k] = v;
          else b = jit.visit(blocks, o, fRam, ram16, dec);
        }
        if (b !== undefined && b.length <= end - n) {
          const to = b.fn(
            xl,
            xh,
            pc,
            end - n,
            bus.ram,
            ram16,
            ram32,
            ltags,
            loffs,
            stags,
            soffs,
            jit.io,
            res,
            noBlocks.size === 0 ? ftags : null,
            foffs,
          );
          const k = jit.io[0];
          if (k !== 0) {
            jit.stats.translatedInstructions += k;
            jit.stats.entries++;
            pc = to, n += k;
            continue;
          }
        }
      }
      // Straight-line code within the page: no fetch-page or block check per instruction.
      // o as an int32 (pc - fBase is a double): V8 then indexes the decode cache and
      // steps through the page without float conversions (cpu.elf interpreted 0.85x CPU).
      o |= 0;
      for (;;) {
        let p = dec[o];
        if (p === 0) {
          const lo16 = ram16[(fRam + o) >> 1];
          if ((lo16 & 3) === 3 && o === ${PAGE - 2}) { // 32-bit instruction crossing the page
            num[0] = pc = ${AT};
            num[1] = n;
            if (!h.stepCrossing(pc, lo16)) break run; // stopped at a breakpoint
            n++;
            pc = num[0];
            break run;
          }
          const scratch = h.scratch;
          decodeAt(lo16, ram16[(fRam + o + 2) >> 1], scratch);
          p = scratch.packed;
          if (
            (breakpoints.size !== 0 && breakpoints.has(${AT})) ||
            (triggerPcs.size !== 0 && triggerPcs.has(${AT}))
          ) p = ${Op.BREAKPOINT};
          dec[o] = p;
          dec[o + 1] = scratch.imm;
        }
        const imm = dec[o + 1];
        const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
        switch (p & 0xff) {
${cases}
          default: {
            // Everything else is rare enough to live outside this function.
            num[0] = pc = ${AT};
            num[1] = n; // counters and the virtual clock read it
            const r = h.rare(p, imm, ${NEXT});
            pc = num[0];
            if (r === 0) break run; // a breakpoint: nothing ran
            if (r === 3) return true; // trapped without a throw: as the catch below, num is set
            n++;
            if (r === 1) break run;
            continue run;
          }
        }
        n++;
        o += (p & 0x800000) !== 0 ? 4 : 2;
        if (o >= ${PAGE} || n >= end) {
          pc = fBase + o;
          continue run;
        }
      }
    }
  } catch (e) {
    num[0] = pc;
    num[1] = n;
    if (e !== TRAP) throw e;
    return true;
  }
  num[0] = pc;
  num[1] = n;
  return false;
};`;
}

const PAGE = 4096;

/** A decode page that never matches (pc - NaN is NaN), used before the first fetch. */
const EMPTY_PAGE = new Int32Array(PAGE);

/** Builds the interpreter's loop; `trap` is the sentinel that faulting slow paths throw. */
export function compileRunLoop(trap: object): RunLoop {
  const { mul128, div64, div32, out } = TEMPLATE_HELPERS;
  return new Function(
    "TRAP",
    "EMPTY_PAGE",
    "decodeAt",
    "mul128",
    "div64",
    "div32",
    "out",
    loopSource(hotCases()),
  )(trap, EMPTY_PAGE, decodeAt, mul128, div64, div32, out);
}
