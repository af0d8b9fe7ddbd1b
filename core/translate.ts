/**
 * The block translator: hot guest basic blocks compiled to JavaScript functions
 * (`new Function`) from the instruction templates of core/insns.ts, with the
 * registers a block uses held in locals.
 *
 * Blocks are keyed by RAM page and offset (physical), so they survive address
 * space switches and serve a guest under the hypervisor alike; the hart enters
 * them through its fetch TLB with the virtual pc, from which a block derives
 * every pc-relative value. A block is one path through the page: it goes on
 * past a conditional branch (taken, the branch leaves the block) and follows a
 * jal whose target is in the page; it ends at a jalr, at the first instruction
 * without a template (CSR, system, fence.i, FP: they stay in the
 * interpreter), at the page end, at an instruction already on the path or at
 * {@linkcode MAX_BLOCK} instructions. A branch or jal back to the block's
 * start loops inside the function while the budget allows another pass.
 *
 * Precise by construction: a block makes only accesses that hit the TLB fast
 * path (aligned, RAM; atomics through the store TLB, LR the load TLB, with
 * the hart's LR reservation passed in); anything else (a miss, MMIO, a misaligned address, a
 * store to a page with decoded code) leaves the block before the instruction,
 * with registers written back and pc and count at that instruction, and the
 * interpreter runs it with all its slow-path rules. A block never traps, reads
 * the clock or raises interrupts, and never runs more instructions than the
 * budget it was given, so with the virtual clock a run is the same
 * instruction for instruction with the translator on and off.
 *
 * Invalidation follows the decode cache: a block page lives exactly as long as
 * the decode-cache page of the same RAM page (the hart drops both together).
 *
 * The wasm tier compiles regions (see {@linkcode Translator.visit}): the hot
 * path with the paths reachable from it in its page, in one function that
 * goes from one to the next without a call; each path is still a block of its
 * page, with the rules above.
 *
 * @module
 */

import { Amo, decodeAt, type Decoded, Op } from "./decode.ts";
import {
  expand,
  INSN_BY_OP,
  type InsnDef,
  Kind,
  type Operands,
  TEMPLATE_HELPERS,
} from "./insns.ts";
import { TLB_SIZE } from "./mmu.ts";

const PAGE = 4096;
/** Longest block in instructions. */
export const MAX_BLOCK = 32;
/** Times the interpreter reaches an address before a JavaScript block is compiled there. */
export const HOT_THRESHOLD = 5000;
/**
 * The same for wasm blocks (core/wasm-jit.ts), which cost far less to compile
 * (regions of paths in one module, our own encoder, no parse): a Linux boot to
 * the shell under the hypervisor took 0.93x the wall time at 1,000 visits
 * against 5,000 and 0.98x again at 500 (paired runs on a quiet machine, the
 * same CPU time: the other core compiles and optimises), and 200 gained
 * nothing more, for a peak RSS of about 1.2x the interpreter's.
 */
export const WASM_HOT_THRESHOLD = 500;
/**
 * Blocks compiled at {@linkcode Translator.threshold}; after them, code must be
 * {@linkcode LATE_FACTOR} times as hot (but a threshold of 1 still translates
 * all that runs). A program with little code (cpu.elf: 177 blocks) gets it all
 * compiled early; a Linux boot moves on through some 15,000 blocks' worth,
 * most of them run a few thousand times in all, each costing V8 its compile
 * time and some 10 KB for the rest of the run: 4x after 4,096 blocks took its
 * peak RSS from 518 to 444 MiB for 4% less CPU time, 8x to 40 MiB less again
 * for 2% more (paired runs).
 */
export const EARLY_BLOCKS = 4096;
/** How much hotter code must be once {@linkcode EARLY_BLOCKS} blocks were compiled. */
export const LATE_FACTOR = 8;
/**
 * Paths a region holds at most (a translator given a {@linkcode RegionCodegen}
 * compiles the hot path with the paths reachable from it in its page as one
 * function: see {@linkcode Translator.visit}).
 */
