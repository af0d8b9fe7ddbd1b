/**
 * The integer instructions as data: for each op, what kind of instruction it is
 * (register result, branch, jump, load, store), its access size, and its
 * semantics as a small JavaScript source template over int32 hi/lo halves.
 *
 * The templates are the single definition that code generators expand: the
 * block translator (core/translate.ts) inlines them with registers in locals,
 * the interpreter's hot loop (core/interp.ts) is generated from them, and
 * {@linkcode compileAluStep}, {@linkcode compileBranchTest} and
 * {@linkcode compileLoadResult} build its one-instruction cold path, so every
 * tier runs the same source.
 *
 * Template placeholders: `$al`/`$ah` and `$bl`/`$bh` are the low/high words
 * of rs1 and rs2, `$dl`/`$dh` the words of rd (assigned last, after every
 * read, so rd may equal a source), `$imm` the sign-extended immediate and `$ih`
 * its high word, `$pc` and `$next` this instruction's address and the next's.
 * A template may be a function of the immediate, for shifts by a constant.
 * Temporaries are declared in a block, so templates can be inlined one after
 * another. Atomics' templates (funct5 in the immediate) work on RAM: `ram32`,
 * the access's byte offset `a`, and `res`, the LR reservation (RAM byte
 * offset or -1, the low and high word LR read).
 *
 * @module
 */

import { Amo, Op, OP_COUNT } from "./decode.ts";
import { div32, div64, mul128, out } from "./int64.ts";
import { W } from "./wasm.ts";

/** What an instruction does, as far as a code generator cares. */
export const Kind = {
  /** Writes rd from registers, the immediate and pc; never traps. */
  ALU: 1,
  /** Conditional branch: the template is the condition; ends a block. */
  BRANCH: 2,
  /** jal/jalr: writes rd = next, the template is the target; ends a block. */
  JUMP: 3,
  /** Load of `size` bytes; the template sign- or zero-extends `v` (low word) and `w` (high). */
  LOAD: 4,
  /** Store of `size` bytes of rs2. */
  STORE: 5,
  /**
   * LR, SC or AMO of `size` bytes on the aligned RAM word at byte offset `a`
   * (see {@linkcode atomicSem}): the template is a function of funct5 (the
   * decoded immediate), so it is always given a number.
   */
  ATOMIC: 6,
} as const;

/** One instruction's definition. */
export interface InsnDef {
  /** Op id (core/decode.ts). */
  op: number;
  /** {@linkcode Kind}. */
  kind: number;
  /** Bytes accessed (loads and stores), else 0. */
  size: number;
  /**
   * Semantics (see the module comment), or a function of the immediate giving
   * them: given a number it may specialise on it; given `"$imm"` (the
   * interpreter's, whose immediate is known only at run time) it must not.
   */
  sem: string | ((imm: number | string) => string);
  /** How wasm blocks compile it (core/wasm-jit.ts); absent: a wasm block ends before it. */
  wasm?: WasmForm;
}

/**
 * An op's WebAssembly form, the same semantics as its template on 64-bit
 * registers held as i64 (core/wasm-jit.ts encodes it):
 * - `bin`: rd = rs1 `bin` (rs2 or the immediate, by `src2`), on i64 or, with
 *   `word`, on the low words as i32 and sign-extended;
 * - `helper`: rd = a helper function of the module on rs1 and rs2 (division,
 *   whose edge cases wasm traps on, and the high multiplies wasm lacks);
 * - `value`: rd = the immediate (lui), pc + immediate (auipc), or nothing (nop);
 * - `cmp`: the branch's i64 comparison of rs1 with rs2;
 * - `target`: a jump's target, pc + immediate (jal) or rs1 + immediate with bit 0 cleared (jalr);
 * - `mem`: a load's or store's i64 memory opcode (encoded with alignment hint 0: RISC-V
 *   loads and stores may be misaligned, and blocks make those within a page);
 * - `amo`: an atomic's value for each AMO funct5 ({@linkcode AmoForm}); LR and
 *   SC, which keep the reservation as {@linkcode atomicSem} does, and the access
 *   (the size's load and store) are the encoder's.
 */
