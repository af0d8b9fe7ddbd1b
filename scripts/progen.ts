/**
 * Random program generator for RV64IMAC (+Zicsr, Zifencei): seeded and
 * reproducible (the same seed always gives the same assembly text), no Deno
 * APIs, so that anything can use it. scripts/progen-diff.ts assembles the
 * output and compares rvisor with QEMU.
 *
 * A program runs many bodies, one per seed, one after the other. Each body:
 * - fills the 1 KiB data region from its seed (a guest xorshift loop) and
 *   clears the trap log,
 * - loads x1..x31 from its own table (edge values: 0, ±1, INT_MIN, ...; gp =
 *   x3 then points at the middle of the data region and is never written),
 * - runs random code: ALU and M ops (immediate and register, 32-bit forms),
 *   lui/auipc, loads and stores of every width into the data region at
 *   aligned and misaligned offsets (constant and computed addresses), AMOs and
 *   LR/SC, deterministic CSR accesses (sscratch, mepc WARL, misa, mhartid,
 *   mvendorid, mstatus, mcause/mtval after traps), forward branches and jumps,
 *   counted loops (x31 is the counter: never a destination), fence/fence.i,
 *   and traps: ecall, ebreak, c.ebreak, illegal encodings, writes to
 *   read-only CSRs, misaligned AMOs. The assembler compresses what it can, so
 *   RVC is exercised too.
 * - saves x1..x31 and reports a digest of them, of the data region and of the
 *   trap log (or everything, in full mode) on the UART.
 *
 * The trap handler records mcause, mepc and mtval into the trap log and skips
 * the instruction (2 or 4 bytes, from its encoding). QEMU 7.2 reports AMO
 * faults as load faults where the spec (and rvisor) say store/AMO: the handler
 * folds cause 4 -> 6 and 5 -> 7 for AMO opcodes so that seeds compare the rest.
 *
 * @module
 */

/** 64-bit xorshift (Marsaglia) as BigInt-free pairs: the generator's random source. */
export class Rng {
  #hi: number;
  #lo: number;

