/**
 * The block translator's WebAssembly tier (`--jit wasm`, experimental): the
 * blocks core/translate.ts finds, compiled to wasm functions instead of
 * JavaScript, with native i64 arithmetic and registers in locals.
 *
 * Everything a block touches lives in one `WebAssembly.Memory`
 * ({@linkcode WasmJit}): guest RAM (the bus's backing), and per hart its
 * register halves (the hart's `xl`/`xh` are views of it, so the interpreter
 * and the blocks share them) and its TLB arrays (the MMU's, also views). A
 * block reads the registers it uses from the halves, writes back the ones it
 * wrote at every exit, and checks the TLB tag of every access in wasm, leaving
 * the block before an access that misses or crosses a page (an atomic also
 * before a misaligned one), as the JavaScript blocks do on any misaligned
 * access: so the same exactness rules hold (precise faults, the budget, hooks
 * and invalidation are the translator's, unchanged). Each block is one
 * module: encoding, compiling and instantiating it costs about 0.1 ms, less
 * than `new Function` (scripts/wasm-probe.ts).
 *
 * What each op compiles to is its definition's wasm form (core/insns.ts
 * `InsnDef.wasm`, beside its JavaScript template); this file is the encoder
 * and the block and dispatcher structure around them. Ops with edge cases wasm
 * traps on (division) or lacks (high multiply) call helper functions of the
 * module, defined here; a wasm block ends before an op without a wasm form.
 *
 * @module
 */

import { Amo, OP_COUNT } from "./decode.ts";
import { INSN_BY_OP, INSNS, Kind, WASM_HELPERS, type WasmHelper } from "./insns.ts";
import { TLB_SIZE } from "./mmu.ts";
import {
  type BlockFn,
  type Codegen,
  type PathInsn,
  type RegionPath,
  staticExits,
  Translator,
  type TranslatorStats,
  WASM_HOT_THRESHOLD,
} from "./translate.ts";
import {
  Body,
  encodeModule,
  F64,
  I32,
  I64,
  preEncode,
  VOID,
  W,
  type WasmFunction,
} from "./wasm.ts";

const TLB_MASK = TLB_SIZE - 1;

// ---------------------------------------------------------------- the memory layout

/** Bytes of memory per hart before RAM: register halves, the block count, the LR reservation, the TLB. */
const HART_AREA = 128 * 1024;
/**
 * Offsets in a hart's area: xh after xl, the count a block retired, the LR
 * reservation (three doubles: the hart's and the blocks' `res`), the TLB tables.
 */
const XH_AT = 128, COUNT_AT = 256, RES_AT = 512, TAGS_AT = 1024;
/**
 * Counters after the count, added to by regions and the dispatcher and taken
 * into the translator's stats after each call from the run loop: jumps
 * inside regions, calls from one block to the next through the dispatcher.
 */
const JUMPS_AT = 260, DISPATCHES_AT = 264;
/** TLB tables of an MMU (4 privileges x 3 access kinds: core/mmu.ts). */
const TLB_TABLES = 12;
const OFFSETS_AT = TAGS_AT + TLB_TABLES * 8 * TLB_SIZE;
/**
 * The dispatch cache after the TLB: per hart, {@linkcode CACHE_SIZE} entries
 * by virtual pc (the pc as a double, then the block's table index).
 */
const CACHE_TAGS_AT = OFFSETS_AT + TLB_TABLES * 4 * TLB_SIZE;
const CACHE_SIZE = 4096;
const CACHE_IDX_AT = CACHE_TAGS_AT + 8 * CACHE_SIZE;
/** Blocks the table holds at most; a block compiled when it is full runs without dispatch. */
const MAX_INDEX = 65536;
/**
 * After the harts' areas: per table index, the RAM offset of the block's
 * start (-1 until it is first entered and once it is dropped), then its
 * length in instructions, then a byte the dispatcher sets when it calls the
 * block (the eviction clock's mark: see {@linkcode dispatcher}).
 */
const INDEX_AREA = 9 * MAX_INDEX;
/** wasm32's limit on a memory. */
const MAX_MEMORY = 2 ** 32;

const T_BLOCK = 0, T_BIN = 1, T_ENTER = 2, T_REGION = 3;
const TYPES: [number[], number[]][] = [
  [[F64, I32, I32, I32, I32, I32, I32], [F64]],
  [[I64, I64], [I64]],
  [[I32, F64, I32, I32, I32, I32, I32, I32, I32, I32], [F64]],
  [[F64, I32, I32, I32, I32, I32, I32, I32], [F64]], // a block's, then the path to enter
];

/** Per op id, the index of the helper function it calls (its wasm form's `helper`), else -1. */
const HELPER_OF: Int8Array = (() => {
  const t = new Int8Array(OP_COUNT).fill(-1);
  for (const d of INSNS) {
    if (d.wasm !== undefined && "helper" in d.wasm) t[d.op] = WASM_HELPERS.indexOf(d.wasm.helper);
  }
  return t;
})();