export type WasmForm =
  | { readonly bin: readonly number[]; readonly src2: "reg" | "imm"; readonly word?: true }
  | { readonly helper: WasmHelper }
  | { readonly value: "imm" | "pc+imm" | "none" }
  | { readonly cmp: number }
  | { readonly target: "pc+imm" | "rs1+imm" }
  | { readonly mem: number }
  | { readonly amo: Readonly<Record<number, AmoForm>> };

/**
 * What an AMO stores, from the old value and rs2 as i64 (a word's both
 * sign-extended, as {@linkcode atomicSem} has them): rs2 (`swap`), old `bin`
 * rs2, or the old value if `old keepOldIf rs2` holds, else rs2 (min, max).
 */
export type AmoForm =
  | { readonly swap: true }
  | { readonly bin: number }
  | { readonly keepOldIf: number };

/** Every AMO's {@linkcode AmoForm} by funct5: the same values as the templates' AMO_VALUES. */
const AMO_WASM: Readonly<Record<number, AmoForm>> = {
  [Amo.SWAP]: { swap: true },
  [Amo.ADD]: { bin: W.i64Add },
  [Amo.XOR]: { bin: W.i64Xor },
  [Amo.OR]: { bin: W.i64Or },
  [Amo.AND]: { bin: W.i64And },
  [Amo.MIN]: { keepOldIf: W.i64LtS },
  [Amo.MAX]: { keepOldIf: W.i64GeS },
  [Amo.MINU]: { keepOldIf: W.i64LtU },
  [Amo.MAXU]: { keepOldIf: W.i64GeU },
};

/** The helper functions wasm blocks call (core/wasm-jit.ts defines them), in the order a module holds them. */
export const WASM_HELPERS = [
  "mulh",
  "mulhsu",
  "mulhu",
  "div",
  "divu",
  "rem",
  "remu",
  "divw",
  "divuw",
  "remw",
  "remuw",
] as const;
/** A helper's name. */
export type WasmHelper = typeof WASM_HELPERS[number];

const TWO32 = "4294967296";

/** Template: rd = a 64-bit signed value held in a double (pc arithmetic, jumps' link). */
export const fromNumber = (v: string): string =>
  `{ const v = ${v}; $dl = v | 0; $dh = Math.floor(v / ${TWO32}) | 0; }`;
/** rd = sign-extended 32-bit result. */
const word = (v: string) => `{ const v = ${v}; $dl = v; $dh = v >> 31; }`;
/** a < b on (lo, hi) pairs, signed or unsigned high words. */
const less = (ah: string, al: string, bh: string, bl: string, unsigned: boolean) =>
  unsigned
    ? `((${ah} >>> 0) < (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) < (${bl} >>> 0)))`
    : `(${ah} < ${bh} || (${ah} === ${bh} && (${al} >>> 0) < (${bl} >>> 0)))`;

/**
 * 64-bit shifts: by a constant amount (a number, specialised at generation
 * time: the translator's case) or by an expression of 0..63 evaluated at run
 * time (rs2's low six bits, or the interpreter's immediate).
 */
function shift(kind: "sll" | "srl" | "sra", amount: number | string): string {
  const sra = kind === "sra";
  const hiOut = (s: number | string) => sra ? `h >> ${s}` : `(h >>> ${s}) | 0`;
  if (typeof amount === "number") {
    const sh = amount;
    if (sh === 0) return "$dl = $al; $dh = $ah;";
    if (kind === "sll") {
      return sh < 32
        ? `{ const l = $al, h = $ah; $dh = (h << ${sh}) | (l >>> ${32 - sh}); $dl = l << ${sh}; }`
        : `{ const l = $al; $dh = l << ${sh - 32}; $dl = 0; }`;
    }
    return sh < 32
      ? `{ const l = $al, h = $ah; $dl = (l >>> ${sh}) | (h << ${32 - sh}); $dh = ${hiOut(sh)}; }`
      : `{ const h = $ah; $dl = ${hiOut(sh - 32)}; $dh = ${sra ? "h >> 31" : "0"}; }`;
  }
  const body = kind === "sll"
    ? "if (s < 32) { $dh = (h << s) | (l >>> (32 - s)); $dl = l << s; } " +
      "else { $dh = l << (s - 32); $dl = 0; }"
    : `if (s < 32) { $dl = (l >>> s) | (h << (32 - s)); $dh = ${hiOut("s")}; } ` +
      `else { $dl = ${hiOut("(s - 32)")}; $dh = ${sra ? "h >> 31" : "0"}; }`;
  return `{ const s = ${amount}, l = $al, h = $ah; if (s === 0) { $dl = l; $dh = h; } else ${body} }`;
}

