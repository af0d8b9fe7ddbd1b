/**
 * Instruction decoding: RV64IMAFDC + Zicsr + Zifencei into a compact, dense form
 * that the interpreter dispatches on with a single switch.
 *
 * Compressed instructions are first expanded to their 32-bit equivalents through
 * a 64 Ki-entry table built once (the C extension is defined as exactly such an
 * expansion), so the executor never sees RVC.
 *
 * A decoded instruction is two int32 words:
 * - `packed = op | rd << 8 | rs1 << 13 | rs2 << 18 | (length === 4 ? 1 << 23 : 0)`
 * - `imm`: the sign-extended immediate (CSR number for CSR ops, funct5 for AMOs,
 *   the raw instruction bits for illegal instructions).
 *
 * `packed` is never 0 for a decoded instruction (op ids start at 1), so 0 can mark
 * an empty slot in a decode cache.
 *
 * @module
 */

import { fpInsn } from "./fpinsns.ts";

/** Operation ids, dense from 1, ordered so the hot integer ops come first. */
export const Op = {
  ADDI: 1,
  ADD: 2,
  SUB: 3,
  LUI: 4,
  AUIPC: 5,
  JAL: 6,
  JALR: 7,
  BEQ: 8,
  BNE: 9,
  BLT: 10,
  BGE: 11,
  BLTU: 12,
  BGEU: 13,
  LB: 14,
  LH: 15,
  LW: 16,
  LD: 17,
  LBU: 18,
  LHU: 19,
  LWU: 20,
  SB: 21,
  SH: 22,
  SW: 23,
  SD: 24,
  SLTI: 25,
  SLTIU: 26,
  XORI: 27,
  ORI: 28,
  ANDI: 29,
  SLLI: 30,
  SRLI: 31,
  SRAI: 32,
  SLL: 33,
  SLT: 34,
  SLTU: 35,
  XOR: 36,
  SRL: 37,
  SRA: 38,
  OR: 39,
  AND: 40,
  ADDIW: 41,
  SLLIW: 42,
  SRLIW: 43,
  SRAIW: 44,
  ADDW: 45,
  SUBW: 46,
  SLLW: 47,
  SRLW: 48,
  SRAW: 49,
  MUL: 50,
  MULH: 51,
  MULHSU: 52,
  MULHU: 53,
  DIV: 54,
  DIVU: 55,
  REM: 56,
  REMU: 57,
  MULW: 58,
  DIVW: 59,
  DIVUW: 60,
  REMW: 61,
  REMUW: 62,
  /** An instruction without architectural effect here (fence, writes to x0, hints). */
  NOP: 63,
  FENCE_I: 64,
  ECALL: 65,
  EBREAK: 66,
  MRET: 67,
  SRET: 68,
  WFI: 69,
  SFENCE_VMA: 70,
  CSRRW: 71,
  CSRRS: 72,
  CSRRC: 73,
  CSRRWI: 74,
  CSRRSI: 75,
  CSRRCI: 76,
  /** Atomic memory operation on a word; imm holds funct5. */
  AMO_W: 77,
  /** Atomic memory operation on a doubleword; imm holds funct5. */
  AMO_D: 78,
  ILLEGAL: 79,
  /**
   * Not an instruction: a decode-cache slot at a registered breakpoint. The
   * real instruction is decoded again when it has to run, so breakpoints cost
   * nothing where there are none and fire even for code that was decoded before.
   */
  BREAKPOINT: 80,
  /** F/D loads and stores (imm = offset); illegal at execution without F/D or with FS = Off. */
  FLW: 81,
  FLD: 82,
  FSW: 83,
  FSD: 84,
  /** An OP-FP or fused multiply-add instruction; imm holds its 32-bit encoding (core/fpu.ts). */
  FP: 85,
} as const;

/** Number of distinct op ids (for tables indexed by op). */
export const OP_COUNT = 86;

/** Names of the ops, indexed by id (for disassembly-lite and statistics). */
export const OP_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, id] of Object.entries(Op)) names[id] = name.toLowerCase().replace("_", ".");
  return names;
})();