  /** A generator whose sequence is a function of `seed` alone. */
  constructor(seed: number) {
    // Spread the seed so that neighbouring seeds start far apart.
    this.#hi = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0x6a09e667) >>> 0 || 1;
    this.#lo = (Math.imul(seed + 0x7f4a7c15, 0xc2b2ae35) ^ 0xbb67ae85) >>> 0 || 1;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** The next 32 random bits (xorshift64: x ^= x << 13; x ^= x >> 7; x ^= x << 17). */
  next(): number {
    let hi = this.#hi, lo = this.#lo;
    // x ^= x << 13
    hi ^= (hi << 13) | (lo >>> 19);
    lo ^= lo << 13;
    // x ^= x >> 7
    lo ^= (lo >>> 7) | (hi << 25);
    hi ^= hi >>> 7;
    // x ^= x << 17
    hi ^= (hi << 17) | (lo >>> 15);
    lo ^= lo << 17;
    this.#hi = hi >>> 0;
    this.#lo = lo >>> 0;
    return (this.#hi ^ this.#lo) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A random element. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }

  /** A 64-bit value as 16 hex digits, biased towards edge cases. */
  value(): string {
    const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
    switch (this.int(10)) {
      case 0:
        return this.pick([
          "0000000000000000",
          "0000000000000001",
          "ffffffffffffffff",
          "8000000000000000",
          "7fffffffffffffff",
          "0000000080000000",
          "ffffffff80000000",
          "000000007fffffff",
          "00000000ffffffff",
        ]);
      case 1: // small positive or negative
        return this.chance(0.5)
          ? "00000000" + hex(this.int(64))
          : "ffffffff" + hex(-1 - this.int(64));
      case 2: // sign-extended 32-bit
        return (this.next() & 0x80000000 ? "ffffffff" : "00000000") + hex(this.next() & 0x7fffffff);
      default:
        return hex(this.next()) + hex(this.next());
    }
  }
}

/** The data region's size (bytes); gp points at its middle. */
export const DATA_SIZE = 1024;
const HALF = DATA_SIZE / 2;

/** Registers a body may write: all but x0, gp (data base) and x31 (loop counter). */
const DEST = [
  1,
  2,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
  24,
  25,
  26,
  27,
  28,
  29,
  30,
];
const R_OPS = [
  "add",
  "sub",
  "sll",
  "slt",
  "sltu",
  "xor",
  "srl",
  "sra",
  "or",
  "and",
  "addw",
  "subw",
  "sllw",
  "srlw",
  "sraw",
  "mul",
  "mulh",
  "mulhsu",
  "mulhu",
  "div",
  "divu",
  "rem",
  "remu",
  "mulw",
  "divw",
  "divuw",
  "remw",
  "remuw",
];
const I_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];
const SHIFT_I = [["slli", 63], ["srli", 63], ["srai", 63], ["slliw", 31], ["srliw", 31], [
  "sraiw",
  31,
]] as const;
const LOADS = [["lb", 1], ["lh", 2], ["lw", 4], ["ld", 8], ["lbu", 1], ["lhu", 2], [
  "lwu",
  4,
]] as const;
const STORES = [["sb", 1], ["sh", 2], ["sw", 4], ["sd", 8]] as const;
const AMOS = [
  "amoadd",
  "amoswap",
  "amoxor",
  "amoor",
  "amoand",
  "amomin",
  "amomax",
  "amominu",
  "amomaxu",
];
const BRANCHES = ["beq", "bne", "blt", "bge", "bltu", "bgeu"];
/** CSRs whose reads are deterministic on both machines (no counters, no mip). */
const CSR_READS = [
  "misa",
  "mhartid",
  "mvendorid",
  "mstatus",
  "mcause",
  "mepc",
  "mtval",
  "sscratch",
  "mtvec",
  "mie",
];
/** Encodings that are illegal in RV64IMAC (checked by the decoder diff): cause 2. */
const ILLEGAL = [
  ".4byte 0xc0001073", // csrrw x0, cycle, x0: cycle is read-only
  ".4byte 0x00000000", // two c.unimp
  ".4byte 0xf1401073", // csrw mhartid, x0
  ".4byte 0x0000001b | (7 << 12)", // OP-IMM-32 funct3 7
  ".4byte 0x00004033 | (0x40 << 25)", // OP with funct7 0x40
  ".2byte 0x8002", // c.jr x0 (reserved)
  ".2byte 0x6002", // c.ldsp... rd = x0 is reserved
];

const reg = (i: number) => `x${i}`;

/** Generates the code of one body (the part between register set-up and the final save). */
class BodyGen {
  readonly lines: string[] = [];
  #label = 0;

  constructor(readonly rng: Rng, readonly prefix: string) {}

  label(): string {
    return `${this.prefix}_${this.#label++}`;
  }

  /** A destination register, never `avoid` (e.g. an address register still needed). */
  dest(avoid = ""): string {
    for (;;) {
      const d = reg(this.rng.pick(DEST));
      if (d !== avoid) return d;
    }
  }

  src(): string {
    return reg(this.rng.int(32));
  }

  imm12(): number {
    const r = this.rng;
    return r.chance(0.3) ? r.pick([0, 1, -1, 2047, -2048, 31, 32, 63]) : r.range(-2048, 2047);
  }

  /** A data-region offset from gp for an access of `size` bytes (misaligned one time in four). */
  offset(size: number): number {
    const r = this.rng;
    let off = r.range(-HALF, HALF - 8);
    if (!r.chance(0.25)) off &= ~(size - 1);
    return off;
  }

  emit(s: string): void {
    this.lines.push(`  ${s}`);
  }

  /** One random instruction or small group; `inLoop` forbids backward control flow. */
  one(inLoop: boolean): void {
    const r = this.rng;
    const k = r.int(100);
    if (k < 22) this.emit(`${r.pick(R_OPS)} ${this.dest()}, ${this.src()}, ${this.src()}`);
    else if (k < 34) this.emit(`${r.pick(I_OPS)} ${this.dest()}, ${this.src()}, ${this.imm12()}`);
    else if (k < 40) {
      const [op, max] = r.pick(SHIFT_I);
      this.emit(`${op} ${this.dest()}, ${this.src()}, ${r.range(0, max)}`);
    } else if (k < 43) {
      this.emit(`${r.pick(["lui", "auipc"])} ${this.dest()}, 0x${r.int(1 << 20).toString(16)}`);
    } else if (k < 53) {
      const [op, size] = r.pick(LOADS);
      this.emit(`${op} ${this.dest()}, ${this.offset(size)}(gp)`);
    } else if (k < 61) {
      const [op, size] = r.pick(STORES);
      this.emit(`${op} ${this.src()}, ${this.offset(size)}(gp)`);
    } else if (k < 65) {
      // Computed address: somewhere in the region from a register's low bits.
      const t = this.dest();
      const [op, size] = r.pick(LOADS);
      this.emit(`andi ${t}, ${this.src()}, ${DATA_SIZE - 16}`);
      this.emit(`add ${t}, ${t}, gp`);
      const off = r.range(-HALF, -HALF + 16 - size);
      if (r.chance(0.5)) this.emit(`${op} ${this.dest()}, ${off}(${t})`);
      else this.emit(`${r.pick(STORES)[0]} ${this.src()}, ${off}(${t})`);
    } else if (k < 70) {
      const d = r.chance(0.5);
      const size = d ? 4 : 8;
      const t = this.dest();
      let off = r.range(-HALF, HALF - 8) & ~(size - 1);
      if (r.chance(0.2)) off += r.range(1, size - 1); // misaligned: a trap
      const ord = r.pick(["", "", ".aq", ".rl", ".aqrl"]);
      this.emit(`addi ${t}, gp, ${off}`);
      this.emit(`${r.pick(AMOS)}.${d ? "w" : "d"}${ord} ${this.dest()}, ${this.src()}, (${t})`);
    } else if (k < 73) {
      // LR/SC pair, sometimes with a store or another LR in between. Aligned
      // only: QEMU 7.2 lets an SC without reservation skip its alignment check.
      const w = r.chance(0.5) ? "w" : "d";
      const size = w === "w" ? 4 : 8;
      const t = this.dest();
      this.emit(`addi ${t}, gp, ${r.range(-HALF, HALF - 8) & ~(size - 1)}`);
      this.emit(`lr.${w} ${this.dest(t)}, (${t})`);
      if (r.chance(0.3)) {
        // Something in between: an ALU op, or a store that may hit the reserved word.
        if (r.chance(0.5)) {
          this.emit(`${r.pick(R_OPS)} ${this.dest(t)}, ${this.src()}, ${this.src()}`);
        } else this.emit(`${r.pick(STORES)[0]} ${this.src()}, ${r.range(-8, 8) & ~7}(${t})`);
      }
      this.emit(`sc.${w} ${this.dest()}, ${this.src()}, (${t})`);
    } else if (k < 78) {
      const c = r.int(5);
      if (c === 0) this.emit(`csrrw ${this.dest()}, sscratch, ${this.src()}`);
      else if (c === 1) {
        this.emit(`${r.pick(["csrrs", "csrrc"])} ${this.dest()}, sscratch, ${this.src()}`);
      } else if (c === 2) {
        this.emit(
          `${r.pick(["csrrwi", "csrrsi", "csrrci"])} ${this.dest()}, sscratch, ${r.int(32)}`,
        );
      } else if (c === 3) {
        // mepc is WARL with bit 0 zero; QEMU 7.2 keeps bit 0 (rvisor clears it): write even values.
        const t = this.dest();
        this.emit(`andi ${t}, ${this.src()}, -2`);
        this.emit(`csrw mepc, ${t}`);
        this.emit(`csrr ${this.dest()}, mepc`);
      } else this.emit(`csrr ${this.dest()}, ${r.pick(CSR_READS)}`);
    } else if (k < 85) {
      // Forward branch or jump over 1..3 instructions.
      const l = this.label();
      if (r.chance(0.7)) this.emit(`${r.pick(BRANCHES)} ${this.src()}, ${this.src()}, ${l}`);
      else if (r.chance(0.5)) this.emit(`jal ${this.dest()}, ${l}`);
      else {
        const t = this.dest();
        this.emit(`la ${t}, ${l}`);
        this.emit(`jalr ${this.dest()}, 0(${t})`);
      }
      for (let i = r.range(1, 3); i > 0; i--) this.simple();
      this.lines.push(`${l}:`);
    } else if (k < 92) {
      const c = r.int(6);
      if (c === 0) this.emit("ecall");
      else if (c === 1) this.emit("ebreak");
      else if (c === 2) this.emit("c.ebreak");
      else this.emit(r.pick(ILLEGAL));
    } else if (k < 94) this.emit(r.pick(["fence", "fence.i", "fence rw, rw", "fence.tso", "nop"]));
    else if (!inLoop) this.loop();
    else this.simple();
  }

  /** A non-trapping, non-branching ALU instruction (fills branch shadows). */
  simple(): void {
    const r = this.rng;
    if (r.chance(0.5)) this.emit(`${r.pick(R_OPS)} ${this.dest()}, ${this.src()}, ${this.src()}`);
    else this.emit(`${r.pick(I_OPS)} ${this.dest()}, ${this.src()}, ${this.imm12()}`);
  }

  /** A counted loop over a few random instructions (x31 counts). */
  loop(): void {
    const r = this.rng;
    const l = this.label();
    this.emit(`li x31, ${r.range(1, 6)}`);
    this.lines.push(`${l}:`);
    for (let i = r.range(2, 10); i > 0; i--) this.one(true);
    this.emit("addi x31, x31, -1");
    this.emit(`bnez x31, ${l}`);
  }
}

/** Options of {@linkcode generateProgram}. */
export interface ProgramOptions {
  /** Report every register, the data checksum and the trap log instead of one digest. */
  full?: boolean;
  /** Instructions (or groups) per body (default 60). */
  length?: number;
  /**
   * Bodies to run for some seeds instead of generating them: a regression
   * case keeps the program that disagreed, whatever the generator gives now.
   */
  bodies?: ReadonlyMap<number, Body>;
}

/** The generated part of one seed's program: its register table and its code. */
export interface Body {
  /** The label and the 31 initial register values. */
  table: string[];
  /** The label, register loads, generated instructions and the report call. */
  code: string[];
}

/** The body of one seed: its label, register table and code. */
export function generateBody(seed: number, length = 60): Body {
  const rng = new Rng(seed);
  const prefix = `s${seed >>> 0}`;
  const table = [`${prefix}_regs:`];
  for (let i = 1; i < 32; i++) table.push(`  .dword 0x${rng.value()}`);
  const g = new BodyGen(rng, `${prefix}_l`);
  for (let i = 0; i < length; i++) g.one(false);
  const code = [
    `${prefix}:`,
    `  li a0, ${seed >>> 0}`,
    "  call prepare",
    `  la x31, ${prefix}_regs`,
    ...Array.from({ length: 30 }, (_, i) => `  ld x${i + 1}, ${8 * i}(x31)`),
    "  ld x31, 240(x31)",
    "  la gp, data + " + HALF,
    ...g.lines,
    "  call_finish",
  ];
  return { table, code };
}

/** The runtime shared by every program (entry, handler, fill, report); see the module doc. */
function runtime(full: boolean): string {
  return `
  .equ UART, 0x10000000
  .equ SYSCON, 0x100000
  /* Saves every register in final_regs (mscratch is free here: no trap is
     expected until the handler's pointer is back) and reports. */
  .macro call_finish
  csrw mscratch, x31
  la x31, final_regs
  .irp r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
  sd x\\r, \\r*8(x31)
  .endr
  csrr x1, mscratch
  sd x1, 248(x31)
  la x1, trap_save
  csrw mscratch, x1
  call report
  .endm

  .section .text.init, "ax"
  .globl _start
_start:
  la t0, trap_handler
  csrw mtvec, t0
  la t0, trap_save
  csrw mscratch, t0
  la sp, stack_top
  j bodies

/* Fill the data region from the seed in a0 (xorshift64), clear the trap log,
   zero sscratch. Uses only caller registers: the body loads all of them next. */
prepare:
  slli a0, a0, 32
  li t0, 0x2545f4914f6cdd1d
  xor a0, a0, t0
  la t0, data
  li t1, ${DATA_SIZE}
  add t1, t1, t0
1:
  slli t2, a0, 13
  xor a0, a0, t2
  srli t2, a0, 7
  xor a0, a0, t2
  slli t2, a0, 17
  xor a0, a0, t2
  sd a0, 0(t0)
  addi t0, t0, 8
  bltu t0, t1, 1b
  la t0, trap_save
  sd zero, 24(t0)
  sd zero, 32(t0)
  csrw sscratch, zero
  ret

/* Record the trap (hash of mcause, mepc, mtval; count) and skip the instruction. */
  .align 2
trap_handler:
  csrrw t6, mscratch, t6
  sd t0, 0(t6)
  sd t1, 8(t6)
  sd t2, 16(t6)
  csrr t1, mcause
  /* AMO faults: QEMU 7.2 says load (4/5), the spec store/AMO (6/7): fold,
     in mcause too, so that a body reading mcause sees the folded cause. */
  csrr t0, mepc
  lbu t0, 0(t0)
  andi t0, t0, 0x7f
  li t2, 0x2f
  bne t0, t2, 1f
  li t2, 4
  bltu t1, t2, 1f
  li t2, 5
  bgtu t1, t2, 1f
  addi t1, t1, 2
  csrw mcause, t1
1:
  /* log entry count & 31: mcause, mepc, mtval (printed in full mode) */
  ld t0, 32(t6)
  andi t0, t0, 31
  li t2, 24
  mul t0, t0, t2
  add t0, t0, t6
  sd t1, 64(t0)
  csrr t2, mepc
  sd t2, 72(t0)
  csrr t2, mtval
  sd t2, 80(t0)
  ld t0, 24(t6)
  xor t0, t0, t1
  li t2, 0x100000001b3
  mul t0, t0, t2
  csrr t1, mepc
  xor t0, t0, t1
  mul t0, t0, t2
  csrr t1, mtval
  xor t0, t0, t1
  mul t0, t0, t2
  sd t0, 24(t6)
  ld t0, 32(t6)
  addi t0, t0, 1
  sd t0, 32(t6)
  csrr t0, mepc
  lhu t1, 0(t0)
  andi t1, t1, 3
  li t2, 3
  addi t0, t0, 2
  bne t1, t2, 2f
  addi t0, t0, 2
2:
  csrw mepc, t0
  ld t0, 0(t6)
  ld t1, 8(t6)
  ld t2, 16(t6)
  csrrw t6, mscratch, t6
  mret

/* Report final_regs, the data region and the trap log: one 64-bit digest, or
   (full) every register, the data checksum, the trap count and trap hash. */
report:
  mv s0, ra
  la s1, final_regs
  li s3, 0x100000001b3
  /* data checksum */
  li a0, 0xcbf29ce484222325
  la t0, data
  li t1, ${DATA_SIZE}
  add t1, t1, t0
1:
  ld t2, 0(t0)
  xor a0, a0, t2
  mul a0, a0, s3
  srli t2, a0, 29
  xor a0, a0, t2
  addi t0, t0, 8
  bltu t0, t1, 1b
  mv s4, a0
${
    full
      ? `
  li s2, 1
2:
  li a0, 'x'
  call putc
  mv a0, s2
  li a1, 2
  call putdec2
  li a0, '='
  call putc
  slli t0, s2, 3
  add t0, t0, s1
  ld a0, 0(t0)
  li a1, 16
  call puthex
  li a0, ' '
  call putc
  addi s2, s2, 1
  li t0, 32
  bltu s2, t0, 2b
  li a0, 'd'
  call putc
  li a0, '='
  call putc
  mv a0, s4
  li a1, 16
  call puthex
  li a0, ' '
  call putc
  li a0, 't'
  call putc
  li a0, '='
  call putc
  la t0, trap_save
  ld a0, 32(t0)
  li a1, 4
  call puthex
  li a0, '/'
  call putc
  la t0, trap_save
  ld a0, 24(t0)
  li a1, 16
  call puthex
  /* the trap log: up to 32 entries of cause@epc:tval */
  la s5, trap_save
  ld s6, 32(s5)
  li t0, 32
  bleu s6, t0, 3f
  li s6, 32
3:
  beqz s6, 4f
  li a0, ' '
  call putc
  ld a0, 64(s5)
  li a1, 2
  call puthex
  li a0, '@'
  call putc
  ld a0, 72(s5)
  li a1, 8
  call puthex
  li a0, ':'
  call putc
  ld a0, 80(s5)
  li a1, 16
  call puthex
  addi s5, s5, 24
  addi s6, s6, -1
  j 3b
4:
`
      : `
  /* digest: the data checksum, the registers, the trap log */
  mv a0, s4
  addi t0, s1, 8
  addi t1, s1, 256
2:
  ld t2, 0(t0)
  xor a0, a0, t2
  mul a0, a0, s3
  srli t2, a0, 29
  xor a0, a0, t2
  addi t0, t0, 8
  bltu t0, t1, 2b
  la t0, trap_save
  ld t2, 24(t0)
  xor a0, a0, t2
  mul a0, a0, s3
  ld t2, 32(t0)
  xor a0, a0, t2
  mul a0, a0, s3
  srli t2, a0, 29
  xor a0, a0, t2
  li a1, 16
  call puthex
`
  }
  li a0, '\\n'
  call putc
  mv ra, s0
  ret

/* Print the low a1 hex digits of a0. */
puthex:
  mv t3, a0
  mv t4, ra
1:
  addi a1, a1, -1
  slli t0, a1, 2
  srl a0, t3, t0
  andi a0, a0, 15
  li t0, 10
  bltu a0, t0, 2f
  addi a0, a0, 'a' - '0' - 10
2:
  addi a0, a0, '0'
  call putc
  bnez a1, 1b
  mv ra, t4
  ret

/* Print a0 (< 100) as two decimal digits. */
putdec2:
  mv t4, ra
  li t0, 10
  divu t3, a0, t0
  remu t5, a0, t0
  addi a0, t3, '0'
  call putc
  addi a0, t5, '0'
  call putc
  mv ra, t4
  ret

/* Transmit a0 (QEMU's and rvisor's UARTs take every byte: no LSR polling). */
putc:
  li t0, UART
  sb a0, 0(t0)
  ret

finish:
  li t0, SYSCON
  li t1, 0x5555
  sw t1, 0(t0)
1:
  j 1b
`;
}

/** Assembly text of a program that runs one body per seed, in order, then powers off. */
export function generateProgram(seeds: readonly number[], options: ProgramOptions = {}): string {
  const out = [
    "/* Generated by scripts/progen.ts: do not edit. */",
    runtime(options.full ?? false),
    "bodies:",
  ];
  const tables: string[] = [];
  for (const s of seeds) {
    const b = options.bodies?.get(s) ?? generateBody(s, options.length);
    out.push(...b.code);
    tables.push(...b.table);
  }
  out.push(
    "  j finish",
    "  .section .data",
    "  .align 4",
    "data:",
    `  .space ${DATA_SIZE}`,
    "final_regs:",
    "  .space 256",
    "/* handler scratch: t0, t1, t2, trap hash, trap count; from 64: the log */",
    "trap_save:",
    `  .space ${64 + 32 * 24}`,
    "  .align 3",
    ...tables,
    "  .align 4",
    "  .space 256",
    "stack_top:",
  );
  return out.join("\n") + "\n";
}
