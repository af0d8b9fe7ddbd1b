/**
 * Probe for issue 11's question: would WebAssembly blocks beat the JavaScript
 * blocks of core/translate.ts? Measures, does not integrate anything.
 *
 * It runs guests/bench/build/cpu.elf on the machine (interpreter) into its main
 * loop, then replays the next `--insns` instructions from that state with
 * blocks only, on one of two tiers with the same block shapes and the same
 * run-loop shape (a page's block array, entered while the budget covers it):
 *
 *   js    core/translate.ts's own blocks (`Translator.visit`, threshold 1):
 *         registers in two Int32Arrays, RAM and the data TLB as typed arrays;
 *   wasm  the same paths emitted as WebAssembly by the encoder below: native
 *         i64 registers in locals, loaded from and written back to an i64
 *         register file in a WebAssembly.Memory, guest RAM in the same memory,
 *         every load and store through a TLB check in wasm (tag, alignment),
 *         leaving the block before the access on a miss as the JS blocks do.
 *
 * Both tiers start from the same state; the probe checks that they end with the
 * same registers, pc, RAM and count, and that every block has the same length.
 * It prints MIPS over the replay (with and without compile time), and the cost
 * of compiling and instantiating one module of N blocks for several N (a
 * Linux boot compiles 14-40 k blocks).
 *
 * ```sh
 * deno run -A scripts/wasm-probe.ts                    # both tiers in turn, then compile costs
 * deno run -A scripts/wasm-probe.ts --tier wasm        # one tier (pair whole processes of each)
 * deno run -A scripts/wasm-probe.ts --tier wasm --batch  # wasm blocks compiled as one module first
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeAt, type Decoded, Op } from "../core/decode.ts";
import { INSN_BY_OP, Kind } from "../core/insns.ts";
import { TLB_SIZE } from "../core/mmu.ts";
import { MAX_BLOCK, Translator } from "../core/translate.ts";
import { VirtMachine } from "../devices/virt.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PAGE = 4096;
const TLB_MASK = TLB_SIZE - 1;
/** Guest RAM the replay keeps (cpu.elf's code, data and stack are in its first 100 KB). */
const REPLAY_RAM = 1 << 20;
const RAM_PA = 0x8000_0000;

// ---------------------------------------------------------------- the wasm encoder