/** The helpers' bodies (params a = 0, b = 1), in {@linkcode WASM_HELPERS} order. */
function helpers(): WasmFunction[] {
  const mulhu = new Body(); // 64x64 -> high 64 from 32-bit halves
  // locals: 2 alo, 3 ahi, 4 blo, 5 bhi, 6 t, 7 u
  mulhu.get(0).i64(0xffffffff).op(W.i64And).set(2).get(0).i64(32).op(W.i64ShrU).set(3);
  mulhu.get(1).i64(0xffffffff).op(W.i64And).set(4).get(1).i64(32).op(W.i64ShrU).set(5);
  mulhu.get(2).get(4).op(W.i64Mul).set(6);
  mulhu.get(3).get(4).op(W.i64Mul).get(6).i64(32).op(W.i64ShrU).op(W.i64Add).set(7);
  mulhu.get(2).get(5).op(W.i64Mul).get(7).i64(0xffffffff).op(W.i64And).op(W.i64Add).set(6);
  mulhu.get(3).get(5).op(W.i64Mul).get(7).i64(32).op(W.i64ShrU).op(W.i64Add)
    .get(6).i64(32).op(W.i64ShrU).op(W.i64Add);
  /** x - (y < 0 ? z : 0): the signed corrections of the high product. */
  const minusIfNeg = (b: Body, y: number, z: number) =>
    b.get(z).i64(0).get(y).i64(0).op(W.i64LtS, W.select, W.i64Sub);
  const mulh = new Body().get(0).get(1).call(WASM_HELPERS.indexOf("mulhu"));
  minusIfNeg(mulh, 0, 1);
  minusIfNeg(mulh, 1, 0);
  const mulhsu = new Body().get(0).get(1).call(WASM_HELPERS.indexOf("mulhu"));
  minusIfNeg(mulhsu, 0, 1);
  /** b == 0 ? zero : (overflow ? ovf : a op b), 64-bit. */
  const div = (op: number, zero: Body, signedOverflow: Body | null) => {
    const b = new Body().get(1).op(W.i64Eqz, W.if, I64);
    b.append(zero).op(W.else);
    if (signedOverflow !== null) {
      b.get(0).i64(-(2 ** 63)).op(W.i64Eq).get(1).i64(-1).op(W.i64Eq, W.i32And, W.if, I64);
      b.append(signedOverflow);
      b.op(W.else).get(0).get(1).op(op, W.end);
    } else b.get(0).get(1).op(op);
    return b.op(W.end);
  };
  /** The same on the low words, sign-extended. */
  const divw = (op: number, zero: Body, signedOverflow: Body | null) => {
    const b = new Body().get(1).op(W.i32WrapI64, W.i32Eqz, W.if, I64);
    b.append(zero).op(W.else);
    const opw = new Body().get(0).op(W.i32WrapI64).get(1).op(W.i32WrapI64, op, W.i64ExtendI32s);
    if (signedOverflow !== null) {
      b.get(0).op(W.i32WrapI64).i32(-(2 ** 31)).op(W.i32Ne, W.i32Eqz)
        .get(1).op(W.i32WrapI64).i32(-1).op(W.i32Ne, W.i32Eqz, W.i32And, W.if, I64);
      b.append(signedOverflow).op(W.else).append(opw).op(W.end);
    } else b.append(opw);
    return b.op(W.end);
  };
  const a64 = new Body().get(0);
  const a32 = new Body().get(0).op(W.i32WrapI64, W.i64ExtendI32s);
  const ones = new Body().i64(-1);
  const bodies: Record<WasmHelper, Body> = {
    mulh,
    mulhsu,
    mulhu,
    div: div(W.i64DivS, ones, a64),
    divu: div(W.i64DivU, ones, null),
    rem: div(W.i64RemS, a64, null), // i64.rem_s of MIN by -1 is 0 in wasm, as in RISC-V
    remu: div(W.i64RemU, a64, null),
    divw: divw(W.i32DivS, ones, a32),
    divuw: divw(W.i32DivU, ones, null),
    remw: divw(W.i32RemS, a32, null),
    remuw: divw(W.i32RemU, a32, null),
  };
  return WASM_HELPERS.map((name) => ({
    type: T_BIN,
    locals: name === "mulhu" ? [I64, I64, I64, I64, I64, I64] : [],
    body: [bodies[name]],
  }));
}

/** The helper functions, encoded once and copied into each module that calls one. */
const HELPERS: readonly WasmFunction[] = helpers().map(preEncode);