export const MAX_REGION_PATHS = 64;
/** Instructions a region holds at most (its paths' lengths summed). */
export const MAX_REGION_INSNS = 1024;
/** Compiled blocks kept before pages unused since the last eviction are evicted. */
export const MAX_BLOCKS = 16384;
/**
 * Estimated bytes of compiled code kept before pages are evicted: what V8
 * holds for a block (its source, bytecode, feedback and, once hot, optimised
 * code) grows with its source, so blocks of loads and stores cost several
 * times the average and {@linkcode MAX_BLOCKS} alone does not bound memory.
 * High enough not to bind on a Linux boot (150 MB at the shell): a 64 MB
 * bound cost it 9% more CPU time in recompiled code for 10 MB less peak RSS,
 * as V8 keeps the source of every function made with `new Function` in its
 * compilation cache for the life of the process, evicted or not.
 */
export const MAX_CODE_BYTES = 192 * 1024 * 1024;
/** V8's bytes per character of a block's source (about 4 on a Linux boot: heap after GC / source). */
const BYTES_PER_CHAR = 4;
/**
 * An empty block array, made to hold objects from the start (an array of holes
 * starts as a Smi array and changes kind on its first block), so that the run
 * loop's read of a page's blocks sees one array kind whatever the page.
 */
function blockArray(): (Block | undefined)[] {
  const a: (Block | undefined)[] = new Array(PAGE / 2);
  a[0] = undefined;
  return a;
}

/** The blocks of a page without any (shared, never written: 16 KiB less per page). */
const NO_BLOCKS = blockArray();
/** A heat counter value meaning "no block can start here". */
const NEVER = 65535;

/**
 * A compiled block. Arguments: register files, the virtual pc of the block's
 * start, the instruction budget, RAM views, the data TLB (load tags and RAM
 * offsets, store tags and offsets), `io`, where it leaves the number of
 * instructions it retired in io[0], and the hart's LR reservation (RAM byte
 * offset or -1, the words LR read); then the fetch TLB (tags null when the
 * run loop must see every block boundary: breakpoint pages), which lets a
 * wasm block go on into the next block without returning (core/wasm-jit.ts).
 * Returns the pc to continue at.
 */
export type BlockFn = (
  xl: Int32Array,
  xh: Int32Array,
  pc: number,
  budget: number,
  ram: Uint8Array,
  ram16: Uint16Array,
  ram32: Int32Array,
  ltags: Float64Array,
  loffs: Int32Array,
  stags: Float64Array,
  soffs: Int32Array,
  io: Float64Array,
  res: Float64Array,
  ftags?: Float64Array | null,
  foffs?: Int32Array,
) => number;

/** A compiled block and its static length (instructions of one pass). */
export interface Block {
  /** The function. */
  fn: BlockFn;
  /** Instructions of one straight pass: a block is entered only with at least this budget. */
  length: number;
  /** Estimated bytes V8 holds for `fn`. */
  bytes: number;
  /** Called when the block is dropped (wasm blocks release their dispatch entry). */
  free?: () => void;
  /**
   * Whether the block ran since the last call, clearing that mark: wasm
   * blocks run on into others through their dispatcher, which never returns
   * to the run loop that marks {@linkcode BlockPage.used}.
   */
  used?: () => boolean;
}

/** A path of a region: its byte offset in the page and its instructions. */
export interface RegionPath {
  /** Byte offset of its first instruction in the page. */
  off: number;
  /** Its instructions. */
  insns: readonly PathInsn[];
}

/** Blocks and heat counters of one RAM page, indexed by halfword offset. */
export interface BlockPage {
  /**
   * Compiled blocks by start offset / 2: {@linkcode NO_BLOCKS} until the page
   * gets its first, as most pages the interpreter runs never get one.
   */
  blocks: (Block | undefined)[];
  /** Interpreter visits per start offset / 2 ({@linkcode NEVER}: untranslatable). */
  readonly heat: Uint16Array;
  /** Entered since the last eviction pass: the pass keeps it (the clock's second chance). */
  used: boolean;
}