const ALU = Kind.ALU;

/** The definitions, one per integer op the translator handles. */
export const INSNS: readonly InsnDef[] = [
  {
    op: Op.ADDI,
    kind: ALU,
    size: 0,
    sem: "{ const s = ($al >>> 0) + ($imm >>> 0); " +
      "$dh = ($ah + $ih + (s > 0xffffffff ? 1 : 0)) | 0; $dl = s | 0; }",
    wasm: { bin: [W.i64Add], src2: "imm" },
  },
  {
    op: Op.ADD,
    kind: ALU,
    size: 0,
    sem: "{ const s = ($al >>> 0) + ($bl >>> 0); " +
      "$dh = ($ah + $bh + (s > 0xffffffff ? 1 : 0)) | 0; $dl = s | 0; }",
    wasm: { bin: [W.i64Add], src2: "reg" },
  },
  {
    op: Op.SUB,
    kind: ALU,
    size: 0,
    sem: "{ const a = $al >>> 0, b = $bl >>> 0; $dh = ($ah - $bh - (a < b ? 1 : 0)) | 0; " +
      "$dl = (a - b) | 0; }",
    wasm: { bin: [W.i64Sub], src2: "reg" },
  },
  { op: Op.LUI, kind: ALU, size: 0, sem: "$dl = $imm; $dh = $ih;", wasm: { value: "imm" } },
  { op: Op.AUIPC, kind: ALU, size: 0, sem: fromNumber("$pc + $imm"), wasm: { value: "pc+imm" } },
  {
    op: Op.SLTI,
    kind: ALU,
    size: 0,
    sem: `{ const v = ${less("$ah", "$al", "$ih", "$imm", false)} ? 1 : 0; $dl = v; $dh = 0; }`,
    wasm: { bin: [W.i64LtS, W.i64ExtendI32u], src2: "imm" },
  },
  {
    op: Op.SLTIU,
    kind: ALU,
    size: 0,
    sem: `{ const v = ${less("$ah", "$al", "$ih", "$imm", true)} ? 1 : 0; $dl = v; $dh = 0; }`,
    wasm: { bin: [W.i64LtU, W.i64ExtendI32u], src2: "imm" },
  },
  {
    op: Op.XORI,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah ^ $ih; $dl = $al ^ $imm;",
    wasm: { bin: [W.i64Xor], src2: "imm" },
  },
  {
    op: Op.ORI,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah | $ih; $dl = $al | $imm;",
    wasm: { bin: [W.i64Or], src2: "imm" },
  },
  {
    op: Op.ANDI,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah & $ih; $dl = $al & $imm;",
    wasm: { bin: [W.i64And], src2: "imm" },
  },
  {
    op: Op.SLLI,
    kind: ALU,
    size: 0,
    sem: (imm) => shift("sll", imm),
    wasm: { bin: [W.i64Shl], src2: "imm" },
  },
  {
    op: Op.SRLI,
    kind: ALU,
    size: 0,
    sem: (imm) => shift("srl", imm),
    wasm: { bin: [W.i64ShrU], src2: "imm" },
  },
  {
    op: Op.SRAI,
    kind: ALU,
    size: 0,
    sem: (imm) => shift("sra", imm),
    wasm: { bin: [W.i64ShrS], src2: "imm" },
  },
  {
    op: Op.SLL,
    kind: ALU,
    size: 0,
    sem: shift("sll", "$bl & 63"),
    wasm: { bin: [W.i64Shl], src2: "reg" },
  },
  {
    op: Op.SRL,
    kind: ALU,
    size: 0,
    sem: shift("srl", "$bl & 63"),
    wasm: { bin: [W.i64ShrU], src2: "reg" },
  },
  {
    op: Op.SRA,
    kind: ALU,
    size: 0,
    sem: shift("sra", "$bl & 63"),
    wasm: { bin: [W.i64ShrS], src2: "reg" },
  },
  {
    op: Op.SLT,
    kind: ALU,
    size: 0,
    sem: `{ const v = ${less("$ah", "$al", "$bh", "$bl", false)} ? 1 : 0; $dl = v; $dh = 0; }`,
    wasm: { bin: [W.i64LtS, W.i64ExtendI32u], src2: "reg" },
  },
  {
    op: Op.SLTU,
    kind: ALU,
    size: 0,
    sem: `{ const v = ${less("$ah", "$al", "$bh", "$bl", true)} ? 1 : 0; $dl = v; $dh = 0; }`,
    wasm: { bin: [W.i64LtU, W.i64ExtendI32u], src2: "reg" },
  },
  {
    op: Op.XOR,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah ^ $bh; $dl = $al ^ $bl;",
    wasm: { bin: [W.i64Xor], src2: "reg" },
  },
  {
    op: Op.OR,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah | $bh; $dl = $al | $bl;",
    wasm: { bin: [W.i64Or], src2: "reg" },
  },
  {
    op: Op.AND,
    kind: ALU,
    size: 0,
    sem: "$dh = $ah & $bh; $dl = $al & $bl;",
    wasm: { bin: [W.i64And], src2: "reg" },
  },
  {
    op: Op.ADDIW,
    kind: ALU,
    size: 0,
    sem: word("($al + $imm) | 0"),
    wasm: { bin: [W.i32Add], src2: "imm", word: true },
  },
  {
    op: Op.SLLIW,
    kind: ALU,
    size: 0,
    sem: word("$al << $imm"),
    wasm: { bin: [W.i32Shl], src2: "imm", word: true },
  },
  {
    op: Op.SRLIW,
    kind: ALU,
    size: 0,
    sem: word("($al >>> $imm) | 0"),
    wasm: { bin: [W.i32ShrU], src2: "imm", word: true },
  },
  {
    op: Op.SRAIW,
    kind: ALU,
    size: 0,
    sem: word("$al >> $imm"),
    wasm: { bin: [W.i32ShrS], src2: "imm", word: true },
  },
  {
    op: Op.ADDW,
    kind: ALU,
    size: 0,
    sem: word("($al + $bl) | 0"),
    wasm: { bin: [W.i32Add], src2: "reg", word: true },
  },
  {
    op: Op.SUBW,
    kind: ALU,
    size: 0,
    sem: word("($al - $bl) | 0"),
    wasm: { bin: [W.i32Sub], src2: "reg", word: true },
  },
  {
    op: Op.SLLW,
    kind: ALU,
    size: 0,
    sem: word("$al << ($bl & 31)"),
    wasm: { bin: [W.i32Shl], src2: "reg", word: true },
  },
  {
    op: Op.SRLW,
    kind: ALU,
    size: 0,
    sem: word("($al >>> ($bl & 31)) | 0"),
    wasm: { bin: [W.i32ShrU], src2: "reg", word: true },
  },
  {
    op: Op.SRAW,
    kind: ALU,
    size: 0,
    sem: word("$al >> ($bl & 31)"),
    wasm: { bin: [W.i32ShrS], src2: "reg", word: true },
  },
  {
    // Low 64 bits of the product: al*bl in full, plus the cross terms shifted by 32.
    op: Op.MUL,
    kind: ALU,
    size: 0,
    sem: "{ const al = $al, bl = $bl, ua = al >>> 0; " +
      "const p0 = ua * (bl & 0xffff), p1 = ua * (bl >>> 16); " +
      "const c = Math.floor((p1 + Math.floor(p0 / 65536)) / 65536); " +
      "$dh = (c + Math.imul(al, $bh) + Math.imul($ah, bl)) | 0; $dl = Math.imul(al, bl); }",
    wasm: { bin: [W.i64Mul], src2: "reg" },
  },
  {
    op: Op.MULW,
    kind: ALU,
    size: 0,
    sem: word("Math.imul($al, $bl)"),
    wasm: { bin: [W.i32Mul], src2: "reg", word: true },
  },
  ...([
    [Op.MULH, true, true, "mulh"],
    [Op.MULHSU, true, false, "mulhsu"],
    [Op.MULHU, false, false, "mulhu"],
  ] as const).map(([op, a, b, helper]) => ({
    op,
    kind: ALU,
    size: 0,
    sem: `mul128($al, $ah, $bl, $bh, ${a}, ${b}); $dl = out[2]; $dh = out[3];`,
    wasm: { helper },
  })),
  ...([
    [Op.DIV, true, false, "div"],
    [Op.DIVU, false, false, "divu"],
    [Op.REM, true, true, "rem"],
    [Op.REMU, false, true, "remu"],
  ] as const).map(([op, signed, rem, helper]) => ({
    op,
    kind: ALU,
    size: 0,
    sem: `div64($al, $ah, $bl, $bh, ${signed}, ${rem}); $dl = out[0]; $dh = out[1];`,
    wasm: { helper },
  })),
  ...([
    [Op.DIVW, true, false, "divw"],
    [Op.DIVUW, false, false, "divuw"],
    [Op.REMW, true, true, "remw"],
    [Op.REMUW, false, true, "remuw"],
  ] as const).map(([op, signed, rem, helper]) => ({
    op,
    kind: ALU,
    size: 0,
    sem: word(`div32($al, $bl, ${signed}, ${rem})`),
    wasm: { helper },
  })),
  { op: Op.NOP, kind: ALU, size: 0, sem: "", wasm: { value: "none" } },
  { op: Op.JAL, kind: Kind.JUMP, size: 0, sem: "$pc + $imm", wasm: { target: "pc+imm" } },
  // The target is built by the generator.
  { op: Op.JALR, kind: Kind.JUMP, size: 0, sem: "$al", wasm: { target: "rs1+imm" } },
  {
    op: Op.BEQ,
    kind: Kind.BRANCH,
    size: 0,
    sem: "$al === $bl && $ah === $bh",
    wasm: { cmp: W.i64Eq },
  },
  {
    op: Op.BNE,
    kind: Kind.BRANCH,
    size: 0,
    sem: "$al !== $bl || $ah !== $bh",
    wasm: { cmp: W.i64Ne },
  },
  {
    op: Op.BLT,
    kind: Kind.BRANCH,
    size: 0,
    sem: less("$ah", "$al", "$bh", "$bl", false),
    wasm: { cmp: W.i64LtS },
  },
  {
    op: Op.BGE,
    kind: Kind.BRANCH,
    size: 0,
    sem: `!${less("$ah", "$al", "$bh", "$bl", false)}`,
    wasm: { cmp: W.i64GeS },
  },
  {
    op: Op.BLTU,
    kind: Kind.BRANCH,
    size: 0,
    sem: less("$ah", "$al", "$bh", "$bl", true),
    wasm: { cmp: W.i64LtU },
  },
  {
    op: Op.BGEU,
    kind: Kind.BRANCH,
    size: 0,
    sem: `!${less("$ah", "$al", "$bh", "$bl", true)}`,
    wasm: { cmp: W.i64GeU },
  },
  {
    op: Op.LB,
    kind: Kind.LOAD,
    size: 1,
    sem: "$dl = (v << 24) >> 24; $dh = $dl >> 31;",
    wasm: { mem: W.i64Load8s },
  },
  {
    op: Op.LH,
    kind: Kind.LOAD,
    size: 2,
    sem: "$dl = (v << 16) >> 16; $dh = $dl >> 31;",
    wasm: { mem: W.i64Load16s },
  },
  {
    op: Op.LW,
    kind: Kind.LOAD,
    size: 4,
    sem: "$dl = v; $dh = v >> 31;",
    wasm: { mem: W.i64Load32s },
  },
  {
    op: Op.LD,
    kind: Kind.LOAD,
    size: 8,
    sem: "$dl = v; $dh = w;",
    wasm: { mem: W.i64Load },
  },
  {
    op: Op.LBU,
    kind: Kind.LOAD,
    size: 1,
    sem: "$dl = v & 0xff; $dh = 0;",
    wasm: { mem: W.i64Load8u },
  },
  {
    op: Op.LHU,
    kind: Kind.LOAD,
    size: 2,
    sem: "$dl = v & 0xffff; $dh = 0;",
    wasm: { mem: W.i64Load16u },
  },
  {
    op: Op.LWU,
    kind: Kind.LOAD,
    size: 4,
    sem: "$dl = v; $dh = 0;",
    wasm: { mem: W.i64Load32u },
  },
  { op: Op.SB, kind: Kind.STORE, size: 1, sem: "", wasm: { mem: W.i64Store8 } },
  { op: Op.SH, kind: Kind.STORE, size: 2, sem: "", wasm: { mem: W.i64Store16 } },
  { op: Op.SW, kind: Kind.STORE, size: 4, sem: "", wasm: { mem: W.i64Store32 } },
  { op: Op.SD, kind: Kind.STORE, size: 8, sem: "", wasm: { mem: W.i64Store } },
  {
    op: Op.AMO_W,
    kind: Kind.ATOMIC,
    size: 4,
    sem: (f5) => atomicSem(4, funct5(f5)),
    wasm: { amo: AMO_WASM },
  },
  {
    op: Op.AMO_D,
    kind: Kind.ATOMIC,
    size: 8,
    sem: (f5) => atomicSem(8, funct5(f5)),
    wasm: { amo: AMO_WASM },
  },
];