/** A growable byte buffer with the encodings wasm uses. */
class Bytes {
  buf: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  len = 0;
  byte(b: number): this {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
    return this;
  }
  /** Unsigned LEB128. */
  uleb(v: number): this {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of a safe integer (i32 and i64 constants). */
  sleb(v: number): this {
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }
  append(other: Bytes): this {
    for (let i = 0; i < other.len; i++) this.byte(other.buf[i]);
    return this;
  }
  /** A length-prefixed string (names). */
  name(s: string): this {
    this.uleb(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }
  /** `other` prefixed with its length in bytes (sections, function bodies). */
  sized(other: Bytes): this {
    return this.uleb(other.len).append(other);
  }
}

/** The opcodes the blocks use (WebAssembly core spec, section 5.4). */
const W = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  ret: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  i64Load8s: 0x30,
  i64Load8u: 0x31,
  i64Load16s: 0x32,
  i64Load16u: 0x33,
  i64Load32s: 0x34,
  i64Load32u: 0x35,
  i32Store: 0x36,
  i64Store: 0x37,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32GeS: 0x4e,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32DivU: 0x6e,
  i32RemS: 0x6f,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32s: 0xac,
  i64ExtendI32u: 0xad,
  i64TruncF64s: 0xb0,
  f64ConvertI64s: 0xb9,
} as const;
const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, VOID = 0x40;

/** A function body under construction. */
class Body extends Bytes {
  op(...ops: number[]): this {
    for (let i = 0; i < ops.length; i++) this.byte(ops[i]);
    return this;
  }
  i32(v: number): this {
    return this.byte(W.i32Const).sleb(v);
  }
  i64(v: number): this {
    return this.byte(W.i64Const).sleb(v);
  }
  get(l: number): this {
    return this.byte(W.localGet).uleb(l);
  }
  set(l: number): this {
    return this.byte(W.localSet).uleb(l);
  }
  tee(l: number): this {
    return this.byte(W.localTee).uleb(l);
  }
  /** A memory access with alignment hint `align` (log2) and a constant offset. */
  mem(op: number, align: number, offset: number): this {
    return this.byte(op).byte(align).uleb(offset);
  }
  br(op: number, depth: number): this {
    return this.byte(op).uleb(depth);
  }
  call(f: number): this {
    return this.byte(W.call).uleb(f);
  }
}

/** One function of a module: its type index, extra locals (by type) and body (prologue, code, epilogue). */
interface WasmFunction {
  type: number;
  locals: number[];
  body: Bytes[];
  export?: string;
}

/** Encodes a module importing memory `e.m` with the given function types and functions. */
function encodeModule(
  types: [number[], number[]][],
  fns: WasmFunction[],
): Uint8Array<ArrayBuffer> {
  const out = new Body().op(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const t = new Body().uleb(types.length);
  for (const [p, r] of types) t.byte(0x60).uleb(p.length).op(...p).uleb(r.length).op(...r);
  out.byte(1).sized(t);
  const imp = new Bytes().uleb(1).name("e").name("m").byte(0x02).byte(0x00).byte(0x00); // memory, min 0
  out.byte(2).sized(imp);
  const f = new Bytes().uleb(fns.length);
  for (const fn of fns) f.uleb(fn.type);
  out.byte(3).sized(f);
  const ex = new Bytes();
  let exports = 0;
  fns.forEach((fn, i) => {
    if (fn.export !== undefined) ex.name(fn.export).byte(0x00).uleb(i), exports++;
  });
  out.byte(7).sized(new Bytes().uleb(exports).append(ex));
  const code = new Bytes().uleb(fns.length);
  const body = new Bytes();
  for (const fn of fns) {
    body.len = 0;
    body.uleb(fn.locals.length);
    for (const ty of fn.locals) body.byte(1).byte(ty); // one entry per local: simple, a few bytes more
    for (const part of fn.body) body.append(part);
    body.byte(W.end);
    code.sized(body);
  }
  out.byte(10).sized(code);
  return out.buf.slice(0, out.len);
}

// ---------------------------------------------------------------- wasm memory layout

/** The register file: x0..x31 as i64. */
const REGS = 0;
/** io: the instructions the last block retired (i32). */
const IO = 256;
/** Load TLB tags (i64 virtual page base) and RAM addresses in this memory (i32). */
const LTAGS = 1024, LOFFS = LTAGS + 8 * TLB_SIZE;
const STAGS = LOFFS + 4 * TLB_SIZE, SOFFS = STAGS + 8 * TLB_SIZE;
/** Guest RAM in the wasm memory (64 KiB aligned). */
const RAM_AT = 65536;

// ---------------------------------------------------------------- helpers inside every module

const T_BLOCK = 0, T_BIN = 1;
const TYPES: [number[], number[]][] = [[[F64, I32], [F64]], [[I64, I64], [I64]]];

/** Helper functions (i64, i64) -> i64 by op: the ops with a case wasm traps on or lacks. */
const HELPER_OPS: readonly number[] = [
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
];

/** The helpers' bodies (params a = 0, b = 1), in HELPER_OPS order; mulhu is index 2. */
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
  const mulh = new Body().get(0).get(1).call(2);
  minusIfNeg(mulh, 0, 1);
  minusIfNeg(mulh, 1, 0);
  const mulhsu = new Body().get(0).get(1).call(2);
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
  const bodies = [
    mulh,
    mulhsu,
    mulhu,
    div(W.i64DivS, ones, a64),
    div(W.i64DivU, ones, null),
    div(W.i64RemS, a64, null), // i64.rem_s of MIN by -1 is 0 in wasm, as in RISC-V
    div(W.i64RemU, a64, null),
    divw(W.i32DivS, ones, a32),
    divw(W.i32DivU, ones, null),
    divw(W.i32RemS, a32, null),
    divw(W.i32RemU, a32, null),
  ];
  return bodies.map((b, i) => ({
    type: T_BIN,
    locals: i === 2 ? [I64, I64, I64, I64, I64, I64] : [],
    body: [b],
  }));
}

// ---------------------------------------------------------------- blocks

/** One instruction of a block's path: decoded word, immediate, byte offset from the start. */
interface PathInsn {
  p: number;
  imm: number;
  delta: number;
}

/**
 * The block path at page offset `off`, by the rules of Translator's #compile
 * (one path through the page, jal followed within it, ends at jalr, at an op
 * without a definition, at the page end, at a repeat or at MAX_BLOCK).
 */
function blockPath(ram16: Uint16Array, ramOff: number, off: number): PathInsn[] {
  const insns: PathInsn[] = [];
  const seen = new Set<number>();
  const d: Decoded = { packed: 0, imm: 0 };
  let o = off;
  while (insns.length < MAX_BLOCK && o < PAGE && !seen.has(o)) {
    seen.add(o);
    const lo16 = ram16[(ramOff + o) >> 1];
    if ((lo16 & 3) === 3 && o === PAGE - 2) break;
    decodeAt(lo16, ram16[(ramOff + o + 2) >> 1], d);
    const p = d.packed, imm = d.imm;
    if (INSN_BY_OP[p & 0xff] === undefined) break;
    insns.push({ p, imm, delta: o - off });
    const op = p & 0xff;
    if (op === Op.JALR) break;
    if (op === Op.JAL) {
      const t = o + imm;
      if (t === off || t < 0 || t >= PAGE || seen.has(t)) break;
      o = t;
      continue;
    }
    o += (p & 0x800000) !== 0 ? 4 : 2;
  }
  return insns;
}

/** ALU ops as wasm: operand sources and the op(s) that combine them. */
const ALU_BIN: Record<number, [src2: "reg" | "imm", ops: number[], word?: boolean]> = {
  [Op.ADDI]: ["imm", [W.i64Add]],
  [Op.ADD]: ["reg", [W.i64Add]],
  [Op.SUB]: ["reg", [W.i64Sub]],
  [Op.SLTI]: ["imm", [W.i64LtS, W.i64ExtendI32u]],
  [Op.SLTIU]: ["imm", [W.i64LtU, W.i64ExtendI32u]],
  [Op.XORI]: ["imm", [W.i64Xor]],
  [Op.ORI]: ["imm", [W.i64Or]],
  [Op.ANDI]: ["imm", [W.i64And]],
  [Op.SLLI]: ["imm", [W.i64Shl]],
  [Op.SRLI]: ["imm", [W.i64ShrU]],
  [Op.SRAI]: ["imm", [W.i64ShrS]],
  [Op.SLL]: ["reg", [W.i64Shl]], // wasm masks i64 shift counts to 6 bits, as RV64 does
  [Op.SRL]: ["reg", [W.i64ShrU]],
  [Op.SRA]: ["reg", [W.i64ShrS]],
  [Op.SLT]: ["reg", [W.i64LtS, W.i64ExtendI32u]],
  [Op.SLTU]: ["reg", [W.i64LtU, W.i64ExtendI32u]],
  [Op.XOR]: ["reg", [W.i64Xor]],
  [Op.OR]: ["reg", [W.i64Or]],
  [Op.AND]: ["reg", [W.i64And]],
  [Op.MUL]: ["reg", [W.i64Mul]],
  [Op.ADDIW]: ["imm", [W.i32Add], true],
  [Op.SLLIW]: ["imm", [W.i32Shl], true],
  [Op.SRLIW]: ["imm", [W.i32ShrU], true],
  [Op.SRAIW]: ["imm", [W.i32ShrS], true],
  [Op.ADDW]: ["reg", [W.i32Add], true],
  [Op.SUBW]: ["reg", [W.i32Sub], true],
  [Op.SLLW]: ["reg", [W.i32Shl], true],
  [Op.SRLW]: ["reg", [W.i32ShrU], true],
  [Op.SRAW]: ["reg", [W.i32ShrS], true],
  [Op.MULW]: ["reg", [W.i32Mul], true],
};
const BRANCH: Record<number, number> = {
  [Op.BEQ]: W.i64Eq,
  [Op.BNE]: W.i64Ne,
  [Op.BLT]: W.i64LtS,
  [Op.BGE]: W.i64GeS,
  [Op.BLTU]: W.i64LtU,
  [Op.BGEU]: W.i64GeU,
};
const LOAD: Record<number, [op: number, align: number]> = {
  [Op.LB]: [W.i64Load8s, 0],
  [Op.LBU]: [W.i64Load8u, 0],
  [Op.LH]: [W.i64Load16s, 1],
  [Op.LHU]: [W.i64Load16u, 1],
  [Op.LW]: [W.i64Load32s, 2],
  [Op.LWU]: [W.i64Load32u, 2],
  [Op.LD]: [W.i64Load, 3],
};
const STORE: Record<number, [op: number, align: number]> = {
  [Op.SB]: [W.i64Store8, 0],
  [Op.SH]: [W.i64Store16, 1],
  [Op.SW]: [W.i64Store32, 2],
  [Op.SD]: [W.i64Store, 3],
};

/**
 * A block as a wasm function (pc: f64, budget: i32) -> f64 next pc, the count
 * in memory at IO. Locals: 0 pc, 1 budget, 2 pcv (i64), 3 n, 4 xc (i32),
 * 5 xp, 6 va (i64), 7 slot (i32), then one i64 per register used.
 */
function blockFunction(insns: PathInsn[], helperBase: number): WasmFunction {
  const PCV = 2, N = 3, XC = 4, XP = 5, VA = 6, SLOT = 7;
  const reg = new Map<number, number>();
  const written = new Set<number>();
  const local = (r: number) => {
    let l = reg.get(r);
    if (l === undefined) reg.set(r, l = 8 + reg.size);
    return l;
  };
  const b = new Body();
  const length = insns.length;
  const toStart = (p: number, imm: number, delta: number) =>
    (INSN_BY_OP[p & 0xff]!.kind === Kind.BRANCH || (p & 0xff) === Op.JAL) && delta + imm === 0;
  const loops = insns.some(({ p, imm, delta }) => toStart(p, imm, delta));
  // depth: labels between the current position and $leave (loop $top is one).
  let depth = loops ? 1 : 0;
  const getReg = (r: number) => r === 0 ? b.i64(0) : b.get(local(r));
  const setReg = (r: number) => {
    if (r === 0) return b.op(W.drop);
    written.add(r);
    return b.set(local(r));
  };
  const pcPlus = (d: number) => d === 0 ? b.get(PCV) : b.get(PCV).i64(d).op(W.i64Add);
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
  /** Another pass if the budget covers one, else leave at the start (inside an if). */
  const again = (i: number) => {
    b.get(N).i32(i + 1).op(W.i32Add).set(N);
    b.get(1).get(N).op(W.i32Sub).i32(length).op(W.i32GeS).br(W.brIf, depth - 1);
    b.get(PCV);
    b.set(XP).get(N).set(XC).br(W.br, depth);
  };
  insns.forEach(({ p, imm, delta }, i) => {
    const op = p & 0xff;
    const def = INSN_BY_OP[op]!;
    const rd = (p >> 8) & 31, rs1 = (p >> 13) & 31, rs2 = (p >> 18) & 31;
    const size = (p & 0x800000) !== 0 ? 4 : 2;
    switch (def.kind) {
      case Kind.ALU: {
        if (op === Op.NOP) break;
        if (op === Op.LUI) b.i64(imm);
        else if (op === Op.AUIPC) pcPlus(delta + imm);
        else if (HELPER_OPS.includes(op)) {
          getReg(rs1), getReg(rs2), b.call(helperBase + HELPER_OPS.indexOf(op));
        } else {
          const [src2, ops, word] = ALU_BIN[op];
          getReg(rs1);
          if (word) b.op(W.i32WrapI64);
          if (src2 === "reg") {
            getReg(rs2);
            if (word) b.op(W.i32WrapI64);
          } else if (word) b.i32(imm);
          else b.i64(imm);
          b.op(...ops);
          if (word) b.op(W.i64ExtendI32s);
        }
        setReg(rd);
        break;
      }
      case Kind.LOAD:
      case Kind.STORE: {
        const load = def.kind === Kind.LOAD;
        const [wop, align] = load ? LOAD[op] : STORE[op];
        getReg(rs1).i64(imm).op(W.i64Add).set(VA);
        // TLB: tag (i64 page base) and alignment; a miss leaves before the access.
        b.get(VA).i64(12).op(W.i64ShrU, W.i32WrapI64).i32(TLB_MASK).op(W.i32And).tee(SLOT);
        b.i32(3).op(W.i32Shl).mem(W.i64Load, 3, load ? LTAGS : STAGS);
        b.get(VA).i64(-4096).op(W.i64And, W.i64Ne);
        if (def.size > 1) b.get(VA).op(W.i32WrapI64).i32(def.size - 1).op(W.i32And, W.i32Or);
        b.op(W.if, VOID);
        depth++;
        exit(i, delta);
        depth--;
        b.op(W.end);
        b.get(SLOT).i32(2).op(W.i32Shl).mem(W.i32Load, 2, load ? LOFFS : SOFFS);
        b.get(VA).op(W.i32WrapI64).i32(0xfff).op(W.i32And, W.i32Add);
        if (load) {
          b.mem(wop, align, 0);
          setReg(rd);
        } else {
          getReg(rs2);
          b.mem(wop, align, 0);
        }
        break;
      }
      case Kind.BRANCH: {
        getReg(rs1), getReg(rs2), b.op(BRANCH[op], W.if, VOID);
        depth++;
        if (toStart(p, imm, delta)) again(i);
        else exit(i + 1, delta + imm);
        depth--;
        b.op(W.end);
        break;
      }
      case Kind.JUMP: {
        const last = i === length - 1;
        if (op === Op.JALR) {
          getReg(rs1).i64(imm).op(W.i64Add).i64(-2).op(W.i64And).set(XP);
          if (rd !== 0) pcPlus(delta + size), setReg(rd);
          b.get(N).i32(i + 1).op(W.i32Add).set(XC).br(W.br, depth);
          break;
        }
        if (rd !== 0) pcPlus(delta + size), setReg(rd);
        if (!last) break; // followed: the next instruction is its target
        if (toStart(p, imm, delta)) again(i);
        else exit(i + 1, delta + imm);
        break;
      }
    }
  });
  const last = insns[length - 1];
  if (INSN_BY_OP[last.p & 0xff]!.kind !== Kind.JUMP) {
    exit(length, last.delta + ((last.p & 0x800000) !== 0 ? 4 : 2));
  }
  // Prologue: pcv, registers; the body inside block $leave (and loop $top); epilogue.
  const pro = new Body().get(0).op(W.i64TruncF64s).set(PCV);
  for (const [r, l] of reg) pro.i32(0).mem(W.i64Load, 3, REGS + 8 * r).set(l);
  pro.op(W.block, VOID);
  if (loops) pro.op(W.loop, VOID);
  const epi = new Body();
  if (loops) epi.op(W.end);
  epi.op(W.end);
  for (const r of written) epi.i32(0).get(reg.get(r)!).mem(W.i64Store, 3, REGS + 8 * r);
  epi.i32(0).get(XC).mem(W.i32Store, 2, IO);
  epi.get(XP).op(W.f64ConvertI64s);
  return {
    type: T_BLOCK,
    locals: [I64, I32, I32, I64, I64, I32, ...[...reg.keys()].map(() => I64)],
    body: [pro, b, epi],
  };
}

/** A compiled wasm block: the exported function and its static length. */
interface WasmBlock {
  fn: (pc: number, budget: number) => number;
  length: number;
}

/** Compiles one module holding `paths` as functions b0..bN-1 (after the helpers) and instantiates it. */
function compileModule(
  memory: WebAssembly.Memory,
  paths: PathInsn[][],
): { blocks: WasmBlock[]; bytes: number } {
  const fns = [...helpers(), ...paths.map((p, i) => ({ ...blockFunction(p, 0), export: `b${i}` }))];
  const bytes = encodeModule(TYPES, fns);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { m: memory } });
  const blocks = paths.map((p, i) => ({
    fn: inst.exports[`b${i}`] as (pc: number, budget: number) => number,
    length: p.length,
  }));
  return { blocks, bytes: bytes.length };
}