/** AMO funct5 values (the `imm` of AMO_W / AMO_D). */
export const Amo = {
  ADD: 0x00,
  SWAP: 0x01,
  LR: 0x02,
  SC: 0x03,
  XOR: 0x04,
  OR: 0x08,
  AND: 0x0c,
  MIN: 0x10,
  MAX: 0x14,
  MINU: 0x18,
  MAXU: 0x1c,
} as const;

const VALID_AMO = new Set<number>(Object.values(Amo));

/** Sign-extends the low `bits` bits of `v`. */
function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

// Immediate formats of the base ISA (figure 2.3/2.4 of the unprivileged spec).
const immI = (i: number) => i >> 20;
const immS = (i: number) => ((i >> 25) << 5) | ((i >>> 7) & 0x1f);
const immB = (i: number) =>
  ((i >> 31) << 12) | (((i >>> 7) & 1) << 11) | (((i >>> 25) & 0x3f) << 5) |
  (((i >>> 8) & 0xf) << 1);
const immU = (i: number) => i & 0xfffff000;
const immJ = (i: number) =>
  ((i >> 31) << 20) | (((i >>> 12) & 0xff) << 12) | (((i >>> 20) & 1) << 11) |
  (((i >>> 21) & 0x3ff) << 1);

/** R-type ops of opcode OP (0x33) keyed by funct7 << 3 | funct3. */
const OP_R: ReadonlyMap<number, number> = new Map([
  [0x00 << 3 | 0, Op.ADD],
  [0x20 << 3 | 0, Op.SUB],
  [0x00 << 3 | 1, Op.SLL],
  [0x00 << 3 | 2, Op.SLT],
  [0x00 << 3 | 3, Op.SLTU],
  [0x00 << 3 | 4, Op.XOR],
  [0x00 << 3 | 5, Op.SRL],
  [0x20 << 3 | 5, Op.SRA],
  [0x00 << 3 | 6, Op.OR],
  [0x00 << 3 | 7, Op.AND],
  [0x01 << 3 | 0, Op.MUL],
  [0x01 << 3 | 1, Op.MULH],
  [0x01 << 3 | 2, Op.MULHSU],
  [0x01 << 3 | 3, Op.MULHU],
  [0x01 << 3 | 4, Op.DIV],
  [0x01 << 3 | 5, Op.DIVU],
  [0x01 << 3 | 6, Op.REM],
  [0x01 << 3 | 7, Op.REMU],
]);

/** R-type ops of opcode OP-32 (0x3b) keyed by funct7 << 3 | funct3. */
const OP_R32: ReadonlyMap<number, number> = new Map([
  [0x00 << 3 | 0, Op.ADDW],
  [0x20 << 3 | 0, Op.SUBW],
  [0x00 << 3 | 1, Op.SLLW],
  [0x00 << 3 | 5, Op.SRLW],
  [0x20 << 3 | 5, Op.SRAW],
  [0x01 << 3 | 0, Op.MULW],
  [0x01 << 3 | 4, Op.DIVW],
  [0x01 << 3 | 5, Op.DIVUW],
  [0x01 << 3 | 6, Op.REMW],
  [0x01 << 3 | 7, Op.REMUW],
]);

/** Ops selected by funct3 alone, per major opcode. */
const BY_FUNCT3: Readonly<Record<number, readonly number[]>> = {
  0x03: [Op.LB, Op.LH, Op.LW, Op.LD, Op.LBU, Op.LHU, Op.LWU, 0],
  0x23: [Op.SB, Op.SH, Op.SW, Op.SD, 0, 0, 0, 0],
  0x63: [Op.BEQ, Op.BNE, 0, 0, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU],
  0x13: [Op.ADDI, Op.SLLI, Op.SLTI, Op.SLTIU, Op.XORI, Op.SRLI, Op.ORI, Op.ANDI],
  0x73: [0, Op.CSRRW, Op.CSRRS, Op.CSRRC, 0, Op.CSRRWI, Op.CSRRSI, Op.CSRRCI],
};