/** Definitions indexed by op id (undefined: not an integer op the generators handle). */
export const INSN_BY_OP: readonly (InsnDef | undefined)[] = (() => {
  const t: (InsnDef | undefined)[] = new Array(OP_COUNT).fill(undefined);
  for (const d of INSNS) t[d.op] = d;
  return t;
})();

/** Access size in bytes of each load and store op, indexed by op id (0 for other ops). */
export const ACCESS_SIZE: Uint8Array = (() => {
  const t = new Uint8Array(OP_COUNT);
  for (const d of INSNS) t[d.op] = d.size;
  return t;
})();

/**
 * The RAM access of a load of `size` bytes at byte offset `a`, as source that
 * declares the template's `v` (low word, unextended) and `w` (high word).
 */
export function loadAccess(size: number): string {
  return size === 8
    ? "const v = ram32[a >> 2], w = ram32[(a >> 2) + 1];"
    : size === 4
    ? "const v = ram32[a >> 2], w = 0;"
    : size === 2
    ? "const v = ram16[a >> 1], w = 0;"
    : "const v = ram[a], w = 0;";
}

/** The RAM access of a store of `size` bytes of (`lo`, `hi`) at byte offset `a`, as source. */
export function storeAccess(size: number, lo: string, hi: string): string {
  return size === 8
    ? `ram32[a >> 2] = ${lo}; ram32[(a >> 2) + 1] = ${hi};`
    : size === 4
    ? `ram32[a >> 2] = ${lo};`
    : size === 2
    ? `ram16[a >> 1] = ${lo};`
    : `ram[a] = ${lo};`;
}