// ---------------------------------------------------------------- the replay

/** The state the replay starts from: cpu.elf's registers, pc and RAM after the warm-up. */
interface Start {
  xl: Int32Array;
  xh: Int32Array;
  pc: number;
  ram: Uint8Array;
}

async function startState(warmup: number): Promise<Start> {
  const m = new VirtMachine({
    kernel: { name: "cpu.elf", bytes: Deno.readFileSync(`${ROOT}guests/bench/build/cpu.elf`) },
    isa: "rv64imac",
    clock: "virtual",
    memory: 16 << 20,
    console: () => {},
    jit: false,
  });
  await m.run({ maxInstructions: warmup });
  return {
    xl: m.hart.xl.slice(),
    xh: m.hart.xh.slice(),
    pc: m.hart.pc,
    ram: m.bus.ram.slice(0, REPLAY_RAM),
  };
}

/** What a replay did. */
interface Replay {
  instructions: number;
  ms: number;
  compileMs: number;
  blocks: number;
  pc: number;
  xl: Int32Array;
  xh: Int32Array;
  ram: Uint8Array;
  lengths: Map<number, number>;
}

/** A tier: replays `insns` instructions from the start state, keeping its compiled blocks across calls. */
type Tier = (insns: number) => Replay;

/** The js tier: core/translate.ts's blocks, entered as core/interp.ts enters them. */
function jsTier(s: Start): Tier {
  const buf = new ArrayBuffer(REPLAY_RAM);
  const ram = new Uint8Array(buf), ram16 = new Uint16Array(buf), ram32 = new Int32Array(buf);
  const ltags = new Float64Array(TLB_SIZE), stags = new Float64Array(TLB_SIZE);
  const loffs = new Int32Array(TLB_SIZE), soffs = new Int32Array(TLB_SIZE);
  ltags.fill(-1), stags.fill(-1);
  for (let o = 0; o < REPLAY_RAM; o += PAGE) {
    const slot = ((RAM_PA + o) >>> 12) & TLB_MASK;
    ltags[slot] = stags[slot] = RAM_PA + o;
    loffs[slot] = soffs[slot] = o;
  }
  const jit = new Translator();
  jit.threshold = 1;
  const decoded = new Int32Array(PAGE); // always empty: the translator decodes from RAM
  return (insns) => {
    const xl = s.xl.slice(), xh = s.xh.slice();
    ram.set(s.ram);
    const lengths = new Map<number, number>();
    const compiled = jit.stats.compiled, compileMs = jit.stats.compileMs;
    let pc = s.pc, n = 0;
    const t0 = performance.now();
    while (n < insns) {
      const o = pc & 0xfff, fRam = pc - RAM_PA - o;
      if (fRam < 0 || fRam >= REPLAY_RAM) break;
      const blocks = jit.page(fRam >> 12);
      const b = blocks.blocks[o >> 1] ?? jit.visit(blocks, o, fRam, ram16, decoded);
      if (b === undefined || b.length > insns - n) break;
      lengths.set(pc, b.length);
      const to = b.fn(xl, xh, pc, insns - n, ram, ram16, ram32, ltags, loffs, stags, soffs, jit.io);
      const k = jit.io[0];
      if (k === 0) break;
      pc = to, n += k;
    }
    return {
      instructions: n,
      ms: performance.now() - t0,
      compileMs: jit.stats.compileMs - compileMs,
      blocks: jit.stats.compiled - compiled,
      pc,
      xl,
      xh,
      ram: ram.slice(),
      lengths,
    };
  };
}