/**
 * A region as a wasm function: (pc: f64, budget: i32, then the byte offsets of
 * the hart's xl, load tags, load offsets, store tags, store offsets, and with
 * several paths the index of the one to enter) -> f64 the pc to continue at,
 * the count at xl + {@linkcode COUNT_AT}. Locals after those eight (the
 * eighth a local with one path): pcv (i64), n, xc (i32), xp, va (i64), slot,
 * jumps (i32), then one i64 per register used. `ramAt`: where RAM starts in
 * the memory.
 *
 * The paths' code follows a `br_table` on the path index inside `loop $top`:
 * a static exit to a path of the region (its own start included) adds the
 * instructions run to n and, if the budget left covers the target's length,
 * sets the index and goes round the loop; else it leaves as any exit does,
 * so a region runs exactly what the blocks it holds would, one by one. Such
 * a jump stays in the virtual page the region was entered in, whose mapping
 * cannot change inside a block (no CSR, fence or trap runs in one), so it
 * needs none of the dispatcher's fetch TLB checks. The region's registers
 * are loaded once at entry and the written ones stored at exit.
 */
function regionFunction(paths: readonly RegionPath[], ramAt: number): WasmFunction {
  const REGS = 2, LT = 3, LO = 4, ST = 5, SO = 6, ID = 7;
  const PCV = 8, N = 9, XC = 10, XP = 11, VA = 12, SLOT = 13, JUMPS = 14;
  const reg = new Map<number, number>();
  const written = new Set<number>();
  const local = (r: number) => {
    let l = reg.get(r);
    if (l === undefined) reg.set(r, l = 15 + reg.size);
    return l;
  };
  const b = new Body();
  const multi = paths.length > 1;
  const ids = new Map(paths.map(({ off }, i) => [off, i]));
  const internal = paths.some((path) => staticExits(path).some((t) => ids.has(t)));
  // depth: labels between the current position and $leave (loop $top is one); set per path.
  let depth = 0;
  const getReg = (r: number) => r === 0 ? b.i64(0) : b.get(local(r));
  const setReg = (r: number) => {
    if (r === 0) return b.op(W.drop);
    written.add(r);
    return b.set(local(r));
  };
  // With several paths pcv is the page's virtual base and a path's pcs are pcv + off + delta.
  let base = 0;
  const pcPlus = (d: number) => base + d === 0 ? b.get(PCV) : b.get(PCV).i64(base + d).op(W.i64Add);
  /** xc = n + count; xp = (value already pushed); leave. */
  const exitWithPushedPc = (count: number) => {
    b.set(XP).get(N);
    if (count !== 0) b.i32(count).op(W.i32Add);
    b.set(XC).br(W.br, depth);
  };
  const exit = (count: number, pcDelta: number) => {
    pcPlus(pcDelta);
    exitWithPushedPc(count);
  };
  /**
   * After `count` instructions of the current path: on at page offset `to`
   * inside the function if a path of the region starts there and the budget
   * left covers it, else leave for pc + `pcDelta`.
   */
  const go = (count: number, pcDelta: number, to: number) => {
    const t = ids.get(to);
    if (t === undefined) return exit(count, pcDelta);
    b.get(1).get(N).i32(count).op(W.i32Add).tee(N).op(W.i32Sub);
    b.i32(paths[t].insns.length).op(W.i32GeS, W.if, VOID);
    if (t !== id) b.i32(t).set(ID);
    b.get(JUMPS).i32(1).op(W.i32Add).set(JUMPS).br(W.br, depth);
    b.op(W.end);
    exit(0, pcDelta);
  };
  // The path being encoded: its index, page offset and length.
  let id = 0, off = 0, length = 0;
  const insnCode = ({ p, imm, delta }: PathInsn, i: number) => {
    const op = p & 0xff;
    const def = INSN_BY_OP[op]!;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    const size = (p & 0x800000) !== 0 ? 4 : 2;
    // The translator ends wasm paths before ops without a wasm form.
    const w = def.wasm;
    if (w === undefined) throw new Error(`wasm jit: no code for op ${op}`);
    if ("value" in w) {
      if (w.value === "none") return;
      if (w.value === "imm") b.i64(imm);
      else pcPlus(delta + imm);
      setReg(rd);
    } else if ("helper" in w) {
      getReg(rs1), getReg(rs2), b.call(HELPER_OF[op]);
      setReg(rd);
    } else if ("bin" in w) {
      getReg(rs1);
      if (w.word) b.op(W.i32WrapI64);
      if (w.src2 === "reg") {
        getReg(rs2);
        if (w.word) b.op(W.i32WrapI64);
      } else if (w.word) b.i32(imm);
      else b.i64(imm);
      b.op(...w.bin);
      if (w.word) b.op(W.i64ExtendI32s);
      setReg(rd);
    } else if ("mem" in w) {
      const load = def.kind === Kind.LOAD;
      getReg(rs1).i64(imm).op(W.i64Add).set(VA);
      // The hart's TLB: the tag of va's page (its base as a double), and the access within that
      // page; a miss or a page crossing leaves first. Misaligned within the page is fine (wasm's
      // accesses are, and the entry's page is contiguous RAM): Linux does millions at boot.
      b.get(VA).i64(12).op(W.i64ShrU, W.i32WrapI64).i32(TLB_MASK).op(W.i32And).tee(SLOT);
      b.i32(3).op(W.i32Shl).get(load ? LT : ST).op(W.i32Add).mem(W.f64Load, 3, 0);
      b.get(VA).i64(-4096).op(W.i64And, W.f64ConvertI64s, W.f64Ne);
      if (def.size > 1) {
        b.get(VA).op(W.i32WrapI64).i32(0xfff).op(W.i32And).i32(4096 - def.size).op(
          W.i32GtS,
          W.i32Or,
        );
      }
      b.op(W.if, VOID);
      depth++;
      exit(i, delta);
      depth--;
      b.op(W.end);
      b.get(SLOT).i32(2).op(W.i32Shl).get(load ? LO : SO).op(W.i32Add).mem(W.i32Load, 2, 0);
      b.get(VA).op(W.i32WrapI64).i32(0xfff).op(W.i32And, W.i32Add);
      if (load) {
        b.mem(w.mem, 0, ramAt);
        setReg(rd);
      } else {
        getReg(rs2);
        b.mem(w.mem, 0, ramAt);
      }
    } else if ("amo" in w) {
      // The address is rs1 alone (imm is funct5); LR goes through the load TLB, the rest the store's.
      const lr = imm === Amo.LR, word = def.size === 4;
      getReg(rs1).set(VA);
      b.get(VA).i64(12).op(W.i64ShrU, W.i32WrapI64).i32(TLB_MASK).op(W.i32And).tee(SLOT);
      b.i32(3).op(W.i32Shl).get(lr ? LT : ST).op(W.i32Add).mem(W.f64Load, 3, 0);
      b.get(VA).i64(-4096).op(W.i64And, W.f64ConvertI64s, W.f64Ne);
      b.get(VA).op(W.i32WrapI64).i32(def.size - 1).op(W.i32And, W.i32Or);
      b.op(W.if, VOID);
      depth++;
      exit(i, delta);
      depth--;
      b.op(W.end);
      // From here SLOT holds the RAM offset of the access, VA the old value (a word sign-extended).
      b.get(SLOT).i32(2).op(W.i32Shl).get(lr ? LO : SO).op(W.i32Add).mem(W.i32Load, 2, 0);
      b.get(VA).op(W.i32WrapI64).i32(0xfff).op(W.i32And, W.i32Add).tee(SLOT);
      b.mem(word ? W.i64Load32s : W.i64Load, word ? 2 : 3, ramAt).set(VA);
      /** Pushes the old value's low (or high) word as a double, as the reservation holds it. */
      const oldWord = (high: boolean) => {
        b.get(VA);
        if (high) b.i64(32).op(W.i64ShrS);
        b.op(W.i32WrapI64, W.f64ConvertI32s);
      };
      /** Pushes rs2 as the AMO sees it: a word's sign-extended. */
      const src = () => {
        getReg(rs2);
        if (word) b.op(W.i32WrapI64, W.i64ExtendI32s);
      };
      const store = word ? W.i64Store32 : W.i64Store, align = word ? 2 : 3;
      if (lr) {
        b.get(REGS).get(SLOT).op(W.f64ConvertI32s).mem(W.f64Store, 3, RES_AT);
        b.get(REGS), oldWord(false), b.mem(W.f64Store, 3, RES_AT + 8);
        b.get(REGS), oldWord(true), b.mem(W.f64Store, 3, RES_AT + 16);
        b.get(VA);
      } else if (imm === Amo.SC) {
        // Succeeds if the reservation is this address and memory still holds what LR read.
        b.get(REGS).mem(W.f64Load, 3, RES_AT).get(SLOT).op(W.f64ConvertI32s, W.f64Eq);
        b.get(REGS).mem(W.f64Load, 3, RES_AT + 8), oldWord(false), b.op(W.f64Eq, W.i32And);
        b.get(REGS).mem(W.f64Load, 3, RES_AT + 16), oldWord(true), b.op(W.f64Eq, W.i32And);
        b.op(W.if, I64).get(SLOT);
        getReg(rs2).mem(store, align, ramAt).i64(0).op(W.else).i64(1).op(W.end);
        b.get(REGS).i32(-1).op(W.f64ConvertI32s).mem(W.f64Store, 3, RES_AT);
      } else {
        const f = w.amo[imm];
        b.get(SLOT);
        if ("swap" in f) src();
        else if ("bin" in f) b.get(VA), src(), b.op(f.bin);
        else b.get(VA), src(), b.get(VA), src(), b.op(f.keepOldIf, W.select);
        b.mem(store, align, ramAt).get(VA);
      }
      setReg(rd);
    } else if ("cmp" in w) {
      getReg(rs1), getReg(rs2), b.op(w.cmp, W.if, VOID);
      depth++;
      go(i + 1, delta + imm, off + delta + imm);
      depth--;
      b.op(W.end);
    } else if (w.target === "rs1+imm") {
      getReg(rs1).i64(imm).op(W.i64Add).i64(-2).op(W.i64And).set(XP);
      if (rd !== 0) pcPlus(delta + size), setReg(rd);
      b.get(N).i32(i + 1).op(W.i32Add).set(XC).br(W.br, depth);
    } else {
      if (rd !== 0) pcPlus(delta + size), setReg(rd);
      if (i < length - 1) return; // followed: the next instruction is its target
      go(i + 1, delta + imm, off + delta + imm);
    }
  };
  // The paths after a br_table on the index: path i's code follows the end of the
  // (i+1)th innermost of the blocks it opens.
  if (multi) {
    for (let i = 0; i < paths.length; i++) b.op(W.block, VOID);
    b.get(ID).byte(W.brTable).uleb(paths.length - 1);
    for (let i = 0; i < paths.length; i++) b.uleb(i);
  }
  paths.forEach((path, i) => {
    if (multi) b.op(W.end);
    id = i, off = path.off, length = path.insns.length;
    base = multi ? off : 0;
    depth = (multi ? paths.length - 1 - id : 0) + (internal ? 1 : 0);
    path.insns.forEach(insnCode);
    const last = path.insns[length - 1];
    if (INSN_BY_OP[last.p & 0xff]!.kind !== Kind.JUMP) {
      const end = last.delta + ((last.p & 0x800000) !== 0 ? 4 : 2);
      go(length, end, off + end);
    }
  });
  // Prologue: pcv, registers from the hart's halves; the body inside block $leave (and loop
  // $top); epilogue: written registers back, the count, the pc.
  const pro = new Body().get(0).op(W.i64TruncF64s);
  if (multi) pro.i64(-4096).op(W.i64And);
  pro.set(PCV);
  for (const [r, l] of reg) {
    pro.get(REGS).mem(W.i64Load32u, 2, 4 * r);
    pro.get(REGS).mem(W.i64Load32s, 2, XH_AT + 4 * r).i64(32).op(W.i64Shl, W.i64Or).set(l);
  }
  pro.op(W.block, VOID);
  if (internal) pro.op(W.loop, VOID);
  const epi = new Body();
  if (internal) epi.op(W.end);
  epi.op(W.end);
  for (const r of written) {
    const l = reg.get(r)!;
    epi.get(REGS).get(l).mem(W.i64Store32, 2, 4 * r);
    epi.get(REGS).get(l).i64(32).op(W.i64ShrU).mem(W.i64Store32, 2, XH_AT + 4 * r);
  }
  epi.get(REGS).get(XC).mem(W.i32Store, 2, COUNT_AT);
  if (internal) {
    epi.get(REGS).get(REGS).mem(W.i32Load, 2, JUMPS_AT).get(JUMPS).op(W.i32Add);
    epi.mem(W.i32Store, 2, JUMPS_AT);
  }
  epi.get(XP).op(W.f64ConvertI64s);
  return {
    type: multi ? T_REGION : T_BLOCK,
    locals: [
      ...(multi ? [] : [I32]),
      I64,
      I32,
      I32,
      I64,
      I64,
      I32,
      I32,
      ...[...reg.keys()].map(() => I64),
    ],
    body: [pro, b, epi],
  };
}