/** Names the templates' helper calls resolve to, for generated functions. */
export const TEMPLATE_HELPERS = { mul128, div64, div32, out } as const;

/** The operands a template is expanded with: JavaScript expressions (or assignable names for rd). */
export interface Operands {
  /** rs1 low, high. */
  al: string;
  /** rs1 high. */
  ah: string;
  /** rs2 low. */
  bl: string;
  /** rs2 high. */
  bh: string;
  /** rd low (assignable). */
  dl: string;
  /** rd high (assignable). */
  dh: string;
  /** This instruction's pc. */
  pc: string;
  /** The next instruction's pc. */
  next: string;
}

/**
 * Expands `def`'s template with the given operand expressions. `imm` is the
 * immediate's value (the translator's constant) or an expression naming it at
 * run time (the interpreter's).
 */
export function expand(def: InsnDef, imm: number | string, o: Operands): string {
  const src = typeof def.sem === "string"
    ? def.sem
    : def.sem(typeof imm === "number" ? imm : "$imm");
  const immSrc = `(${imm})`;
  const ihSrc = typeof imm === "number" ? `(${imm >> 31})` : `(${imm} >> 31)`;
  return src.replace(/\$(al|ah|bl|bh|dl|dh|pc|next|imm|ih)\b/g, (_, name: string) => {
    if (name === "imm") return immSrc;
    if (name === "ih") return ihSrc;
    return o[name as keyof Operands];
  });
}

