/**
 * The F and D instructions (OP-FP and the fused multiply-adds) as data, in
 * the style of core/insns.ts: for each, its encoding (match and mask, from the
 * unprivileged spec's RV64F/RV64D listings), whether it takes a rounding mode,
 * whether it writes FP state (mstatus.FS becomes Dirty), and its semantics as
 * a small source template. The decoder's legality check ({@linkcode fpInsn})
 * and the unit's dispatch ({@linkcode compileFpStep}, core/fpu.ts) come from
 * this one table.
 *
 * Template names: `f` the unit (core/fpu.ts Fpu: its arithmetic, with exact
 * fast paths and the soft-float behind them), `rd`, `rs1`, `rs2`, `rs3` the
 * register fields and `rm` the effective rounding mode.
 *
 * Translated blocks end at these instructions (core/translate.ts has no
 * template for them): Debian's Linux runs about 1,600 of them from reset to
 * the busybox shell, out of 1.5 G instructions (README, the block translator).
 *
 * @module
 */

import type { Fpu } from "./fpu.ts";

/** One F/D instruction's definition. */
export interface FpInsnDef {
  /** Mnemonic. */
  name: string;
  /** The encoding's fixed bits (an int32), under {@linkcode FpInsnDef.mask}. */
  match: number;
  /** Which bits are fixed. */
  mask: number;
  /**
   * Takes a rounding mode (funct3): static modes 5 and 6 are illegal at
   * decode, the dynamic mode (7) with an invalid frm at execution.
   */
  rm: boolean;
  /** Writes an f register: FS becomes Dirty (flags alone set it through fcsr). */
  dirty: boolean;
  /** Semantics (see the module comment). */
  sem: string;
}

const OP_FP = 0x53;
/** OP-FP with funct7 (bits 31:25) fixed. */
const F7 = 0xfe00007f | 0;
/** ... and funct3. */
const F7_F3 = 0xfe00707f | 0;
/** ... and rs2 (a sub-opcode there). */
const F7_RS2 = 0xfff0007f | 0;
/** ... and both. */
const F7_RS2_F3 = 0xfff0707f | 0;

/** An OP-FP encoding: funct7, rs2 and funct3 fields. */
const opFp = (f7: number, rs2 = 0, f3 = 0) => (f7 << 25 | rs2 << 20 | f3 << 12 | OP_FP) | 0;

const FMTS = [["s", 0], ["d", 1]] as const;
const INTS = ["w", "wu", "l", "lu"] as const;

/** The definitions. */
export const FP_INSNS: readonly FpInsnDef[] = FMTS.flatMap(([fmt, d]) => {
  const dbl = d === 1;
  const rows: FpInsnDef[] = [];
  const arith = [["fadd", 0x00, 0], ["fsub", 0x04, 1], ["fmul", 0x08, 2], ["fdiv", 0x0c, 3]];
  for (const [name, f7, kind] of arith as [string, number, number][]) {
    rows.push({
      name: `${name}.${fmt}`,
      match: opFp(f7 | d),
      mask: F7,
      rm: true,
      dirty: true,
      sem: `f.arith(${kind}, ${dbl}, rm, rd, rs1, rs2);`,
    });
  }
  rows.push({
    name: `fsqrt.${fmt}`,
    match: opFp(0x2c | d),
    mask: F7_RS2,
    rm: true,
    dirty: true,
    sem: `f.arith(11, ${dbl}, rm, rd, rs1, rs2);`,
  });
  ["fsgnj", "fsgnjn", "fsgnjx"].forEach((name, f3) =>
    rows.push({
      name: `${name}.${fmt}`,
      match: opFp(0x10 | d, 0, f3),
      mask: F7_F3,
      rm: false,
      dirty: true,
      sem: `f.signInject(${f3}, ${dbl}, rd, rs1, rs2);`,
    })
  );
  ["fmin", "fmax"].forEach((name, f3) =>
    rows.push({
      name: `${name}.${fmt}`,
      match: opFp(0x14 | d, 0, f3),
      mask: F7_F3,
      rm: false,
      dirty: true,
      sem: `f.minMax(${f3 === 1}, ${dbl}, rd, rs1, rs2);`,
    })
  );
  // fcvt.d.s (funct7 0x21, rs2 0: to double) and fcvt.s.d (0x20, rs2 1).
  rows.push({
    name: dbl ? "fcvt.d.s" : "fcvt.s.d",
    match: opFp(0x20 | d, d ^ 1),
    mask: F7_RS2,
    rm: true,
    dirty: true,
    sem: `f.convertFF(${dbl}, rm, rd, rs1);`,
  });
  ["fle", "flt", "feq"].forEach((name, f3) =>
    rows.push({
      name: `${name}.${fmt}`,
      match: opFp(0x50 | d, 0, f3),
      mask: F7_F3,
      rm: false,
      dirty: false,
      sem: `f.compare(${f3}, ${dbl}, rd, rs1, rs2);`,
    })
  );
  INTS.forEach((int, kind) => {
    rows.push({
      name: `fcvt.${int}.${fmt}`,
      match: opFp(0x60 | d, kind),
      mask: F7_RS2,
      rm: true,
      dirty: false,
      sem: `f.toInt(${kind}, ${dbl}, rm, rd, rs1);`,
    });
    rows.push({
      name: `fcvt.${fmt}.${int}`,
      match: opFp(0x68 | d, kind),
      mask: F7_RS2,
      rm: true,
      dirty: true,
      sem: `f.fromInt(${kind}, ${dbl}, rm, rd, rs1);`,
    });
  });
  // fmv.x.w moves the low 32 bits as they are (no unboxing), sign-extended (11.8).
  rows.push({
    name: dbl ? "fmv.x.d" : "fmv.x.w",
    match: opFp(0x70 | d),
    mask: F7_RS2_F3,
    rm: false,
    dirty: false,
    sem: `{ const lo = f.fw[2 * rs1]; ` +
      `f.setX(rd, lo, ${dbl ? "f.fw[2 * rs1 + 1]" : "lo >> 31"}); }`,
  });
  rows.push({
    name: `fclass.${fmt}`,
    match: opFp(0x70 | d, 0, 1),
    mask: F7_RS2_F3,
    rm: false,
    dirty: false,
    sem: `f.setX(rd, f.classify(${dbl}, rs1), 0);`,
  });
  // fmv.w.x / fmv.d.x: bits, NaN-boxed for .w.
  rows.push({
    name: dbl ? "fmv.d.x" : "fmv.w.x",
    match: opFp(0x78 | d),
    mask: F7_RS2_F3,
    rm: false,
    dirty: true,
    sem: `f.fw[2 * rd] = f.xl[rs1]; f.fw[2 * rd + 1] = ${dbl ? "f.xh[rs1]" : "-1"};`,
  });
  // The fused multiply-adds: opcodes 0x43, 0x47, 0x4b, 0x4f, fmt in bits 26:25.
  ["fmadd", "fmsub", "fnmsub", "fnmadd"].forEach((name, kind) =>
    rows.push({
      name: `${name}.${fmt}`,
      match: (d << 25 | (0x43 + 4 * kind)) | 0,
      mask: 0x0600007f,
      rm: true,
      dirty: true,
      sem: `f.fma(${kind}, ${dbl}, rm, rd, rs1, rs2, rs3);`,
    })
  );
  return rows;
});