/**
 * The dispatcher, (table index, pc, budget, then a block's five offsets, the
 * fetch TLB's tags and offsets) -> pc, the count at xl + {@linkcode COUNT_AT}:
 * enters the block, then, while the block ran at least one instruction, looks
 * the next pc up in the hart's dispatch cache and calls that block through the
 * table, returning on a miss or a block longer than the budget left, as the
 * run loop would (it checks nothing else between blocks). An entry counts only
 * if the fetch TLB maps the pc to the RAM offset its block was entered at, so
 * address-space switches (a TLB flush) and dropped blocks (offset -1) miss. The
 * first call records the entered block in the cache.
 *
 * Before each call it sets the block's byte in the index area, which the
 * eviction clock reads (and clears) through `Block.used`: the blocks it calls
 * never return to the run loop that marks pages entered. One `i32.store8` at
 * a constant offset from the table index the call needs anyway: a mark per
 * page would need the RAM offset (computed only for chained calls) shifted,
 * and a store in each block's code would grow every module and run on every
 * jump inside a region too.
 */
function dispatcher(physAt: number): WasmFunction {
  const IDX = 0, PC = 1, BUDGET = 2, XL = 3, FT = 8, FO = 9;
  const PCV = 10, TOTAL = 11, K = 12, FSLOT = 13, PHYS = 14, CSLOT = 15, CALLS = 16;
  const lenAt = physAt + 4 * MAX_INDEX, calledAt = physAt + 8 * MAX_INDEX;
  const b = new Body();
  /** pcv, fslot from pc; pushes "the fetch TLB misses". */
  const fetchMiss = () => {
    b.get(PC).op(W.i64TruncF64s).tee(PCV).i64(12).op(W.i64ShrU, W.i32WrapI64).i32(TLB_MASK)
      .op(W.i32And).set(FSLOT);
    b.get(FSLOT).i32(3).op(W.i32Shl).get(FT).op(W.i32Add).mem(W.f64Load, 3, 0);
    b.get(PCV).i64(-4096).op(W.i64And, W.f64ConvertI64s, W.f64Ne);
  };
  const phys = () => {
    b.get(FSLOT).i32(2).op(W.i32Shl).get(FO).op(W.i32Add).mem(W.i32Load, 2, 0);
    b.get(PCV).op(W.i32WrapI64).i32(0xfff).op(W.i32And, W.i32Add).set(PHYS);
    b.get(PCV).op(W.i32WrapI64).i32(1).op(W.i32ShrU).i32(CACHE_SIZE - 1).op(W.i32And).set(CSLOT);
  };
  fetchMiss();
  b.op(W.i32Eqz, W.if, VOID);
  phys();
  b.get(IDX).i32(2).op(W.i32Shl).get(PHYS).mem(W.i32Store, 2, physAt);
  b.get(CSLOT).i32(3).op(W.i32Shl).get(XL).op(W.i32Add).get(PC).mem(W.f64Store, 3, CACHE_TAGS_AT);
  b.get(CSLOT).i32(2).op(W.i32Shl).get(XL).op(W.i32Add).get(IDX).mem(W.i32Store, 2, CACHE_IDX_AT);
  b.op(W.end);
  b.op(W.block, VOID, W.loop, VOID);
  b.get(IDX).i32(1).mem(W.i32Store8, 0, calledAt);
  for (let l = PC; l <= 7; l++) b.get(l);
  b.get(IDX).byte(W.callIndirect).uleb(T_BLOCK).byte(0).set(PC);
  b.get(XL).mem(W.i32Load, 2, COUNT_AT).tee(K).get(TOTAL).op(W.i32Add).set(TOTAL);
  b.get(K).op(W.i32Eqz).br(W.brIf, 1);
  b.get(BUDGET).get(K).op(W.i32Sub).set(BUDGET);
  fetchMiss();
  b.br(W.brIf, 1);
  phys();
  b.get(CSLOT).i32(3).op(W.i32Shl).get(XL).op(W.i32Add).mem(W.f64Load, 3, CACHE_TAGS_AT);
  b.get(PC).op(W.f64Ne).br(W.brIf, 1);
  b.get(CSLOT).i32(2).op(W.i32Shl).get(XL).op(W.i32Add).mem(W.i32Load, 2, CACHE_IDX_AT).set(IDX);
  b.get(IDX).i32(2).op(W.i32Shl).mem(W.i32Load, 2, physAt).get(PHYS).op(W.i32Ne).br(W.brIf, 1);
  b.get(IDX).i32(2).op(W.i32Shl).mem(W.i32Load, 2, lenAt).get(BUDGET).op(W.i32GtS).br(W.brIf, 1);
  b.get(CALLS).i32(1).op(W.i32Add).set(CALLS);
  b.br(W.br, 0);
  b.op(W.end, W.end);
  b.get(XL).get(TOTAL).mem(W.i32Store, 2, COUNT_AT);
  b.get(XL).get(XL).mem(W.i32Load, 2, DISPATCHES_AT).get(CALLS).op(W.i32Add);
  b.mem(W.i32Store, 2, DISPATCHES_AT);
  b.get(PC);
  return { type: T_ENTER, locals: [I64, I32, I32, I32, I32, I32, I32], body: [b], export: "enter" };
}