/**
 * One ALU instruction on the register file, generated from the templates: the
 * interpreter's path for ops outside its hot loop (boot ROM code, a
 * breakpoint's instruction, core/interp.ts's cold ops). Writes to x0 are dropped.
 */
export type AluStep = (
  xl: Int32Array,
  xh: Int32Array,
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
  pc: number,
) => void;

/** Builds {@linkcode AluStep} from every {@linkcode Kind.ALU} definition. */
export function compileAluStep(): AluStep {
  const operands: Operands = {
    al: "xl[rs1]",
    ah: "xh[rs1]",
    bl: "xl[rs2]",
    bh: "xh[rs2]",
    dl: "dl",
    dh: "dh",
    pc: "pc",
    next: "next",
  };
  const cases: string[] = [];
  for (const d of INSNS) {
    if (d.kind !== Kind.ALU || d.op === Op.NOP) continue;
    const body = expand(d, "imm", operands);
    cases.push(`case ${d.op}: { ${body} break; }`);
  }
  const src = `return function aluStep(xl, xh, op, rd, rs1, rs2, imm, pc) {
    let dl = 0, dh = 0;
    switch (op) { ${cases.join("\n")} default: return; }
    if (rd !== 0) { xl[rd] = dl; xh[rd] = dh; }
  };`;
  const { mul128, div64, div32, out } = TEMPLATE_HELPERS;
  return new Function("mul128", "div64", "div32", "out", src)(mul128, div64, div32, out);
}