/** Ops that only write rd and have no other effect: with rd = x0 they are NOPs. */
const PURE_OPS = new Set<number>([
  Op.ADDI,
  Op.ADD,
  Op.SUB,
  Op.LUI,
  Op.AUIPC,
  Op.SLTI,
  Op.SLTIU,
  Op.XORI,
  Op.ORI,
  Op.ANDI,
  Op.SLLI,
  Op.SRLI,
  Op.SRAI,
  Op.SLL,
  Op.SLT,
  Op.SLTU,
  Op.XOR,
  Op.SRL,
  Op.SRA,
  Op.OR,
  Op.AND,
  Op.ADDIW,
  Op.SLLIW,
  Op.SRLIW,
  Op.SRAIW,
  Op.ADDW,
  Op.SUBW,
  Op.SLLW,
  Op.SRLW,
  Op.SRAW,
  Op.MUL,
  Op.MULH,
  Op.MULHSU,
  Op.MULHU,
  Op.DIV,
  Op.DIVU,
  Op.REM,
  Op.REMU,
  Op.MULW,
  Op.DIVW,
  Op.DIVUW,
  Op.REMW,
  Op.REMUW,
]);

/** Privileged instructions of SYSTEM with funct3 = 0, keyed by the whole instruction. */
const SYSTEM_EXACT: ReadonlyMap<number, number> = new Map([
  [0x00000073, Op.ECALL],
  [0x00100073, Op.EBREAK],
  [0x30200073, Op.MRET],
  [0x10200073, Op.SRET],
  [0x10500073, Op.WFI],
]);

/** Result of {@linkcode decode}: the two words of a decoded instruction. */
export interface Decoded {
  /** op | rd << 8 | rs1 << 13 | rs2 << 18 | length flag << 23 */
  packed: number;
  /** Immediate or auxiliary value. */
  imm: number;
}

/** Packs the fields of a decoded instruction. */
function pack(op: number, rd: number, rs1: number, rs2: number, len: number): number {
  if (PURE_OPS.has(op) && rd === 0) op = Op.NOP;
  return op | rd << 8 | rs1 << 13 | rs2 << 18 | (len === 4 ? 1 << 23 : 0);
}

/**
 * Decodes a 32-bit instruction word (already expanded if it came from RVC;
 * `length` is 2 for those) into `out`.
 */