/** What a hart needs to run wasm blocks: its state as views of the memory, and its translator. */
export interface WasmHart {
  /** Low halves of x0..x31. */
  xl: Int32Array;
  /** High halves of x0..x31. */
  xh: Int32Array;
  /** The LR reservation (core/insns.ts atomicSem's `res`), which blocks' LR and SC keep too. */
  res: Float64Array;
  /** The MMU's TLB tables (core/mmu.ts Mmu.tags and Mmu.offsets). */
  tlb: { tags: Float64Array[]; offsets: Int32Array[] };
  /** Compiles a block's path to wasm for this hart. */
  codegen: Codegen;
  /** A translator that compiles blocks with {@linkcode codegen}. */
  translator: Translator;
}

/**
 * Bytes the cache counts for a block, as measured (RSS and V8's heap after
 * 4,096 blocks of 8 and of 32 instructions): each block's own module and
 * instance cost some 5 KiB whatever its size (3.3 KiB of them V8 heap
 * objects), and its code about 6 bytes per byte of wasm.
 */
const BLOCK_BYTES = 5 * 1024;
/** See {@linkcode BLOCK_BYTES}. */
const BYTES_PER_WASM_BYTE = 6;
/**
 * Bytes the cache counts for each path of a region after its first (its
 * export, entry function, table entry and closure), as measured: V8's heap
 * after 2,048 regions of 8 and of 32 paths grew 0.58 KiB a path beyond
 * regions of one; the region's code counts by its size as a block's does.
 */