/** Whether a conditional branch is taken, for the interpreter's cold path. */
export type BranchTest = (op: number, al: number, ah: number, bl: number, bh: number) => boolean;

/** Builds {@linkcode BranchTest} from every {@linkcode Kind.BRANCH} definition. */
export function compileBranchTest(): BranchTest {
  const operands: Operands = {
    al: "al",
    ah: "ah",
    bl: "bl",
    bh: "bh",
    dl: "",
    dh: "",
    pc: "",
    next: "",
  };
  const cases = INSNS.filter((d) => d.kind === Kind.BRANCH)
    .map((d) => `case ${d.op}: return ${expand(d, 0, operands)};`);
  return new Function(
    `return function branchTest(op, al, ah, bl, bh) { switch (op) { ${
      cases.join(" ")
    } } return false; };`,
  )();
}

/** Writes a load's result to rd (not x0) from the loaded words `v` (low) and `w` (high), by op. */
export type LoadResult = (
  xl: Int32Array,
  xh: Int32Array,
  op: number,
  rd: number,
  v: number,
  w: number,
) => void;

/** Builds {@linkcode LoadResult} from every {@linkcode Kind.LOAD} definition (the cold path's loads). */
export function compileLoadResult(): LoadResult {
  const operands: Operands = {
    al: "",
    ah: "",
    bl: "",
    bh: "",
    dl: "xl[rd]",
    dh: "xh[rd]",
    pc: "",
    next: "",
  };
  const cases = INSNS.filter((d) => d.kind === Kind.LOAD)
    .map((d) => `case ${d.op}: { ${expand(d, 0, operands)} return; }`);
  return new Function(
    `return function loadResult(xl, xh, op, rd, v, w) { if (rd === 0) return; switch (op) { ${
      cases.join(" ")
    } } };`,
  )();
}

/**
 * What an AMO writes, from the old memory value (`$al`, `$ah`) and rs2 (`$bl`,
 * `$bh`) into (`$dl`, `$dh`): the ALU definitions of add, xor, or, and, slt
 * and sltu. Words come sign-extended to 64 bits, which orders them as 32-bit
 * signed and unsigned compares do, so the 64-bit definitions serve both sizes.
 */
const AMO_VALUES: ReadonlyMap<number, string> = (() => {
  const o: Operands = {
    al: "$al",
    ah: "$ah",
    bl: "$bl",
    bh: "$bh",
    dl: "$dl",
    dh: "$dh",
    pc: "",
    next: "",
  };
  const alu = (op: number) => expand(INSN_BY_OP[op]!, 0, o);
  // min/max: the set-less-than definition decides which operand is kept.
  const pick = (op: number, keepOldIfLess: boolean) =>
    `{ let lt = 0, z = 0; ${expand(INSN_BY_OP[op]!, 0, { ...o, dl: "lt", dh: "z" })} ` +
    `const old = lt === ${keepOldIfLess ? 1 : 0}; ` +
    "$dl = old ? $al : $bl; $dh = old ? $ah : $bh; }";
  return new Map([
    [Amo.SWAP, "$dl = $bl; $dh = $bh;"],
    [Amo.ADD, alu(Op.ADD)],
    [Amo.XOR, alu(Op.XOR)],
    [Amo.OR, alu(Op.OR)],
    [Amo.AND, alu(Op.AND)],
    [Amo.MIN, pick(Op.SLT, true)],
    [Amo.MAX, pick(Op.SLT, false)],
    [Amo.MINU, pick(Op.SLTU, true)],
    [Amo.MAXU, pick(Op.SLTU, false)],
  ]);
})();