/** A wasm memory holding the TLB (every replay page mapped) and the register file's view. */
function wasmMemory(): { memory: WebAssembly.Memory; regs: BigInt64Array } {
  const memory = new WebAssembly.Memory({ initial: (RAM_AT + REPLAY_RAM) / 65536 });
  const dv = new DataView(memory.buffer);
  for (let slot = 0; slot < TLB_SIZE; slot++) {
    dv.setBigInt64(LTAGS + 8 * slot, -1n, true);
    dv.setBigInt64(STAGS + 8 * slot, -1n, true);
  }
  for (let o = 0; o < REPLAY_RAM; o += PAGE) {
    const slot = ((RAM_PA + o) >>> 12) & TLB_MASK;
    dv.setBigInt64(LTAGS + 8 * slot, BigInt(RAM_PA + o), true);
    dv.setBigInt64(STAGS + 8 * slot, BigInt(RAM_PA + o), true);
    dv.setInt32(LOFFS + 4 * slot, RAM_AT + o, true);
    dv.setInt32(SOFFS + 4 * slot, RAM_AT + o, true);
  }
  return { memory, regs: new BigInt64Array(memory.buffer, REGS, 32) };
}

/**
 * The wasm tier: blocks compiled one module each on first visit, or (`batch`:
 * the block starts of `known`) all in one module at the first replay.
 */