export function decode32(insn: number, length: 2 | 4, out: Decoded): void {
  const opcode = insn & 0x7f;
  const rd = (insn >>> 7) & 0x1f;
  const f3 = (insn >>> 12) & 7;
  const rs1 = (insn >>> 15) & 0x1f;
  const rs2 = (insn >>> 20) & 0x1f;
  const f7 = insn >>> 25;
  let op = 0;
  let imm = 0;
  switch (opcode) {
    case 0x37:
      op = Op.LUI, imm = immU(insn);
      break;
    case 0x17:
      op = Op.AUIPC, imm = immU(insn);
      break;
    case 0x6f:
      op = Op.JAL, imm = immJ(insn);
      break;
    case 0x67:
      if (f3 === 0) op = Op.JALR, imm = immI(insn);
      break;
    case 0x63:
      op = BY_FUNCT3[opcode][f3], imm = immB(insn);
      break;
    case 0x03:
      op = BY_FUNCT3[opcode][f3], imm = immI(insn);
      break;
    case 0x23:
      op = BY_FUNCT3[opcode][f3], imm = immS(insn);
      break;
    case 0x13:
      op = BY_FUNCT3[opcode][f3], imm = immI(insn);
      if (f3 === 1) { // slli: funct6 must be 0 (RV64 shamt is 6 bits)
        if (insn >>> 26 !== 0) op = 0;
        imm &= 0x3f;
      } else if (f3 === 5) {
        const f6 = insn >>> 26;
        op = f6 === 0 ? Op.SRLI : f6 === 0x10 ? Op.SRAI : 0;
        imm &= 0x3f;
      }
      break;
    case 0x1b:
      imm = immI(insn);
      if (f3 === 0) op = Op.ADDIW;
      else if (f3 === 1 && f7 === 0) op = Op.SLLIW, imm &= 0x1f;
      else if (f3 === 5 && f7 === 0) op = Op.SRLIW, imm &= 0x1f;
      else if (f3 === 5 && f7 === 0x20) op = Op.SRAIW, imm &= 0x1f;
      break;
    case 0x33:
      op = OP_R.get(f7 << 3 | f3) ?? 0;
      break;
    case 0x3b:
      op = OP_R32.get(f7 << 3 | f3) ?? 0;
      break;
    case 0x0f:
      // fence (any pred/succ, fm) is a no-op on one in-order hart; fence.i needs rd = rs1 = 0?
      // The spec reserves other fields of fence.i for future use; QEMU ignores them, as we do.
      if (f3 === 0) op = Op.NOP;
      else if (f3 === 1) op = Op.FENCE_I;
      break;
    case 0x73:
      if (f3 === 0) {
        op = SYSTEM_EXACT.get(insn) ?? 0;
        if (op === 0 && f7 === 0x09 && rd === 0) op = Op.SFENCE_VMA;
      } else if (f3 !== 4) {
        op = BY_FUNCT3[opcode][f3], imm = insn >>> 20;
        // rd = x0 still performs the CSR access (side effects), so CSR ops are never NOPs.
        const fields = rd << 8 | rs1 << 13 | rs2 << 18 | (length === 4 ? 1 << 23 : 0);
        out.packed = op | fields, out.imm = imm;
        return;
      }
      break;
    case 0x07: // flw / fld
      if (f3 === 2 || f3 === 3) op = f3 === 2 ? Op.FLW : Op.FLD, imm = immI(insn);
      break;
    case 0x27: // fsw / fsd
      if (f3 === 2 || f3 === 3) op = f3 === 2 ? Op.FSW : Op.FSD, imm = immS(insn);
      break;
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      if (fpInsn(insn) !== undefined) { // an F/D instruction of RV64 (core/fpinsns.ts)
        out.packed = Op.FP | rd << 8 | rs1 << 13 | rs2 << 18 | (length === 4 ? 1 << 23 : 0);
        out.imm = insn;
        return;
      }
      break;
    case 0x2f: {
      const f5 = insn >>> 27;
      if ((f3 === 2 || f3 === 3) && VALID_AMO.has(f5) && !(f5 === Amo.LR && rs2 !== 0)) {
        op = f3 === 2 ? Op.AMO_W : Op.AMO_D, imm = f5;
        out.packed = op | rd << 8 | rs1 << 13 | rs2 << 18 | (length === 4 ? 1 << 23 : 0);
        out.imm = imm;
        return;
      }
      break;
    }
  }
  if (op === 0) {
    out.packed = pack(Op.ILLEGAL, 0, 0, 0, length);
    out.imm = insn;
    return;
  }
  out.packed = pack(op, rd, rs1, rs2, length);
  out.imm = imm;
}

/**
 * Expands a 16-bit RVC instruction (RV64C) to its 32-bit equivalent, or returns
 * 0 if it is illegal or reserved. Table 16.5-16.7 of the unprivileged spec.
 */