/** An atomic's funct5: generators always know it (they specialise on it, never pass `"$imm"`). */
function funct5(imm: number | string): number {
  if (typeof imm !== "number") throw new Error("an atomic's template needs its funct5");
  return imm;
}

/**
 * The template of an atomic of `size` bytes with funct5 `f5` on the RAM word
 * at byte offset `a` (aligned, RAM, writable: the caller checked, or left the
 * block). The old value goes to rd, sign-extended from a word. SC succeeds,
 * as in QEMU, if the reservation is for this address and memory still holds
 * the value LR read (a compare-and-swap, which the spec permits), and always
 * gives up the reservation.
 */
export function atomicSem(size: 4 | 8, f5: number): string {
  const old = "const ol = ram32[a >> 2], oh = " +
    (size === 8 ? "ram32[(a >> 2) + 1];" : "ol >> 31;");
  const write = (lo: string, hi: string) =>
    `ram32[a >> 2] = ${lo};` + (size === 8 ? ` ram32[(a >> 2) + 1] = ${hi};` : "");
  if (f5 === Amo.LR) {
    return `{ ${old} res[0] = a; res[1] = ol; res[2] = oh; $dl = ol; $dh = oh; }`;
  }
  if (f5 === Amo.SC) {
    return `{ ${old} const ok = res[0] === a && ol === res[1] && oh === res[2]; res[0] = -1;` +
      ` if (ok) { ${write("$bl", "$bh")} } $dl = ok ? 0 : 1; $dh = 0; }`;
  }
  const value = AMO_VALUES.get(f5)!.replace(
    /\$(al|ah|bl|bh|dl|dh)\b/g,
    (_, n: string) =>
      ({ al: "ol", ah: "oh", bl: "bl", bh: "bh", dl: "nl", dh: "nh" } as Record<string, string>)[n],
  );
  const bh = size === 8 ? "$bh" : "$bl >> 31";
  return `{ ${old} const bl = $bl, bh = ${bh}; let nl = 0, nh = 0; ${value} ` +
    `${write("nl", "nh")} $dl = ol; $dh = oh; }`;
}

/**
 * One atomic on RAM for the interpreter, generated from the same templates as
 * the translator's: after the hart's checks (alignment, translation, triggers,
 * watchpoints, RAM), runs op/funct5 at RAM byte offset `a` and writes rd (not
 * x0).
 */
export type AtomicStep = (
  xl: Int32Array,
  xh: Int32Array,
  op: number,
  f5: number,
  rd: number,
  rs2: number,
  ram32: Int32Array,
  a: number,
  res: Float64Array,
) => void;

/** Builds {@linkcode AtomicStep} from every {@linkcode Kind.ATOMIC} definition and funct5. */
export function compileAtomicStep(): AtomicStep {
  const o: Operands = {
    al: "",
    ah: "",
    bl: "xl[rs2]",
    bh: "xh[rs2]",
    dl: "dl",
    dh: "dh",
    pc: "",
    next: "",
  };
  const cases: string[] = [];
  for (const d of INSNS) {
    if (d.kind !== Kind.ATOMIC) continue;
    const f5s = Object.values(Amo).map((f5) => `case ${f5}: { ${expand(d, f5, o)} break; }`);
    cases.push(`case ${d.op}: switch (f5) { ${f5s.join(" ")} } break;`);
  }
  return new Function(
    `return function atomicStep(xl, xh, op, f5, rd, rs2, ram32, a, res) {
    let dl = 0, dh = 0;
    switch (op) { ${cases.join("\n")} }
    if (rd !== 0) { xl[rd] = dl; xh[rd] = dh; }
  };`,
  )();
}