function wasmTier(s: Start, known?: Iterable<number>): Tier {
  const { memory, regs } = wasmMemory();
  const io = new Int32Array(memory.buffer, IO, 1);
  const ramView = new Uint8Array(memory.buffer, RAM_AT, REPLAY_RAM);
  const ram16 = new Uint16Array(memory.buffer, RAM_AT, REPLAY_RAM / 2);
  const pages: ((WasmBlock | undefined)[] | undefined)[] = [];
  const pageOf = (fRam: number) => pages[fRam >> 12] ??= new Array(PAGE / 2).fill(undefined);
  let pending = known === undefined ? undefined : [...known];
  return (insns) => {
    for (let r = 0; r < 32; r++) regs[r] = (BigInt(s.xh[r]) << 32n) | BigInt(s.xl[r] >>> 0);
    ramView.set(s.ram);
    const lengths = new Map<number, number>();
    let compileMs = 0, blocks = 0;
    const t0 = performance.now();
    if (pending !== undefined) {
      const starts = pending;
      const paths = starts.map((pc) => blockPath(ram16, (pc - RAM_PA) & ~0xfff, pc & 0xfff));
      compileModule(memory, paths).blocks.forEach((b, i) => {
        const pc = starts[i];
        pageOf((pc - RAM_PA) & ~0xfff)[(pc & 0xfff) >> 1] = b;
      });
      blocks = starts.length;
      compileMs = performance.now() - t0;
      pending = undefined;
    }
    let pc = s.pc, n = 0;
    while (n < insns) {
      const o = pc & 0xfff, fRam = pc - RAM_PA - o;
      if (fRam < 0 || fRam >= REPLAY_RAM) break;
      const page = pageOf(fRam);
      let b = page[o >> 1];
      if (b === undefined) {
        const tc = performance.now();
        const path = blockPath(ram16, fRam, o);
        if (path.length === 0) break;
        b = page[o >> 1] = compileModule(memory, [path]).blocks[0];
        compileMs += performance.now() - tc;
        blocks++;
      }
      if (b.length > insns - n) break;
      lengths.set(pc, b.length);
      const to = b.fn(pc, insns - n);
      const k = io[0];
      if (k === 0) break;
      pc = to, n += k;
    }
    const ms = performance.now() - t0;
    const xl = new Int32Array(32), xh = new Int32Array(32);
    for (let r = 0; r < 32; r++) {
      xl[r] = Number(BigInt.asIntN(32, regs[r]));
      xh[r] = Number(regs[r] >> 32n);
    }
    return { instructions: n, ms, compileMs, blocks, pc, xl, xh, ram: ramView.slice(), lengths };
  };
}