/** Counters for `--stats` and the bench. */
export interface TranslatorStats {
  /** Blocks compiled since start. */
  compiled: number;
  /** Blocks alive in the cache. */
  live: number;
  /** Guest instructions in the live blocks (one pass each). */
  liveInstructions: number;
  /** Estimated bytes of the live blocks' code (bounded by {@linkcode Translator.capacityBytes}). */
  liveBytes: number;
  /** Milliseconds spent generating and compiling. */
  compileMs: number;
  /** Block pages dropped because their code page was written. */
  invalidations: number;
  /** Whole-cache drops (reset, snapshot restore). */
  flushes: number;
  /** Block pages emptied because the cache was full (unused since the previous pass). */
  evictions: number;
  /** Regions compiled since start (one function holding one or more of the blocks compiled). */
  regions: number;
  /** Block-to-block transitions that stayed inside a region's function (a jump, not a call). */
  regionJumps: number;
  /** Block-to-block transitions through the wasm dispatcher (a call into another function). */
  dispatches: number;
  /** Instructions retired inside blocks. */
  translatedInstructions: number;
  /**
   * Calls from the run loop into blocks: one per block run for JavaScript
   * blocks; a wasm block goes on into the next ones through its dispatcher.
   */
  entries: number;
}

/** One instruction of a block's path: decoded word, immediate, byte offset from the block's start. */
export interface PathInsn {
  /** Packed decode (core/decode.ts). */
  p: number;
  /** Immediate. */
  imm: number;
  /** Byte offset from the block's start. */
  delta: number;
}

/**
 * Makes a block's function from its path, with the bytes it is estimated to
 * hold: JavaScript by default, wasm for core/wasm-jit.ts's tier.
 */
export type Codegen = (
  insns: readonly PathInsn[],
) => { fn: BlockFn; bytes: number; free?: () => void; used?: () => boolean };

/**
 * Makes one function of a region's paths (all in one RAM page), entered at
 * any of them: a block per path, in order, and the bytes the whole is
 * estimated to hold. A static exit of a path to another path of the region
 * (or to its own start) jumps there inside the function when the budget left
 * covers the target's length.
 */
export type RegionCodegen = (
  paths: readonly RegionPath[],
) => { blocks: { fn: BlockFn; free?: () => void; used?: () => boolean }[]; bytes: number };

/**
 * Page offsets a path may go on at without a computed jump: a taken branch's
 * target, the target of a jal that ends it, or the instruction after its
 * last; some may be outside the page.
 */
export function staticExits(path: RegionPath): number[] {
  const out: number[] = [];
  const { insns, off } = path;
  insns.forEach(({ p, imm, delta }, i) => {
    const kind = INSN_BY_OP[p & 0xff]!.kind;
    if (kind === Kind.BRANCH) out.push(off + delta + imm);
    else if (i === insns.length - 1) {
      if ((p & 0xff) === Op.JAL) out.push(off + delta + imm);
      else if (kind !== Kind.JUMP) out.push(off + delta + ((p & 0x800000) !== 0 ? 4 : 2));
    }
  });
  return out;
}