/** The definitions by opcode and funct7 (OP-FP) or fmt (fused multiply-adds): what a match starts from. */
const GROUPS: ReadonlyMap<number, readonly FpInsnDef[]> = (() => {
  const m = new Map<number, FpInsnDef[]>();
  for (const def of FP_INSNS) {
    const key = groupKey(def.match);
    m.set(key, [...m.get(key) ?? [], def]);
  }
  return m;
})();

/** An encoding's group: opcode and funct7 for OP-FP, opcode and fmt for the fused multiply-adds. */
function groupKey(insn: number): number {
  return (insn & 0x7f) === OP_FP ? insn & F7 : insn & 0x0600007f;
}

/**
 * The definition of `insn` (an OP-FP or fused multiply-add encoding), or
 * undefined if it encodes no F/D instruction of RV64, or a reserved static
 * rounding mode (5, 6): the decoder's check.
 */
export function fpInsn(insn: number): FpInsnDef | undefined {
  const def = GROUPS.get(groupKey(insn))?.find((d) => (insn & d.mask) === d.match);
  if (def === undefined) return undefined;
  const f3 = (insn >>> 12) & 7;
  return def.rm && (f3 === 5 || f3 === 6) ? undefined : def;
}

/**
 * Executes an F/D instruction the decoder accepted on unit `f`; false if it is
 * illegal now (F/D absent, mstatus.FS Off, the dynamic rounding mode with an
 * invalid frm).
 */
export type FpStep = (f: Fpu, insn: number, rd: number, rs1: number, rs2: number) => boolean;

/** Builds {@linkcode FpStep} from {@linkcode FP_INSNS}: a switch on the group, then the masks. */
export function compileFpStep(): FpStep {
  const cases = [...GROUPS].map(([key, defs]) => {
    const arms = defs.map((d) => {
      const rm = d.rm ? "const rm = f.rm(insn); if (rm < 0) return false;" : "";
      return `if ((insn & ${d.mask}) === ${d.match}) { ${rm} ${d.sem} ${
        d.dirty ? "f.dirty();" : ""
      } return true; }`;
    });
    return `case ${key}: { ${arms.join(" ")} return false; }`;
  });
  return new Function(
    `return function fpStep(f, insn, rd, rs1, rs2) {
    if (!f.usable()) return false;
    const rs3 = insn >>> 27;
    switch ((insn & 0x7f) === ${OP_FP} ? insn & ${F7} : insn & ${0x0600007f}) {
      ${cases.join("\n")}
    }
    return false;
  };`,
  )();
}