export function expandCompressed(c: number): number {
  const q = c & 3;
  const f3 = (c >>> 13) & 7;
  const rdp = 8 + ((c >>> 2) & 7); // rd'/rs2' (bits 4:2)
  const rs1p = 8 + ((c >>> 7) & 7); // rd'/rs1' (bits 9:7)
  const rd = (c >>> 7) & 0x1f;
  const rs2 = (c >>> 2) & 0x1f;
  const bit = (n: number) => (c >>> n) & 1;
  const bits = (hi: number, lo: number) => (c >>> lo) & ((1 << (hi - lo + 1)) - 1);
  const rType = (f7: number, r2: number, r1: number, f: number, d: number, opc: number) =>
    f7 << 25 | r2 << 20 | r1 << 15 | f << 12 | d << 7 | opc;
  const iType = (imm: number, r1: number, f: number, d: number, opc: number) =>
    (imm & 0xfff) << 20 | r1 << 15 | f << 12 | d << 7 | opc;
  const sType = (imm: number, r2: number, r1: number, f: number, opc: number) =>
    ((imm >> 5) & 0x7f) << 25 | r2 << 20 | r1 << 15 | f << 12 | (imm & 0x1f) << 7 | opc;
  const bType = (imm: number, r2: number, r1: number, f: number) =>
    ((imm >> 12) & 1) << 31 | ((imm >> 5) & 0x3f) << 25 | r2 << 20 | r1 << 15 | f << 12 |
    ((imm >> 1) & 0xf) << 8 | ((imm >> 11) & 1) << 7 | 0x63;
  const jType = (imm: number, d: number) =>
    ((imm >> 20) & 1) << 31 | ((imm >> 1) & 0x3ff) << 21 | ((imm >> 11) & 1) << 20 |
    ((imm >> 12) & 0xff) << 12 | d << 7 | 0x6f;
  // CJ-format offset, shared by c.j (and c.jal on RV32, which RV64 replaces by c.addiw).
  const cjImm = () =>
    sext(
      bit(12) << 11 | bit(11) << 4 | bits(10, 9) << 8 | bit(8) << 10 | bit(7) << 6 |
        bit(6) << 7 | bits(5, 3) << 1 | bit(2) << 5,
      12,
    );
  const cbImm = () =>
    sext(bit(12) << 8 | bits(11, 10) << 3 | bits(6, 5) << 6 | bits(4, 3) << 1 | bit(2) << 5, 9);
  const ciImm = () => sext(bit(12) << 5 | bits(6, 2), 6);
  const lwOff = () => bits(12, 10) << 3 | bit(6) << 2 | bit(5) << 6;
  const ldOff = () => bits(12, 10) << 3 | bits(6, 5) << 6;

  if (q === 0) {
    switch (f3) {
      case 0: { // c.addi4spn
        const nz = bits(12, 11) << 4 | bits(10, 7) << 6 | bit(6) << 2 | bit(5) << 3;
        return nz === 0 ? 0 : iType(nz, 2, 0, rdp, 0x13);
      }
      case 2:
        return iType(lwOff(), rs1p, 2, rdp, 0x03); // c.lw
      case 3:
        return iType(ldOff(), rs1p, 3, rdp, 0x03); // c.ld
      case 6:
        return sType(lwOff(), rdp, rs1p, 2, 0x23); // c.sw
      case 7:
        return sType(ldOff(), rdp, rs1p, 3, 0x23); // c.sd
      case 1: // c.fld (RV64DC; illegal at execution without D or with FS = Off)
        return iType(ldOff(), rs1p, 3, rdp, 0x07);
      case 5: // c.fsd
        return sType(ldOff(), rdp, rs1p, 3, 0x27);
      default: // 4 is reserved
        return 0;
    }
  }
  if (q === 1) {
    switch (f3) {
      case 0:
        return iType(ciImm(), rd, 0, rd, 0x13); // c.addi (c.nop when rd = 0; hints allowed)
      case 1:
        return rd === 0 ? 0 : iType(ciImm(), rd, 0, rd, 0x1b); // c.addiw
      case 2:
        return iType(ciImm(), 0, 0, rd, 0x13); // c.li
      case 3: {
        if (rd === 2) { // c.addi16sp
          const nz = sext(
            bit(12) << 9 | bit(6) << 4 | bit(5) << 6 | bits(4, 3) << 7 | bit(2) << 5,
            10,
          );
          return nz === 0 ? 0 : iType(nz, 2, 0, 2, 0x13);
        }
        const nz = ciImm();
        return nz === 0 ? 0 : (nz << 12) | rd << 7 | 0x37; // c.lui
      }
      case 4: {
        const f2 = bits(11, 10);
        if (f2 === 0 || f2 === 1) { // c.srli / c.srai (shamt 0 is a hint: keep it)
          const sh = bit(12) << 5 | bits(6, 2);
          return iType(sh | (f2 === 1 ? 0x400 : 0), rs1p, 5, rs1p, 0x13);
        }
        if (f2 === 2) return iType(ciImm(), rs1p, 7, rs1p, 0x13); // c.andi
        const f = bit(12) << 2 | bits(6, 5);
        switch (f) {
          case 0:
            return rType(0x20, rdp, rs1p, 0, rs1p, 0x33); // c.sub
          case 1:
            return rType(0, rdp, rs1p, 4, rs1p, 0x33); // c.xor
          case 2:
            return rType(0, rdp, rs1p, 6, rs1p, 0x33); // c.or
          case 3:
            return rType(0, rdp, rs1p, 7, rs1p, 0x33); // c.and
          case 4:
            return rType(0x20, rdp, rs1p, 0, rs1p, 0x3b); // c.subw
          case 5:
            return rType(0, rdp, rs1p, 0, rs1p, 0x3b); // c.addw
          default:
            return 0;
        }
      }
      case 5:
        return jType(cjImm(), 0); // c.j
      case 6:
        return bType(cbImm(), 0, rs1p, 0); // c.beqz
      default:
        return bType(cbImm(), 0, rs1p, 1); // c.bnez
    }
  }
  if (q === 2) {
    switch (f3) {
      case 0: // c.slli
        return iType(bit(12) << 5 | bits(6, 2), rd, 1, rd, 0x13);
      case 2: // c.lwsp
        return rd === 0 ? 0 : iType(bit(12) << 5 | bits(6, 4) << 2 | bits(3, 2) << 6, 2, 2, rd, 3);
      case 3: // c.ldsp
        return rd === 0 ? 0 : iType(bit(12) << 5 | bits(6, 5) << 3 | bits(4, 2) << 6, 2, 3, rd, 3);
      case 4:
        if (bit(12) === 0) {
          if (rs2 === 0) return rd === 0 ? 0 : iType(0, rd, 0, 0, 0x67); // c.jr
          return rType(0, rs2, 0, 0, rd, 0x33); // c.mv
        }
        if (rs2 === 0) {
          return rd === 0 ? 0x00100073 : iType(0, rd, 0, 1, 0x67); // c.ebreak / c.jalr
        }
        return rType(0, rs2, rd, 0, rd, 0x33); // c.add
      case 6: // c.swsp
        return sType(bits(12, 9) << 2 | bits(8, 7) << 6, rs2, 2, 2, 0x23);
      case 7: // c.sdsp
        return sType(bits(12, 10) << 3 | bits(9, 7) << 6, rs2, 2, 3, 0x23);
      case 1: // c.fldsp (f0 is a valid destination, unlike c.ldsp's x0)
        return iType(bit(12) << 5 | bits(6, 5) << 3 | bits(4, 2) << 6, 2, 3, rd, 0x07);
      default: // c.fsdsp
        return sType(bits(12, 10) << 3 | bits(9, 7) << 6, rs2, 2, 3, 0x27);
    }
  }
  return 0;
}

let rvcTable: Int32Array | null = null;

/** The expansion of every 16-bit encoding (0 = illegal), built on first use. */
export function rvcExpansionTable(): Int32Array {
  if (rvcTable === null) {
    rvcTable = new Int32Array(65536);
    for (let c = 0; c < 65536; c++) if ((c & 3) !== 3) rvcTable[c] = expandCompressed(c);
  }
  return rvcTable;
}

/**
 * Decodes the instruction whose low 16 bits are in `lo16` and high 16 bits in
 * `hi16` (read only for 32-bit instructions) into `out`; returns its length.
 */
export function decodeAt(lo16: number, hi16: number, out: Decoded): 2 | 4 {
  if ((lo16 & 3) !== 3) {
    const expanded = rvcExpansionTable()[lo16];
    if (expanded === 0) {
      out.packed = Op.ILLEGAL; // length flag clear: 2 bytes
      out.imm = lo16;
    } else {
      decode32(expanded, 2, out);
    }
    return 2;
  }
  decode32((hi16 << 16) | lo16, 4, out);
  return 4;
}