/** The translated-block cache of one hart. */
export class Translator {
  readonly #pages: (BlockPage | undefined)[] = [];
  readonly #codegen: Codegen;
  readonly #compiles: (def: InsnDef) => boolean;
  readonly #region: RegionCodegen | undefined;
  /**
   * RAM pages holding blocks, in the order of the clock hand: an eviction pass
   * goes from the front, empties the pages not entered since the last pass
   * and moves the others to the back.
   */
  readonly #filled = new Set<number>();
  readonly #scratch: Decoded = { packed: 0, imm: 0 };
  #threshold = HOT_THRESHOLD;
  /**
   * The visits that made code hot at the last {@linkcode visit} (0 before the
   * first): the run loop counts visits below it itself and calls `visit` only
   * at it, as a call per interpreted instruction cost a Linux boot 8% of its
   * time. `visit` refreshes it, so it only ever lags behind a rise.
   */
  hotLimit = 0;
  /**
   * Interpreter visits of an address before a block is compiled there (1 to
   * 65,534); tests set 1 to translate everything that runs.
   */
  get threshold(): number {
    return this.#threshold;
  }
  set threshold(visits: number) {
    this.#threshold = visits;
    this.hotLimit = 0; // a lower threshold must reach the run loop at once
  }
  /** Compiled blocks kept; tests make it small to exercise eviction. */
  capacity = MAX_BLOCKS;
  /** Estimated bytes of code kept (see {@linkcode MAX_CODE_BYTES}). */
  capacityBytes = MAX_CODE_BYTES;
  /** Block results: io[0] = instructions retired by the last block. */
  readonly io: Float64Array = new Float64Array(1);
  /** Counters (see {@linkcode TranslatorStats}). */
  readonly stats: TranslatorStats = {
    compiled: 0,
    live: 0,
    liveInstructions: 0,
    liveBytes: 0,
    compileMs: 0,
    invalidations: 0,
    flushes: 0,
    evictions: 0,
    regions: 0,
    regionJumps: 0,
    dispatches: 0,
    translatedInstructions: 0,
    entries: 0,
  };

  /**
   * @param codegen what compiles a block's path (JavaScript functions unless given).
   * @param compiles which instructions `codegen` compiles: a block ends before any other.
   * @param region what compiles a region's paths into one function (then used instead of `codegen`).
   */
  constructor(
    codegen: Codegen = generate,
    compiles: (def: InsnDef) => boolean = () => true,
    region?: RegionCodegen,
  ) {
    this.#codegen = codegen;
    this.#compiles = compiles;
    this.#region = region;
  }

  /** The block page of RAM page `ramPage`, created on first use; marks it used (the run loop enters it). */
  page(ramPage: number): BlockPage {
    let p = this.#pages[ramPage];
    if (p === undefined) {
      p = { blocks: NO_BLOCKS, heat: new Uint16Array(PAGE / 2), used: true };
      this.#pages[ramPage] = p;
    }
    p.used = true;
    return p;
  }

  /** Drops the blocks of RAM page `ramPage` (its code was written). */
  dropPage(ramPage: number): void {
    const p = this.#pages[ramPage];
    if (p === undefined) return;
    this.#pages[ramPage] = undefined;
    this.#filled.delete(ramPage);
    this.stats.invalidations++;
    this.#forget(p);
  }