const PATH_BYTES = 600;

/** One machine's memory for wasm blocks: RAM and every hart's registers and TLB. */
export class WasmJit {
  /** The memory (never grown: views of it stay valid). */
  readonly memory: WebAssembly.Memory;
  /** Where RAM starts in it. */
  readonly ramAt: number;
  /** The blocks the dispatcher calls, by index. */
  readonly #table: WebAssembly.Table;
  /** Per index: the RAM offset a block was entered at, its length, its mark (views of the index area). */
  readonly #phys: Int32Array;
  readonly #lengths: Int32Array;
  readonly #called: Uint8Array;
  /** Indexes of dropped blocks, reused first; then the next never used. */
  readonly #free: number[] = [];
  #nextIndex = 0;
  readonly #enter: WasmEnterFn;

  /**
   * @param ramSize RAM in bytes (the bus's).
   * @param harts number of harts.
   * @throws RangeError if RAM and the harts' areas exceed wasm32's 4 GiB.
   */
  constructor(readonly ramSize: number, readonly harts: number) {
    const indexAt = harts * HART_AREA;
    this.ramAt = indexAt + INDEX_AREA;
    const pages = Math.ceil((this.ramAt + ramSize) / 65536);
    if (pages * 65536 > MAX_MEMORY) {
      throw new RangeError(
        `wasm blocks: ${ramSize} bytes of RAM do not fit in a wasm memory (4 GiB less ${this.ramAt})`,
      );
    }
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.#phys = new Int32Array(this.memory.buffer, indexAt, MAX_INDEX).fill(-1);
    this.#lengths = new Int32Array(this.memory.buffer, indexAt + 4 * MAX_INDEX, MAX_INDEX);
    this.#called = new Uint8Array(this.memory.buffer, indexAt + 8 * MAX_INDEX, MAX_INDEX);
    this.#table = new WebAssembly.Table({ element: "anyfunc", initial: 0, maximum: MAX_INDEX });
    const wire = encodeModule(TYPES, [dispatcher(indexAt)], true);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wire), {
      e: { m: this.memory, t: this.#table },
    });
    this.#enter = inst.exports.enter as WasmEnterFn;
  }

  /** A table index for a block of `length` instructions, or -1 if the table is full. */
  #index(f: WasmBlockFn, length: number): number {
    let i = this.#free.pop();
    if (i === undefined) {
      if (this.#nextIndex === MAX_INDEX) return -1;
      i = this.#nextIndex++;
      if (i >= this.#table.length) this.#table.grow(Math.min(MAX_INDEX - i, Math.max(1024, i)));
    }
    this.#table.set(i, f);
    this.#lengths[i] = length;
    this.#called[i] = 0; // a reused index's last block's mark is not this one's
    return i;
  }

  /** Whether the dispatcher called index `i`'s block since the last look, clearing the mark. */
  #ranSince(i: number): boolean {
    const ran = this.#called[i] !== 0;
    this.#called[i] = 0;
    return ran;
  }

  /** Table indexes held by live blocks (each released when its block's page is dropped or evicted). */
  get indexed(): number {
    return this.#nextIndex - this.#free.length;
  }

  /** Drops a block's index: cache entries naming it miss from now on. */
  #release(i: number): void {
    this.#phys[i] = -1;
    this.#table.set(i, null);
    this.#free.push(i);
  }

  /** RAM as core/bus.ts's backing. */
  get ramBacking(): { buffer: ArrayBuffer; byteOffset: number } {
    return { buffer: this.memory.buffer as ArrayBuffer, byteOffset: this.ramAt };
  }

  /** Hart `id`'s registers, TLB and translator. */
  hart(id: number): WasmHart {
    if (!(id >= 0 && id < this.harts)) throw new RangeError(`wasm jit: no hart ${id}`);
    const buf = this.memory.buffer, base = id * HART_AREA;
    const tags: Float64Array[] = [], offsets: Int32Array[] = [];
    for (let i = 0; i < TLB_TABLES; i++) {
      tags.push(new Float64Array(buf, base + TAGS_AT + 8 * TLB_SIZE * i, TLB_SIZE));
      offsets.push(new Int32Array(buf, base + OFFSETS_AT + 4 * TLB_SIZE * i, TLB_SIZE));
    }
    const count = new Int32Array(buf, base + COUNT_AT, 3); // the count, jumps, dispatches
    const codegen: Codegen = (insns) => {
      const { blocks: [{ fn, free, used }], bytes } = this.#region(
        [{ off: 0, insns }],
        count,
        stats,
      );
      return { fn, bytes, free, used };
    };
    const translator: Translator = new Translator(
      codegen,
      (def) => def.wasm !== undefined,
      (paths) => this.#region(paths, count, stats),
    );
    const stats: TranslatorStats = translator.stats;
    translator.threshold = WASM_HOT_THRESHOLD;
    return {
      xl: new Int32Array(buf, base, 32),
      xh: new Int32Array(buf, base + XH_AT, 32),
      res: new Float64Array(buf, base + RES_AT, 3),
      tlb: { tags, offsets },
      codegen,
      translator,
    };
  }

  /**
   * Compiles one module holding a function per path (exported as b0, b1, ...)
   * and instantiates it; returns the functions and the module's size.
   */
  compile(paths: readonly (readonly PathInsn[])[]): { fns: WasmBlockFn[]; bytes: number } {
    // The helpers come first (their calls are by index), and only into modules that call them.
    const calls = paths.some((path) => path.some(({ p }) => HELPER_OF[p & 0xff] >= 0));
    const fns = [
      ...(calls ? HELPERS : []),
      ...paths.map((insns, i) => ({
        ...regionFunction([{ off: 0, insns }], this.ramAt),
        export: `b${i}`,
      })),
    ];
    const wire = encodeModule(TYPES, fns);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wire), { e: { m: this.memory } });
    return { fns: paths.map((_, i) => inst.exports[`b${i}`] as WasmBlockFn), bytes: wire.length };
  }

  /**
   * A region of the translator's: one module holding its function and, with
   * several paths, an entry per path that calls it with the path's index;
   * each entry wrapped in the JavaScript blocks' signature. Entered through
   * the dispatcher when it has a table index and the run loop passes the
   * fetch TLB, so that the blocks after it run without coming back here.
   */
  #region(
    paths: readonly RegionPath[],
    count: Int32Array,
    stats: TranslatorStats,
  ): { blocks: { fn: BlockFn; free?: () => void; used?: () => boolean }[]; bytes: number } {
    // The helpers come first (their calls are by index), and only into modules that call them.
    const helpers = paths.some(({ insns }) => insns.some(({ p }) => HELPER_OF[p & 0xff] >= 0))
      ? HELPERS
      : [];
    const region = regionFunction(paths, this.ramAt);
    const entries: WasmFunction[] = paths.length === 1 ? [{ ...region, export: "b0" }] : [
      region,
      ...paths.map((_, i) => {
        const call = new Body();
        for (let l = 0; l < 7; l++) call.get(l);
        call.i32(i).call(helpers.length);
        return { type: T_BLOCK, locals: [], body: [call], export: `b${i}` };
      }),
    ];
    const wire = encodeModule(TYPES, [...helpers, ...entries]);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(wire), { e: { m: this.memory } });
    const enter = this.#enter;
    const blocks = paths.map(({ insns }, i) => {
      const f = inst.exports[`b${i}`] as WasmBlockFn;
      const idx = this.#index(f, insns.length);
      // The arrays come from the hart's views of the memory: their offsets are what wasm reads.
      const fn: BlockFn = (
        xl,
        _xh,
        pc,
        budget,
        _ram,
        _ram16,
        _ram32,
        lt,
        lo,
        st,
        so,
        io,
        _res,
        ft,
        fo,
      ) => {
        const to = ft != null && idx >= 0
          ? enter(
            idx,
            pc,
            budget,
            xl.byteOffset,
            lt.byteOffset,
            lo.byteOffset,
            st.byteOffset,
            so.byteOffset,
            ft.byteOffset,
            fo!.byteOffset,
          )
          : f(
            pc,
            budget,
            xl.byteOffset,
            lt.byteOffset,
            lo.byteOffset,
            st.byteOffset,
            so.byteOffset,
          );
        io[0] = count[0];
        if ((count[1] | count[2]) !== 0) {
          stats.regionJumps += count[1], stats.dispatches += count[2];
          count[1] = count[2] = 0;
        }
        return to;
      };
      return idx < 0
        ? { fn }
        : { fn, free: () => this.#release(idx), used: () => this.#ranSince(idx) };
    });
    return {
      blocks,
      bytes: BLOCK_BYTES + (paths.length - 1) * PATH_BYTES + wire.length * BYTES_PER_WASM_BYTE,
    };
  }
}

/** A block's wasm function: pc, budget, byte offsets of xl and of the four data TLB arrays; returns the next pc. */
export type WasmBlockFn = (
  pc: number,
  budget: number,
  xl: number,
  ltags: number,
  loffs: number,
  stags: number,
  soffs: number,
) => number;

/** The dispatcher: a block's table index, then its arguments, then the fetch TLB's tags and offsets. */
type WasmEnterFn = (
  idx: number,
  pc: number,
  budget: number,
  xl: number,
  ltags: number,
  loffs: number,
  stags: number,
  soffs: number,
  ftags: number,
  foffs: number,
) => number;