/** Throws unless the two replays ended in the same state with the same blocks. */
function compare(a: Replay, b: Replay): void {
  const diff: string[] = [];
  if (a.instructions !== b.instructions) diff.push(`count ${a.instructions} / ${b.instructions}`);
  if (a.pc !== b.pc) diff.push(`pc ${a.pc.toString(16)} / ${b.pc.toString(16)}`);
  for (let r = 0; r < 32; r++) {
    if (a.xl[r] !== b.xl[r] || a.xh[r] !== b.xh[r]) diff.push(`x${r}`);
  }
  if (a.ram.some((v, i) => v !== b.ram[i])) diff.push("RAM");
  for (const [pc, len] of a.lengths) {
    const other = b.lengths.get(pc);
    if (other !== undefined && other !== len) {
      diff.push(`block ${pc.toString(16)} ${len} / ${other}`);
    }
  }
  if (diff.length !== 0) throw new Error(`wasm-probe: the tiers differ: ${diff.join(", ")}`);
}

/** ms to encode, compile and instantiate one module of `n` blocks (cpu.elf's paths, repeated). */
function moduleCost(s: Start, starts: number[], n: number): {
  encodeMs: number;
  compileMs: number;
  instantiateMs: number;
  firstCallMs: number;
  bytes: number;
} {
  const { memory } = wasmMemory();
  new Uint8Array(memory.buffer, RAM_AT, REPLAY_RAM).set(s.ram);
  const ram16 = new Uint16Array(memory.buffer, RAM_AT, REPLAY_RAM / 2);
  const paths = starts.map((pc) => blockPath(ram16, (pc - RAM_PA) & ~0xfff, pc & 0xfff));
  const chosen = Array.from({ length: n }, (_, i) => paths[i % paths.length]);
  const t0 = performance.now();
  const fns = [
    ...helpers(),
    ...chosen.map((p, i) => ({ ...blockFunction(p, 0), export: `b${i}` })),
  ];
  const bytes = encodeModule(TYPES, fns);
  const t1 = performance.now();
  const mod = new WebAssembly.Module(bytes);
  const t2 = performance.now();
  const inst = new WebAssembly.Instance(mod, { e: { m: memory } });
  const t3 = performance.now();
  // One call each, at an address no TLB entry holds: V8 may compile wasm functions on first call.
  for (let i = 0; i < n; i++) {
    (inst.exports[`b${i}`] as (pc: number, budget: number) => number)(0, 0);
  }
  return {
    encodeMs: t1 - t0,
    compileMs: t2 - t1,
    instantiateMs: t3 - t2,
    firstCallMs: performance.now() - t3,
    bytes: bytes.length,
  };
}