  /** Takes the blocks of `p` off the live counts. */
  #forget(p: BlockPage): void {
    if (p.blocks === NO_BLOCKS) return;
    for (const b of p.blocks) {
      if (b === undefined) continue;
      b.free?.();
      this.stats.live--, this.stats.liveInstructions -= b.length, this.stats.liveBytes -= b.bytes;
    }
  }

  /** True if `count` more blocks of `bytes` would pass either bound less a `slack`th of it. */
  #full(count: number, bytes: number, slack: number): boolean {
    const c = this.capacity, cb = this.capacityBytes;
    return this.stats.live + count > c - Math.floor(c / slack) ||
      this.stats.liveBytes + bytes > cb - Math.floor(cb / slack);
  }

  /**
   * Empties pages not entered since the previous pass (a clock) until an
   * eighth of the capacity is free beside `count` new blocks of `bytes`: a Linux
   * boot moves through far more code than it needs at any time, most of it
   * run for a while and never again, and evicting the oldest pages would
   * throw away hot loops compiled early. An emptied page keeps its object (the
   * hart may hold it) and starts cold again.
   */
  #evict(count: number, bytes: number): void {
    for (const ramPage of this.#filled) {
      if (!this.#full(count, bytes, 8)) break;
      const p = this.#pages[ramPage]!;
      this.#filled.delete(ramPage);
      if (this.#ran(p)) {
        this.#filled.add(ramPage); // visited again by this loop: evicted then if still unused
        continue;
      }
      this.#forget(p);
      p.blocks = NO_BLOCKS;
      p.heat.fill(0);
      this.stats.evictions++;
    }
  }

  /**
   * Whether `p` ran since the last pass: entered by the run loop, or one of
   * its blocks called by a dispatcher. Clears every mark (none may carry over
   * to the next pass, so no early return).
   */
  #ran(p: BlockPage): boolean {
    let ran = p.used;
    p.used = false;
    for (const b of p.blocks) if (b?.used?.() === true) ran = true;
    return ran;
  }

  /** Drops every block. */
  flush(): void {
    if (this.#pages.length !== 0) this.stats.flushes++;
    for (const p of this.#pages) if (p !== undefined) this.#forget(p);
    this.#pages.length = 0;
    this.#filled.clear();
    this.stats.live = 0;
    this.stats.liveInstructions = 0;
    this.stats.liveBytes = 0;
  }

  /**
   * Counts a visit of the interpreter to `off` in `page` and compiles a block
   * there once it is hot. `ramOff` is the page's RAM byte offset, `pc` the
   * virtual address of `off`, `ram16` RAM, `decoded` the page's decode cache.
   * Returns the block to enter, if any.
   *
   * With a {@linkcode RegionCodegen}, the block is the first path of a region:
   * the paths reached from it through static exits ({@linkcode staticExits})
   * in the same page, breadth first, where the interpreter has run (heat > 0:
   * cold paths would cost compile time and memory for nothing) and no block
   * starts yet, up to {@linkcode MAX_REGION_PATHS} paths and
   * {@linkcode MAX_REGION_INSNS} instructions. Every path is a block of the
   * page, so the run loop and the dispatcher enter the region at any of them;
   * a region lives and dies with its page like any block.
   */
  visit(
    page: BlockPage,
    off: number,
    ramOff: number,
    ram16: Uint16Array,
    decoded: Int32Array,
  ): Block | undefined {
    const k = off >> 1;
    const h = page.heat[k];
    if (h === NEVER) return undefined;
    const limit = this.stats.compiled < EARLY_BLOCKS || this.threshold === 1
      ? this.threshold
      : Math.min(this.threshold * LATE_FACTOR, NEVER - 1);
    this.hotLimit = limit;
    if (h + 1 < limit) {
      page.heat[k] = h + 1;
      return undefined;
    }
    const t0 = performance.now();
    const blocks = this.#compile(page, off, ramOff, ram16, decoded);
    this.stats.compileMs += performance.now() - t0;
    if (blocks === undefined) {
      page.heat[k] = NEVER;
      return undefined;
    }
    page.used = true; // the page being compiled into is in use, whatever the last pass saw
    let bytes = 0;
    for (const [, b] of blocks) bytes += b.bytes;
    if (this.#full(blocks.length, bytes, Infinity)) this.#evict(blocks.length, bytes);
    if (page.blocks === NO_BLOCKS) page.blocks = blockArray();
    for (const [o, b] of blocks) {
      page.blocks[o >> 1] = b;
      this.stats.liveInstructions += b.length;
    }
    this.#filled.add(ramOff >> 12); // a page emptied by eviction comes back as the newest
    this.stats.compiled += blocks.length;
    this.stats.live += blocks.length;
    this.stats.liveBytes += bytes;
    this.stats.regions++;
    return blocks[0][1];
  }

  /**
   * The blocks to compile for a visit at `off` (by page offset, the one at
   * `off` first): its path, or the region from it when regions are compiled;
   * undefined if its first instruction has no template.
   */
  #compile(
    page: BlockPage,
    off: number,
    ramOff: number,
    ram16: Uint16Array,
    decoded: Int32Array,
  ): [number, Block][] | undefined {
    const first = this.#path(off, ramOff, ram16, decoded);
    if (first.length === 0) return undefined;
    if (this.#region === undefined) {
      const { fn, bytes, free, used } = this.#codegen(first);
      return [[off, { fn, length: first.length, bytes, free, used }]];
    }
    const paths: RegionPath[] = [{ off, insns: first }];
    const queued = new Set([off]);
    let total = first.length;
    for (let i = 0; i < paths.length && paths.length < MAX_REGION_PATHS; i++) {
      for (const t of staticExits(paths[i])) {
        if (t < 0 || t >= PAGE || queued.has(t)) continue;
        queued.add(t);
        const heat = page.heat[t >> 1];
        if (heat === 0 || heat === NEVER || page.blocks[t >> 1] !== undefined) continue;
        const insns = this.#path(t, ramOff, ram16, decoded);
        if (insns.length === 0 || total + insns.length > MAX_REGION_INSNS) continue;
        paths.push({ off: t, insns });
        total += insns.length;
        if (paths.length === MAX_REGION_PATHS) break;
      }
    }
    const { blocks, bytes } = this.#region(paths);
    // The region's bytes are shared among its blocks: they die together, with their page.
    const share = Math.floor(bytes / paths.length);
    return paths.map(({ off, insns }, i) => [off, {
      fn: blocks[i].fn,
      length: insns.length,
      bytes: i === 0 ? bytes - share * (paths.length - 1) : share,
      free: blocks[i].free,
      used: blocks[i].used,
    }]);
  }

  /** Decodes the path at `off` (empty if its first instruction has no template). */
  #path(
    off: number,
    ramOff: number,
    ram16: Uint16Array,
    decoded: Int32Array,
  ): PathInsn[] {
    const insns: PathInsn[] = [];
    const seen = new Set<number>();
    let o = off;
    while (insns.length < MAX_BLOCK && o < PAGE && !seen.has(o)) {
      seen.add(o);
      let p = decoded[o], imm = decoded[o + 1];
      if (p === 0) {
        const lo16 = ram16[(ramOff + o) >> 1];
        if ((lo16 & 3) === 3 && o === PAGE - 2) break; // crosses the page: the interpreter's
        decodeAt(lo16, ram16[(ramOff + o + 2) >> 1], this.#scratch);
        p = this.#scratch.packed, imm = this.#scratch.imm;
      }
      const def = INSN_BY_OP[p & 0xff];
      if (def === undefined || !this.#compiles(def)) break;
      insns.push({ p, imm, delta: o - off });
      const op = p & 0xff;
      if (op === Op.JALR) break;
      if (op === Op.JAL) {
        // A direct jump within the page is followed: the block goes on at its target.
        const t = o + imm;
        if (t === off || t < 0 || t >= PAGE || seen.has(t)) break;
        o = t;
        continue;
      }
      o += (p & 0x800000) !== 0 ? 4 : 2; // branches fall through here; taken, they leave
    }
    return insns;
  }
}

const TLB_MASK = TLB_SIZE - 1;

/**
 * Generated functions by decoded path (the source is a function of it), shared
 * by every translator: a block is a pure function of its arguments, so code
 * that is dropped and translated again (a rewritten page, an evicted one, a
 * new machine) reuses the function V8 already optimised instead of starting cold.
 * Held weakly, so that a function no block holds any more (evicted) is freed at
 * V8's next full collection and the cache's bound bounds the memory: with
 * strong references this map kept every evicted function alive.
 */
const FUNCTIONS = new Map<string, { fn: WeakRef<BlockFn>; bytes: number }>();
/** Deletes the entry of a collected function (unless a new one took its key). */
const COLLECTED = new FinalizationRegistry<string>((key) => {
  if (FUNCTIONS.get(key)?.fn.deref() === undefined) FUNCTIONS.delete(key);
});

/** True if the template of `def` mentions operand `x` (`a`: rs1, `b`: rs2). */
function mentions(def: InsnDef, x: "a" | "b"): boolean {
  // A template function of the immediate is asked for both shift forms (below and above 32).
  const src = typeof def.sem === "string" ? def.sem : def.sem(1) + def.sem(33);
  return src.includes(`$${x}l`) || src.includes(`$${x}h`);
}

/** Ops that read rs1 (addresses of loads, stores and jalr; templates that use it), by op id. */
const READS_RS1: readonly boolean[] = INSN_BY_OP.map((d) =>
  d !== undefined &&
  (d.kind === Kind.LOAD || d.kind === Kind.STORE || d.kind === Kind.ATOMIC || d.op === Op.JALR ||
    mentions(d, "a"))
);
/** Ops that read rs2 (stores' data; templates that use it), by op id. */
const READS_RS2: readonly boolean[] = INSN_BY_OP.map((d) =>
  d !== undefined && (d.kind === Kind.STORE || d.kind === Kind.ATOMIC || mentions(d, "b"))
);

/** The JavaScript source of a block, wrapped into a function, and the bytes it is estimated to hold. */
function generate(insns: readonly PathInsn[]): {
  fn: BlockFn;
  bytes: number;
} {
  const key = insns.map(({ p, imm, delta }) => `${p},${imm},${delta}`).join(";");
  const known = FUNCTIONS.get(key);
  const shared = known?.fn.deref();
  if (shared !== undefined) return { fn: shared, bytes: known!.bytes };
  const used = new Set<number>(), written = new Set<number>();
  for (const { p } of insns) {
    const def = INSN_BY_OP[p & 0xff]!;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    // The rs1/rs2 fields of an instruction that does not read them hold immediate bits.
    if (READS_RS1[def.op]) used.add(rs1);
    if (READS_RS2[def.op]) used.add(rs2);
    if (def.kind !== Kind.BRANCH && def.kind !== Kind.STORE) used.add(rd), written.add(rd);
  }
  used.delete(0), written.delete(0);
  const lo = (r: number) => r === 0 ? "0" : `l${r}`;
  const hi = (r: number) => r === 0 ? "0" : `h${r}`;
  const pcAt = (delta: number) => delta === 0 ? "pc" : `(pc+${delta})`;
  const writeBack = [...written].map((r) => `xl[${r}] = l${r}; xh[${r}] = h${r};`).join(" ");
  // Every exit jumps to one write-back after the block: repeating it at each exit made
  // the source (and V8's parse and bytecode, paid per block) several times longer.
  const exit = (count: string, pcExpr: string) => `{xc=${count};xp=${pcExpr};break leave}`;
  const last = insns[insns.length - 1];
  const length = insns.length;
  // A branch or jal back to the start loops inside the function.
  const toStart = (p: number, imm: number, delta: number) =>
    (INSN_BY_OP[p & 0xff]!.kind === Kind.BRANCH || (p & 0xff) === Op.JAL) && delta + imm === 0;
  const loops = insns.some(({ p, imm, delta }) => toStart(p, imm, delta));
  /** Another pass if the budget covers a whole one, else leave at the start. */
  const again = (i: number) =>
    `{ n += ${i + 1}; if (budget - n >= ${length}) continue; ${exit("n", "pc")} }`;
  const body: string[] = [];
  insns.forEach(({ p, imm, delta }, i) => {
    const def = INSN_BY_OP[p & 0xff]!;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    const next = pcAt(delta + ((p & 0x800000) !== 0 ? 4 : 2));
    const o: Operands = {
      al: lo(rs1),
      ah: hi(rs1),
      bl: lo(rs2),
      bh: hi(rs2),
      dl: rd === 0 ? "zl" : `l${rd}`,
      dh: rd === 0 ? "zh" : `h${rd}`,
      pc: pcAt(delta),
      next,
    };
    const here = i === 0 ? "n" : `n+${i}`;
    const done = `n+${i + 1}`;
    switch (def.kind) {
      case Kind.ALU:
        body.push(expand(def, imm, o));
        break;
      case Kind.LOAD:
      case Kind.STORE: {
        // Written tight: a block is mostly loads and stores, and V8 keeps its source
        // for as long as the block lives (blanks here were a third of a load's source).
        const load = def.kind === Kind.LOAD;
        const size = def.size;
        const [tags, offs] = load ? ["ltags", "loffs"] : ["stags", "soffs"];
        const access = load
          ? size === 8
            ? "v=ram32[a>>2],w=ram32[(a>>2)+1];"
            : size === 4
            ? "v=ram32[a>>2];"
            : size === 2
            ? "v=ram16[a>>1];"
            : "v=ram[a];"
          : size === 8
          ? `;ram32[a>>2]=${lo(rs2)};ram32[(a>>2)+1]=${hi(rs2)}`
          : size === 4
          ? `;ram32[a>>2]=${lo(rs2)}`
          : size === 2
          ? `;ram16[a>>1]=${lo(rs2)}`
          : `;ram[a]=${lo(rs2)}`;
        const misaligned = size === 1 ? "" : `||po&${size - 1}`;
        body.push(
          `{const va=${hi(rs1)}*4294967296+(${
            lo(rs1)
          }>>>0)+${imm},po=va&4095,k=va>>>12&${TLB_MASK};` +
            `if(${tags}[k]!==va-po${misaligned})${exit(here, pcAt(delta))}` +
            `const a=${offs}[k]+po${load ? `,${access}${expand(def, imm, o)}` : access}}`,
        );
        break;
      }
      case Kind.ATOMIC: {
        // The address is rs1 alone (imm is funct5); misaligned, it leaves for the interpreter's trap.
        const [tags, offs] = imm === Amo.LR ? ["ltags", "loffs"] : ["stags", "soffs"];
        body.push(
          `{ const va = ${hi(rs1)} * 4294967296 + (${lo(rs1)} >>> 0);` +
            ` const po = va & 0xfff, slot = (va >>> 12) & ${TLB_MASK};` +
            ` if (${tags}[slot] !== va - po || (po & ${def.size - 1}) !== 0) ${
              exit(here, pcAt(delta))
            }` +
            ` const a = ${offs}[slot] + po; ${expand(def, imm, o)} }`,
        );
        break;
      }
      case Kind.BRANCH: {
        const taken = toStart(p, imm, delta) ? again(i) : exit(done, pcAt(delta + imm));
        body.push(`if (${expand(def, imm, o)}) ${taken}`);
        break;
      }
      case Kind.JUMP: {
        const target = (p & 0xff) === Op.JAL ? pcAt(delta + imm) : "t - (t & 1)";
        const jalrTarget = (p & 0xff) === Op.JALR
          ? `const t = ${hi(rs1)} * 4294967296 + (${lo(rs1)} >>> 0) + ${imm};`
          : "";
        const link = rd === 0 ? "" : `{ const v = ${next}; l${rd} = v | 0;` +
          ` h${rd} = Math.floor(v / 4294967296) | 0; }`;
        // A jal that is not the last instruction was followed: the next one is its target.
        const leave = i < length - 1 ? "" : toStart(p, imm, delta) ? again(i) : exit(done, target);
        body.push(`{ ${jalrTarget} ${link} ${leave} }`);
        break;
      }
    }
  });
  if (INSN_BY_OP[last.p & 0xff]!.kind !== Kind.JUMP) {
    body.push(exit(`n+${length}`, pcAt(last.delta + ((last.p & 0x800000) !== 0 ? 4 : 2))));
  }
  const regs = [...used].map((r) => `let l${r} = xl[${r}], h${r} = xh[${r}];`).join(" ");
  // Parenthesised, the function is compiled with its wrapper (V8's eager heuristic) instead of
  // pre-parsed now and parsed again at its first call: a third less compile time per block.
  // The dead tagged template keeps the source out of V8's eval compilation cache, which
  // otherwise holds the source of every `new Function` for the life of the process, evicted
  // or not (V8's parser disables that cache for a source with a tagged template).
  const src = `if (false) out\`\`;
  return (function block(xl, xh, pc, budget, ram, ram16, ram32, ltags, loffs, stags, soffs, io, res) {
    ${regs} let zl = 0, zh = 0, n = 0, xc = 0, xp = 0;
    leave: {
    ${loops ? "for (;;) {" : ""}
    ${body.join("\n")}
    ${loops ? "}" : ""}
    }
    ${writeBack} io[0] = xc; return xp;
  });`;
  const { mul128, div64, div32, out } = TEMPLATE_HELPERS;
  const fn = new Function("mul128", "div64", "div32", "out", src)(mul128, div64, div32, out);
  const bytes = src.length * BYTES_PER_CHAR;
  FUNCTIONS.set(key, { fn: new WeakRef(fn), bytes });
  COLLECTED.register(fn, key);
  return { fn, bytes };
}