function line(name: string, r: Replay): string {
  const net = r.ms - r.compileMs;
  return `${name.padEnd(16)} ${(r.instructions / r.ms / 1000).toFixed(1).padStart(7)} MIPS` +
    ` (${(r.instructions / net / 1000).toFixed(1)} net of compiling)` +
    `  ${r.instructions} insns in ${r.ms.toFixed(0)} ms; ${r.blocks} blocks compiled in ` +
    `${r.compileMs.toFixed(1)} ms (${(r.compileMs / Math.max(1, r.blocks)).toFixed(3)} ms each)`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      tier: { type: "string" },
      insns: { type: "string", default: "60000000" },
      warmup: { type: "string", default: "2000000" },
      rounds: { type: "string", default: "5" },
      batch: { type: "boolean", default: false },
      costs: { type: "boolean", default: true },
    },
    allowNegative: true,
  });
  const insns = Number(values.insns),
    warmup = Number(values.warmup),
    rounds = Number(values.rounds);
  const s = await startState(warmup);
  const tiers = values.tier === undefined ? ["js", "wasm"] : [values.tier];
  const last = new Map<string, Replay>();
  for (const tier of tiers) {
    if (tier !== "js" && tier !== "wasm") throw new Error(`--tier ${tier}: expected js or wasm`);
    const run = tier === "js"
      ? jsTier(s)
      : wasmTier(s, values.batch ? jsTier(s)(insns).lengths.keys() : undefined);
    const name = tier === "wasm" && values.batch ? "wasm batch" : tier;
    // The first replay compiles; the best later one is the steady state.
    const first = run(insns);
    console.log(line(`${name} first`, first));
    let best: Replay | undefined;
    for (let i = 1; i < rounds; i++) {
      const r = run(insns);
      if (best === undefined || r.ms < best.ms) best = r;
    }
    if (best !== undefined) console.log(line(`${name} best`, best));
    last.set(tier, best ?? first);
  }
  const js = last.get("js"), wasm = last.get("wasm");
  if (js !== undefined && wasm !== undefined) {
    compare(js, wasm);
    console.log(
      `same state after ${js.instructions} instructions; wasm/js ${(js.ms / wasm.ms).toFixed(2)}x`,
    );
  }
  if (values.costs && js !== undefined) {
    const starts = [...js.lengths.keys()];
    for (const n of [1, 16, 256, 4096]) {
      const c = moduleCost(s, starts, n);
      const per = (ms: number) => (ms / n).toFixed(3);
      console.log(
        `module of ${String(n).padStart(4)} blocks (${
          (c.bytes / n).toFixed(0)
        } bytes each), ms per block:` +
          ` encode ${per(c.encodeMs)}, compile ${per(c.compileMs)},` +
          ` instantiate ${per(c.instantiateMs)}, first call ${per(c.firstCallMs)}`,
      );
    }
  }
}
